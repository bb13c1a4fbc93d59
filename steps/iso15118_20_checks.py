"""Checks of the ISO 15118-20 DC and DC_BPT scenarios (interface 4), both roles: the Then-steps.

They read the capture, where -20 messages carry the protocol label ``ISO-20``
(:mod:`harness.verdict.checks.iso15118_20`); the tester's setup and sessions are steps/iso15118_20.py's.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then

from harness.scenario import ScenarioRun, required
from harness.testers.iso15118_20 import TESTER_SESSION_ID
from harness.transport.v2g import SessionOutcome
from harness.verdict.checks import iso15118_20 as c
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    Fields,
    Present,
    absent,
    eq,
    has_any,
    malformed,
    ne,
    prefix,
)
from harness.verdict.verdicts import Verdict
from steps.iso15118_20 import iso20_setup, timings

# The EVCC's first request after each response: what it must not send once the response ended the session.
_NEXT_REQUEST = {
    "SessionSetupRes": "AuthorizationSetupReq",
    "AuthorizationSetupRes": "AuthorizationReq",
    "ServiceDiscoveryRes": "ServiceDetailReq",
    "ServiceDetailRes": "ServiceSelectionReq",
    "ServiceSelectionRes": "DC_ChargeParameterDiscoveryReq",
    "DC_ChargeParameterDiscoveryRes": "ScheduleExchangeReq",
    "DC_CableCheckRes": "DC_PreChargeReq",
}


def assigned_session(outcome: SessionOutcome) -> str | None:
    """The SessionID the SECC assigned in a session of the tester EV (its SessionSetupRes header)."""
    for record in outcome.records:
        if record.direction == "received" and record.name == "SessionSetupRes" and record.message:
            return str(record.message["SessionSetupRes"]["Header"]["SessionID"])
    return None


def _session(run: ScenarioRun) -> dict[str, Any]:
    """The SessionID the SECC under test assigned in the tester's first session."""
    session = assigned_session(run.din.outcomes[0]) if run.din.outcomes else None
    return ne("0000000000000000") if session is None else eq(session)


# --- checks of an SECC under test ----------------------------------------------------------------------


@then("the SECC selects ISO 15118-20 DC in supportedAppProtocol")
def secc_selects_iso20(vgi_scenario: ScenarioRun) -> None:
    name = "supportedAppProtocolRes"
    schema_id = iso20_setup(vgi_scenario).iso20_evcc.schema_id
    where = c.fields(name, ResponseCode=prefix("OK_SuccessfulNegotiation"), SchemaID=schema_id)
    vgi_scenario.expect(
        Fields(c.iso20(name, DUT), where, on_missing=Verdict.FAIL),
        "supportedAppProtocolRes selects the SchemaID of the EV's ISO 15118-20 DC offer",
        c.ISO20_SECC_01,
    )


@then("the SECC's responses follow the ISO 15118-20 DC session sequence")
def secc_sequence(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        c.responses_of(DUT),
        "one response per request through the whole -20 DC session, in order",
        c.ISO20_SECC_03,
    )


@then("the SECC answers every ISO 15118-20 request with an OK code and the session's SessionID")
def secc_ok(vgi_scenario: ScenarioRun) -> None:
    session = _session(vgi_scenario)
    for request in c.REQUIRED_REQUESTS[1:]:
        vgi_scenario.expect(
            c.ok_with_session(request, DUT, session),
            f"every {c.response_to(request)} says OK and carries the session's SessionID",
            c.ISO20_SECC_03,
        )
    name = "SessionSetupRes"
    where = {
        **c.fields(name, ResponseCode="OK_NewSessionEstablished"),
        c.session_id_path(name): ne("0000000000000000"),
    }
    vgi_scenario.expect(
        Fields(c.iso20(name, DUT), where, on_missing=Verdict.FAIL),
        "SessionSetupRes establishes a new session with a non-zero SessionID",
        c.ISO20_SECC_02,
    )


@then("the SECC answers every ISO 15118-20 request within its performance time")
def secc_in_time(vgi_scenario: ScenarioRun) -> None:
    t = timings(vgi_scenario)
    for request in c.REQUIRED_REQUESTS:
        limit = t.performance_time_s(request)
        vgi_scenario.expect(
            c.performance_time(request, TESTER, DUT, limit),
            f"every {request} answered within V2G_SECC_Msg_Performance_Time ({limit * 1000:g} ms)",
            c.ISO20_SECC_TIME_01,
        )


@then(parsers.parse('the SECC under test answers that ISO 15118-20 {request} with response code "{code}"'))
def secc_answers_with(vgi_scenario: ScenarioRun, request: str, code: str) -> None:
    vgi_scenario.expect(
        c.answered_with(request, DUT, code),
        f"the {request} the tester altered is answered {code}",
        _requirement_of(vgi_scenario),
    )


