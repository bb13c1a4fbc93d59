"""Reference EVSE link layer (`vgi sim evse --service slac`): pilot logic, SLAC and an emulated modem.

The EVSE drives the simulated pilot with :class:`~harness.protocol.pilot.EvsePilot`: +12 V until the
EV presents state B, then 5 % PWM and SLAC (:class:`~harness.protocol.slac.EvseSlac` on an
:class:`~harness.devices.modem_emulator.EmulatedModem`).  A failed SLAC initialisation
(TT_EVSE_SLAC_init) leads through state E/F for T_step_EF and a retry, C_sequ_retry times.  After the
match, the PLC link gates IP open; this link-layer-only device stands in for the V2G layer's
PowerDelivery by authorising energy at the match, so state C energizes and C->B de-energizes.  It
answers UDP echo (port 7) so testers can prove from the capture when IP crosses the link.
"""

from __future__ import annotations

import asyncio
import logging

from harness.devices.modem_emulator import EmulatedModem
from harness.devices.pilot_sim import SimulatedPilotDriver
from harness.devices.slac_station import SlacStation
from harness.lab.config import LabConfig
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


def evse_slac_config(mac: str, lab: LabConfig) -> EvseSlacConfig:
    pixit = lab.pixit
    return EvseSlacConfig(
        mac=mac,
        validate_supported=lab.pics.supports("slac.validate"),
        slac_init_s=pixit.timer("TT_EVSE_SLAC_init"),
        match_sequence_s=pixit.timer("TT_match_sequence"),
        match_mnbc_s=pixit.timer("TT_EVSE_match_MNBC"),
        match_response_s=pixit.timer("TT_match_response"),
        match_session_s=pixit.timer("TT_EVSE_match_session"),
    )


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


async def run_evse_slac(link: Link, lab: LabConfig, faults: frozenset[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # into the DUT log
    mac = interface_mac(link.interface)
    driver = SimulatedPilotDriver(link.interface, "evse")
    modem = EmulatedModem(link.interface, mac, evse=True)
    pilot = p.EvsePilot(p.EvsePilotConfig(t_step_ef_s=lab.pixit.timer("T_step_EF")))
    pilot_events: asyncio.Queue[p.PilotEvent] = asyncio.Queue()

    def outcome(action: object) -> None:
        if isinstance(action, Matched):
            pilot_events.put_nowait(p.SlacMatched())
            pilot_events.put_nowait(p.EnergyAuthorized(True))
        elif isinstance(action, MatchFailed):
            pilot_events.put_nowait(p.SlacFailed(action.reason))

    await driver.open()
    await modem.open()
    station = SlacStation(EvseSlac(evse_slac_config(mac, lab)), modem, on_outcome=outcome, name="EVSE")
    station.start()
    echo = asyncio.ensure_future(serve_udp_echo(link))

    async def follow_pilot() -> None:
        async for reading in driver.readings():
            if reading.state in (p.PilotState.A, p.PilotState.B, p.PilotState.C, p.PilotState.D):
                if reading.state is not pilot.vehicle:
                    pilot_events.put_nowait(p.VehicleStateMeasured(reading.state))
                station.post(PilotStateChanged(reading.state.value))

    follower = asyncio.ensure_future(follow_pilot())
    timers: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    print(f"READY evse-slac mac={mac} modem={modem.modem_mac}", flush=True)
    try:
        while True:
            wakeup = min(timers.values(), default=None)
            timeout = None if wakeup is None else max(0.0, wakeup - loop.time())
            try:
                event: p.PilotEvent | None = await asyncio.wait_for(pilot_events.get(), timeout)
            except TimeoutError:
                event = None
            actions: list[p.PilotAction] = []
            handled_at = loop.time()
            if event is not None:
                actions += pilot.handle(event, handled_at)
            for name, deadline in list(timers.items()):
                if deadline <= handled_at:
                    del timers[name]
                    actions += pilot.handle(p.PilotTimerExpired(name), handled_at)
            # A hold (e.g. state E/F for T_step_EF) counts from when the new state is on the wire, as
            # on a real pilot, not from when the core decided it: sending the record takes a moment.
            on_wire_delay = 0.0
            for action in actions:
                log.info("pilot: %s", action)
                if isinstance(action, p.SetOutput):
                    await driver.set_output(action.output, action.duty_percent)
                    on_wire_delay = loop.time() - handled_at
                elif isinstance(action, p.BeginMatching):
                    station.post(Start())
                elif isinstance(action, p.EndMatching):
                    station.post(Stop("pilot"))
                elif isinstance(action, p.Energize):
                    await driver.set_energized(True)
                elif isinstance(action, p.DeEnergize):
                    await driver.set_energized(False)
                elif isinstance(action, p.PilotStartTimer):
                    timers[action.name] = action.deadline + on_wire_delay
                elif isinstance(action, p.PilotCancelTimer):
                    timers.pop(action.name, None)
    finally:
        follower.cancel()
        echo.cancel()
        await station.stop()
        await modem.close()
        await driver.close()
