"""Checks of an EVCC under test in DIN SPEC 70121 (the tester is the SECC).

Then-steps only register expectations over the capture's timeline (steps/din70121_tester.py drives
the tester).
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.protocol.din70121.messages import REQUEST_TO_RESPONSE
from harness.protocol.din70121.secc import DC_ENERGY_TRANSFER_TYPES
from harness.scenario import ScenarioRun
from harness.verdict.checks import din70121 as d
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
from steps.din70121_tester import TESTER_SESSION_ID

_DC_TYPES = sorted(DC_ENERGY_TRANSFER_TYPES)
# A new session's SessionID (DIN SPEC 70121 8.4.3.2: 0, one byte or eight).
_NEW_SESSION_IDS = ["00", "0000000000000000"]
# How the description of an EVCC reaction check ends, by the requirement it cites.
_REACTIONS = {
    d.DIN_EVCC_08: "after a FAILED response",
    d.DIN_EVCC_09: "after a foreign SessionID",
    d.DIN_EVCC_10: "after a late or missing response",
    d.DIN_EVCC_11: "after an undecodable response",
    d.DIN_EVCC_12: "after the EVSE's status",
}


def _fields(run: ScenarioRun, name: str, where: dict, description: str, requirement: str) -> None:
    run.expect(Fields(d.din(name, DUT), where), description, requirement)


def _expect_negotiates(run: ScenarioRun) -> None:
    run.expect(
        sequence(
            d.din("supportedAppProtocolReq", DUT),
            d.din(
                "supportedAppProtocolRes",
                TESTER,
                d.din_fields("supportedAppProtocolRes", ResponseCode=prefix("OK")),
            ),
            d.din("SessionSetupReq", DUT),
            complete=False,
        ),
        "supportedAppProtocolReq, DIN SPEC 70121 selected, then a DIN SessionSetupReq",
        d.DIN_EVCC_01,
    )


def _expect_session_ids(run: ScenarioRun) -> None:
    _fields(
        run,
        "SessionSetupReq",
        {d.SID: one_of(_NEW_SESSION_IDS), d.field_path("SessionSetupReq", "EVCCID"): ne(None)},
        "SessionSetupReq starts a new session (SessionID 0) and names the EVCC",
        d.DIN_EVCC_02,
    )
    for request in REQUEST_TO_RESPONSE:
        if d.message_protocol(request) != d.DIN or request == "SessionSetupReq":
            continue
        run.expect(
            Fields(d.din(request, DUT), {d.SID: TESTER_SESSION_ID}, on_missing=Verdict.NOT_APPLICABLE),
            f"every {request} carries the SessionID the tester assigned",
            d.DIN_EVCC_02,
        )


def _expect_ends(run: ScenarioRun) -> None:
    run.expect(
        sequence(
            repeated(d.din("CurrentDemandReq", DUT)),
            d.din("PowerDeliveryReq", DUT, d.din_fields("PowerDeliveryReq", ReadyToChargeState=False)),
            Item(d.din("WeldingDetectionReq", DUT), 0, None),
            d.din("SessionStopReq", DUT),
        ),
        "CurrentDemand loop, PowerDeliveryReq not ready to charge, welding detection, SessionStopReq",
        d.DIN_EVCC_07,
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
            d.field_path(name, "EVRequestedEnergyTransferType"): one_of(_DC_TYPES),
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
    run.expect(
        sequence(
            d.din("PowerDeliveryReq", DUT, d.din_fields("PowerDeliveryReq", ReadyToChargeState=True)),
            repeated(d.din("CurrentDemandReq", DUT)),
            complete=False,
        ),
        "PowerDeliveryReq ready to charge before the CurrentDemand loop",
        d.DIN_EVCC_06,
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
    """The requirement a 'the EVCC sends ...' check belongs to: the scenario's first DIN-EVCC one (its
    @req tags are checked against the catalogue when the scenarios are collected)."""
    return next((r for r in run.meta.requirements if r.startswith(d.DIN_EVCC_PREFIX)), d.DIN_EVCC_03)


@then(parsers.parse("the EVCC sends at most {n:d} {request}"))
def evcc_at_most(vgi_scenario: ScenarioRun, n: int, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        Present(d.din(request, DUT), min=1, max=n),
        f"the EVCC sends {request} at most {n} time(s) {_REACTIONS.get(requirement, '')}".strip(),
        requirement,
    )


@then(parsers.re(r"the EVCC sends no (?P<request>\w+) afterwards"))
def evcc_sends_none(vgi_scenario: ScenarioRun, request: str) -> None:
    requirement = _reaction_requirement(vgi_scenario)
    vgi_scenario.expect(
        absent(d.din(request, DUT)),
        f"the EVCC sends no {request} {_REACTIONS.get(requirement, '')}".strip(),
        requirement,
    )


@then(parsers.re(r"the EVCC sends (?P<request>(?!no )\w+) afterwards"))
def evcc_sends(vgi_scenario: ScenarioRun, request: str) -> None:
    vgi_scenario.expect(
        Present(d.din(request, DUT), min=1),
        f"the EVCC goes on with {request}",
        _reaction_requirement(vgi_scenario),
    )
