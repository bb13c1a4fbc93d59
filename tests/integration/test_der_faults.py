"""Every sim fault of the reference EV DER client turns its DER scenario FAIL on the embedded lab, judged
from the decrypted capture: the failing check cites the scenario's requirement and names frames.

One `vgi run --tags id:...` per fault, on a copy of the embedded lab with the fault switched on and the
scenario's DUT role (the EV, or its telematics on interface 6) as the only one (README AC DER;
harness.devices.catalog.SIM_FAULTS)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness.devices.catalog import SIM_FAULTS
from reports.model import Results

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_S = 300
DER_EV_FAULT_PREFIX = "der-ev-"
# fault -> (the scenario it breaks, the requirement its failing check cites, the DUT role)
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "der-ev-ignores-energize": ("TC_DER_I1_007", "DER-CTL-03", "ev"),
    "der-ev-below-reserve": ("TC_DER_I1_016", "DER-EV-02", "ev"),
    "der-ev-no-responses": ("TC_DER_I1_005", "DER-RSP-01", "ev"),
    "der-ev-exports-unauthorized": ("TC_DER_I1_003", "DER-J3072-01", "ev"),
    "der-ev-ignores-maxlimw": ("TC_DER_I1_006", "DER-CTL-02", "ev"),
    "der-ev-ignores-fixedpf": ("TC_DER_I1_023", "DER-CTL-05", "ev"),
    "der-ev-meter-unsigned": ("TC_DER_I9_001", "DER-METER-02", "ev"),
    "der-ev-ignores-messages": ("TC_DER_I6_001", "DER-MSG-01", "telematics"),
    "der-ev-ignores-drlc": ("TC_DER_I1_024", "DER-DRLC-01", "ev"),
    "der-ev-ignores-window": ("TC_DER_I1_025", "DER-FLOW-01", "ev"),
}

# Faults whose evidence is an absence (nothing the DUT sent to point at): no frames to name.
ABSENCES = frozenset({"der-ev-ignores-messages"})


def _faulty_lab(tmp_path: Path, fault: str, role: str) -> Path:
    text = (REPO_ROOT / "lab_configs" / "sim.yaml").read_text()
    text = text.replace("name: sim", f"name: sim-{fault}")
    text = re.sub(r"(?m)^  roles: \[.*\]$", f"  roles: [{role}]", text)
    text = text.replace("  kind: sim\n", f"  kind: sim\n  faults: [{fault}]\n")
    lab = tmp_path / f"{fault}.yaml"
    lab.write_text(text)
    return lab


def test_every_der_ev_fault_has_a_scenario():
    faults = {name for name in SIM_FAULTS if name.startswith(DER_EV_FAULT_PREFIX)}
    assert faults == set(SCENARIOS)


@pytest.mark.parametrize("fault", sorted(SCENARIOS))
def test_der_ev_fault_fails_its_scenario(tmp_path, fault):
    scenario_id, requirement, role = SCENARIOS[fault]
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "run",
            "--out",
            str(out),
            "--lab",
            str(_faulty_lab(tmp_path, fault, role)),
            "--tags",
            f"id:{scenario_id}",
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.verdict == "FAIL", (fault, scenario.verdict, scenario.reason)
    failed = [c for c in scenario.checks if c.verdict == "FAIL"]
    cited = [c for c in failed if c.requirement == requirement]
    assert cited, (fault, [(c.requirement, c.reason) for c in failed])
    if fault in ABSENCES:
        # What the fault removes is not in the capture at all: the check says what is missing.
        assert any("no " in c.reason and "in the capture" in c.reason for c in cited), fault
    else:
        assert any(c.frames for c in cited), (fault, [c.reason for c in cited])
    # The scenario's reason is its first failing check's description and reason (harness.scenario).
    assert scenario.reason == f"{failed[0].description}: {failed[0].reason}"
