"""Steps for an EV's on-board inverter as an IEEE 2030.5 DER client under test on interface 1: the tester
is the site's EVSE/BMS serving a DER site (:class:`~harness.devices.sep2.der_site.DerSite`) behind the
EVSE bridge.  Given/When steps here drive the site; the Then steps are in steps/der_checks.py.

Times in the feature text are server seconds relative to the site's clock (PIXIT
``sep2_clock_speedup`` times the wall clock).  What the site logs (reports, responses) only tells a
step when to stop waiting; verdicts come from the capture.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, when

from harness.codec.sep2.values import mrid
from harness.devices.sep2.common import dut_identity
from harness.devices.sep2.der_grid import LabGrid
from harness.devices.sep2.der_reservation import OFFER_MARKER
from harness.devices.sep2.der_site import CURVE_FREQ_WATT, CURVE_VOLT_VAR, DerSite
from harness.protocol.sep2 import der_convert
from harness.protocol.sep2.der_model import ResponseStatus
from harness.scenario import ScenarioRun, required
from harness.verdict.verdicts import Inconclusive
from steps.sep2_server import server, start_server, wait_until

# The EV role under test and the reference device service it runs as (README AC DER); on interface 6
# the EV's telematics plays the EV's DER client.
DER_ROLE = "ev"
TELEMATICS_ROLE = "telematics"
DER_SERVICE = "der"
# The DER resources the EV writes under its EndDevice (README AC DER resource tree).
DER_REPORTS = ("dercap", "derg", "ders", "dera")
# Wall-clock bound on the EV finding the site (DNS-SD), opening TLS and registering its DER (harness
# choice: the reference EV needs a few seconds, most of it DNS-SD).
REGISTRATION_TIMEOUT_S = 30.0
# How long after a control's latest end the site keeps watching, in poll periods: the EV learns the end
# on its next poll and posts its last responses (README AC DER: responses follow each poll).
END_GRACE_POLLS = 2
# After a control's latest start, how many poll periods until it is surely active at the EV.
START_GRACE_POLLS = 1
# Wall-clock margin on top of a wait computed from server time (the bench's own hand-over).
WAIT_MARGIN_S = 5.0
# The user's opt-out answers (REFERENCE-DER.md section 1 response status codes).
OPT_OUT_STATUSES = (ResponseStatus.OPTED_OUT, ResponseStatus.PARTIAL_OPT_OUT)
# Feature text settings that are DERControl parameters, not DERControlBase modes.
_PARAMETERS = {
    "randomizeStart": "randomize_start",
    "randomizeDuration": "randomize_duration",
    "responseRequired": "response_required",
    "description": "description",
    "rampTms": "ramp_tms",
}
_HEX_PARAMETERS = ("responseRequired",)
# Fixed power factor modes take ``0.90/absorb`` or ``0.90/inject`` (PowerFactorWithExcitation: excitation
# true = absorbing reactive power, sep.xsd), written with two decimals (multiplier -2).
_POWER_FACTOR_MODES = ("opModFixedPFInjectW", "opModFixedPFAbsorbW")
_EXCITATION = {"absorb": True, "inject": False}
_PF_MULTIPLIER = -2
# DERCurve types a feature names (sep.xsd DERCurveType).
_CURVE_TYPES = {"volt-var": CURVE_VOLT_VAR, "freq-watt": CURVE_FREQ_WATT}


def curve_points(text: str) -> tuple[list[tuple[int, int]], int]:
    """``59.00/100, 60.10/100, 60.60/0`` -> whole-number (x, y) points and the xMultiplier that scales
    x back (the most decimals any x has; y is whole percent)."""
    pairs = [part.strip().partition("/") for part in text.split(",")]
    if any(not sep or not x or not y for x, sep, y in pairs):
        raise ValueError(f"curve points read like 92/44, 98/0 (x/y), not {text!r}")
    decimals = max(len(x.partition(".")[2]) for x, _, _ in pairs)
    points = [(round(float(x) * 10**decimals), int(y)) for x, _, y in pairs]
    return points, -decimals


def power_factor(raw: str) -> tuple[tuple[str, Any], ...]:
    """``0.90/inject`` -> the plain PowerFactorWithExcitation value the site publishes."""
    number, _, side = raw.partition("/")
    if side not in _EXCITATION:
        raise ValueError(f"a power factor reads like 0.90/inject or 0.95/absorb, not {raw!r}")
    displacement = round(float(number) * 10**-_PF_MULTIPLIER)
    return (("displacement", displacement), ("excitation", _EXCITATION[side]), ("multiplier", _PF_MULTIPLIER))


def site(run: ScenarioRun) -> DerSite:
    der = server(run).der
    if not isinstance(der, DerSite):
        raise RuntimeError("the tester's server serves no DER site (an earlier step is missing)")
    return der


def der_role(run: ScenarioRun) -> str:
    """The role playing the EV's DER client in this scenario (the EV unless a step started another)."""
    return run.sep2.dut_role or DER_ROLE


