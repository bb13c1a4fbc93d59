"""The grid-to-EV loop's sim fault turns its scenario FAIL on the embedded lab, judged from the one capture
of both links: the reference DC charger answers its DER control but never asks the EV to discharge
(``der-dcpc-ignores-control``), so the loop's demand, latency and metering checks fail naming the
CurrentDemandRes and readings that show it, while its DERControlResponses still pass (README "Grid-to-EV
loop")."""

from __future__ import annotations

import pytest

from harness.devices.catalog import SIM_FAULTS
from reports.model import Results
from tests.integration.der_fault_runs import fault_runs

pytestmark = pytest.mark.integration

FAULT = "der-dcpc-ignores-control"
SCENARIO = "TC_DER_I3_001"
FAILING = {"DER-DCPC-01", "DER-DCPC-02", "DER-DCPC-03"}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    with fault_runs(tmp_path_factory, {FAULT: (SCENARIO, "dc-charger")}) as started:
        yield started[FAULT]


def test_the_fault_is_a_sim_fault():
    assert FAULT in SIM_FAULTS


def test_a_dcpc_that_ignores_the_control_fails_the_loop_with_frames(run):
    out, future = run
    proc = future.result()
    assert proc.returncode != 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.verdict == "FAIL", (scenario.verdict, scenario.reason)
    by_requirement = {c.requirement: c for c in scenario.checks}
    for requirement in FAILING:
        check = by_requirement[requirement]
        assert check.verdict == "FAIL", (requirement, check.reason)
        assert check.frames, (requirement, check.reason)
    # The DER side of the DCPC still works: it answers the control as scheduled.
    assert by_requirement["DER-RSP-01"].verdict == "PASS", by_requirement["DER-RSP-01"].reason
