"""Run directories for the report tests, built in tmp dirs from the results model itself."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from capture.timeline import TimelineEvent
from harness.verdict.verdicts import Verdict
from reports.model import (
    CAPTURES_DIR,
    TIMELINES_DIR,
    CheckResult,
    DutIdentity,
    Evidence,
    LabRef,
    RequirementResult,
    Results,
    RunInfo,
    ScenarioResult,
    StepResult,
)

T0 = 1_764_100_000.0  # an arbitrary capture epoch; the report shows times relative to each scenario's start
EV, EV_PORT = "fe80::2", 50000
SECC, SECC_PORT = "fe80::1", 15118
PARTIES = {"tester": [EV], "dut": [SECC]}


def run_info(**overrides: object) -> RunInfo:
    values: dict[str, object] = {
        "harness_version": "0.1.0",
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "lab": LabRef(name="sim", file="lab_configs/sim.yaml", sha256="ab" * 32),
        "dut": DutIdentity(
            vendor="Example <Charging> & Co",
            model="DC-50",
            firmware="1.2.3",
            serial="SN-0042",
            roles=["SECC", "EVSE"],
        ),
        "started": "2026-11-25T22:00:00+00:00",
        "finished": "2026-11-25T22:05:30+00:00",
        "command": ["vgi", "run", "--lab", "sim.yaml"],
        "network": "loopback",
        "network_note": "not root, no network namespaces",
        "capture_backend": "tap",
        "capture_note": "in-process tap; no kernel timestamps",
    }
    values.update(overrides)
    return RunInfo.model_validate(values)


def event(dt: float, frame: int, src: str, dst: str, protocol: str, message: str, **kw: object) -> dict:
    ports = {EV: EV_PORT, SECC: SECC_PORT}
    kw.setdefault("sport", ports.get(src))
    kw.setdefault("dport", ports.get(dst))
    return TimelineEvent(T0 + dt, frame, src, dst, protocol, message, **kw).to_json()


HANDSHAKE = [
    event(0.000, 1, EV, SECC, "TCP", "SYN"),
    event(0.0004, 2, SECC, EV, "TCP", "SYN-ACK"),
    event(0.0010, 4, EV, SECC, "V2GTP", "SupportedAppProtocolReq"),
    event(0.0052, 5, SECC, EV, "V2GTP", "SupportedAppProtocolRes"),
    event(0.0101, 7, EV, SECC, "V2GTP", "SessionSetupReq"),
    event(0.0413, 8, SECC, EV, "V2GTP", "SessionSetupRes"),
]

DECODE_ERROR = event(
    0.0500,
    9,
    SECC,
    EV,
    "V2GTP",
    "?",
    fields={"offset": 12, "raw": "80ff"},
    error="EXI: unknown event code 0x1f at bit 96 \x01<bad>",
)


def scenario(
    sid: str,
    verdict: Verdict,
    *,
    feature: str = "interface4/session_setup.feature",
    interfaces: list[int] | None = None,
    requirements: list[str] | None = None,
    timeline: str | None = None,
    checks: list[CheckResult] | None = None,
    **overrides: object,
) -> ScenarioResult:
    values: dict[str, object] = {
        "id": sid,
        "feature": feature,
        "name": f"Scenario {sid}",
        "interfaces": [4] if interfaces is None else interfaces,
        "tags": ["@interface4", *(f"@req:{r}" for r in requirements or [])],
        "requirements": requirements or [],
        "verdict": verdict,
        "reason": f"{verdict.value} because of {sid}",
        "duration_s": 1.25,
        "started": "2026-11-25T22:00:01+00:00",
        "timeline": timeline,
        "checks": checks or [],
        "steps": [
            StepResult(keyword="Given", text="the SECC is listening", status="passed", duration_s=0.1),
            StepResult(keyword="When", text="the EVCC sends SessionSetupReq", status="passed"),
        ],
    }
    values.update(overrides)
    return ScenarioResult.model_validate(values)


def write_timeline(run_dir: Path, sid: str, events: list[dict]) -> str:
    relative = f"{TIMELINES_DIR}/{sid}.json"
    (run_dir / TIMELINES_DIR).mkdir(exist_ok=True)
    (run_dir / relative).write_text(json.dumps(events), encoding="utf-8")
    return relative


def write_capture(run_dir: Path, name: str) -> str:
    relative = f"{CAPTURES_DIR}/{name}"
    (run_dir / CAPTURES_DIR).mkdir(exist_ok=True)
    # Not a real pcapng: the reports only link and hash the file, they never parse it.
    (run_dir / relative).write_bytes(b"\x0a\x0d\x0d\x0a" + name.encode())
    return relative


REQUIREMENTS = [
    RequirementResult(
        id="DIN-V2G-DC-001",
        clause="DIN SPEC 70121 9.6.1",
        text="The SECC answers SessionSetupReq within the message timeout.",
        interfaces=[4],
        roles=["SECC"],
        scenarios=["S1", "S2"],
        verdict=None,
    ),
    RequirementResult(
        id="DIN-V2G-DC-002",
        clause="DIN SPEC 70121 9.2",
        text="The SECC rejects a second SessionSetupReq with FAILED_SequenceError.",
        interfaces=[4],
        roles=["SECC"],
        scenarios=["S3"],
    ),
    RequirementResult(
        id="SEP2-TIME-001",
        clause="IEEE 2030.5 10.3",
        text="The server publishes its Time resource.",
        interfaces=[1, 3],
        roles=["PFE"],
        scenarios=[],
    ),
]


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A finished run with all five verdicts, a decode error, a timing check and a missing timeline."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    capture = write_capture(run_dir, "s1.pcapng")
    s1_timeline = write_timeline(run_dir, "S1", HANDSHAKE)
    s2_timeline = write_timeline(run_dir, "S2", [*HANDSHAKE, DECODE_ERROR])
    timing_check = CheckResult(
        requirement="DIN-V2G-DC-001",
        spec={"kind": "response_time", "request": "SessionSetupReq", "max_s": 0.025},
        description="SessionSetupRes follows SessionSetupReq within 25 ms",
        verdict=Verdict.FAIL,
        reason="SessionSetupRes came 31.200 ms after SessionSetupReq; limit 25 ms",
        frames=[7, 8],
    )
    scenarios = [
        scenario(
            "S1",
            Verdict.PASS,
            requirements=["DIN-V2G-DC-001"],
            timeline=s1_timeline,
            endpoints=PARTIES,
            evidence=[Evidence(capture=capture, frames=[7, 8])],
            checks=[
                CheckResult(
                    requirement="DIN-V2G-DC-001",
                    spec={"kind": "response_time", "max_s": 0.025},
                    description="SessionSetupRes within 25 ms",
                    verdict=Verdict.PASS,
                    reason="answered in time",
                    frames=[7, 8],
                    measured_s=0.0312,
                )
            ],
        ),
        scenario(
            "S2",
            Verdict.FAIL,
            requirements=["DIN-V2G-DC-001"],
            timeline=s2_timeline,
            endpoints=PARTIES,
            checks=[timing_check],
            evidence=[Evidence(capture="captures/gone.pcapng", frames=[9])],
        ),
        scenario(
            "S3",
            Verdict.INCONCLUSIVE,
            requirements=["DIN-V2G-DC-002"],
            feature="interface4/sequence.feature",
            timeline=None,
        ),
        scenario(
            "S4",
            Verdict.NOT_APPLICABLE,
            feature="interface1/time.feature",
            interfaces=[1, 3],
            requirements=["SEP2-UNLISTED-9"],
            timeline="timelines/never-written.json",
        ),
        scenario(
            "S5",
            Verdict.ERROR,
            feature="interface1/time.feature",
            interfaces=[],
            name="<script>alert('x')</script>",
            steps=[
                StepResult(
                    keyword="Then",
                    text="the server answers",
                    status="failed",
                    error="Traceback: OSError: [Errno 98] address in use",
                )
            ],
        ),
    ]
    Results(run=run_info(), scenarios=scenarios, requirements=REQUIREMENTS).save(run_dir)
    return run_dir


@pytest.fixture
def interrupted_run(tmp_path: Path) -> Path:
    """A run stopped by SIGINT during its second scenario; results.json has no end time."""
    run_dir = tmp_path / "interrupted"
    run_dir.mkdir()
    s1_timeline = write_timeline(run_dir, "S1", HANDSHAKE)
    half = write_timeline(run_dir, "S2", HANDSHAKE[:3])
    scenarios = [
        scenario("S1", Verdict.PASS, timeline=s1_timeline, requirements=["DIN-V2G-DC-001"]),
        scenario("S2", Verdict.INCONCLUSIVE, timeline=half, interrupted=True, reason="interrupted by SIGINT"),
    ]
    Results(
        run=run_info(finished=None, interrupted="SIGINT"), scenarios=scenarios, requirements=REQUIREMENTS
    ).save(run_dir)
    return run_dir


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[[list[ScenarioResult], RunInfo | None], Path]:
    """Build a run directory from the given scenarios (and run info) for one-off cases."""

    def build(scenarios: list[ScenarioResult], run: RunInfo | None = None) -> Path:
        run_dir = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        run_dir.mkdir()
        Results(run=run or run_info(), scenarios=scenarios).save(run_dir)
        return run_dir

    return build


@pytest.fixture
def kit() -> SimpleNamespace:
    """The builders above, for tests that assemble their own run (fixtures cannot be imported)."""
    return SimpleNamespace(
        scenario=scenario,
        event=event,
        run_info=run_info,
        write_timeline=write_timeline,
        write_capture=write_capture,
        handshake=HANDSHAKE,
        decode_error=DECODE_ERROR,
        requirements=REQUIREMENTS,
        t0=T0,
    )
