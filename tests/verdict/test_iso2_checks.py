"""The ISO 15118-2 checks over hand-made timelines: each passes a conforming DUT and fails a wrong one.

The SECC checks come from the profile-aware DIN steps (an ISO 15118-2 session is judged with the DIN
checks, in ISO 15118-2 names and citing ISO 15118-2 requirements) and from the ISO 15118-2 builders.
"""

from __future__ import annotations

from pathlib import Path

from capture.timeline import TimelineEvent
from harness.protocol.dc_profiles import ISO15118_2, dc_profile
from harness.protocol.din70121.profile import PowerDeliveryKind
from harness.protocol.iso15118_2.timing import Iso2Timings
from harness.protocol.timers import TIMERS
from harness.scenario import ScenarioMeta, ScenarioRun
from harness.testers.din70121 import TesterSetup as Setup
from harness.verdict.checks import din70121 as d
from harness.verdict.checks import iso15118_2 as i
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict
from steps import din70121_evcc, din70121_secc

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))
SESSION = "5E55101D00C0FFEE"
CURRENT_DEMAND_BUDGET_S = Iso2Timings().performance_time_s("CurrentDemandReq")


def _msg(t: float, frame: int, sender: str, name: str, **body) -> TimelineEvent:
    src, dst = (sender, DUT if sender == TESTER else TESTER)
    fields = {"V2G_Message": {"Header": {"SessionID": SESSION}, "Body": {name: body}}}
    return TimelineEvent(t, frame, src, dst, i.ISO2, name, fields)


def _run(role: str, requirements: list[str]) -> ScenarioRun:
    meta = ScenarioMeta("TC_TEST", "test.feature", "test", [4], [], requirements, [role], [])
    run = ScenarioRun(meta=meta, bench=None, run_dir=Path("."))  # type: ignore[arg-type]
    run.din.setup = Setup(profiles=(dc_profile(ISO15118_2, lambda name: TIMERS[name].default_s),))
    return run


def _verdicts(run: ScenarioRun, events: list[TimelineEvent]) -> list[tuple[Verdict, str | None]]:
    return [(evaluate(spec, events, PARTIES).verdict, req) for spec, _, req in run.checks]


# --- EVCC: authorization still Ongoing --------------------------------------------------------------


def _authorization(ongoing_answers: int, repeats: int, early_charge_parameters: bool = False) -> list:
    events, t = [], 0.0
    for round_ in range(ongoing_answers + 1):
        if round_ > repeats:
            break
        events.append(_msg(t, len(events) + 1, DUT, "AuthorizationReq"))
        processing = "Ongoing" if round_ < ongoing_answers else "Finished"
        events.append(_msg(t + 0.01, len(events) + 1, TESTER, "AuthorizationRes", EVSEProcessing=processing))
        if early_charge_parameters:
            break
        t += 0.3
    events.append(_msg(t + 0.3, len(events) + 1, DUT, "ChargeParameterDiscoveryReq"))
    return events


def test_authorization_ongoing_passes_an_evcc_that_repeats_until_finished():
    precondition, order = i.authorization_ongoing_rounds(3)
    events = _authorization(3, 3)
    assert evaluate(precondition.spec(), events, PARTIES).verdict == Verdict.PASS
    assert evaluate(order.spec(), events, PARTIES).verdict == Verdict.PASS


def test_authorization_ongoing_fails_an_evcc_that_goes_on_after_an_ongoing_answer():
    _, order = i.authorization_ongoing_rounds(3)
    outcome = evaluate(order.spec(), _authorization(3, 3, early_charge_parameters=True), PARTIES)
    assert outcome.verdict == Verdict.FAIL
    assert "ChargeParameterDiscoveryReq" in outcome.reason


def test_authorization_ongoing_is_inconclusive_when_the_tester_said_ongoing_too_rarely():
    precondition, _ = i.authorization_ongoing_rounds(3)
    assert evaluate(precondition.spec(), _authorization(1, 1), PARTIES).verdict == Verdict.INCONCLUSIVE


# --- SECC: the EV reports an error, then stops --------------------------------------------------------


