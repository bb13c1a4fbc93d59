"""SLAC tester roles on the embedded lab's link: tester-as-EV against an EVSE DUT and tester-as-EVSE
(one or several EVSEs on a cable bundle) against an EV DUT.

Each tester runs the harness's own sans-I/O SLAC core on an emulated modem
(:mod:`harness.devices.modem_emulator`, without IP gating: the tester's capture point is in front of
its modem) and the simulated pilot (:mod:`harness.devices.pilot_sim`).  Its ``injector`` takes the
fault hooks of :mod:`harness.protocol.slac.faults` (drop, delay, duplicate, rewrite of the tester's own
messages), so a scenario provokes the DUT; verdicts come from the capture.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import EmulatedModem, flat_profile
from harness.devices.pilot_sim import SimulatedPilotDriver
from harness.devices.slac_ev import ev_slac_config
from harness.devices.slac_evse import UDP_ECHO_PORT, evse_slac_config
from harness.devices.slac_modem import LocalModem
from harness.devices.slac_station import SlacStation
from harness.lab.config import LabConfig
from harness.protocol.faults import FaultInjector
from harness.protocol.pilot import PilotOutput, PilotState
from harness.protocol.slac import (
    EvseSlac,
    EvSlac,
    Matched,
    MatchFailed,
    PilotStateChanged,
    Start,
    TogglePilot,
)
from harness.transport.link import Link
from harness.transport.raw_ethernet import interface_mac
from harness.transport.udp import open_udp

# Extra EVSEs the tester plays on a cable bundle get locally administered MACs of this prefix.
BUNDLE_MAC_PREFIX = "02:76:67:69:00:"


class _Tester:
    def __init__(self, link: Link, lab: LabConfig, observer: object | None) -> None:
        self.link = link
        self.lab = lab
        self.observer = observer
        self.mac = interface_mac(link.interface)
        self.modems: list[EmulatedModem | LocalModem] = []
        self.stations: list[SlacStation] = []
        self.pilot: SimulatedPilotDriver | None = None

    @property
    def real_modem(self) -> bool:
        """A `plc` lab: the tester's port leads to a real Green PHY modem (no emulation, no simulated
        pilot: the lab's pilot box holds the pilot)."""
        return self.lab.access.kind == "plc"

    def _modem(
        self, mac: str, *, evse: bool, db: int = 22, observe: bool = True
    ) -> EmulatedModem | LocalModem:
        observer = self.observer if observe else None
        if self.real_modem:
            return LocalModem(self.link.interface, mac, evse=evse, observer=observer)
        return EmulatedModem(
            self.link.interface, mac, evse=evse, profile=flat_profile(db), gate=False, observer=observer
        )

    async def _open_pilot(self, side: str) -> None:
        if not self.real_modem:
            self.pilot = SimulatedPilotDriver(self.link.interface, side, self.observer)
            await self.pilot.open()

    async def close(self) -> None:
        for station in self.stations:
            await station.stop()
        for modem in self.modems:
            await modem.close()
        if self.pilot is not None:
            await self.pilot.close()

    async def echo(self, payload: bytes, wait_s: float) -> bool:
        """Send one UDP echo request to the DUT; True if the reply came within ``wait_s``."""
        assert self.link.peer_address is not None, "the DUT's address is not known on this link"
        endpoint = await open_udp(self.link, 0, observer=self.observer)
        try:
            endpoint.send(payload, self.link.peer_address, UDP_ECHO_PORT)
            reply = await endpoint.receive(wait_s)
            return reply is not None and reply.data == payload
        finally:
            endpoint.close()

    async def wait_match(self, timeout: float, station: int = 0) -> object | None:
        return await self.stations[station].wait_for((Matched, MatchFailed), timeout)

    def leave(self) -> None:
        """The tester's modem(s) leave the AVLN: the DUT sees the PLC link go down."""
        for modem in self.modems:
            modem.leave()


