"""Offline analysis: a capture's protocol-level checks, and a finished run re-judged from its captures.

`vgi analyze RUN_DIR` must reach the live run's verdicts from the captures alone: it re-reads each
scenario's capture, rebuilds the timeline and evaluates the expectations the scenario registered
(stored in results.json).  A scenario that ended before it registered any (not applicable, DUT would
not start, interrupted) has nothing in its capture to judge: its recorded verdict is carried over and
marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capture.reader import CaptureReadError, read_timeline
from capture.timeline import Timeline
from harness.scenario import judge, summarise_checks
from harness.verdict.expectations import Parties
from harness.verdict.protocol_checks import PROTOCOL_CHECKS
from harness.verdict.results import CheckResult, Results
from harness.verdict.verdicts import Verdict


def analyze_capture(path: Path) -> tuple[Timeline, list[CheckResult]]:
    timeline = read_timeline(path)
    checks = [(spec, description, requirement) for requirement, description, spec in PROTOCOL_CHECKS]
    return timeline, judge(checks, timeline, Parties(frozenset()))


@dataclass(frozen=True, slots=True)
class ReJudged:
    id: str
    verdict: Verdict
    reason: str
    live_verdict: Verdict
    from_capture: bool

    @property
    def agrees(self) -> bool:
        return self.verdict == self.live_verdict

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "live_verdict": self.live_verdict.value,
            "from_capture": self.from_capture,
        }


def analyze_run(run_dir: Path) -> list[ReJudged]:
    results = Results.load(run_dir)
    out = []
    for scenario in results.scenarios:
        decided_by_step = scenario.interrupted or any(step.status == "failed" for step in scenario.steps)
        if not scenario.checks or not scenario.evidence or decided_by_step:
            out.append(
                ReJudged(
                    scenario.id,
                    scenario.verdict,
                    f"(carried over) {scenario.reason}",
                    scenario.verdict,
                    False,
                )
            )
            continue
        try:
            timeline = read_timeline(run_dir / scenario.evidence[0].capture)
        except CaptureReadError as exc:
            out.append(ReJudged(scenario.id, Verdict.ERROR, str(exc), scenario.verdict, True))
            continue
        specs = [(c.spec, c.description, c.requirement) for c in scenario.checks]
        checks = judge(specs, timeline, Parties(frozenset(scenario.endpoints.get("tester", []))))
        verdict, reason = summarise_checks(checks)
        out.append(ReJudged(scenario.id, verdict, reason, scenario.verdict, True))
    return out
