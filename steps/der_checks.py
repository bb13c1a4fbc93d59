"""Then steps for an EV DER client under test (interface 1): expectations over the decrypted capture,
built with :mod:`harness.verdict.checks.der`.  The site and the When steps are in steps/der.py.

Tolerances come from the lab's PIXIT (``der_response_slack_polls``, ``der_power_tolerance_w``,
``der_settle_polls``, ``der_settle_margin_s``, ``der_power_factor_tolerance``: harness/lab/config.py
says what each means); times are server seconds (the capture's Time responses map frame times to
server time, with the lab clock's speedup carried in each spec).
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import parsers, then

from harness.protocol.sep2.endpoints import DCAP_PATH
from harness.scenario import ScenarioRun, required
from harness.verdict.checks import der as d
from harness.verdict.checks import sep2 as s
from harness.verdict.checks.common import (
    DUT,
    PRESENT,
    Fields,
    Present,
    absent,
    between,
    one_of,
    repeated,
    select,
    sequence,
)
from steps.der import DER_ROLE, site
from steps.sep2_server import server

# A changed pollRate: polls may come this share of the rate early (the EV's timer and the capture's
# jitter at the lab's speedup; harness choice).
POLL_RATE_TOLERANCE = 0.05
POLLS_AFTER_CHANGE = 3
# How many real-power readings prove the EV mirrors its power.
READINGS_OBSERVED = 3
# What a reading POST to a MirrorUsagePoint may carry (IEEE 2030.5 metering mirror).
MIRROR_READING_ROOTS = ("MirrorMeterReading", "MirrorMeterReadingList")


def _speedup(run: ScenarioRun) -> float:
    return float(run.bench.settings.sep2_clock_speedup)


def der_pixit(run: ScenarioRun) -> Any:
    """The lab's PIXIT (harness/lab/config.py Pixit: the DER tolerances)."""
    return run.bench.lab.config.pixit


def _mrid(run: ScenarioRun, name: str) -> str:
    return required(run.der.controls.get(name), f'control "{name}"')


def der_responses(run: ScenarioRun, **extra: Any) -> d.DerResponses:
    poll = site(run).poll_rate
    return d.DerResponses(
        _speedup(run),
        slack_s=der_pixit(run).der_response_slack_polls * poll,
        published=tuple(run.der.controls.values()),
        **extra,
    )


def _expect_status(run: ScenarioRun, name: str, statuses: tuple[int, ...], text: str, req: str) -> None:
    check = der_responses(run, require={_mrid(run, name): statuses}, user_choices=True)
    run.expect(check, text, req)


def power_check(run: ScenarioRun, *rules: str, **extra: Any) -> d.DerPower:
    poll, pixit = site(run).poll_rate, der_pixit(run)
    return d.DerPower(
        _speedup(run),
        rules,
        tolerance_w=pixit.der_power_tolerance_w,
        settle_s=float(pixit.der_settle_polls * poll + pixit.der_settle_margin_s),
        **extra,
    )


def _der_path(run: ScenarioRun, name: str) -> str:
    return f"{server(run).device_path(DER_ROLE)}/der/1/{name}"


# --- registration ------------------------------------------------------------------------------------


@then("the EV finds its DER programs through its function set assignments")
def finds_programs(vgi_scenario: ScenarioRun) -> None:
    base = server(vgi_scenario).device_path(DER_ROLE)
    get = [s.request("GET", path, sender=DUT) for path in (DCAP_PATH, "/edev", f"{base}/fsa", "/derp")]
    vgi_scenario.expect(
        sequence(*(repeated(g) for g in get), complete=False),
        "DeviceCapability, the EndDevice list and FunctionSetAssignments, then the DERProgramList",
        d.DER_CLIENT_01,
    )
    for root in ("DefaultDERControl", "DERControlList"):
        vgi_scenario.expect(
            Present(d.served(root), min=1), f"the EV reads a {root} of its programs", d.DER_CLIENT_01
        )


def _expect_written(run: ScenarioRun, writes: Any, present: str, each: str, requirement: str) -> None:
    """The DUT writes the resource at least once, and every write is schema-valid."""
    run.expect(Present(writes, min=1), present, requirement)
    run.expect(Fields(writes, {"schema_valid": True}), f"{each} is schema-valid", requirement)


