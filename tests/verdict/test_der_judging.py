"""The DER check kinds judge synthetic decrypted timelines: each passes a correct client and fails a
wrong one, naming the frames."""

from __future__ import annotations

from typing import Any

import pytest

from harness.verdict.checks.schema import SpecError, validate_spec
from harness.verdict.der_timeline import control_from_dict, mode_value, published, server_clock
from harness.verdict.expectations import evaluate
from harness.verdict.verdicts import Verdict
from tests.verdict.der_timelines import (
    PARTIES,
    REPLY_TO,
    S0,
    SPEEDUP,
    ClientTimeline,
    control,
    time_period,
    wall,
)

MRID_A = "A" * 31 + "1"
MRID_B = "B" * 31 + "2"


def judge(spec: dict[str, Any], timeline: ClientTimeline) -> Any:
    validate_spec(spec)
    return evaluate(spec, timeline.events, PARTIES)


def responses_spec(**extra: Any) -> dict[str, Any]:
    return {"kind": "der_responses", "speedup": SPEEDUP, "slack_s": 30.0, **extra}


def scheduled(*, required: int = 3) -> ClientTimeline:
    """A control from S0+600 for 600 s, published at S0+60."""
    timeline = ClientTimeline()
    timeline.time(S0)
    timeline.programs(S0 + 50, ("/derp/1", 0), ("/derp/2", 1))
    timeline.controls(S0 + 60, "/derp/2", control(MRID_A, S0 + 600, 600, required=required))
    return timeline


def test_server_time_comes_from_the_time_responses():
    timeline = ClientTimeline()
    timeline.time(S0)
    timeline.time(S0 + 1200)
    clock = server_clock(timeline.events, SPEEDUP)
    assert clock is not None
    assert clock.at(wall(S0 + 300)) == pytest.approx(S0 + 300)
    assert clock.at(wall(S0 + 1300)) == pytest.approx(S0 + 1300)
    assert server_clock([], SPEEDUP) is None


def test_the_published_schedule_is_rebuilt_from_the_bodies():
    timeline = scheduled()
    clock = server_clock(timeline.events, SPEEDUP)
    assert clock is not None
    seen = published(timeline.events, clock)
    assert seen.poll_rate == 120
    assert seen.first_seen[MRID_A][0] == 6
    at, snapshot = seen.inputs[-1]
    assert at == pytest.approx(S0 + 60)
    assert [p.primacy for p in snapshot.programs] == [0, 1]
    (listed,) = snapshot.controls
    assert (listed.program, listed.start, listed.duration, int(listed.response_required)) == (
        "/derp/2",
        S0 + 600,
        600,
        3,
    )


def test_mode_values_from_the_capture_form():
    assert mode_value("false") is False
    assert mode_value({"disabled": "false", "multiplier": 1, "value": 300}) == 3000
    assert mode_value({"href": "/derp/1/dc/1", "disabled": "false"}) == "/derp/1/dc/1"
    assert mode_value({"disabled": "false", "value": 5000}) == 5000
    assert (
        mode_value({"disabled": "false"}) is None
    )  # the capture lost the text of an element with attributes
    hexed = control_from_dict({"mRID": "0A", "responseRequired": "0A", "interval": {}}, "/derp/1")
    assert hexed.mrid == "0" * 30 + "0A" and int(hexed.response_required) == 0x02


