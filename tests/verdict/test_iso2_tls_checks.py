"""The ISO 15118-2 TLS checks (steps/iso15118_2_tls.py, harness.verdict.checks.iso15118_2_tls) over hand-made
timelines: each passes a conforming DUT and fails a wrong one (the negatives' wrong DUTs: an SECC that
serves plain V2G on its TLS port, an EVCC that goes on with a chain it could not verify)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from types import SimpleNamespace

from capture.timeline import TimelineEvent
from harness.codec.v2g.sdp import SECURITY_TLS, TRANSPORT_TCP, SeccDiscoveryRes
from harness.scenario import ScenarioMeta, ScenarioRun
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.verdicts import Verdict
from steps import iso15118_2_tls as steps

TESTER, DUT = "fe80::1", "fe80::2"
PARTIES = Parties(frozenset({TESTER}))
TLS_PORT, EV_PORT = 61000, 50000


def _event(
    frame: int, sender: str, protocol: str, message: str, fields: dict | None = None, secc: str = DUT
) -> TimelineEvent:
    """An event on the V2G connection, whose SECC side (``secc``) is the TLS port."""
    dst = TESTER if sender == DUT else DUT
    sport, dport = (TLS_PORT, EV_PORT) if sender == secc else (EV_PORT, TLS_PORT)
    return TimelineEvent(0.1 * frame, frame, sender, dst, protocol, message, fields or {}, None, sport, dport)


def _secc_run() -> ScenarioRun:
    meta = ScenarioMeta("TC_TEST", "test.feature", "test", [4], [], [], ["secc"], [])
    run = ScenarioRun(meta=meta, bench=None, run_dir=Path("."))  # type: ignore[arg-type]
    response = SeccDiscoveryRes(ipaddress.IPv6Address(DUT), TLS_PORT, SECURITY_TLS, TRANSPORT_TCP)
    run.din.ev = SimpleNamespace(discovered=response)  # type: ignore[assignment]
    return run


def _evcc_run() -> ScenarioRun:
    meta = ScenarioMeta("TC_TEST", "test.feature", "test", [4], [], [], ["evcc"], [])
    run = ScenarioRun(meta=meta, bench=None, run_dir=Path("."))  # type: ignore[arg-type]
    run.din.secc = SimpleNamespace(port=TLS_PORT)  # type: ignore[assignment]
    return run


def _verdicts(run: ScenarioRun, timeline: list[TimelineEvent]) -> list[Verdict]:
    return [evaluate(spec, timeline, PARTIES).verdict for spec, _, _ in run.checks]


def _worst(run: ScenarioRun, timeline: list[TimelineEvent]) -> Verdict:
    verdicts = _verdicts(run, timeline)
    for verdict in (Verdict.ERROR, Verdict.FAIL, Verdict.INCONCLUSIVE):
        if verdict in verdicts:
            return verdict
    return Verdict.PASS


def _sdp_res(security: str) -> TimelineEvent:
    fields = {"SECCPort": TLS_PORT, "Security": security, "TransportProtocol": "TCP"}
    return TimelineEvent(0.05, 1, DUT, TESTER, "SDP", "SECCDiscoveryRes", fields, None, 15118, 40000)


# --- the SECC under test -------------------------------------------------------------------------------


def test_secc_grants_tls_and_negotiates_the_iso_15118_2_suite() -> None:
    run = _secc_run()
    steps.secc_granted_tls(run)
    steps.secc_negotiated(run)
    good = [_sdp_res("TLS"), _event(5, DUT, "TLS", "ServerHello", {"version": "0x0303", "cipher": 0xC023})]
    assert _worst(run, good) is Verdict.PASS
    refused = [_sdp_res("NONE"), good[1]]
    assert _verdicts(run, refused)[0] is Verdict.FAIL
    for wrong in ({"version": "0x0303", "cipher": 0xC02B}, {"version": "0x0304", "cipher": 0x1301}):
        assert _verdicts(run, [good[0], _event(5, DUT, "TLS", "ServerHello", wrong)])[1] is Verdict.FAIL
    assert _verdicts(run, [good[0]])[1] is Verdict.FAIL  # no TLS at all


def test_secc_session_inside_tls() -> None:
    run = _secc_run()
    steps.secc_session_in_tls(run)
    good = [
        _event(6, DUT, "AppProtocol", "supportedAppProtocolRes"),
        _event(30, DUT, "ISO-2", "SessionStopRes"),
    ]
    assert _worst(run, good) is Verdict.PASS
    assert _worst(run, good[:1]) is Verdict.FAIL  # the session did not end inside TLS


def test_secc_refusing_plain_tcp_on_its_tls_port() -> None:
    run = _secc_run()
    steps.secc_refuses_plain(run)
    plain_request = _event(4, TESTER, "AppProtocol", "supportedAppProtocolReq")
    refused = [plain_request, _event(5, DUT, "TCP", "FIN")]
    assert _worst(run, refused) is Verdict.PASS
    # The wrong DUT: it granted TLS, yet answers the plain handshake and goes on in the clear.
    served = [plain_request, _event(5, DUT, "AppProtocol", "supportedAppProtocolRes")]
    assert _worst(run, served) is Verdict.FAIL
    # The tester never sent its plain request: nothing to conclude.
    assert _worst(run, [_event(5, DUT, "TCP", "FIN")]) is Verdict.INCONCLUSIVE


# --- the EVCC under test -------------------------------------------------------------------------------


def test_evcc_asks_for_tls_and_opens_it() -> None:
    run = _evcc_run()
    steps.evcc_asked_tls(run)
    steps.evcc_negotiated(run)
    steps.evcc_session_in_tls(run)
    request = TimelineEvent(
        0.0, 1, DUT, "ff02::1", "SDP", "SECCDiscoveryReq", {"Security": "TLS"}, None, 40000, 15118
    )
    good = [
        request,
        _event(3, DUT, "TLS", "ClientHello", {"version": "0x0303"}, secc=TESTER),
        _event(4, TESTER, "TLS", "ServerHello", {"version": "0x0303", "cipher": 0xC023}, secc=TESTER),
        _event(6, DUT, "AppProtocol", "supportedAppProtocolReq", secc=TESTER),
        _event(30, DUT, "ISO-2", "SessionStopReq", secc=TESTER),
    ]
    assert _worst(run, good) is Verdict.PASS
    plain = TimelineEvent(
        0.0, 1, DUT, "ff02::1", "SDP", "SECCDiscoveryReq", {"Security": "NONE"}, None, 40000, 15118
    )
    assert _verdicts(run, [plain, *good[1:]])[0] is Verdict.FAIL
    assert _worst(run, [request, *good[3:]]) is Verdict.FAIL  # V2G in the clear: no TLS handshake


def test_evcc_aborting_on_a_chain_it_cannot_verify() -> None:
    run = _evcc_run()
    steps.evcc_aborts(run, "unknown_ca")
    hello = [
        _event(3, DUT, "TLS", "ClientHello", {"version": "0x0303"}, secc=TESTER),
        _event(4, TESTER, "TLS", "ServerHello", {"version": "0x0303", "cipher": 0xC023}, secc=TESTER),
    ]
    assert (
        _worst(run, [*hello, _event(5, DUT, "TLS", "Alert", {"description": 48}, secc=TESTER)])
        is Verdict.PASS
    )
    # The wrong DUT: it accepts the chain (no alert) and starts its V2G session inside TLS.
    accepted = [*hello, _event(6, DUT, "AppProtocol", "supportedAppProtocolReq", secc=TESTER)]
    assert _worst(run, accepted) is Verdict.FAIL
    # An alert that is no certificate alert is not the refusal the scenario asks for.
    assert (
        _worst(run, [*hello, _event(5, DUT, "TLS", "Alert", {"description": 40}, secc=TESTER)])
        is Verdict.FAIL
    )