@then("the SECC does not answer the ISO 15118-20 request that does not decode")
def secc_silent_on_malformed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(malformed(None, TESTER), min=1),
        "the tester's ServiceDiscoveryReq went out malformed",
        c.ISO20_SECC_06,
    )
    vgi_scenario.expect(
        absent(c.iso20("ServiceDiscoveryRes", DUT)),
        "no ServiceDiscoveryRes to the request that does not decode",
        c.ISO20_SECC_06,
    )


def _requirement_of(run: ScenarioRun) -> str | None:
    """The scenario's first ISO 15118-20 @req tag: the requirement its reaction check cites."""
    return next((r for r in run.meta.requirements if r.startswith("ISO20-")), None)


# --- checks of an EVCC under test ----------------------------------------------------------------------


@then("the EVCC offers ISO 15118-20 DC and continues in it once selected")
def evcc_iso20(vgi_scenario: ScenarioRun) -> None:
    name = "supportedAppProtocolRes"
    vgi_scenario.expect(
        Fields(c.iso20(name, TESTER), c.fields(name, ResponseCode=prefix("OK")), on_missing=Verdict.FAIL),
        "the EVCC's supportedAppProtocolReq offers -20 DC (the -20-only tester accepts it)",
        c.ISO20_EVCC_01,
    )
    vgi_scenario.expect(
        c.session_sequence(DUT, (("SessionSetupReq", 1, 1),)),
        "after the SECC selected -20 DC the EVCC's SessionSetupReq is -20",
        c.ISO20_EVCC_01,
    )


@then("the EVCC's requests follow the ISO 15118-20 DC session sequence with its SessionID")
def evcc_sequence(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        c.session_sequence(DUT),
        "the EVCC's requests in -20 order, supportedAppProtocolReq to SessionStopReq",
        c.ISO20_EVCC_02,
    )
    required(vgi_scenario.din.secc, "ISO 15118-20 tester SECC")
    for request in c.REQUIRED_REQUESTS[1:]:
        vgi_scenario.expect(
            Fields(
                c.iso20(request, DUT),
                {c.session_id_path(request): eq(TESTER_SESSION_ID)},
                on_missing=Verdict.FAIL,
            ),
            f"every {request} carries the SessionID the tester assigned",
            c.ISO20_EVCC_02,
        )


@then("the tester answered every DC_ChargeLoopReq within the EVCC's charge-loop timeout")
def tester_within_loop_timeout(vgi_scenario: ScenarioRun) -> None:
    limit = timings(vgi_scenario).msg_timeout_s("DC_ChargeLoopReq")
    vgi_scenario.expect(
        c.loop_answers_within(DUT, TESTER, limit),
        f"the tester answered every DC_ChargeLoopReq within V2G_EVCC_Msg_Timeout ({limit * 1000:g} ms), so "
        "the EVCC had no reason to give up",
        c.ISO20_EVCC_05,
    )


@then(parsers.parse("the EVCC under test goes no further than {response} in ISO 15118-20"))
def evcc_stops_after(vgi_scenario: ScenarioRun, response: str) -> None:
    vgi_scenario.expect(
        Present(c.iso20(response, TESTER), min=1),
        f"the tester sent its {response}",
        _requirement_of(vgi_scenario),
    )
    _no_request_after(vgi_scenario, response)


@then(parsers.parse("the EVCC under test goes no further than the {response} that does not decode"))
def evcc_stops_after_malformed(vgi_scenario: ScenarioRun, response: str) -> None:
    vgi_scenario.expect(
        Present(malformed(None, TESTER), min=1),
        f"the tester's {response} went out undecodable",
        _requirement_of(vgi_scenario),
    )
    _no_request_after(vgi_scenario, response)


def _no_request_after(run: ScenarioRun, response: str) -> None:
    following = _NEXT_REQUEST[response]
    run.expect(
        absent(c.iso20(following, DUT), connection="first"),
        f"the EVCC sends no {following} after that {response}",
        _requirement_of(run),
    )


@then(parsers.parse("the EVCC under test sends at most {n:d} ISO 15118-20 DC_ChargeLoopReq"))
def evcc_loop_at_most(vgi_scenario: ScenarioRun, n: int) -> None:
    vgi_scenario.expect(
        Present(c.iso20("DC_ChargeLoopReq", DUT), min=1, max=n, connection="first"),
        f"the EVCC sends DC_ChargeLoopReq at most {n} times in that session",
        _requirement_of(vgi_scenario),
    )


@then(parsers.parse("the EVCC under test sends more than {n:d} ISO 15118-20 DC_ChargeLoopReq"))
def evcc_loop_more(vgi_scenario: ScenarioRun, n: int) -> None:
    vgi_scenario.expect(
        Present(c.iso20("DC_ChargeLoopReq", DUT), min=n + 1, on_missing=Verdict.FAIL),
        f"the EVCC goes on past DC_ChargeLoopReq number {n}",
        _requirement_of(vgi_scenario),
    )


