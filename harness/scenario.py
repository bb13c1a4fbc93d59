"""One scenario's run: its capture, the DUT, the tester objects, the expectations its Then steps
register, and the verdict derived from the captured timeline."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from capture.keylog import keylog_for
from capture.live import LiveCapture
from capture.reader import CaptureReadError, read_timeline
from capture.timeline import TimelineEvent
from harness.bench import Bench
from harness.dut.adapters import DutStartError
from harness.transport.udp import TrafficObserver
from harness.verdict.checks.common import Check
from harness.verdict.checks.schema import validate_spec
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.results import (
    ATTEMPTS_DIR,
    CAPTURES_DIR,
    LOGS_DIR,
    TIMELINES_DIR,
    CheckResult,
    EarlierAttempt,
    Evidence,
    ScenarioResult,
    StepResult,
)
from harness.verdict.verdicts import Inconclusive, NotApplicable, Verdict, combine

if TYPE_CHECKING:
    from harness.testers.der_client import DerClientTester
    from harness.testers.din70121 import DinEvTester, DinSeccTester, TesterSetup
    from harness.testers.grid_loop import GridLoopEv
    from harness.testers.sdp import SdpEvccTester, SdpSeccTester
    from harness.testers.sep2 import Sep2ClientTester, Sep2ServerTester
    from harness.testers.slac import SlacEvseTester, SlacEvTester
    from harness.transport.v2g import SessionOutcome


PROTOCOL_TAG = "protocol:"


@dataclass
class ScenarioMeta:
    id: str
    feature: str
    name: str
    interfaces: list[int]
    tags: list[str]
    requirements: list[str]
    roles: list[str]
    pics: list[str]

    @property
    def protocols(self) -> list[str]:
        """The protocols the scenario exercises (its @protocol tags, the feature's included)."""
        return [tag.removeprefix(PROTOCOL_TAG) for tag in self.tags if tag.startswith(PROTOCOL_TAG)]

    def result(self, verdict: Verdict, reason: str, **details: Any) -> ScenarioResult:
        """This scenario's result record, identity filled in from the feature file."""
        return ScenarioResult(
            id=self.id,
            feature=self.feature,
            name=self.name,
            interfaces=self.interfaces,
            tags=self.tags,
            requirements=self.requirements,
            verdict=verdict,
            reason=reason,
            **details,
        )


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def safe_name(scenario_id: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in scenario_id)


# --- what earlier steps of a scenario learned, for later ones: one small record per protocol ---------

T = TypeVar("T")


def required(value: T | None, what: str) -> T:
    """``value``, which an earlier step of the scenario sets up (``what`` names it): a missing one is
    a feature or step bug, reported as a harness error."""
    if value is None:
        raise RuntimeError(f"no {what} in this scenario (an earlier step is missing)")
    return value


@dataclass
class SlacState:
    """The SLAC tester of the scenario and what the matching showed about the DUT."""

    ev: SlacEvTester | None = None
    evse: SlacEvseTester | None = None
    tester_macs: list[str] = field(default_factory=list)
    dut_mac: str | None = None  # the DUT's MAC once it took part in SLAC
    run_ids: list[str] = field(default_factory=list)  # every RunID of the session, hex, in order
    link_up: bool = False  # the PLC link came up after the match (whole-stack scenarios)

    @property
    def tester(self) -> SlacEvTester | SlacEvseTester:
        return required(self.ev or self.evse, "SLAC tester")

    def learn_run_id(self, run_id: str) -> None:
        if run_id not in self.run_ids:
            self.run_ids.append(run_id)


@dataclass
class DinState:
    """The DIN SPEC 70121 tester of the scenario, its setup (faults, stop point) and the sessions."""

    setup: TesterSetup | None = None
    ev: DinEvTester | None = None
    secc: DinSeccTester | None = None
    outcomes: list[SessionOutcome] = field(default_factory=list)
    grid_loop: GridLoopEv | None = None  # the tester EV's background session of the grid-to-EV loop


@dataclass
class SdpState:
    evcc: SdpEvccTester | None = None
    secc: SdpSeccTester | None = None
    observed_s: float | None = None  # how long the tester EVCC watched for answers
    announced_port: int | None = None  # the V2G port the tester SECC announced


@dataclass
class Sep2State:
    server: Sep2ServerTester | None = None
    client: Sep2ClientTester | None = None
    dut_role: str | None = None  # the client role under test (EV, EVSE, ...)
    dr_mrid: str | None = None  # the mRID of the DR event the tester published


@dataclass
class DerState:
    """What a DER scenario published on the tester's DER site, by the names the feature gives them."""

    controls: dict[str, str] = field(default_factory=dict)  # control name -> mRID
    ends: dict[str, int] = field(default_factory=dict)  # control name -> latest end (server time)
    starts: dict[str, int] = field(default_factory=dict)  # control name -> latest start (server time)
    poll_rate_s: int | None = None  # a pollRate the scenario changed to (server seconds)
    messages: list[str] = field(default_factory=list)  # mRIDs of the site's TextMessages
    client: DerClientTester | None = None  # the tester as DER client of a server DUT


@dataclass
class PilotRecord:
    nominal_duty_percent: float | None = None  # the nominal duty cycle the tester EVSE offered


@dataclass
class ScenarioRun:
    meta: ScenarioMeta
    bench: Bench
    run_dir: Path
    capture: LiveCapture | None = None
    checks: list[tuple[dict[str, Any], str, str | None]] = field(default_factory=list)
    steps: list[StepResult] = field(default_factory=list)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    started: str = field(default_factory=utc_now)
    t0: float = field(default_factory=time.monotonic)
    dut_started: bool = False
    result: ScenarioResult | None = None
    slac: SlacState = field(default_factory=SlacState)
    din: DinState = field(default_factory=DinState)
    sdp: SdpState = field(default_factory=SdpState)
    sep2: Sep2State = field(default_factory=Sep2State)
    der: DerState = field(default_factory=DerState)
    pilot: PilotRecord = field(default_factory=PilotRecord)
    tester_ports: set[int] = field(default_factory=set)

    @property
    def capture_path(self) -> Path:
        return self.run_dir / CAPTURES_DIR / f"{safe_name(self.meta.id)}.pcapng"

    @property
    def keylog_path(self) -> Path:
        """The NSS key log of the tester's TLS endpoints, beside the capture (capture/tls_http.py)."""
        return keylog_for(self.capture_path)

    @property
    def observer(self) -> TrafficObserver | None:
        """The traffic observer for tester transports: the tap when it is the capture backend."""
        return getattr(self.capture, "writer", None)

    def claim_port(self, port: int) -> None:
        """A port the tester sends from or listens on, so the verdict can tell tester from DUT where
        they share an address (loopback)."""
        self.tester_ports.add(port)

    @property
    def parties(self) -> Parties:
        endpoints = {f"[{self.bench.link.address}]:{port}" for port in self.tester_ports}
        return Parties(frozenset(self.bench.tester_addresses) | endpoints)

    def timer(self, name: str) -> float:
        """A protocol timer by its registry name, as the lab's PIXIT sets it (seconds)."""
        return self.bench.lab.config.pixit.timer(name)

    @property
    def capture_jitter_s(self) -> float:
        """The capture's timestamp jitter (PIXIT): lower time bounds are loosened by it."""
        return self.bench.lab.config.pixit.capture_jitter_s

    def expect(self, check: Check, description: str, requirement: str | None = None) -> None:
        """Register a check (a typed builder of :mod:`harness.verdict.checks`); its spec is validated
        now, so a malformed one fails the step that built it."""
        spec = check.spec()
        validate_spec(spec)
        self.checks.append((spec, description, requirement))

    def start_dut(self, role: str, service: str | None = None) -> None:
        """Start (or, for an external DUT, prompt for) the DUT in ``role``; a sim role's ``service``
        picks which of its reference devices runs."""
        log = self.run_dir / LOGS_DIR / f"{safe_name(self.meta.id)}-dut.log"
        self.dut_started = True
        try:
            self.bench.dut.start(role, log, service)
        except DutStartError as exc:
            raise Inconclusive(str(exc)) from None

    def finish(self, error: BaseException | None, interrupted: str | None = None) -> ScenarioResult:
        """Stop everything, judge from the capture, and record the result (once)."""
        if self.result is not None:
            return self.result
        notes: list[str] = []
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - a failing cleanup must not lose the verdict
                notes.append(f"cleanup failed: {exc}")
        if self.dut_started:
            self.bench.dut.stop()
        if self.capture is not None:
            self.capture.stop()
            if getattr(self.capture, "note", None):
                notes.append(self.capture.note)
        timeline: list[TimelineEvent] = []
        timeline_rel: str | None = None
        if self.capture is not None and self.capture_path.exists():
            try:
                timeline = read_timeline(self.capture_path)
            except CaptureReadError as exc:
                notes.append(str(exc))
            timeline_path = self.run_dir / TIMELINES_DIR / f"{safe_name(self.meta.id)}.json"
            timeline_path.parent.mkdir(parents=True, exist_ok=True)
            timeline_path.write_text(json.dumps([e.to_json() for e in timeline], indent=1), encoding="utf-8")
            timeline_rel = timeline_path.relative_to(self.run_dir).as_posix()
        parties = self.parties
        check_results = judge(self.checks, timeline, parties)
        verdict, reason = self._verdict(error, check_results, interrupted)
        frames = sorted({f for c in check_results for f in c.frames})
        evidence = []
        if self.capture is not None and self.capture_path.exists():
            evidence.append(
                Evidence(capture=self.capture_path.relative_to(self.run_dir).as_posix(), frames=frames)
            )
        if notes:
            reason += " (" + "; ".join(notes) + ")"
        self.result = self.meta.result(
            verdict,
            reason,
            duration_s=round(time.monotonic() - self.t0, 3),
            started=self.started,
            evidence=evidence,
            steps=self.steps,
            checks=check_results,
            timeline=timeline_rel,
            endpoints={"tester": sorted(parties.tester)},
            interrupted=interrupted is not None,
        )
        return self.result

    def set_aside(self, attempt: int) -> EarlierAttempt:
        """Keep this finished attempt's artifacts (capture, key log, timeline, logs) under
        ``attempts/<scenario>/<attempt>/`` so that the next attempt writes fresh ones, and say what it
        was."""
        assert self.result is not None, "set_aside before finish"
        name = safe_name(self.meta.id)
        moved = []
        for directory in (CAPTURES_DIR, TIMELINES_DIR, LOGS_DIR):
            source = self.run_dir / directory
            if not source.is_dir():
                continue
            for path in sorted(source.iterdir()):
                if path.is_file() and path.name.startswith((f"{name}.", f"{name}-")):
                    target = self.run_dir / ATTEMPTS_DIR / name / str(attempt) / directory / path.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    path.replace(target)
                    moved.append(target.relative_to(self.run_dir).as_posix())
        return EarlierAttempt(
            verdict=self.result.verdict,
            reason=self.result.reason,
            started=self.result.started,
            duration_s=self.result.duration_s,
            artifacts=moved,
        )

    def _verdict(
        self, error: BaseException | None, checks: list[CheckResult], interrupted: str | None
    ) -> tuple[Verdict, str]:
        if interrupted:
            return Verdict.INCONCLUSIVE, f"run interrupted by {interrupted} during this scenario"
        if isinstance(error, NotApplicable):
            return Verdict.NOT_APPLICABLE, str(error)
        if isinstance(error, Inconclusive):
            return Verdict.INCONCLUSIVE, str(error)
        if isinstance(error, AssertionError):
            return Verdict.FAIL, str(error) or "a step's assertion failed"
        if error is not None:
            return Verdict.ERROR, f"harness error: {type(error).__name__}: {error}"
        if not checks:
            return Verdict.ERROR, "the scenario registered no checks (a feature or step bug)"
        return summarise_checks(checks)


def summarise_checks(checks: list[CheckResult]) -> tuple[Verdict, str]:
    """A scenario's verdict and reason from its checks: the worst check decides and explains, except
    that a tester precondition not met makes it INCONCLUSIVE (the DUT's failures may be its consequence);
    a harness ERROR still comes first."""
    verdict = combine([c.verdict for c in checks])
    unmet = [c for c in checks if c.spec.get("precondition") and c.verdict == Verdict.INCONCLUSIVE]
    if unmet and verdict != Verdict.ERROR:
        return Verdict.INCONCLUSIVE, f"{unmet[0].description}: {unmet[0].reason}"
    if verdict == Verdict.PASS:
        return verdict, f"all {len(checks)} checks passed"
    worst = next(c for c in checks if c.verdict == verdict)
    return verdict, f"{worst.description}: {worst.reason}"


def tester_precondition_unmet(result: ScenarioResult) -> bool:
    """Whether ``result`` is INCONCLUSIVE because a check of the tester's own conduct was not met (what
    `vgi run --reruns` runs again): every step ran (no step gave up on the DUT), so the DUT is not to
    blame, and another attempt may meet it."""
    return (
        result.verdict == Verdict.INCONCLUSIVE
        and not result.interrupted
        and all(step.status == "passed" for step in result.steps)
        and any(c.spec.get("precondition") and c.verdict == Verdict.INCONCLUSIVE for c in result.checks)
    )


def judge(
    checks: list[tuple[dict[str, Any], str, str | None]], timeline: list[TimelineEvent], parties: Parties
) -> list[CheckResult]:
    """Evaluate registered expectations; shared by the live run and `vgi analyze RUN_DIR`."""
    return [
        evaluate(spec, timeline, parties).result(spec, description, requirement)
        for spec, description, requirement in checks
    ]
