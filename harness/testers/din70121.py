"""DIN SPEC 70121 tester roles: the tester as EV against an SECC DUT, and as SECC against an EVCC DUT.

Each is the reference device's machine and physical model (built by the reference device,
:func:`harness.devices.evcc.reference_evcc` / :func:`harness.devices.secc.reference_secc`) plus fault hooks
(transforms on the machine's actions, :mod:`harness.protocol.din70121.faults`, applied by the kernel's
:class:`~harness.protocol.faults.FaultyCore`), continuing from the SDP testers' discovery. What the tester
saw is kept for its own control flow only; verdicts come from the capture.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from harness.codec.v2g.sdp import (
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
)
from harness.devices.evcc import reference_evcc
from harness.devices.models.battery import BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters
from harness.devices.secc import reference_secc
from harness.devices.settings import DeviceSettings
from harness.protocol.core import Core, MessageReceived
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.evcc import EvccConfig
from harness.protocol.din70121.events import SendMalformed, StopRequested
from harness.protocol.din70121.faults import sends
from harness.protocol.din70121.messages import message_name
from harness.protocol.din70121.profile import DIN, DcProfile
from harness.protocol.din70121.secc import SeccConfig
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault, FaultyCore, Rewrite
from harness.protocol.sdp import SDP_RESPONSE_WAIT_S
from harness.testers.sdp import SdpEvccTester, SdpSeccTester
from harness.transport.link import Link
from harness.transport.tcp import connect_tcp
from harness.transport.udp import DatagramObserver
from harness.transport.v2g import (
    ResetConnection,
    SessionOutcome,
    SessionRecord,
    V2gtpStream,
    preload_schemas,
    run_session,
)

# How many SECCDiscoveryReq the tester EV sends before it gives up (an SECC that was just started may
# miss the first); ISO 15118-2 7.10.1 allows up to 50.
DISCOVERY_ATTEMPTS = 5
# After the machine stopped, the tester keeps reading this long so the DUT's last frames (a late
# answer, its FIN) are in the capture.
LINGER_S = 0.3


def reset_connection(message: str, occurrence: int = 1) -> Fault:
    """Abort the TCP connection (RST) in place of sending the n-th ``message``."""
    window = {"after": 0, "times": None} if occurrence == 0 else {"after": occurrence - 1, "times": 1}
    return Rewrite(
        sends(message), rewrite=lambda action: ResetConnection(f"TCP reset in place of {message}"), **window
    )


@dataclass
class StopOnResponse:
    """Wraps an EVCC core: the EV's user asks to stop just before the n-th ``response`` is handled
    (e.g. a stop request during CurrentDemand). A core itself; its timers are the wrapped core's."""

    core: Core
    response: str
    occurrence: int = 1
    seen: int = 0

    def handle(self, event: Any, now: float) -> list[Any]:
        actions: list[Any] = []
        if isinstance(event, MessageReceived) and message_name(event.message) == self.response:
            self.seen += 1
            if self.seen == self.occurrence:
                actions += self.core.handle(StopRequested("stop requested by the tester"), now)
        return actions + self.core.handle(event, now)

    def next_deadline(self) -> float | None:
        return self.core.next_deadline()

    def due_timers(self, now: float) -> list[str]:
        return self.core.due_timers(now)

    def __getattr__(self, name: str) -> Any:
        # state, result, battery, ... of the wrapped machine (never our own fields: copy looks them up early)
        if name.startswith("_") or name == "core":
            raise AttributeError(name)
        return getattr(self.core, name)


