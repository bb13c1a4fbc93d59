"""Reference EVCC: discovers the SECC with SDP, as an EV does after the PLC link comes up, opens the V2G
TCP connection to the announced address and port, and charges: the EVCC machine driven by a battery model,
from supportedAppProtocol (offering the DC protocols its PICS list: ISO 15118-20 DC, then ISO 15118-2, then
DIN SPEC 70121, :mod:`.dc_sessions`) to SessionStop.  Fault switches (lab `access.faults`,
`vgi sim --fault`) make it misbehave on purpose."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

from harness.codec.v2g.sdp import SECURITY_TLS
from harness.devices import dc_sessions
from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.sdp_station import SdpStation
from harness.devices.settings import DeviceSettings
from harness.devices.v2g20_credentials import evcc_tls20
from harness.devices.v2g_credentials import evcc_tls
from harness.protocol.core import LinkUp
from harness.protocol.dc_profiles import DIN70121, ISO15118_2, dc_profiles
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.profile import DcProfile
from harness.protocol.din70121.timing import COMMUNICATION_SETUP_TIMER, DinTimings
from harness.protocol.faults import Fault, FaultyCore
from harness.protocol.iso15118_2.bpt import modes_from_pics
from harness.protocol.iso15118_20 import evcc as iso20_evcc
from harness.protocol.iso15118_20.messages import schema_of as iso20_schema_of
from harness.protocol.sdp import Discovered, EvccSdp, requested_security
from harness.transport.link import Link
from harness.transport.tcp import connect_tcp
from harness.transport.udp import open_udp
from harness.transport.v2g import V2gtpStream, preload_schemas, run_session

# The reference EV of a simulated lab: a small pack 1 % below its target, so a complete session (every
# stage, CurrentDemand loop included) takes a few seconds; the protocol is the same as for a full charge.
SIM_BATTERY = BatteryParameters(
    capacity_kwh=0.2,
    target_soc=80.0,
    taper_start_soc=70.0,
    # Bidirectional (SAE J2847/2 V2H/V2G when its PICS use them): a few seconds of discharge from the start
    # SOC down to the minimum.
    max_discharge_current_a=100.0,
    max_discharge_power_w=40_000.0,
    min_soc=76.0,
)
SIM_START_SOC = 79.0

# Fault switch -> the DIN SPEC 70121 faults it applies to the reference EVCC machine.
DIN_EVCC_FAULTS: dict[str, Callable[[], list[Fault]]] = {
    "din-ev-wrong-session-id": lambda: [din_faults.wrong_session_id("ServiceDiscoveryReq")],
    "din-ev-out-of-sequence": lambda: [
        din_faults.out_of_sequence("ServiceDiscoveryReq", "ChargeParameterDiscoveryReq")
    ],
    "din-ev-malformed": lambda: [din_faults.malformed("ServiceDiscoveryReq")],
}


def reference_evcc(
    timings: DinTimings,
    config: EvccConfig | None = None,
    battery: BatteryParameters | None = None,
    soc: float | None = None,
    profiles: tuple[DcProfile, ...] = (),
) -> EvccMachine:
    """The reference EV's EVCC machine and battery (the simulated lab's pack unless given); speaks DIN SPEC
    70121 with ``timings`` unless ``profiles`` says otherwise."""
    pack = Battery(battery or SIM_BATTERY, soc=SIM_START_SOC if soc is None else soc)
    return EvccMachine(pack, config or EvccConfig(), timings, profiles)


def reference_battery(battery: BatteryParameters | None = None) -> BatteryParameters:
    """``battery`` or, when None, the simulated lab's pack."""
    return battery or SIM_BATTERY


def reference_iso20_evcc(
    settings: DeviceSettings,
    config: iso20_evcc.EvccConfig,
    battery: BatteryParameters | None = None,
    soc: float | None = None,
) -> iso20_evcc.EvccMachine:
    """The reference EV's ISO 15118-20 EVCC machine and battery (the simulated lab's pack and start SOC
    unless given), with ``config`` (its SchemaID and header clock anchor included)."""
    pack, start = reference_battery(battery), SIM_START_SOC if soc is None else soc
    return dc_sessions.iso20_evcc_machine(settings, pack, start, config.schema_id, config=config)


