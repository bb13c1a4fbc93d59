"""The sans-I/O kernel every protocol core is built on (SDP, DIN SPEC 70121, SLAC, pilot, and new cores).

A *core* is a state machine that never reads a clock, sleeps or touches a socket. Its caller (a
*driver*) feeds it events with the time they happened and carries out the actions it returns, in order:

    actions = core.handle(event, now)

``now`` is float seconds on a monotonic clock the driver owns (real or simulated). The model is h11's
explicit events and state table, and aioquic's "time in, deadline out": a core keeps its armed timers
in one :class:`TimerTable` and says when it next wants to be woken (:meth:`Core.next_deadline`); the
driver wakes it by feeding :class:`TimerExpired` for each name :meth:`Core.due_timers` lists. A core
ignores the expiry of a timer it has cancelled or re-armed (the table says so), so a late or duplicate
wake-up never makes it misbehave.

Exactly two drivers run cores: :class:`harness.protocol.simclock.SimulatedClock` (in memory, simulated
time, for tests and dry runs) and :class:`harness.transport.driver.CoreDriver` (asyncio, real time).
Faults are transforms on a core's actions (:mod:`harness.protocol.faults`); :class:`FaultyCore` wraps a
core so that delayed actions are released through a kernel timer, on whichever clock drives the core.

The generic vocabulary lives here once. A protocol adds only what is its own (a DIN ``StopSession``, a
SLAC ``SetKey``); it does not redefine sending, timers or closing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

# A timer is due when ``now`` has reached its deadline, allowing for float rounding of sums of seconds.
TIMER_EPSILON_S = 1e-9

# --- events -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimerExpired:
    """The named timer's deadline has passed (fed by the driver for each name in ``due_timers``)."""

    name: str


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A decoded message from the peer, in the protocol's own shape (a dict, a dataclass, a frame)."""

    message: Any
    source: str | None = None


@dataclass(frozen=True, slots=True)
class LinkUp:
    """The link below the core is usable (a TCP connection opened, a modem joined its network)."""


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link below the core is gone (peer closed, reset, modem left the network)."""

    reason: str = "link down"


# --- actions ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """Send ``message`` to ``destination`` (None: the connected peer). ``name`` is the message's name in
    the standard's words, for logs, fault selectors and traces."""

    message: Any
    name: str
    destination: str | None = None


@dataclass(frozen=True, slots=True)
class StartTimer:
    """(Re)arm the named timer to fire at ``deadline``; a running timer of that name is replaced."""

    name: str
    deadline: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    name: str


@dataclass(frozen=True, slots=True)
class Close:
    """Close the link (the connection, the session); ``reason`` says why, for the trace."""

    reason: str


# --- timers -------------------------------------------------------------------------------------------


@dataclass
class TimerTable:
    """The deadlines a core has armed. Expiries of unknown, cancelled or re-armed timers are stale."""

    deadlines: dict[str, float] = field(default_factory=dict)

    def start(self, name: str, deadline: float) -> StartTimer:
        self.deadlines[name] = deadline
        return StartTimer(name, deadline)

    def cancel(self, name: str) -> list[CancelTimer]:
        if self.deadlines.pop(name, None) is None:
            return []
        return [CancelTimer(name)]

    def cancel_all(self) -> list[CancelTimer]:
        actions = [CancelTimer(name) for name in self.deadlines]
        self.deadlines.clear()
        return actions

    def armed(self, name: str) -> bool:
        return name in self.deadlines

    def fire(self, name: str, now: float) -> bool:
        """True (and disarm) if ``name`` is armed and due at ``now``; False for a stale expiry."""
        deadline = self.deadlines.get(name)
        if deadline is None or now + TIMER_EPSILON_S < deadline:
            return False
        del self.deadlines[name]
        return True

    def postpone(self, name: str, armed_deadline: float, by: float) -> bool:
        """Move ``name`` ``by`` seconds later if it is still armed at ``armed_deadline``; True if moved.

        A driver uses this to make a timer count from when the actions before it were carried out
        (a request on the wire) rather than from when the core began handling the event."""
        if by <= 0 or self.deadlines.get(name) != armed_deadline:
            return False
        self.deadlines[name] = armed_deadline + by
        return True

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values(), default=None)

    def due(self, now: float) -> list[str]:
        """Names of the timers due at ``now``, earliest first (ties by name, so runs are repeatable)."""
        ready = [(deadline, name) for name, deadline in self.deadlines.items()]
        return [name for deadline, name in sorted(ready) if now + TIMER_EPSILON_S >= deadline]


# --- the core contract --------------------------------------------------------------------------------


@runtime_checkable
class Core(Protocol):
    """What a driver needs from a core."""

    def handle(self, event: Any, now: float) -> list[Any]: ...

    def next_deadline(self) -> float | None: ...

    def due_timers(self, now: float) -> list[str]: ...


class TimedCore:
    """Base for cores: one :class:`TimerTable` and the two timer queries a driver asks.

    A subclass arms with ``self.timers.start(name, deadline)`` (returning the action), cancels with
    ``self.timers.cancel(name)``, and on ``TimerExpired(name)`` proceeds only if
    ``self.timers.fire(name, now)`` says the expiry is current.
    """

    timers: TimerTable

    def __init__(self) -> None:
        self.timers = TimerTable()

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def due_timers(self, now: float) -> list[str]:
        return self.timers.due(now)


def expire_due(core: Core, now: float) -> list[tuple[TimerExpired, list[Any]]]:
    """Feed ``core`` an expiry for each timer due at ``now``; (event, actions) per expiry, in order."""
    results = []
    for name in core.due_timers(now):
        event = TimerExpired(name)
        results.append((event, core.handle(event, now)))
    return results
