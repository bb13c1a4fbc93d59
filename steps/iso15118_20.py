"""Steps of the ISO 15118-20 DC and DC_BPT scenarios (interface 4), both roles.

The tester is :mod:`harness.testers.iso15118_20` (the reference -20 cores plus faults) on the DIN tester's
session drivers; its setup lives in ``run.din.setup`` like the DIN tester's, so the session helpers of
steps/din70121_tester.py (charge, serve) drive it.  The checks read the capture, where -20 messages carry
the protocol label ``ISO-20`` (:mod:`harness.verdict.checks.iso15118_20`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_bdd import given, parsers, when

from harness.protocol.dc_profiles import EV_PREFERENCE, dc_profile
from harness.protocol.iso15118_20.messages import ServiceID
from harness.protocol.iso15118_20.timing import Iso20Timings
from harness.scenario import ScenarioRun
from harness.testers.iso15118_20 import (
    Iso20EvTester,
    Iso20SeccTester,
    Iso20TesterSetup,
    named_fault,
)
from harness.verdict.verdicts import Inconclusive
from steps.din70121_tester import charge, serve
from steps.iso15118_2 import JUST_OVER, JUST_UNDER

# The tester's services by the feature's wording.
_SERVICES = {
    "DC": (ServiceID.DC,),
    "DC_BPT": (ServiceID.DC_BPT,),
    "DC and DC_BPT": (ServiceID.DC, ServiceID.DC_BPT),
}
# How far from the EVCC's DC_ChargeLoopRes timeout (0.5 s) a delayed response is "just under" or "just
# over" it: ISO 15118-2's fractions (100 ms under, 200 ms over here).
_SIDES = {"under": JUST_UNDER, "over": JUST_OVER}


def iso20_setup(run: ScenarioRun) -> Iso20TesterSetup:
    if not isinstance(run.din.setup, Iso20TesterSetup):
        run.din.setup = Iso20TesterSetup.for_lab(run.bench.settings)
    return run.din.setup


def timings(run: ScenarioRun) -> Iso20Timings:
    return Iso20Timings.from_lab(run.timer)


def _fault(run: ScenarioRun, kind: str, message: str, occurrence: int = 1, **options: Any) -> None:
    iso20_setup(run).faults.append(named_fault(kind, message, occurrence, **options))


# --- the tester as EV --------------------------------------------------------------------------------


def open_iso20_ev(run: ScenarioRun, service: str) -> None:
    """Open the tester EV using ``service`` (the feature's wording) and find the SECC with SDP;
    inconclusive if the SECC never answers."""
    tester_setup = iso20_setup(run)
    tester_setup.iso20_evcc = replace(tester_setup.iso20_evcc, services=_SERVICES[service], discharge=True)
    tester = Iso20EvTester(run.bench.link, run.observer, tester_setup)
    run.bench.run(tester.open())
    run.cleanups.append(tester.close)
    run.din.ev = tester
    for port in tester.local_ports:
        run.claim_port(port)
    if run.bench.run(tester.discover()) is None:
        raise Inconclusive("the SECC answered no SECCDiscoveryReq, so no ISO 15118-20 session could start")


@given(parsers.parse("the tester is an ISO 15118-20 {service} EV that found the SECC with SDP"))
def tester_is_iso20_ev(vgi_scenario: ScenarioRun, service: str) -> None:
    open_iso20_ev(vgi_scenario, service)


@given(
    "the tester is an EV offering ISO 15118-20, ISO 15118-2 and DIN SPEC 70121 that found the SECC with SDP"
)
def tester_offers_all_three(vgi_scenario: ScenarioRun) -> None:
    iso20_setup(vgi_scenario).profiles = tuple(dc_profile(name, vgi_scenario.timer) for name in EV_PREFERENCE)
    open_iso20_ev(vgi_scenario, "DC")


@when("the tester runs a complete ISO 15118-20 session")
def run_session(vgi_scenario: ScenarioRun) -> None:
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester sends {request} number {n:d} with a foreign SessionID"))
def send_foreign_session(vgi_scenario: ScenarioRun, request: str, n: int) -> None:
    _fault(vgi_scenario, "wrong session id", request, n)
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester sends {sent} in place of {expected}"))
def send_out_of_sequence(vgi_scenario: ScenarioRun, sent: str, expected: str) -> None:
    _fault(vgi_scenario, "out of sequence", expected, send=sent)
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester sends ServiceDiscoveryReq as {defect}"))
def send_malformed(vgi_scenario: ScenarioRun, defect: str) -> None:
    _fault(vgi_scenario, defect.lower(), "ServiceDiscoveryReq")
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester selects service {service:d} parameter set {parameter_set:d}"))
def select_service(vgi_scenario: ScenarioRun, service: int, parameter_set: int) -> None:
    _fault(
        vgi_scenario, "select service", "ServiceSelectionReq", service=service, parameter_set=parameter_set
    )
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester asks for the service detail of service {service:d}"))
def service_detail(vgi_scenario: ScenarioRun, service: int) -> None:
    _fault(vgi_scenario, "service detail", "ServiceDetailReq", service=service)
    charge(vgi_scenario)


@when(
    parsers.parse("the ISO 15118-20 tester sends DC_ChargeLoopReq number {n:d} in the {element} control mode")
)
def wrong_control_mode(vgi_scenario: ScenarioRun, n: int, element: str) -> None:
    _fault(vgi_scenario, "control mode", "DC_ChargeLoopReq", n, element=element)
    charge(vgi_scenario)


@when(
    parsers.parse("the ISO 15118-20 tester leaves the discharge limits out of DC_ChargeLoopReq number {n:d}")
)
def no_discharge_limits(vgi_scenario: ScenarioRun, n: int) -> None:
    _fault(vgi_scenario, "no discharge limits", "DC_ChargeLoopReq", n)
    charge(vgi_scenario)


@when(parsers.parse("the ISO 15118-20 tester asks for a discharge in DC_ChargeLoopReq number {n:d}"))
def discharge_in_dc(vgi_scenario: ScenarioRun, n: int) -> None:
    _fault(vgi_scenario, "discharge without bpt", "DC_ChargeLoopReq", n)
    charge(vgi_scenario)


# --- the tester as SECC ------------------------------------------------------------------------------


@given(parsers.parse("the tester is an ISO 15118-20 SECC offering {service} on the link"))
def tester_is_iso20_secc(vgi_scenario: ScenarioRun, service: str) -> None:
    open_iso20_secc(vgi_scenario, service)


def open_iso20_secc(run: ScenarioRun, service: str) -> None:
    """Open the tester SECC offering ``service`` (the feature's wording) on the link."""
    tester_setup = iso20_setup(run)
    tester_setup.iso20_secc = replace(tester_setup.iso20_secc, services=_SERVICES[service])
    tester = Iso20SeccTester(run.bench.link, run.observer, tester_setup)
    run.bench.run(tester.open())
    for port in tester.local_ports:
        run.claim_port(port)
    run.din.secc = tester
    run.cleanups.append(lambda: run.bench.run(tester.close()))


@given(parsers.parse("the ISO 15118-20 tester answers {response} number {n:d} with a foreign SessionID"))
def answer_foreign_session(vgi_scenario: ScenarioRun, response: str, n: int) -> None:
    _fault(vgi_scenario, "wrong session id", response, n)


@given(parsers.parse('the ISO 15118-20 tester answers {response} number {n:d} with response code "{code}"'))
def answer_failed(vgi_scenario: ScenarioRun, response: str, n: int, code: str) -> None:
    _fault(vgi_scenario, "response code", response, n, code=code)


@given(parsers.parse("the ISO 15118-20 tester sends {response} number {n:d} as {defect}"))
def malformed_response(vgi_scenario: ScenarioRun, response: str, n: int, defect: str) -> None:
    _fault(vgi_scenario, defect.lower(), response, n)


@given(
    parsers.parse(
        "the ISO 15118-20 tester delays DC_ChargeLoopRes number {n:d} to just {side} the EVCC's -20 timeout"
    )
)
def delay_charge_loop(vgi_scenario: ScenarioRun, n: int, side: str) -> None:
    timeout = timings(vgi_scenario).msg_timeout_s("DC_ChargeLoopReq")
    _fault(vgi_scenario, "delay", "DC_ChargeLoopRes", n, seconds=timeout * _SIDES[side])


@given(parsers.parse("the ISO 15118-20 tester notifies Terminate in DC_ChargeLoopRes number {n:d}"))
def notify_terminate(vgi_scenario: ScenarioRun, n: int) -> None:
    _fault(vgi_scenario, "evse terminate", "DC_ChargeLoopRes", n)


@when("the tester serves the EVCC's ISO 15118-20 session")
def serve_session(vgi_scenario: ScenarioRun) -> None:
    serve(vgi_scenario)
