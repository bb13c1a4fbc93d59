"""Fault injection as transforms on the actions of any sans-I/O protocol core.

Contract (any core, any adapter):

* A core returns a list of actions.  Before performing them, the adapter (an asyncio transport, an
  in-memory simulation) passes that list through :meth:`FaultInjector.transform` with the same
  ``now`` it gave the core, and performs what comes back, in order.
* A :class:`Fault` selects actions with ``match`` (a predicate on the action object), skips the first
  ``after`` matches and applies to at most ``times`` of the following ones (``None`` = all of them).
* :class:`Drop` removes the action; :class:`Rewrite` replaces it with ``rewrite(action)`` (a wrong
  session id or RunID, a corrupted field; the rewrite function is protocol-specific, see for example
  :mod:`harness.protocol.slac.faults`); :class:`Duplicate` performs it twice; :class:`Delay` holds it
  back ``seconds`` and the adapter must call :meth:`FaultInjector.release` at or after
  :meth:`FaultInjector.next_release` to get it (and perform it then).  Released actions are not
  transformed again.
* Faults apply in list order; an action dropped or delayed by one fault is not seen by later ones.
* Deterministic: no clock, no randomness.  The injector records what it did in ``log`` so a test or a
  report can show which fault hit which action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.core import TIMER_EPSILON_S, StartTimer, TimerExpired

Match = Callable[[Any], bool]


@dataclass
class Fault:
    match: Match
    times: int | None = 1
    after: int = 0
    seen: int = 0
    applied: int = 0

    def wants(self, action: object) -> bool:
        if not self.match(action):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.applied += 1
        return True

    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        """(actions to perform now, (due time, action) pairs to hold back)."""
        raise NotImplementedError


@dataclass
class Drop(Fault):
    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        return [], []


@dataclass
class Delay(Fault):
    seconds: float = 0.0

    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        return [], [(now + self.seconds, action)]


@dataclass
class Rewrite(Fault):
    rewrite: Callable[[Any], object] = field(default=lambda action: action)

    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        return [self.rewrite(action)], []


@dataclass
class Duplicate(Fault):
    def apply(self, action: object, now: float) -> tuple[list[object], list[tuple[float, object]]]:
        return [action, action], []


@dataclass
class FaultInjector:
    faults: list[Fault] = field(default_factory=list)
    held: list[tuple[float, int, object]] = field(default_factory=list)
    log: list[tuple[float, str, object]] = field(default_factory=list)
    _sequence: int = 0

    def add(self, fault: Fault) -> Fault:
        self.faults.append(fault)
        return fault

    def transform(self, actions: list[Any], now: float) -> list[Any]:
        result: list[Any] = []
        for action in actions:
            pending: list[object] = [action]
            for fault in self.faults:
                next_pending: list[object] = []
                for item in pending:
                    if fault.wants(item):
                        perform, hold = fault.apply(item, now)
                        self.log.append((now, type(fault).__name__, item))
                        next_pending.extend(perform)
                        for due, held in hold:
                            self._sequence += 1
                            self.held.append((due, self._sequence, held))
                    else:
                        next_pending.append(item)
                pending = next_pending
            result.extend(pending)
        return result

    def next_release(self) -> float | None:
        return min((due for due, _, _ in self.held), default=None)

    def release(self, now: float) -> list[Any]:
        """Held actions that are due at ``now``, in due order."""
        due = sorted((item for item in self.held if item[0] <= now + 1e-9), key=lambda item: item[:2])
        self.held = [item for item in self.held if item[0] > now + 1e-9]
        return [action for _, _, action in due]


# Kernel timer through which a FaultyCore releases held (delayed) actions, on the clock of its driver.
FAULT_RELEASE_TIMER = "fault:release"


class FaultyCore:
    """``core`` with ``faults`` applied to its actions; a :class:`~harness.protocol.core.Core` itself.

    Delayed actions are released through the kernel timer :data:`FAULT_RELEASE_TIMER`: the wrapper
    reports the release time in :meth:`next_deadline` and the name in :meth:`due_timers`, so whichever
    driver runs the core (simulated clock or asyncio) releases them without knowing about faults. A
    :class:`StartTimer` for the release is also returned, so traces show when a held action is due.
    Attribute look-ups the wrapper does not answer go to the wrapped core (state, result, ...).
    """

    def __init__(self, core: Any, faults: list[Fault] | tuple[Fault, ...] = ()) -> None:
        self.core = core
        self.injector = FaultInjector(list(faults))
        self._armed: float | None = None

    def add(self, fault: Fault) -> Fault:
        return self.injector.add(fault)

    def handle(self, event: Any, now: float) -> list[Any]:
        if isinstance(event, TimerExpired) and event.name == FAULT_RELEASE_TIMER:
            self._armed = None
            actions = list(self.injector.release(now))
        else:
            actions = self.injector.transform(self.core.handle(event, now), now)
        due = self.injector.next_release()
        if due is not None and due != self._armed:
            self._armed = due
            actions.append(StartTimer(FAULT_RELEASE_TIMER, due))
        return actions

    def next_deadline(self) -> float | None:
        times = [t for t in (self.core.next_deadline(), self.injector.next_release()) if t is not None]
        return min(times, default=None)

    def due_timers(self, now: float) -> list[str]:
        names = list(self.core.due_timers(now))
        release = self.injector.next_release()
        if release is not None and now + TIMER_EPSILON_S >= release:
            names.append(FAULT_RELEASE_TIMER)
        return names

    def __getattr__(self, name: str) -> Any:
        # Never our own fields (copy and pickle look attributes up before __init__ ran).
        if name.startswith("_") or name in ("core", "injector"):
            raise AttributeError(name)
        return getattr(self.core, name)
