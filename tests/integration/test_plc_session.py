"""`vgi run --tags plc` on the embedded lab: the whole DC stack on one PLC link in both roles (pilot,
SLAC, SDP and DIN SPEC 70121 on one capture), `vgi analyze` agreeing, and the layers in order on the
timeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reports.model import Results

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="SLAC needs raw Ethernet between network namespaces (root)"),
]

SCENARIOS = {"TC_PLC_SECC_001", "TC_PLC_EVCC_001"}
# The layers in the order a real session goes through them; the V2G layer shows on the timeline as
# decoded supportedAppProtocol/DIN messages or, undecoded, as V2GTP.
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("PILOT", frozenset({"PILOT"})),
    ("SLAC", frozenset({"SLAC"})),
    ("SDP", frozenset({"SDP"})),
    ("V2GTP", frozenset({"V2GTP", "AppProtocol", "DIN"})),
)


@pytest.fixture(scope="module")
def plc_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("plc") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", "run", "--tags", "plc", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return out, proc


def test_both_roles_pass_and_analyze_agrees(plc_run):
    out, proc = plc_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scenarios = Results.load(out).scenarios
    assert {s.id for s in scenarios} == SCENARIOS
    for scenario in scenarios:
        assert scenario.verdict == "PASS", (scenario.id, scenario.reason)
        order = [c for c in scenario.checks if c.requirement == "PLC-SESSION-01"]
        assert order and order[0].verdict == "PASS" and order[0].frames, scenario.id
    analyzed = subprocess.run(
        [sys.executable, "-m", "harness.cli", "analyze", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert analyzed.returncode == 0, analyzed.stdout + analyzed.stderr
    judged = json.loads(analyzed.stdout)["scenarios"]
    assert {s["id"] for s in judged} == SCENARIOS
    assert all(s["from_capture"] and s["verdict"] == "PASS" for s in judged)


def test_timeline_has_pilot_then_slac_then_sdp_then_v2g(plc_run):
    out, _ = plc_run
    for scenario in Results.load(out).scenarios:
        assert scenario.timeline, scenario.id
        events = json.loads((Path(out) / scenario.timeline).read_text())
        first: dict[str, float] = {}
        for layer, protocols in LAYERS:
            times = [e["t"] for e in events if e["protocol"] in protocols and not e.get("error")]
            assert times, f"{scenario.id}: no {layer} event on the timeline"
            first[layer] = min(times)
        names = [layer for layer, _ in LAYERS]
        assert [first[n] for n in names] == sorted(first[n] for n in names), (scenario.id, first)
        assert len(set(first.values())) == len(names), (scenario.id, first)
        # The V2G layer only starts once SLAC has finished: no IP message of the session before the match.
        match_cnf = min(e["t"] for e in events if e["message"] == "CM_SLAC_MATCH.CNF")
        assert first["SDP"] > match_cnf, scenario.id


def test_order_check_fails_when_ip_runs_before_the_link(plc_run):
    """The registered order expectation, evaluated again over the real timeline with its SDP exchange
    moved in front of SLAC (as a device that skipped the link would show it), no longer passes."""
    from capture.timeline import TimelineEvent
    from harness.verdict.expectations import Parties, evaluate
    from harness.verdict.verdicts import Verdict

    out, _ = plc_run
    for scenario in Results.load(out).scenarios:
        (check,) = [c for c in scenario.checks if c.requirement == "PLC-SESSION-01"]
        events = [TimelineEvent.from_json(e) for e in json.loads((Path(out) / scenario.timeline).read_text())]
        parties = Parties(frozenset())
        assert evaluate(check.spec, events, parties).verdict is Verdict.PASS, scenario.id
        sdp = [e for e in events if e.protocol == "SDP"]
        first_slac = next(i for i, e in enumerate(events) if e.protocol == "SLAC")
        rest = [e for e in events if e.protocol != "SDP"]
        early = rest[:first_slac] + sdp + rest[first_slac:]
        outcome = evaluate(check.spec, early, parties)
        assert outcome.verdict is Verdict.FAIL and "unexpected order" in outcome.reason, scenario.id
