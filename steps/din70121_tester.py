"""Steps that set up and drive the DIN SPEC 70121 tester (SAE J2847/2), both roles.

The tester's setup (faults, stop point) is collected by Given-steps in ``run.din.setup`` before the
When-step runs the session; the checks are in steps/din70121_secc.py (SECC under test) and
steps/din70121_evcc.py (EVCC under test).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pytest_bdd import given, parsers, when

from harness.protocol.din70121.profile import DcProfile, DinProfile
from harness.protocol.din70121.timing import COMMUNICATION_SETUP_TIMER, DinTimings
from harness.protocol.sdp import SDP_MAX_REQUESTS
from harness.scenario import ScenarioRun, required
from harness.testers.din70121 import DISCOVERY_ATTEMPTS, DinEvTester, DinSeccTester, TesterSetup, named_fault
from harness.transport.v2g import SessionOutcome
from harness.verdict.checks import din70121 as d
from harness.verdict.checks import iso15118_2 as i
from harness.verdict.verdicts import Inconclusive

# The longest a scenario's session may take before the tester gives up on it: a simulated session takes
# seconds; a real EV or charger with a full cable check and precharge well under a minute.
SESSION_LIMIT_S = 90.0
# An EVCC under test starts after plug-in: its own start-up on top of V2G_EVCC_CommunicationSetup_Timeout.
EVCC_START_MARGIN_S = 5.0
# Margin on top of a tester wait for the bench's own thread hand-over.
BENCH_MARGIN_S = 10.0
# harness.codec.v2g schema name -> the protocol label the capture's timeline gives its messages.
_TIMELINE_LABELS = {"din": d.DIN, "iso2": i.ISO2}
# The SessionID the tester SECC hands out (8 bytes, DIN SPEC 70121 8.4.3.2), fixed so that expectations
# can name it before the session ran.
TESTER_SESSION_ID = "5E55101D00C0FFEE"


def timings(run: ScenarioRun) -> DinTimings:
    """The DIN SPEC 70121 timers as the lab's PIXIT sets them."""
    return DinTimings.from_lab(run.timer)


def setup(run: ScenarioRun) -> TesterSetup:
    if run.din.setup is None:
        run.din.setup = TesterSetup(timings=timings(run))
    return run.din.setup


def tester_profile(run: ScenarioRun) -> DcProfile:
    """The DC protocol the tester speaks first (DIN SPEC 70121 unless a step chose others)."""
    profiles = setup(run).profiles
    return profiles[0] if profiles else DinProfile(setup(run).timings)


def session_label(run: ScenarioRun) -> str:
    """The timeline's protocol label of the tester's session messages (it offers one protocol, or puts
    this one first)."""
    return _TIMELINE_LABELS[tester_profile(run).schema]


def _add_fault(run: ScenarioRun, kind: str, message: str, occurrence: int = 1, **options: Any) -> None:
    setup(run).faults.append(named_fault(kind, message, occurrence, **options))


# --- tester as EV, DUT as SECC ---------------------------------------------------------------------------


def open_ev_and_discover(run: ScenarioRun) -> DinEvTester:
    """Open the tester EV and find the SECC with SDP; inconclusive if the SECC never answers."""
    tester = DinEvTester(run.bench.link, run.observer, setup(run))
    run.bench.run(tester.open())
    run.cleanups.append(tester.close)
    run.din.ev = tester
    if not _discover(run, tester):
        raise Inconclusive("the SECC answered no SECCDiscoveryReq, so no DIN SPEC 70121 session could start")
    return tester


def _discover(run: ScenarioRun, tester: DinEvTester, attempts: int = DISCOVERY_ATTEMPTS) -> bool:
    for port in tester.local_ports:
        run.claim_port(port)
    return run.bench.run(tester.discover(attempts)) is not None


def assigned_session(outcome: SessionOutcome) -> str | None:
    """The SessionID the SECC assigned in a session of the tester EV (its SessionSetupRes header)."""
    for record in outcome.records:
        if record.direction == "received" and record.name == "SessionSetupRes" and record.message:
            return record.message["V2G_Message"]["Header"]["SessionID"]
    return None


def charge(run: ScenarioRun) -> SessionOutcome:
    """The tester EV runs one session with its current setup."""
    tester = required(run.din.ev, "DIN SPEC 70121 tester EV")
    try:
        outcome = run.bench.run(tester.charge(SESSION_LIMIT_S), SESSION_LIMIT_S + BENCH_MARGIN_S)
    except OSError as exc:
        raise Inconclusive(f"the SECC did not accept the V2G TCP connection: {exc}") from None
    finally:
        for port in tester.local_ports:
            run.claim_port(port)
    run.din.outcomes.append(outcome)
    return outcome


