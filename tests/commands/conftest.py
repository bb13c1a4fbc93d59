"""Run directories for the command tests: a results.json with the given verdicts, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from harness.verdict.results import DutIdentity, LabRef, Results, RunInfo, ScenarioResult
from harness.verdict.verdicts import Verdict


def write_run(path: Path, verdicts: dict[str, Verdict]) -> Path:
    path.mkdir(parents=True)
    run = RunInfo(
        harness_version="0.1.0",
        lab=LabRef(name="sim", file="sim.yaml", sha256="00" * 32),
        dut=DutIdentity(vendor="v", model="m", firmware="1", serial="SN-7", roles=["secc"]),
        started="2026-12-01T00:00:00+00:00",
        network="loopback",
        capture_backend="tap",
    )
    scenarios = [
        ScenarioResult(
            id=sid,
            feature="f.feature",
            name=sid,
            interfaces=[4],
            tags=[],
            requirements=[],
            verdict=v,
            reason=v.value,
        )
        for sid, v in verdicts.items()
    ]
    Results(run=run, scenarios=scenarios).save(path)
    return path


@pytest.fixture
def results_run(tmp_path: Path) -> Callable[[str, dict[str, Verdict]], Path]:
    return lambda name, verdicts: write_run(tmp_path / name, verdicts)
