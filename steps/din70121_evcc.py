"""Checks of an EVCC under test in DIN SPEC 70121 (the tester is the SECC).

Then-steps only register expectations over the capture's timeline (steps/din70121_tester.py drives
the tester).
"""

from __future__ import annotations

from pytest_bdd import parsers, then

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
    Item,
    Present,
    absent,
    ne,
    one_of,
    prefix,
    repeated,
    sequence,
)
from harness.verdict.checks.common import Sequence as SequenceCheck
from harness.verdict.verdicts import Verdict
from steps.din70121_tester import TESTER_SESSION_ID, session_label, tester_profile

_DC_TYPES = sorted(DC_ENERGY_TRANSFER_TYPES)
# A new session's SessionID (DIN SPEC 70121 8.4.3.2: 0, one byte or eight).
_NEW_SESSION_IDS = ["00", "0000000000000000"]
# How the description of an EVCC reaction check ends, by the requirement it cites.
# A reaction is judged on the session the fault was aimed at (the first V2G connection): DIN SPEC 70121 and
# ISO 15118-2 have the EVCC end that session and close its TCP connection, and do not forbid a new session
# on a new connection afterwards (josev opens one about 5 s later).
SESSION = "first"
_REACTIONS = {
    d.DIN_EVCC_08: "after a FAILED response",
    d.DIN_EVCC_09: "after a foreign SessionID",
    d.DIN_EVCC_10: "after a late or missing response",
    d.DIN_EVCC_11: "after an undecodable response",
    d.DIN_EVCC_12: "after the EVSE's status",
    i.ISO2_EVCC_08: "after a FAILED response",
    i.ISO2_EVCC_09: "after a foreign SessionID",
    i.ISO2_EVCC_10: "after a late or missing response",
    i.ISO2_EVCC_11: "after an undecodable response",
    i.ISO2_EVCC_12: "after the EVSE's status",
    i.ISO2_EVCC_13: "while the EVSE is processing",
}
# The prefix of the reaction requirements by the session's protocol (timeline label).
_REACTION_PREFIXES = {d.DIN: d.DIN_EVCC_PREFIX, i.ISO2: i.ISO2_EVCC_PREFIX}


def _fields(run: ScenarioRun, name: str, where: dict, description: str, requirement: str) -> None:
    # The session's protocol (DIN SPEC 70121 or ISO 15118-2) decides the label and the requirement cited.
    label = session_label(run)
    run.expect(Fields(d.din(name, DUT, protocol=label), where), description, i.cite(requirement, label))


def _expect_negotiates(run: ScenarioRun) -> None:
    label, protocol = session_label(run), tester_profile(run).name
    run.expect(
        sequence(
            d.din("supportedAppProtocolReq", DUT),
            d.din(
                "supportedAppProtocolRes",
                TESTER,
                d.din_fields("supportedAppProtocolRes", ResponseCode=prefix("OK")),
            ),
            d.din("SessionSetupReq", DUT, protocol=label),
            complete=False,
        ),
        f"supportedAppProtocolReq, {protocol} selected, then a {protocol} SessionSetupReq",
        i.cite(d.DIN_EVCC_01, label),
    )


def _expect_session_ids(run: ScenarioRun) -> None:
    _fields(
        run,
        "SessionSetupReq",
        {d.SID: one_of(_NEW_SESSION_IDS), d.field_path("SessionSetupReq", "EVCCID"): ne(None)},
        "SessionSetupReq starts a new session (SessionID 0) and names the EVCC",
        d.DIN_EVCC_02,
    )
    profile, label = tester_profile(run), session_label(run)
    for canonical in REQUEST_TO_RESPONSE:
        request = profile.wire(canonical)
        if d.message_protocol(request, label) != label or request == "SessionSetupReq":
            continue
        run.expect(
            Fields(
                d.din(request, DUT, protocol=label),
                {d.SID: TESTER_SESSION_ID},
                on_missing=Verdict.NOT_APPLICABLE,
            ),
            f"every {request} carries the SessionID the tester assigned",
            i.cite(d.DIN_EVCC_02, label),
        )


def _expect_ends(run: ScenarioRun) -> None:
    label = session_label(run)
    stop = i.power_delivery_fields(label, PowerDeliveryKind.STOP)
    run.expect(
        sequence(
            repeated(d.din("CurrentDemandReq", DUT, protocol=label)),
            d.din("PowerDeliveryReq", DUT, stop, protocol=label),
            Item(d.din("WeldingDetectionReq", DUT, protocol=label), 0, None),
            d.din("SessionStopReq", DUT, protocol=label),
        ),
        "CurrentDemand loop, PowerDeliveryReq asking to stop, welding detection, SessionStopReq",
        i.cite(d.DIN_EVCC_07, label),
    )


@then("the EVCC negotiates DIN SPEC 70121 and continues with DIN messages")
def evcc_negotiates(vgi_scenario: ScenarioRun) -> None:
    _expect_negotiates(vgi_scenario)


@then("the EVCC's requests follow the DIN SPEC 70121 DC session sequence")
def evcc_sequence(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        SequenceCheck(d.session_sequence(list(d.SESSION_PATTERN), DUT)),
        "the EVCC's requests through the whole DC session, in DIN SPEC 70121 order",
        d.DIN_EVCC_03,
    )


