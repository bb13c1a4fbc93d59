"""SLAC tester roles on the embedded lab's link: tester-as-EV against an EVSE DUT and tester-as-EVSE
(one or several EVSEs on a cable bundle) against an EV DUT.

Each tester runs the harness's own sans-I/O SLAC core on an emulated modem
(:mod:`harness.devices.modem_emulator`, without IP gating: the tester's capture point is in front of
its modem), or, on a `plc` lab (``real_modem``), on the real Green PHY modem behind the tester's port.
It holds the pilot through the lab's pilot driver (:func:`~harness.testers.pilot.open_lab_pilot`: the
simulated pilot of :mod:`harness.devices.pilot_sim` on the embedded lab, a pilot box's driver, or none
when the lab's pilot box is held outside the harness, the default on `plc` labs).  Its ``injector``
(the station's :class:`~harness.protocol.faults.FaultyCore`) takes the fault hooks of
:mod:`harness.protocol.slac.faults` (drop, delay, duplicate, rewrite of the tester's own messages), so a
scenario provokes the DUT; verdicts come from the capture.  Timers and PICS come from
the plain :class:`~harness.devices.settings.DeviceSettings`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import EmulatedModem, flat_profile
from harness.devices.settings import DeviceSettings
from harness.devices.slac_ev import ev_slac_config, toggle_pilot
from harness.devices.slac_evse import evse_slac_config, udp_echo
from harness.devices.slac_modem import LocalModem
from harness.devices.slac_station import SlacStation
from harness.protocol.faults import FaultInjector
from harness.protocol.pilot import PilotOutput, PilotState
from harness.protocol.slac import (
    EvseSlac,
    EvSlac,
    PilotStateChanged,
    Start,
    TogglePilot,
)
from harness.testers.pilot import open_lab_pilot
from harness.transport.link import Link
from harness.transport.pilot import PilotDriver
from harness.transport.raw_ethernet import interface_mac

# Extra EVSEs the tester plays on a cable bundle get locally administered MACs of this prefix.
BUNDLE_MAC_PREFIX = "02:76:67:69:00:"


class _Tester:
    def __init__(
        self, link: Link, settings: DeviceSettings, observer: object | None, real_modem: bool
    ) -> None:
        self.link = link
        self.settings = settings
        self.observer = observer
        # A `plc` lab: the tester's port leads to a real Green PHY modem (no emulation).
        self.real_modem = real_modem
        self.mac = interface_mac(link.interface)
        self.modems: list[EmulatedModem | LocalModem] = []
        self.stations: list[SlacStation] = []
        self.pilot: PilotDriver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # where the stations and modems live

    def _on_loop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the tester's event loop: now when called there, else as soon as the loop
        gets to it (steps call from the bench's thread; the cores, modems and timers belong to the loop)."""
        assert self._loop is not None, "the tester is not open"
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            callback()
        else:
            self._loop.call_soon_threadsafe(callback)

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
        self.pilot = await open_lab_pilot(self.settings, side, self.link.interface, self.observer)

    async def close(self) -> None:
        for station in self.stations:
            station.close()
        for modem in self.modems:
            await modem.close()
        if self.pilot is not None:
            await self.pilot.close()

    async def echo(self, payload: bytes, wait_s: float) -> bool:
        """Send one UDP echo request to the DUT; True if the reply came within ``wait_s``."""
        return await udp_echo(self.link, payload, wait_s, self.observer)

    def leave(self) -> None:
        """The tester's modem(s) leave the AVLN: the DUT sees the PLC link go down."""
        for modem in self.modems:
            self._on_loop(modem.leave)

    # --- read-only views for steps (they do not reach into stations, cores or modems) ---

    @property
    def link_up(self) -> bool:
        """Whether one of the tester's modems has joined the peer's network (hears its beacons)."""
        return any(modem.link_up for modem in self.modems)

    async def wait_link(self, timeout: float) -> bool:
        """Wait until the peer joined one of the tester's networks (its modem hears the peer's
        beacons): the match is complete from both sides."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.link_up:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def rejoin(self) -> None:
        """The tester's modem(s) join the AVLN again after :meth:`leave`."""
        for modem in self.modems:
            self._on_loop(modem.rejoin)

    def outcome_count(self, station: int = 0) -> int:
        """How many outcomes (matched, failed, ...) ``station`` reported so far: a mark for
        :meth:`wait_outcome`."""
        return len(self.stations[station].outcomes)

    async def wait_outcome(
        self, kinds: tuple[type, ...], timeout: float, since: int = 0, station: int = 0
    ) -> object | None:
        """The first outcome of one of ``kinds`` that ``station`` reported after mark ``since``."""
        return await self.stations[station].wait_for(kinds, timeout, since)