def test_responses_as_the_schedule_calls_for_pass():
    timeline = scheduled()
    timeline.response(S0 + 62, MRID_A, 1)
    timeline.response(S0 + 600, MRID_A, 2)
    timeline.response(S0 + 1200, MRID_A, 3)
    timeline.time(S0 + 1300)
    outcome = judge(responses_spec(published=[MRID_A]), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    assert "1/2/3" in outcome.reason


def test_a_missing_completed_response_fails():
    timeline = scheduled()
    timeline.response(S0 + 62, MRID_A, 1)
    timeline.response(S0 + 600, MRID_A, 2)
    timeline.time(S0 + 1300)
    outcome = judge(responses_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL
    assert "status 3" in outcome.reason and "never posted" in outcome.reason
    assert outcome.frames == (6,)  # where the control was published


def test_a_response_outside_its_window_fails_naming_its_frame():
    timeline = scheduled()
    timeline.response(S0 + 62, MRID_A, 1)
    early = timeline.response(S0 + 300, MRID_A, 2)
    timeline.response(S0 + 1200, MRID_A, 3)
    timeline.time(S0 + 1300)
    outcome = judge(responses_spec(), timeline)
    assert outcome.verdict == Verdict.FAIL
    assert f"frame {early}" in outcome.reason and early in outcome.frames


def test_no_response_is_allowed_when_none_is_required():
    quiet = scheduled(required=0)
    quiet.time(S0 + 1300)
    assert judge(responses_spec(), quiet).verdict == Verdict.PASS
    chatty = scheduled(required=0)
    frame = chatty.response(S0 + 62, MRID_A, 1)
    chatty.time(S0 + 1300)
    outcome = judge(responses_spec(), chatty)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)


def test_a_published_control_the_dut_never_read_fails():
    timeline = scheduled()
    outcome = judge(responses_spec(published=[MRID_B]), timeline)
    assert outcome.verdict == Verdict.FAIL and "never reached" in outcome.reason


def test_an_opt_out_is_required_and_taken_as_the_users_choice():
    timeline = scheduled(required=7)
    timeline.response(S0 + 62, MRID_A, 1)
    timeline.response(S0 + 100, MRID_A, 4)
    timeline.time(S0 + 1300)
    spec = responses_spec(require={MRID_A: [4, 8]}, user_choices=True)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason
    stubborn = scheduled(required=7)
    stubborn.response(S0 + 62, MRID_A, 1)
    stubborn.response(S0 + 600, MRID_A, 2)
    stubborn.response(S0 + 1200, MRID_A, 3)
    stubborn.time(S0 + 1300)
    outcome = judge(spec, stubborn)
    assert outcome.verdict == Verdict.FAIL and "none of status [4, 8]" in outcome.reason


def test_a_cancelled_control_must_be_answered_cancelled():
    timeline = scheduled()
    timeline.response(S0 + 62, MRID_A, 1)
    timeline.response(S0 + 600, MRID_A, 2)
    timeline.controls(S0 + 720, "/derp/2", control(MRID_A, S0 + 600, 600, status=2))
    timeline.response(S0 + 725, MRID_A, 6)
    timeline.time(S0 + 1300)
    assert judge(responses_spec(), timeline).verdict == Verdict.PASS
    ignored = scheduled()
    ignored.response(S0 + 62, MRID_A, 1)
    ignored.response(S0 + 600, MRID_A, 2)
    ignored.controls(S0 + 720, "/derp/2", control(MRID_A, S0 + 600, 600, status=2))
    ignored.response(S0 + 1200, MRID_A, 3)
    ignored.time(S0 + 1300)
    outcome = judge(responses_spec(), ignored)
    assert outcome.verdict == Verdict.FAIL and "status 6" in outcome.reason


def test_without_time_or_der_bodies_the_check_reports_what_is_missing():
    assert "no Time response" in judge(responses_spec(), ClientTimeline()).reason
    only_time = ClientTimeline()
    only_time.time(S0)
    outcome = judge(responses_spec(on_missing="INCONCLUSIVE"), only_time)
    assert outcome.verdict == Verdict.INCONCLUSIVE and "no DER program" in outcome.reason


# --- power --------------------------------------------------------------------------------------------


def power_spec(*rules: str, **extra: Any) -> dict[str, Any]:
    return {
        "kind": "der_power",
        "speedup": SPEEDUP,
        "rules": list(rules),
        "tolerance_w": 100.0,
        "settle_s": 150.0,
        **extra,
    }


def authorizing(authorized_at: int = S0 + 300) -> ClientTimeline:
    timeline = ClientTimeline()
    timeline.time(S0)
    timeline.settings(S0 + 5)
    timeline.mirror(S0 + 6)
    timeline.programs(S0 + 10, ("/derp/1", 0))
    timeline.default(S0 + 11, "/derp/1", opModEnergize="false")
    timeline.default(authorized_at, "/derp/1", opModEnergize="true", opModConnect="true")
    return timeline


def test_no_export_before_the_j3072_authorization():
    timeline = authorizing()
    timeline.reading(S0 + 100, 0)
    timeline.reading(S0 + 500, -3000)
    timeline.time(S0 + 600)
    spec = power_spec("authorization", "exports", authorization_program="/derp/1")
    assert judge(spec, timeline).verdict == Verdict.PASS
    early = authorizing()
    frame = early.reading(S0 + 100, -3000)
    early.time(S0 + 600)
    outcome = judge(spec, early)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)
    assert "before the J3072 authorization" in outcome.reason


