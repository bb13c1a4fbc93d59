"""An EVCC and an SECC machine connected in memory, run on a simulated clock.

No sockets and no real time: events sit in a queue ordered by simulated time; a message sent at ``t`` arrives
at ``t + latency_s``; a timer fires at its deadline unless it was cancelled or re-armed. The reference
devices' physics advances with the timestamps, so a one-hour session takes milliseconds and every run is
identical.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

from harness.protocol.din70121.events import (
    Action,
    CancelTimer,
    CloseConnection,
    ConnectionLost,
    ConnectionOpened,
    Event,
    MalformedReceived,
    MessageReceived,
    Note,
    SendMalformed,
    SendMessage,
    StartTimer,
    StopSession,
    TimerExpired,
)
from harness.protocol.din70121.faults import Machine

Side = Literal["EVCC", "SECC"]
Kind = Literal["message", "malformed", "discarded", "timer", "note", "close", "stop"]


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
    evcc: Machine
    secc: Machine
    latency_s: float = 0.0
    now: float = 0.0
    trace: list[TraceEntry] = field(default_factory=list)
    stopped: dict[str, StopSession] = field(default_factory=dict)
    connected: bool = False
    _queue: list[tuple[float, int, Side, Event, int | None]] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=itertools.count)
    _timers: dict[tuple[Side, str], int] = field(default_factory=dict)
    _tokens: itertools.count = field(default_factory=itertools.count)

    def machine(self, side: Side) -> Machine:
        return self.evcc if side == "EVCC" else self.secc

    @staticmethod
    def peer(side: Side) -> Side:
        return "SECC" if side == "EVCC" else "EVCC"

    def _push(self, time: float, side: Side, event: Event, token: int | None = None) -> None:
        heapq.heappush(self._queue, (time, next(self._seq), side, event, token))

    def inject(self, side: Side, event: Event, at: float) -> None:
        """Schedule an outside event (e.g. StopRequested) for ``side``."""
        self._push(at, side, event)

    def run(self, until: float = 7200.0, max_events: int = 2_000_000) -> list[TraceEntry]:
        """Connect and run until both sides stopped, nothing is left to do, or ``until`` (simulated s)."""
        if not self.connected:
            self.connected = True
            self._push(self.now, "SECC", ConnectionOpened())
            self._push(self.now, "EVCC", ConnectionOpened())
        for _ in range(max_events):
            if not self._queue or len(self.stopped) == 2:
                break
            time, _, side, event, token = heapq.heappop(self._queue)
            if time > until:
                heapq.heappush(self._queue, (time, next(self._seq), side, event, token))
                break
            if isinstance(event, TimerExpired):
                if self._timers.get((side, event.name)) != token:
                    continue  # cancelled or re-armed
                del self._timers[(side, event.name)]
                self.trace.append(TraceEntry(time, side, "timer", event.name))
            self.now = max(self.now, time)
            self._execute(side, self.machine(side).handle(event, self.now))
        return self.trace

    def _execute(self, side: Side, actions: list[Action]) -> None:
        peer = self.peer(side)
        arrival = self.now + self.latency_s
        for action in actions:
            if isinstance(action, SendMessage | SendMalformed):
                if not self.connected:
                    self.trace.append(TraceEntry(self.now, side, "discarded", action.name, action.message))
                    continue
                if isinstance(action, SendMessage):
                    self.trace.append(TraceEntry(self.now, side, "message", action.name, action.message))
                    self._push(arrival, peer, MessageReceived(action.message))
                else:
                    self.trace.append(
                        TraceEntry(
                            self.now, side, "malformed", action.name, action.message, action.corruption
                        )
                    )
                    self._push(
                        arrival, peer, MalformedReceived(f"{action.name} sent with {action.corruption}")
                    )
            elif isinstance(action, StartTimer):
                token = next(self._tokens)
                self._timers[(side, action.name)] = token
                self._push(action.deadline, side, TimerExpired(action.name), token)
            elif isinstance(action, CancelTimer):
                self._timers.pop((side, action.name), None)
            elif isinstance(action, CloseConnection):
                self.trace.append(
                    TraceEntry(self.now, side, "close", "CloseConnection", detail=action.reason)
                )
                if self.connected:
                    self.connected = False
                    self._push(
                        arrival, peer, ConnectionLost(f"{side} closed the connection: {action.reason}")
                    )
            elif isinstance(action, StopSession):
                self.stopped[side] = action
                self.trace.append(
                    TraceEntry(self.now, side, "stop", str(action.result), detail=action.reason)
                )
            elif isinstance(action, Note):
                self.trace.append(
                    TraceEntry(self.now, side, "note", action.check, detail=action.detail, ok=action.ok)
                )

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
