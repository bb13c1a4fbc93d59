"""Whether a lab gets the same verdict every time from the same device: ``vgi repeatability RUN_DIR...``.

Give it several runs of one lab and selection (e.g. the default campaign five times, one after another
and in parallel).  Scenarios are matched by id.  A scenario *flips* when two runs that ran it gave
different verdicts; it was *re-run* when some run needed ``--reruns`` to reach its verdict (an attempt
before it ended differently).  Either is a defect of the scenario, of the reference device or of the
DUT, to be fixed or explained: the report lists every verdict and reason of such a scenario, run by
run, so the cause can be read without opening each run.  Runs of different lab configs or commits are
compared all the same; the header names each run's lab, commit and number of workers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness.verdict.results import Results, ScenarioResult
from harness.verdict.verdicts import Verdict
from reports.diff import load_run


@dataclass(frozen=True, slots=True)
class RunSummary:
    path: str
    lab: str
    commit: str | None
    workers: int
    started: str
    scenarios: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """One run's verdict of one scenario, with the verdicts of attempts it re-ran."""

    verdict: Verdict
    reason: str
    earlier: tuple[Verdict, ...] = ()


@dataclass(frozen=True, slots=True)
class ScenarioRecord:
    id: str
    outcomes: tuple[Outcome | None, ...]  # one per run, None where that run did not run it

    @property
    def verdicts(self) -> set[Verdict]:
        return {o.verdict for o in self.outcomes if o is not None}

    @property
    def flips(self) -> bool:
        return len(self.verdicts) > 1

    @property
    def rerun(self) -> bool:
        return any(o is not None and o.earlier for o in self.outcomes)


@dataclass(frozen=True, slots=True)
class Repeatability:
    runs: tuple[RunSummary, ...]
    scenarios: tuple[ScenarioRecord, ...]

    @property
    def flipping(self) -> list[ScenarioRecord]:
        return [s for s in self.scenarios if s.flips]

    @property
    def rerun(self) -> list[ScenarioRecord]:
        return [s for s in self.scenarios if s.rerun and not s.flips]


def _summary(path: Path, results: Results) -> RunSummary:
    run = results.run
    return RunSummary(
        str(path), run.lab.name, run.git_commit, run.workers, run.started, len(results.scenarios)
    )


def _outcome(result: ScenarioResult) -> Outcome:
    return Outcome(result.verdict, result.reason, tuple(a.verdict for a in result.earlier_attempts))


def compare_runs(paths: list[Path]) -> Repeatability:
    """Every scenario of ``paths`` (run directories) with its outcome in each (scenarios an interrupted run
    did not get to count as not run); NotARunDirectory for a path that is not one."""
    loaded = [(Path(p), load_run(Path(p))) for p in paths]
    order: dict[str, None] = {}  # first seen first
    per_run: list[dict[str, Outcome]] = []
    for _, results in loaded:
        # A scenario an interrupted run never ran says nothing about repeatability.
        ran = [r for r in results.scenarios if not r.interrupted]
        order.update(dict.fromkeys(r.id for r in ran))
        per_run.append({r.id: _outcome(r) for r in ran})
    records = tuple(ScenarioRecord(sid, tuple(run.get(sid) for run in per_run)) for sid in order)
    return Repeatability(tuple(_summary(p, r) for p, r in loaded), records)


def document(rep: Repeatability) -> dict[str, Any]:
    def outcome(o: Outcome | None) -> dict[str, Any] | None:
        if o is None:
            return None
        return {
            "verdict": o.verdict.value,
            "reason": o.reason,
            "earlier_attempts": [v.value for v in o.earlier],
        }

    def records(scenarios: list[ScenarioRecord]) -> list[dict[str, Any]]:
        return [{"id": s.id, "outcomes": [outcome(o) for o in s.outcomes]} for s in scenarios]

    return {
        "runs": [asdict(r) for r in rep.runs],
        "scenarios": len(rep.scenarios),
        "flipping": records(rep.flipping),
        "rerun": records(rep.rerun),
    }


def _cell(o: Outcome | None) -> str:
    if o is None:
        return "-"
    return "/".join([*(v.value for v in o.earlier), o.verdict.value])


def format_text(rep: Repeatability) -> str:
    lines = [f"{len(rep.runs)} run(s), {len(rep.scenarios)} scenario(s)"]
    for k, r in enumerate(rep.runs, 1):
        commit = (r.commit or "unknown")[:10]
        lines.append(
            f"  run {k}: {r.path}  lab {r.lab}, commit {commit}, {r.workers} worker(s), "
            f"{r.scenarios} scenario(s), started {r.started}"
        )
    flipping, rerun = rep.flipping, rep.rerun
    stable = len(rep.scenarios) - len(flipping)
    lines.append(
        f"{stable} scenario(s) with the same verdict in every run that ran them, {len(flipping)} flipping"
    )
    for title, records in (
        ("flipping", flipping),
        ("same verdict, but only after a re-run in some run", rerun),
    ):
        if not records:
            continue
        lines.append(f"{title}:")
        for s in records:
            lines.append(f"  {s.id}: " + " | ".join(_cell(o) for o in s.outcomes))
            for k, o in enumerate(s.outcomes, 1):
                if o is not None and (o.verdict != Verdict.PASS or o.earlier):
                    lines.append(f"    run {k}: {o.verdict.value}: {o.reason}")
    return "\n".join(lines) + "\n"
