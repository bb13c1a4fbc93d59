"""What changed between two runs: ``vgi diff RUN_A RUN_B``, so a vendor's CI can gate a firmware change.

Scenarios are matched by id.  A verdict change is a *regression* when a scenario that was PASS or
NOT_APPLICABLE in A is FAIL, ERROR or INCONCLUSIVE in B, an *improvement* the other way round, and a
plain *change* otherwise (e.g. FAIL -> ERROR).  Answer times (see :mod:`reports.answer_times`) are
compared per message type on p50, p95 and max; one *moved* when it changed by more than the threshold
percentage and by more than the absolute floor (sub-millisecond jitter of a software bench would
otherwise move by hundreds of percent).  A move to slower is a regression only when the caller gates
on it (``fail_on_slower``): two runs of the same lab on a loaded machine differ by more than any
sensible threshold (one PreChargeRes took 5.9 ms instead of 0.8 ms), and an answer that breaks its
limit already turns its check, and so the verdict, to FAIL.

Removed and added scenarios are listed but are no regression: a different selection of scenarios is
not a worse DUT.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.verdict.results import RESULTS_FILE, Results
from harness.verdict.verdicts import Verdict
from reports.answer_times import Summary, answer_times, summarise

# A scenario regressed when it went from one of these ...
GOOD_VERDICTS = frozenset({Verdict.PASS, Verdict.NOT_APPLICABLE})
# ... to one of these.
BAD_VERDICTS = frozenset({Verdict.FAIL, Verdict.ERROR, Verdict.INCONCLUSIVE})

REGRESSION = "regression"
IMPROVEMENT = "improvement"
CHANGE = "change"

STATISTICS = ("p50", "p95", "max")


class NotARunDirectory(ValueError):
    """The path is no run directory: no results.json, or one that is not a results file."""


@dataclass(frozen=True, slots=True)
class VerdictChange:
    id: str
    before: str
    after: str
    direction: str  # REGRESSION, IMPROVEMENT or CHANGE
    reason: str  # run B's reason for its verdict


@dataclass(frozen=True, slots=True)
class TimingMove:
    statistic: str  # one of STATISTICS
    before_s: float
    after_s: float
    change_percent: float  # inf when A's value was 0
    slower: bool


@dataclass(frozen=True, slots=True)
class TimingDiff:
    message: str
    before: Summary | None  # None: no answer of this type was timed in A
    after: Summary | None
    moves: tuple[TimingMove, ...]


@dataclass(frozen=True, slots=True)
class RunDiff:
    run_a: str
    run_b: str
    dut_a: str  # vendor, model, firmware and serial of the DUT, as each run recorded it
    dut_b: str
    scenarios_a: int
    scenarios_b: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changes: tuple[VerdictChange, ...]
    timing: tuple[TimingDiff, ...]
    threshold_percent: float
    min_delta_s: float
    fail_on_slower: bool

    @property
    def verdict_regressions(self) -> tuple[VerdictChange, ...]:
        return tuple(c for c in self.changes if c.direction == REGRESSION)

    @property
    def slower(self) -> tuple[tuple[str, TimingMove], ...]:
        return tuple((t.message, m) for t in self.timing for m in t.moves if m.slower)

    @property
    def regressed(self) -> bool:
        return bool(self.verdict_regressions or (self.fail_on_slower and self.slower))


def load_run(run_dir: Path) -> Results:
    """The results of ``run_dir``; NotARunDirectory with a one-line reason when it has none."""
    path = Path(run_dir)
    if not path.is_dir():
        raise NotARunDirectory(f"{path}: not a directory")
    if not (path / RESULTS_FILE).is_file():
        raise NotARunDirectory(f"{path}: no {RESULTS_FILE} (not a run directory?)")
    try:
        return Results.load(path)
    except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise NotARunDirectory(f"{path / RESULTS_FILE}: not a results file ({first})") from exc


def direction(before: Verdict, after: Verdict) -> str:
    if before in GOOD_VERDICTS and after in BAD_VERDICTS:
        return REGRESSION
    if before in BAD_VERDICTS and after in GOOD_VERDICTS:
        return IMPROVEMENT
    return CHANGE


def _change_percent(before: float, after: float) -> float:
    if before == 0.0:
        return 0.0 if after == 0.0 else math.inf
    return (after - before) / before * 100.0


def compare_timing(
    before: dict[str, Summary], after: dict[str, Summary], threshold_percent: float, min_delta_s: float
) -> tuple[TimingDiff, ...]:
    out = []
    for message in sorted(set(before) | set(after)):
        a, b = before.get(message), after.get(message)
        moves = []
        if a is not None and b is not None:
            for statistic in STATISTICS:
                old, new = getattr(a, statistic), getattr(b, statistic)
                percent = _change_percent(old, new)
                if abs(percent) > threshold_percent and abs(new - old) > min_delta_s:
                    moves.append(TimingMove(statistic, old, new, percent, new > old))
        out.append(TimingDiff(message, a, b, tuple(moves)))
    return tuple(out)


def _dut(results: Results) -> str:
    dut = results.run.dut
    return f"{dut.vendor} {dut.model}, firmware {dut.firmware}, serial {dut.serial}"


def diff_runs(
    run_a: Path, run_b: Path, threshold_percent: float, min_delta_s: float, fail_on_slower: bool = False
) -> RunDiff:
    """Compare ``run_b`` with ``run_a``; a statistic moved when it changed by more than
    ``threshold_percent`` of A's value and by more than ``min_delta_s`` seconds."""
    a, b = load_run(run_a), load_run(run_b)
    by_a = {s.id: s for s in a.scenarios}
    by_b = {s.id: s for s in b.scenarios}
    changes = []
    for sid, scenario in by_a.items():
        other = by_b.get(sid)
        if other is not None and other.verdict != scenario.verdict:
            changes.append(
                VerdictChange(
                    sid,
                    scenario.verdict.value,
                    other.verdict.value,
                    direction(scenario.verdict, other.verdict),
                    other.reason,
                )
            )
    timing = compare_timing(
        summarise(answer_times(a, Path(run_a))),
        summarise(answer_times(b, Path(run_b))),
        threshold_percent,
        min_delta_s,
    )
    return RunDiff(
        run_a=str(run_a),
        run_b=str(run_b),
        dut_a=_dut(a),
        dut_b=_dut(b),
        scenarios_a=len(by_a),
        scenarios_b=len(by_b),
        added=tuple(sid for sid in by_b if sid not in by_a),
        removed=tuple(sid for sid in by_a if sid not in by_b),
        changes=tuple(changes),
        timing=timing,
        threshold_percent=threshold_percent,
        min_delta_s=min_delta_s,
        fail_on_slower=fail_on_slower,
    )


