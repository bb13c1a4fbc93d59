"""Checks of an SECC under test in DIN SPEC 70121 (the tester is the EV).

Then-steps only register expectations over the capture's timeline (steps/din70121_tester.py drives
the tester).
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then

from harness.protocol.din70121.faults import FOREIGN_SESSION_ID
from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.protocol.din70121.profile import PowerDeliveryKind
from harness.protocol.din70121.secc import DC_ENERGY_TRANSFER_TYPES
from harness.scenario import ScenarioRun
from harness.verdict.checks import din70121 as d
from harness.verdict.checks import iso15118_2 as i
from harness.verdict.checks.common import (
    DUT,
    PRESENT,
    TESTER,
    Fields,
    NoResponse,
    Present,
    ResponseTime,
    absent,
    malformed,
    ne,
    one_of,
    prefix,
    select,
)
from harness.verdict.checks.common import Sequence as SequenceCheck
from harness.verdict.verdicts import Verdict
from steps.din70121_tester import assigned_session, session_label, setup, tester_profile

_DC_TYPES = sorted(DC_ENERGY_TRANSFER_TYPES)
_BOOLEAN = one_of([True, False])
# The requirement a "the SECC answers that request with response code ..." check cites, by protocol and
# code ("OK": the regular session's requirement, cited when the code has none of its own).
_REFUSAL_REQUIREMENTS = {
    d.DIN: {
        "OK": d.DIN_SECC_03,
        "FAILED_UnknownSession": d.DIN_SECC_09,
        "FAILED_SequenceError": d.DIN_SECC_10,
        "FAILED_WrongEnergyTransferType": d.DIN_SECC_12,
    },
    i.ISO2: {
        "OK": i.ISO2_SECC_03,
        "FAILED_UnknownSession": i.ISO2_SECC_04,
        "FAILED_SequenceError": i.ISO2_SECC_05,
        "FAILED_WrongEnergyTransferMode": i.ISO2_SECC_13,
    },
}


def _secc_session_id(run: ScenarioRun) -> dict[str, Any]:
    """The SessionID the SECC assigned, as the tester saw it (the capture shows the same)."""
    for outcome in run.din.outcomes:
        session = assigned_session(outcome)
        if session is not None:
            return {"eq": session}
    return ne("00")


def _short(where: dict[str, Any]) -> str:
    """Field predicates as ``Field=value`` by the fields' last names, for a description."""
    return ", ".join(f"{path.rsplit('.', 1)[-1]}={value}" for path, value in where.items())


def _fields(run: ScenarioRun, name: str, where: dict[str, Any], description: str, requirement: str) -> None:
    # The session's protocol (DIN SPEC 70121 or ISO 15118-2) decides the label and the requirement cited.
    label = session_label(run)
    run.expect(Fields(d.din(name, DUT, protocol=label), where), description, i.cite(requirement, label))


def expect_ok_responses(run: ScenarioRun, requests: tuple[str, ...], requirement: str) -> None:
    """Every response to ``requests`` (DIN SPEC 70121 names; the session's protocol names them on the
    wire) says OK and carries the session's SessionID."""
    session = _secc_session_id(run)
    profile, label = tester_profile(run), session_label(run)
    for request in requests:
        response = profile.response_to(profile.wire(request))
        where: dict[str, Any] = {d.field_path(response, "ResponseCode"): prefix("OK")}
        if d.message_protocol(response, label) == label:
            where[d.SID] = session
        run.expect(
            Fields(d.din(response, DUT, protocol=label), where, on_missing=Verdict.FAIL),
            f"every {response} says OK and carries the session's SessionID",
            i.cite(requirement, label),
        )


def expect_answer_times(run: ScenarioRun, requests: tuple[str, ...]) -> None:
    profile, label = tester_profile(run), session_label(run)
    for canonical in requests:
        request = profile.wire(canonical)
        budget = profile.timings.performance_time_s(request)
        if budget is None:
            limit, requirement, what = (
                profile.timings.evcc_msg_timeout_s,
                d.DIN_SECC_TIME_02,
                "V2G_EVCC_Msg_Timeout",
            )
        else:
            limit, requirement, what = budget, d.DIN_SECC_TIME_01, "the SECC performance time"
        run.expect(
            ResponseTime(
                d.din(request, TESTER, protocol=label),
                d.din(profile.response_to(request), DUT, protocol=label),
                limit,
                on_missing=Verdict.NOT_APPLICABLE,
            ),
            f"every {request} answered within {what}",
            i.cite(requirement, label),
        )


