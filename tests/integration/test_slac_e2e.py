"""`vgi run` of SLAC and pilot scenarios on the embedded lab: both roles over the emulated modems and
the simulated pilot, verdicts from the capture, and `vgi analyze` agreeing with the live run."""

import json
import os
import subprocess
import sys

import pytest

from capture.reader import read_timeline
from reports.model import Results

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="SLAC needs raw Ethernet between network namespaces (root)"),
]

# One scenario per role and protocol, including a negative one and the cable bundle: ~15 s.
SELECTION = (
    "id:TC_SLAC_EVSE_001 or id:TC_SLAC_EVSE_005 or id:TC_SLAC_EV_010 or id:TC_SLAC_EV_004"
    " or id:TC_PILOT_EVSE_002 or id:TC_PILOT_EV_001"
)


@pytest.fixture(scope="module")
def slac_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("slac") / "run"
    proc = subprocess.run(
        # One bench: the sounding and pilot timers are tens of milliseconds, and CI runs the unit tests
        # beside this on a 2-core machine (the SLAC EVSE checks make a tester that falls behind its own
        # TP_EV_batch_msg_interval INCONCLUSIVE, not the EVSE's FAIL; this test wants verdicts).
        [sys.executable, "-m", "harness.cli", "run", "--interface", "2", "--interface", "5",
         "--tags", SELECTION, "--out", str(out), "--jobs", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    return out, proc


def test_slac_and_pilot_scenarios_pass_in_both_roles(slac_run):
    out, proc = slac_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = Results.load(out)
    assert len(results.scenarios) == 6
    for scenario in results.scenarios:
        assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
    assert {"dut:ev", "dut:evse"} <= {t for s in results.scenarios for t in s.tags}


def test_the_capture_holds_slac_pilot_and_ip_on_one_timeline(slac_run):
    out, _ = slac_run
    results = Results.load(out)
    scenario = next(s for s in results.scenarios if s.id == "TC_PILOT_EVSE_002")
    events = read_timeline(out / scenario.evidence[0].capture)
    protocols = [e.protocol for e in events]
    assert "PILOT" in protocols and "SLAC" in protocols
    first_slac = protocols.index("SLAC")
    assert protocols.index("PILOT") < first_slac  # the pilot offered 5 % before SLAC began
    names = [e.message for e in events if e.protocol == "SLAC"]
    assert names[0] == "CM_SLAC_PARM.REQ" and "CM_SLAC_MATCH.CNF" in names


def test_analyze_agrees_with_the_live_run(slac_run):
    out, _ = slac_run
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", "--json", str(out)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    judged = {s["id"]: s["verdict"] for s in json.loads(proc.stdout)["scenarios"]}
    assert judged == {s.id: s.verdict.value for s in Results.load(out).scenarios}
