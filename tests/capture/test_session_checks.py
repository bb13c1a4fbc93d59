"""`vgi analyze CAPTURE` judges the supportedAppProtocol handshake by the rule of the protocol it chose
(harness.verdict.protocol_checks.SESSION_CHECKS through harness.analysis.SessionJudge): DIN-SECC-TIME-02
on a DIN session's connection, ISO2-SECC-TIME-01 on an ISO 15118-2 one's, nothing on an ISO 15118-20
session's (its handshake was judged as DIN's before)."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.timeline import TimelineEvent
from harness.analysis import SessionJudge, analyze_capture, streaming_judge
from harness.verdict.expectations import Parties
from harness.verdict.protocol_checks import SESSION_CHECKS
from harness.verdict.verdicts import Verdict

EV, SECC = "fe80::1", "fe80::2"
SAP = "supportedAppProtocol"


def _sap_verdicts(captures_dir: Path, name: str) -> dict[str, tuple[Verdict, str]]:
    path = captures_dir / name
    if not path.is_file():
        pytest.skip(f"{path} is not in the shared data")
    _, checks = analyze_capture(path)
    return {c.requirement: (c.verdict, c.reason) for c in checks if SAP in c.description}


def test_iso20_capture_handshake_is_judged_by_no_dc_rule_of_another_protocol(captures_dir: Path) -> None:
    verdicts = _sap_verdicts(captures_dir, "ISO-20_BPT_AC_DS5366_Josev.pcapng")
    assert set(verdicts) == {"DIN-SECC-TIME-02", "ISO2-SECC-TIME-01"}
    for verdict, reason in verdicts.values():
        assert verdict is Verdict.NOT_APPLICABLE and "chose another protocol" in reason


@pytest.mark.parametrize(
    ("name", "judged"),
    [("DIN_DC_DS5366_Josev.pcapng", "DIN-SECC-TIME-02"), ("ISO-2_DC_DS5366.pcapng", "ISO2-SECC-TIME-01")],
)
def test_din_and_iso2_captures_judge_their_own_handshake(captures_dir: Path, name: str, judged: str) -> None:
    verdicts = _sap_verdicts(captures_dir, name)
    assert verdicts[judged][0] is Verdict.PASS and "1 answer(s)" in verdicts[judged][1]
    (other,) = set(verdicts) - {judged}
    assert verdicts[other][0] is Verdict.NOT_APPLICABLE


def _event(t: float, port: int, from_ev: bool, protocol: str, message: str) -> TimelineEvent:
    src, dst, sport, dport = (EV, SECC, port, 15118) if from_ev else (SECC, EV, 15118, port)
    return TimelineEvent(t, int(t * 1000), src, dst, protocol, message, {}, None, sport, dport)


def _din_judge() -> SessionJudge:
    protocol, _, _, spec = SESSION_CHECKS[0]
    assert protocol == "DIN"
    return SessionJudge(protocol, streaming_judge(spec, Parties(frozenset())))


def _handshake(t: float, port: int, delay: float, session: str) -> list[TimelineEvent]:
    return [
        _event(t, port, True, "AppProtocol", f"{SAP}Req"),
        _event(t + delay, port, False, "AppProtocol", f"{SAP}Res"),
        _event(t + delay + 0.1, port, True, session, "SessionSetupReq"),
    ]


def test_only_the_handshakes_of_connections_of_the_protocol_are_judged() -> None:
    # a slow handshake of a -20 session and a quick one of a DIN session, interleaved on two connections
    slow_iso20 = _handshake(1.0, 50001, 3.0, "ISO-20")
    quick_din = _handshake(1.5, 50002, 0.2, "DIN")
    judge = _din_judge()
    for event in sorted(slow_iso20 + quick_din, key=lambda e: e.t):
        judge.feed(event)
    outcome = judge.outcome()
    assert outcome.verdict is Verdict.PASS and "1 answer(s)" in outcome.reason
    # the same slow handshake on a DIN connection fails
    judge = _din_judge()
    for event in _handshake(1.0, 50001, 3.0, "DIN"):
        judge.feed(event)
    assert judge.outcome().verdict is Verdict.FAIL


def test_a_handshake_without_a_session_after_it_is_not_judged() -> None:
    judge = _din_judge()
    for event in _handshake(1.0, 50001, 3.0, "DIN")[:2]:
        judge.feed(event)
    assert judge.outcome().verdict is Verdict.NOT_APPLICABLE
    empty = _din_judge()
    assert (
        empty.outcome().verdict is Verdict.NOT_APPLICABLE
        and "no supportedAppProtocolReq" in empty.outcome().reason
    )
