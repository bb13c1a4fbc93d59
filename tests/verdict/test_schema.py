"""Expectation specs are validated: unknown keys and wrong types are errors naming the key and kind,
both when a spec is built and when a stored one is judged again."""

import json
from pathlib import Path

import pytest

from harness.verdict.checks.schema import KINDS, SpecError, validate_spec
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.protocol_checks import PROTOCOL_CHECKS
from harness.verdict.verdicts import Verdict

SEL = {"protocol": "SDP", "message": "SECCDiscoveryReq", "from": "dut"}
VALID = [
    {"kind": "present", "select": SEL, "min": 0, "max": None, "on_missing": "INCONCLUSIVE"},
    {"kind": "fields", "select": SEL, "where": {"a.b": {"ne": None, "range": [1, 2]}, "c": [1]}},
    {"kind": "response_time", "request": SEL, "response": SEL, "max_s": 0.25, "until_next_request": False},
    {"kind": "no_response", "request": {"error": True, "from": "tester"}, "response": SEL, "window_s": 2},
    {
        "kind": "interval",
        "select": SEL,
        "min_s": 0.25,
        "max_s": None,
        "tolerance_s": 0.001,
        "per_source": True,
    },
    {
        "kind": "sequence",
        "pattern": [{"select": SEL, "min": 1, "max": None}, {"select": {"protocol": "TCP", "to": "fe80::1"}}],
        "complete": False,
    },
]


@pytest.mark.parametrize("spec", VALID, ids=[s["kind"] for s in VALID])
def test_valid_specs_pass(spec):
    validate_spec(spec)


def test_every_kind_the_evaluator_knows_has_a_schema():
    from harness.verdict.expectations import CHECKS

    assert set(CHECKS) == set(KINDS)


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"kind": "present", "select": SEL, "mni": 1}, ["present", "'mni'"]),
        ({"kind": "interval", "select": SEL, "min": 0.2}, ["interval", "'min'"]),
        ({"kind": "present", "select": {**SEL, "form": "dut"}}, ["selector", "'form'"]),
        ({"kind": "fields", "select": SEL, "where": {"x": {"gt": 1}}}, ["operator", "'gt'"]),
        ({"kind": "sequence", "pattern": [{"select": SEL, "times": 2}]}, ["sequence item", "'times'"]),
        ({"kind": "present", "select": SEL, "min": "1"}, ["present", "min"]),
        ({"kind": "present", "select": SEL, "max": True}, ["present", "max"]),
        (
            {"kind": "response_time", "request": SEL, "response": SEL, "max_s": "1"},
            ["response_time", "max_s"],
        ),
        ({"kind": "present", "select": {**SEL, "error": "yes"}}, ["error"]),
        ({"kind": "present", "select": SEL, "on_missing": "MAYBE"}, ["on_missing"]),
        ({"kind": "fields", "select": SEL, "where": {"x": {"range": [1]}}}, ["range"]),
        ({"kind": "fields", "select": SEL}, ["fields", "missing", "'where'"]),
        ({"kind": "count", "select": SEL}, ["unknown expectation kind", "'count'"]),
    ],
)
def test_invalid_specs_name_the_key_and_kind(spec, words):
    with pytest.raises(SpecError) as error:
        validate_spec(spec)
    for word in words:
        assert word in str(error.value)


def test_a_stored_spec_with_an_unknown_key_is_judged_error_with_the_reason():
    outcome = evaluate({"kind": "present", "select": SEL, "mni": 1}, [], Parties(frozenset()))
    assert outcome.verdict == Verdict.ERROR
    assert "present spec: unknown key 'mni'" in outcome.reason


def test_protocol_checks_validate():
    for _, _, spec in PROTOCOL_CHECKS:
        validate_spec(spec)


BASELINE = Path("/tmp/baseline-run/results.json")


@pytest.mark.skipif(not BASELINE.exists(), reason="no run of the previous release on this machine")
def test_specs_written_by_the_previous_release_validate():
    results = json.loads(BASELINE.read_text(encoding="utf-8"))
    specs = [check["spec"] for scenario in results["scenarios"] for check in scenario["checks"]]
    for spec in specs:
        validate_spec(spec)
