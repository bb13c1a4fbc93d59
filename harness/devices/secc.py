"""Reference SECC: answers SDP on its link and serves DC sessions on the announced port.

Behaves like a good charger: answers every valid SECCDiscoveryReq at once, ignores malformed ones,
offers the security modes its PICS say; on each V2G TCP connection it runs the SECC machine
(supportedAppProtocol with the DC protocols its PICS list, DIN SPEC 70121, ISO 15118-2 and/or ISO
15118-20 DC, then the DC session of the one the EV preferred, :mod:`.dc_sessions`) with a DC charger
model, answering at once (well within the 25 ms CurrentDemand performance time).  A session the EV
paused (ISO 15118-2 SessionStopReq Pause) may be resumed on a later connection.
Fault switches (lab `access.faults`, `vgi sim --fault`) turn it into a broken one on purpose.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from harness.codec.v2g.sdp import SDP_SERVER_PORT, SECURITY_TLS
from harness.devices import dc_sessions
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.devices.sdp_station import SdpStation, secc_sdp_core
from harness.devices.settings import DeviceSettings
from harness.devices.v2g20_credentials import secc_tls20
from harness.devices.v2g_credentials import secc_tls
from harness.protocol import sdp
from harness.protocol.core import Core
from harness.protocol.dc_profiles import DIN70121, ISO15118_2, dc_profiles
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.profile import DcProfile
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault, FaultyCore
from harness.protocol.iso15118_2.bpt import modes_from_pics
from harness.protocol.iso15118_20 import secc as iso20_secc
from harness.protocol.iso15118_20.messages import schema_of as iso20_schema_of
from harness.transport.link import Link
from harness.transport.tcp import start_tcp_server
from harness.transport.udp import open_udp
from harness.transport.v2g import V2gtpStream, preload_schemas, run_session

# The reference charger of a simulated lab: the default 50 kW unit with a short insulation check, so a
# simulated session spends its seconds on the protocol, not on waiting (IEC 61851-23 leaves the duration to
# the charger; real ones take 1-5 s).
SIM_CHARGER = ChargerParameters(
    isolation_check_duration_s=0.5,
    # Bidirectional (SAE J2847/2 V2H/V2G when its PICS offer them): sinks up to 100 A / 30 kW.
    max_discharge_current_a=100.0,
    max_discharge_power_w=30_000.0,
)
# Fault "din-slow-current-demand": CurrentDemandRes this late, past the 25 ms SECC performance time of
# DIN SPEC 70121 Table 75 but well within the EVCC's 250 ms timeout, so the session goes on.
SLOW_CURRENT_DEMAND_DELAY_S = 0.06

# Fault switch -> the DIN SPEC 70121 faults it applies to the reference SECC machine.
DIN_SECC_FAULTS: dict[str, Callable[[], list[Fault]]] = {
    "din-slow-current-demand": lambda: [
        din_faults.delay("CurrentDemandRes", SLOW_CURRENT_DEMAND_DELAY_S, occurrence=2)
    ],
    "din-wrong-session-id": lambda: [din_faults.wrong_session_id("ServiceDiscoveryRes")],
    "din-isolation-fault": lambda: [din_faults.isolation_fault()],
    "din-emergency-shutdown": lambda: [din_faults.emergency_shutdown("CurrentDemandRes", 3)],
    "din-silent-cable-check": lambda: [din_faults.drop("CableCheckRes")],
}


def reference_secc(
    timings: DinTimings,
    config: SeccConfig | None = None,
    charger: ChargerParameters | None = None,
    profiles: tuple[DcProfile, ...] = (),
) -> SeccMachine:
    """The reference charger's SECC machine and power stage (the simulated lab's unless given); speaks
    DIN SPEC 70121 with ``timings`` unless ``profiles`` says otherwise."""
    return SeccMachine(DcCharger(charger or SIM_CHARGER), config or SeccConfig(), timings, profiles)


def reference_iso20_secc(
    settings: DeviceSettings, config: iso20_secc.SeccConfig, charger: ChargerParameters | None = None
) -> iso20_secc.SeccMachine:
    """The reference charger's ISO 15118-20 SECC machine and power stage (the simulated lab's unless
    given), with ``config``."""
    return dc_sessions.iso20_secc_machine(settings, charger or SIM_CHARGER, config=config)


def secc_machine(
    settings: DeviceSettings,
    faults: frozenset[str],
    paused_session: str | None = None,
    time_anchor_s: float | None = None,
) -> Any:
    """A fresh reference SECC session: machine, charger model and the faults switched on; it resumes
    ``paused_session`` if the EV asks to.  With ``iso15118-20`` in the PICS, the -20 machine beside it
    (header TimeStamps from ``time_anchor_s``), and the EVCC's offer picks (:mod:`.dc_sessions`)."""
    active = [
        fault for name in sorted(faults) if name in DIN_SECC_FAULTS for fault in DIN_SECC_FAULTS[name]()
    ]
    machine = reference_secc(
        DinTimings.from_lab(settings.timer),
        SeccConfig(previous_session_id=paused_session, bpt_services=modes_from_pics(settings.supports)),
        profiles=dc_profiles(settings.supported, settings.timer),
    )
    din = FaultyCore(machine, active)
    if not dc_sessions.speaks_iso20(settings):
        return din
    iso20 = dc_sessions.iso20_secc_machine(settings, SIM_CHARGER, paused_session, time_anchor_s)
    has_din = bool(settings.supported & {DIN70121, ISO15118_2})
    return dc_sessions.secc_front(din if has_din else None, iso20, dc_sessions.protocols_of(machine))