class SlacEvTester(_Tester):
    """The tester plays the EV: vehicle side of the pilot, EV SLAC core."""

    def __init__(self, link: Link, lab: LabConfig, observer: object | None = None) -> None:
        super().__init__(link, lab, observer)
        self.injector = FaultInjector()
        self.run_ids: list[bytes] = []  # every RunID the tester EV used, in order
        config = ev_slac_config(self.mac, lab)
        config.run_id_factory = self._new_run_id
        self.core = EvSlac(config)

    def _new_run_id(self) -> bytes:
        run_id = secrets.token_bytes(hp.RUN_ID_LENGTH)
        self.run_ids.append(run_id)
        return run_id

    async def open(self) -> None:
        await self._open_pilot("ev")
        modem = self._modem(self.mac, evse=False)
        await modem.open()
        self.modems.append(modem)
        station = SlacStation(
            self.core, modem, injector=self.injector, name="tester EV", on_outcome=self._outcome
        )
        station.start()
        self.stations.append(station)

    def _outcome(self, action: object) -> None:
        if isinstance(action, TogglePilot) and self.pilot is not None:
            asyncio.ensure_future(self._toggle(action))

    async def _toggle(self, action: TogglePilot) -> None:
        assert self.pilot is not None
        for _ in range(action.toggles):
            await self.pilot.set_vehicle_state(PilotState.C)
            await asyncio.sleep(action.state_duration)
            await self.pilot.set_vehicle_state(PilotState.B)
            await asyncio.sleep(action.state_duration)

    async def set_state(self, state: PilotState) -> None:
        assert self.pilot is not None
        await self.pilot.set_vehicle_state(state)

    async def wait_duty(self, low: float, high: float, timeout: float) -> bool:
        assert self.pilot is not None
        return await self.pilot.wait_until(
            lambda r: r.duty_percent is not None and low <= r.duty_percent <= high, timeout
        )

    async def wait_output(self, state: PilotState, timeout: float) -> bool:
        assert self.pilot is not None
        return await self.pilot.wait_until(lambda r: r.state is state, timeout)

    def start_matching(self) -> None:
        self.stations[0].post(Start())

    def send_raw(self, frame: bytes) -> None:
        self.modems[0].send(frame)


class SlacEvseTester(_Tester):
    """The tester plays one EVSE, or several on a cable bundle (the first is the one the EV is
    plugged into and drives the pilot)."""

    def __init__(
        self,
        link: Link,
        lab: LabConfig,
        observer: object | None = None,
        attenuations_db: Sequence[int] = (22,),
    ) -> None:
        super().__init__(link, lab, observer)
        self.attenuations_db = tuple(attenuations_db)
        self.injectors = [FaultInjector() for _ in self.attenuations_db]
        self.macs = [self.mac] + [f"{BUNDLE_MAC_PREFIX}{i:02x}" for i in range(1, len(self.attenuations_db))]
        self.cores = [EvseSlac(evse_slac_config(mac, lab)) for mac in self.macs]
        self._follower: asyncio.Task[None] | None = None

    @property
    def injector(self) -> FaultInjector:
        return self.injectors[0]

    async def open(self) -> None:
        if self.real_modem and len(self.macs) > 1:
            raise RuntimeError("a cable bundle needs emulated modems (one real modem is one EVSE)")
        await self._open_pilot("evse")
        for index, (mac, db) in enumerate(zip(self.macs, self.attenuations_db, strict=True)):
            modem = self._modem(mac, evse=True, db=db, observe=index == 0)
            await modem.open()
            self.modems.append(modem)
            station = SlacStation(
                self.cores[index], modem, injector=self.injectors[index], name=f"tester EVSE{index + 1}"
            )
            station.start()
            self.stations.append(station)
        if self.pilot is not None:
            # CM_VALIDATE: the EVSE the EV is plugged into counts the vehicle's B-C-B toggles.
            self._follower = asyncio.ensure_future(self._follow_pilot())

    async def _follow_pilot(self) -> None:
        assert self.pilot is not None
        async for reading in self.pilot.readings():
            if reading.state is not None:
                self.stations[0].post(PilotStateChanged(reading.state.value))

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
        await super().close()

    async def wait_vehicle(self, state: PilotState, timeout: float) -> bool:
        assert self.pilot is not None
        return await self.pilot.wait_until(
            lambda r: self.pilot is not None and self.pilot.vehicle is state, timeout
        )

    async def set_output(self, output: PilotOutput, duty: float | None = None) -> None:
        assert self.pilot is not None
        await self.pilot.set_output(output, duty)

    def start_matching(self) -> None:
        for station in self.stations:
            station.post(Start())

    async def wait_link(self, timeout: float) -> bool:
        """Wait until the EV joined one of the tester's networks (its modem hears the EV's beacons):
        the match is complete from the EV's side too."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any(modem.link_up for modem in self.modems):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def matched_station(self) -> int | None:
        for index, station in enumerate(self.stations):
            if any(isinstance(action, Matched) for _, action in station.outcomes):
                return index
        return None

    async def wait_any_match(self, timeout: float) -> int | None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            index = self.matched_station()
            if index is not None:
                return index
            await asyncio.sleep(0.05)
        return self.matched_station()


def foreign_mac() -> str:
    """A station that takes no part in the session (a neighbour on the cable bundle)."""
    return "02:76:67:69:ff:01"


def broadcast() -> str:
    return hp.BROADCAST_MAC
