"""Reference IEEE 2030.5 servers: the PFE (utility) and the BMS (site controller).

Both serve the simulated lab's resource tree (:class:`harness.devices.sep2.pfe.Sep2Server`) over
mutual TLS on the lab's port to every device of the lab PKI except the unregistered one (and to the
DUT whose certificate the PIXIT names), and advertise themselves by DNS-SD unless PICS ``sep2.dnssd``
is false.  The BMS
also publishes the site's DR event for the next hours, as a site controller relaying the utility's
programs to its EVSEs and EVs (interface 1 bridge side).  The PFE also serves a DER site
(:class:`~harness.devices.sep2.der_site.DerSite`): the J3072 program, and a utility program with a
default and one scheduled discharge, on a clock at PIXIT ``sep2_clock_speedup``.
"""

from __future__ import annotations

import asyncio
import sys

from harness.devices.sep2.common import (
    LAB_PKI_ROLES,
    UNREGISTERED_ROLE,
    SimClock,
    advertisement,
    dnssd_enabled,
    dut_identity,
    identity,
    listen_host,
    registration_pin,
    server_tls,
)
from harness.devices.sep2.der_site import DerSite
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.settings import DeviceSettings
from harness.pki.store import DUT_CERT_KEY
from harness.protocol.sep2.endpoints import SEP2_PORT
from harness.transport.dnssd import DiscoveryError
from harness.transport.http import Sep2HttpServer
from harness.transport.link import Link


def registered_devices(settings: DeviceSettings | None = None) -> dict[str, str]:
    """LFDI -> role of every lab device the servers know (IEEE 2030.5 clause 6.3.4 registration),
    plus the DUT whose certificate PIXIT ``dut_cert`` names (its LFDI computed from it) as ``dut``."""
    out = {}
    for role in LAB_PKI_ROLES:
        if role != UNREGISTERED_ROLE:
            out[identity(role, settings).lfdi] = role
    if settings is not None and DUT_CERT_KEY in settings.certificates:
        out.setdefault(dut_identity("dut", settings).lfdi, "dut")
    return out


async def serve(role: str, link: Link, settings: DeviceSettings, site: Sep2Server) -> None:
    server = Sep2HttpServer(site.handle, server_tls(role, settings), host=listen_host(link), port=SEP2_PORT)
    await server.start()
    advertised = None
    if dnssd_enabled(settings):
        try:
            advertised = await advertisement(link, f"vgi-{role}", server.port).start()
        except DiscoveryError as exc:
            print(f"DNS-SD advertisement failed: {exc}", file=sys.stderr, flush=True)
    print(
        f"READY {role} sep2 server address={link.address} port={server.port} "
        f"dnssd={'on' if advertised else 'off'}",
        flush=True,
    )
    try:
        await asyncio.Event().wait()
    finally:
        if advertised is not None:
            await advertised.close()
        await server.close()
        print(f"STOPPED {role}", file=sys.stderr, flush=True)


# The reference PFE's DER program: primacy 10 (below the J3072 program's 0), a default capping export at
# 100 % of setMaxW (opModMaxLimW, hundredths of a percent), and one discharge at 50 % of the rating
# (opModFixedW) from 10 to 20 server minutes after the server starts.
PFE_DER_PRIMACY = 10
PFE_DER_DEFAULT = {"opModMaxLimW": 10000}
PFE_DER_CONTROL = {"opModFixedW": 5000}
PFE_DER_START_S = 600
PFE_DER_DURATION_S = 600


def pfe_der_site(clock: SimClock) -> DerSite:
    """The reference PFE's DER programs.  The EndDevice's DER resources are not hosted (``device_der``
    False): before a client PUTs them they would answer 404, and the PFE's conformance scenario requires
    every link to resolve."""
    der = DerSite(clock, device_der=False)
    program = der.add_program(PFE_DER_PRIMACY, "Utility DER program", PFE_DER_DEFAULT)
    start = der.now() + PFE_DER_START_S
    der.publish(
        program, start=start, duration=PFE_DER_DURATION_S, modes=PFE_DER_CONTROL, description="discharge"
    )
    return der


async def run_pfe_server(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    clock = SimClock(speedup=settings.sep2_clock_speedup)
    site = Sep2Server(
        clock,
        registered_devices(settings),
        registration_pin=registration_pin(settings),
        der=pfe_der_site(clock),
    )
    site.accept_malformed = "sep2-server-accepts-malformed" in faults
    await serve("pfe-server", link, settings, site)


async def run_bms(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    site = Sep2Server(
        SimClock(),
        registered_devices(settings),
        messages=["Site load management active"],
        registration_pin=registration_pin(settings),
    )
    site.accept_malformed = "sep2-server-accepts-malformed" in faults
    # The site's own peak: limit EV charging 18:00-21:00 of the simulated day.
    day = site.clock.start
    site.add_dr_event(day + 18 * 3600, 3 * 3600)
    await serve("bms", link, settings, site)