def evcc_machine(settings: DeviceSettings, faults: frozenset[str], time_anchor_s: float | None = None) -> Any:
    """A fresh reference EV session: machine, battery model and the faults switched on.  With
    ``iso15118-20`` in the PICS it offers -20 DC first (header TimeStamps from ``time_anchor_s``), then
    the DIN SPEC 70121 / ISO 15118-2 protocols it has (:mod:`.dc_sessions`)."""
    active = [
        fault for name in sorted(faults) if name in DIN_EVCC_FAULTS for fault in DIN_EVCC_FAULTS[name]()
    ]
    profiles = dc_profiles(settings.supported, settings.timer)
    config = EvccConfig(bpt_modes=modes_from_pics(settings.supports))
    machine = reference_evcc(DinTimings.from_lab(settings.timer), config, profiles=profiles)
    din = FaultyCore(machine, active)
    if not dc_sessions.speaks_iso20(settings):
        return din
    has_din = bool(settings.supported & {DIN70121, ISO15118_2})
    # -20 DC's SchemaID follows the DIN SPEC 70121 / ISO 15118-2 machine's own offers.
    schema_id = config.schema_id + len(profiles) if has_din else 1
    iso20 = dc_sessions.iso20_evcc_machine(settings, SIM_BATTERY, SIM_START_SOC, schema_id, time_anchor_s)
    return dc_sessions.evcc_front(iso20, din if has_din else None, dc_sessions.protocols_of(machine))


async def run_evcc(
    link: Link,
    settings: DeviceSettings,
    faults: frozenset[str],
    security: int | None = None,
    tls_context: Callable[[DeviceSettings], ssl.SSLContext] = evcc_tls,
) -> None:
    """Discover the SECC asking for ``security`` (None: what the PICS prefer) and charge; over TLS with
    the context ``tls_context`` makes (ISO 15118-2's TLS 1.2 by default)."""
    preload_schemas(profile.schema for profile in dc_profiles(settings.supported, settings.timer))
    if dc_sessions.speaks_iso20(settings):
        preload_schemas(dc_sessions.ISO20_SCHEMAS)
    core = EvccSdp(
        requested_security(settings.supports) if security is None else security,
        response_wait_s=settings.timer("SDP_RESPONSE_WAIT"),
        destination=link.sdp_destination,
    )
    udp = await open_udp(link)
    print(f"READY evcc address={link.address}", flush=True)
    station = SdpStation(core, udp)
    try:
        station.start(LinkUp())  # the link is up: discovery begins (ISO 15118-2 7.10.1)
        outcome = await station.finished()
        if isinstance(outcome, Discovered):
            await _charge(link, settings, faults, outcome, tls_context)
        else:
            print(f"GAVE-UP {outcome.reason}", flush=True)
    finally:
        station.stop()
        udp.close()


async def run_evcc_tls(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference EV asking for TLS in SDP (ISO 15118-2 7.10.1 security 0x00) and charging over TLS."""
    await run_evcc(link, settings, faults, SECURITY_TLS)


async def run_evcc_tls20(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference EV asking for TLS in SDP and charging over ISO 15118-20's TLS 1.3: the -20 PKI, its
    vehicle certificate presented when the SECC asks (ISO 15118-20 7.7.3.4)."""
    await run_evcc(link, settings, faults, SECURITY_TLS, tls_context=evcc_tls20)


async def _charge(
    link: Link,
    settings: DeviceSettings,
    faults: frozenset[str],
    discovered: Discovered,
    tls_context: Callable[[DeviceSettings], ssl.SSLContext],
) -> None:
    response = discovered.response
    address = str(response.address)
    # DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout (PIXIT): the reference EV's TCP connect
    # timeout.
    timeout_s = settings.timer(COMMUNICATION_SETUP_TIMER)
    # ISO 15118-2 7.10.1: the SECC's answer says whether the connection is TLS; the EV verifies the SECC's
    # chain to its V2G root and aborts the handshake on a chain it cannot verify.
    tls = tls_context(settings) if response.security == SECURITY_TLS else None
    try:
        reader, writer = await connect_tcp(link, address, response.port, timeout_s, tls)
    except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
        # The handshake failed: a chain the EV could not verify (the alert went out), or the SECC left.
        print(f"TLS-REFUSED {address} {response.port}: {exc!r}", flush=True)
        return
    print(f"CONNECTED {address} {response.port}{' TLS' if tls else ''}", flush=True)
    core = evcc_machine(settings, faults, dc_sessions.time_anchor_s())
    outcome = await run_session(core, V2gtpStream(reader, writer), message_schema=iso20_schema_of)
    result = outcome.result
    print(f"SESSION {result.result if result else 'ENDED'} {result.reason if result else ''}", flush=True)
