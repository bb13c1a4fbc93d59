"""Reference EVCC: discovers the SECC with SDP, as an EV does after the PLC link comes up, opens the V2G
TCP connection to the announced address and port, and charges with DIN SPEC 70121: the EVCC machine driven
by a battery model, from supportedAppProtocol to SessionStop.  Fault switches (lab `access.faults`,
`vgi sim --fault`) make it misbehave on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    SdpDecodeError,
    decode_sdp,
    encode_sdp,
)
from harness.devices.models.battery import Battery, BatteryParameters
from harness.lab.config import LabConfig
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.faults import FaultyMachine
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault
from harness.protocol.sdp import Discovered, EvccSdp, GaveUp, SendSdp, StartTimer
from harness.transport.link import Link
from harness.transport.tcp import connect_tcp
from harness.transport.udp import open_udp
from harness.transport.v2g import V2gtpStream, run_session

# DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout: 20 s to set up communication; the
# reference EV uses it as its TCP connect timeout.
TCP_CONNECT_TIMEOUT_S = 20.0
# The reference EV of a simulated lab: a small pack 1 % below its target, so a complete session (every
# stage, CurrentDemand loop included) takes a few seconds; the protocol is the same as for a full charge.
SIM_BATTERY = BatteryParameters(capacity_kwh=0.2, target_soc=80.0, taper_start_soc=70.0)
SIM_START_SOC = 79.0

# Fault switch -> the DIN SPEC 70121 faults it applies to the reference EVCC machine.
DIN_EVCC_FAULTS: dict[str, Callable[[], list[Fault]]] = {
    "din-ev-wrong-session-id": lambda: [din_faults.wrong_session_id("ServiceDiscoveryReq")],
    "din-ev-out-of-sequence": lambda: [
        din_faults.out_of_sequence("ServiceDiscoveryReq", "ChargeParameterDiscoveryReq")
    ],
    "din-ev-malformed": lambda: [din_faults.malformed("ServiceDiscoveryReq")],
}


def evcc_machine(lab: LabConfig, faults: frozenset[str]) -> FaultyMachine:
    """A fresh reference EV session: machine, battery model and the faults switched on."""
    machine = EvccMachine(
        Battery(SIM_BATTERY, soc=SIM_START_SOC), EvccConfig(), DinTimings.from_lab(lab.pixit.timer)
    )
    active = [
        fault for name in sorted(faults) if name in DIN_EVCC_FAULTS for fault in DIN_EVCC_FAULTS[name]()
    ]
    return FaultyMachine(machine, active)


async def run_evcc(link: Link, lab: LabConfig, faults: frozenset[str]) -> None:
    security = (
        SECURITY_TLS
        if lab.pics.supports("sdp.tls") and not lab.pics.supports("sdp.no_tls")
        else SECURITY_NONE
    )
    machine = EvccSdp(
        security=security,
        response_wait_s=lab.pixit.timer("SDP_RESPONSE_WAIT"),
        destination=link.sdp_destination,
    )
    udp = await open_udp(link)
    loop = asyncio.get_running_loop()
    print(f"READY evcc address={link.address}", flush=True)
    deadline = loop.time()
    actions = machine.start(loop.time())
    try:
        while True:
            for action in actions:
                if isinstance(action, SendSdp):
                    udp.send(encode_sdp(action.message), action.destination, SDP_SERVER_PORT)
                elif isinstance(action, StartTimer):
                    deadline = action.deadline
                elif isinstance(action, GaveUp):
                    print(f"GAVE-UP {action.reason}", flush=True)
                    return
                elif isinstance(action, Discovered):
                    await _charge(link, lab, faults, action)
                    return
            datagram = await udp.receive(max(0.0, deadline - loop.time()))
            if datagram is None:
                actions = machine.timer_expired("sdp-retry", loop.time())
                continue
            try:
                message = decode_sdp(datagram.data)
            except SdpDecodeError:
                actions = []
                continue
            actions = machine.datagram_received(message, loop.time())
    finally:
        udp.close()


async def _charge(link: Link, lab: LabConfig, faults: frozenset[str], discovered: Discovered) -> None:
    response = discovered.response
    address = str(response.address)
    reader, writer = await connect_tcp(link, address, response.port, TCP_CONNECT_TIMEOUT_S)
    print(f"CONNECTED {address} {response.port}", flush=True)
    outcome = await run_session(evcc_machine(lab, faults), V2gtpStream(reader, writer))
    result = outcome.result
    print(f"SESSION {result.result if result else 'ENDED'} {result.reason if result else ''}", flush=True)
