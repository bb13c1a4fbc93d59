"""Steps of the ISO 15118-2 DC scenarios (interface 4), both roles, and of supportedAppProtocol between
ISO 15118-2 and DIN SPEC 70121.

The tester is the DIN SPEC 70121 tester with other profiles (harness.protocol.dc_profiles): the same EV and
SECC machines, faults and session drivers (steps/din70121_tester.py); the checks read the capture, where
ISO 15118-2 messages carry the protocol label ``ISO-2``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.protocol.dc_profiles import DIN70121, ISO15118_2, dc_profile
from harness.scenario import ScenarioRun, required
from harness.testers.din70121 import named_fault
from harness.verdict.checks import din70121 as d
from harness.verdict.checks import iso15118_2 as i
from harness.verdict.checks.common import (
    DUT,
    TESTER,
    Fields,
    ResponseTime,
    absent,
    eq,
    malformed,
    ne,
    prefix,
    select,
)
from harness.verdict.checks.common import Sequence as SequenceCheck
from harness.verdict.verdicts import Inconclusive, Verdict
from steps.din70121_tester import (
    TESTER_SESSION_ID,
    assigned_session,
    charge,
    open_ev_and_discover,
    open_secc,
    serve,
    setup,
    tester_profile,
)

# How far from the EVCC's message timeout (ISO 15118-2 Table 109, the lab's PIXIT) a delayed response is
# "just under" or "just over" it, as a fraction of the timeout: far enough either side for the bench's
# scheduling jitter on the 250 ms CurrentDemand timeout (50 ms under, 100 ms over).
JUST_UNDER = 0.8
JUST_OVER = 1.4
_SIDES = {"under": JUST_UNDER, "over": JUST_OVER}


def _use(run: ScenarioRun, *protocols: str) -> None:
    """The tester speaks ``protocols`` (PICS names), the first preferred, with the lab's timers."""
    setup(run).profiles = tuple(dc_profile(name, run.timer) for name in protocols)


def _offered_schema_id(run: ScenarioRun, protocol: str) -> int:
    """The SchemaID the tester EV gives ``protocol`` in its supportedAppProtocolReq."""
    tester = setup(run)
    names = [profile.schema for profile in tester.profiles]
    schema = dc_profile(protocol, run.timer).schema
    return tester.evcc_config.schema_id + names.index(schema)


def _session_id(run: ScenarioRun, outcome_index: int = 0) -> dict[str, Any]:
    """The SessionID the SECC assigned in the tester's ``outcome_index``-th session."""
    outcomes = run.din.outcomes
    session = assigned_session(outcomes[outcome_index]) if len(outcomes) > outcome_index else None
    return ne("00") if session is None else {"eq": session}


# --- the tester as EV --------------------------------------------------------------------------------


@given("the tester is an ISO 15118-2 EV that found the SECC with SDP")
def tester_is_iso2_ev(vgi_scenario: ScenarioRun) -> None:
    _use(vgi_scenario, ISO15118_2)
    open_ev_and_discover(vgi_scenario)


@given("the tester is an EV offering ISO 15118-2 then DIN SPEC 70121 that found the SECC with SDP")
def tester_is_dual_ev(vgi_scenario: ScenarioRun) -> None:
    _use(vgi_scenario, ISO15118_2, DIN70121)
    open_ev_and_discover(vgi_scenario)


@when("the tester charges through a complete session")
def charge_session(vgi_scenario: ScenarioRun) -> None:
    charge(vgi_scenario)


@when("the tester pauses the session and resumes it on a new connection")
def pause_and_resume(vgi_scenario: ScenarioRun) -> None:
    ev = setup(vgi_scenario)
    ev.evcc_config = replace(ev.evcc_config, pause=True)
    session = assigned_session(charge(vgi_scenario))
    if session is None:
        raise Inconclusive("the SECC assigned no session to pause")
    ev.evcc_config = replace(ev.evcc_config, pause=False, resume_session_id=session)
    charge(vgi_scenario)


@when(
    parsers.parse(
        'the tester charges and the EV reports "{error}" in CurrentDemandReq number {n:d}, then stops'
    )
)
def charge_with_ev_error(vgi_scenario: ScenarioRun, error: str, n: int) -> None:
    setup(vgi_scenario).faults.append(named_fault("ev error", "CurrentDemandReq", n, error=error))
    setup(vgi_scenario).stop_on = ("CurrentDemandRes", n)
    charge(vgi_scenario)


# --- the tester as SECC ------------------------------------------------------------------------------


@given("the tester is an ISO 15118-2 SECC on the link")
def tester_is_iso2_secc(vgi_scenario: ScenarioRun) -> None:
    _use(vgi_scenario, ISO15118_2)
    open_secc(vgi_scenario)