@then("the EVCC under test stops energy transfer and ends the ISO 15118-20 session")
def evcc_stops_energy(vgi_scenario: ScenarioRun) -> None:
    name = "PowerDeliveryReq"
    vgi_scenario.expect(
        Present(c.iso20(name, DUT, c.fields(name, ChargeProgress="Stop")), min=1, on_missing=Verdict.FAIL),
        "PowerDeliveryReq with ChargeProgress Stop after the Terminate notification",
        c.ISO20_EVCC_07,
    )
    vgi_scenario.expect(
        Present(c.iso20("SessionStopReq", DUT), min=1, on_missing=Verdict.FAIL),
        "SessionStopReq ends the session",
        c.ISO20_EVCC_07,
    )


# --- DC_BPT, either role ---------------------------------------------------------------------------------


@then(parsers.parse("the {ev} discharged in the DC_BPT session and stayed above its minimum SoC"))
def bpt_discharged(vgi_scenario: ScenarioRun, ev: str) -> None:
    ev_side, secc_side = (DUT, TESTER) if ev == "EVCC under test" else (TESTER, DUT)
    expect = vgi_scenario.expect
    selection = "ServiceSelectionReq"
    expect(
        Fields(
            c.iso20(selection, ev_side),
            c.fields(selection, SelectedEnergyTransferService__ServiceID=6),
            on_missing=Verdict.FAIL,
        ),
        "the DC_BPT service (6) selected",
        c.ISO20_BPT_01,
    )
    if secc_side == DUT:
        detail = "ServiceDetailRes"
        for parameter in ("BPTChannel", "GeneratorMode"):
            expect(
                Fields(
                    c.iso20(detail, DUT, c.fields(detail, ServiceID=6)),
                    c.fields(
                        detail,
                        **{"ServiceParameterList__ParameterSet__*__Parameter__*__Name": has_any([parameter])},
                    ),
                    on_missing=Verdict.FAIL,
                ),
                f"the DC_BPT ServiceDetailRes (ServiceID 6) names {parameter} in its parameter sets",
                c.ISO20_BPT_01,
            )
    for name, side, element in (
        ("DC_ChargeParameterDiscoveryReq", ev_side, "BPT_DC_CPDReqEnergyTransferMode"),
        ("DC_ChargeParameterDiscoveryRes", secc_side, "BPT_DC_CPDResEnergyTransferMode"),
    ):
        limit = (
            f"{element}.EVMaximumDischargePower"
            if side == ev_side
            else f"{element}.EVSEMaximumDischargePower"
        )
        expect(
            Fields(
                c.iso20(name, side), {c.field_path(name, limit + ".Value"): ne(None)}, on_missing=Verdict.FAIL
            ),
            f"{name} gives the discharge limits ({element})",
            c.ISO20_BPT_01,
        )
    # The discharging schedule itself sits in a list (ScheduleTuple), which the check language cannot look
    # into: the schedule is judged by what followed it, the discharge channel and the negative currents.
    delivery = "PowerDeliveryReq"
    start = c.fields(delivery, ChargeProgress="Start")
    expect(
        Fields(
            c.iso20(delivery, ev_side, start),
            c.fields(delivery, BPT_ChannelSelection="Discharge"),
            on_missing=Verdict.FAIL,
        ),
        "PowerDeliveryReq(Start) selects the discharge channel",
        c.ISO20_BPT_02,
    )
    loop_req, loop_res = "DC_ChargeLoopReq", "DC_ChargeLoopRes"
    expect(
        Fields(
            c.iso20(loop_req, ev_side),
            c.negative(loop_req, "BPT_Scheduled_DC_CLReqControlMode.EVTargetCurrent"),
            on_missing=Verdict.FAIL,
        ),
        "every DC_ChargeLoopReq asks for a discharge (negative EVTargetCurrent)",
        c.ISO20_BPT_02,
    )
    expect(
        Present(
            c.iso20(loop_res, secc_side, c.negative(loop_res, "EVSEPresentCurrent")),
            min=1,
            on_missing=Verdict.FAIL,
        ),
        "energy flowed out of the battery: a DC_ChargeLoopRes reports a negative EVSEPresentCurrent",
        c.ISO20_BPT_02,
    )
    # Judged on the requests that ask for a discharge (an EV that only charged has nothing to judge here:
    # the checks above fail it); the minimum is the reference pack's, which an EVCC from elsewhere need
    # not share (the check language cannot compare PresentSOC with the MinimumSOC the EV states).
    minimum = iso20_setup(vgi_scenario).ev_minimum_soc
    discharging = c.negative(loop_req, "BPT_Scheduled_DC_CLReqControlMode.EVTargetCurrent")
    expect(
        Fields(
            c.iso20(loop_req, ev_side, discharging),
            c.at_least(c.field_path(loop_req, "DisplayParameters.PresentSOC"), minimum),
            on_missing=Verdict.PASS,
        ),
        f"the EV's PresentSOC stays at or above its minimum SoC ({minimum:g} %) while discharging",
        c.ISO20_BPT_03,
    )
