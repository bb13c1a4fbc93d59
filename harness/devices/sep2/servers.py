"""Reference IEEE 2030.5 servers: the PFE (utility) and the BMS (site controller).

Both serve the simulated lab's resource tree (:class:`harness.devices.sep2.pfe.Sep2Server`) over
mutual TLS on the lab's port to every device of the lab PKI except the unregistered one.  The BMS
also publishes the site's DR event for the next hours, as a site controller relaying the utility's
programs to its EVSEs and EVs (interface 1 bridge side).
"""

from __future__ import annotations

import asyncio
import sys

from harness.devices.sep2.common import (
    LAB_PKI_ROLES,
    UNREGISTERED_ROLE,
    SimClock,
    identity,
    listen_host,
    server_tls,
)
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.settings import DeviceSettings
from harness.protocol.sep2.endpoints import SEP2_PORT
from harness.transport.http import Sep2HttpServer
from harness.transport.link import Link


def registered_devices(settings: DeviceSettings | None = None) -> dict[str, str]:
    """LFDI -> role of every lab device the servers know (IEEE 2030.5 clause 6.3.4 registration)."""
    out = {}
    for role in LAB_PKI_ROLES:
        if role != UNREGISTERED_ROLE:
            out[identity(role, settings).lfdi] = role
    return out


async def serve(role: str, link: Link, settings: DeviceSettings, site: Sep2Server) -> None:
    server = Sep2HttpServer(site.handle, server_tls(role, settings), host=listen_host(link), port=SEP2_PORT)
    await server.start()
    print(f"READY {role} sep2 server address={link.address} port={server.port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()
        print(f"STOPPED {role}", file=sys.stderr, flush=True)


async def run_pfe_server(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    site = Sep2Server(SimClock(), registered_devices(settings))
    site.accept_malformed = "sep2-server-accepts-malformed" in faults
    await serve("pfe-server", link, settings, site)


async def run_bms(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    site = Sep2Server(SimClock(), registered_devices(settings), messages=["Site load management active"])
    site.accept_malformed = "sep2-server-accepts-malformed" in faults
    # The site's own peak: limit EV charging 18:00-21:00 of the simulated day.
    day = site.clock.start
    site.add_dr_event(day + 18 * 3600, 3 * 3600)
    await serve("bms", link, settings, site)
