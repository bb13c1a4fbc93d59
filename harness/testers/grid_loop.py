"""The tester EV of the grid-to-EV loop (interfaces 3 + 4): one ISO 15118-2 SAE J2847/2 V2G session with
the DC charger under test, run in the background while the tester's PFE publishes a DER control.

The session is the DIN/ISO 15118-2 tester EV's (:class:`~harness.testers.din70121.DinEvTester`, the
reference EV's machine and pack) with its core wrapped by :class:`LoopEvCore`, which tells when energy
transfer began (the first CurrentDemandRes) and, once asked, makes the EV's user stop at the next
CurrentDemandRes (the normal shutdown: PowerDelivery stop, welding detection, SessionStop).  What the
tester sees only tells it when to act; verdicts come from the capture.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from harness.protocol.core import Core, MessageReceived
from harness.protocol.din70121.events import StopRequested
from harness.protocol.din70121.messages import message_name
from harness.testers.din70121 import DinEvTester
from harness.transport.v2g import SessionOutcome

ENERGY_TRANSFER_RESPONSE = "CurrentDemandRes"
USER_STOP = "the tester's user stops charging: the grid-to-EV loop is over"


@dataclass
class LoopEvCore:
    """The tester EV's core, watched: ``transferring`` is set at the first CurrentDemandRes; once
    ``stop_requested`` is true, the next CurrentDemandRes comes with the user's StopRequested."""

    core: Core
    transferring: asyncio.Event
    stop_requested: bool = False
    stopped: bool = False

    def handle(self, event: Any, now: float) -> list[Any]:
        actions: list[Any] = []
        if isinstance(event, MessageReceived) and message_name(event.message) == ENERGY_TRANSFER_RESPONSE:
            self.transferring.set()
            if self.stop_requested and not self.stopped:
                self.stopped = True
                actions += self.core.handle(StopRequested(USER_STOP), now)
        return actions + self.core.handle(event, now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def due_timers(self, now: float) -> list[str]:
        return self.core.due_timers(now)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in ("core", "transferring", "stop_requested", "stopped"):
            raise AttributeError(name)
        return getattr(self.core, name)


@dataclass
class GridLoopEv:
    """Runs the tester EV's session in the background on the bench's loop (all methods are coroutines
    the bench runs)."""

    tester: DinEvTester
    cores: list[LoopEvCore] = field(default_factory=list)
    task: asyncio.Task[SessionOutcome] | None = None
    transferring: asyncio.Event | None = None

    def _wrap(self, core: Core) -> Core:
        assert self.transferring is not None
        wrapped = LoopEvCore(core, self.transferring)
        self.cores.append(wrapped)
        return wrapped

    async def start(self, time_limit_s: float) -> None:
        """Open the session (connection, then the machine's messages) and return at once."""
        self.transferring = asyncio.Event()
        self.tester.setup.ev_wrap = self._wrap
        self.task = asyncio.ensure_future(self.tester.charge(time_limit_s))

    async def wait_transfer(self, timeout_s: float) -> bool:
        """True once energy transfer began; False if the session ended first or ``timeout_s`` passed."""
        assert self.task is not None and self.transferring is not None
        began = asyncio.ensure_future(self.transferring.wait())
        try:
            await asyncio.wait({began, self.task}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            began.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await began
        return self.transferring.is_set() and not self.task.done()

    async def cancel(self) -> None:
        """End the session now if it still runs (a scenario that stopped early)."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task

    async def finish(self) -> SessionOutcome:
        """Ask the EV's user to stop and wait for the session's end (its own time limit bounds it)."""
        assert self.task is not None
        for core in self.cores:
            core.stop_requested = True
        return await self.task
