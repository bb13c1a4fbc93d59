"""Runs a sans-I/O SLAC core (EV or EVSE) on a modem, on the asyncio loop: the adapter the reference
devices and the tester roles share.

The core runs on the kernel's :class:`~harness.transport.driver.CoreDriver`, wrapped in a
:class:`~harness.protocol.faults.FaultyCore` whose ``injector`` takes the tester's fault hooks (delayed
frames are released through the kernel timer).  The station feeds the driver the frames its modem
hands up, the modem's link changes and the events its owner posts (Start, Stop, PilotStateChanged),
and performs the core's actions: frames and the key go to the modem; the outcomes (Matched,
AttemptFailed, MatchFailed, LinkLost, Ignored) and TogglePilot go to ``on_outcome`` and are recorded
in ``outcomes``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

from harness.codec.homeplug import HomePlugDecodeError, decode_slac, is_slac_frame
from harness.protocol.core import CancelTimer, LinkDown, LinkUp, Send, StartTimer
from harness.protocol.faults import FaultInjector, FaultyCore
from harness.protocol.slac import EvseSlac, EvSlac, SetKey, SlacEvent, frame_received
from harness.transport.driver import CoreDriver
from harness.transport.raw_ethernet import EthernetFrame

log = logging.getLogger(__name__)


class Modem(Protocol):
    on_frame: Callable[[EthernetFrame], None]
    on_link: Callable[[bool], None]

    def send(self, frame: bytes) -> None: ...


class SlacStation:
    """One SLAC core on one modem; needs the running event loop (create it inside a coroutine)."""

    def __init__(
        self,
        core: EvSlac | EvseSlac,
        modem: Modem,
        *,
        injector: FaultInjector | None = None,
        on_outcome: Callable[[object], None] | None = None,
        name: str = "station",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.core = core
        self.modem = modem
        self.faulty = FaultyCore(core)
        if injector is not None:
            self.faulty.injector = injector
        self.on_outcome = on_outcome or (lambda action: None)
        self.name = name
        self.outcomes: list[tuple[float, object]] = []
        self.changed = asyncio.Event()
        # ISO 15118-3 counts a timer from the frame it goes with; building frames (scapy) takes
        # milliseconds, so the driver counts each timer from when the frames before it were sent.
        self.driver = CoreDriver(self.faulty, self._perform, clock=clock, timers_from_perform=True)
        modem.on_frame = self._frame
        modem.on_link = lambda up: self.post(LinkUp() if up else LinkDown())

    @property
    def mac(self) -> str:
        return self.core.config.mac

    @property
    def injector(self) -> FaultInjector:
        return self.faulty.injector

    def now(self) -> float:
        return self.driver.now()

    def close(self) -> None:
        """Stop driving the core: its timers no longer fire, later events are ignored."""
        self.driver.close()

    def post(self, event: SlacEvent) -> None:
        self.driver.feed(event)

    def _frame(self, frame: EthernetFrame) -> None:
        if not is_slac_frame(frame.data):
            return
        try:
            message = decode_slac(frame.data)
        except HomePlugDecodeError as exc:
            log.info("%s: undecodable SLAC frame ignored: %s", self.name, exc)
            return
        self.post(frame_received(message))

    def _perform(self, action: Any) -> None:
        if isinstance(action, StartTimer | CancelTimer):
            pass  # the driver reads the core's deadlines from the core
        elif isinstance(action, Send):
            self.modem.send(action.message)
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
