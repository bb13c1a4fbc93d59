"""SLAC cores wired together in memory on simulated time: one EV and one or more EVSEs on a cable bundle.

No sockets and no real time: the cores run on the kernel's :class:`~harness.protocol.simclock.
SimulatedClock`, which takes their timers from the cores themselves.  Frames travel as bytes (encoded by
the cores, decoded with :func:`harness.codec.homeplug.decode_slac`), so the codec is exercised too.
What the simulated modems do:

* every CM_MNBC_SOUND.IND of the EV makes each EVSE's modem report a CM_ATTEN_PROFILE.IND to its host,
  with that EVSE's attenuation profile (the EVSE the EV is plugged into has the lowest);
* CM_SET_KEY.REQ makes the modem answer CM_SET_KEY.CNF and take the key; when the EV's modem and an
  EVSE's modem hold the same NMK both hosts get :class:`LinkUp` after ``join_delay``;
* :meth:`SlacSimulation.cut_link` takes the EV's modem off the network (both hosts get LinkDown).

Pilot toggles the EV performs for CM_VALIDATE reach only the EVSE it is plugged into.  Each station's
core is wrapped in a :class:`~harness.protocol.faults.FaultyCore` (``station.injector`` takes the
faults; delayed frames are released through the kernel timer).  Used by the unit tests, and usable for
dry runs of tester logic; the network-namespace modem emulator lives in harness.devices.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from harness.codec import homeplug as hp
from harness.codec.homeplug import HomePlugDecodeError, decode_slac
from harness.protocol.core import LinkDown, LinkUp, Send
from harness.protocol.faults import FaultInjector, FaultyCore
from harness.protocol.simclock import Attached, SimulatedClock
from harness.protocol.slac.common import (
    PilotStateChanged,
    SetKey,
    SlacEvent,
    Start,
    TogglePilot,
    frame_received,
)
from harness.protocol.slac.ev import EvSlac
from harness.protocol.slac.evse import EvseSlac

# Latencies of the simulated medium (seconds); small compared with every SLAC timer.
FRAME_LATENCY_S = 0.002
MODEM_REPORT_LATENCY_S = 0.005
JOIN_DELAY_S = 0.5


@dataclass(eq=False)
class Station:
    name: str
    core: EvSlac | EvseSlac
    modem_mac: str
    profile: tuple[int, ...] = ()  # EVSE: the attenuation its modem measures for the EV's sounds
    nmk: bytes = b""
    link_up: bool = False
    faulty: FaultyCore = field(init=False, repr=False)
    attached: Attached | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.faulty = FaultyCore(self.core)

    @property
    def mac(self) -> str:
        return self.core.config.mac

    @property
    def injector(self) -> FaultInjector:
        """The faults applied to this station's actions."""
        return self.faulty.injector

    @injector.setter
    def injector(self, injector: FaultInjector) -> None:
        self.faulty.injector = injector


@dataclass(frozen=True)
class LogEntry:
    time: float
    station: str
    kind: str  # "event", "action", "decode-error"
    item: object


