"""The asyncio driver: runs one sans-I/O core on the event loop in real time.

The I/O side (a socket reader, a raw-Ethernet endpoint, a modem) calls :meth:`CoreDriver.feed` with each
event as it happens; the driver hands it to the core with the current time and passes every returned
action to ``perform``. One loop timer is kept armed at the core's ``next_deadline()`` and
re-armed after every event; when it fires, each due timer is fed as ``TimerExpired``. Kernel
actions (:class:`StartTimer`, :class:`CancelTimer`) need nothing from ``perform``: the driver reads the
deadlines from the core itself, so ``perform`` may ignore them (or trace them).

Events fed from inside ``perform`` (a device reacting to its own action) are queued and handled after
the current batch, in order, so a core never sees an event while it is still returning actions.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from harness.protocol.core import Core, TimerExpired

Perform = Callable[[Any], None]
Observe = Callable[[Any, float], None]


class CoreDriver:
    def __init__(
        self,
        core: Core,
        perform: Perform,
        *,
        clock: Callable[[], float] = time.monotonic,
        observe: Observe | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
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