@then("the EV writes its DER capability, settings, status and availability")
def writes_der(vgi_scenario: ScenarioRun) -> None:
    for name, root in zip(
        ("dercap", "derg", "ders", "dera"),
        ("DERCapability", "DERSettings", "DERStatus", "DERAvailability"),
        strict=True,
    ):
        put = d.written("PUT", root, sender=DUT, path=_der_path(vgi_scenario, name))
        _expect_written(vgi_scenario, put, f"the EV PUTs its {root}", f"every {root} PUT", d.DER_CLIENT_02)


@then("the EV declares an EV inverter whose settings stay within its ratings")
def declares_ev(vgi_scenario: ScenarioRun) -> None:
    capability = d.written("PUT", "DERCapability", sender=DUT)
    vgi_scenario.expect(
        Fields(capability, {"resource.type": d.DER_TYPE_EV, "resource.modesSupported": PRESENT}),
        "DERCapability: type 81 (EV) and the modes it supports",
        d.DER_EV_01,
    )
    declared = site(vgi_scenario).reports.get(_der_path(vgi_scenario, "dercap"))
    rating = required(getattr(declared, "rtg_max_w", None), "DERCapability rtgMaxW the EV declared")
    settings = d.written("PUT", "DERSettings", sender=DUT)
    vgi_scenario.expect(
        Fields(
            settings,
            {
                "resource.setMaxW.multiplier": rating.multiplier.value,
                "resource.setMaxW.value": between(1, rating.value),
            },
        ),
        f"DERSettings setMaxW within the declared rtgMaxW ({rating.value} x 10^{rating.multiplier.value} W)",
        d.DER_EV_01,
    )


# --- responses ---------------------------------------------------------------------------------------


@then("the EV answers every control as the schedule calls for")
def answers_as_scheduled(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        der_responses(vgi_scenario),
        "every DERControlResponse as the oracle over the published schedule calls for",
        d.DER_RSP_01,
    )


