"""The tester as an IEEE 2030.5 DER client of a server DUT: a PFE/BMS serving DER programs (interfaces
7/8) or an EVSE authorizing an EV's inverter (SAE J3072, interface 5).

It is the reference EV DER client (:func:`harness.devices.sep2.der_client.serve_ev_der`: DNS-SD or the
located server, TLS, discovery, registration, the PUTs of DERCapability/DERSettings/DERStatus/
DERAvailability, the polls, the DER event engine and its DERControlResponses, readings and text
acknowledgements), run by composition on the bench's loop with the tester's TLS context (so the
capture can be decrypted) and its own :class:`~harness.devices.models.inverter.Inverter` (the EVSE
scenarios declare non-compliant settings through it).  What its engine has seen only tells a step when
to stop waiting; verdicts come from the capture.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from harness.devices.models.inverter import Inverter
from harness.devices.sep2.common import ServerLocation, SimClock, identity
from harness.devices.sep2.der_client import EvDer, serve_ev_der
from harness.devices.settings import DeviceSettings
from harness.protocol.sep2.der_events import EventState
from harness.testers.sep2 import Sep2ClientTester, tls_client_context
from harness.transport.http import Sep2HttpClient
from harness.transport.link import Link

# How often a wait looks at what the client has seen (wall seconds).
WAIT_STEP_S = 0.05
# Bound on cancelling the client's task (it closes its connection within a second).
STOP_TIMEOUT_S = 5.0
# How long one cancellation may take before it is repeated.
CANCEL_RETRY_S = 0.2
# The engine states that show the server changed a control the client had seen.
CHANGED_STATES = frozenset(
    {EventState.CANCELLED, EventState.CANCELLED_WITH_RANDOMIZATION, EventState.SUPERSEDED}
)

_LOG = logging.getLogger(__name__)


def _log_line(text: str, error: bool = False) -> None:
    """The reference client's log lines, when the tester runs it: to the logger, not the run's console."""
    _LOG.log(logging.WARNING if error else logging.DEBUG, text)


@dataclass
class DerClientTester:
    """The reference EV DER client driven by the tester (see the module docstring)."""

    link: Link
    settings: DeviceSettings
    keylog: Path
    role: str = "ev"
    inverter: Inverter = field(default_factory=Inverter)
    der: EvDer = field(init=False)
    local_ports: set[int] = field(default_factory=set)
    server: ServerLocation | None = None
    refused: list[str] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        clock = SimClock(speedup=float(self.settings.sep2_clock_speedup))
        self.der = EvDer(
            identity(self.role, self.settings).lfdi, clock, inverter=self.inverter, say=_log_line
        )

    async def start(self) -> None:
        """Locate the server DUT (as the plain client tester does) and follow it in the background."""
        locator = Sep2ClientTester(self.link, self.settings, self.keylog, self.role)
        try:
            self.server = await locator.locate()
        except (ConnectionError, OSError) as exc:
            self.refused.append(f"locate: {exc}")
            return
        tls = tls_client_context(self.role, self.settings, self.keylog)
        self._task = asyncio.create_task(
            serve_ev_der(
                self.der, self.link, self.settings, tls=tls, server=self.server, on_connect=self._remember
            )
        )

    def _remember(self, client: Sep2HttpClient) -> None:
        writer = client._writer  # noqa: SLF001 - the local port tells tester from DUT on loopback
        sock = writer.get_extra_info("sockname") if writer is not None else None
        if sock:
            self.local_ports.add(int(sock[1]))

    async def stop(self) -> None:
        """Stop following: the session's task, then the engine's timers (they outlive sessions)."""
        if self.der.driver is not None:
            self.der.driver.close()
        if self._task is None:
            return
        task, self._task = self._task, None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_TIMEOUT_S
        # Cancel until it ends: Python 3.11's asyncio.wait_for can swallow a cancellation that lands as
        # the awaited request completes, and the client would then poll on into the next scenario.
        while not task.done() and loop.time() < deadline:
            task.cancel()
            await asyncio.wait({task}, timeout=CANCEL_RETRY_S)
        if not task.done():
            raise RuntimeError(f"the tester's DER client did not stop within {STOP_TIMEOUT_S:g} s")

    async def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` holds or ``timeout`` (wall seconds) passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            if self._task is not None and self._task.done():
                break
            await asyncio.sleep(WAIT_STEP_S)
        return bool(predicate())

    # --- what the client has seen (for waits only) ---------------------------------------------------
    def following(self) -> bool:
        """The client has polled the DER programs at least once (it registered first)."""
        return self.der.offset is not None and bool(self.der.engine.programs)

    def seen(self, states: frozenset[EventState] = CHANGED_STATES) -> list[str]:
        """mRIDs of controls the client's engine holds in one of ``states`` (by default: the server
        cancelled or superseded them)."""
        return [mrid for mrid, record in self.der.engine.records.items() if record.state in states]

    def settled(self) -> bool:
        """Every response the engine asked for has been posted."""
        return not self.der.outbox

    def server_now(self) -> float:
        return self.der.server_now()
