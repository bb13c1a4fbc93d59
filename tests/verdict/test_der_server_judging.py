"""The DER server check kinds judge synthetic decrypted timelines (the tester as client, the DUT as
server): each passes a correct server and fails a broken one, naming the frames."""

from __future__ import annotations

from typing import Any

from harness.verdict.checks import der_server as ds
from harness.verdict.expectations import evaluate
from harness.verdict.verdicts import Verdict
from tests.verdict.der_timelines import PARTIES, POLL, S0, SPEEDUP, ServerTimeline, served_control

MRID_A = "A" * 32
MRID_B = "B" * 32
PREFIX = "J3072 authorization refused: "


def judge(check: Any, timeline: ServerTimeline) -> Any:
    return evaluate(check.spec(), timeline.events, PARTIES)


# --- der_server_programs ---


def _tree(
    *controls: dict[str, Any], primacy: Any = 10, default: bool = True, curve: bool = True
) -> ServerTimeline:
    tl = ServerTimeline()
    tl.time(S0)
    tl.programs(S0, primacy=primacy, default=default)
    if default:
        tl.default(S0, "/derp/2", opModFreqWatt={"href": "/derp/2/dc/1"}, opModMaxLimW={"value": 10000})
    tl.controls(S0 + 1, "/derp/2", *controls)
    if curve:
        tl.curve(S0 + 2, "/derp/2/dc/1")
    return tl


def test_a_well_formed_tree_passes():
    tl = _tree(
        served_control(MRID_A, S0 + 240, 1200), served_control(MRID_B, S0 + 240, 1200, created=S0 + 60)
    )
    outcome = judge(ds.DerServerPrograms(), tl)
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_overlapping_controls_of_equal_primacy_and_creation_time_fail_with_the_frame():
    tl = _tree(served_control(MRID_A, S0 + 240, 1200), served_control(MRID_B, S0 + 600, 600))
    outcome = judge(ds.DerServerPrograms(), tl)
    assert outcome.verdict == Verdict.FAIL
    assert MRID_A in outcome.reason and MRID_B in outcome.reason and "opModFixedW" in outcome.reason
    assert outcome.frames


def test_overlap_for_different_modes_or_after_a_cancellation_passes():
    other_mode = served_control(MRID_B, S0 + 240, 1200, opModEnergize="false")
    assert (
        judge(ds.DerServerPrograms(), _tree(served_control(MRID_A, S0 + 240, 1200), other_mode)).verdict
        == Verdict.PASS
    )
    cancelled = served_control(MRID_B, S0 + 240, 1200, status=2)
    assert (
        judge(ds.DerServerPrograms(), _tree(served_control(MRID_A, S0 + 240, 1200), cancelled)).verdict
        == Verdict.PASS
    )


def test_a_missing_primacy_default_curve_or_duration_fails():
    cases = {
        "primacy": _tree(served_control(MRID_A, S0, 600), primacy=None),
        "DefaultDERControl": _tree(served_control(MRID_A, S0, 600), default=False),
        "DERCurve": _tree(served_control(MRID_A, S0, 600), curve=False),
        "duration 0": _tree(served_control(MRID_A, S0, 0)),
    }
    for word, tl in cases.items():
        outcome = judge(ds.DerServerPrograms(), tl)
        assert outcome.verdict == Verdict.FAIL and word in outcome.reason, (word, outcome.reason)


def test_no_program_is_the_missing_verdict():
    tl = ServerTimeline()
    tl.time(S0)
    assert judge(ds.DerServerPrograms(on_missing=Verdict.INCONCLUSIVE), tl).verdict == Verdict.INCONCLUSIVE


# --- der_server_writes ---


def test_writes_answered_201_or_204_pass_and_a_refusal_fails_with_its_frames():
    tl = ServerTimeline()
    tl.write(S0, "POST", "/rsps/2/rsp", "DERControlResponse", 201)
    assert judge(ds.DerServerWrites(ds.RESPONSE_WRITES), tl).verdict == Verdict.PASS
    request, answer = tl.write(S0 + 5, "POST", "/rsps/2/rsp", "DERControlResponse", 400)
    outcome = judge(ds.DerServerWrites(ds.RESPONSE_WRITES), tl)
    assert outcome.verdict == Verdict.FAIL and "400" in outcome.reason
    assert set(outcome.frames) == {request, answer}


