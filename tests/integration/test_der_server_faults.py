"""`vgi run` of the DER server and EVSE-authorizer scenarios on the embedded lab with a reference device
broken on purpose: each fault turns its scenario FAIL, with the frames that prove it in the evidence."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from reports.model import Results

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300

# fault -> (sim role, scenario id, words the failing check's reason must contain)
FAULTS = {
    "der-server-overlapping-equal-primacy": ("pfe-server", "TC_DER_I7_001", "same primacy and creationTime"),
    "der-server-refuses-responses": ("bms", "TC_DER_I8_002", "not accepted with 201/204"),
    "der-evse-authorizes-unchecked": ("evse", "TC_DER_I5_001", "without opModEnergize false"),
}


def _faulty_lab(tmp_path: Path, role: str, fault: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{fault}")
    text = re.sub(r"(?m)^  roles: \[.*\]$", f"  roles: [{role}]", text)
    text = text.replace("  kind: sim\n", f"  kind: sim\n  faults: [{fault}]\n")
    lab = tmp_path / f"{fault}.yaml"
    lab.write_text(text)
    return lab


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_der_server_fault_fails_its_scenario_with_frames(tmp_path, fault):
    role, scenario_id, words = FAULTS[fault]
    out = tmp_path / "run"
    lab = _faulty_lab(tmp_path, role, fault)
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--lab", str(lab), "--out", str(out)]
        + ["--tags", f"id:{scenario_id}"],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.verdict == "FAIL", (scenario.verdict, scenario.reason)
    failed = [c for c in scenario.checks if c.verdict == "FAIL"]
    assert any(words in c.reason and c.frames for c in failed), failed
