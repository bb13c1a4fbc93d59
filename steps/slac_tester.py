"""Steps that set up and drive the SLAC tester (ISO 15118-3) on the PLC link, both roles.

The checks are in steps/slac_evse.py (EVSE under test) and steps/slac_ev.py (EV under test).  Numbers
come from the lab's PIXIT timers, the constants of :mod:`harness.protocol.slac.constants`, or the
named waits below.
"""

from __future__ import annotations

import asyncio

from pytest_bdd import given, parsers, when

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import BEACON_LOSS_S, BEACON_PERIOD_S
from harness.protocol.faults import Delay, Drop, Duplicate, Rewrite
from harness.protocol.pilot import (
    DIGITAL_COMMUNICATION_DUTY,
    DIGITAL_COMMUNICATION_MAX_DUTY,
    DIGITAL_COMMUNICATION_MIN_DUTY,
    PilotOutput,
    PilotState,
)
from harness.protocol.slac import Matched, MatchFailed
from harness.protocol.slac import faults as sf
from harness.scenario import ScenarioRun, SlacState, required
from harness.testers.slac import SlacEvseTester, SlacEvTester, foreign_mac
from harness.verdict.verdicts import Inconclusive

# How long the tester waits for the DUT to show up on the pilot / finish a match (the harness's own
# patience, not a protocol limit; a real EVSE may take TT_EVSE_SLAC_init).
PLUG_IN_WAIT_S = 10.0
MATCH_WAIT_S = 15.0
# How long opening or closing the tester's modems, pilot and SLAC stations may take.
TESTER_OPEN_CLOSE_S = 10.0
# How long one change of the simulated pilot may take to go out.
PILOT_CHANGE_S = 5.0
# Margin on top of a tester wait for the bench's own thread hand-over.
BENCH_MARGIN_S = 5.0
# How long the tester waits for the reply to its UDP echo probe on a linked PLC (harness patience).
ECHO_WAIT_S = 1.0
# How many TT_match_response the tester watches for an answer to a foreign CM_SLAC_MATCH.REQ.
FOREIGN_WATCH_RESPONSES = 4
# The attenuation of the one EVSE the tester plays when the feature names none (dB, a short cable).
DEFAULT_ATTENUATION_DB = 22
WRONG_RUN_ID = bytes.fromhex("dead00beef00cafe")


def _real_modem(run: ScenarioRun) -> bool:
    """A `plc` or `manual` lab: the tester's port leads to a real Green PHY modem (a `manual` DUT is
    the operator's device behind the lab's modem, lab_configs/examples/manual-evse.yaml)."""
    return run.bench.lab.config.access.kind in ("plc", "manual")


def _inconclusive_without_link(run: ScenarioRun) -> None:
    if run.bench.link.mode != "netns" and not _real_modem(run):
        raise Inconclusive("SLAC needs raw Ethernet between network namespaces (run as root)")


def _ev(run: ScenarioRun) -> SlacEvTester:
    return required(run.slac.ev, "SLAC tester EV")


def _evse(run: ScenarioRun) -> SlacEvseTester:
    return required(run.slac.evse, "SLAC tester EVSE")


def learn_evse_dut(run: ScenarioRun) -> None:
    """What the tester EV learned about the EVSE under test: its MAC and the RunIDs used."""
    tester = _ev(run)
    if tester.matched_evse_mac is not None:
        run.slac.dut_mac = tester.matched_evse_mac
    run.slac.run_ids = [run_id.hex() for run_id in tester.run_ids]


def learn_ev_dut(run: ScenarioRun) -> None:
    """What the tester EVSE(s) learned about the EV under test: its MAC and its RunIDs."""
    for ev_mac, run_id in _evse(run).sessions():
        run.slac.dut_mac = ev_mac
        run.slac.learn_run_id(run_id.hex())


# --- setting up the tester -----------------------------------------------------------------------


def open_ev_tester(run: ScenarioRun) -> SlacEvTester:
    _inconclusive_without_link(run)
    tester = SlacEvTester(run.bench.link, run.bench.settings, run.observer, real_modem=_real_modem(run))
    run.bench.run(tester.open(), TESTER_OPEN_CLOSE_S)
    run.slac = SlacState(ev=tester, tester_macs=[tester.mac])
    run.cleanups.append(lambda: run.bench.run(tester.close(), TESTER_OPEN_CLOSE_S))
    return tester


def open_evse_tester(run: ScenarioRun, attenuations: list[int]) -> SlacEvseTester:
    _inconclusive_without_link(run)
    tester = SlacEvseTester(
        run.bench.link, run.bench.settings, run.observer, attenuations, real_modem=_real_modem(run)
    )
    run.bench.run(tester.open(), TESTER_OPEN_CLOSE_S)
    run.slac = SlacState(evse=tester, tester_macs=list(tester.macs))
    run.cleanups.append(lambda: run.bench.run(tester.close(), TESTER_OPEN_CLOSE_S))
    return tester


