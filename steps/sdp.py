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
from harness.devices.secc import offered_security
from harness.protocol.sdp import SDP_MAX_REQUESTS
from harness.scenario import ScenarioRun
from harness.testers.sdp import (
    OBSERVATION_FACTOR,
    QUIET_INTERVALS,
    SdpEvccTester,
    SdpSeccTester,
    malformed_sdp_request,
)
from harness.verdict.verdicts import Inconclusive

# DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout (20 s): an EVCC that has not begun
# SDP by then after plug-in will not.
EVCC_FIRST_REQUEST_TIMEOUT_S = 20.0

_SECURITY_BY_NAME = {v.lower(): k for k, v in SECURITY_NAMES.items()}
_TRANSPORT_BY_NAME = {v.lower(): k for k, v in TRANSPORT_NAMES.items()}
_REQ = {"protocol": "SDP", "message": "SECCDiscoveryReq"}
_RES = {"protocol": "SDP", "message": "SECCDiscoveryRes"}


def _wait(run: ScenarioRun) -> float:
    return run.bench.lab.config.pixit.timer("SDP_RESPONSE_WAIT")


def _jitter(run: ScenarioRun) -> float:
    return run.bench.lab.config.pixit.capture_jitter_s


def _link_local(run: ScenarioRun) -> dict:
    # On loopback there is no link-local address: the SECC announces ::1.
    return {"eq": "::1"} if run.bench.link.mode == "loopback" else {"prefix": "fe80:"}


# --- tester as EVCC, DUT as SECC ---------------------------------------------------------------


@given("the tester is an EVCC on the link")
def tester_is_evcc(vgi_scenario: ScenarioRun) -> None:
    tester = SdpEvccTester(vgi_scenario.bench.link, vgi_scenario.observer)
    vgi_scenario.bench.run(tester.open())
    vgi_scenario.claim_port(tester.local_port)
    vgi_scenario.values["evcc_tester"] = tester
    vgi_scenario.cleanups.append(tester.close)


@when(
    parsers.parse(
        'the tester sends a SECCDiscoveryReq asking for security "{security}" and transport "{transport}"'
    )
)
def send_discovery(vgi_scenario: ScenarioRun, security: str, transport: str) -> None:
    tester: SdpEvccTester = vgi_scenario.values["evcc_tester"]
    request = SeccDiscoveryReq(_SECURITY_BY_NAME[security.lower()], _TRANSPORT_BY_NAME[transport.lower()])
    wait = OBSERVATION_FACTOR * _wait(vgi_scenario)
    vgi_scenario.values["sdp_observed_s"] = wait
    vgi_scenario.bench.run(tester.discover(request, wait))


@when(parsers.parse("the tester sends an SDP request with a wrong {defect}"))
def send_malformed(vgi_scenario: ScenarioRun, defect: str) -> None:
    tester: SdpEvccTester = vgi_scenario.values["evcc_tester"]
    vgi_scenario.bench.run(
        tester.send_and_wait(malformed_sdp_request(defect), OBSERVATION_FACTOR * _wait(vgi_scenario))
    )


@then("the SECC answers every valid SECCDiscoveryReq")
def secc_answers(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "response_time",
            "request": {**_REQ, "from": "tester"},
            "response": {**_RES, "from": "dut"},
            "max_s": vgi_scenario.values.get("sdp_observed_s", OBSERVATION_FACTOR * _wait(vgi_scenario)),
        },
        "the SECC answers each valid SECCDiscoveryReq",
        "SDP-SECC-01",
    )


@then("the SECC answers within the EVCC's SDP_RESPONSE_WAIT")
def secc_answers_in_time(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "response_time",
            "request": {**_REQ, "from": "tester"},
            "response": {**_RES, "from": "dut"},
            "max_s": _wait(vgi_scenario),
        },
        "SECCDiscoveryRes within SDP_RESPONSE_WAIT",
        "SDP-SECC-04",
    )


@then("every SECCDiscoveryRes is well formed")
def response_well_formed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": {"protocol": "SDP", "error": True, "from": "dut"}, "min": 0, "max": 0},
        "no malformed SDP frame from the SECC",
        "SDP-SECC-02",
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": {**_RES, "from": "dut"},
            "where": {
                "SECCIPAddress": _link_local(vgi_scenario),
                "SECCPort": {"range": [SECC_PORT_MIN, SECC_PORT_MAX]},
                "TransportProtocol": "TCP",
                "sport": SDP_SERVER_PORT,
            },
        },
        "SECCDiscoveryRes fields: link-local address, dynamic port, TCP, from port 15118",
        "SDP-SECC-02",
    )


@then(parsers.parse('the SECC states the security it will use for a request of "{security}"'))
def security_honoured(vgi_scenario: ScenarioRun, security: str) -> None:
    requested = _SECURITY_BY_NAME[security.lower()]
    offered = offered_security(vgi_scenario.bench.lab.config)
    expected = (
        requested if requested in offered else (SECURITY_NONE if SECURITY_NONE in offered else SECURITY_TLS)
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": {**_RES, "from": "dut"},
            "where": {"Security": SECURITY_NAMES[expected]},
        },
        f"requested security {SECURITY_NAMES[requested]}, PICS offers "
        f"{'/'.join(SECURITY_NAMES[s] for s in offered)}: response must say {SECURITY_NAMES[expected]}",
        "SDP-SECC-03",
    )