def test_export_must_be_seen_when_required():
    timeline = authorizing()
    timeline.reading(S0 + 500, 2000)
    timeline.time(S0 + 600)
    outcome = judge(power_spec("exports"), timeline)
    assert outcome.verdict == Verdict.FAIL and "none shows export" in outcome.reason


def discharging(
    *extra_modes: tuple[str, Any], ramp: int | None = None, fixed_w: int = 5000
) -> ClientTimeline:
    """Authorized at S0+11; program 2 commands ``fixed_w`` (hundredths of a percent; 50 % by default)
    discharge from S0+600 for 1200 s."""
    timeline = ClientTimeline()
    timeline.time(S0)
    timeline.settings(S0 + 5)
    timeline.mirror(S0 + 6)
    timeline.programs(S0 + 10, ("/derp/1", 0), ("/derp/2", 1))
    timeline.default(S0 + 11, "/derp/1", opModEnergize="true")
    modes = {"opModFixedW": {"disabled": "false", "value": fixed_w}, **dict(extra_modes)}
    if ramp is not None:
        modes["rampTms"] = ramp
    timeline.controls(S0 + 60, "/derp/2", control(MRID_A, S0 + 600, 1200, **modes))
    return timeline


def test_export_follows_the_fixed_w_command_after_settling():
    spec = power_spec("fixed", "exports")
    timeline = discharging()
    timeline.reading(S0 + 300, 0)
    timeline.reading(S0 + 900, -3600)
    timeline.reading(S0 + 1500, -3580)
    timeline.time(S0 + 1700)
    assert judge(spec, timeline).verdict == Verdict.PASS
    lazy = discharging()
    lazy.reading(S0 + 900, -3600)
    frame = lazy.reading(S0 + 1500, -1000)
    lazy.time(S0 + 1700)
    outcome = judge(spec, lazy)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)
    assert "asks for 3600 W" in outcome.reason


def test_export_above_the_max_lim_w_cap_fails():
    spec = power_spec("max_lim")
    capped = discharging(("opModMaxLimW", {"disabled": "false", "value": 2500}), fixed_w=10000)
    capped.reading(S0 + 900, -1800)
    capped.time(S0 + 1700)
    assert judge(spec, capped).verdict == Verdict.PASS
    over = discharging(("opModMaxLimW", {"disabled": "false", "value": 2500}), fixed_w=10000)
    frame = over.reading(S0 + 900, -7200)
    over.time(S0 + 1700)
    outcome = judge(spec, over)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,) and "cap 1800 W" in outcome.reason


def test_no_export_while_energize_is_false():
    spec = power_spec("energize")
    timeline = discharging()
    timeline.controls(
        S0 + 700,
        "/derp/2",
        control(MRID_A, S0 + 600, 1200),
        control(MRID_B, S0 + 800, 600, opModEnergize="false"),
    )
    timeline.reading(S0 + 700, -3600)
    timeline.reading(S0 + 1100, 0)
    timeline.time(S0 + 1700)
    assert judge(spec, timeline).verdict == Verdict.PASS
    stubborn = discharging()
    stubborn.controls(
        S0 + 700,
        "/derp/2",
        control(MRID_A, S0 + 600, 1200),
        control(MRID_B, S0 + 800, 600, opModEnergize="false"),
    )
    frame = stubborn.reading(S0 + 1100, -3600)
    stubborn.time(S0 + 1700)
    outcome = judge(spec, stubborn)
    assert (
        outcome.verdict == Verdict.FAIL and outcome.frames == (frame,) and "opModEnergize" in outcome.reason
    )


