"""The SAE J2847/2 checks over hand-made timelines: each passes a conforming DUT and fails a wrong one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from capture.timeline import TimelineEvent
from harness.protocol.din70121.messages import physical
from harness.scenario import ScenarioMeta, ScenarioRun
from harness.transport.v2g import SessionOutcome, SessionRecord
from harness.verdict.checks import iso15118_2 as i
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict
from steps import iso15118_2_bpt as s

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))
SESSION = "5E55101D00C0FFEE"


def _msg(frame: int, sender: str, name: str, **body: Any) -> TimelineEvent:
    dst = DUT if sender == TESTER else TESTER
    fields = {"V2G_Message": {"Header": {"SessionID": SESSION}, "Body": {name: body}}}
    return TimelineEvent(frame * 0.1, frame, sender, dst, i.ISO2, name, fields)


def _run(role: str) -> ScenarioRun:
    meta = ScenarioMeta("TC_TEST", "test.feature", "test", [4], [], [], [role], [])
    return ScenarioRun(meta=meta, bench=None, run_dir=Path("."))  # type: ignore[arg-type]


def _verdicts(run: ScenarioRun, events: list[TimelineEvent]) -> list[Verdict]:
    return [evaluate(spec, events, PARTIES).verdict for spec, _, _ in run.checks]


def _demand_res(frame: int, code: str, present_a: float) -> TimelineEvent:
    return _msg(
        frame, DUT, "CurrentDemandRes", ResponseCode=code, EVSEPresentCurrent=physical(present_a, "A")
    )


def test_refusing_a_discharge_without_bpt_passes_and_sinking_it_fails() -> None:
    run = _run("secc")
    s.secc_refuses_discharge(run, "FAILED_WrongChargeParameter")
    good = [_demand_res(1, "OK", 10.0), _demand_res(2, "FAILED_WrongChargeParameter", 10.0)]
    assert _verdicts(run, good) == [Verdict.PASS, Verdict.PASS]
    wrong = [_demand_res(1, "OK", 10.0), _demand_res(2, "OK", -20.0)]
    assert _verdicts(run, wrong) == [Verdict.FAIL, Verdict.FAIL]


def _cpd_res(frame: int, code: str, processing: str) -> TimelineEvent:
    return _msg(frame, DUT, "ChargeParameterDiscoveryRes", ResponseCode=code, EVSEProcessing=processing)


def _selection(frame: int, sender: str, *ids: int) -> TimelineEvent:
    services = [{"ServiceID": n} for n in ids]
    return _msg(
        frame, sender, "PaymentServiceSelectionReq", SelectedServiceList={"SelectedService": services}
    )


def test_v2h_limits_refusal_passes_and_acceptance_fails() -> None:
    run = _run("secc")
    s.secc_refuses_v2h_limits(run, "FAILED_WrongEnergyTransferMode")
    selected = _selection(1, TESTER, 1, 28472)
    good = [selected, _cpd_res(2, "OK", "Ongoing"), _cpd_res(3, "FAILED_WrongEnergyTransferMode", "Finished")]
    assert _verdicts(run, good) == [Verdict.PASS, Verdict.PASS]
    wrong = [selected, _cpd_res(2, "OK", "Ongoing"), _cpd_res(3, "OK", "Finished")]
    assert _verdicts(run, wrong) == [Verdict.PASS, Verdict.FAIL]


def test_v2h_parameters_need_ongoing_first() -> None:
    run = _run("secc")
    s.secc_v2h_parameters(run)
    assert _verdicts(run, [_cpd_res(1, "OK", "Ongoing"), _cpd_res(2, "OK", "Finished")]) == [Verdict.PASS]
    assert _verdicts(run, [_cpd_res(1, "OK", "Finished")]) == [Verdict.FAIL]


def _demand_req(frame: int, soc: int, target_a: float) -> TimelineEvent:
    status = {"EVReady": True, "EVErrorCode": "NO_ERROR", "EVRESSSOC": soc}
    return _msg(frame, DUT, "CurrentDemandReq", DC_EVStatus=status, EVTargetCurrent=physical(target_a, "A"))


def _ev_run_with_bulk_soc(bulk: int) -> ScenarioRun:
    run = _run("evcc")
    message = {
        "V2G_Message": {
            "Header": {"SessionID": SESSION},
            "Body": {"ChargeParameterDiscoveryReq": {"DC_EVChargeParameter": {"BulkSOC": bulk}}},
        }
    }
    outcome = SessionOutcome(records=[SessionRecord(0.0, "received", "ChargeParameterDiscoveryReq", message)])
    run.din.outcomes.append(outcome)
    return run


def test_min_soc_passes_an_ev_that_stops_and_fails_one_that_discharges_below() -> None:
    run = _ev_run_with_bulk_soc(76)
    s.evcc_min_soc(run)
    stop = _msg(9, DUT, "PowerDeliveryReq", ChargeProgress="Stop")
    good = [_demand_req(1, 78, -20.0), _demand_req(2, 76, -20.0), stop]
    assert _verdicts(run, good) == [Verdict.PASS, Verdict.PASS, Verdict.PASS]
    shutdown = _msg(4, TESTER, "CurrentDemandRes", DC_EVSEStatus={"EVSEStatusCode": "EVSE_Shutdown"})
    wrong = [_demand_req(1, 78, -20.0), _demand_req(2, 75, -20.0), shutdown, stop]
    assert _verdicts(run, wrong) == [Verdict.FAIL, Verdict.PASS, Verdict.FAIL]


def test_no_bpt_fails_an_ev_that_selects_or_discharges_anyway() -> None:
    run = _run("evcc")
    s.evcc_no_bpt(run)
    good = [_selection(1, DUT, 1), _demand_req(2, 60, 30.0)]
    assert set(_verdicts(run, good)) == {Verdict.PASS}
    wrong = [_selection(1, DUT, 1, 28472), _demand_req(2, 60, -30.0)]
    assert _verdicts(run, wrong)[:2] == [Verdict.FAIL, Verdict.FAIL]


def test_selection_of_either_order_passes() -> None:
    run = _run("evcc")
    s.evcc_selects(run, "V2G")
    assert _verdicts(run, [_selection(1, DUT, 28473, 1)]) == [Verdict.PASS]
    assert _verdicts(run, [_selection(1, DUT, 1, 28472)]) == [Verdict.FAIL]