@then(parsers.parse('the EV starts control "{name}" within its randomization window'))
def starts_randomized(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered started within its randomizeStart window'
    _expect_status(vgi_scenario, name, (d.STATUS_STARTED,), text, d.DER_EVT_01)


@then(parsers.parse('the EV supersedes control "{name}" for the newer control of its program'))
def superseded_in_program(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered superseded by the newer control of its program'
    _expect_status(vgi_scenario, name, (d.STATUS_SUPERSEDED,), text, d.DER_EVT_02)


@then(parsers.parse('the EV supersedes control "{name}" for the control of the higher-priority program'))
def superseded_by_primacy(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered superseded by the higher-priority program\'s control'
    _expect_status(vgi_scenario, name, (d.STATUS_SUPERSEDED,), text, d.DER_EVT_03)


@then(parsers.parse('the EV answers control "{name}" cancelled'))
def answered_cancelled(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered cancelled within the cancellation window'
    _expect_status(vgi_scenario, name, (d.STATUS_CANCELLED,), text, d.DER_EVT_04)


@then(parsers.parse('the EV answers control "{name}" expired'))
def answered_expired(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered expired (254) and never started'
    _expect_status(vgi_scenario, name, (d.STATUS_EXPIRED,), text, d.DER_EVT_05)


@then(parsers.parse('the EV answers control "{name}" not supported'))
def answered_not_supported(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered not supported (251, or 252 to a 2018 server)'
    statuses = (d.STATUS_NOT_SUPPORTED, d.STATUS_NOT_APPLICABLE)
    _expect_status(vgi_scenario, name, statuses, text, d.DER_EVT_06)


@then(parsers.parse('the EV answers control "{name}" opted out before it starts'))
@then(parsers.parse('the telematics answers control "{name}" opted out for the user before it starts'))
def answered_opted_out(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered opted out (4) before its start, never started'
    _expect_status(vgi_scenario, name, (d.STATUS_OPTED_OUT,), text, d.DER_USER_01)


@then(parsers.parse('the EV opts out of control "{name}", fully or partly, for its next drive'))
def opts_out_for_drive(vgi_scenario: ScenarioRun, name: str) -> None:
    text = f'control "{name}" answered opted out (4) or partly opted out (8) for the next drive'
    statuses = (d.STATUS_OPTED_OUT, d.STATUS_PARTIAL_OPT_OUT)
    _expect_status(vgi_scenario, name, statuses, text, d.DER_EV_02)


@then(parsers.parse('the EV posts no response to control "{name}"'))
def no_response(vgi_scenario: ScenarioRun, name: str) -> None:
    mrid = _mrid(vgi_scenario, name)
    vgi_scenario.expect(
        der_responses(vgi_scenario), f'control "{name}" reached the EV; responses as scheduled', d.DER_RSP_02
    )
    post = d.written("POST", "DERControlResponse", sender=DUT)
    vgi_scenario.expect(
        absent(post.matching_fields({"resource.subject": mrid})),
        f'no DERControlResponse names control "{name}" (responseRequired 00)',
        d.DER_RSP_02,
    )


# --- power -------------------------------------------------------------------------------------------


@then("the EV does not export before the site authorizes it, and exports after")
def exports_after_authorization(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "authorization", "exports", authorization_program=d.J3072_PROGRAM_HREF)
    vgi_scenario.expect(check, "no export before the J3072 authorization, export after", d.DER_J3072_01)


@then("the EV never exports while the site refuses its authorization")
def never_exports(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "authorization", authorization_program=d.J3072_PROGRAM_HREF)
    vgi_scenario.expect(check, "no export: the site never authorized the EV", d.DER_J3072_02)


@then("the EV exports as its controls command")
def exports_as_commanded(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "fixed", "commanded", "exports")
    vgi_scenario.expect(
        check, "export within tolerance of the opModFixedW command once settled", d.DER_CTL_01
    )


@then("the EV mirrors its real power, export as negative readings")
def mirrors_power(vgi_scenario: ScenarioRun) -> None:
    # IEEE 2030.5 metering mirror: the EV POSTs its readings to its MirrorUsagePoint one
    # MirrorMeterReading at a time or several in a MirrorMeterReadingList; either counts.
    readings = select(d.HTTP, sender=DUT, where={"method": "POST", "root": one_of(MIRROR_READING_ROOTS)})
    vgi_scenario.expect(
        Present(readings, min=READINGS_OBSERVED),
        f"at least {READINGS_OBSERVED} MirrorMeterReading POSTs (alone or in a list) from the EV",
        d.DER_METER_01,
    )
    vgi_scenario.expect(
        power_check(vgi_scenario, "exports"),
        "real-power readings in W show export as negative",
        d.DER_METER_01,
    )


@then("the EV keeps its export under the opModMaxLimW cap")
def under_cap(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "max_lim", "exports")
    vgi_scenario.expect(check, "export never above setMaxW times opModMaxLimW", d.DER_CTL_02)


@then(parsers.parse("the EV stops exporting while {mode} is false"))
def stops_when_false(vgi_scenario: ScenarioRun, mode: str) -> None:
    rule = {"opModEnergize": "energize", "opModConnect": "connect"}[mode]
    check = power_check(vgi_scenario, rule, "exports")
    vgi_scenario.expect(check, f"no export while {mode} in effect is false", d.DER_CTL_03)


@then("the EV's real and reactive power give the commanded fixed power factor")
def fixed_power_factor(vgi_scenario: ScenarioRun) -> None:
    tolerance = der_pixit(vgi_scenario).der_power_factor_tolerance
    check = power_check(vgi_scenario, "fixed", "power_factor", "exports", pf_tolerance=tolerance)
    vgi_scenario.expect(
        check,
        f"power factor of each settled reading within {tolerance:g} of opModFixedPFInjectW/AbsorbW, "
        "reactive power on the commanded side",
        d.DER_CTL_05,
    )


@then("the EV's metering mirror shows the export as negative real power of the commanded size")
def meter_shows_export(vgi_scenario: ScenarioRun) -> None:
    mirror = d.written("POST", "MirrorUsagePoint", sender=DUT)
    _expect_written(
        vgi_scenario,
        mirror,
        "the EV posts a MirrorUsagePoint for its meter",
        "every MirrorUsagePoint",
        d.DER_METER_02,
    )
    check = power_check(vgi_scenario, "fixed", "exports")
    vgi_scenario.expect(
        check,
        "real-power readings negative during the discharge, within tolerance of the commanded export",
        d.DER_METER_02,
    )


@then(parsers.parse('the EV acknowledges DRLC event "{name}" as received'))
def acknowledges_drlc(vgi_scenario: ScenarioRun, name: str) -> None:
    event = required(vgi_scenario.sep2.dr_mrid, f'DRLC event "{name}"')
    ack = d.written("POST", "DrResponse", sender=DUT)
    ack = ack.matching_fields({"resource.subject": event, "resource.status": d.STATUS_RECEIVED})
    vgi_scenario.expect(
        Present(ack, min=1), f'a DrResponse status 1 (received) for DRLC event "{name}"', d.DER_DRLC_01
    )


@then(parsers.parse('the EV follows control "{name}" with its import capped by DRLC event "{event}"'))
def follows_der_within_drlc(vgi_scenario: ScenarioRun, name: str, event: str) -> None:
    _mrid(vgi_scenario, name)
    required(vgi_scenario.sep2.dr_mrid, f'DRLC event "{event}"')
    vgi_scenario.expect(
        power_check(vgi_scenario, "drlc"),
        "each settled reading as opModFixedW commands, import capped at the DRLC duty cycle inside the event",
        d.DER_DRLC_01,
    )


@then("the EV asks for a discharge window and discharges only inside the window the site granted")
def discharges_in_window(vgi_scenario: ScenarioRun) -> None:
    request = d.written("POST", "FlowReservationRequest", sender=DUT)
    vgi_scenario.expect(
        Fields(request, {"schema_valid": True, "resource.powerRequested.value": between(-(2**15), -1)}),
        "a schema-valid FlowReservationRequest asking for a discharge (negative powerRequested)",
        d.DER_FLOW_01,
    )
    vgi_scenario.expect(
        power_check(vgi_scenario, "window", "exports"),
        "no export outside the granted window, the granted power inside it once settled",
        d.DER_FLOW_01,
    )


@then("the EV ramps its export within the control's ramp time")
def ramps(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "ramp", "exports")
    vgi_scenario.expect(check, "export under a linear ramp over the control's rampTms", d.DER_CTL_04)


@then("the EV falls back to the default control while the site is unreachable")
def falls_back(vgi_scenario: ScenarioRun) -> None:
    check = power_check(vgi_scenario, "commanded", "exports", comm_loss_polls=d.COMM_LOSS_POLLS)
    text = f"after {d.COMM_LOSS_POLLS} failed polls no export beyond what the default control commands"
    vgi_scenario.expect(check, text, d.DER_COMM_01)


# --- messages and polling ----------------------------------------------------------------------------


@then("the EV acknowledges the site's text messages")
@then("the telematics tells the user of each message: it acknowledges the site's text messages")
def acknowledges_messages(vgi_scenario: ScenarioRun) -> None:
    messages = vgi_scenario.der.messages or [m.mrid for m in site(vgi_scenario).messages]
    if not messages:
        raise RuntimeError("the site published no text message (an earlier step is missing)")
    for mrid in messages:
        ack = d.written("POST", "TextResponse", sender=DUT, path=d.MESSAGE_REPLY_TO)
        ack = ack.matching_fields({"resource.subject": mrid, "resource.status": d.TEXT_RECEIVED})
        vgi_scenario.expect(
            Present(ack, min=1), f"a TextResponse status 1 (received) for message {mrid[-8:]}", d.DER_MSG_01
        )


@then("the EV polls its DER programs no faster than the new pollRate")
def adopts_poll_rate(vgi_scenario: ScenarioRun) -> None:
    rate = required(vgi_scenario.der.poll_rate_s, "pollRate change")
    check = d.DerPollRate(
        _speedup(vgi_scenario),
        rate,
        tolerance_s=POLL_RATE_TOLERANCE * rate,
        min_polls=POLLS_AFTER_CHANGE,
    )
    vgi_scenario.expect(check, f"GET /derp at least the new pollRate ({rate} s) apart", d.DER_POLL_01)
