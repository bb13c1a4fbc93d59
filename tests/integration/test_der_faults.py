"""Every sim fault of the reference EV DER client turns its DER scenario FAIL on the embedded lab, judged
from the decrypted capture: the failing check cites the scenario's requirement and names frames.

One `vgi run --tags id:...` per fault, on a copy of the embedded lab with the fault switched on and the
scenario's DUT role (the EV, or its telematics on interface 6) as the only one (README AC DER;
harness.devices.catalog.SIM_FAULTS)."""

from __future__ import annotations

import pytest

from harness.devices.catalog import SIM_FAULTS
from reports.model import Results
from tests.integration.der_fault_runs import fault_runs

pytestmark = pytest.mark.integration

DER_EV_FAULT_PREFIX = "der-ev-"
# fault -> (the scenario it breaks, the requirement its failing check cites, the DUT role)
SCENARIOS: dict[str, tuple[str, str, str]] = {
    "der-ev-ignores-energize": ("TC_DER_I1_007", "DER-CTL-03", "ev"),
    "der-ev-below-reserve": ("TC_DER_I1_016", "DER-EV-02", "ev"),
    "der-ev-no-responses": ("TC_DER_I1_005", "DER-RSP-01", "ev"),
    "der-ev-exports-unauthorized": ("TC_DER_I1_003", "DER-J3072-01", "ev"),
    "der-ev-ignores-maxlimw": ("TC_DER_I1_006", "DER-CTL-02", "ev"),
    "der-ev-ignores-fixedpf": ("TC_DER_I1_023", "DER-CTL-05", "ev"),
    "der-ev-ignores-voltvar": ("TC_DER_I1_026", "DER-CTL-06", "ev"),
    "der-ev-ignores-freqwatt": ("TC_DER_I1_027", "DER-CTL-07", "ev"),
    "der-ev-meter-unsigned": ("TC_DER_I9_001", "DER-METER-02", "ev"),
    "der-ev-ignores-messages": ("TC_DER_I6_001", "DER-MSG-01", "telematics"),
    "der-ev-ignores-drlc": ("TC_DER_I1_024", "DER-DRLC-01", "ev"),
    "der-ev-ignores-window": ("TC_DER_I1_025", "DER-FLOW-01", "ev"),
}

# Faults whose evidence is an absence (nothing the DUT sent to point at): no frames to name.
ABSENCES = frozenset({"der-ev-ignores-messages"})


def test_every_der_ev_fault_has_a_scenario():
    faults = {name for name in SIM_FAULTS if name.startswith(DER_EV_FAULT_PREFIX)}
    assert faults == set(SCENARIOS)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    cases = {fault: (scenario_id, role) for fault, (scenario_id, _req, role) in SCENARIOS.items()}
    with fault_runs(tmp_path_factory, cases) as started:
        yield started


@pytest.mark.parametrize("fault", sorted(SCENARIOS))
def test_der_ev_fault_fails_its_scenario(runs, fault):
    _scenario_id, requirement, _role = SCENARIOS[fault]
    out, future = runs[fault]
    proc = future.result()
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