def expect_ok_codes(run: ScenarioRun) -> None:
    expect_ok_responses(run, tuple(REQUEST_TO_RESPONSE), d.DIN_SECC_03)
    _fields(
        run,
        "supportedAppProtocolRes",
        d.din_fields(
            "supportedAppProtocolRes",
            ResponseCode=prefix("OK_SuccessfulNegotiation"),
            SchemaID=setup(run).evcc_config.schema_id,
        ),
        f"supportedAppProtocolRes selects the offered {tester_profile(run).name} SchemaID",
        d.DIN_SECC_01,
    )
    _fields(
        run,
        "SessionSetupRes",
        {**d.din_fields("SessionSetupRes", ResponseCode="OK_NewSessionEstablished"), d.SID: ne("00")},
        "SessionSetupRes establishes a new session with a non-zero SessionID",
        d.DIN_SECC_02,
    )


@then("the SECC's responses follow the DIN SPEC 70121 DC session sequence")
def secc_sequence(vgi_scenario: ScenarioRun) -> None:
    pattern = [(REQUEST_TO_RESPONSE[name], low, high) for name, low, high in d.SESSION_PATTERN]
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence(pattern, DUT)),
        "one response per request through the whole DC session, in DIN SPEC 70121 order",
        d.DIN_SECC_03,
    )


@then("the SECC answers every request with an OK code and the session's SessionID")
def secc_ok_codes(vgi_scenario: ScenarioRun) -> None:
    expect_ok_codes(vgi_scenario)


@then("the SECC answers every request within V2G_EVCC_Msg_Timeout")
def secc_in_time(vgi_scenario: ScenarioRun) -> None:
    expect_answer_times(vgi_scenario, tuple(r for r in REQUEST_TO_RESPONSE if r != "CurrentDemandReq"))


@then("the SECC answers every CurrentDemandReq within its performance time")
def secc_current_demand_in_time(vgi_scenario: ScenarioRun) -> None:
    expect_answer_times(vgi_scenario, ("CurrentDemandReq",))


@then(parsers.parse("every DIN SPEC 70121 frame of the {role} decodes"))
def frames_decode(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.expect(
        absent(malformed(sender=DUT)),
        f"no malformed frame from the {role}",
        d.DIN_SECC_03 if role == "SECC" else d.DIN_EVCC_03,
    )


def _stage_associate(run: ScenarioRun) -> None:
    expect_ok_codes(run)
    name = "ServiceDiscoveryRes"
    _fields(
        run,
        name,
        i.charge_service_offer(session_label(run), _DC_TYPES),
        "the DC charge service with external payment is offered",
        d.DIN_SECC_04,
    )


def _stage_initialize(run: ScenarioRun) -> None:
    expect_ok_responses(run, d.STAGES["initialize"], d.DIN_SECC_03)
    limits = "DC_EVSEChargeParameter"
    name = "ChargeParameterDiscoveryRes"
    _fields(
        run,
        name,
        {
            d.field_path(name, f"{limits}.EVSEMaximumVoltageLimit.Value"): PRESENT,
            d.field_path(name, f"{limits}.EVSEMaximumCurrentLimit.Value"): PRESENT,
        },
        "ChargeParameterDiscoveryRes states the EVSE's DC limits",
        d.DIN_SECC_05,
    )
    finished = {
        d.field_path("CableCheckRes", "EVSEProcessing"): "Finished",
        d.field_path("CableCheckRes", "DC_EVSEStatus.EVSEIsolationStatus"): one_of(["Valid", "Warning"]),
    }
    label = session_label(run)
    run.expect(
        Present(d.din("CableCheckRes", DUT, finished, protocol=label), min=1),
        "the cable check finishes with isolation Valid or Warning",
        i.cite(d.DIN_SECC_05, label),
    )


def _stage_precharge(run: ScenarioRun) -> None:
    expect_ok_responses(run, d.STAGES["precharge"], d.DIN_SECC_03)
    _fields(
        run,
        "PreChargeRes",
        {
            d.field_path("PreChargeRes", "EVSEPresentVoltage.Value"): PRESENT,
            d.field_path("PreChargeRes", "DC_EVSEStatus.EVSEStatusCode"): "EVSE_Ready",
        },
        "every PreChargeRes reports the present voltage with the EVSE ready",
        d.DIN_SECC_06,
    )


def _stage_energy_transfer(run: ScenarioRun) -> None:
    expect_ok_responses(run, d.STAGES["energy-transfer"], d.DIN_SECC_03)
    body = "CurrentDemandRes"
    _fields(
        run,
        body,
        {
            d.field_path(body, "EVSEPresentVoltage.Value"): PRESENT,
            d.field_path(body, "EVSEPresentCurrent.Value"): PRESENT,
            d.field_path(body, "EVSECurrentLimitAchieved"): _BOOLEAN,
            d.field_path(body, "EVSEVoltageLimitAchieved"): _BOOLEAN,
            d.field_path(body, "EVSEPowerLimitAchieved"): _BOOLEAN,
            d.field_path(body, "DC_EVSEStatus.EVSEStatusCode"): PRESENT,
        },
        "every CurrentDemandRes reports present values, limit flags and status",
        d.DIN_SECC_07,
    )


def _stage_shutdown(run: ScenarioRun) -> None:
    expect_ok_responses(run, ("PowerDeliveryReq", *d.STAGES["shutdown"]), d.DIN_SECC_08)
    _fields(
        run,
        "WeldingDetectionRes",
        {d.field_path("WeldingDetectionRes", "EVSEPresentVoltage.Value"): PRESENT},
        "WeldingDetectionRes reports the output voltage",
        d.DIN_SECC_08,
    )


_STAGE_CHECKS = {
    "associate": _stage_associate,
    "initialize": _stage_initialize,
    "precharge": _stage_precharge,
    "energy-transfer": _stage_energy_transfer,
    "shutdown": _stage_shutdown,
}


@then(parsers.parse("the SECC's responses of the {stage} stage are correct"))
def secc_stage(vgi_scenario: ScenarioRun, stage: str) -> None:
    if stage not in _STAGE_CHECKS:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(d.STAGES)}")
    _STAGE_CHECKS[stage](vgi_scenario)


