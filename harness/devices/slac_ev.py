"""Reference EV link layer (`vgi sim ev --service slac`): vehicle side of the simulated pilot, SLAC and
an emulated modem.

Plugged in, the EV presents state B.  When the EVSE offers 5 % PWM it runs SLAC
(:class:`~harness.protocol.slac.EvSlac`, CM_VALIDATE when PICS ``slac.validate`` says so); once matched
and the PLC link is up it presents state C (ready to charge).  A nominal duty cycle (10-96 %) means
basic charging: state C without SLAC.  State E/F from the EVSE stops SLAC; 5 % after it starts again.
Toggles asked for by CM_VALIDATE are performed on the pilot.  It answers UDP echo (port 7).
"""

from __future__ import annotations

import asyncio
import logging

from harness.devices.modem_emulator import EmulatedModem
from harness.devices.pilot_sim import SimulatedPilotDriver
from harness.devices.settings import DeviceSettings
from harness.devices.slac_evse import serve_udp_echo
from harness.devices.slac_station import SlacStation
from harness.protocol import pilot as p
from harness.protocol.slac import EvSlac, EvSlacConfig, LinkLost, Matched, Start, Stop, TogglePilot
from harness.transport.link import Link
from harness.transport.pilot import PilotReading
from harness.transport.raw_ethernet import interface_mac

log = logging.getLogger(__name__)


# The EV core's timers (config field: ISO 15118-3 Table A.1 name), with the lab's PIXIT values.
EV_SLAC_TIMERS = {
    "match_response_s": "TT_match_response",
    "batch_interval_s": "TP_EV_batch_msg_interval",
    "atten_results_s": "TT_EV_atten_results",
    "match_join_s": "TT_match_join",
    "matching_rate_s": "TT_matching_rate",
    "vald_state_duration_s": "TP_EV_vald_state_duration",
    "vald_toggle_s": "TP_EV_vald_toggle",
}


def ev_slac_config(mac: str, settings: DeviceSettings) -> EvSlacConfig:
    timers = {field: settings.timer(name) for field, name in EV_SLAC_TIMERS.items()}
    return EvSlacConfig(mac=mac, validate=settings.supports("slac.validate"), **timers)


async def toggle_pilot(line: SimulatedPilotDriver, action: TogglePilot) -> None:
    """CM_VALIDATE: switch the vehicle state B -> C -> B ``action.toggles`` times, each state held for
    ``action.state_duration`` (ISO 15118-3 TP_EV_vald_state_duration)."""
    for _ in range(action.toggles):
        await line.set_vehicle_state(p.PilotState.C)
        await asyncio.sleep(action.state_duration)
        await line.set_vehicle_state(p.PilotState.B)
        await asyncio.sleep(action.state_duration)


def is_digital(reading: PilotReading) -> bool:
    """5 % (3-7 %): the EVSE asks for digital communication (ISO 15118-3 / IEC 61851-1 Table A.8)."""
    duty = reading.duty_percent
    return duty is not None and p.DIGITAL_COMMUNICATION_MIN_DUTY <= duty <= p.DIGITAL_COMMUNICATION_MAX_DUTY


def is_nominal(reading: PilotReading) -> bool:
    duty = reading.duty_percent
    return duty is not None and p.SIX_AMP_BAND_MIN_DUTY <= duty <= p.HIGH_BAND_MAX_DUTY


async def run_ev_slac(link: Link, settings: DeviceSettings, faults: frozenset[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")  # into the DUT log
    mac = interface_mac(link.interface)
    driver = SimulatedPilotDriver(link.interface, "ev")
    modem = EmulatedModem(link.interface, mac, evse=False)
    toggling: list[asyncio.Task[None]] = []

    def outcome(action: object) -> None:
        if isinstance(action, Matched):
            asyncio.ensure_future(driver.set_vehicle_state(p.PilotState.C))
        elif isinstance(action, LinkLost):
            asyncio.ensure_future(driver.set_vehicle_state(p.PilotState.B))
        elif isinstance(action, TogglePilot):
            toggling.append(asyncio.ensure_future(toggle_pilot(driver, action)))

    await driver.open()
    await modem.open()
    station = SlacStation(EvSlac(ev_slac_config(mac, settings)), modem, on_outcome=outcome, name="EV")
    echo = asyncio.ensure_future(serve_udp_echo(link))
    await driver.set_vehicle_state(p.PilotState.B)  # plugged in
    print(f"READY ev-slac mac={mac} modem={modem.modem_mac}", flush=True)
    matching = False
    try:
        async for reading in driver.readings():
            if reading.state in (p.PilotState.E, p.PilotState.F) or reading.duty_percent is None:
                if matching:
                    matching = False
                    station.post(Stop(f"pilot state {reading.state}"))
                if reading.state in (p.PilotState.E, p.PilotState.F) and driver.vehicle is p.PilotState.C:
                    await driver.set_vehicle_state(p.PilotState.B)
                continue
            if is_digital(reading) and not matching:
                matching = True
                station.post(Start())
            elif is_nominal(reading) and driver.vehicle is p.PilotState.B:
                if matching:
                    matching = False
                    station.post(Stop("nominal duty cycle"))
                await driver.set_vehicle_state(p.PilotState.C)  # basic charging
    finally:
        for task in toggling:
            task.cancel()
        echo.cancel()
        station.close()
        await modem.close()
        await driver.close()
