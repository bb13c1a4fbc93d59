"""Steps for an IEEE 2030.5 DER server under test (a PFE on interface 7, a BMS on interface 8): the tester
follows its DER programs as an EV DER client (:class:`~harness.testers.der_client.DerClientTester`) and
the Then steps judge the server from the decrypted capture (:mod:`harness.verdict.checks.der_server`).

The tester's own view (what its engine saw) only tells a step when to stop waiting.
"""

from __future__ import annotations

from collections.abc import Callable

from pytest_bdd import given, parsers, then, when

from harness.devices.models.inverter import Inverter
from harness.protocol.sep2.der_events import EventState
from harness.scenario import ScenarioRun, required
from harness.testers.der_client import DerClientTester
from harness.verdict.checks import der_server as ds
from harness.verdict.verdicts import Inconclusive, Verdict

# The reference devices' DER service of a sim role (harness.devices.catalog, README AC DER).
DER_SERVICE = "der"
# Wall-clock bound on the tester finding the server, opening TLS, registering and polling once (harness
# choice: the reference server answers within a second or two; most of the rest is DNS-SD).
FOLLOW_TIMEOUT_S = 30.0
# Wall-clock bound on waiting for the server to change a control (harness choice: the reference PFE/BMS
# changes its schedule 3 poll periods after a client first reads it, its replacement supersedes at
# 1800 server seconds after its start: 15 s at the lab's speedup; a lab operator changing a real server's
# schedule by hand needs longer, PIXIT timers may raise it later).
CHANGE_TIMEOUT_S = 60.0
# Bound on starting and stopping the tester's client on the bench's loop.
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
# Bound on the tester posting what its engine still has to send after a change.
SETTLE_TIMEOUT_S = 10.0
BENCH_MARGIN_S = 5.0
# Slack on "within one poll", in server seconds: the capture maps frame times to server time to the
# second and the tester's poll may start a little after the period (harness choice: 1 % of the lab's
# 120 s pollRate would be too tight at a 120x clock, so one server-side second per 10 ms of jitter).
CHANGE_SLACK_S = 30.0
_STATES = {
    "cancels": frozenset({EventState.CANCELLED, EventState.CANCELLED_WITH_RANDOMIZATION}),
    "supersedes": frozenset({EventState.SUPERSEDED}),
}


def der_client(run: ScenarioRun) -> DerClientTester:
    return required(run.der.client, "the tester's DER client")


def start_der_client(run: ScenarioRun, inverter: Inverter | None = None) -> DerClientTester:
    """Start the tester's DER client against the DUT (stopped when the scenario ends)."""
    tester = DerClientTester(
        run.bench.link, run.bench.settings, run.keylog_path, inverter=inverter or Inverter()
    )
    run.der.client = tester
    run.cleanups.append(lambda: run.bench.run(tester.stop(), STOP_TIMEOUT_S))
    run.bench.run(tester.start(), START_TIMEOUT_S)
    if tester.refused:
        raise Inconclusive("the tester could not locate the server under test: " + "; ".join(tester.refused))
    return tester


def wait_client(run: ScenarioRun, predicate: Callable[[], bool], timeout_s: float) -> bool:
    tester = der_client(run)
    done = bool(run.bench.run(tester.wait_for(predicate, timeout_s), timeout_s + BENCH_MARGIN_S))
    for port in tester.local_ports:
        run.claim_port(port)
    return done


def _speedup(run: ScenarioRun) -> float:
    return float(run.bench.settings.sep2_clock_speedup)


@given(parsers.parse("the {role} under test serves IEEE 2030.5 DER programs"))
def der_server_running(vgi_scenario: ScenarioRun, role: str) -> None:
    vgi_scenario.start_dut(role, DER_SERVICE)


@when("the tester follows the server's DER programs as an EV DER client")
def follow(vgi_scenario: ScenarioRun) -> None:
    tester = start_der_client(vgi_scenario)
    if not wait_client(vgi_scenario, tester.following, FOLLOW_TIMEOUT_S):
        raise Inconclusive(
            f"the tester did not register and poll the server's DER programs within {FOLLOW_TIMEOUT_S:g} s"
        )


@when(parsers.parse("the tester follows them until the server {change} a control"))
def follow_until_change(vgi_scenario: ScenarioRun, change: str) -> None:
    states = _STATES[change]
    tester = der_client(vgi_scenario)
    if not wait_client(vgi_scenario, lambda: bool(tester.seen(states)), CHANGE_TIMEOUT_S):
        raise Inconclusive(f"the server did not {change.rstrip('s')} a control within {CHANGE_TIMEOUT_S:g} s")
    wait_client(vgi_scenario, tester.settled, SETTLE_TIMEOUT_S)


@then(
    "the server's DER programs have a primacy and a default, its controls valid times and no "
    "ambiguous overlap, and every curve they name exists"
)
def programs_well_formed(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerServerPrograms(on_missing=Verdict.INCONCLUSIVE),
        "programs with primacy and DefaultDERControl, controls with valid times and no two of equal "
        "primacy and creationTime overlapping for a mode, every named DERCurve served",
        ds.DER_SERVER_01,
    )


@then("the server accepts the tester's DER capability, settings, status and availability")
def writes_accepted(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerServerWrites(ds.DER_WRITES, on_missing=Verdict.INCONCLUSIVE),
        "every DERCapability, DERSettings, DERStatus and DERAvailability PUT answered 201/204",
        ds.DER_SERVER_02,
    )


@then("the server accepts the tester's control responses")
def responses_accepted(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerServerWrites(ds.RESPONSE_WRITES, on_missing=Verdict.INCONCLUSIVE),
        "every DERControlResponse POST answered 201/204",
        ds.DER_SERVER_03,
    )


@then("the server's change of a control reaches the tester within one poll and stays")
def change_within_poll(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        ds.DerServerChange(_speedup(vgi_scenario), slack_s=CHANGE_SLACK_S, on_missing=Verdict.INCONCLUSIVE),
        "a cancelled or superseded control is served so from the first poll after its status time, and "
        "never served live again",
        ds.DER_SERVER_04,
    )