def _speedup(run: ScenarioRun) -> float:
    return float(run.bench.settings.sep2_clock_speedup)


def parse_settings(text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``opModFixedW=5000, randomizeStart=300`` -> (modes, publish parameters)."""
    modes: dict[str, Any] = {}
    parameters: dict[str, Any] = {}
    for item in (part.strip() for part in text.split(",")):
        name, _, raw = item.partition("=")
        name, raw = name.strip(), raw.strip()
        if name in _HEX_PARAMETERS:
            parameters[_PARAMETERS[name]] = int(raw, 16)
        elif name in _PARAMETERS:
            parameters[_PARAMETERS[name]] = raw if name == "description" else int(raw)
        elif name in _POWER_FACTOR_MODES:
            modes[name] = power_factor(raw)
        elif raw in ("true", "false"):
            modes[name] = raw == "true"
        elif raw.startswith("/"):
            modes[name] = raw  # a DERCurve href (opModVoltVar, opModFreqWatt)
        else:
            modes[name] = int(raw)
    return modes, parameters


def wait_server_time(run: ScenarioRun, until: float) -> None:
    """Wait until the site's clock reads ``until`` (server seconds)."""
    der = site(run)
    wall_s = max(0.0, (until - der.now()) / _speedup(run))
    wait_until(run, lambda: der.now() >= until, wall_s + WAIT_MARGIN_S)


def _ensure_contacted(run: ScenarioRun, what: str) -> None:
    tester = server(run)
    if tester.connection_attempts() == 0:
        why = f" (DNS-SD: {tester.advertise_error})" if tester.advertise_error else ""
        raise Inconclusive(f"the EV under test never opened a TLS connection to the tester{why}")
    raise Inconclusive(f"the EV under test did not {what} within {REGISTRATION_TIMEOUT_S:g} s")


# --- the site --------------------------------------------------------------------------------------


@given("the tester is the IEEE 2030.5 DER site server behind an EVSE bridge")
def tester_is_der_site(vgi_scenario: ScenarioRun) -> None:
    start_server(vgi_scenario, "bms", bridged=True, der=True)


@given("the tester is the IEEE 2030.5 DER utility server on the internet path")
def tester_is_der_utility(vgi_scenario: ScenarioRun) -> None:
    # Interface 6: the EV's telematics reaches the utility's server directly, no EVSE bridge.
    start_server(vgi_scenario, "pfe-server", der=True)


@given(
    parsers.parse(
        "the tester is the IEEE 2030.5 DER site server behind an EVSE bridge with a site export "
        "limit of {watts:d} W"
    )
)
def tester_is_limited_der_site(vgi_scenario: ScenarioRun, watts: int) -> None:
    start_server(vgi_scenario, "bms", bridged=True, der=True, site_max_export_w=float(watts))


@given(parsers.parse("the DER site adds program {p:d} with primacy {primacy:d}"))
def add_program(vgi_scenario: ScenarioRun, p: int, primacy: int) -> None:
    index = site(vgi_scenario).add_program(primacy, f"VGI DER program {p}")
    if index != p:
        raise RuntimeError(f"the site made program {index}, the feature expects {p} (programs in order)")


@given(
    parsers.parse(
        "the DER site adds program {p:d} with primacy {primacy:d} whose description asks the EV to offer "
        "a discharge window"
    )
)
def add_offering_program(vgi_scenario: ScenarioRun, p: int, primacy: int) -> None:
    # The tester hook of the reference EV's driver (README AC DER "Discharge window").
    index = site(vgi_scenario).add_program(primacy, f"VGI DER program {p} {OFFER_MARKER}")
    if index != p:
        raise RuntimeError(f"the site made program {index}, the feature expects {p} (programs in order)")


@given(
    parsers.parse(
        'the DER site publishes control "{name}" in program {p:d} from {offset} s for {duration:d} s: '
        "{settings}"
    )
)
@when(
    parsers.parse(
        'the DER site publishes control "{name}" in program {p:d} from {offset} s for {duration:d} s: '
        "{settings}"
    )
)
def publish_control(
    vgi_scenario: ScenarioRun, name: str, p: int, offset: str, duration: int, settings: str
) -> None:
    der = site(vgi_scenario)
    modes, parameters = parse_settings(settings)
    start = der.now() + int(offset)
    state = vgi_scenario.der
    state.controls[name] = der.publish(p, start=start, duration=duration, modes=modes, **parameters)
    latest_start = start + max(0, parameters.get("randomize_start", 0))
    state.starts[name] = latest_start
    state.ends[name] = latest_start + duration + max(0, parameters.get("randomize_duration", 0))


@when(
    parsers.parse(
        'the DER site publishes a DRLC event "{name}" from {offset} s for {duration:d} s limiting the load '
        "to {percent:d} %"
    )
)
def publish_drlc_event(
    vgi_scenario: ScenarioRun, name: str, offset: str, duration: int, percent: int
) -> None:
    # DRLC beside DER (README AC DER "DRLC and DER"): an EndDeviceControl with a DutyCycle on the
    # server the DER site is mounted on; its mRID is kept apart from the DER controls.
    sep2_site = required(server(vgi_scenario).site, "IEEE 2030.5 tester server (not started)")
    start = site(vgi_scenario).now() + int(offset)
    event = sep2_site.add_dr_event(start, duration, percent)
    vgi_scenario.sep2.dr_mrid = mrid(event.mrid).value.hex().upper()
    vgi_scenario.der.ends[name] = start + duration


@when(parsers.parse('the DER site cancels control "{name}"'))
def cancel_control(vgi_scenario: ScenarioRun, name: str) -> None:
    _cancel(vgi_scenario, name, randomized=False)


@when(parsers.parse('the DER site cancels control "{name}" with randomization'))
def cancel_control_randomized(vgi_scenario: ScenarioRun, name: str) -> None:
    _cancel(vgi_scenario, name, randomized=True)


def _cancel(run: ScenarioRun, name: str, *, randomized: bool) -> None:
    der = site(run)
    mrid = required(run.der.controls.get(name), f'control "{name}"')
    der.cancel(mrid, randomized=randomized)
    # A randomized cancellation may run on for the control's larger randomization (sep.xsd EventStatus).
    spread = max((abs(v) for v in _randomization(der, mrid).values()), default=0) if randomized else 0
    run.der.ends[name] = min(run.der.ends[name], der.now() + spread)


def _randomization(der: DerSite, mrid: str) -> dict[str, int]:
    for _, snapshot in reversed(der.published()):
        for control in snapshot.controls:
            if control.mrid == mrid:
                return {"start": control.randomize_start, "duration": control.randomize_duration}
    return {}


@given(parsers.parse("the DER site adds a {kind} curve to program {p:d} with points {points}"))
def add_curve(vgi_scenario: ScenarioRun, kind: str, p: int, points: str) -> None:
    if kind not in _CURVE_TYPES:
        raise ValueError(f"curve kinds: {sorted(_CURVE_TYPES)}, not {kind!r}")
    values, x_multiplier = curve_points(points)
    site(vgi_scenario).add_curve(p, _CURVE_TYPES[kind], values, x_multiplier=x_multiplier, description=kind)


def _grid(run: ScenarioRun) -> LabGrid:
    return site(run).grid


@when(parsers.parse("the lab grid at the EV's connection is {volts:g} V from {offset} s"))
def grid_voltage(vgi_scenario: ScenarioRun, volts: float, offset: str) -> None:
    # The simulated lab's grid point (harness.devices.sep2.der_grid): the EV measures it at its terminals.
    _grid(vgi_scenario).set_from(site(vgi_scenario).now() + int(offset), voltage_v=volts)


@when(parsers.parse("the lab grid at the EV's connection is {hertz:g} Hz from {offset} s"))
def grid_frequency(vgi_scenario: ScenarioRun, hertz: float, offset: str) -> None:
    _grid(vgi_scenario).set_from(site(vgi_scenario).now() + int(offset), frequency_hz=hertz)


@when(parsers.parse("the DER site changes the pollRate to {seconds:d} s"))
def change_poll_rate(vgi_scenario: ScenarioRun, seconds: int) -> None:
    site(vgi_scenario).poll_rate = seconds
    vgi_scenario.der.poll_rate_s = seconds


@when(parsers.parse("the DER site becomes unreachable for {seconds:d} s"))
def become_unreachable(vgi_scenario: ScenarioRun, seconds: int) -> None:
    der = site(vgi_scenario)
    der.unreachable_until(der.now() + seconds)


@when(parsers.parse('the DER site tells the user "{text}"'))
def tell_user(vgi_scenario: ScenarioRun, text: str) -> None:
    site(vgi_scenario).tell(text)


@when(parsers.parse('the DER site tells the user "{text}" once the EV has opted out of control "{name}"'))
def tell_user_of_opt_out(vgi_scenario: ScenarioRun, text: str, name: str) -> None:
    der = site(vgi_scenario)
    mrid = required(vgi_scenario.der.controls.get(name), f'control "{name}"')

    def opted_out() -> bool:
        answers = [(der_convert.mrid_text(i.resource.subject), int(i.resource.status)) for i in der.responses]
        return any(subject == mrid and status in OPT_OUT_STATUSES for subject, status in answers)

    if not wait_until(vgi_scenario, opted_out, REGISTRATION_TIMEOUT_S):
        raise Inconclusive(f'the EV under test did not opt out of control "{name}": the user is not told')
    der.tell(text)


# --- the EV ----------------------------------------------------------------------------------------


@when("the EV under test starts as a DER client")
def ev_starts(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.sep2.dut_role = DER_ROLE
    vgi_scenario.start_dut(DER_ROLE, DER_SERVICE)


@when("the telematics under test starts as the EV's DER client")
def telematics_starts(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.sep2.dut_role = TELEMATICS_ROLE
    vgi_scenario.start_dut(TELEMATICS_ROLE, DER_SERVICE)


@when("the DER site waits until the EV has registered its DER")
def wait_registered(vgi_scenario: ScenarioRun) -> None:
    tester, der = server(vgi_scenario), site(vgi_scenario)
    base = f"{tester.device_path(der_role(vgi_scenario))}/der/1/"

    def registered() -> bool:
        return all(base + name in der.reports for name in DER_REPORTS) and tester.has_read("/derp")

    if not wait_until(vgi_scenario, registered, REGISTRATION_TIMEOUT_S):
        _ensure_contacted(vgi_scenario, "register its DER and read its DER programs")


@when("the DER site waits until the EV is authorized")
def wait_authorized(vgi_scenario: ScenarioRun) -> None:
    der = site(vgi_scenario)
    lfdi = dut_identity(der_role(vgi_scenario), vgi_scenario.bench.settings).lfdi
    if not wait_until(vgi_scenario, lambda: der.authorized(lfdi), REGISTRATION_TIMEOUT_S):
        _ensure_contacted(vgi_scenario, "get the site's J3072 authorization")


@when("the DER site waits until the EV has acknowledged the site's messages")
def wait_messages_acknowledged(vgi_scenario: ScenarioRun) -> None:
    der = site(vgi_scenario)

    def acknowledged() -> bool:
        return bool(der.messages) and len(der.text_responses) >= len(der.messages)

    # The EV reads its messages when it polls: on a lab clock in real time (a DUT from elsewhere) a poll
    # period outlasts the wall-clock bound, so wait END_GRACE_POLLS poll periods when that is longer.
    polls_s = END_GRACE_POLLS * der.poll_rate / _speedup(vgi_scenario) + WAIT_MARGIN_S
    done = wait_until(vgi_scenario, acknowledged, max(REGISTRATION_TIMEOUT_S, polls_s))
    vgi_scenario.der.messages = [message.mrid for message in der.messages]
    # Undecided only when the site told nothing or the EV never connected; an EV that was told and never
    # answered is judged by the Then step (DER-MSG-01 FAILs).
    contacted = server(vgi_scenario).connection_attempts() > 0
    if not done and not der.text_responses and not (der.messages and contacted):
        _ensure_contacted(vgi_scenario, "acknowledge the site's text messages")


@when(parsers.parse('the DER site waits until control "{name}" has started'))
def wait_started(vgi_scenario: ScenarioRun, name: str) -> None:
    start = required(vgi_scenario.der.starts.get(name), f'control "{name}"')
    wait_server_time(vgi_scenario, start + START_GRACE_POLLS * site(vgi_scenario).poll_rate)


@when(parsers.parse('the DER site waits until control "{name}" has ended'))
def wait_ended(vgi_scenario: ScenarioRun, name: str) -> None:
    end = required(vgi_scenario.der.ends.get(name), f'control "{name}"')
    wait_server_time(vgi_scenario, end + END_GRACE_POLLS * site(vgi_scenario).poll_rate)


@when("the DER site waits until the EV's discharge window has ended")
def wait_window_ended(vgi_scenario: ScenarioRun) -> None:
    sep2_site = required(server(vgi_scenario).site, "IEEE 2030.5 tester server (not started)")

    def asked() -> bool:
        return bool(sep2_site.flow_requests)

    if not wait_until(vgi_scenario, asked, REGISTRATION_TIMEOUT_S):
        _ensure_contacted(vgi_scenario, "ask for a discharge window (FlowReservationRequest)")
    ends = []
    for _owner, request in list(sep2_site.flow_requests.values()):
        interval = request.interval_requested
        ends.append(int(interval.start.value) + int(interval.duration))
    wait_server_time(vgi_scenario, max(ends) + END_GRACE_POLLS * site(vgi_scenario).poll_rate)


@when(parsers.parse("the DER site watches the EV for {polls:d} poll periods"))
def watch_polls(vgi_scenario: ScenarioRun, polls: int) -> None:
    der = site(vgi_scenario)
    wait_server_time(vgi_scenario, der.now() + polls * der.poll_rate)
