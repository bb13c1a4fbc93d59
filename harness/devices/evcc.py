"""Reference EVCC: discovers the SECC with SDP, as an EV does after the PLC link comes up, opens the V2G
TCP connection to the announced address and port, and charges: the EVCC machine driven by a battery model,
from supportedAppProtocol (offering the DC protocols its PICS list, ISO 15118-2 before DIN SPEC 70121) to
SessionStop.  Fault switches (lab `access.faults`,
`vgi sim --fault`) make it misbehave on purpose."""

from __future__ import annotations

import ssl
from collections.abc import Callable

from harness.codec.v2g.sdp import SECURITY_TLS
from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.sdp_station import SdpStation
from harness.devices.settings import DeviceSettings
from harness.devices.v2g_credentials import evcc_tls
from harness.protocol.core import LinkUp
from harness.protocol.dc_profiles import dc_profiles
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.profile import DcProfile
from harness.protocol.din70121.timing import COMMUNICATION_SETUP_TIMER, DinTimings
from harness.protocol.faults import Fault, FaultyCore
from harness.protocol.iso15118_2.bpt import modes_from_pics
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


def evcc_machine(settings: DeviceSettings, faults: frozenset[str]) -> FaultyCore:
    """A fresh reference EV session: machine, battery model and the faults switched on."""
    active = [
        fault for name in sorted(faults) if name in DIN_EVCC_FAULTS for fault in DIN_EVCC_FAULTS[name]()
    ]
    profiles = dc_profiles(settings.supported, settings.timer)
    config = EvccConfig(bpt_modes=modes_from_pics(settings.supports))
    return FaultyCore(reference_evcc(DinTimings.from_lab(settings.timer), config, profiles=profiles), active)


async def run_evcc(
    link: Link, settings: DeviceSettings, faults: frozenset[str], security: int | None = None
) -> None:
    """Discover the SECC asking for ``security`` (None: what the PICS prefer) and charge."""
    preload_schemas(profile.schema for profile in dc_profiles(settings.supported, settings.timer))
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
            await _charge(link, settings, faults, outcome)
        else:
            print(f"GAVE-UP {outcome.reason}", flush=True)
    finally:
        station.stop()
        udp.close()


async def run_evcc_tls(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    """The reference EV asking for TLS in SDP (ISO 15118-2 7.10.1 security 0x00) and charging over TLS."""
    await run_evcc(link, settings, faults, SECURITY_TLS)


async def _charge(
    link: Link, settings: DeviceSettings, faults: frozenset[str], discovered: Discovered
) -> None:
    response = discovered.response
    address = str(response.address)
    # DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout (PIXIT): the reference EV's TCP connect
    # timeout.
    timeout_s = settings.timer(COMMUNICATION_SETUP_TIMER)
    # ISO 15118-2 7.10.1: the SECC's answer says whether the connection is TLS; the EV verifies the SECC's
    # chain to its V2G root and aborts the handshake on a chain it cannot verify.
    tls = evcc_tls(settings) if response.security == SECURITY_TLS else None
    try:
        reader, writer = await connect_tcp(link, address, response.port, timeout_s, tls)
    except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
        # The handshake failed: a chain the EV could not verify (the alert went out), or the SECC left.
        print(f"TLS-REFUSED {address} {response.port}: {exc!r}", flush=True)
        return
    print(f"CONNECTED {address} {response.port}{' TLS' if tls else ''}", flush=True)
    outcome = await run_session(evcc_machine(settings, faults), V2gtpStream(reader, writer))
    result = outcome.result
    print(f"SESSION {result.result if result else 'ENDED'} {result.reason if result else ''}", flush=True)