@given("the tester is an EV on the PLC link")
def tester_is_ev(vgi_scenario: ScenarioRun) -> None:
    open_ev_tester(vgi_scenario)


@given(parsers.parse("the tester is {count:d} EVSEs on one cable bundle with attenuations {dbs}"))
def tester_is_bundle(vgi_scenario: ScenarioRun, count: int, dbs: str) -> None:
    values = [int(v.strip().removesuffix("dB").strip()) for v in dbs.split(",")]
    assert len(values) == count, "the feature lists one attenuation per EVSE"
    open_evse_tester(vgi_scenario, values)


@given("the tester is an EVSE on the PLC link")
def tester_is_evse(vgi_scenario: ScenarioRun) -> None:
    open_evse_tester(vgi_scenario, [DEFAULT_ATTENUATION_DB])


@given("the EVSE under test is running its link layer")
def evse_link_layer_running(vgi_scenario: ScenarioRun) -> None:
    """The EVSE's pilot and SLAC side (its `slac` reference service on the sim lab)."""
    vgi_scenario.start_dut("evse", "slac")


# --- fault hooks -----------------------------------------------------------------------------------


@given(parsers.parse("the tester drops its first {count:d} {message}"))
def drop_first(vgi_scenario: ScenarioRun, count: int, message: str) -> None:
    vgi_scenario.slac.tester.injector.add(Drop(sf.sends(message), times=count))


@given(parsers.parse("the tester drops every {message} it would send"))
def drop_all(vgi_scenario: ScenarioRun, message: str) -> None:
    vgi_scenario.slac.tester.injector.add(Drop(sf.sends(message), times=None))


@given(parsers.parse("the tester sends its first {message} with a wrong RunID"))
def wrong_run_id(vgi_scenario: ScenarioRun, message: str) -> None:
    vgi_scenario.slac.tester.injector.add(Rewrite(sf.sends(message), rewrite=sf.with_run_id(WRONG_RUN_ID)))


@given(parsers.parse("the tester sends its first CM_SLAC_PARM.CNF with NUM_SOUNDS {value:d}"))
def wrong_num_sounds(vgi_scenario: ScenarioRun, value: int) -> None:
    vgi_scenario.slac.tester.injector.add(
        Rewrite(sf.sends("CM_SLAC_PARM.CNF"), rewrite=sf.with_field("NUM_SOUNDS", bytes([value])))
    )


@given(parsers.parse("the tester sends every {message} twice"))
def duplicate(vgi_scenario: ScenarioRun, message: str) -> None:
    vgi_scenario.slac.tester.injector.add(Duplicate(sf.sends(message), times=None))


@given(parsers.parse("the tester delays its {message} by {seconds:g} s"))
def delay(vgi_scenario: ScenarioRun, message: str, seconds: float) -> None:
    vgi_scenario.slac.tester.injector.add(Delay(sf.sends(message), times=None, seconds=seconds))


# --- tester as EV ----------------------------------------------------------------------------------


def plug_in_ev(run: ScenarioRun) -> None:
    """The tester EV presents state B and waits for the EVSE's 5 % offer."""
    tester = _ev(run)
    if tester.pilot is None:
        return  # a `plc` lab: the lab's pilot box holds state B and the EVSE's 5 %
    run.bench.run(tester.set_state(PilotState.B), PILOT_CHANGE_S)
    offered = tester.wait_duty(DIGITAL_COMMUNICATION_MIN_DUTY, DIGITAL_COMMUNICATION_MAX_DUTY, PLUG_IN_WAIT_S)
    if not run.bench.run(offered, PLUG_IN_WAIT_S + BENCH_MARGIN_S):
        raise Inconclusive(f"the EVSE offered no 5 % PWM within {PLUG_IN_WAIT_S:g} s of state B")


def match_ev(run: ScenarioRun) -> None:
    """The tester EV runs one matching process to its outcome."""
    tester = _ev(run)
    since = tester.outcome_count()
    tester.start_matching()
    run.bench.run(
        tester.wait_outcome((Matched, MatchFailed), MATCH_WAIT_S, since), MATCH_WAIT_S + BENCH_MARGIN_S
    )
    learn_evse_dut(run)


@when("the tester plugs in and the EVSE offers 5 %")
def ev_plugs_in(vgi_scenario: ScenarioRun) -> None:
    plug_in_ev(vgi_scenario)


@when("the tester matches with the EVSE")
def ev_matches(vgi_scenario: ScenarioRun) -> None:
    match_ev(vgi_scenario)