def _ev_error_session(answer_after_s: float | None, stop_code: str = "OK") -> list:
    error = {"EVReady": False, "EVErrorCode": "FAILED_RESSTemperatureInhibit", "EVRESSSOC": 50}
    events = [_msg(0.0, 1, TESTER, "CurrentDemandReq", DC_EVStatus=error)]
    if answer_after_s is not None:
        events.append(_msg(answer_after_s, 2, DUT, "CurrentDemandRes", ResponseCode="OK"))
    events += [
        _msg(0.2, 3, TESTER, "PowerDeliveryReq", ChargeProgress="Stop"),
        _msg(0.3, 4, DUT, "PowerDeliveryRes", ResponseCode=stop_code),
        _msg(0.4, 5, TESTER, "SessionStopReq", ChargingSession="Terminate"),
        _msg(0.5, 6, DUT, "SessionStopRes", ResponseCode="OK"),
    ]
    return events


def test_ev_error_answer_passes_in_time_and_fails_late_or_missing():
    check = i.answers_ev_error("FAILED_RESSTemperatureInhibit", CURRENT_DEMAND_BUDGET_S).spec()
    assert evaluate(check, _ev_error_session(0.010), PARTIES).verdict == Verdict.PASS
    late = evaluate(check, _ev_error_session(CURRENT_DEMAND_BUDGET_S * 2), PARTIES)
    assert late.verdict == Verdict.FAIL
    assert evaluate(check, _ev_error_session(None), PARTIES).verdict == Verdict.FAIL


def test_the_din_stop_step_judges_an_iso2_session_and_fails_a_refused_stop():
    run = _run("secc", [i.ISO2_SECC_15, i.ISO2_SECC_11])
    din70121_secc.secc_accepts_stop(run)
    assert {req for _, _, req in run.checks} == {i.ISO2_SECC_11}
    good = _verdicts(run, _ev_error_session(0.010))
    assert [v for v, _ in good] == [Verdict.PASS, Verdict.PASS]
    refused = _verdicts(run, _ev_error_session(0.010, stop_code="FAILED"))
    assert refused[0][0] == Verdict.FAIL


# --- EVCC: reactions and the end of the session, in ISO 15118-2 names ----------------------------------


def test_power_delivery_fields_by_protocol():
    assert i.power_delivery_fields(i.ISO2, PowerDeliveryKind.STOP) == {
        "V2G_Message.Body.PowerDeliveryReq.ChargeProgress": "Stop"
    }
    assert i.power_delivery_fields(d.DIN, PowerDeliveryKind.START) == {
        "V2G_Message.Body.PowerDeliveryReq.ReadyToChargeState": True
    }


def test_the_din_reaction_step_cites_the_iso2_requirement_and_fails_an_evcc_that_goes_on():
    run = _run("evcc", [i.ISO2_EVCC_12])
    din70121_evcc.evcc_sends_none(run, "PreChargeReq")
    (spec, _, requirement) = run.checks[0]
    assert requirement == i.ISO2_EVCC_12
    stopped = [_msg(0.0, 1, DUT, "CableCheckReq"), _msg(0.1, 2, TESTER, "CableCheckRes")]
    assert evaluate(spec, stopped, PARTIES).verdict == Verdict.PASS
    went_on = [*stopped, _msg(0.3, 3, DUT, "PreChargeReq")]
    assert evaluate(spec, went_on, PARTIES).verdict == Verdict.FAIL


def test_the_din_end_of_session_step_wants_charge_progress_stop_in_iso2():
    run = _run("evcc", [i.ISO2_EVCC_07])
    din70121_evcc.evcc_ends(run)
    (spec, _, requirement) = run.checks[0]
    assert requirement == i.ISO2_EVCC_07
    ending = [
        _msg(0.0, 1, DUT, "CurrentDemandReq"),
        _msg(0.1, 2, DUT, "PowerDeliveryReq", ChargeProgress="Stop"),
        _msg(0.2, 3, DUT, "SessionStopReq", ChargingSession="Terminate"),
    ]
    assert evaluate(spec, ending, PARTIES).verdict == Verdict.PASS
    no_stop = [ending[0], _msg(0.1, 2, DUT, "PowerDeliveryReq", ChargeProgress="Renegotiate"), ending[2]]
    assert evaluate(spec, no_stop, PARTIES).verdict == Verdict.FAIL