def test_loss_of_communication_falls_back_to_the_default():
    spec = power_spec("energize", comm_loss_polls=3)

    def outage(export_w: int) -> tuple[ClientTimeline, int]:
        timeline = ClientTimeline()
        timeline.time(S0)
        timeline.settings(S0 + 5)
        timeline.mirror(S0 + 6)
        timeline.programs(S0 + 10, ("/derp/1", 0))
        timeline.default(S0 + 11, "/derp/1", opModEnergize="false")
        timeline.controls(S0 + 60, "/derp/1", control(MRID_A, S0 + 120, 3000, opModEnergize="true"))
        for n in range(3):
            timeline.failed(S0 + 400 + 120 * n)
        frame = timeline.reading(S0 + 1000, export_w)
        timeline.time(S0 + 1100)
        return timeline, frame

    good, _ = outage(0)
    assert judge(spec, good).verdict == Verdict.PASS
    never_lost = discharging()
    never_lost.reading(S0 + 900, -3600)
    never_lost.time(S0 + 1700)
    outcome = judge(spec, never_lost)
    assert outcome.verdict == Verdict.FAIL and "no loss of communication" in outcome.reason
    bad, frame = outage(-3000)
    outcome = judge(spec, bad)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)
    # Without counting the failed polls the control stays in effect: no reading is judged by the rule.
    blind = judge(power_spec("energize"), bad)
    assert blind.verdict == Verdict.FAIL and "none taken while rule(s) energize applied" in blind.reason


def test_export_stays_under_a_linear_ramp():
    spec = power_spec("ramp")
    gradual = discharging(ramp=60000, fixed_w=10000)  # 600 s
    gradual.reading(S0 + 750, -1700)
    gradual.reading(S0 + 1100, -5900)
    gradual.time(S0 + 1700)
    assert judge(spec, gradual).verdict == Verdict.PASS
    jump = discharging(ramp=60000, fixed_w=10000)
    frame = jump.reading(S0 + 700, -7200)
    jump.time(S0 + 1700)
    outcome = judge(spec, jump)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,) and "ramp" in outcome.reason


def test_der_specs_are_validated():
    with pytest.raises(SpecError, match="rules"):
        validate_spec(power_spec("teleport"))
    with pytest.raises(SpecError, match="speedup"):
        validate_spec({"kind": "der_responses", "speedup": 0})
    with pytest.raises(SpecError, match="require"):
        validate_spec(responses_spec(require={MRID_A: []}))


def test_no_export_without_a_command():
    spec = power_spec("commanded")
    timeline = discharging()
    timeline.reading(S0 + 300, 0)
    timeline.reading(S0 + 1000, -3600)
    timeline.time(S0 + 2200)
    assert judge(spec, timeline).verdict == Verdict.PASS
    rogue = discharging()
    frame = rogue.reading(S0 + 300, -3600)
    rogue.time(S0 + 2200)
    outcome = judge(spec, rogue)
    assert (
        outcome.verdict == Verdict.FAIL and outcome.frames == (frame,) and "no opModFixedW" in outcome.reason
    )


def poll_spec(**extra: Any) -> dict[str, Any]:
    return {"kind": "der_poll_rate", "speedup": SPEEDUP, "poll_rate_s": 360, "tolerance_s": 12.0, **extra}


def test_a_changed_poll_rate_is_adopted():
    def polling(period: int) -> ClientTimeline:
        timeline = ClientTimeline()
        timeline.time(S0)
        timeline.programs(S0 + 10, ("/derp/1", 0))
        changed = {"href": "/derp", "pollRate": 360, "DERProgram": {"href": "/derp/1", "primacy": 0}}
        timeline.answer(S0 + 130, "/derp", "DERProgramList", changed)
        for n in range(1, 4):
            timeline.answer(S0 + 130 + n * period, "/derp", "DERProgramList", changed)
        return timeline

    assert judge(poll_spec(), polling(360)).verdict == Verdict.PASS
    outcome = judge(poll_spec(), polling(120))
    assert outcome.verdict == Verdict.FAIL and "120 s apart" in outcome.reason
    assert judge(poll_spec(poll_rate_s=900), polling(360)).verdict == Verdict.FAIL  # never announced