@given("the tester is a DIN SPEC 70121 EV that found the SECC with SDP")
def tester_is_ev(vgi_scenario: ScenarioRun) -> None:
    open_ev_and_discover(vgi_scenario)


@when("the tester charges through a complete DIN SPEC 70121 session")
def charge_complete(vgi_scenario: ScenarioRun) -> None:
    charge(vgi_scenario)


@when(parsers.parse("the tester sends {request} number {n:d} with a foreign SessionID"))
def send_foreign_session(vgi_scenario: ScenarioRun, request: str, n: int) -> None:
    _add_fault(vgi_scenario, "wrong session id", request, n)
    charge(vgi_scenario)


@when(parsers.parse("the tester sends {sent} in place of {expected}"))
def send_out_of_sequence(vgi_scenario: ScenarioRun, sent: str, expected: str) -> None:
    _add_fault(vgi_scenario, "out of sequence", expected, 1, send=sent, profile=tester_profile(vgi_scenario))
    charge(vgi_scenario)


@when(parsers.parse("the tester sends ServiceDiscoveryReq as {defect}"))
def send_malformed_request(vgi_scenario: ScenarioRun, defect: str) -> None:
    _add_fault(vgi_scenario, defect.lower(), "ServiceDiscoveryReq")
    charge(vgi_scenario)


@when(parsers.parse("the tester charges and the EV asks to stop after CurrentDemandRes number {n:d}"))
def charge_and_stop(vgi_scenario: ScenarioRun, n: int) -> None:
    setup(vgi_scenario).stop_on = ("CurrentDemandRes", n)
    charge(vgi_scenario)


@when(parsers.parse('the tester asks for energy transfer type "{transfer}"'))
def ask_energy_transfer(vgi_scenario: ScenarioRun, transfer: str) -> None:
    # The reference EV would refuse an SECC that offers only DC; the request is rewritten on its way out.
    _add_fault(
        vgi_scenario,
        "body fields",
        "ChargeParameterDiscoveryReq",
        fields={i.requested_energy_transfer_field(session_label(vgi_scenario)): transfer},
    )
    charge(vgi_scenario)


@when(parsers.parse("the tester resets the TCP connection in place of CurrentDemandReq number {n:d}"))
def reset_connection(vgi_scenario: ScenarioRun, n: int) -> None:
    _add_fault(vgi_scenario, "tcp reset", "CurrentDemandReq", n)
    charge(vgi_scenario)


@when("the tester discovers the SECC again and charges through a complete session")
def charge_again(vgi_scenario: ScenarioRun) -> None:
    setup(vgi_scenario).faults.clear()
    tester = required(vgi_scenario.din.ev, "DIN SPEC 70121 tester EV")
    # An EVCC keeps asking for up to SDP_MAX_REQUESTS; an SECC that never answers again fails the
    # scenario's expectations (the first session proved it can), it does not make it inconclusive.
    if _discover(vgi_scenario, tester, SDP_MAX_REQUESTS):
        charge(vgi_scenario)


# --- tester as SECC, DUT as EVCC ---------------------------------------------------------------------------


def open_secc(run: ScenarioRun) -> DinSeccTester:
    """Open the tester SECC on the link (SDP server, V2G port) with the current setup."""
    din_setup = setup(run)
    din_setup.secc_config = replace(din_setup.secc_config, session_id=TESTER_SESSION_ID)
    tester = DinSeccTester(run.bench.link, run.observer, din_setup)
    run.bench.run(tester.open())
    for port in tester.local_ports:
        run.claim_port(port)
    run.din.secc = tester
    run.cleanups.append(lambda: run.bench.run(tester.close()))
    return tester


@given("the tester is a DIN SPEC 70121 SECC on the link")
def tester_is_secc(vgi_scenario: ScenarioRun) -> None:
    open_secc(vgi_scenario)


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
    serve(vgi_scenario)


def serve(vgi_scenario: ScenarioRun) -> None:
    """The tester SECC waits for the EVCC under test's connection and serves its session to the end."""
    tester = required(vgi_scenario.din.secc, "DIN SPEC 70121 tester SECC")
    # DIN SPEC 70121 Table 77 V2G_EVCC_CommunicationSetup_Timeout: an EVCC that has not set up its
    # session this long after plug-in will not.
    setup_timeout = vgi_scenario.timer(COMMUNICATION_SETUP_TIMER)
    if not vgi_scenario.bench.run(tester.wait_connected(setup_timeout + EVCC_START_MARGIN_S)):
        raise Inconclusive(f"the EVCC opened no V2G connection within {setup_timeout:g} s of plug-in")
    outcome = vgi_scenario.bench.run(tester.wait_session(SESSION_LIMIT_S), SESSION_LIMIT_S + BENCH_MARGIN_S)
    if outcome is not None:
        vgi_scenario.din.outcomes.append(outcome)
