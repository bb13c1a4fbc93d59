"""The grid-to-EV loop's latency over N runs of TC_DER_I3_001 on the embedded lab (issue 11, Done when).

Each run is a real `vgi run --tags id:TC_DER_I3_001`: the tester's PFE publishes a discharge control to
the reference DCPC (IEEE 2030.5 over TLS, interface 3) while the tester EV charges from it (ISO 15118-2
with SAE J2847/2 V2G, interface 4).  From each run's capture (its timeline and the scenario's tester
endpoints in results.json, as `vgi analyze` reads them) the bench measures, with the loop judge's own
readers (:mod:`harness.verdict.der_grid_loop`):

* the loop latency: the server time of the DCPC's first CurrentDemandRes asking for discharge, minus the
  control's effective start, in lab seconds and in wall seconds (lab seconds / speedup);
* the baseline, measured in the same capture: the median CurrentDemand cycle (the gap between two
  CurrentDemandRes before the control, wall seconds), and the DERProgramList pollRate.

The latency is reported as a share of the poll period (where the control falls in the DCPC's polling
decides most of it: it learns of a control published after its last poll only at its next one) and in
CurrentDemand cycles (what the SECC side adds once it knows: at most the EV's next request), next to the
bound DER-DCPC-02 judges against (one pollRate + 3 cycles).

    flock /tmp/vgi-integration.lock .venv/bin/python benchmarks/bench_grid_loop.py [--runs 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from capture.timeline import TimelineEvent
from harness.verdict.der_grid_loop import DEFAULT_CYCLES, demands
from harness.verdict.der_timeline import published, server_clock
from harness.verdict.expectations import Parties
from reports.model import Results

SCENARIO = "TC_DER_I3_001"
RUN_TIMEOUT_S = 300


def _run(out: Path) -> str:
    """Run the scenario into ``out``; the end of its output, for a run that left no results."""
    argv = [sys.executable, "-m", "harness.cli", "run", "--out", str(out), "--tags", f"id:{SCENARIO}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return (proc.stdout + proc.stderr).strip()[-300:]


def measure(out: Path) -> dict[str, float] | str:
    """One run's latency and baseline, or why it has none."""
    if not (out / "results.json").exists():
        return "no results.json"
    (scenario,) = Results.load(out).scenarios
    if scenario.verdict != "PASS":
        return f"{scenario.verdict}: {scenario.reason}"
    spec = next(c.spec for c in scenario.checks if c.spec.get("kind") == "der_grid_loop")
    speedup = float(spec["speedup"])
    events = [TimelineEvent.from_json(e) for e in json.loads((out / scenario.timeline).read_text())]
    parties = Parties(frozenset(scenario.endpoints.get("tester", [])))
    clock = server_clock(events, speedup)
    assert clock is not None
    seen = published(events, clock)
    start = float(seen.controls[spec["control"]].start)
    loop = demands(events, clock, parties)
    before = [d for d in loop if d.at < start]
    cycle_wall = statistics.median(b.t - a.t for a, b in zip(before, before[1:], strict=False))
    first = next(d for d in loop if d.at >= start and d.discharge)
    poll = float(seen.poll_rate or 0)
    return {
        "latency_s": first.at - start,
        "latency_wall_s": (first.at - start) / speedup,
        "cycle_wall_s": cycle_wall,
        "poll_s": poll,
        "bound_s": poll + DEFAULT_CYCLES * cycle_wall * speedup,
        "speedup": speedup,
    }


def _quantiles(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
    return f"min {values[0]:.3f}  median {statistics.median(values):.3f}  p90 {p90:.3f}  max {values[-1]:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None, help="where the runs go (default: a temp dir)")
    args = parser.parse_args()
    base = args.out or Path(tempfile.mkdtemp(prefix="bench-grid-loop-"))
    rows, failed = [], []
    for i in range(args.runs):
        out = base / f"run-{i:02d}"
        said = _run(out)
        result = measure(out)
        if result == "no results.json":
            result = f"the run left no results: {said}"
        if isinstance(result, str):
            failed.append(f"run {i}: {result}")
        else:
            rows.append(result)
        shown = result if isinstance(result, str) else f"latency {result['latency_wall_s']:.3f} s wall"
        print(f"run {i:2d}: {shown}")
    if not rows:
        print("no run passed:", *failed, sep="\n  ")
        return 1
    cycle = statistics.median(r["cycle_wall_s"] for r in rows)
    poll_wall = statistics.median(r["poll_s"] / r["speedup"] for r in rows)
    print(f"\n{len(rows)} of {args.runs} runs measured ({len(failed)} without a PASS): {base}")
    print(f"baseline: CurrentDemand cycle median {cycle * 1000:.1f} ms wall; pollRate {poll_wall:.3f} s wall")
    print(f"loop latency, wall s:     {_quantiles([r['latency_wall_s'] for r in rows])}")
    print(f"  in CurrentDemand cycles: {_quantiles([r['latency_wall_s'] / cycle for r in rows])}")
    print(f"  share of the poll period: {_quantiles([r['latency_s'] / r['poll_s'] for r in rows])}")
    print(f"  share of the DER-DCPC-02 bound: {_quantiles([r['latency_s'] / r['bound_s'] for r in rows])}")
    for line in failed:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
