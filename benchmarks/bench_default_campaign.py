"""Wall time of the default campaign (`vgi run` on the embedded lab), against its floor.

The floor is measured in the same run: for each scenario, the span of its own wire traffic (first to
last frame of its capture), which the protocol's timers and the DUT dictate (e.g. 50 SDP requests 250
ms apart).  Everything above it is the harness's overhead: starting the DUT, the capture and its sync
marker, decoding, reports.  Usage: .venv/bin/python benchmarks/bench_default_campaign.py [vgi run args]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(extra: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--out", str(out), *extra],
            capture_output=True,
            text=True,
        )
        wall = time.monotonic() - t0
        if not (out / "results.json").exists():
            print(proc.stdout, proc.stderr)
            return 1
        results = json.loads((out / "results.json").read_text())
        rows, floor = [], 0.0
        for scenario in results["scenarios"]:
            timeline = (
                json.loads((out / scenario["timeline"]).read_text()) if scenario.get("timeline") else []
            )
            span = (timeline[-1]["t"] - timeline[0]["t"]) if len(timeline) > 1 else 0.0
            floor += span
            rows.append((scenario["id"], scenario["verdict"], scenario["duration_s"], span))
    print(f"{'scenario':40} {'verdict':14} {'duration s':>10} {'wire span s':>11}")
    for sid, verdict, duration, span in rows:
        print(f"{sid:40} {verdict:14} {duration:10.2f} {span:11.2f}")
    print(
        f"\nwall time {wall:.1f} s for {len(rows)} scenarios (network {results['run']['network']}, "
        f"capture {results['run']['capture_backend']})"
    )
    print(f"floor (wire spans) {floor:.1f} s; wall/floor ratio {wall / floor:.2f}" if floor else "no traffic")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
