"""Where an IEEE 2030.5 client finds its server in the simulated lab: the facts both sides share.

The reference servers, the reference clients and the tester roles all take them from here, so a
tester never reaches into a reference device for them.
"""

from __future__ import annotations

# IEEE 2030.5 fixes no port (DNS-SD announces it, clause 6.5); the simulated lab's servers (the
# reference PFE/BMS and the tester as server) listen on this one so both sides agree without mDNS.
SEP2_PORT = 8443
# DeviceCapability path; IEEE 2030.5 clause 6.5 announces it in the DNS-SD TXT record ("dcap").
DCAP_PATH = "/dcap"
# PIXIT addresses key naming a server's DeviceCapability URL (e.g. ``https://[fe80::1]:8443/dcap``),
# used instead of DNS-SD discovery by the tester as client and by the reference clients.
PIXIT_SERVER_URL_KEY = "sep2_server"