def _summary_json(summary: Summary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {
        "count": summary.count,
        "p50_s": summary.p50,
        "p95_s": summary.p95,
        "max_s": summary.max,
        "limits_s": list(summary.limits),
    }


def diff_document(diff: RunDiff) -> dict[str, Any]:
    """The diff as JSON-ready data (``vgi diff --json``); an infinite change is written as null."""
    return {
        "run_a": diff.run_a,
        "run_b": diff.run_b,
        "dut_a": diff.dut_a,
        "dut_b": diff.dut_b,
        "regressed": diff.regressed,
        "scenarios": {"a": diff.scenarios_a, "b": diff.scenarios_b},
        "added": list(diff.added),
        "removed": list(diff.removed),
        "verdict_changes": [
            {"id": c.id, "before": c.before, "after": c.after, "direction": c.direction, "reason": c.reason}
            for c in diff.changes
        ],
        "answer_times": {
            "threshold_percent": diff.threshold_percent,
            "min_delta_s": diff.min_delta_s,
            "slower_is_regression": diff.fail_on_slower,
            "messages": [
                {
                    "message": t.message,
                    "a": _summary_json(t.before),
                    "b": _summary_json(t.after),
                    "moved": [
                        {
                            "statistic": m.statistic,
                            "a_s": m.before_s,
                            "b_s": m.after_s,
                            "change_percent": m.change_percent if math.isfinite(m.change_percent) else None,
                            "slower": m.slower,
                        }
                        for m in t.moves
                    ],
                }
                for t in diff.timing
            ],
        },
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000.0:.1f} ms"


def _percent(value: float) -> str:
    return "new" if math.isinf(value) else f"{value:+.0f} %"


def format_text(diff: RunDiff) -> str:
    lines = [
        f"A: {diff.run_a} ({diff.scenarios_a} scenarios; {diff.dut_a})",
        f"B: {diff.run_b} ({diff.scenarios_b} scenarios; {diff.dut_b})",
    ]
    regressions = diff.verdict_regressions
    lines.append(
        f"scenarios: {len(diff.added)} added, {len(diff.removed)} removed, "
        f"{len(diff.changes)} verdict(s) changed, {len(regressions)} regression(s)"
    )
    for sid in diff.added:
        lines.append(f"  added        {sid}")
    for sid in diff.removed:
        lines.append(f"  removed      {sid}")
    for c in diff.changes:
        lines.append(f"  {c.direction:<12} {c.id}: {c.before} -> {c.after} ({c.reason})")
    moved = [t for t in diff.timing if t.moves]
    only = [t for t in diff.timing if t.before is None or t.after is None]
    lines.append(
        f"answer times: {len(diff.timing)} message type(s), {len(moved)} moved by more than "
        f"{diff.threshold_percent:g} % and {_ms(diff.min_delta_s)}"
    )
    for t in moved:
        for m in t.moves:
            word = "slower" if m.slower else "faster"
            lines.append(
                f"  {word:<12} {t.message} {m.statistic}: {_ms(m.before_s)} -> {_ms(m.after_s)} "
                f"({_percent(m.change_percent)})"
            )
    for t in only:
        side = "only in A" if t.after is None else "only in B"
        summary = t.before or t.after
        assert summary is not None
        lines.append(f"  {side:<12} {t.message} ({summary.count} answer(s), max {_ms(summary.max)})")
    if diff.regressed:
        lines.append("REGRESSED")
    elif diff.slower:
        lines.append(
            f"no regression ({len(diff.slower)} answer-time figure(s) slower, not gated: --fail-on-slower)"
        )
    else:
        lines.append("no regression")
    return "\n".join(lines) + "\n"
