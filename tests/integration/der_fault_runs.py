"""Runs of one DER scenario each on a copy of the embedded lab with one sim fault switched on and one
DUT role, started together: each has a bench of its own and mostly waits on the sped-up lab clock."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300
# Fault runs at a time.
CONCURRENT_RUNS = 4


def faulty_lab(directory: Path, fault: str, role: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{fault}")
    text = re.sub(r"(?m)^  roles: \[.*\]$", f"  roles: [{role}]", text)
    text = text.replace("  kind: sim\n", f"  kind: sim\n  faults: [{fault}]\n")
    lab = directory / f"{fault}.yaml"
    lab.write_text(text)
    return lab


def _run(out: Path, lab: Path, scenario_id: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "harness.cli", "run", "--out", str(out), "--lab", str(lab)]
    return subprocess.run(
        argv + ["--tags", f"id:{scenario_id}"], capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )


@contextmanager
def fault_runs(
    factory: pytest.TempPathFactory, cases: dict[str, tuple[str, str]]
) -> Iterator[dict[str, tuple[Path, Future[subprocess.CompletedProcess[str]]]]]:
    """``cases``: fault -> (scenario id, DUT role); yields fault -> (run directory, its run's future)."""
    with ThreadPoolExecutor(max_workers=CONCURRENT_RUNS) as pool:
        runs = {}
        for fault, (scenario_id, role) in sorted(cases.items()):
            tmp = factory.mktemp(fault)
            runs[fault] = (
                tmp / "run",
                pool.submit(_run, tmp / "run", faulty_lab(tmp, fault, role), scenario_id),
            )
        yield runs