@then("the EVCC's requests carry the session's SessionID")
def evcc_session_ids(vgi_scenario: ScenarioRun) -> None:
    _expect_session_ids(vgi_scenario)


@then("the EVCC ends the session with SessionStopReq")
def evcc_ends(vgi_scenario: ScenarioRun) -> None:
    _expect_ends(vgi_scenario)


def _stage_associate(run: ScenarioRun) -> None:
    _expect_negotiates(run)
    _expect_session_ids(run)


def _stage_initialize(run: ScenarioRun) -> None:
    name = "ChargeParameterDiscoveryReq"
    _fields(
        run,
        name,
        {
            d.field_path(name, i.requested_energy_transfer_field(session_label(run))): one_of(_DC_TYPES),
            d.field_path(name, "DC_EVChargeParameter.EVMaximumVoltageLimit.Value"): PRESENT,
            d.field_path(name, "DC_EVChargeParameter.EVMaximumCurrentLimit.Value"): PRESENT,
        },
        "ChargeParameterDiscoveryReq asks for DC and states the EV's limits",
        d.DIN_EVCC_04,
    )
    _fields(
        run,
        "CableCheckReq",
        {d.field_path("CableCheckReq", "DC_EVStatus.EVRESSSOC"): PRESENT},
        "every CableCheckReq reports the EV's status",
        d.DIN_EVCC_04,
    )


def _stage_precharge(run: ScenarioRun) -> None:
    _fields(
        run,
        "PreChargeReq",
        {
            d.field_path("PreChargeReq", "EVTargetVoltage.Value"): PRESENT,
            d.field_path("PreChargeReq", "EVTargetCurrent.Value"): PRESENT,
            d.field_path("PreChargeReq", "DC_EVStatus.EVReady"): PRESENT,
        },
        "every PreChargeReq carries target voltage, target current and EV status",
        d.DIN_EVCC_05,
    )


def _stage_energy_transfer(run: ScenarioRun) -> None:
    label = session_label(run)
    start = i.power_delivery_fields(label, PowerDeliveryKind.START)
    run.expect(
        sequence(
            d.din("PowerDeliveryReq", DUT, start, protocol=label),
            repeated(d.din("CurrentDemandReq", DUT, protocol=label)),
            complete=False,
        ),
        "PowerDeliveryReq asking to start before the CurrentDemand loop",
        i.cite(d.DIN_EVCC_06, label),
    )
    name = "CurrentDemandReq"
    _fields(
        run,
        name,
        {
            d.field_path(name, "EVTargetCurrent.Value"): PRESENT,
            d.field_path(name, "EVTargetVoltage.Value"): PRESENT,
            d.field_path(name, "DC_EVStatus.EVRESSSOC"): PRESENT,
        },
        "every CurrentDemandReq carries targets and status",
        d.DIN_EVCC_06,
    )


_STAGE_CHECKS = {
    "associate": _stage_associate,
    "initialize": _stage_initialize,
    "precharge": _stage_precharge,
    "energy-transfer": _stage_energy_transfer,
    "shutdown": _expect_ends,
}


@then(parsers.parse("the EVCC's requests of the {stage} stage are correct"))
def evcc_stage(vgi_scenario: ScenarioRun, stage: str) -> None:
    if stage not in _STAGE_CHECKS:
        raise ValueError(f"unknown stage {stage!r}; one of {sorted(d.STAGES)}")
    _STAGE_CHECKS[stage](vgi_scenario)


def _reaction_requirement(run: ScenarioRun) -> str:
    """The requirement a 'the EVCC sends ...' check belongs to: the scenario's first EVCC one of the
    session's protocol (its @req tags are checked against the catalogue when the scenarios are collected)."""
    label = session_label(run)
    first = next((r for r in run.meta.requirements if r.startswith(_REACTION_PREFIXES[label])), None)
    return first or i.cite(d.DIN_EVCC_03, label)


def _in_session(requirement: str) -> str:
    """What a reaction check's description adds: the fault it follows, and that it judges that session."""
    reaction = _REACTIONS.get(requirement)
    return f" {reaction} in that session" if reaction else " in that session"


@then(parsers.parse("the EVCC sends at most {n:d} {request}"))
def evcc_at_most(vgi_scenario: ScenarioRun, n: int, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        Present(d.din(request, DUT, protocol=session_label(vgi_scenario)), min=1, max=n, connection=SESSION),
        f"the EVCC sends {request} at most {n} time(s){_in_session(requirement)}",
        requirement,
    )


@then(parsers.re(r"the EVCC sends no (?P<request>\w+) afterwards"))
def evcc_sends_none(vgi_scenario: ScenarioRun, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        absent(d.din(request, DUT, protocol=session_label(vgi_scenario)), connection=SESSION),
        f"the EVCC sends no {request}{_in_session(requirement)}",
        requirement,
    )


@then(parsers.re(r"the EVCC sends (?P<request>(?!no )\w+) afterwards"))
def evcc_sends(vgi_scenario: ScenarioRun, request: str) -> None:
    vgi_scenario.expect(
        Present(d.din(request, DUT, protocol=session_label(vgi_scenario)), min=1),
        f"the EVCC goes on with {request}",
        _reaction_requirement(vgi_scenario),
    )