@then(parsers.parse("the SECC answers the requests of the {stage} stage in time"))
def secc_stage_in_time(vgi_scenario: ScenarioRun, stage: str) -> None:
    expect_answer_times(vgi_scenario, d.STAGES[stage])


@then(parsers.parse('the SECC answers that {request} with response code "{code}"'))
def secc_refuses(vgi_scenario: ScenarioRun, request: str, code: str) -> None:
    profile, label = tester_profile(vgi_scenario), session_label(vgi_scenario)
    response = profile.response_to(request)
    requirements = _REFUSAL_REQUIREMENTS[label]
    # An answer that does not decode is the first thing to report (it is not the response code asked for).
    vgi_scenario.expect(absent(malformed(sender=DUT)), "every frame of the SECC decodes", requirements["OK"])
    where = {d.SID: FOREIGN_SESSION_ID} if code == "FAILED_UnknownSession" else None
    vgi_scenario.expect(
        ResponseTime(
            d.din(request, TESTER, where, protocol=label),
            d.din(response, DUT, d.din_fields(response, ResponseCode=code), protocol=label),
            profile.timings.evcc_msg_timeout_s,
        ),
        f"{request} answered with {response} ResponseCode {code} within V2G_EVCC_Msg_Timeout",
        requirements.get(code, requirements["OK"]),
    )


@then("the SECC does not answer the request that does not decode")
def secc_ignores_malformed(vgi_scenario: ScenarioRun) -> None:
    profile, label = tester_profile(vgi_scenario), session_label(vgi_scenario)
    requirement = i.cite(d.DIN_SECC_11, label)
    vgi_scenario.expect(
        NoResponse(malformed(sender=TESTER), select(label, sender=DUT), profile.timings.evcc_msg_timeout_s),
        f"no {profile.name} response to the request that does not decode",
        requirement,
    )
    vgi_scenario.expect(
        Present(malformed(sender=TESTER), min=1), "the malformed request is on the wire", requirement
    )


@then("the SECC accepts the EV's stop and ends the session with SessionStopRes OK")
def secc_accepts_stop(vgi_scenario: ScenarioRun) -> None:
    profile, label = tester_profile(vgi_scenario), session_label(vgi_scenario)
    stop = i.power_delivery_fields(label, PowerDeliveryKind.STOP)
    vgi_scenario.expect(
        ResponseTime(
            d.din("PowerDeliveryReq", TESTER, stop, protocol=label),
            d.din("PowerDeliveryRes", DUT, d.din_fields("PowerDeliveryRes", ResponseCode="OK"), label),
            profile.timings.msg_timeout_s("PowerDeliveryReq"),
        ),
        f"PowerDeliveryReq asking to stop ({_short(stop)}) during CurrentDemand is answered OK within the "
        "EVCC's timeout",
        i.cite(d.DIN_SECC_08, label),
    )
    vgi_scenario.expect(
        Present(
            d.din("SessionStopRes", DUT, d.din_fields("SessionStopRes", ResponseCode="OK"), protocol=label),
            min=1,
            max=1,
        ),
        "the session ends with SessionStopRes OK",
        i.cite(d.DIN_SECC_08, label),
    )


@then("the SECC served a new session after the reset")
def secc_new_session(vgi_scenario: ScenarioRun) -> None:
    label = session_label(vgi_scenario)
    requirement = i.cite(d.DIN_SECC_13, label)
    new_session = d.din_fields("SessionSetupRes", ResponseCode="OK_NewSessionEstablished")
    vgi_scenario.expect(
        Present(d.din("SessionSetupRes", DUT, new_session, protocol=label), min=2),
        "a new session is set up on the connection after the reset",
        requirement,
    )
    vgi_scenario.expect(
        Present(select("TCP", "RST", sender=TESTER), min=1), "the tester's reset is on the wire", requirement
    )
    stopped = d.din_fields("SessionStopRes", ResponseCode="OK")
    vgi_scenario.expect(
        Present(d.din("SessionStopRes", DUT, stopped, protocol=label), min=1),
        "the new session completes with SessionStopRes OK",
        requirement,
    )