def test_no_write_is_the_missing_verdict():
    tl = ServerTimeline()
    tl.write(S0, "PUT", "/edev/1/der/1/ders", "DERStatus", 204)
    outcome = judge(ds.DerServerWrites(ds.DER_WRITES, on_missing=Verdict.INCONCLUSIVE), tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE and "DERCapability" in outcome.reason


# --- der_server_change ---


def _changed(served_at: int, since: int, *, revert: bool = False) -> ServerTimeline:
    tl = ServerTimeline()
    tl.time(S0)
    tl.programs(S0)
    tl.controls(S0 + 10, "/derp/2", served_control(MRID_A, S0 + 240, 1200))
    tl.time(served_at)
    tl.controls(served_at, "/derp/2", served_control(MRID_A, S0 + 240, 1200, status=2, since=since))
    if revert:
        tl.controls(served_at + POLL, "/derp/2", served_control(MRID_A, S0 + 240, 1200, status=1))
    return tl


def test_a_cancellation_served_at_the_next_poll_passes():
    outcome = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 400, S0 + 350))
    assert outcome.verdict == Verdict.PASS, outcome.reason


def test_a_cancellation_served_late_or_reverted_fails():
    late = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 700, S0 + 350))
    assert late.verdict == Verdict.FAIL and "after its status dateTime" in late.reason
    reverted = judge(ds.DerServerChange(SPEEDUP, slack_s=30.0), _changed(S0 + 400, S0 + 350, revert=True))
    assert reverted.verdict == Verdict.FAIL and "live again" in reverted.reason


def test_no_change_is_the_missing_verdict():
    tl = ServerTimeline()
    tl.time(S0)
    tl.programs(S0)
    tl.controls(S0, "/derp/2", served_control(MRID_A, S0 + 240, 1200))
    outcome = judge(ds.DerServerChange(SPEEDUP, on_missing=Verdict.INCONCLUSIVE), tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE


# --- der_authorization ---


def _authorization(before: str, after: str, texts: tuple[str, ...] = ()) -> ServerTimeline:
    tl = ServerTimeline()
    tl.time(S0)
    tl.default(S0, "/derp/1", opModEnergize=before)
    tl.write(S0 + 10, "PUT", "/edev/1/der/1/dercap", "DERCapability", 204)
    tl.write(S0 + 11, "PUT", "/edev/1/der/1/derg", "DERSettings", 204)
    tl.default(S0 + 130, "/derp/1", opModEnergize=after)
    tl.texts(S0 + 131, *texts)
    return tl


def _auth(outcome: str) -> ds.DerAuthorization:
    return ds.DerAuthorization("/derp/1", outcome, PREFIX)


def test_authorization_after_the_settings_passes_and_before_them_fails():
    assert judge(_auth(ds.AUTHORIZED), _authorization("false", "true")).verdict == Verdict.PASS
    early = judge(_auth(ds.AUTHORIZED), _authorization("true", "true"))
    assert early.verdict == Verdict.FAIL and "before the EV's settings" in early.reason
    never = judge(_auth(ds.AUTHORIZED), _authorization("false", "false"))
    assert never.verdict == Verdict.FAIL and "never carries opModEnergize true" in never.reason


def test_a_refusal_needs_a_reason_and_no_authorization():
    good = judge(_auth(ds.REFUSED), _authorization("false", "false", (PREFIX + "setMaxW too high",)))
    assert good.verdict == Verdict.PASS, good.reason
    silent = judge(_auth(ds.REFUSED), _authorization("false", "false", (PREFIX,)))
    assert silent.verdict == Verdict.FAIL and "reason" in silent.reason
    granted = judge(_auth(ds.REFUSED), _authorization("false", "true", (PREFIX + "x",)))
    assert granted.verdict == Verdict.FAIL and "authorized" in granted.reason


def test_authorization_not_looked_at_before_the_settings_is_the_missing_verdict():
    tl = ServerTimeline()
    tl.time(S0)
    tl.write(S0 + 10, "PUT", "/edev/1/der/1/dercap", "DERCapability", 204)
    tl.write(S0 + 11, "PUT", "/edev/1/der/1/derg", "DERSettings", 204)
    tl.default(S0 + 130, "/derp/1", opModEnergize="true")
    check = ds.DerAuthorization("/derp/1", ds.AUTHORIZED, PREFIX, on_missing=Verdict.INCONCLUSIVE)
    outcome = judge(check, tl)
    assert outcome.verdict == Verdict.INCONCLUSIVE and "before the EV's settings" in outcome.reason
