"""Steps for SECC discovery (SDP), both tester roles."""

from __future__ import annotations

from pytest_bdd import given, parsers, then, when

from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECC_PORT_MAX,
    SECC_PORT_MIN,
    SECURITY_NAMES,
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_NAMES,
    SeccDiscoveryReq,
)
from harness.protocol.din70121.timing import COMMUNICATION_SETUP_TIMER
from harness.protocol.sdp import SDP_MAX_REQUESTS, offered_security
from harness.scenario import ScenarioRun, required
from harness.testers.sdp import (
    OBSERVATION_FACTOR,
    QUIET_INTERVALS,
    SdpEvccTester,
    SdpSeccTester,
    malformed_sdp_request,
)
from harness.verdict.checks import sdp
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    Fields,
    Interval,
    NoResponse,
    Present,
    ResponseTime,
    absent,
    between,
    eq,
    prefix,
    repeated,
    sequence,
)
from harness.verdict.verdicts import Inconclusive, Verdict

_SECURITY_BY_NAME = {v.lower(): k for k, v in SECURITY_NAMES.items()}
_TRANSPORT_BY_NAME = {v.lower(): k for k, v in TRANSPORT_NAMES.items()}
# The link-local prefix of an SECC's IPv6 address (ISO 15118-2 7.10.1: SDP announces a link-local one).
_LINK_LOCAL_PREFIX = "fe80:"
# Observation windows the tester SECC waits beyond the ignored requests: the answered one and a spare.
ANSWERED_AND_SPARE_WINDOWS = 2
# On loopback there is no link-local address: the SECC announces ::1.
_LOOPBACK = "::1"


def _wait(run: ScenarioRun) -> float:
    return run.timer("SDP_RESPONSE_WAIT")


def _evcc_setup_timeout(run: ScenarioRun) -> float:
    """DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout (PIXIT): an EVCC that has not begun
    SDP this long after plug-in will not."""
    return run.timer(COMMUNICATION_SETUP_TIMER)


def _evcc(run: ScenarioRun) -> SdpEvccTester:
    return required(run.sdp.evcc, "SDP tester EVCC")


def _secc(run: ScenarioRun) -> SdpSeccTester:
    return required(run.sdp.secc, "SDP tester SECC")


# --- tester as EVCC, DUT as SECC ---------------------------------------------------------------


@given("the tester is an EVCC on the link")
def tester_is_evcc(vgi_scenario: ScenarioRun) -> None:
    tester = SdpEvccTester(vgi_scenario.bench.link, vgi_scenario.observer)
    vgi_scenario.bench.run(tester.open())
    vgi_scenario.claim_port(tester.local_port)
    vgi_scenario.sdp.evcc = tester
    vgi_scenario.cleanups.append(tester.close)


@when(
    parsers.parse(
        'the tester sends a SECCDiscoveryReq asking for security "{security}" and transport "{transport}"'
    )
)
def send_discovery(vgi_scenario: ScenarioRun, security: str, transport: str) -> None:
    request = SeccDiscoveryReq(_SECURITY_BY_NAME[security.lower()], _TRANSPORT_BY_NAME[transport.lower()])
    wait = OBSERVATION_FACTOR * _wait(vgi_scenario)
    vgi_scenario.sdp.observed_s = wait
    vgi_scenario.bench.run(_evcc(vgi_scenario).discover(request, wait))


@when(parsers.parse("the tester sends an SDP request with a wrong {defect}"))
def send_malformed(vgi_scenario: ScenarioRun, defect: str) -> None:
    vgi_scenario.bench.run(
        _evcc(vgi_scenario).send_and_wait(
            malformed_sdp_request(defect), OBSERVATION_FACTOR * _wait(vgi_scenario)
        )
    )


@then("the SECC answers every valid SECCDiscoveryReq")
def secc_answers(vgi_scenario: ScenarioRun) -> None:
    observed = vgi_scenario.sdp.observed_s
    vgi_scenario.expect(
        ResponseTime(
            sdp.discovery_request(TESTER),
            sdp.discovery_response(DUT),
            observed if observed is not None else OBSERVATION_FACTOR * _wait(vgi_scenario),
        ),
        "the SECC answers each valid SECCDiscoveryReq",
        sdp.SDP_SECC_01,
    )


@then("the SECC answers within the EVCC's SDP_RESPONSE_WAIT")
def secc_answers_in_time(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ResponseTime(sdp.discovery_request(TESTER), sdp.discovery_response(DUT), _wait(vgi_scenario)),
        "SECCDiscoveryRes within SDP_RESPONSE_WAIT",
        sdp.SDP_SECC_04,
    )


@then("every SECCDiscoveryRes is well formed")
def response_well_formed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        absent(sdp.malformed_sdp(DUT)), "no malformed SDP frame from the SECC", sdp.SDP_SECC_02
    )
    loopback = vgi_scenario.bench.link.mode == "loopback"
    vgi_scenario.expect(
        Fields(
            sdp.discovery_response(DUT),
            {
                "SECCIPAddress": eq(_LOOPBACK) if loopback else prefix(_LINK_LOCAL_PREFIX),
                "SECCPort": between(SECC_PORT_MIN, SECC_PORT_MAX),
                "TransportProtocol": "TCP",
                "sport": SDP_SERVER_PORT,
            },
        ),
        "SECCDiscoveryRes fields: link-local address, dynamic port, TCP, from port 15118",
        sdp.SDP_SECC_02,
    )


