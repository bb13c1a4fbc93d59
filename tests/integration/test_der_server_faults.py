"""`vgi run` of the DER server and EVSE-authorizer scenarios on the embedded lab with a reference device
broken on purpose: each fault turns its scenario FAIL, with the frames that prove it in the evidence."""

from __future__ import annotations

import pytest

from reports.model import Results
from tests.integration.der_fault_runs import fault_runs

pytestmark = pytest.mark.integration


# fault -> (sim role, scenario id, words the failing check's reason must contain)
FAULTS = {
    "der-server-overlapping-equal-primacy": ("pfe-server", "TC_DER_I7_001", "same primacy and creationTime"),
    "der-server-refuses-responses": ("bms", "TC_DER_I8_002", "not accepted with 201/204"),
    "der-evse-authorizes-unchecked": ("evse", "TC_DER_I5_001", "without opModEnergize false"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    with fault_runs(
        tmp_path_factory, {fault: (sid, role) for fault, (role, sid, _w) in FAULTS.items()}
    ) as started:
        yield started


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_der_server_fault_fails_its_scenario_with_frames(runs, fault):
    _role, _scenario_id, words = FAULTS[fault]
    out, future = runs[fault]
    proc = future.result()
    assert proc.returncode != 0, proc.stdout + proc.stderr
    (scenario,) = Results.load(out).scenarios
    assert scenario.verdict == "FAIL", (scenario.verdict, scenario.reason)
    failed = [c for c in scenario.checks if c.verdict == "FAIL"]
    assert any(words in c.reason and c.frames for c in failed), failed