def test_a_served_control_list_in_capture_form_gives_the_engine_the_same_control():
    from py20305.models.sep import sep

    from capture.tls_http import _as_dict
    from harness.codec.sep2 import resources as r
    from harness.codec.sep2 import values as v
    from harness.codec.sep2.document import parse_xml
    from harness.protocol.sep2 import der_convert

    modes = {"opModFixedW": 5000, "opModEnergize": True, "opModTargetW": 3000}
    served = r.DERControl(
        href="/derp/2/derc/1",
        m_rid=v.mrid(7),
        creation_time=v.sep_time(S0),
        event_status=v.event_status(v.EventStatusCode.SCHEDULED, S0),
        interval=v.interval(S0 + 600, 600),
        randomize_start=sep.OneHourRangeType(value=-60),
        dercontrol_base=der_convert.control_base(modes, 500),
        reply_to=REPLY_TO,
        response_required=b"\x07",
    )
    wire = r.DERControlList(href="/derp/2/derc", all=1, results=1, dercontrol=[served])
    (expected,) = der_convert.controls_from_list(
        r.parse_resource(r.serialise(wire), r.DERControlList), "/derp/2"
    )
    (rebuilt,) = [control_from_dict(_as_dict(parse_xml(r.serialise(wire)))["DERControl"], "/derp/2")]
    for name in (
        "mrid",
        "creation_time",
        "start",
        "duration",
        "randomize_start",
        "response_required",
        "ramp_tms",
    ):
        assert getattr(rebuilt, name) == getattr(expected, name), name
    assert set(rebuilt.modes) == set(expected.modes)
    assert rebuilt.modes["opModEnergize"] is True and rebuilt.modes["opModTargetW"] == 3000


def test_garbage_hex_from_the_dut_is_judged_not_a_crash():
    timeline = scheduled()
    timeline.send(
        S0 + 5, "PUT", "/edev/1/der/1/dercap", "DERCapability", {"type": 81, "modesSupported": "XYZ"}
    )
    body = {"subject": MRID_A, "status": 1, "createdDateTime": S0 + 62, "modesResponded": "not hex"}
    timeline.send(S0 + 62, "POST", REPLY_TO, "DERControlResponse", body)
    timeline.time(S0 + 300)
    outcome = judge(responses_spec(), timeline)
    assert outcome.verdict == Verdict.PASS, outcome.reason


# --- fixed power factor ---------------------------------------------------------------------------------

VAR_MRID = "E" * 32
PF_090_INJECT = {"disabled": "false", "displacement": 90, "excitation": "false", "multiplier": -2}


def power_factor(pf_mode: dict[str, Any] | None = None) -> ClientTimeline:
    """``discharging`` with opModFixedPFInjectW 0.90 and a reactive-power mirror reading (uom 63)."""
    timeline = discharging(("opModFixedPFInjectW", pf_mode or PF_090_INJECT))
    body = {"mRID": VAR_MRID, "ReadingType": {"uom": 63, "powerOfTenMultiplier": 0}}
    timeline.send(S0 + 7, "POST", "/mup", "MirrorUsagePoint", {"MirrorMeterReading": body})
    return timeline


def var_reading(
    timeline: ClientTimeline, server_s: float, var: int, period: tuple[int, int] | None = None
) -> int:
    body = {"mRID": VAR_MRID, "Reading": {"value": var, "timePeriod": time_period(server_s, period)}}
    return timeline.send(server_s, "POST", "/mup/1", "MirrorMeterReading", body)