@then(parsers.parse('the SECC states the security it will use for a request of "{security}"'))
def security_honoured(vgi_scenario: ScenarioRun, security: str) -> None:
    requested = _SECURITY_BY_NAME[security.lower()]
    offered = offered_security(vgi_scenario.bench.lab.config.pics.supports)
    expected = (
        requested if requested in offered else (SECURITY_NONE if SECURITY_NONE in offered else SECURITY_TLS)
    )
    vgi_scenario.expect(
        Fields(sdp.discovery_response(DUT), {"Security": SECURITY_NAMES[expected]}),
        f"requested security {SECURITY_NAMES[requested]}, PICS offers "
        f"{'/'.join(SECURITY_NAMES[s] for s in offered)}: response must say {SECURITY_NAMES[expected]}",
        sdp.SDP_SECC_03,
    )


@then("the SECC does not answer the malformed request")
def malformed_ignored(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        NoResponse(
            sdp.malformed_sdp(TESTER), sdp.discovery_response(DUT), OBSERVATION_FACTOR * _wait(vgi_scenario)
        ),
        "no SECCDiscoveryRes to a malformed request",
        sdp.SDP_SECC_05,
    )


# --- tester as SECC, DUT as EVCC ---------------------------------------------------------------


@given("the tester is an SECC on the link")
def tester_is_secc(vgi_scenario: ScenarioRun) -> None:
    tester = SdpSeccTester(vgi_scenario.bench.link, vgi_scenario.observer, (SECURITY_NONE, SECURITY_TLS))
    vgi_scenario.bench.run(tester.open())
    for port in tester.local_ports:
        vgi_scenario.claim_port(port)
    vgi_scenario.sdp.secc = tester
    vgi_scenario.cleanups.append(lambda: vgi_scenario.bench.run(tester.close()))


@given("the tester ignores the first SDP requests, as many as PIXIT sdp_silent_requests")
def ignore_first(vgi_scenario: ScenarioRun) -> None:
    _secc(vgi_scenario).ignore_first = vgi_scenario.bench.lab.config.pixit.sdp_silent_requests


@given("the tester ignores every SDP request")
def ignore_all(vgi_scenario: ScenarioRun) -> None:
    _secc(vgi_scenario).ignore_first = None


def _await_first_request(run: ScenarioRun, tester: SdpSeccTester) -> None:
    timeout = _evcc_setup_timeout(run)
    if not run.bench.run(tester.wait_first_request(timeout)):
        raise Inconclusive(f"the EVCC sent no SECCDiscoveryReq within {timeout:g} s of plug-in")


@when("the tester answers the EVCC's next SECCDiscoveryReq")
def answer_next(vgi_scenario: ScenarioRun) -> None:
    tester = _secc(vgi_scenario)
    _await_first_request(vgi_scenario, tester)
    silent = tester.ignore_first or 0
    # the ignored requests and the answered one (one observation window each), one window more, and the
    # DUT's TCP connect (within V2G_EVCC_CommunicationSetup_Timeout)
    windows = silent + ANSWERED_AND_SPARE_WINDOWS
    budget = windows * OBSERVATION_FACTOR * _wait(vgi_scenario) + _evcc_setup_timeout(vgi_scenario)
    vgi_scenario.sdp.announced_port = tester.port
    # Whether and when the EVCC connected is judged from the capture by the Then steps.
    vgi_scenario.bench.run(tester.wait_connected(budget))


@when("the EVCC has stopped sending SDP requests")
def wait_until_quiet(vgi_scenario: ScenarioRun) -> None:
    tester = _secc(vgi_scenario)
    _await_first_request(vgi_scenario, tester)
    interval = _wait(vgi_scenario)
    vgi_scenario.bench.run(
        tester.wait_quiet(QUIET_INTERVALS * interval, (SDP_MAX_REQUESTS + QUIET_INTERVALS) * interval)
    )


@then("the EVCC waits at least SDP_RESPONSE_WAIT before repeating a request")
def retry_interval(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Interval(
            sdp.discovery_request(DUT),
            min_s=_wait(vgi_scenario),
            tolerance_s=vgi_scenario.capture_jitter_s,
            on_missing=Verdict.INCONCLUSIVE,
        ),
        "SECCDiscoveryReq repetitions at least SDP_RESPONSE_WAIT apart",
        sdp.SDP_EVCC_01,
    )


@then("every SECCDiscoveryReq of the EVCC is well formed")
def requests_well_formed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        absent(sdp.malformed_sdp(DUT)), "no malformed SDP frame from the EVCC", sdp.SDP_EVCC_03
    )
    vgi_scenario.expect(
        Fields(
            sdp.discovery_request(DUT),
            {
                "TransportProtocol": "TCP",
                "dport": SDP_SERVER_PORT,
                "dst": vgi_scenario.bench.link.sdp_destination,
            },
        ),
        "SECCDiscoveryReq asks for TCP and goes to the SDP group, port 15118",
        sdp.SDP_EVCC_03,
    )


@then("the EVCC stops requesting once answered and connects to the announced port")
def connects_after_answer(vgi_scenario: ScenarioRun) -> None:
    port = required(vgi_scenario.sdp.announced_port, "port announced by the tester SECC")
    vgi_scenario.expect(
        sequence(
            repeated(sdp.discovery_request(DUT)),
            sdp.discovery_response(TESTER),
            sdp.tcp_connect(DUT, dport=port),
        ),
        "requests until answered, then a TCP connection to the announced port and no more requests",
        sdp.SDP_EVCC_04,
    )


@then("the EVCC sends at most SDP_MAX_REQUESTS SECCDiscoveryReq")
def at_most_max(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(sdp.discovery_request(DUT), min=1, max=SDP_MAX_REQUESTS, on_missing=Verdict.INCONCLUSIVE),
        f"at most {SDP_MAX_REQUESTS} SECCDiscoveryReq while unanswered",
        sdp.SDP_EVCC_02,
    )
