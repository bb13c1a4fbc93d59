"""Steps of the SAE J2847/2 bidirectional (V2H, V2G) scenarios on ISO 15118-2 (interface 4), both roles.

The tester is the ISO 15118-2 tester (steps/iso15118_2.py, steps/din70121_tester.py) with the reference
devices' BPT configuration: as EV it selects the V2H or V2G service when the SECC under test offers it and
discharges its (bidirectional) pack; as SECC it offers the services the scenario names, with a home load
(V2H) or a grid discharge request (V2G). Checks are built in harness/verdict/checks/bpt.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.devices.evcc import SIM_BATTERY, SIM_START_SOC
from harness.protocol.dc_profiles import ISO15118_2, dc_profile
from harness.protocol.din70121.messages import body, dc_ev_status, physical
from harness.protocol.iso15118_2.bpt import BptMode
from harness.scenario import ScenarioRun
from harness.testers.din70121 import named_fault
from harness.verdict.checks import bpt as b
from harness.verdict.checks.common import DUT, TESTER, Fields, Present, absent, between, once, repeated
from harness.verdict.checks.common import Sequence as SequenceCheck
from harness.verdict.checks.din70121 import field_path
from harness.verdict.verdicts import Inconclusive, Verdict
from steps.din70121_tester import charge, open_ev_and_discover, open_secc, setup

# The discharge the tester EV asks for in a session that selected no BPT service.
_FORBIDDEN_DISCHARGE_A = -20.0


def _iso2(run: ScenarioRun) -> None:
    setup(run).profiles = (dc_profile(ISO15118_2, run.timer),)


def _modes(text: str) -> tuple[str, ...]:
    return tuple(str(BptMode(mode.strip())) for mode in text.replace(" and ", ",").split(",") if mode.strip())


# --- the tester as EV ------------------------------------------------------------------------------------


@given(parsers.parse("the tester is an ISO 15118-2 EV using SAE J2847/2 {mode} that found the SECC with SDP"))
def tester_is_bpt_ev(vgi_scenario: ScenarioRun, mode: str) -> None:
    _iso2(vgi_scenario)
    ev = setup(vgi_scenario)
    ev.evcc_config = replace(ev.evcc_config, bpt_modes=_modes(mode))
    open_ev_and_discover(vgi_scenario)


@when(parsers.parse("the tester sends CurrentDemandReq number {n:d} with a negative EVTargetCurrent"))
def send_negative_target(vgi_scenario: ScenarioRun, n: int) -> None:
    fields = {"EVTargetCurrent": physical(_FORBIDDEN_DISCHARGE_A, "A")}
    setup(vgi_scenario).faults.append(_body_fields("CurrentDemandReq", fields, n))
    charge(vgi_scenario)


@when(parsers.parse("the tester sends ChargeParameterDiscoveryReq number {n:d} with positive V2H limits"))
def send_positive_v2h_limits(vgi_scenario: ScenarioRun, n: int) -> None:
    ev = setup(vgi_scenario)
    # The tester pack's discharge ratings, sent positive: what a V2H EV must not do.
    pack = ev.battery or SIM_BATTERY
    parameters = {
        "DC_EVChargeParameter": {
            "DC_EVStatus": dc_ev_status(ev.start_soc if ev.start_soc is not None else SIM_START_SOC),
            "EVMaximumCurrentLimit": physical(pack.max_discharge_current_a, "A"),
            "EVMaximumPowerLimit": physical(pack.max_discharge_power_w, "W"),
            "EVMaximumVoltageLimit": physical(pack.max_voltage_v, "V"),
            "BulkSOC": int(pack.min_soc),
        }
    }
    ev.faults.append(_body_fields("ChargeParameterDiscoveryReq", parameters, n))
    charge(vgi_scenario)


def _body_fields(message: str, fields: dict[str, Any], n: int) -> Any:
    return named_fault("body fields", message, n, fields=fields)


# --- the tester as SECC ----------------------------------------------------------------------------------


@given(parsers.parse("the tester is an ISO 15118-2 SECC offering SAE J2847/2 {modes} on the link"))
def tester_is_bpt_secc(vgi_scenario: ScenarioRun, modes: str) -> None:
    _iso2(vgi_scenario)
    secc = setup(vgi_scenario)
    secc.secc_config = replace(secc.secc_config, bpt_services=_modes(modes))
    open_secc(vgi_scenario)


# --- checks of an SECC under test --------------------------------------------------------------------------


@then(parsers.parse("the SECC accepted the tester's selection of SAE J2847/2 {mode}"))
def secc_accepts_selection(vgi_scenario: ScenarioRun, mode: str) -> None:
    vgi_scenario.expect(
        Present(b.selects(TESTER, BptMode(mode)), min=1, on_missing=Verdict.FAIL),
        f"the SECC listed the {mode} service, so the tester EV selected it beside the charge service",
        b.J2847_2_BPT_01,
    )
    vgi_scenario.expect(
        Fields(b.message("PaymentServiceSelectionRes", DUT), {_code("PaymentServiceSelectionRes"): "OK"}),
        "PaymentServiceSelectionRes OK to the selection",
        b.J2847_2_BPT_01,
    )


@then("the SECC answers the first V2H ChargeParameterDiscoveryReq Ongoing and accepts the discharge limits")
def secc_v2h_parameters(vgi_scenario: ScenarioRun) -> None:
    name = "ChargeParameterDiscoveryRes"
    vgi_scenario.expect(
        SequenceCheck(
            (
                repeated(b.message(name, DUT, EVSEProcessing="Ongoing", ResponseCode="OK")),
                once(b.message(name, DUT, EVSEProcessing="Finished", ResponseCode="OK")),
            )
        ),
        "ChargeParameterDiscoveryRes Ongoing first, then Finished OK to the negative limits with BulkSOC",
        b.J2847_2_BPT_02,
    )


@then(
    parsers.parse("the SECC sinks the EV's discharge in CurrentDemand to a clean end of the {mode} session")
)
def secc_sinks(vgi_scenario: ScenarioRun, mode: str) -> None:
    requirement = b.J2847_2_BPT_03 if BptMode(mode) is BptMode.V2H else b.J2847_2_BPT_04
    name = "CurrentDemandRes"
    vgi_scenario.expect(
        Present(b.with_negative(name, DUT, "EVSEPresentCurrent"), min=1, on_missing=Verdict.FAIL),
        "some CurrentDemandRes reports a negative EVSEPresentCurrent (the EVSE sinks the EV's discharge)",
        requirement,
    )
    vgi_scenario.expect(
        Fields(b.message(name, DUT), {_code(name): "OK"}, on_missing=Verdict.FAIL),
        "every CurrentDemandRes of the discharge says OK",
        requirement,
    )
    vgi_scenario.expect(
        Present(b.message("SessionStopRes", DUT, ResponseCode="OK"), min=1, on_missing=Verdict.FAIL),
        "the session ends with SessionStopRes OK",
        requirement,
    )


@then("the SECC asks for discharge with negative limits in CurrentDemandRes")
def secc_asks_v2g(vgi_scenario: ScenarioRun) -> None:
    name = "CurrentDemandRes"
    vgi_scenario.expect(
        Present(
            b.with_negative(name, DUT, "EVSEMaximumCurrentLimit", "EVSEMaximumPowerLimit"),
            min=1,
            on_missing=Verdict.FAIL,
        ),
        "some CurrentDemandRes carries negative EVSEMaximumCurrentLimit and EVSEMaximumPowerLimit",
        b.J2847_2_BPT_04,
    )


@then(parsers.parse('the SECC answers the negative CurrentDemandReq with response code "{code}"'))
def secc_refuses_discharge(vgi_scenario: ScenarioRun, code: str) -> None:
    name = "CurrentDemandRes"
    vgi_scenario.expect(
        Present(b.message(name, DUT, ResponseCode=code), min=1, on_missing=Verdict.FAIL),
        f"the CurrentDemandReq with a negative EVTargetCurrent is answered {code}",
        b.J2847_2_BPT_05,
    )
    vgi_scenario.expect(
        absent(b.with_negative(name, DUT, "EVSEPresentCurrent")),
        "the EVSE sinks no current in a session without a SAE J2847/2 service",
        b.J2847_2_BPT_05,
    )


@then(parsers.parse('the SECC answers the V2H ChargeParameterDiscoveryReq with response code "{code}"'))
def secc_refuses_v2h_limits(vgi_scenario: ScenarioRun, code: str) -> None:
    vgi_scenario.expect(
        Present(b.selects(TESTER, BptMode.V2H), min=1, on_missing=Verdict.INCONCLUSIVE),
        "the tester EV selected V2H (the SECC listed it)",
        b.J2847_2_BPT_02,
    )
    vgi_scenario.expect(
        Present(
            b.message("ChargeParameterDiscoveryRes", DUT, ResponseCode=code), min=1, on_missing=Verdict.FAIL
        ),
        f"positive limits in the V2H ChargeParameterDiscoveryReq are answered {code}",
        b.J2847_2_BPT_02,
    )


# --- checks of an EVCC under test --------------------------------------------------------------------------


@then(parsers.parse("the EVCC selects SAE J2847/2 {mode} beside the charge service"))
def evcc_selects(vgi_scenario: ScenarioRun, mode: str) -> None:
    requirement = b.J2847_2_BPT_06 if BptMode(mode) is BptMode.V2H else b.J2847_2_BPT_07
    vgi_scenario.expect(
        Present(b.selects(DUT, BptMode(mode)), min=1, on_missing=Verdict.FAIL),
        f"PaymentServiceSelectionReq selects the charge service and the {mode} service",
        requirement,
    )


@then("the EVCC declares its minimum SoC and negative limits in ChargeParameterDiscoveryReq")
def evcc_v2h_parameters(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(b.v2h_parameters(DUT), min=1, on_missing=Verdict.FAIL),
        "a ChargeParameterDiscoveryReq with BulkSOC and negative EVMaximumCurrentLimit and "
        "EVMaximumPowerLimit",
        b.J2847_2_BPT_06,
    )


@then(
    parsers.parse("the EVCC discharges with a negative EVTargetCurrent to a clean end of the {mode} session")
)
def evcc_discharges(vgi_scenario: ScenarioRun, mode: str) -> None:
    requirement = b.J2847_2_BPT_06 if BptMode(mode) is BptMode.V2H else b.J2847_2_BPT_07
    if BptMode(mode) is BptMode.V2G:
        vgi_scenario.expect(
            Present(
                b.with_negative(
                    "CurrentDemandRes", TESTER, "EVSEMaximumCurrentLimit", "EVSEMaximumPowerLimit"
                ),
                min=1,
                on_missing=Verdict.INCONCLUSIVE,
                precondition=True,
            ),
            "the tester SECC asked for discharge (negative limits in CurrentDemandRes)",
            requirement,
        )
    vgi_scenario.expect(
        Present(b.with_negative("CurrentDemandReq", DUT, "EVTargetCurrent"), min=1, on_missing=Verdict.FAIL),
        "some CurrentDemandReq asks for a negative EVTargetCurrent",
        requirement,
    )
    vgi_scenario.expect(
        Present(b.message("SessionStopReq", DUT), min=1, on_missing=Verdict.FAIL),
        "the EVCC ends the session with SessionStopReq",
        requirement,
    )


@then("the EVCC stops discharging at the minimum SoC it declared")
def evcc_min_soc(vgi_scenario: ScenarioRun) -> None:
    bulk = _declared_min_soc(vgi_scenario)
    name = "CurrentDemandReq"
    vgi_scenario.expect(
        Fields(
            b.with_negative(name, DUT, "EVTargetCurrent"),
            {_field(name, "DC_EVStatus.EVRESSSOC"): between(bulk, 100)},
            on_missing=Verdict.FAIL,
        ),
        f"every discharging CurrentDemandReq reports EVRESSSOC at or above the declared BulkSOC {bulk} %",
        b.J2847_2_BPT_08,
    )
    vgi_scenario.expect(
        Present(b.message("PowerDeliveryReq", DUT, ChargeProgress="Stop"), min=1, on_missing=Verdict.FAIL),
        "the EVCC ends energy transfer with PowerDeliveryReq(Stop)",
        b.J2847_2_BPT_08,
    )
    vgi_scenario.expect(
        absent(b.message("CurrentDemandRes", TESTER, **{"DC_EVSEStatus.EVSEStatusCode": "EVSE_Shutdown"})),
        "the EVCC stopped by itself: the tester SECC never had to shut the discharge down",
        b.J2847_2_BPT_08,
    )


@then("the EVCC selects no SAE J2847/2 service and does not discharge")
def evcc_no_bpt(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Fields(
            b.message("PaymentServiceSelectionReq", DUT),
            {_field("PaymentServiceSelectionReq", "SelectedServiceList.SelectedService"): b.selection(None)},
            on_missing=Verdict.FAIL,
        ),
        "PaymentServiceSelectionReq selects the charge service only",
        b.J2847_2_BPT_09,
    )
    for name, values in (
        ("CurrentDemandReq", ("EVTargetCurrent",)),
        ("ChargeParameterDiscoveryReq", ("DC_EVChargeParameter.EVMaximumCurrentLimit",)),
        ("ChargeParameterDiscoveryReq", ("DC_EVChargeParameter.EVMaximumPowerLimit",)),
    ):
        vgi_scenario.expect(
            absent(b.with_negative(name, DUT, *values)),
            f"no {name} with a negative {values[0].split('.')[-1]}",
            b.J2847_2_BPT_09,
        )


# --- helpers ---------------------------------------------------------------------------------------------


def _field(name: str, field: str) -> str:
    return field_path(name, field)


def _code(name: str) -> str:
    return _field(name, "ResponseCode")


def _declared_min_soc(run: ScenarioRun) -> int:
    """The BulkSOC (minimum SoC) the EVCC under test declared in its V2H ChargeParameterDiscoveryReq, as
    the tester SECC received it."""
    for outcome in run.din.outcomes:
        for record in outcome.records:
            if (
                record.direction == "received"
                and record.name == "ChargeParameterDiscoveryReq"
                and record.message
            ):
                parameters = body(record.message).get("DC_EVChargeParameter", {})
                if "BulkSOC" in parameters:
                    return int(parameters["BulkSOC"])
    raise Inconclusive("the EVCC declared no minimum SoC (BulkSOC) in a ChargeParameterDiscoveryReq")
