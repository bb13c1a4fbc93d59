"""An EVCC and an SECC machine connected in memory, run on the kernel's simulated clock.

No sockets and no real time: the two cores run on one :class:`~harness.protocol.simclock.SimulatedClock`; a
message sent at ``t`` arrives at ``t + latency_s``; a timer fires at its deadline unless it was cancelled or
re-armed (the cores' timer tables say so). The reference devices' physics advances with the timestamps, so a
one-hour session takes milliseconds and every run is identical. What happened is kept as a trace.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.protocol.core import Close, Core, LinkDown, LinkUp, MessageReceived, Send, TimerExpired
from harness.protocol.din70121.events import Event, MalformedReceived, Note, SendMalformed, StopSession
from harness.protocol.simclock import Attached, SimulatedClock

Side = Literal["EVCC", "SECC"]
Kind = Literal["message", "malformed", "discarded", "timer", "note", "close", "stop"]
SIDES: tuple[Side, Side] = ("EVCC", "SECC")


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One thing that happened: ``side`` did or received it at ``time``."""

    time: float
    side: Side
    kind: Kind
    name: str
    message: dict[str, Any] | None = None
    detail: str = ""
    ok: bool | None = None


@dataclass
class Simulation:
    evcc: Core
    secc: Core
    latency_s: float = 0.0
    trace: list[TraceEntry] = field(default_factory=list)
    stopped: dict[str, StopSession] = field(default_factory=dict)
    connected: bool = False
    clock: SimulatedClock = field(default_factory=SimulatedClock)
    _attached: dict[Side, Attached] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for side in SIDES:
            self._attached[side] = self.clock.attach(
                self.machine(side),
                lambda actions, now, side=side: self._execute(side, actions),
                lambda event, now, side=side: self._observe(side, event),
                side,
            )

    @property
    def now(self) -> float:
        return self.clock.now

    def machine(self, side: Side) -> Core:
        return self.evcc if side == "EVCC" else self.secc

    @staticmethod
    def peer(side: Side) -> Side:
        return "SECC" if side == "EVCC" else "EVCC"

    def inject(self, side: Side, event: Event, at: float) -> None:
        """Schedule an outside event (e.g. StopRequested) for ``side``."""
        self.clock.schedule(self._attached[side], event, at)

    def run(self, until: float = 7200.0, max_events: int = 2_000_000) -> list[TraceEntry]:
        """Connect and run until both sides stopped, nothing is left to do, or ``until`` (simulated s)."""
        if not self.connected:
            self.connected = True
            self.clock.schedule(self._attached["SECC"], LinkUp())
            self.clock.schedule(self._attached["EVCC"], LinkUp())
        self.clock.run(until=until, done=lambda: len(self.stopped) == 2, max_steps=max_events)
        return self.trace

    def _observe(self, side: Side, event: object) -> None:
        # A timer counts as fired only if it is still due when its turn comes (an expiry made stale by an
        # earlier event of the same instant is ignored by the core, and not traced).
        if isinstance(event, TimerExpired) and event.name in self.machine(side).due_timers(self.now):
            self.trace.append(TraceEntry(self.now, side, "timer", event.name))

    def _deliver(self, side: Side, event: Event) -> None:
        self.clock.schedule(self._attached[self.peer(side)], event, self.now + self.latency_s)

    def _execute(self, side: Side, actions: list[Any]) -> None:
        now = self.now
        for action in actions:
            if isinstance(action, Send | SendMalformed):
                if not self.connected:
                    self.trace.append(TraceEntry(now, side, "discarded", action.name, action.message))
                elif isinstance(action, Send):
                    self.trace.append(TraceEntry(now, side, "message", action.name, action.message))
                    self._deliver(side, MessageReceived(action.message))
                else:
                    entry = TraceEntry(now, side, "malformed", action.name, action.message, action.corruption)
                    self.trace.append(entry)
                    self._deliver(side, MalformedReceived(f"{action.name} sent with {action.corruption}"))
            elif isinstance(action, Close):
                self.trace.append(TraceEntry(now, side, "close", "Close", detail=action.reason))
                if self.connected:
                    self.connected = False
                    self._deliver(side, LinkDown(f"{side} closed the connection: {action.reason}"))
            elif isinstance(action, StopSession):
                self.stopped[side] = action
                self.trace.append(TraceEntry(now, side, "stop", str(action.result), detail=action.reason))
            elif isinstance(action, Note):
                self.trace.append(
                    TraceEntry(now, side, "note", action.check, detail=action.detail, ok=action.ok)
                )
            # StartTimer/CancelTimer: the clock reads the deadlines from the cores themselves.

    # --- reading the trace ---

    def messages(self, side: Side | None = None) -> list[TraceEntry]:
        return [e for e in self.trace if e.kind == "message" and (side is None or e.side == side)]

    def message_names(self, side: Side | None = None) -> list[str]:
        return [e.name for e in self.messages(side)]

    def notes(self, side: Side | None = None) -> list[TraceEntry]:
        return [e for e in self.trace if e.kind == "note" and (side is None or e.side == side)]

    def requests_collapsed(self) -> list[str]:
        """The EVCC's requests with consecutive repeats counted once (compare TYPICAL_DC_SESSION_REQUESTS)."""
        return [name for name, _ in itertools.groupby(self.message_names("EVCC"))]

    def timers_fired(self, side: Side | None = None) -> list[TraceEntry]:
        return [e for e in self.trace if e.kind == "timer" and (side is None or e.side == side)]
