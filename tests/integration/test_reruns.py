"""`vgi run --reruns`: a scenario INCONCLUSIVE because the tester's own conduct missed a precondition runs
again; the report keeps every attempt and its artifacts.  The tester is made to miss it every time: the
lab's PIXIT sets TP_EV_batch_msg_interval to 60 ms, over the 50 ms ISO 15118-3 Table A.1 allows, so the
precondition of "the EVSE completes the matching sequence" (the tester's own sounding pace) fails."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lab_configs import DEFAULT_LAB
from reports.model import Results

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root to make network namespaces"
    ),
]

# A SLAC EVSE scenario with that precondition (about 2 s an attempt against the reference EVSE).
SCENARIO = "TC_SLAC_EVSE_001"
# Guard against a hung run, not a performance limit.
RUN_GUARD_S = 300


def _slow_sounding_lab(path: Path) -> Path:
    data = yaml.safe_load(DEFAULT_LAB.read_text(encoding="utf-8"))
    data["name"] = "slow-sounding"
    data["pixit"]["timers"]["TP_EV_batch_msg_interval"] = {
        "value_s": 0.06,
        "clause": "ISO 15118-3 Table A.1",
        "reason": "over the 50 ms allowed: the tester misses its own precondition",
    }
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _run(lab: Path, out: Path, reruns: int) -> Results:
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "--out", str(out), "--jobs", "1"]
        + ["--tags", f"id:{SCENARIO}", "--reruns", str(reruns)],
        capture_output=True,
        text=True,
        timeout=RUN_GUARD_S,
    )
    assert (out / "results.json").exists(), done.stdout + done.stderr
    return Results.load(out)


def test_a_tester_precondition_missed_runs_again_and_keeps_the_earlier_attempt(tmp_path: Path) -> None:
    lab = _slow_sounding_lab(tmp_path / "lab.yaml")
    out = tmp_path / "run"
    results = _run(lab, out, reruns=2)
    assert results.run.reruns == 2
    (scenario,) = results.scenarios
    assert scenario.verdict.value == "INCONCLUSIVE", scenario.reason
    assert "tester precondition not met" in scenario.reason
    assert len(scenario.earlier_attempts) == 2
    for number, attempt in enumerate(scenario.earlier_attempts, start=1):
        assert "tester precondition not met" in attempt.reason
        assert f"attempts/{SCENARIO}/{number}/captures/{SCENARIO}.pcapng" in attempt.artifacts
        assert all((out / artifact).is_file() for artifact in attempt.artifacts)
    # The last attempt's own evidence is where a single attempt's would be, and it re-judges the same.
    assert (out / "captures" / f"{SCENARIO}.pcapng").is_file()
    analyze = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", str(out)], capture_output=True, text=True
    )
    assert analyze.returncode == 0, analyze.stdout + analyze.stderr
    page = (out / "scenarios" / f"{SCENARIO}.html").read_text(encoding="utf-8")
    assert page.count('class="earlier-attempt"') == 2


def test_no_reruns_reports_the_first_attempt(tmp_path: Path) -> None:
    lab = _slow_sounding_lab(tmp_path / "lab.yaml")
    results = _run(lab, tmp_path / "run", reruns=0)
    (scenario,) = results.scenarios
    assert scenario.verdict.value == "INCONCLUSIVE"
    assert scenario.earlier_attempts == []
    assert not (tmp_path / "run" / "attempts").exists()
