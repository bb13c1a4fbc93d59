"""Runs a sans-I/O SLAC core (EV or EVSE) on a modem, on the asyncio loop: the adapter the reference
devices and the tester roles share.

The station feeds the core frames from its modem, link changes, timer expiries and events its owner
posts (Start, Stop, PilotStateChanged), passes the core's actions through a
:class:`~harness.protocol.faults.FaultInjector` (the tester's fault hooks) and performs them.  The
outcome actions (Matched, AttemptFailed, MatchFailed, LinkLost, Ignored) and TogglePilot are handed to
``on_outcome`` and recorded in ``outcomes``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol

from harness.codec.homeplug import HomePlugDecodeError, decode_slac, is_slac_frame
from harness.protocol.faults import FaultInjector
from harness.protocol.slac import (
    CancelTimer,
    EvseSlac,
    EvSlac,
    FrameReceived,
    LinkDown,
    LinkUp,
    SendFrame,
    SetKey,
    SlacEvent,
    StartTimer,
    TimerExpired,
)
from harness.transport.raw_ethernet import EthernetFrame

log = logging.getLogger(__name__)


class Modem(Protocol):
    on_frame: Callable[[EthernetFrame], None]
    on_link: Callable[[bool], None]

    def send(self, frame: bytes) -> None: ...


class SlacStation:
    def __init__(
        self,
        core: EvSlac | EvseSlac,
        modem: Modem,
        *,
        injector: FaultInjector | None = None,
        on_outcome: Callable[[object], None] | None = None,
        name: str = "station",
    ) -> None:
        self.core = core
        self.modem = modem
        self.injector = injector or FaultInjector()
        self.on_outcome = on_outcome or (lambda action: None)
        self.name = name
        self.outcomes: list[tuple[float, object]] = []
        self.changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[SlacEvent] = asyncio.Queue()
        self._timers: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None
        modem.on_frame = self._frame
        modem.on_link = lambda up: self.post(LinkUp() if up else LinkDown())

    @property
    def mac(self) -> str:
        return self.core.config.mac

    def now(self) -> float:
        return self._loop.time()

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def post(self, event: SlacEvent) -> None:
        self._inbox.put_nowait(event)

    def _frame(self, frame: EthernetFrame) -> None:
        if not is_slac_frame(frame.data):
            return
        try:
            message = decode_slac(frame.data)
        except HomePlugDecodeError as exc:
            log.info("%s: undecodable SLAC frame ignored: %s", self.name, exc)
            return
        self.post(FrameReceived(message))

    def _next_wakeup(self) -> float | None:
        times = [t for t in (*self._timers.values(), self.injector.next_release()) if t is not None]
        return min(times, default=None)

    async def _run(self) -> None:
        while True:
            wakeup = self._next_wakeup()
            timeout = None if wakeup is None else max(0.0, wakeup - self.now())
            try:
                event = await asyncio.wait_for(self._inbox.get(), timeout)
            except TimeoutError:
                event = None
            if event is not None:
                self._handle(event)
            now = self.now()
            for name, deadline in sorted(self._timers.items(), key=lambda item: item[1]):
                if deadline <= now + 1e-9 and self._timers.get(name) == deadline:
                    del self._timers[name]
                    self._handle(TimerExpired(name))
            released = self.injector.release(self.now())
            if released:
                self._perform(released)

    def _handle(self, event: SlacEvent) -> None:
        now = self.now()
        actions = self.core.handle(event, now)
        # The core builds its frames while handling (scapy takes milliseconds); a timer the standard
        # counts from the frame it goes with starts when that frame is sent, so shift the deadlines by
        # the time the handling took.
        self._perform(self.injector.transform(actions, now), self.now() - now)

    def _perform(self, actions: list[object], lag: float = 0.0) -> None:
        for action in actions:
            if isinstance(action, StartTimer):
                self._timers[action.name] = action.deadline + lag
            elif isinstance(action, CancelTimer):
                self._timers.pop(action.name, None)
            elif isinstance(action, SendFrame):
                self.modem.send(action.frame)
            elif isinstance(action, SetKey):
                self.modem.send(action.frame)
            else:
                self.outcomes.append((self.now(), action))
                log.info("%s: %s", self.name, action)
                self.on_outcome(action)
                self.changed.set()

    async def wait_for(self, kinds: tuple[type, ...], timeout: float, since: int = 0) -> object | None:
        """The first outcome of one of ``kinds`` recorded at index ``since`` or later (waiting up to
        ``timeout`` s for it), or None."""
        deadline = self.now() + timeout
        while True:
            for _, action in self.outcomes[since:]:
                if isinstance(action, kinds):
                    return action
            remaining = deadline - self.now()
            if remaining <= 0:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                return None