def _v2g_handler(
    settings: DeviceSettings, faults: frozenset[str], wrap: Callable[[Core], Core] | None = None
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    paused: list[str] = []  # the session the last EV paused, if it did

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # One session per connection, as a charger serves one EV per plug-in.
        try:
            anchor = dc_sessions.time_anchor_s()
            core: Any = secc_machine(settings, faults, paused[-1] if paused else None, anchor)
            if wrap is not None:
                core = wrap(core)
            outcome = await run_session(core, V2gtpStream(reader, writer), message_schema=iso20_schema_of)
            paused[:] = [core.session] if core.paused and core.session else []
            result = outcome.result
            print(
                f"SESSION {result.result if result else 'ENDED'} {result.reason if result else ''}",
                flush=True,
            )
        except (asyncio.CancelledError, ConnectionError):
            writer.close()  # the device is shutting down, or the EVCC reset the connection

    return serve


async def run_secc(
    link: Link,
    settings: DeviceSettings,
    faults: frozenset[str],
    *,
    wrap: Callable[[Core], Core] | None = None,
    tls_context: Callable[[DeviceSettings], ssl.SSLContext] = secc_tls,
) -> None:
    """The reference SECC until cancelled; ``wrap`` (if given) wraps each session's core, e.g. to feed
    it the grid's discharge demand (:mod:`harness.devices.sep2.der_dcpc`); ``tls_context`` makes its TLS
    port's context (ISO 15118-2's TLS 1.2 by default)."""
    preload_schemas(profile.schema for profile in dc_profiles(settings.supported, settings.timer))
    if dc_sessions.speaks_iso20(settings):
        preload_schemas(dc_sessions.ISO20_SCHEMAS)
    handler = _v2g_handler(settings, faults, wrap)
    server, port = await start_tcp_server(link, handler)
    offered = sdp.offered_security(settings.supports)
    # ISO 15118-2 7.10.1: an SECC that offers TLS (PICS sdp.tls) serves it on a port of its own, announced
    # to the EVs that ask for TLS; the plain port serves those that ask for none.
    tls_server, tls_port = None, None
    if SECURITY_TLS in offered:
        tls_server, tls_port = await start_tcp_server(link, handler, tls=tls_context(settings))
    core = secc_sdp_core(ipaddress.IPv6Address(link.address), port, offered, faults, tls_port)
    udp = await open_udp(link, SDP_SERVER_PORT, listen_multicast=True)
    station = SdpStation(core, udp)
    station.start()
    tls = f" tls_port={tls_port}" if tls_port else ""
    print(f"READY secc address={link.address} sdp_port={SDP_SERVER_PORT} tcp_port={port}{tls}", flush=True)
    try:
        await station.finished()  # an SDP server never finishes: it answers until the device stops
    finally:
        station.stop()
        udp.close()
        server.close()
        if tls_server is not None:
            tls_server.close()
        print("STOPPED secc", file=sys.stderr, flush=True)


async def run_secc_tls20(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference SECC whose TLS port speaks ISO 15118-20's TLS 1.3 (the -20 PKI, the EVCC's certificate
    required, ISO 15118-20 7.7.3.4) instead of ISO 15118-2's TLS 1.2."""
    await run_secc(link, settings, faults, tls_context=secc_tls20)
