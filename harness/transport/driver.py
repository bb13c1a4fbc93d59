"""The asyncio driver: runs one sans-I/O core on the event loop in real time.

The I/O side (a socket reader, a raw-Ethernet endpoint, a modem) calls :meth:`CoreDriver.feed` with each
event as it happens; the driver hands it to the core with the current time and passes every returned
action to ``perform``. One loop timer is kept armed at the core's ``next_deadline()`` and
re-armed after every event; when it fires, each due timer is fed as ``TimerExpired``. Kernel
actions (:class:`StartTimer`, :class:`CancelTimer`) need nothing from ``perform``: the driver reads the
deadlines from the core itself, so ``perform`` may ignore them (or trace them).

With ``timers_from_perform``, a timer the core starts counts from the moment the driver reaches that
:class:`StartTimer`, i.e. after the actions before it (typically the request the timer guards) were carried
out, not from when the core began handling the event: the standards count "wait for the response" from the
request on the wire (ISO 15118-2 7.10.1 SDP, ISO 15118-3 SLAC timers), and encoding and sending take
milliseconds under load. The driver moves the core's own deadline (``core.timers``), so the core's table
stays the one truth.

Events fed from inside ``perform`` (a device reacting to its own action) are queued and handled after
the current batch, in order, so a core never sees an event while it is still returning actions.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.protocol.core import Core, StartTimer, TimerExpired, TimerTable

Perform = Callable[[Any], None]
Observe = Callable[[Any, float], None]


class _Released:
    """What a released driver drives: a core that wants nothing."""

    def handle(self, event: Any, now: float) -> list[Any]:
        return []

    def next_deadline(self) -> float | None:
        return None

    def due_timers(self, now: float) -> list[str]:
        return []


_RELEASED = _Released()


def _ignore(action: Any) -> None:
    pass


class CoreDriver:
    def __init__(
        self,
        core: Core,
        perform: Perform,
        *,
        clock: Callable[[], float] = time.monotonic,
        observe: Observe | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
        timers_from_perform: bool = False,
    ) -> None:
        self.core = core
        self.perform = perform
        self.clock = clock
        self.observe = observe
        self._loop = loop or asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._pending: deque[Any] = deque()
        self._busy = False
        self._closed = False
        self.timers_from_perform = timers_from_perform

    def now(self) -> float:
        return self.clock()

    def feed(self, event: Any) -> None:
        """Hand ``event`` to the core now (or right after the batch being performed)."""
        if self._closed:
            return
        self._pending.append(event)
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending and not self._closed:
                self._dispatch(self._pending.popleft())
        finally:
            self._busy = False
        self._rearm()

    def _dispatch(self, event: Any) -> None:
        now = self.clock()
        if self.observe is not None:
            self.observe(event, now)
        for action in self.core.handle(event, now):
            self.perform(action)
            if self.timers_from_perform and isinstance(action, StartTimer):
                table: TimerTable | None = getattr(self.core, "timers", None)
                if table is not None:
                    table.postpone(action.name, action.deadline, self.clock() - now)

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        deadline = self.core.next_deadline()
        if deadline is None:
            return
        delay = max(0.0, deadline - self.clock())
        self._timer = self._loop.call_at(self._loop.time() + delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        names = self.core.due_timers(self.clock())
        if not names:  # woke a hair early: the loop's clock and ours round differently
            self._rearm()
            return
        for name in names:
            self.feed(TimerExpired(name))

    def close(self) -> None:
        """Stop driving: cancel the loop timer; later events are ignored."""
        self._closed = True
        self._pending.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def release(self) -> None:
        """Close, and let go of the core and the callbacks.  The callbacks are usually closures of the
        driver's owner that reference the driver: the cycle would keep a finished session (its core, its
        record of every message) in memory until the cyclic garbage collector ran, which lifts a long-lived
        device's resident memory for hundreds of sessions before it levels off."""
        self.close()
        self.core = _RELEASED
        self.perform = _ignore
        self.observe = None