@when(parsers.parse("the tester runs SLAC for {seconds:g} s"))
def ev_runs_for(vgi_scenario: ScenarioRun, seconds: float) -> None:
    tester = _ev(vgi_scenario)
    tester.start_matching()
    vgi_scenario.bench.run(tester.wait_outcome((Matched,), seconds), seconds + BENCH_MARGIN_S)
    learn_evse_dut(vgi_scenario)


@when(parsers.parse('the tester probes the link with UDP echo "{tag}"'))
def echo_probe(vgi_scenario: ScenarioRun, tag: str) -> None:
    vgi_scenario.bench.run(
        vgi_scenario.slac.tester.echo(tag.encode(), ECHO_WAIT_S), ECHO_WAIT_S + BENCH_MARGIN_S
    )


@when("the tester's modem leaves the logical network and the EV matches again")
def leave_and_rematch(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    since = tester.outcome_count()

    async def leave_and_wait() -> None:
        tester.leave()  # on the loop's thread: the modem's state belongs to it
        await tester.wait_outcome((Matched,), MATCH_WAIT_S, since)

    vgi_scenario.bench.run(leave_and_wait(), MATCH_WAIT_S + BENCH_MARGIN_S)
    learn_evse_dut(vgi_scenario)


@when("a foreign station sends CM_SLAC_MATCH.REQ to the EVSE")
def foreign_match_req(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    dut = vgi_scenario.slac.dut_mac
    if dut is None:
        raise Inconclusive("the EVSE took no part in SLAC, so there is nothing to disturb")
    frame = hp.encode_slac_match_req(foreign_mac(), dut, tester.current_run_id or WRONG_RUN_ID)
    window = FOREIGN_WATCH_RESPONSES * vgi_scenario.timer("TT_match_response")

    async def send_and_watch() -> None:
        tester.send_raw(frame)
        await asyncio.sleep(window)  # the window in which an answer would be seen in the capture

    vgi_scenario.bench.run(send_and_watch(), window + BENCH_MARGIN_S)


# --- tester as EVSE --------------------------------------------------------------------------------


def offer_5_percent(run: ScenarioRun, role: str, service: str) -> None:
    """Start the EV under test (``role``, its ``service``), wait for state B, then listen for SLAC
    and offer 5 % as a charger does."""
    run.start_dut(role, service)
    tester = _evse(run)
    if tester.pilot is None:  # a `plc` lab: the lab's pilot box offers 5 % to the EV
        tester.start_matching()
        return
    if not run.bench.run(tester.wait_vehicle(PilotState.B, PLUG_IN_WAIT_S), PLUG_IN_WAIT_S + BENCH_MARGIN_S):
        raise Inconclusive(f"the EV presented no state B within {PLUG_IN_WAIT_S:g} s")
    # The SLAC side listens before the 5 % offer invites the EV to start.
    tester.start_matching()
    run.bench.run(tester.set_output(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY), PILOT_CHANGE_S)


@when("the EV under test is plugged in and the tester offers 5 %")
def evse_offers(vgi_scenario: ScenarioRun) -> None:
    offer_5_percent(vgi_scenario, "ev", "slac")


@when(parsers.parse("the tester waits up to {seconds:g} s for the EV to match"))
def evse_waits_match(vgi_scenario: ScenarioRun, seconds: float) -> None:
    vgi_scenario.bench.run(_evse(vgi_scenario).wait_link(seconds), seconds + BENCH_MARGIN_S)
    learn_ev_dut(vgi_scenario)


@when(parsers.parse("the tester lets the EV try for {seconds:g} s"))
def evse_lets_try(vgi_scenario: ScenarioRun, seconds: float) -> None:
    vgi_scenario.bench.run(asyncio.sleep(seconds), seconds + BENCH_MARGIN_S)
    learn_ev_dut(vgi_scenario)


@when("the tester's modem leaves the logical network and waits for the EV to match again")
def evse_leaves(vgi_scenario: ScenarioRun) -> None:
    tester = _evse(vgi_scenario)
    since = tester.outcome_count()

    async def rematch() -> None:
        # our modem heard the EV's beacon; let the EV hear a few of ours before the link goes
        await asyncio.sleep(2 * BEACON_PERIOD_S)
        tester.leave()
        # long enough for the EV to see the link go (beacons stop), then the EVSE's network is back
        await asyncio.sleep(2 * BEACON_LOSS_S)
        tester.rejoin()
        # the EV notices the loss when the beacons stop, matches again, and the link returns
        await tester.wait_outcome((Matched,), MATCH_WAIT_S, since)
        await tester.wait_link(MATCH_WAIT_S)

    vgi_scenario.bench.run(rematch(), MATCH_WAIT_S + 2 * BENCH_MARGIN_S)
    learn_ev_dut(vgi_scenario)