@dataclass
class TesterSetup:
    """What a tester role runs with: PIXIT timings, the physical model's parameters (None: the reference
    device's), faults."""

    timings: DinTimings = field(default_factory=DinTimings)
    faults: list[Fault] = field(default_factory=list)
    battery: BatteryParameters | None = None
    start_soc: float | None = None
    evcc_config: EvccConfig = field(default_factory=EvccConfig)
    charger: ChargerParameters | None = None
    secc_config: SeccConfig = field(default_factory=SeccConfig)
    stop_on: tuple[str, int] | None = None  # (response name, occurrence) for StopOnResponse
    # Wraps the tester EV's core of each session (e.g. the grid-to-EV loop's, harness.testers.grid_loop).
    ev_wrap: Callable[[Core], Core] | None = None
    # The DC protocols the tester speaks (offers as EV, accepts as SECC); none: DIN SPEC 70121 with
    # ``timings``.
    profiles: tuple[DcProfile, ...] = ()
    # ISO 15118-2 TLS: the security the tester EV asks for in SDP, its client context for an SECC that
    # grants TLS (None: plain TCP whatever the SECC answered, on purpose), and the tester SECC's server
    # context (None: the tester SECC offers no TLS; set: it offers only TLS).
    ev_security: int = SECURITY_NONE
    ev_tls: ssl.SSLContext | None = None
    secc_tls: ssl.SSLContext | None = None
    # The message name -> EXI schema of a core that spans several schemas (ISO 15118-20's, its tester).
    message_schema: Callable[[str], str] | None = None

    @classmethod
    def from_settings(cls, settings: DeviceSettings) -> TesterSetup:
        """The setup of a lab: its DIN SPEC 70121 timers with the PIXIT overrides applied."""
        return cls(timings=DinTimings.from_lab(settings.timer))

    def preload(self) -> None:
        """Load the EXI grammars of the protocols the tester speaks before its first session."""
        preload_schemas(profile.schema for profile in self.profiles or (DIN,))

    @property
    def connect_timeout_s(self) -> float:
        # DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout (PIXIT): the tester EV's TCP connect
        # budget, as the reference EV's.
        return self.timings.evcc_communication_setup_timeout_s

    def ev_machine(self) -> FaultyCore:
        core: Core = reference_evcc(
            self.timings, self.evcc_config, self.battery, self.start_soc, self.profiles
        )
        if self.stop_on is not None:
            core = StopOnResponse(core, *self.stop_on)
        if self.ev_wrap is not None:
            core = self.ev_wrap(core)
        return FaultyCore(core, list(self.faults))

    def secc_machine(self) -> FaultyCore:
        machine = reference_secc(self.timings, self.secc_config, self.charger, self.profiles)
        return FaultyCore(machine, list(self.faults))


class DinEvTester:
    """The tester as EV: SDP discovery, then a DIN SPEC 70121 session against the SECC under test."""

    def __init__(self, link: Link, observer: DatagramObserver | None, setup: TesterSetup) -> None:
        self.link = link
        self.setup = setup
        self.sdp = SdpEvccTester(link, observer)
        self.discovered: SeccDiscoveryRes | None = None
        self.local_ports: list[int] = []
        self.outcomes: list[SessionOutcome] = []

    async def open(self) -> None:
        self.setup.preload()
        await self.sdp.open()
        self.local_ports.append(self.sdp.local_port)

    async def discover(self, attempts: int = DISCOVERY_ATTEMPTS) -> SeccDiscoveryRes | None:
        request = SeccDiscoveryReq(self.setup.ev_security, TRANSPORT_TCP)
        for _ in range(attempts):
            response = await self.sdp.discover(request, SDP_RESPONSE_WAIT_S)
            if response is not None:
                self.discovered = response
                return response
        return None

    async def charge(self, time_limit_s: float) -> SessionOutcome:
        """One session on a new connection to the discovered SECC, until it ends or ``time_limit_s``."""
        assert self.discovered is not None, "discover() first"
        tls = self.setup.ev_tls if self.discovered.security == SECURITY_TLS else None
        reader, writer = await connect_tcp(
            self.link, str(self.discovered.address), self.discovered.port, self.setup.connect_timeout_s, tls
        )
        self.local_ports.append(writer.get_extra_info("sockname")[1])
        outcome = SessionOutcome()
        self.outcomes.append(outcome)
        stream = V2gtpStream(reader, writer)
        try:
            await asyncio.wait_for(
                run_session(
                    self.setup.ev_machine(),
                    stream,
                    outcome=outcome,
                    linger_s=LINGER_S,
                    message_schema=self.setup.message_schema,
                ),
                time_limit_s,
            )
        except TimeoutError:
            stream.close()
        return outcome

    def close(self) -> None:
        self.sdp.close()