def test_real_and_reactive_readings_pair_by_the_period_they_state_not_by_when_they_were_posted():
    # A loaded EV posts a period's reactive reading 30 server seconds after its real one, and the next
    # period's reactive reading comes between them: the pair is the one stating the same timePeriod.
    spec = power_spec("power_factor", pf_tolerance=0.02)
    timeline = power_factor()
    period = (S0 + 880, 20)
    timeline.reading(S0 + 900, -3600, period)
    var_reading(timeline, S0 + 901, 0, (S0 + 900, 20))
    var_reading(timeline, S0 + 930, -1744, period)
    timeline.time(S0 + 1700)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.PASS and "power_factor: 1" in outcome.reason
    unpaired = power_factor()
    frame = unpaired.reading(S0 + 900, -3600, period)
    var_reading(unpaired, S0 + 901, -1744, (S0 + 900, 20))
    unpaired.time(S0 + 1700)
    outcome = judge(spec, unpaired)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)
    assert f"no reactive-power reading for its period {period}" in outcome.reason


def test_the_power_factor_of_the_readings_follows_the_fixed_pf_command():
    spec = power_spec("power_factor", pf_tolerance=0.02)
    # 3600 W exported at PF 0.90 injecting: 3600 * tan(acos 0.9) = 1744 var injected, -1744 in the meter.
    timeline = power_factor()
    timeline.reading(S0 + 900, -3600)
    var_reading(timeline, S0 + 901, -1744)
    timeline.time(S0 + 1700)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.PASS and "power_factor: 1" in outcome.reason
    unity = power_factor()
    frame = unity.reading(S0 + 900, -3600)
    var_frame = var_reading(unity, S0 + 901, 0)
    unity.time(S0 + 1700)
    outcome = judge(spec, unity)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame, var_frame)
    assert "power factor 1.000" in outcome.reason and "0.900" in outcome.reason


def test_reactive_power_on_the_wrong_side_fails():
    spec = power_spec("power_factor", pf_tolerance=0.02)
    timeline = power_factor()
    timeline.reading(S0 + 900, -3600)
    var_reading(timeline, S0 + 901, 1744)  # absorbing where injection is commanded
    timeline.time(S0 + 1700)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.FAIL and "injecting (-var)" in outcome.reason


def test_the_power_factor_needs_reactive_readings_and_a_settled_reading():
    spec = power_spec("power_factor", pf_tolerance=0.02)
    silent = discharging(("opModFixedPFInjectW", PF_090_INJECT))
    silent.reading(S0 + 900, -3600)
    silent.time(S0 + 1700)
    outcome = judge(spec, silent)
    assert outcome.verdict == Verdict.FAIL and "no reactive-power" in outcome.reason
    early = power_factor()
    early.reading(S0 + 300, 0)
    var_reading(early, S0 + 301, 0)
    early.time(S0 + 1700)
    outcome = judge(spec, early)
    assert outcome.verdict == Verdict.FAIL and "no settled reading" in outcome.reason


def test_an_unsigned_meter_fails_the_fixed_w_rule_at_its_first_settled_reading():
    spec = power_spec("fixed", "exports")
    timeline = discharging()
    timeline.reading(S0 + 300, 0)
    frame = timeline.reading(S0 + 900, 3600)
    timeline.time(S0 + 1700)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.FAIL and outcome.frames == (frame,)
    assert "export -3600 W" in outcome.reason


# --- DRLC beside DER ------------------------------------------------------------------------------------

DR_MRID = "F" * 32


def drlc(percent: int = 45) -> ClientTimeline:
    """``discharging`` commanding full charge (opModFixedW -10000 from S0+600 for 1200 s) with a DRLC
    event at ``percent`` from S0+1000 for 600 s; setMaxChargeRateW 7200 W."""
    timeline = discharging(fixed_w=-10000)
    body = {
        "setMaxW": {"multiplier": 0, "value": 7200},
        "setMaxChargeRateW": {"multiplier": 0, "value": 7200},
    }
    timeline.send(
        S0 + 8, "PUT", "/edev/1/der/1/derg", "DERSettings", {**body, "setMaxDischargeRateW": body["setMaxW"]}
    )
    edc = {
        "mRID": DR_MRID,
        "interval": {"start": S0 + 1000, "duration": 600},
        "DutyCycle": {"normalValue": percent},
        "EventStatus": {"currentStatus": 0},
    }
    timeline.answer(S0 + 100, "/dr/1/edc", "EndDeviceControlList", {"EndDeviceControl": edc})
    return timeline