@then("the SECC does not answer the malformed request")
def malformed_ignored(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "no_response",
            "request": {"protocol": "SDP", "error": True, "from": "tester"},
            "response": {**_RES, "from": "dut"},
            "window_s": OBSERVATION_FACTOR * _wait(vgi_scenario),
        },
        "no SECCDiscoveryRes to a malformed request",
        "SDP-SECC-05",
    )


# --- tester as SECC, DUT as EVCC ---------------------------------------------------------------


@given("the tester is an SECC on the link")
def tester_is_secc(vgi_scenario: ScenarioRun) -> None:
    tester = SdpSeccTester(vgi_scenario.bench.link, vgi_scenario.observer, (SECURITY_NONE, SECURITY_TLS))
    vgi_scenario.bench.run(tester.open())
    for port in tester.local_ports:
        vgi_scenario.claim_port(port)
    vgi_scenario.values["secc_tester"] = tester
    vgi_scenario.cleanups.append(lambda: vgi_scenario.bench.run(tester.close()))


@given("the tester ignores the first SDP requests, as many as PIXIT sdp_silent_requests")
def ignore_first(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.values["secc_tester"].ignore_first = vgi_scenario.bench.lab.config.pixit.sdp_silent_requests


@given("the tester ignores every SDP request")
def ignore_all(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.values["secc_tester"].ignore_first = None


def _await_first_request(run: ScenarioRun, tester: SdpSeccTester) -> None:
    if not run.bench.run(tester.wait_first_request(EVCC_FIRST_REQUEST_TIMEOUT_S)):
        raise Inconclusive(
            f"the EVCC sent no SECCDiscoveryReq within {EVCC_FIRST_REQUEST_TIMEOUT_S:g} s of plug-in"
        )


@when("the tester answers the EVCC's next SECCDiscoveryReq")
def answer_next(vgi_scenario: ScenarioRun) -> None:
    tester: SdpSeccTester = vgi_scenario.values["secc_tester"]
    _await_first_request(vgi_scenario, tester)
    silent = tester.ignore_first or 0
    # the ignored requests, the answered one, and the DUT's TCP connect
    budget = (silent + 2) * OBSERVATION_FACTOR * _wait(vgi_scenario) + EVCC_FIRST_REQUEST_TIMEOUT_S
    vgi_scenario.values["announced_port"] = tester.port
    # Whether and when the EVCC connected is judged from the capture by the Then steps.
    vgi_scenario.bench.run(tester.wait_connected(budget))


@when("the EVCC has stopped sending SDP requests")
def wait_until_quiet(vgi_scenario: ScenarioRun) -> None:
    tester: SdpSeccTester = vgi_scenario.values["secc_tester"]
    _await_first_request(vgi_scenario, tester)
    interval = _wait(vgi_scenario)
    vgi_scenario.bench.run(
        tester.wait_quiet(QUIET_INTERVALS * interval, (SDP_MAX_REQUESTS + QUIET_INTERVALS) * interval)
    )


@then("the EVCC waits at least SDP_RESPONSE_WAIT before repeating a request")
def retry_interval(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "interval",
            "select": {**_REQ, "from": "dut"},
            "min_s": _wait(vgi_scenario),
            "tolerance_s": _jitter(vgi_scenario),
            "on_missing": "INCONCLUSIVE",
        },
        "SECCDiscoveryReq repetitions at least SDP_RESPONSE_WAIT apart",
        "SDP-EVCC-01",
    )


@then("every SECCDiscoveryReq of the EVCC is well formed")
def requests_well_formed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": {"protocol": "SDP", "error": True, "from": "dut"}, "min": 0, "max": 0},
        "no malformed SDP frame from the EVCC",
        "SDP-EVCC-03",
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": {**_REQ, "from": "dut"},
            "where": {
                "TransportProtocol": "TCP",
                "dport": SDP_SERVER_PORT,
                "dst": vgi_scenario.bench.link.sdp_destination,
            },
        },
        "SECCDiscoveryReq asks for TCP and goes to the SDP group, port 15118",
        "SDP-EVCC-03",
    )


@then("the EVCC stops requesting once answered and connects to the announced port")
def connects_after_answer(vgi_scenario: ScenarioRun) -> None:
    port = vgi_scenario.values["announced_port"]
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": {**_REQ, "from": "dut"}, "min": 1, "max": None},
                {"select": {**_RES, "from": "tester"}},
                {"select": {"protocol": "TCP", "message": "SYN", "from": "dut", "where": {"dport": port}}},
            ],
        },
        "requests until answered, then a TCP connection to the announced port and no more requests",
        "SDP-EVCC-04",
    )


@then("the EVCC sends at most SDP_MAX_REQUESTS SECCDiscoveryReq")
def at_most_max(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": {**_REQ, "from": "dut"},
            "min": 1,
            "max": SDP_MAX_REQUESTS,
            "on_missing": "INCONCLUSIVE",
        },
        f"at most {SDP_MAX_REQUESTS} SECCDiscoveryReq while unanswered",
        "SDP-EVCC-02",
    )