@given(
    parsers.parse("the tester delays {response} number {n:d} to just {side} the EVCC's ISO 15118-2 timeout")
)
def delay_around_timeout(vgi_scenario: ScenarioRun, response: str, n: int, side: str) -> None:
    profile = tester_profile(vgi_scenario)
    request = next(
        req for req in profile.request_to_response() if profile.response_to(profile.wire(req)) == response
    )
    timeout = profile.timings.msg_timeout_s(profile.wire(request))
    setup(vgi_scenario).faults.append(named_fault("delay", response, n, seconds=timeout * _SIDES[side]))


@given(parsers.parse("the tester answers AuthorizationReq with EVSEProcessing Ongoing {n:d} times"))
def authorization_ongoing(vgi_scenario: ScenarioRun, n: int) -> None:
    tester = setup(vgi_scenario)
    tester.secc_config = replace(tester.secc_config, authorization_ongoing_rounds=n)


@when("the tester serves the EVCC's session")
def serve_evcc(vgi_scenario: ScenarioRun) -> None:
    serve(vgi_scenario)


# --- checks of an SECC under test ----------------------------------------------------------------------


@then("the SECC selects ISO 15118-2 in supportedAppProtocol")
def secc_selects_iso2(vgi_scenario: ScenarioRun) -> None:
    name = "supportedAppProtocolRes"
    vgi_scenario.expect(
        Fields(
            d.din(name, DUT),
            d.din_fields(
                name,
                ResponseCode=prefix("OK_SuccessfulNegotiation"),
                SchemaID=_offered_schema_id(vgi_scenario, ISO15118_2),
            ),
            on_missing=Verdict.FAIL,
        ),
        "supportedAppProtocolRes selects the SchemaID of the EV's ISO 15118-2 offer",
        i.ISO2_SECC_01,
    )


@then("the SECC's responses follow the ISO 15118-2 DC session sequence")
def secc_iso2_sequence(vgi_scenario: ScenarioRun) -> None:
    profile = tester_profile(vgi_scenario)
    pattern = [(profile.response_to(name), low, high) for name, low, high in i.SESSION_PATTERN]
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence(pattern, DUT, protocol=i.ISO2)),
        "one response per request through the whole DC session, in ISO 15118-2 order",
        i.ISO2_SECC_03,
    )


@then("the SECC answers every ISO 15118-2 request with an OK code and the session's SessionID")
def secc_iso2_ok(vgi_scenario: ScenarioRun) -> None:
    profile = tester_profile(vgi_scenario)
    session = _session_id(vgi_scenario)
    for request in i.REQUIRED_REQUESTS:
        response = profile.response_to(request)
        where = {d.field_path(response, "ResponseCode"): prefix("OK"), d.SID: session}
        vgi_scenario.expect(
            Fields(d.din(response, DUT, protocol=i.ISO2), where, on_missing=Verdict.FAIL),
            f"every {response} says OK and carries the session's SessionID",
            i.ISO2_SECC_03,
        )
    name = "SessionSetupRes"
    vgi_scenario.expect(
        Fields(
            d.din(name, DUT, protocol=i.ISO2),
            {**d.din_fields(name, ResponseCode="OK_NewSessionEstablished"), d.SID: ne("00")},
            on_missing=Verdict.FAIL,
        ),
        "SessionSetupRes establishes a new session with a non-zero SessionID",
        i.ISO2_SECC_02,
    )


@then("the SECC answers every request within its ISO 15118-2 performance time")
def secc_iso2_in_time(vgi_scenario: ScenarioRun) -> None:
    profile = tester_profile(vgi_scenario)
    for request in i.REQUIRED_REQUESTS:
        limit = profile.timings.performance_time_s(request)
        vgi_scenario.expect(
            ResponseTime(
                d.din(request, TESTER, protocol=i.ISO2),
                d.din(profile.response_to(request), DUT, protocol=i.ISO2),
                limit,
                on_missing=Verdict.NOT_APPLICABLE,
            ),
            f"every {request} answered within V2G_SECC_Msg_Performance_Time ({limit * 1000:g} ms)",
            i.ISO2_SECC_TIME_01,
        )


