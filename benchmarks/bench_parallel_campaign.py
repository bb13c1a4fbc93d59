"""The default campaign on parallel benches (`vgi run --jobs N`) against the same campaign run one
scenario at a time (`--jobs 1`), both in this run.

Reports for each: wall time, the sum of the scenarios' own durations, and wall / sum (the issue's goal
for --jobs auto on 2 cores: at most 30 %); then what parallel load changes: scenarios whose verdict
differs between the two runs (must be none), and the answer times per message type (p50, p95, max)
sequential against parallel, as `vgi diff` compares them.  The reference devices answer on a busier
machine, so their answer times grow; the table says by how much, and against which limit.

Usage: .venv/bin/python benchmarks/bench_parallel_campaign.py [--jobs N] [--repeat K] [vgi run args]
(--repeat runs each mode K times and reports scenarios whose verdict ever changed.)
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from harness.commands.run import AUTO_JOBS
from harness.verdict.results import Results
from reports.diff import diff_runs


def _run(out: Path, jobs: int, extra: list[str]) -> tuple[float, Results]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--out", str(out), "--jobs", str(jobs), *extra],
        capture_output=True,
        text=True,
    )
    wall = time.monotonic() - t0
    if not (out / "results.json").exists():
        sys.exit(f"--jobs {jobs}: no results\n{proc.stdout}\n{proc.stderr}")
    return wall, Results.load(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=AUTO_JOBS)
    parser.add_argument("--repeat", type=int, default=1)
    args, extra = parser.parse_known_args()
    verdicts: dict[str, set[str]] = defaultdict(set)
    flips: dict[str, list[str]] = defaultdict(list)
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        pairs = []
        for attempt in range(args.repeat):
            pair = []
            for jobs in (1, args.jobs):
                out = Path(tmp) / f"run-{attempt}-j{jobs}"
                print(f"run {attempt + 1}/{args.repeat}, --jobs {jobs} ...", file=sys.stderr, flush=True)
                wall, results = _run(out, jobs, extra)
                total = sum(s.duration_s for s in results.scenarios)
                rows.append((attempt + 1, jobs, len(results.scenarios), wall, total, results.summary()))
                for s in results.scenarios:
                    verdicts[s.id].add(s.verdict.value)
                    flips[s.id].append(f"j{jobs}:{s.verdict.value}")
                pair.append(out)
            pairs.append(pair)
        print("| run | jobs | scenarios | wall s | sum of durations s | wall / sum | verdicts |")
        print("|---:|---:|---:|---:|---:|---:|---|")
        for attempt, jobs, n, wall, total, summary in rows:
            shown = ", ".join(f"{c} {v}" for v, c in summary.items() if c)
            print(f"| {attempt} | {jobs} | {n} | {wall:.1f} | {total:.1f} | {wall / total:.0%} | {shown} |")
        changed = {sid: seen for sid, seen in flips.items() if len(verdicts[sid]) > 1}
        print(f"\nscenarios whose verdict changed between any two runs: {len(changed)}")
        for sid, seen in sorted(changed.items()):
            print(f"- {sid}: {', '.join(seen)}")
        sequential, parallel = pairs[0]
        diff = diff_runs(sequential, parallel, threshold_percent=0.0, min_delta_s=0.0)
        print("\n| answer | limit ms | p50 ms j1 -> jN | p95 ms j1 -> jN | max ms j1 -> jN |")
        print("|---|---:|---:|---:|---:|")
        for timing in diff.timing:
            if timing.before is None or timing.after is None:
                continue
            cells = [
                f"{getattr(timing.before, s) * 1e3:.1f} -> {getattr(timing.after, s) * 1e3:.1f}"
                for s in ("p50", "p95", "max")
            ]
            limit = f"{min(timing.before.limits) * 1e3:.0f}" if timing.before.limits else "-"
            print(f"| {timing.message} | {limit} | " + " | ".join(cells) + " |")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