class DinSeccTester(SdpSeccTester):
    """The tester as SECC: answers SDP like the SDP tester, then serves the EVCC under test a DIN SPEC 70121
    session on the announced port (one per connection)."""

    def __init__(self, link: Link, observer: DatagramObserver | None, setup: TesterSetup) -> None:
        super().__init__(link, observer, (SECURITY_TLS,) if setup.secc_tls else (SECURITY_NONE,))
        self.setup = setup
        self.outcomes: list[SessionOutcome] = []
        self.session_done = asyncio.Event()
        self._sessions: list[asyncio.Task] = []

    async def open(self) -> None:
        self.setup.preload()
        await super().open()

    async def _on_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        # The TLS handshake comes first, before anything else awaits: a ClientHello read into the plain
        # stream's buffer meanwhile would be lost to TLS.
        refused = await self._handshake(writer) if self.setup.secc_tls is not None else None
        await super()._on_connection(reader, writer)
        outcome = SessionOutcome()
        self.outcomes.append(outcome)
        if self.setup.secc_tls is not None:
            detail = "ok" if refused is None else f"NOT OK: {refused}"
            t = asyncio.get_running_loop().time()
            outcome.records.append(SessionRecord(t, "note", "TLS handshake", None, detail))
        if refused is not None:
            outcome.closed_by_peer = True
            writer.close()
            self.session_done.set()
            return
        self._sessions.append(
            asyncio.ensure_future(self._serve_session(V2gtpStream(reader, writer), outcome))
        )

    async def _handshake(self, writer: asyncio.StreamWriter) -> str | None:
        """The TLS handshake on an accepted connection (the tester SECC offers only TLS); None when it
        succeeded, else why it failed (the EVCC refused the chain, spoke plain V2GTP...)."""
        assert self.setup.secc_tls is not None
        try:
            await writer.start_tls(self.setup.secc_tls, ssl_handshake_timeout=self.setup.connect_timeout_s)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            return str(exc) or type(exc).__name__
        return None

    async def _serve_session(self, stream: V2gtpStream, outcome: SessionOutcome) -> None:
        try:
            await run_session(
                self.setup.secc_machine(),
                stream,
                outcome=outcome,
                linger_s=LINGER_S,
                message_schema=self.setup.message_schema,
            )
        finally:
            self.session_done.set()

    async def wait_session(self, timeout: float) -> SessionOutcome | None:
        """The first session's outcome once it ended; None if it did not end within ``timeout``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.session_done.wait(), timeout)
            return self.outcomes[0]
        return None

    async def close(self) -> None:
        for task in self._sessions:
            task.cancel()
        for task in self._sessions:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await super().close()


# --- faults by name, as the feature files say them ---------------------------------------------------------


def named_fault(kind: str, message: str, occurrence: int = 1, **options: Any) -> Fault:
    """A tester fault from its feature-file wording."""
    builders: dict[str, Callable[[], Fault]] = {
        "wrong session id": lambda: din_faults.wrong_session_id(message, occurrence),
        "response code": lambda: din_faults.response_code(message, options["code"], occurrence),
        "delay": lambda: din_faults.delay(message, options["seconds"], occurrence),
        "drop": lambda: din_faults.drop(message, occurrence),
        "malformed exi": lambda: din_faults.malformed(message, occurrence, "exi-header"),
        "truncated v2gtp": lambda: Rewrite(
            sends(message),
            rewrite=lambda action: SendMalformed(action.message, "truncated-v2gtp"),
            after=occurrence - 1,
            times=1,
        ),
        "out of sequence": lambda: din_faults.out_of_sequence(
            message, options["send"], occurrence, options.get("profile", DIN)
        ),
        "emergency shutdown": lambda: din_faults.emergency_shutdown(message, occurrence),
        "isolation fault": lambda: din_faults.isolation_fault(occurrence),
        "ev error": lambda: din_faults.ev_error(message, occurrence, options["error"]),
        "stop charging": lambda: din_faults.stop_charging_request(occurrence),
        "tcp reset": lambda: reset_connection(message, occurrence),
        "body fields": lambda: din_faults.body_fields(message, options["fields"], occurrence),
    }
    if kind not in builders:
        raise ValueError(f"unknown DIN tester fault {kind!r}; known: {sorted(builders)}")
    return builders[kind]()