def test_import_is_capped_inside_the_drlc_event_and_as_commanded_outside():
    spec = power_spec("drlc")
    timeline = drlc()
    timeline.reading(S0 + 900, 7200)  # settled charge before the event
    timeline.reading(S0 + 1300, 3240)  # settled inside: 45 % of 7200 W
    timeline.reading(S0 + 1010, 7000)  # straddles the event's start: not judged
    timeline.time(S0 + 1900)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.PASS and "drlc: 1" in outcome.reason
    ignored = drlc()
    frame = ignored.reading(S0 + 1300, 7200)
    ignored.time(S0 + 1900)
    outcome = judge(spec, ignored)
    assert outcome.verdict == Verdict.FAIL and frame in outcome.frames
    assert "import cap 3240 W" in outcome.reason


def test_drlc_needs_a_settled_reading_inside_the_event():
    timeline = drlc()
    timeline.reading(S0 + 900, 7200)
    timeline.time(S0 + 1900)
    outcome = judge(power_spec("drlc"), timeline)
    assert outcome.verdict == Verdict.FAIL and "no settled reading inside a DRLC event" in outcome.reason


def test_a_negative_fixed_w_asks_for_a_charge():
    spec = power_spec("fixed")
    timeline = discharging(fixed_w=-5000)
    timeline.reading(S0 + 900, 3600)
    timeline.time(S0 + 1700)
    assert judge(spec, timeline).verdict == Verdict.PASS
    idle = discharging(fixed_w=-5000)
    frame = idle.reading(S0 + 900, 0)
    idle.time(S0 + 1700)
    outcome = judge(spec, idle)
    assert (
        outcome.verdict == Verdict.FAIL
        and outcome.frames == (frame,)
        and "asks for -3600 W" in outcome.reason
    )


# --- a granted discharge window -------------------------------------------------------------------------

FRQ_MRID = "9" * 32


def windowed(power_available: int = -3600) -> ClientTimeline:
    """Authorized at S0+11, no control; the DUT asks at S0+50 and the server grants S0+600..S0+1500."""
    timeline = authorizing(S0 + 11)
    timeline.programs(S0 + 12, ("/derp/1", 0), ("/derp/2", 1))
    request = {"mRID": FRQ_MRID, "powerRequested": {"multiplier": 0, "value": -3600}}
    timeline.send(S0 + 50, "POST", "/edev/1/frq", "FlowReservationRequest", request)
    grant = {
        "subject": FRQ_MRID,
        "interval": {"start": S0 + 600, "duration": 900},
        "powerAvailable": {"multiplier": 0, "value": power_available},
    }
    timeline.answer(
        S0 + 170, "/edev/1/frp", "FlowReservationResponseList", {"FlowReservationResponse": grant}
    )
    return timeline


def test_export_only_inside_the_granted_window():
    spec = power_spec("window", "exports")
    timeline = windowed()
    timeline.reading(S0 + 500, 0)
    timeline.reading(S0 + 900, -3600)
    timeline.reading(S0 + 1700, 0)
    timeline.time(S0 + 1800)
    outcome = judge(spec, timeline)
    assert outcome.verdict == Verdict.PASS and "window: 1" in outcome.reason
    early = windowed()
    frame = early.reading(S0 + 500, -3600)
    early.time(S0 + 1800)
    outcome = judge(spec, early)
    assert outcome.verdict == Verdict.FAIL and frame in outcome.frames and "outside" in outcome.reason


def test_a_window_needs_a_discharge_grant():
    timeline = windowed(power_available=3600)  # a charge granted, not a discharge
    timeline.reading(S0 + 900, -3600)
    timeline.time(S0 + 1800)
    outcome = judge(power_spec("window"), timeline)
    assert outcome.verdict == Verdict.FAIL and "no FlowReservationResponse granting" in outcome.reason
