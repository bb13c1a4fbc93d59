"""The ISO 15118-20 check builders over hand-made timelines (the shape ``vgi analyze`` gives -20
frames: protocol ``ISO-20``, fields ``{<name>: {Header, ...}}``): each passes a conforming DUT and fails a
wrong one."""

from __future__ import annotations

from typing import Any

from capture.timeline import TimelineEvent
from harness.verdict.checks import iso15118_20 as c
from harness.verdict.checks.common import DUT, TESTER, Fields
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict

TESTER_IP, DUT_IP = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER_IP}))
SESSION = "5E55102000C0FFEE"


def _msg(t: float, frame: int, sender: str, name: str, **body: Any) -> TimelineEvent:
    src, dst = (TESTER_IP, DUT_IP) if sender == TESTER else (DUT_IP, TESTER_IP)
    protocol = c.protocol_of(name)
    fields = {name: body if protocol == c.APP_PROTOCOL else {"Header": {"SessionID": SESSION}, **body}}
    return TimelineEvent(t, frame, src, dst, protocol, name, fields)


def _session(requests: list[str], ev: str = DUT, delay_s: float = 0.005) -> list[TimelineEvent]:
    """Each request from ``ev`` answered OK by the other side after ``delay_s``."""
    secc = TESTER if ev == DUT else DUT
    events: list[TimelineEvent] = []
    for i, name in enumerate(requests):
        events.append(_msg(i * 0.1, len(events) + 1, ev, name))
        events.append(_msg(i * 0.1 + delay_s, len(events) + 1, secc, c.response_to(name), ResponseCode="OK"))
    return events


# The session's requests, each once, optional ones left out.
REGULAR = [name for name, low, _ in c.SESSION_PATTERN if low]


def _verdict(check: Any, events: list[TimelineEvent]) -> Verdict:
    return evaluate(check.spec(), events, PARTIES).verdict


def test_the_regular_session_order_passes_and_a_skipped_request_fails() -> None:
    assert REGULAR[0] == "supportedAppProtocolReq" and REGULAR[-1] == "SessionStopReq"
    assert _verdict(c.session_sequence(DUT), _session(REGULAR)) is Verdict.PASS
    skipped = [name for name in REGULAR if name != "ServiceSelectionReq"]
    assert _verdict(c.session_sequence(DUT), _session(skipped)) is Verdict.FAIL
    assert _verdict(c.responses_of(TESTER), _session(REGULAR)) is Verdict.PASS


def test_ok_with_session_fails_a_failed_code_or_another_session() -> None:
    events = _session(["SessionSetupReq", "ServiceDiscoveryReq"], ev=TESTER)
    check = c.ok_with_session("ServiceDiscoveryReq", DUT, {"eq": SESSION})
    assert _verdict(check, events) is Verdict.PASS
    assert _verdict(c.ok_with_session("ServiceDiscoveryReq", DUT, {"eq": "00"}), events) is Verdict.FAIL
    events[-1].fields["ServiceDiscoveryRes"]["ResponseCode"] = "FAILED"
    assert _verdict(check, events) is Verdict.FAIL


def test_answered_with_needs_the_named_code() -> None:
    events = _session(["ServiceSelectionReq"], ev=TESTER)
    check = c.answered_with("ServiceSelectionReq", DUT, "FAILED_ServiceSelectionInvalid")
    assert _verdict(check, events) is Verdict.FAIL
    events[-1].fields["ServiceSelectionRes"]["ResponseCode"] = "FAILED_ServiceSelectionInvalid"
    assert _verdict(check, events) is Verdict.PASS


def test_the_charge_loop_performance_time_fails_a_late_answer() -> None:
    check = c.performance_time("DC_ChargeLoopReq", TESTER, DUT, 0.25)
    assert _verdict(check, _session(["DC_ChargeLoopReq"] * 3, ev=TESTER, delay_s=0.01)) is Verdict.PASS
    assert _verdict(check, _session(["DC_ChargeLoopReq"] * 3, ev=TESTER, delay_s=0.3)) is Verdict.FAIL


def test_a_late_tester_answer_makes_the_evcc_full_session_inconclusive() -> None:
    check = c.loop_answers_within(DUT, TESTER, 0.5)
    assert _verdict(check, _session(["DC_ChargeLoopReq"] * 2, delay_s=0.01)) is Verdict.PASS
    assert _verdict(check, _session(["DC_ChargeLoopReq"] * 2, delay_s=0.6)) is Verdict.INCONCLUSIVE


def test_negative_and_at_least_judge_rational_values_and_the_soc() -> None:
    def loop(value: int, soc: int) -> list[TimelineEvent]:
        body = {
            "DisplayParameters": {"PresentSOC": soc},
            "BPT_Scheduled_DC_CLReqControlMode": {"EVTargetCurrent": {"Exponent": -2, "Value": value}},
        }
        return [_msg(0.0, 1, DUT, "DC_ChargeLoopReq", **body)]

    name = "DC_ChargeLoopReq"
    discharging = Fields(
        c.iso20(name, DUT), c.negative(name, "BPT_Scheduled_DC_CLReqControlMode.EVTargetCurrent")
    )
    assert _verdict(discharging, loop(-10000, 78)) is Verdict.PASS
    assert _verdict(discharging, loop(10000, 78)) is Verdict.FAIL
    held = Fields(c.iso20(name, DUT), c.at_least(c.field_path(name, "DisplayParameters.PresentSOC"), 76))
    assert _verdict(held, loop(-10000, 76)) is Verdict.PASS
    assert _verdict(held, loop(-10000, 75)) is Verdict.FAIL
