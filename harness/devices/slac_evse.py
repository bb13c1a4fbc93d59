"""Reference EVSE link layer (`vgi sim evse --service slac`): pilot logic, SLAC and an emulated modem.

The EVSE drives the simulated pilot with :class:`~harness.protocol.pilot.EvsePilot`: +12 V until the
EV presents state B, then 5 % PWM and SLAC (:class:`~harness.protocol.slac.EvseSlac` on an
:class:`~harness.devices.modem_emulator.EmulatedModem`).  A failed SLAC initialisation
(TT_EVSE_SLAC_init) leads through state E/F for T_step_EF and a retry, C_sequ_retry times.  After the
match, the PLC link gates IP open; this link-layer-only device stands in for the V2G layer's
PowerDelivery by authorising energy at the match, so state C energizes and C->B de-energizes.  It
answers UDP echo (port 7) so testers can prove from the capture when IP crosses the link.

Both cores run on the kernel's asyncio driver (:class:`~harness.transport.driver.CoreDriver`): SLAC in a
:class:`~harness.devices.slac_station.SlacStation`, the pilot in an
:class:`~harness.devices.pilot_sim.EvsePilotRunner`.
"""

from __future__ import annotations

import asyncio
import logging

from harness.devices.modem_emulator import EmulatedModem
from harness.devices.pilot_sim import EvsePilotRunner, SimulatedPilotDriver
from harness.devices.settings import DeviceSettings
from harness.devices.slac_station import SlacStation
from harness.protocol import pilot as p
from harness.protocol.slac import (
    EvseSlac,
    EvseSlacConfig,
    Matched,
    MatchFailed,
    PilotStateChanged,
    Start,
    Stop,
)
from harness.transport.link import Link
from harness.transport.raw_ethernet import interface_mac
from harness.transport.udp import open_udp

log = logging.getLogger(__name__)

# RFC 862: the UDP echo service port.
UDP_ECHO_PORT = 7


# The EVSE core's timers (config field: ISO 15118-3 Table A.1 name), with the lab's PIXIT values.
EVSE_SLAC_TIMERS = {
    "slac_init_s": "TT_EVSE_SLAC_init",
    "match_sequence_s": "TT_match_sequence",
    "match_mnbc_s": "TT_EVSE_match_MNBC",
    "match_response_s": "TT_match_response",
    "match_session_s": "TT_EVSE_match_session",
}


def evse_slac_config(mac: str, settings: DeviceSettings) -> EvseSlacConfig:
    timers = {field: settings.timer(name) for field, name in EVSE_SLAC_TIMERS.items()}
    return EvseSlacConfig(mac=mac, validate_supported=settings.supports("slac.validate"), **timers)


async def serve_udp_echo(link: Link) -> None:
    """Answer UDP echo on the link until cancelled (the link-up probe of the SLAC scenarios)."""
    endpoint = await open_udp(link, UDP_ECHO_PORT)
    try:
        while True:
            datagram = await endpoint.receive(None)
            if datagram is not None:
                endpoint.send(datagram.data, datagram.address, datagram.port)
    finally:
        endpoint.close()


async def udp_echo(link: Link, payload: bytes, wait_s: float, observer: object | None = None) -> bool:
    """Send one UDP echo request to the peer of ``link``; True if the same payload came back within
    ``wait_s`` (the probe a tester sends to see whether IP crosses the PLC link)."""
    assert link.peer_address is not None, "the peer's address is not known on this link"
    endpoint = await open_udp(link, 0, observer=observer)
    try:
        endpoint.send(payload, link.peer_address, UDP_ECHO_PORT)
        reply = await endpoint.receive(wait_s)
        return reply is not None and reply.data == payload
    finally:
        endpoint.close()


async def run_evse_slac(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # into the DUT log
    mac = interface_mac(link.interface)
    line = SimulatedPilotDriver(link.interface, "evse")
    modem = EmulatedModem(link.interface, mac, evse=True)
    pilot_core = p.EvsePilot(p.EvsePilotConfig(t_step_ef_s=settings.timer("T_step_EF")))

    def pilot_action(action: object) -> None:
        # Carried out after the output that goes with it is on the line (EvsePilotRunner's order).
        if isinstance(action, p.BeginMatching):
            station.post(Start())
        elif isinstance(action, p.EndMatching):
            station.post(Stop("pilot"))

    def outcome(action: object) -> None:
        if isinstance(action, Matched):
            pilot.feed(p.SlacMatched())
            pilot.feed(p.EnergyAuthorized(True))
        elif isinstance(action, MatchFailed):
            pilot.feed(p.SlacFailed(action.reason))

    await line.open()
    await modem.open()
    station = SlacStation(EvseSlac(evse_slac_config(mac, settings)), modem, on_outcome=outcome, name="EVSE")
    pilot = EvsePilotRunner(pilot_core, line, pilot_action)
    echo = asyncio.ensure_future(serve_udp_echo(link))
    print(f"READY evse-slac mac={mac} modem={modem.modem_mac}", flush=True)
    try:
        async for reading in line.readings():
            if reading.state in (p.PilotState.A, p.PilotState.B, p.PilotState.C, p.PilotState.D):
                if reading.state is not pilot_core.vehicle:
                    pilot.feed(p.VehicleStateMeasured(reading.state))
                station.post(PilotStateChanged(reading.state.value))
    finally:
        echo.cancel()
        pilot.close()
        station.close()
        await modem.close()
        await line.close()
