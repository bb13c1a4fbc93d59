"""The simulated-clock driver: runs any number of cores in memory on simulated time (tests, dry runs).

No sockets and no real time. Events sit in one queue ordered by simulated time (ties in the order they
were scheduled); timers come from each core's own table (:meth:`Core.next_deadline`). The driver
always processes whichever comes first, a queued delivery or a core's deadline, advancing ``now`` to
it, so a one-hour session takes milliseconds and every run is identical.

What an action means is the caller's business: each attached core has a ``perform(actions, now)``
callback (a simulation connects two cores by scheduling one's sends as the other's
``MessageReceived``), and an optional ``observe(event, now)`` called before the core sees an event,
for traces.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.core import Core, TimerExpired

Perform = Callable[[list[Any], float], None]
Observe = Callable[[Any, float], None]


@dataclass(eq=False)
class Attached:
    """One core on the clock, with what carries out its actions."""

    core: Core
    perform: Perform
    observe: Observe | None = None
    name: str = ""


@dataclass
class SimulatedClock:
    now: float = 0.0
    attached: list[Attached] = field(default_factory=list)
    _queue: list[tuple[float, int, Attached, Any]] = field(default_factory=list)
    _seq: itertools.count = field(default_factory=itertools.count)

    def attach(
        self, core: Core, perform: Perform, observe: Observe | None = None, name: str = ""
    ) -> Attached:
        handle = Attached(core, perform, observe, name)
        self.attached.append(handle)
        return handle

    def schedule(self, target: Attached, event: Any, at: float | None = None) -> None:
        """Deliver ``event`` to ``target`` at simulated time ``at`` (default: now)."""
        when = self.now if at is None else max(at, self.now)
        heapq.heappush(self._queue, (when, next(self._seq), target, event))

    def feed(self, target: Attached, event: Any) -> None:
        """Hand ``event`` to ``target`` now and perform what it returns."""
        if target.observe is not None:
            target.observe(event, self.now)
        target.perform(target.core.handle(event, self.now), self.now)

    def next_time(self) -> float | None:
        times = [deadline for a in self.attached if (deadline := a.core.next_deadline()) is not None]
        if self._queue:
            times.append(self._queue[0][0])
        return min(times, default=None)

    def step(self) -> bool:
        """Process everything due at the next point in time; False when nothing is left to do."""
        when = self.next_time()
        if when is None:
            return False
        self.now = max(self.now, when)
        # Queued deliveries first (they were scheduled before any timer could fire at this instant),
        # then timers, core by core in attachment order.
        while self._queue and self._queue[0][0] <= self.now:
            _, _, target, event = heapq.heappop(self._queue)
            self.feed(target, event)
        for target in list(self.attached):
            for name in target.core.due_timers(self.now):
                self.feed(target, TimerExpired(name))
        return True

    def run(
        self,
        until: float = float("inf"),
        done: Callable[[], bool] | None = None,
        max_steps: int = 2_000_000,
    ) -> float:
        """Step until ``done()`` is true, nothing is left, or the next event lies beyond ``until``.

        Returns the simulated time reached. ``max_steps`` guards a test against a core that re-arms a
        timer for ``now`` forever (RuntimeError, with the time it happened).
        """
        for _ in range(max_steps):
            if done is not None and done():
                return self.now
            when = self.next_time()
            if when is None or when > until:
                return self.now
            self.step()
        raise RuntimeError(f"simulation made no progress after {max_steps} steps at t={self.now:.6f} s")
