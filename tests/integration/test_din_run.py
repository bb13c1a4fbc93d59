"""`vgi run` of the DIN SPEC 70121 full-session scenarios on the embedded lab, good and broken on purpose."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from reports.model import Results

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


def _run(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--out", str(out), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def _faulty_lab(tmp_path: Path, role: str, fault: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{fault}").replace("roles: [secc, evcc]", f"roles: [{role}]")
    text = text.replace("  kind: sim\n", f"  kind: sim\n  faults: [{fault}]\n")
    lab = tmp_path / f"{fault}.yaml"
    lab.write_text(text)
    return lab


def test_full_session_passes_in_both_roles_and_analyze_agrees(tmp_path):
    out = tmp_path / "run"
    proc = _run(out, "--tags", "full_session and protocol:din70121")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scenarios = Results.load(out).scenarios
    assert {s.id for s in scenarios} == {"TC_DIN_SECC_001", "TC_DIN_EVCC_001"}
    for scenario in scenarios:
        assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
        assert scenario.evidence and len(scenario.evidence[0].frames) > 20, scenario.id
    analyzed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    assert all(s["from_capture"] and s["verdict"] == "PASS" for s in json.loads(analyzed.stdout)["scenarios"])


def test_slow_current_demand_fails_with_the_measured_time(tmp_path):
    out = tmp_path / "run"
    proc = _run(
        out, "--lab", str(_faulty_lab(tmp_path, "secc", "din-slow-current-demand")), "--tags", "full_session"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (scenario,) = [s for s in Results.load(out).scenarios if s.id == "TC_DIN_SECC_001"]
    assert scenario.verdict == "FAIL"
    failed = [c for c in scenario.checks if c.verdict == "FAIL"]
    assert [c.requirement for c in failed] == ["DIN-SECC-TIME-01"]
    assert "limit 25.0 ms" in failed[0].reason and failed[0].frames


def test_evcc_with_foreign_session_id_fails(tmp_path):
    out = tmp_path / "run"
    proc = _run(
        out, "--lab", str(_faulty_lab(tmp_path, "evcc", "din-ev-wrong-session-id")), "--tags", "full_session"
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (scenario,) = [s for s in Results.load(out).scenarios if s.id == "TC_DIN_EVCC_001"]
    assert scenario.verdict == "FAIL"
    assert "DIN-EVCC-02" in {c.requirement for c in scenario.checks if c.verdict == "FAIL"}