class SlacEvTester(_Tester):
    """The tester plays the EV: vehicle side of the pilot, EV SLAC core."""

    def __init__(
        self,
        link: Link,
        settings: DeviceSettings,
        observer: object | None = None,
        *,
        real_modem: bool = False,
    ) -> None:
        super().__init__(link, settings, observer, real_modem)
        self.injector = FaultInjector()
        self.run_ids: list[bytes] = []  # every RunID the tester EV used, in order
        config = ev_slac_config(self.mac, settings)
        config.run_id_factory = self._new_run_id
        self.core = EvSlac(config)

    def _new_run_id(self) -> bytes:
        run_id = secrets.token_bytes(hp.RUN_ID_LENGTH)
        self.run_ids.append(run_id)
        return run_id

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._open_pilot("ev")
        modem = self._modem(self.mac, evse=False)
        await modem.open()
        self.modems.append(modem)
        station = SlacStation(
            self.core, modem, injector=self.injector, name="tester EV", on_outcome=self._outcome
        )
        self.stations.append(station)

    def _outcome(self, action: object) -> None:
        if isinstance(action, TogglePilot) and self.pilot is not None:
            asyncio.ensure_future(toggle_pilot(self.pilot, action))

    async def set_state(self, state: PilotState) -> None:
        assert self.pilot is not None
        await self.pilot.set_vehicle_state(state)

    async def wait_duty(self, low: float, high: float, timeout: float) -> bool:
        assert self.pilot is not None
        return await self.pilot.wait_until(
            lambda r: r.duty_percent is not None and low <= r.duty_percent <= high, timeout
        )

    def start_matching(self) -> None:
        station = self.stations[0]
        self._on_loop(lambda: station.post(Start()))

    def send_raw(self, frame: bytes) -> None:
        modem = self.modems[0]
        self._on_loop(lambda: modem.send(frame))

    @property
    def matched_evse_mac(self) -> str | None:
        """The MAC of the EVSE the tester EV chose to match with, if any."""
        chosen = self.core.chosen
        return chosen.mac if chosen is not None else None

    @property
    def current_run_id(self) -> bytes | None:
        """The RunID of the tester EV's current matching process."""
        return self.core.run_id

    @property
    def validate_toggles(self) -> int:
        """How many B-C-B toggles the tester EV makes in CM_VALIDATE."""
        return self.core.config.validate_toggles


class SlacEvseTester(_Tester):
    """The tester plays one EVSE, or several on a cable bundle (the first is the one the EV is
    plugged into and drives the pilot)."""

    def __init__(
        self,
        link: Link,
        settings: DeviceSettings,
        observer: object | None = None,
        attenuations_db: Sequence[int] = (22,),
        *,
        real_modem: bool = False,
    ) -> None:
        super().__init__(link, settings, observer, real_modem)
        self.attenuations_db = tuple(attenuations_db)
        self.injectors = [FaultInjector() for _ in self.attenuations_db]
        self.macs = [self.mac] + [f"{BUNDLE_MAC_PREFIX}{i:02x}" for i in range(1, len(self.attenuations_db))]
        self.cores = [EvseSlac(evse_slac_config(mac, settings)) for mac in self.macs]
        self._follower: asyncio.Task[None] | None = None

    @property
    def injector(self) -> FaultInjector:
        return self.injectors[0]

    async def open(self) -> None:
        if self.real_modem and len(self.macs) > 1:
            raise RuntimeError("a cable bundle needs emulated modems (one real modem is one EVSE)")
        self._loop = asyncio.get_running_loop()
        await self._open_pilot("evse")
        for index, (mac, db) in enumerate(zip(self.macs, self.attenuations_db, strict=True)):
            modem = self._modem(mac, evse=True, db=db, observe=index == 0)
            await modem.open()
            self.modems.append(modem)
            station = SlacStation(
                self.cores[index], modem, injector=self.injectors[index], name=f"tester EVSE{index + 1}"
            )
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
        # The line as measured (what a pilot box sees too): the vehicle's state while X1 or PWM is on.
        return await self.pilot.wait_until(lambda r: r.state is state, timeout)

    async def set_output(self, output: PilotOutput, duty: float | None = None) -> None:
        assert self.pilot is not None
        await self.pilot.set_output(output, duty)

    def start_matching(self) -> None:
        for station in self.stations:
            self._on_loop(lambda station=station: station.post(Start()))

    def sessions(self) -> list[tuple[str, bytes]]:
        """(EV MAC, RunID) of every matching session the tester EVSE(s) have open."""
        return [(core.session.ev_mac, core.session.run_id) for core in self.cores if core.session is not None]


def foreign_mac() -> str:
    """A station that takes no part in the session (a neighbour on the cable bundle)."""
    return "02:76:67:69:ff:01"
