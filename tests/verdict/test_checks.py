"""The typed check builders produce the plain JSON specs the evaluator reads, and the requirement
ids the check modules cite are in the catalogue."""

import importlib

import pytest

from harness.plugin import cited_requirement_problems, tagged_requirement_problems
from harness.scenario import ScenarioMeta
from harness.verdict.catalogue import load_catalogue
from harness.verdict.checks import CHECK_MODULES, din70121, requirements, sdp, slac
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    UNSET,
    Fields,
    Interval,
    Item,
    NoResponse,
    Present,
    ResponseTime,
    absent,
    between,
    malformed,
    one_of,
    repeated,
    select,
    sequence,
)
from harness.verdict.checks.schema import SpecError
from harness.verdict.verdicts import Verdict


def test_selector_spec_leaves_out_what_is_not_given():
    assert select("SDP", "SECCDiscoveryReq", sender=DUT).spec() == {
        "protocol": "SDP",
        "message": "SECCDiscoveryReq",
        "from": "dut",
    }
    assert malformed(sender=TESTER).spec() == {"from": "tester", "error": True}
    assert select("TCP", "SYN", to="fe80::1", where={"dport": 5}).spec() == {
        "protocol": "TCP",
        "message": "SYN",
        "to": "fe80::1",
        "where": {"dport": 5},
    }


def test_selector_refinements():
    base = select("SLAC", "CM_SLAC_MATCH.REQ", where={"src": "a"})
    assert base.matching(RunID="01").spec()["where"] == {"src": "a", "RunID": "01"}
    assert base.sent_to("b").spec()["to"] == "b"
    assert base.spec()["where"] == {"src": "a"}  # frozen: refinements are new selectors


def test_check_specs_keep_explicit_defaults_and_omit_unset_keys():
    sel = select("SDP", "SECCDiscoveryReq")
    assert Present(sel).spec() == {"kind": "present", "select": sel.spec()}
    assert Present(sel, min=1).spec() == {"kind": "present", "select": sel.spec(), "min": 1}
    assert absent(sel, Verdict.NOT_APPLICABLE).spec() == {
        "kind": "present",
        "select": sel.spec(),
        "min": 0,
        "max": 0,
        "on_missing": "NOT_APPLICABLE",
    }
    assert Fields(sel, {"x": one_of([1, 2])}, on_missing=Verdict.FAIL).spec()["on_missing"] == "FAIL"
    assert ResponseTime(sel, sel, 0.25).spec() == {
        "kind": "response_time",
        "request": sel.spec(),
        "response": sel.spec(),
        "max_s": 0.25,
    }
    assert NoResponse(sel, sel, 0.5, until_next_request=False).spec()["until_next_request"] is False
    interval = Interval(sel, min_s=0.25, max_s=None, tolerance_s=0.001).spec()
    assert interval == {
        "kind": "interval",
        "select": sel.spec(),
        "min_s": 0.25,
        "max_s": None,
        "tolerance_s": 0.001,
    }
    assert UNSET is not None and not UNSET


def test_sequence_items():
    a, b = select("A"), select("B")
    spec = sequence(a, repeated(b), Item(a, 0, None), Item(b, 3, 3), complete=False).spec()
    assert spec == {
        "kind": "sequence",
        "pattern": [
            {"select": {"protocol": "A"}},
            {"select": {"protocol": "B"}, "min": 1, "max": None},
            {"select": {"protocol": "A"}, "min": 0, "max": None},
            {"select": {"protocol": "B"}, "min": 3, "max": 3},
        ],
        "complete": False,
    }


def test_a_builder_with_a_wrong_type_fails_when_built():
    with pytest.raises(SpecError, match="present spec: min"):
        Present(select("SDP"), min="1").spec()  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="range"):
        Fields(select("SDP"), {"x": {"range": [1, 2, 3]}}).spec()
    assert between(1, 2) == {"range": [1, 2]}


def test_protocol_helpers():
    sides = slac.SlacSides(["02:00:00:00:00:01"], None)
    assert sides.from_dut("CM_SLAC_PARM.CNF").spec()["where"] == {"src": {"ne": "02:00:00:00:00:01"}}
    assert slac.SlacSides(["t"], "d").from_dut("X").spec()["where"] == {"src": "d"}
    assert sides.from_tester("X", RunID="01").spec()["where"] == {
        "src": {"in": ["02:00:00:00:00:01"]},
        "RunID": "01",
    }
    assert din70121.din("supportedAppProtocolRes", DUT).spec()["protocol"] == "AppProtocol"
    assert din70121.din("SessionSetupRes", DUT, {}).spec() == {
        "protocol": "DIN",
        "message": "SessionSetupRes",
        "from": "dut",
    }
    assert din70121.din_fields("SessionSetupRes", ResponseCode="OK") == {
        "V2G_Message.Body.SessionSetupRes.ResponseCode": "OK"
    }
    assert sdp.discovery_request(DUT).spec() == {
        "protocol": "SDP",
        "message": "SECCDiscoveryReq",
        "from": "dut",
    }


def test_every_requirement_the_check_modules_cite_is_catalogued():
    for module in CHECK_MODULES:
        importlib.import_module(module)
    catalogue = load_catalogue()
    assert requirements.unknown_requirements(catalogue) == []
    assert cited_requirement_problems() == []
    assert set(requirements.declared()) <= set(catalogue)


def test_an_unknown_requirement_id_is_an_error_naming_the_module(monkeypatch):
    monkeypatch.setattr(requirements, "_DECLARED", {})
    requirements.requirement("SDP-SECC-01", "checks.known")
    assert requirements.requirement("SDP-SECC-99", "steps.typo") == "SDP-SECC-99"
    problems = requirements.unknown_requirements(load_catalogue())
    assert len(problems) == 1
    assert "SDP-SECC-99" in problems[0] and "steps.typo" in problems[0]
    assert cited_requirement_problems() == problems


def test_requirement_remembers_the_declaring_module(monkeypatch):
    monkeypatch.setattr(requirements, "_DECLARED", {})
    requirements.requirement("PILOT-EV-01")
    assert requirements.declared() == {"PILOT-EV-01": frozenset({__name__})}


def _meta(requirement):
    return ScenarioMeta("X-1", "x.feature", "x", [4], [], [requirement], ["secc"], [])


def test_an_unknown_req_tag_is_an_error_naming_the_scenario():
    assert tagged_requirement_problems([_meta("SDP-SECC-01")]) == []
    (problem,) = tagged_requirement_problems([_meta("SDP-SECC-99")])
    assert "X-1" in problem and "SDP-SECC-99" in problem


def test_scenario_run_stores_the_validated_spec(tmp_path):
    from harness.scenario import ScenarioRun

    run = ScenarioRun(_meta("SDP-SECC-01"), bench=None, run_dir=tmp_path)  # type: ignore[arg-type]
    run.expect(Present(sdp.discovery_request(DUT), min=1), "a request", sdp.SDP_SECC_01)
    assert run.checks == [
        (
            {
                "kind": "present",
                "select": {"protocol": "SDP", "message": "SECCDiscoveryReq", "from": "dut"},
                "min": 1,
            },
            "a request",
            "SDP-SECC-01",
        )
    ]
    with pytest.raises(SpecError, match="interval spec: min_s"):
        run.expect(Interval(sdp.discovery_request(), min_s=-1.0), "negative", sdp.SDP_EVCC_01)
    assert len(run.checks) == 1
