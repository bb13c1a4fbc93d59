"""Steps for DIN SPEC 70121 DC charging (SAE J2847/2), both tester roles.

When-steps drive the tester (the reference EV or charger plus faults); Then-steps only register
expectations over the capture's timeline, where DIN messages appear with protocol ``DIN`` (the
supportedAppProtocol handshake as ``AppProtocol``) and their decoded dict as fields.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.protocol.din70121.faults import FOREIGN_SESSION_ID
from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.protocol.din70121.secc import DC_ENERGY_TRANSFER_TYPES
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.sdp import SDP_MAX_REQUESTS
from harness.scenario import ScenarioRun
from harness.testers.din70121 import (
    DISCOVERY_ATTEMPTS,
    DinEvTester,
    DinSeccTester,
    TesterSetup,
    named_fault,
)
from harness.transport.v2g import SessionOutcome
from harness.verdict.verdicts import Inconclusive

# The longest a scenario's session may take before the tester gives up on it: a simulated session takes
# seconds; a real EV or charger with a full cable check and precharge well under a minute.
SESSION_LIMIT_S = 90.0
# DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout: an EVCC that has not set up its session
# this long after plug-in will not.
EVCC_START_TIMEOUT_S = 20.0
# The SessionID the tester SECC hands out (8 bytes, DIN SPEC 70121 8.4.3.2), fixed so that expectations
# can name it before the session ran.
TESTER_SESSION_ID = "5E55101D00C0FFEE"

# The J2836/2 stages of a DC session and the DIN SPEC 70121 requests of each.
STAGES: dict[str, tuple[str, ...]] = {
    "associate": (
        "supportedAppProtocolReq",
        "SessionSetupReq",
        "ServiceDiscoveryReq",
        "ServicePaymentSelectionReq",
        "ContractAuthenticationReq",
    ),
    "initialize": ("ChargeParameterDiscoveryReq", "CableCheckReq"),
    "precharge": ("PreChargeReq",),
    "energy-transfer": ("PowerDeliveryReq", "CurrentDemandReq"),
    "shutdown": ("WeldingDetectionReq", "SessionStopReq"),
}
# The DIN DC session's requests as a sequence pattern: (name, min, max) with None for unbounded
# (DIN SPEC 70121 8.4: ContractAuthentication, ChargeParameterDiscovery, CableCheck, PreCharge and
# WeldingDetection may repeat; CurrentDemand loops).
SESSION_PATTERN: tuple[tuple[str, int, int | None], ...] = (
    ("supportedAppProtocolReq", 1, 1),
    ("SessionSetupReq", 1, 1),
    ("ServiceDiscoveryReq", 1, 1),
    ("ServicePaymentSelectionReq", 1, 1),
    ("ContractAuthenticationReq", 1, None),
    ("ChargeParameterDiscoveryReq", 1, None),
    ("CableCheckReq", 1, None),
    ("PreChargeReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("CurrentDemandReq", 1, None),
    ("PowerDeliveryReq", 1, 1),
    ("WeldingDetectionReq", 0, None),
    ("SessionStopReq", 1, 1),
)
SID = "V2G_Message.Header.SessionID"


def _protocol(name: str) -> str:
    return "AppProtocol" if name.startswith("supportedAppProtocol") else "DIN"


def _path(name: str, field: str) -> str:
    """The dotted field path of ``field`` in message ``name`` as the timeline holds it."""
    if name.startswith("supportedAppProtocol"):
        return f"{name}.{field}"
    return f"V2G_Message.Body.{name}.{field}"


def _sel(name: str, who: str, where: dict[str, Any] | None = None) -> dict[str, Any]:
    selector: dict[str, Any] = {"protocol": _protocol(name), "message": name, "from": who}
    if where:
        selector["where"] = where
    return selector


def _timings(run: ScenarioRun) -> DinTimings:
    return DinTimings.from_lab(run.bench.lab.config.pixit.timer)


def _setup(run: ScenarioRun) -> TesterSetup:
    if "din_setup" not in run.values:
        run.values["din_setup"] = TesterSetup(timings=_timings(run))
    return run.values["din_setup"]


def _add_fault(run: ScenarioRun, kind: str, message: str, occurrence: int = 1, **options: Any) -> None:
    _setup(run).faults.append(named_fault(kind, message, occurrence, **options))


# --- tester as EV, DUT as SECC ---------------------------------------------------------------------------


@given("the tester is a DIN SPEC 70121 EV that found the SECC with SDP")
def tester_is_ev(vgi_scenario: ScenarioRun) -> None:
    tester = DinEvTester(vgi_scenario.bench.link, vgi_scenario.observer, _setup(vgi_scenario))
    vgi_scenario.bench.run(tester.open())
    vgi_scenario.cleanups.append(tester.close)
    vgi_scenario.values["din_ev"] = tester
    if not _discover(vgi_scenario, tester):
        raise Inconclusive("the SECC answered no SECCDiscoveryReq, so no DIN SPEC 70121 session could start")


def _discover(run: ScenarioRun, tester: DinEvTester, attempts: int = DISCOVERY_ATTEMPTS) -> bool:
    for port in tester.local_ports:
        run.claim_port(port)
    return run.bench.run(tester.discover(attempts)) is not None


def _charge(run: ScenarioRun) -> SessionOutcome:
    tester: DinEvTester = run.values["din_ev"]
    try:
        outcome = run.bench.run(tester.charge(SESSION_LIMIT_S), SESSION_LIMIT_S + 10)
    except OSError as exc:
        raise Inconclusive(f"the SECC did not accept the V2G TCP connection: {exc}") from None
    finally:
        for port in tester.local_ports:
            run.claim_port(port)
    run.values.setdefault("din_outcomes", []).append(outcome)
    return outcome


@when("the tester charges through a complete DIN SPEC 70121 session")
def charge_complete(vgi_scenario: ScenarioRun) -> None:
    _charge(vgi_scenario)


@when(parsers.parse("the tester sends {request} number {n:d} with a foreign SessionID"))
def send_foreign_session(vgi_scenario: ScenarioRun, request: str, n: int) -> None:
    _add_fault(vgi_scenario, "wrong session id", request, n)
    _charge(vgi_scenario)


@when(parsers.parse("the tester sends {sent} in place of {expected}"))
def send_out_of_sequence(vgi_scenario: ScenarioRun, sent: str, expected: str) -> None:
    _add_fault(vgi_scenario, "out of sequence", expected, 1, send=sent)
    _charge(vgi_scenario)


@when(parsers.parse("the tester sends ServiceDiscoveryReq as {defect}"))
def send_malformed_request(vgi_scenario: ScenarioRun, defect: str) -> None:
    _add_fault(vgi_scenario, defect.lower(), "ServiceDiscoveryReq")
    _charge(vgi_scenario)


@when(parsers.parse("the tester charges and the EV asks to stop after CurrentDemandRes number {n:d}"))
def charge_and_stop(vgi_scenario: ScenarioRun, n: int) -> None:
    _setup(vgi_scenario).stop_on = ("CurrentDemandRes", n)
    _charge(vgi_scenario)


@when(parsers.parse('the tester asks for energy transfer type "{transfer}"'))
def ask_energy_transfer(vgi_scenario: ScenarioRun, transfer: str) -> None:
    # The reference EV would refuse an SECC that offers only DC; the request is rewritten on its way out.
    _add_fault(
        vgi_scenario,
        "body fields",
        "ChargeParameterDiscoveryReq",
        fields={"EVRequestedEnergyTransferType": transfer},
    )
    _charge(vgi_scenario)


@when(parsers.parse("the tester resets the TCP connection in place of CurrentDemandReq number {n:d}"))
def reset_connection(vgi_scenario: ScenarioRun, n: int) -> None:
    _add_fault(vgi_scenario, "tcp reset", "CurrentDemandReq", n)
    _charge(vgi_scenario)


@when("the tester discovers the SECC again and charges through a complete session")
def charge_again(vgi_scenario: ScenarioRun) -> None:
    _setup(vgi_scenario).faults.clear()
    # An EVCC keeps asking for up to SDP_MAX_REQUESTS; an SECC that never answers again fails the
    # scenario's expectations (the first session proved it can), it does not make it inconclusive.
    if _discover(vgi_scenario, vgi_scenario.values["din_ev"], SDP_MAX_REQUESTS):
        _charge(vgi_scenario)


def _secc_session_id(run: ScenarioRun) -> dict[str, Any]:
    """The SessionID the SECC assigned, as the tester saw it (the capture shows the same)."""
    for outcome in run.values.get("din_outcomes", []):
        for record in outcome.records:
            if record.direction == "received" and record.name == "SessionSetupRes" and record.message:
                return {"eq": record.message["V2G_Message"]["Header"]["SessionID"]}
    return {"ne": "00"}


def _expect_ok_responses(run: ScenarioRun, requests: tuple[str, ...], requirement: str) -> None:
    session = _secc_session_id(run)
    for request in requests:
        response = REQUEST_TO_RESPONSE[request]
        where: dict[str, Any] = {_path(response, "ResponseCode"): {"prefix": "OK"}}
        if _protocol(response) == "DIN":
            where[SID] = session
        run.expect(
            {"kind": "fields", "select": _sel(response, "dut"), "where": where, "on_missing": "FAIL"},
            f"every {response} says OK and carries the session's SessionID",
            requirement,
        )


def _expect_answer_times(run: ScenarioRun, requests: tuple[str, ...]) -> None:
    timings = _timings(run)
    for request in requests:
        response = REQUEST_TO_RESPONSE[request]
        budget = timings.performance_time_s(request)
        if budget is None:
            limit, requirement, what = timings.evcc_msg_timeout_s, "DIN-SECC-TIME-02", "V2G_EVCC_Msg_Timeout"
        else:
            limit, requirement, what = budget, "DIN-SECC-TIME-01", "the SECC performance time"
        run.expect(
            {
                "kind": "response_time",
                "request": _sel(request, "tester"),
                "response": _sel(response, "dut"),
                "max_s": limit,
                "on_missing": "NOT_APPLICABLE",
            },
            f"every {request} answered within {what}",
            requirement,
        )


def _sequence(names: list[tuple[str, int, int | None]], who: str) -> list[dict[str, Any]]:
    return [{"select": _sel(name, who), "min": low, "max": high} for name, low, high in names]


@then("the SECC's responses follow the DIN SPEC 70121 DC session sequence")
def secc_sequence(vgi_scenario: ScenarioRun) -> None:
    pattern = [(REQUEST_TO_RESPONSE[name], low, high) for name, low, high in SESSION_PATTERN]
    vgi_scenario.expect(
        {"kind": "sequence", "pattern": _sequence(pattern, "dut")},
        "one response per request through the whole DC session, in DIN SPEC 70121 order",
        "DIN-SECC-03",
    )


@then("the SECC answers every request with an OK code and the session's SessionID")
def secc_ok_codes(vgi_scenario: ScenarioRun) -> None:
    _expect_secc_ok_codes(vgi_scenario)


def _expect_secc_ok_codes(vgi_scenario: ScenarioRun) -> None:
    _expect_ok_responses(vgi_scenario, tuple(REQUEST_TO_RESPONSE), "DIN-SECC-03")
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": _sel("supportedAppProtocolRes", "dut"),
            "where": {
                _path("supportedAppProtocolRes", "ResponseCode"): {"prefix": "OK_SuccessfulNegotiation"},
                _path("supportedAppProtocolRes", "SchemaID"): _setup(vgi_scenario).evcc_config.schema_id,
            },
        },
        "supportedAppProtocolRes selects the offered DIN SPEC 70121 SchemaID",
        "DIN-SECC-01",
    )
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": _sel("SessionSetupRes", "dut"),
            "where": {
                _path("SessionSetupRes", "ResponseCode"): "OK_NewSessionEstablished",
                SID: {"ne": "00"},
            },
        },
        "SessionSetupRes establishes a new session with a non-zero SessionID",
        "DIN-SECC-02",
    )


@then("the SECC answers every request within V2G_EVCC_Msg_Timeout")
def secc_in_time(vgi_scenario: ScenarioRun) -> None:
    _expect_answer_times(vgi_scenario, tuple(r for r in REQUEST_TO_RESPONSE if r != "CurrentDemandReq"))


@then("the SECC answers every CurrentDemandReq within its performance time")
def secc_current_demand_in_time(vgi_scenario: ScenarioRun) -> None:
    _expect_answer_times(vgi_scenario, ("CurrentDemandReq",))


@then(parsers.parse("every DIN SPEC 70121 frame of the {role} decodes"))
def frames_decode(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": {"error": True, "from": "dut"}, "min": 0, "max": 0},
        f"no malformed frame from the {role}",
        "DIN-SECC-03" if role == "SECC" else "DIN-EVCC-03",
    )


_DC_TYPES = sorted(DC_ENERGY_TRANSFER_TYPES)


def _secc_stage_checks(run: ScenarioRun, stage: str) -> None:
    def fields(name: str, where: dict[str, Any], description: str, requirement: str) -> None:
        run.expect({"kind": "fields", "select": _sel(name, "dut"), "where": where}, description, requirement)

    present = {"ne": None}
    if stage == "associate":
        _expect_secc_ok_codes(run)
        fields(
            "ServiceDiscoveryRes",
            {
                _path("ServiceDiscoveryRes", "ChargeService.ServiceTag.ServiceID"): 1,
                _path("ServiceDiscoveryRes", "ChargeService.EnergyTransferType"): {"in": _DC_TYPES},
                _path("ServiceDiscoveryRes", "PaymentOptions.PaymentOption"): {
                    "in": [["ExternalPayment"], "ExternalPayment"]
                },
            },
            "the DC charge service with external payment is offered",
            "DIN-SECC-04",
        )
    elif stage == "initialize":
        _expect_ok_responses(run, STAGES[stage], "DIN-SECC-03")
        limits = "DC_EVSEChargeParameter"
        fields(
            "ChargeParameterDiscoveryRes",
            {
                _path("ChargeParameterDiscoveryRes", f"{limits}.EVSEMaximumVoltageLimit.Value"): present,
                _path("ChargeParameterDiscoveryRes", f"{limits}.EVSEMaximumCurrentLimit.Value"): present,
            },
            "ChargeParameterDiscoveryRes states the EVSE's DC limits",
            "DIN-SECC-05",
        )
        run.expect(
            {
                "kind": "present",
                "select": _sel(
                    "CableCheckRes",
                    "dut",
                    {
                        _path("CableCheckRes", "EVSEProcessing"): "Finished",
                        _path("CableCheckRes", "DC_EVSEStatus.EVSEIsolationStatus"): {
                            "in": ["Valid", "Warning"]
                        },
                    },
                ),
                "min": 1,
            },
            "the cable check finishes with isolation Valid or Warning",
            "DIN-SECC-05",
        )
    elif stage == "precharge":
        _expect_ok_responses(run, STAGES[stage], "DIN-SECC-03")
        fields(
            "PreChargeRes",
            {
                _path("PreChargeRes", "EVSEPresentVoltage.Value"): present,
                _path("PreChargeRes", "DC_EVSEStatus.EVSEStatusCode"): "EVSE_Ready",
            },
            "every PreChargeRes reports the present voltage with the EVSE ready",
            "DIN-SECC-06",
        )
    elif stage == "energy-transfer":
        _expect_ok_responses(run, STAGES[stage], "DIN-SECC-03")
        body = "CurrentDemandRes"
        fields(
            body,
            {
                _path(body, "EVSEPresentVoltage.Value"): present,
                _path(body, "EVSEPresentCurrent.Value"): present,
                _path(body, "EVSECurrentLimitAchieved"): {"in": [True, False]},
                _path(body, "EVSEVoltageLimitAchieved"): {"in": [True, False]},
                _path(body, "EVSEPowerLimitAchieved"): {"in": [True, False]},
                _path(body, "DC_EVSEStatus.EVSEStatusCode"): present,
            },
            "every CurrentDemandRes reports present values, limit flags and status",
            "DIN-SECC-07",
        )
    elif stage == "shutdown":
        _expect_ok_responses(run, ("PowerDeliveryReq", *STAGES[stage]), "DIN-SECC-08")
        fields(
            "WeldingDetectionRes",
            {_path("WeldingDetectionRes", "EVSEPresentVoltage.Value"): present},
            "WeldingDetectionRes reports the output voltage",
            "DIN-SECC-08",
        )
    else:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(STAGES)}")


@then(parsers.parse("the SECC's responses of the {stage} stage are correct"))
def secc_stage(vgi_scenario: ScenarioRun, stage: str) -> None:
    _secc_stage_checks(vgi_scenario, stage)


@then(parsers.parse("the SECC answers the requests of the {stage} stage in time"))
def secc_stage_in_time(vgi_scenario: ScenarioRun, stage: str) -> None:
    _expect_answer_times(vgi_scenario, STAGES[stage])


@then(parsers.parse('the SECC answers that {request} with response code "{code}"'))
def secc_refuses(vgi_scenario: ScenarioRun, request: str, code: str) -> None:
    response = REQUEST_TO_RESPONSE[request]
    # An answer that does not decode is the first thing to report (it is not the response code asked for).
    vgi_scenario.expect(
        {"kind": "present", "select": {"error": True, "from": "dut"}, "min": 0, "max": 0},
        "every frame of the SECC decodes",
        "DIN-SECC-03",
    )
    faulty = _sel(request, "tester")
    if code == "FAILED_UnknownSession":
        faulty["where"] = {SID: FOREIGN_SESSION_ID}
    vgi_scenario.expect(
        {
            "kind": "response_time",
            "request": faulty,
            "response": _sel(response, "dut", {_path(response, "ResponseCode"): code}),
            "max_s": _timings(vgi_scenario).evcc_msg_timeout_s,
        },
        f"{request} answered with {response} ResponseCode {code} within V2G_EVCC_Msg_Timeout",
        {
            "FAILED_UnknownSession": "DIN-SECC-09",
            "FAILED_SequenceError": "DIN-SECC-10",
            "FAILED_WrongEnergyTransferType": "DIN-SECC-12",
        }.get(code, "DIN-SECC-03"),
    )


@then("the SECC does not answer the request that does not decode")
def secc_ignores_malformed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "no_response",
            "request": {"error": True, "from": "tester"},
            "response": {"protocol": "DIN", "from": "dut"},
            "window_s": _timings(vgi_scenario).evcc_msg_timeout_s,
        },
        "no DIN response to the request that does not decode",
        "DIN-SECC-11",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": {"error": True, "from": "tester"}, "min": 1},
        "the malformed request is on the wire",
        "DIN-SECC-11",
    )


@then("the SECC accepts the EV's stop and ends the session with SessionStopRes OK")
def secc_accepts_stop(vgi_scenario: ScenarioRun) -> None:
    stop = _path("PowerDeliveryReq", "ReadyToChargeState")
    vgi_scenario.expect(
        {
            "kind": "response_time",
            "request": _sel("PowerDeliveryReq", "tester", {stop: False}),
            "response": _sel("PowerDeliveryRes", "dut", {_path("PowerDeliveryRes", "ResponseCode"): "OK"}),
            "max_s": _timings(vgi_scenario).evcc_msg_timeout_s,
        },
        "PowerDeliveryReq(ReadyToChargeState=false) during CurrentDemand is answered OK",
        "DIN-SECC-08",
    )
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": _sel("SessionStopRes", "dut", {_path("SessionStopRes", "ResponseCode"): "OK"}),
            "min": 1,
            "max": 1,
        },
        "the session ends with SessionStopRes OK",
        "DIN-SECC-08",
    )


@then("the SECC served a new session after the reset")
def secc_new_session(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": _sel(
                "SessionSetupRes",
                "dut",
                {_path("SessionSetupRes", "ResponseCode"): "OK_NewSessionEstablished"},
            ),
            "min": 2,
        },
        "a new session is set up on the connection after the reset",
        "DIN-SECC-13",
    )
    vgi_scenario.expect(
        {"kind": "present", "select": {"protocol": "TCP", "message": "RST", "from": "tester"}, "min": 1},
        "the tester's reset is on the wire",
        "DIN-SECC-13",
    )
    vgi_scenario.expect(
        {
            "kind": "present",
            "select": _sel("SessionStopRes", "dut", {_path("SessionStopRes", "ResponseCode"): "OK"}),
            "min": 1,
        },
        "the new session completes with SessionStopRes OK",
        "DIN-SECC-13",
    )


# --- tester as SECC, DUT as EVCC ---------------------------------------------------------------------------


@given("the tester is a DIN SPEC 70121 SECC on the link")
def tester_is_secc(vgi_scenario: ScenarioRun) -> None:
    setup = _setup(vgi_scenario)
    setup.secc_config = replace(setup.secc_config, session_id=TESTER_SESSION_ID)
    tester = DinSeccTester(vgi_scenario.bench.link, vgi_scenario.observer, setup)
    vgi_scenario.bench.run(tester.open())
    for port in tester.local_ports:
        vgi_scenario.claim_port(port)
    vgi_scenario.values["din_secc"] = tester
    vgi_scenario.cleanups.append(lambda: vgi_scenario.bench.run(tester.close()))


@given(parsers.parse('the tester answers {response} number {n:d} with response code "{code}"'))
def answer_failed(vgi_scenario: ScenarioRun, response: str, n: int, code: str) -> None:
    _add_fault(vgi_scenario, "response code", response, n, code=code)


@given(parsers.parse("the tester answers {response} number {n:d} with a foreign SessionID"))
def answer_foreign_session(vgi_scenario: ScenarioRun, response: str, n: int) -> None:
    _add_fault(vgi_scenario, "wrong session id", response, n)


@given(parsers.parse("the tester delays {response} number {n:d} by {delay:g} s"))
def delay_response(vgi_scenario: ScenarioRun, response: str, n: int, delay: float) -> None:
    _add_fault(vgi_scenario, "delay", response, n, seconds=delay)


@given(parsers.parse("the tester drops {response} number {n:d}"))
def drop_response(vgi_scenario: ScenarioRun, response: str, n: int) -> None:
    _add_fault(vgi_scenario, "drop", response, n)


@given(parsers.parse("the tester sends {response} number {n:d} as malformed EXI"))
def malformed_response(vgi_scenario: ScenarioRun, response: str, n: int) -> None:
    _add_fault(vgi_scenario, "malformed exi", response, n)


@given(parsers.parse("the tester reports an isolation fault in CableCheckRes number {n:d}"))
def isolation_fault(vgi_scenario: ScenarioRun, n: int) -> None:
    _add_fault(vgi_scenario, "isolation fault", "CableCheckRes", n)


@given(parsers.parse("the tester reports {status} in CurrentDemandRes number {n:d}"))
def evse_status(vgi_scenario: ScenarioRun, status: str, n: int) -> None:
    _add_fault(vgi_scenario, status, "CurrentDemandRes", n)


@when("the tester serves the EVCC's DIN SPEC 70121 session")
def serve_session(vgi_scenario: ScenarioRun) -> None:
    tester: DinSeccTester = vgi_scenario.values["din_secc"]
    if not vgi_scenario.bench.run(tester.wait_connected(EVCC_START_TIMEOUT_S + 5)):
        raise Inconclusive(f"the EVCC opened no V2G connection within {EVCC_START_TIMEOUT_S:g} s of plug-in")
    outcome = vgi_scenario.bench.run(tester.wait_session(SESSION_LIMIT_S), SESSION_LIMIT_S + 10)
    if outcome is not None:
        vgi_scenario.values.setdefault("din_outcomes", []).append(outcome)


@then("the EVCC negotiates DIN SPEC 70121 and continues with DIN messages")
def evcc_negotiates(vgi_scenario: ScenarioRun) -> None:
    _expect_evcc_negotiates(vgi_scenario)


def _expect_evcc_negotiates(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": _sel("supportedAppProtocolReq", "dut")},
                {
                    "select": _sel(
                        "supportedAppProtocolRes",
                        "tester",
                        {_path("supportedAppProtocolRes", "ResponseCode"): {"prefix": "OK"}},
                    )
                },
                {"select": _sel("SessionSetupReq", "dut")},
            ],
            "complete": False,
        },
        "supportedAppProtocolReq, DIN SPEC 70121 selected, then a DIN SessionSetupReq",
        "DIN-EVCC-01",
    )


@then("the EVCC's requests follow the DIN SPEC 70121 DC session sequence")
def evcc_sequence(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {"kind": "sequence", "pattern": _sequence(list(SESSION_PATTERN), "dut")},
        "the EVCC's requests through the whole DC session, in DIN SPEC 70121 order",
        "DIN-EVCC-03",
    )


@then("the EVCC's requests carry the session's SessionID")
def evcc_session_ids(vgi_scenario: ScenarioRun) -> None:
    _expect_evcc_session_ids(vgi_scenario)


def _expect_evcc_session_ids(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        {
            "kind": "fields",
            "select": _sel("SessionSetupReq", "dut"),
            "where": {
                SID: {"in": ["00", "0000000000000000"]},
                _path("SessionSetupReq", "EVCCID"): {"ne": None},
            },
        },
        "SessionSetupReq starts a new session (SessionID 0) and names the EVCC",
        "DIN-EVCC-02",
    )
    for request in REQUEST_TO_RESPONSE:
        if _protocol(request) != "DIN" or request == "SessionSetupReq":
            continue
        vgi_scenario.expect(
            {
                "kind": "fields",
                "select": _sel(request, "dut"),
                "where": {SID: TESTER_SESSION_ID},
                "on_missing": "NOT_APPLICABLE",
            },
            f"every {request} carries the SessionID the tester assigned",
            "DIN-EVCC-02",
        )


@then("the EVCC ends the session with SessionStopReq")
def evcc_ends(vgi_scenario: ScenarioRun) -> None:
    _expect_evcc_ends(vgi_scenario)


def _expect_evcc_ends(vgi_scenario: ScenarioRun) -> None:
    ready = _path("PowerDeliveryReq", "ReadyToChargeState")
    vgi_scenario.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": _sel("CurrentDemandReq", "dut"), "min": 1, "max": None},
                {"select": _sel("PowerDeliveryReq", "dut", {ready: False})},
                {"select": _sel("WeldingDetectionReq", "dut"), "min": 0, "max": None},
                {"select": _sel("SessionStopReq", "dut")},
            ],
        },
        "CurrentDemand loop, PowerDeliveryReq not ready to charge, welding detection, SessionStopReq",
        "DIN-EVCC-07",
    )


def _evcc_stage_checks(run: ScenarioRun, stage: str) -> None:
    def fields(name: str, where: dict[str, Any], description: str, requirement: str) -> None:
        run.expect({"kind": "fields", "select": _sel(name, "dut"), "where": where}, description, requirement)

    present = {"ne": None}
    if stage == "associate":
        _expect_evcc_negotiates(run)
        _expect_evcc_session_ids(run)
    elif stage == "initialize":
        name = "ChargeParameterDiscoveryReq"
        fields(
            name,
            {
                _path(name, "EVRequestedEnergyTransferType"): {"in": _DC_TYPES},
                _path(name, "DC_EVChargeParameter.EVMaximumVoltageLimit.Value"): present,
                _path(name, "DC_EVChargeParameter.EVMaximumCurrentLimit.Value"): present,
            },
            "ChargeParameterDiscoveryReq asks for DC and states the EV's limits",
            "DIN-EVCC-04",
        )
        fields(
            "CableCheckReq",
            {_path("CableCheckReq", "DC_EVStatus.EVRESSSOC"): present},
            "every CableCheckReq reports the EV's status",
            "DIN-EVCC-04",
        )
    elif stage == "precharge":
        fields(
            "PreChargeReq",
            {
                _path("PreChargeReq", "EVTargetVoltage.Value"): present,
                _path("PreChargeReq", "EVTargetCurrent.Value"): present,
                _path("PreChargeReq", "DC_EVStatus.EVReady"): present,
            },
            "every PreChargeReq carries target voltage, target current and EV status",
            "DIN-EVCC-05",
        )
    elif stage == "energy-transfer":
        ready = _path("PowerDeliveryReq", "ReadyToChargeState")
        run.expect(
            {
                "kind": "sequence",
                "pattern": [
                    {"select": _sel("PowerDeliveryReq", "dut", {ready: True})},
                    {"select": _sel("CurrentDemandReq", "dut"), "min": 1, "max": None},
                ],
                "complete": False,
            },
            "PowerDeliveryReq ready to charge before the CurrentDemand loop",
            "DIN-EVCC-06",
        )
        name = "CurrentDemandReq"
        fields(
            name,
            {
                _path(name, "EVTargetCurrent.Value"): present,
                _path(name, "EVTargetVoltage.Value"): present,
                _path(name, "DC_EVStatus.EVRESSSOC"): present,
            },
            "every CurrentDemandReq carries targets and status",
            "DIN-EVCC-06",
        )
    elif stage == "shutdown":
        _expect_evcc_ends(run)
    else:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(STAGES)}")


@then(parsers.parse("the EVCC's requests of the {stage} stage are correct"))
def evcc_stage(vgi_scenario: ScenarioRun, stage: str) -> None:
    _evcc_stage_checks(vgi_scenario, stage)


_REACTIONS = {
    "DIN-EVCC-08": "after a FAILED response",
    "DIN-EVCC-09": "after a foreign SessionID",
    "DIN-EVCC-10": "after a late or missing response",
    "DIN-EVCC-11": "after an undecodable response",
    "DIN-EVCC-12": "after the EVSE's status",
}


def _reaction_requirement(run: ScenarioRun) -> str:
    """The requirement a 'the EVCC sends ...' check belongs to: the scenario's first DIN-EVCC one."""
    return next((r for r in run.meta.requirements if r.startswith("DIN-EVCC-")), "DIN-EVCC-03")


@then(parsers.parse("the EVCC sends at most {n:d} {request}"))
def evcc_at_most(vgi_scenario: ScenarioRun, n: int, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        {"kind": "present", "select": _sel(request, "dut"), "min": 1, "max": n},
        f"the EVCC sends {request} at most {n} time(s) {_REACTIONS.get(requirement, '')}".strip(),
        requirement,
    )


@then(parsers.re(r"the EVCC sends no (?P<request>\w+) afterwards"))
def evcc_sends_none(vgi_scenario: ScenarioRun, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        {"kind": "present", "select": _sel(request, "dut"), "min": 0, "max": 0},
        f"the EVCC sends no {request} {_REACTIONS.get(requirement, '')}".strip(),
        requirement,
    )


@then(parsers.re(r"the EVCC sends (?P<request>(?!no )\w+) afterwards"))
def evcc_sends(vgi_scenario: ScenarioRun, request: str) -> None:
    vgi_scenario.expect(
        {"kind": "present", "select": _sel(request, "dut"), "min": 1},
        f"the EVCC goes on with {request}",
        _reaction_requirement(vgi_scenario),
    )