class SlacSimulation:
    def __init__(
        self,
        ev: EvSlac,
        evses: Sequence[tuple[EvseSlac, Sequence[int]]],
        *,
        plugged: int | None = None,
        frame_latency: float = FRAME_LATENCY_S,
        modem_latency: float = MODEM_REPORT_LATENCY_S,
        join_delay: float = JOIN_DELAY_S,
    ) -> None:
        self.ev = Station("EV", ev, "02:00:00:00:aa:01")
        self.evses = [
            Station(f"EVSE{index + 1}", core, f"02:00:00:00:bb:{index + 1:02x}", tuple(profile))
            for index, (core, profile) in enumerate(evses)
        ]
        for station in self.evses:
            if len(station.profile) != hp.ATTEN_GROUPS:
                raise ValueError(f"{station.name}: attenuation profile needs {hp.ATTEN_GROUPS} groups")
        if plugged is None:
            plugged = min(range(len(self.evses)), key=lambda i: hp.average_attenuation(self.evses[i].profile))
        self.plugged = self.evses[plugged] if self.evses else None
        self.frame_latency = frame_latency
        self.modem_latency = modem_latency
        self.join_delay = join_delay
        self.log: list[LogEntry] = []
        self.clock = SimulatedClock()
        for station in self.stations:
            station.attached = self.clock.attach(
                station.faulty, partial(self._perform, station), partial(self._observe, station), station.name
            )
        self._medium = self.clock.attach(_Medium(self), lambda actions, now: None, name="medium")

    # ---------------------------------------------------------------- driving

    @property
    def stations(self) -> list[Station]:
        return [self.ev, *self.evses]

    @property
    def now(self) -> float:
        return self.clock.now

    def schedule(self, time: float, station: Station, event: SlacEvent) -> None:
        """Deliver ``event`` to ``station``'s core at simulated time ``time``."""
        assert station.attached is not None
        self.clock.schedule(station.attached, event, at=time)

    def start(self, *, ev_at: float = 0.1, evses_at: float = 0.0) -> None:
        """Plug in: the EVSEs detect the EV at ``evses_at``, the EV starts SLAC at ``ev_at``."""
        for station in self.evses:
            self.schedule(evses_at, station, Start())
        self.schedule(ev_at, self.ev, Start())

    def cut_link(self, at: float) -> None:
        """The EV's modem drops off the network at ``at`` (its key is forgotten)."""
        self.clock.schedule(self._medium, _CutLink(self.ev), at=at)

    def run(self, until: float) -> None:
        """Run everything due up to simulated time ``until``; the clock then stands at ``until``."""
        self.clock.run(until=until)
        self.clock.now = max(self.clock.now, until)

    def _observe(self, station: Station, event: Any, now: float) -> None:
        self.log.append(LogEntry(now, station.name, "event", event))

    # ---------------------------------------------------------------- the medium

    def _perform(self, station: Station, actions: list[Any], now: float) -> None:
        # Timers need nothing here: the clock reads every core's deadlines from the core itself.
        for action in actions:
            self.log.append(LogEntry(now, station.name, "action", action))
            if isinstance(action, Send):
                self._transmit(station, action.message)
            elif isinstance(action, SetKey):
                self._set_key(station, action)
            elif isinstance(action, TogglePilot) and station is self.ev and self.plugged is not None:
                time = self.now
                for _ in range(action.toggles):
                    time += action.state_duration
                    self.schedule(time, self.plugged, PilotStateChanged("C"))
                    time += action.state_duration
                    self.schedule(time, self.plugged, PilotStateChanged("B"))

    def _deliver(self, station: Station, frame: bytes, delay: float) -> None:
        try:
            message = decode_slac(frame)
        except HomePlugDecodeError as error:
            self.log.append(LogEntry(self.now, station.name, "decode-error", error))
            return
        self.schedule(self.now + delay, station, frame_received(message))

    def _transmit(self, sender: Station, frame: bytes) -> None:
        try:
            dst = decode_slac(frame).dst
        except HomePlugDecodeError:
            dst = hp.BROADCAST_MAC  # a corrupted frame still goes out on the wire
        if sender is self.ev:
            receivers = [s for s in self.evses if dst in (hp.BROADCAST_MAC, s.mac)]
            for station in receivers:
                self._deliver(station, frame, self.frame_latency)
            if _is_sound(frame):
                for station in self.evses:
                    report = hp.encode_atten_profile_ind(station.modem_mac, self.ev.mac, station.profile)
                    self._deliver(station, report, self.modem_latency)
        elif dst in (hp.BROADCAST_MAC, self.ev.mac):
            self._deliver(self.ev, frame, self.frame_latency)

    def _set_key(self, station: Station, action: SetKey) -> None:
        station.nmk = action.nmk
        confirm = hp.encode_set_key_cnf(station.modem_mac, station.mac)
        self._deliver(station, confirm, self.modem_latency)
        self._update_links()

    def leave_network(self, station: Station) -> None:
        """``station``'s modem forgets its key (it leaves the logical network) now."""
        station.nmk = b""
        self._update_links()

    def _update_links(self) -> None:
        peer = next((s for s in self.evses if self.ev.nmk and s.nmk == self.ev.nmk), None)
        for station in self.evses:
            joined = station is peer
            if joined != station.link_up:
                station.link_up = joined
                self.schedule(self.now + self.join_delay, station, LinkUp() if joined else LinkDown())
        if (peer is not None) != self.ev.link_up:
            self.ev.link_up = peer is not None
            self.schedule(self.now + self.join_delay, self.ev, LinkUp() if peer is not None else LinkDown())

    # ---------------------------------------------------------------- inspection

    def actions(self, station: str, kind: type | None = None) -> list[tuple[float, object]]:
        return [
            (entry.time, entry.item)
            for entry in self.log
            if entry.station == station
            and entry.kind == "action"
            and (kind is None or isinstance(entry.item, kind))
        ]

    def sent(self, station: str, name: str | None = None) -> list[tuple[float, Send]]:
        return [
            (time, item)
            for time, item in self.actions(station, Send)
            if isinstance(item, Send) and (name is None or item.name == name)
        ]


@dataclass(frozen=True)
class _CutLink:
    """Event of the medium: ``station``'s modem leaves the network."""

    station: Station


class _Medium:
    """The shared medium on the clock, so that changes of the medium happen at their simulated time
    among the cores' events.  It has no timers and returns no actions."""

    def __init__(self, simulation: SlacSimulation) -> None:
        self.simulation = simulation

    def handle(self, event: Any, now: float) -> list[Any]:
        if isinstance(event, _CutLink):
            self.simulation.leave_network(event.station)
        return []

    def next_deadline(self) -> float | None:
        return None

    def due_timers(self, now: float) -> list[str]:
        return []


def _is_sound(frame: bytes) -> bool:
    try:
        return decode_slac(frame).name == "CM_MNBC_SOUND.IND"
    except HomePlugDecodeError:
        return False