@then("every ISO 15118-2 frame of the SECC decodes")
def secc_frames_decode(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(absent(malformed(sender=DUT)), "no malformed frame from the SECC", i.ISO2_SECC_03)


@then("the SECC let the EV resume its paused session")
def secc_resumed(vgi_scenario: ScenarioRun) -> None:
    if len(vgi_scenario.din.outcomes) < 2:
        raise Inconclusive("the tester EV did not get to its second connection")
    paused = _session_id(vgi_scenario, 0)
    stop = "SessionStopReq"
    vgi_scenario.expect(
        ResponseTime(
            d.din(stop, TESTER, d.din_fields(stop, ChargingSession="Pause"), protocol=i.ISO2),
            d.din("SessionStopRes", DUT, d.din_fields("SessionStopRes", ResponseCode="OK"), protocol=i.ISO2),
            tester_profile(vgi_scenario).timings.evcc_msg_timeout_s,
        ),
        "SessionStopReq(Pause) answered with SessionStopRes OK",
        i.ISO2_SECC_06,
    )
    setup_res = "SessionSetupRes"
    vgi_scenario.expect(
        Fields(
            d.din(
                setup_res, DUT, d.din_fields(setup_res, ResponseCode="OK_OldSessionJoined"), protocol=i.ISO2
            ),
            {d.SID: paused},
            on_missing=Verdict.FAIL,
        ),
        "the SessionSetupReq with the paused SessionID joins the old session (OK_OldSessionJoined, same id)",
        i.ISO2_SECC_06,
    )


@then(parsers.parse('the SECC answers the CurrentDemandReq reporting "{error}" within its performance time'))
def secc_answers_ev_error(vgi_scenario: ScenarioRun, error: str) -> None:
    limit = tester_profile(vgi_scenario).timings.performance_time_s("CurrentDemandReq")
    vgi_scenario.expect(
        i.answers_ev_error(error, limit),
        f"the CurrentDemandReq with EVReady false and {error} answered within "
        f"V2G_SECC_Msg_Performance_Time ({limit * 1000:g} ms)",
        i.ISO2_SECC_15,
    )


# --- checks of an EVCC under test ----------------------------------------------------------------------


@then("the EVCC offers ISO 15118-2 and continues in it once selected")
def evcc_iso2(vgi_scenario: ScenarioRun) -> None:
    # The tester SECC speaks ISO 15118-2 only: a successful negotiation means the EVCC offered it.
    name = "supportedAppProtocolRes"
    vgi_scenario.expect(
        Fields(
            d.din(name, TESTER),
            d.din_fields(name, ResponseCode=prefix("OK_SuccessfulNegotiation")),
            on_missing=Verdict.FAIL,
        ),
        "the EVCC's supportedAppProtocolReq offers ISO 15118-2 (the ISO 15118-2-only tester accepts it)",
        i.ISO2_EVCC_01,
    )
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence([("SessionSetupReq", 1, 1)], DUT, protocol=i.ISO2)),
        "after the SECC selected ISO 15118-2 the EVCC's SessionSetupReq is ISO 15118-2",
        i.ISO2_EVCC_01,
    )


@then("the EVCC's requests follow the ISO 15118-2 DC session sequence with its SessionID")
def evcc_iso2_sequence(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence(list(i.SESSION_PATTERN), DUT, protocol=i.ISO2)),
        "the EVCC's requests in ISO 15118-2 order, from supportedAppProtocolReq to SessionStopReq",
        i.ISO2_EVCC_02,
    )
    required(vgi_scenario.din.secc, "ISO 15118-2 tester SECC")
    session = eq(TESTER_SESSION_ID)
    for request in i.REQUIRED_REQUESTS[1:]:
        vgi_scenario.expect(
            Fields(d.din(request, DUT, protocol=i.ISO2), {d.SID: session}, on_missing=Verdict.FAIL),
            f"every {request} carries the SessionID the tester assigned",
            i.ISO2_EVCC_02,
        )


@then("the EVCC continues in DIN SPEC 70121, which the SECC selected, to the end of the session")
def evcc_falls_back_to_din(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence(list(d.SESSION_PATTERN), DUT)),
        "the EVCC's requests in DIN SPEC 70121 order after the SECC selected DIN SPEC 70121",
        i.ISO2_EVCC_03,
    )
    vgi_scenario.expect(
        absent(select(i.ISO2, sender=DUT)),
        "no ISO 15118-2 message from the EVCC in a DIN session",
        i.ISO2_EVCC_03,
    )


@then(
    parsers.parse("the EVCC repeats AuthorizationReq after each of the {n:d} Ongoing answers, then goes on")
)
def evcc_repeats_authorization(vgi_scenario: ScenarioRun, n: int) -> None:
    precondition, order = i.authorization_ongoing_rounds(n)
    vgi_scenario.expect(
        precondition, f"the tester answered AuthorizationReq Ongoing {n} times", i.ISO2_EVCC_13
    )
    vgi_scenario.expect(
        order,
        "one AuthorizationReq per Ongoing answer and one more; ChargeParameterDiscoveryReq after Finished",
        i.ISO2_EVCC_13,
    )
