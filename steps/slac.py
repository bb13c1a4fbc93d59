"""Steps for SLAC (ISO 15118-3) on the PLC link, both tester roles.

Tester and DUT frames are told apart by MAC: the tester's MACs are known, the DUT's are "anything
else" (``src`` not one of the tester's).  Numbers come from the lab's PIXIT timers and the constants of
:mod:`harness.protocol.slac.constants`.
"""

from __future__ import annotations

from typing import Any

from pytest_bdd import given, parsers, then, when

from harness.codec import homeplug as hp
from harness.devices.modem_emulator import BEACON_LOSS_S, BEACON_PERIOD_S
from harness.protocol.faults import Delay, Drop, Duplicate, Rewrite
from harness.protocol.pilot import DIGITAL_COMMUNICATION_DUTY, PilotOutput, PilotState
from harness.protocol.slac import constants as c
from harness.protocol.slac import faults as sf
from harness.scenario import ScenarioRun
from harness.testers.slac import SlacEvseTester, SlacEvTester, foreign_mac
from harness.verdict.verdicts import Inconclusive

# How long the tester waits for the DUT to show up on the pilot / finish a match (the harness's own
# patience, not a protocol limit; a real EVSE may take TT_EVSE_SLAC_init).
PLUG_IN_WAIT_S = 10.0
MATCH_WAIT_S = 15.0
WRONG_RUN_ID = bytes.fromhex("dead00beef00cafe")
_SLAC = "SLAC"


def _timer(run: ScenarioRun, name: str) -> float:
    return run.bench.lab.config.pixit.timer(name)


def _jitter(run: ScenarioRun) -> float:
    return run.bench.lab.config.pixit.capture_jitter_s


def _tester_macs(run: ScenarioRun) -> list[str]:
    return list(run.values.get("slac_tester_macs", []))


def _from_tester(run: ScenarioRun, message: str, **where: Any) -> dict[str, Any]:
    return {"protocol": _SLAC, "message": message, "where": {"src": {"in": _tester_macs(run)}, **where}}


def _from_dut(run: ScenarioRun, message: str, **where: Any) -> dict[str, Any]:
    dut = run.values.get("slac_dut_mac")
    src: Any = dut if dut else {"ne": _tester_macs(run)[0]}
    return {"protocol": _SLAC, "message": message, "where": {"src": src, **where}}


def _ev(run: ScenarioRun) -> SlacEvTester:
    return run.values["slac_ev_tester"]


def _evse(run: ScenarioRun) -> SlacEvseTester:
    return run.values["slac_evse_tester"]


def _tester(run: ScenarioRun) -> SlacEvTester | SlacEvseTester:
    return run.values.get("slac_ev_tester") or run.values["slac_evse_tester"]


def _inconclusive_without_link(run: ScenarioRun) -> None:
    if run.bench.link.mode != "netns" and run.bench.lab.config.access.kind != "plc":
        raise Inconclusive("SLAC needs raw Ethernet between network namespaces (run as root)")


# --- setting up the tester -----------------------------------------------------------------------


@given("the tester is an EV on the PLC link")
def tester_is_ev(vgi_scenario: ScenarioRun) -> None:
    _inconclusive_without_link(vgi_scenario)
    tester = SlacEvTester(vgi_scenario.bench.link, vgi_scenario.bench.lab.config, vgi_scenario.observer)
    vgi_scenario.bench.run(tester.open(), 10)
    vgi_scenario.values["slac_ev_tester"] = tester
    vgi_scenario.values["slac_tester_macs"] = [tester.mac]
    vgi_scenario.cleanups.append(lambda: vgi_scenario.bench.run(tester.close(), 10))


@given(parsers.parse("the tester is {count:d} EVSEs on one cable bundle with attenuations {dbs}"))
def tester_is_bundle(vgi_scenario: ScenarioRun, count: int, dbs: str) -> None:
    values = [int(v.strip().removesuffix("dB").strip()) for v in dbs.split(",")]
    assert len(values) == count, "the feature lists one attenuation per EVSE"
    _open_evse_tester(vgi_scenario, values)


@given("the tester is an EVSE on the PLC link")
def tester_is_evse(vgi_scenario: ScenarioRun) -> None:
    _open_evse_tester(vgi_scenario, [22])


def _open_evse_tester(run: ScenarioRun, attenuations: list[int]) -> None:
    _inconclusive_without_link(run)
    tester = SlacEvseTester(run.bench.link, run.bench.lab.config, run.observer, attenuations)
    run.bench.run(tester.open(), 10)
    run.values["slac_evse_tester"] = tester
    run.values["slac_tester_macs"] = list(tester.macs)
    run.cleanups.append(lambda: run.bench.run(tester.close(), 10))


# --- fault hooks -----------------------------------------------------------------------------------


@given(parsers.parse("the tester drops its first {count:d} {message}"))
def drop_first(vgi_scenario: ScenarioRun, count: int, message: str) -> None:
    _tester(vgi_scenario).injector.add(Drop(sf.sends(message), times=count))


@given(parsers.parse("the tester drops every {message} it would send"))
def drop_all(vgi_scenario: ScenarioRun, message: str) -> None:
    _tester(vgi_scenario).injector.add(Drop(sf.sends(message), times=None))


@given(parsers.parse("the tester sends its first {message} with a wrong RunID"))
def wrong_run_id(vgi_scenario: ScenarioRun, message: str) -> None:
    _tester(vgi_scenario).injector.add(Rewrite(sf.sends(message), rewrite=sf.with_run_id(WRONG_RUN_ID)))
    vgi_scenario.values["slac_wrong_message"] = message


@given(parsers.parse("the tester sends its first CM_SLAC_PARM.CNF with NUM_SOUNDS {value:d}"))
def wrong_num_sounds(vgi_scenario: ScenarioRun, value: int) -> None:
    _tester(vgi_scenario).injector.add(
        Rewrite(sf.sends("CM_SLAC_PARM.CNF"), rewrite=sf.with_field("NUM_SOUNDS", bytes([value])))
    )


@given(parsers.parse("the tester sends every {message} twice"))
def duplicate(vgi_scenario: ScenarioRun, message: str) -> None:
    _tester(vgi_scenario).injector.add(Duplicate(sf.sends(message), times=None))


@given(parsers.parse("the tester delays its {message} by {seconds:g} s"))
def delay(vgi_scenario: ScenarioRun, message: str, seconds: float) -> None:
    _tester(vgi_scenario).injector.add(Delay(sf.sends(message), times=None, seconds=seconds))


# --- tester as EV ----------------------------------------------------------------------------------


@when("the tester plugs in and the EVSE offers 5 %")
def ev_plugs_in(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    if tester.pilot is None:
        return  # a `plc` lab: the lab's pilot box holds state B and the EVSE's 5 %
    vgi_scenario.bench.run(tester.set_state(PilotState.B), 5)
    if not vgi_scenario.bench.run(tester.wait_duty(3.0, 7.0, PLUG_IN_WAIT_S), PLUG_IN_WAIT_S + 5):
        raise Inconclusive(f"the EVSE offered no 5 % PWM within {PLUG_IN_WAIT_S:g} s of state B")


@when("the tester matches with the EVSE")
def ev_matches(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    since = len(tester.stations[0].outcomes)
    tester.start_matching()
    vgi_scenario.values["slac_since"] = since
    vgi_scenario.bench.run(tester.stations[0].wait_for((hp_matched(), hp_failed()), MATCH_WAIT_S, since), 30)
    _learn_evse_dut(vgi_scenario)


def hp_matched() -> type:
    from harness.protocol.slac import Matched

    return Matched


def hp_failed() -> type:
    from harness.protocol.slac import MatchFailed

    return MatchFailed


def _learn_evse_dut(run: ScenarioRun) -> None:
    tester = _ev(run)
    if tester.core.chosen is not None:
        run.values["slac_dut_mac"] = tester.core.chosen.mac
    run.values["slac_run_ids"] = [run_id.hex() for run_id in tester.run_ids]


@when(parsers.parse("the tester runs SLAC for {seconds:g} s"))
def ev_runs_for(vgi_scenario: ScenarioRun, seconds: float) -> None:
    tester = _ev(vgi_scenario)
    tester.start_matching()
    vgi_scenario.bench.run(tester.stations[0].wait_for((hp_matched(),), seconds), seconds + 10)
    _learn_evse_dut(vgi_scenario)


@when(parsers.parse('the tester probes the link with UDP echo "{tag}"'))
def echo_probe(vgi_scenario: ScenarioRun, tag: str) -> None:
    tester = _tester(vgi_scenario)
    vgi_scenario.bench.run(tester.echo(tag.encode(), 1.0), 10)


@when("the tester's modem leaves the logical network and the EV matches again")
def leave_and_rematch(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    since = len(tester.stations[0].outcomes)

    async def leave_and_wait() -> None:
        tester.leave()  # on the loop's thread: the modem's state belongs to it
        await tester.stations[0].wait_for((hp_matched(),), MATCH_WAIT_S, since)

    vgi_scenario.bench.run(leave_and_wait(), 30)
    _learn_evse_dut(vgi_scenario)


@when("a foreign station sends CM_SLAC_MATCH.REQ to the EVSE")
def foreign_match_req(vgi_scenario: ScenarioRun) -> None:
    tester = _ev(vgi_scenario)
    dut = vgi_scenario.values.get("slac_dut_mac")
    if dut is None:
        raise Inconclusive("the EVSE took no part in SLAC, so there is nothing to disturb")
    frame = hp.encode_slac_match_req(foreign_mac(), dut, tester.core.run_id or WRONG_RUN_ID)
    vgi_scenario.values["slac_foreign"] = foreign_mac()
    vgi_scenario.bench.run(_send_and_wait(tester, frame, 4 * _timer(vgi_scenario, "TT_match_response")), 10)


async def _send_and_wait(tester: SlacEvTester, frame: bytes, seconds: float) -> None:
    import asyncio

    tester.send_raw(frame)
    await asyncio.sleep(seconds)  # the window in which an answer would be seen in the capture


# --- tester as EVSE --------------------------------------------------------------------------------


@when("the EV under test is plugged in and the tester offers 5 %")
def evse_offers(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.start_dut("ev", "slac")
    tester = _evse(vgi_scenario)
    if tester.pilot is None:  # a `plc` lab: the lab's pilot box offers 5 % to the EV
        tester.start_matching()
        return
    if not vgi_scenario.bench.run(tester.wait_vehicle(PilotState.B, PLUG_IN_WAIT_S), PLUG_IN_WAIT_S + 5):
        raise Inconclusive(f"the EV presented no state B within {PLUG_IN_WAIT_S:g} s")
    tester.start_matching()
    vgi_scenario.bench.run(tester.set_output(PilotOutput.X2, DIGITAL_COMMUNICATION_DUTY), 5)


@when(parsers.parse("the tester waits up to {seconds:g} s for the EV to match"))
def evse_waits_match(vgi_scenario: ScenarioRun, seconds: float) -> None:
    tester = _evse(vgi_scenario)
    vgi_scenario.bench.run(tester.wait_link(seconds), seconds + 10)
    _learn_ev_dut(vgi_scenario)


def _learn_ev_dut(run: ScenarioRun) -> None:
    tester = _evse(run)
    for core in tester.cores:
        if core.session is not None:
            run.values["slac_dut_mac"] = core.session.ev_mac
            run.values.setdefault("slac_run_ids", [])
            if core.session.run_id.hex() not in run.values["slac_run_ids"]:
                run.values["slac_run_ids"].append(core.session.run_id.hex())


@when(parsers.parse("the tester lets the EV try for {seconds:g} s"))
def evse_lets_try(vgi_scenario: ScenarioRun, seconds: float) -> None:
    import asyncio

    vgi_scenario.bench.run(asyncio.sleep(seconds), seconds + 5)
    _learn_ev_dut(vgi_scenario)


@when("the tester's modem leaves the logical network and waits for the EV to match again")
def evse_leaves(vgi_scenario: ScenarioRun) -> None:
    import asyncio

    tester = _evse(vgi_scenario)
    since = len(tester.stations[0].outcomes)

    async def rematch() -> None:
        # our modem heard the EV's beacon; let the EV hear a few of ours before the link goes
        await asyncio.sleep(2 * BEACON_PERIOD_S)
        tester.leave()
        # long enough for the EV to see the link go (beacons stop), then the EVSE's network is back
        await asyncio.sleep(2 * BEACON_LOSS_S)
        for modem in tester.modems:
            modem.rejoin()
        # the EV notices the loss when the beacons stop, matches again, and the link returns
        await tester.stations[0].wait_for((hp_matched(),), MATCH_WAIT_S, since)
        await tester.wait_link(MATCH_WAIT_S)

    vgi_scenario.bench.run(rematch(), MATCH_WAIT_S + 10)
    _learn_ev_dut(vgi_scenario)


# --- expectations: EVSE under test -----------------------------------------------------------------


@then("the EVSE completes the matching sequence")
def evse_sequence(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    pattern = [
        {"select": _from_tester(run, "CM_SLAC_PARM.REQ"), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_SLAC_PARM.CNF"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_START_ATTEN_CHAR.IND"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_MNBC_SOUND.IND"), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_ATTEN_CHAR.IND"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_ATTEN_CHAR.RSP"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_SLAC_MATCH.REQ"), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_SLAC_MATCH.CNF")},
    ]
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "PARM.REQ -> PARM.CNF -> sounding -> ATTEN_CHAR.IND/RSP -> MATCH.REQ/CNF",
        "SLAC-EVSE-01",
    )


@then("the EVSE's CM_SLAC_PARM.CNF carries the parameters of Table A.2")
def evse_parm_cnf(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "fields",
            "select": _from_dut(run, "CM_SLAC_PARM.CNF"),
            "where": {
                "M-SOUND_TARGET": c.CNF_M_SOUND_TARGET,
                "NUM_SOUNDS": c.CNF_NUM_SOUNDS,
                "Time_Out": c.CNF_TIME_OUT,
                "RESP_TYPE": c.CNF_RESP_TYPE,
                "FORWARDING_STA": _tester_macs(run)[0],
                "APPLICATION_TYPE": c.CNF_APPLICATION_TYPE,
                "SECURITY_TYPE": c.CNF_SECURITY_TYPE,
            },
        },
        "CM_SLAC_PARM.CNF per Table A.2 (sound target, 10 sounds, Time_Out 6, RESP_TYPE 1, FORWARDING_STA)",
        "SLAC-EVSE-02",
    )


@then("every answer of the EVSE echoes the EV's RunID")
def evse_echoes_run_id(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run_ids = run.values.get("slac_run_ids") or ["(no RunID: the tester never started)"]
    for message in ("CM_SLAC_PARM.CNF", "CM_ATTEN_CHAR.IND", "CM_SLAC_MATCH.CNF"):
        run.expect(
            {"kind": "fields", "select": _from_dut(run, message), "where": {"RunID": {"in": run_ids}}},
            f"{message} echoes the RunID of the EV's CM_SLAC_PARM.REQ",
            "SLAC-EVSE-03",
        )


@then("the EVSE reports the attenuation of all 58 groups")
def evse_atten_char(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "fields",
            "select": _from_dut(run, "CM_ATTEN_CHAR.IND"),
            "where": {
                "NumGroups": hp.ATTEN_GROUPS,
                "SOURCE_ADDRESS": _tester_macs(run)[0],
                "NUM_SOUNDS": {"range": [1, c.C_EV_match_MNBC]},
            },
        },
        "CM_ATTEN_CHAR.IND: 58 groups, for this EV, counting at most 10 sounds",
        "SLAC-EVSE-04",
    )


@then(parsers.parse("the EVSE answers each {request} within TT_match_response"))
def evse_answers_in_time(vgi_scenario: ScenarioRun, request: str) -> None:
    run = vgi_scenario
    response = request.replace(".REQ", ".CNF")
    run.expect(
        {
            "kind": "response_time",
            "request": _from_tester(run, request, RunID={"in": run.values.get("slac_run_ids", [])}),
            "response": _from_dut(run, response),
            "max_s": _timer(run, "TT_match_response"),
        },
        f"{response} within TT_match_response of each {request}",
        "SLAC-EVSE-05",
    )


@then("the EVSE's CM_SLAC_MATCH.CNF hands over a network key")
def evse_match_cnf(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "fields",
            "select": _from_dut(run, "CM_SLAC_MATCH.CNF"),
            "where": {"PEV_MAC": _tester_macs(run)[0], "NMK": {"ne": "00" * hp.NMK_LENGTH}},
        },
        "CM_SLAC_MATCH.CNF names this EV and carries a non-zero NMK",
        "SLAC-EVSE-06",
    )


@then(parsers.parse("the EVSE ignores the {message} with the wrong RunID"))
def evse_ignores_wrong_run_id(vgi_scenario: ScenarioRun, message: str) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "no_response",
            "request": _from_tester(run, message, RunID=WRONG_RUN_ID.hex()),
            "response": _from_dut(run, message.replace(".REQ", ".CNF"), RunID=WRONG_RUN_ID.hex()),
            "window_s": 2 * _timer(run, "TT_match_response"),
        },
        f"no answer to a {message} with a foreign RunID",
        "SLAC-EVSE-07",
    )


@then("the EVSE ignores the foreign station")
def evse_ignores_foreign(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "no_response",
            "request": {"protocol": _SLAC, "message": "CM_SLAC_MATCH.REQ", "where": {"src": foreign_mac()}},
            "response": _from_dut(run, "CM_SLAC_MATCH.CNF"),
            "window_s": 2 * _timer(run, "TT_match_response"),
        },
        "no CM_SLAC_MATCH.CNF to a station that is not the matched EV",
        "SLAC-EVSE-07",
    )


@then("the EVSE repeats CM_ATTEN_CHAR.IND at most C_EV_match_retry times, TT_match_response apart")
def evse_atten_retries(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run_ids = run.values.get("slac_run_ids", [])
    select = _from_dut(run, "CM_ATTEN_CHAR.IND", RunID={"in": run_ids[:1]})
    run.expect(
        {"kind": "present", "select": select, "min": 2, "max": 1 + c.C_EV_match_retry},
        f"CM_ATTEN_CHAR.IND repeated without RSP, at most {1 + c.C_EV_match_retry} in all",
        "SLAC-EVSE-08",
    )
    run.expect(
        {
            "kind": "interval",
            "select": select,
            "min_s": _timer(run, "TT_match_response"),
            "tolerance_s": _jitter(run),
        },
        "repetitions of CM_ATTEN_CHAR.IND at least TT_match_response apart",
        "SLAC-EVSE-08",
    )


@then("the EVSE answers every repetition of CM_SLAC_PARM.REQ")
def evse_answers_repetitions(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "present",
            "select": _from_dut(run, "CM_SLAC_PARM.CNF"),
            "min": 2,
        },
        "a repeated CM_SLAC_PARM.REQ (same RunID) is answered again",
        "SLAC-EVSE-05",
    )


@then(
    parsers.parse('the link carries IP only after the match: echo "{before}" unanswered, "{after}" answered')
)
def link_gated(vgi_scenario: ScenarioRun, before: str, after: str) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "present",
            "select": {"protocol": "ECHO", "message": "request", "where": {"payload": before.encode().hex()}},
        },
        f'the tester tried IP before matching (echo "{before}"; on an unlinked PLC it may wait for '
        "neighbour discovery until the link is up)",
        "SLAC-LINK-01",
    )
    run.expect(
        {
            "kind": "sequence",
            "pattern": [
                {"select": {"protocol": _SLAC, "message": "CM_SLAC_MATCH.CNF"}, "min": 1, "max": None},
                {"select": {"protocol": "ECHO", "message": "reply"}, "min": 1, "max": None},
            ],
        },
        "no IP answer from the DUT before CM_SLAC_MATCH.CNF, answers after it",
        "SLAC-LINK-01",
    )
    run.expect(
        {
            "kind": "response_time",
            "request": {"protocol": "ECHO", "message": "request", "where": {"payload": after.encode().hex()}},
            "response": {"protocol": "ECHO", "message": "reply"},
            "max_s": 1.0,
        },
        f'UDP echo "{after}" answered once the link is up',
        "SLAC-LINK-01",
    )


@then("the EVSE matches again after the link loss, with the new RunID")
def evse_rematches(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run_ids = run.values.get("slac_run_ids", [])
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_MATCH.CNF"), "min": 2},
        "a second CM_SLAC_MATCH.CNF after the PLC link was lost",
        "SLAC-LINK-02",
    )
    run.expect(
        {
            "kind": "present",
            "select": _from_dut(run, "CM_SLAC_MATCH.CNF", RunID={"in": run_ids[-1:]}),
            "min": 1,
        },
        "the second match echoes the RunID of the EV's new matching process",
        "SLAC-LINK-02",
    )


# --- expectations: EV under test -------------------------------------------------------------------


@then("the EV runs the matching sequence to CM_SLAC_MATCH.CNF")
def ev_sequence(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    pattern = [
        {"select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_SLAC_PARM.CNF")},
        {"select": _from_dut(run, "CM_START_ATTEN_CHAR.IND"), "min": c.C_EV_start_atten_char_inds,
         "max": c.C_EV_start_atten_char_inds},
        {"select": _from_dut(run, "CM_MNBC_SOUND.IND"), "min": c.C_EV_match_MNBC, "max": c.C_EV_match_MNBC},
        {"select": _from_tester(run, "CM_ATTEN_CHAR.IND")},
        {"select": _from_dut(run, "CM_ATTEN_CHAR.RSP")},
        {"select": _from_dut(run, "CM_SLAC_MATCH.REQ")},
        {"select": _from_tester(run, "CM_SLAC_MATCH.CNF")},
    ]  # fmt: skip
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "PARM.REQ -> CNF -> 3 START_ATTEN_CHAR.IND -> 10 M-Sounds -> ATTEN_CHAR.IND/RSP -> MATCH.REQ/CNF",
        "SLAC-EV-01",
    )


@then("the EV's requests carry the fields ISO 15118-3 requires")
def ev_fields(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {
            "kind": "fields",
            "select": _from_dut(run, "CM_SLAC_PARM.REQ"),
            "where": {
                "APPLICATION_TYPE": hp.APPLICATION_TYPE_PEV_EVSE,
                "SECURITY_TYPE": hp.SECURITY_TYPE_NONE,
            },
        },
        "CM_SLAC_PARM.REQ: PEV-EVSE matching without security",
        "SLAC-EV-02",
    )
    run.expect(
        {
            "kind": "fields",
            "select": _from_dut(run, "CM_START_ATTEN_CHAR.IND"),
            "where": {
                "NUM_SOUNDS": c.C_EV_match_MNBC,
                "Time_Out": c.CNF_TIME_OUT,
                "RESP_TYPE": c.CNF_RESP_TYPE,
            },
        },
        "CM_START_ATTEN_CHAR.IND announces 10 sounds, Time_Out 6, RESP_TYPE 1",
        "SLAC-EV-02",
    )


@then("the EV keeps one RunID through the matching process")
def ev_run_id(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run_ids = run.values.get("slac_run_ids") or ["(the EV never started SLAC)"]
    for message in ("CM_START_ATTEN_CHAR.IND", "CM_MNBC_SOUND.IND", "CM_ATTEN_CHAR.RSP", "CM_SLAC_MATCH.REQ"):
        run.expect(
            {"kind": "fields", "select": _from_dut(run, message), "where": {"RunID": {"in": run_ids}}},
            f"{message} carries the RunID of the EV's CM_SLAC_PARM.REQ",
            "SLAC-EV-03",
        )


@then(parsers.parse("the EV repeats an unanswered {request} after TT_match_response"))
def ev_repeats(vgi_scenario: ScenarioRun, request: str) -> None:
    run = vgi_scenario
    select = _from_dut(run, request)
    run.expect({"kind": "present", "select": select, "min": 2}, f"{request} repeated", "SLAC-EV-04")
    run.expect(
        {
            "kind": "interval",
            "select": select,
            "min_s": _timer(run, "TT_match_response"),
            "tolerance_s": _jitter(run),
        },
        f"repetitions of {request} at least TT_match_response apart",
        "SLAC-EV-04",
    )


@then("the EV gives up after C_EV_match_retry repetitions and C_conn_max_match attempts")
def ev_gives_up(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    limit = (1 + c.C_EV_match_retry) * c.C_conn_max_match
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 1 + c.C_EV_match_retry,
         "max": limit},
        f"at most {1 + c.C_EV_match_retry} CM_SLAC_PARM.REQ per attempt and {c.C_conn_max_match} attempts "
        f"({limit} in all)",
        "SLAC-EV-05",
    )  # fmt: skip
    run.expect(
        {
            "kind": "interval",
            "select": _from_dut(run, "CM_SLAC_PARM.REQ"),
            "min_s": _timer(run, "TT_match_response"),
            "tolerance_s": _jitter(run),
        },
        "CM_SLAC_PARM.REQ at least TT_match_response apart",
        "SLAC-EV-05",
    )


@then("the EV does not start sounding on the deviating CM_SLAC_PARM.CNF")
def ev_ignores_bad_cnf(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    pattern = [
        {"select": _from_dut(run, "CM_SLAC_PARM.REQ")},
        {"select": _from_tester(run, "CM_SLAC_PARM.CNF")},
        {"select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_SLAC_PARM.CNF")},
        {"select": _from_dut(run, "CM_START_ATTEN_CHAR.IND"), "min": 1, "max": None},
    ]
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "the EV ignores the first, bad CNF: it repeats its request and sounds only after a good CNF",
        "SLAC-EV-06",
    )


@then("the EV matches with the EVSE of lowest attenuation only")
def ev_picks_lowest(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    tester = _evse(run)
    best = min(range(len(tester.macs)), key=lambda i: tester.attenuations_db[i])
    for index, mac in enumerate(tester.macs):
        select = {**_from_dut(run, "CM_SLAC_MATCH.REQ"), "to": mac}
        bounds = {"min": 1, "max": None} if index == best else {"min": 0, "max": 0}
        run.expect(
            {"kind": "present", "select": select, **bounds},
            f"CM_SLAC_MATCH.REQ {'to' if index == best else 'never to'} EVSE{index + 1} "
            f"({tester.attenuations_db[index]} dB)",
            "SLAC-EV-07",
        )
    run.expect(
        {
            "kind": "present",
            "select": _from_dut(run, "CM_ATTEN_CHAR.RSP"),
            "min": len(tester.macs),
            "max": None,
        },
        "the EV answered the CM_ATTEN_CHAR.IND of every EVSE on the bundle",
        "SLAC-EV-07",
    )


@then("the EV does not send CM_SLAC_MATCH.REQ without attenuation results and starts over")
def ev_no_results(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_MATCH.REQ"), "min": 0, "max": 0},
        "no CM_SLAC_MATCH.REQ when no EVSE reported attenuation within TT_EV_atten_results",
        "SLAC-EV-08",
    )
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 2},
        "a new matching process after TT_EV_atten_results ran out",
        "SLAC-EV-08",
    )


@then("the EV starts a new matching process after the link loss")
def ev_rematches(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    pattern = [
        {"select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_SLAC_MATCH.CNF"), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_SLAC_PARM.REQ"), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_SLAC_MATCH.CNF"), "min": 1, "max": None},
    ]
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "after the link loss the EV starts again with CM_SLAC_PARM.REQ and matches",
        "SLAC-LINK-02",
    )
    run_ids = run.values.get("slac_run_ids", [])
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_PARM.REQ", RunID={"in": run_ids}), "min": 2},
        "the new matching process uses a new RunID",
        "SLAC-LINK-02",
    )


@then("each CM_SLAC_PARM.CNF echoes the RunID of the request it answers")
def evse_echoes_each(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    for run_id in [WRONG_RUN_ID.hex(), *run.values.get("slac_run_ids", [])]:
        run.expect(
            {
                "kind": "response_time",
                "request": _from_tester(run, "CM_SLAC_PARM.REQ", RunID=run_id),
                "response": _from_dut(run, "CM_SLAC_PARM.CNF", RunID=run_id),
                "max_s": _timer(run, "TT_match_response"),
            },
            f"CM_SLAC_PARM.REQ with RunID {run_id} answered with the same RunID",
            "SLAC-EVSE-03",
        )


@then("the EV sounds at the pace of TP_EV_batch_msg_interval")
def ev_sound_pace(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    for message in ("CM_START_ATTEN_CHAR.IND", "CM_MNBC_SOUND.IND"):
        run.expect(
            {
                "kind": "interval",
                "select": _from_dut(run, message),
                "min_s": _timer(run, "TP_EV_batch_msg_interval"),
                "max_s": c.TP_EV_BATCH_MSG_INTERVAL_MAX_S,
                "tolerance_s": _jitter(run),
            },
            f"{message} {_timer(run, 'TP_EV_batch_msg_interval') * 1000:g}-"
            f"{c.TP_EV_BATCH_MSG_INTERVAL_MAX_S * 1000:g} ms apart",
            "SLAC-EV-09",
        )


@then("the EVSE drops the session when the sounding starts after TT_match_sequence")
def evse_match_sequence(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_SLAC_PARM.CNF"), "min": 1},
        "the EVSE answered CM_SLAC_PARM.REQ (the session began)",
        "SLAC-EVSE-09",
    )
    run.expect(
        {"kind": "present", "select": _from_dut(run, "CM_ATTEN_CHAR.IND"), "min": 0, "max": 0},
        "no CM_ATTEN_CHAR.IND for sounds that began after TT_match_sequence",
        "SLAC-EVSE-09",
    )


@then("the EVSE takes part in CM_VALIDATE and counts the EV's toggles")
def evse_validates(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    tester = _ev(run)
    pattern = [
        {"select": _from_tester(run, "CM_VALIDATE.REQ", Timer=0), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_READY)},
        {"select": _from_tester(run, "CM_VALIDATE.REQ", Timer={"range": [1, 255]})},
        {
            "select": _from_dut(
                run,
                "CM_VALIDATE.CNF",
                Result=hp.VALIDATE_RESULT_SUCCESS,
                ToggleNum=tester.core.config.validate_toggles,
            )
        },
        {"select": _from_tester(run, "CM_SLAC_MATCH.REQ"), "min": 1, "max": None},
        {"select": _from_dut(run, "CM_SLAC_MATCH.CNF")},
    ]
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "CM_VALIDATE.REQ -> Ready -> REQ with the window -> Success with the EV's toggle count -> match",
        "SLAC-EVSE-10",
    )


@then("the EV validates by toggling the pilot before CM_SLAC_MATCH.REQ")
def ev_validates(vgi_scenario: ScenarioRun) -> None:
    run = vgi_scenario
    vehicle = {"protocol": "PILOT", "message": "VehicleState"}
    pattern = [
        {"select": {**vehicle, "where": {"vehicle": "B"}}, "min": 0, "max": None},  # plugged in
        {"select": _from_dut(run, "CM_VALIDATE.REQ", Timer=0), "min": 1, "max": None},
        {"select": _from_tester(run, "CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_READY)},
        {"select": _from_dut(run, "CM_VALIDATE.REQ", Timer={"range": [1, 255]})},
        {"select": {**vehicle, "where": {"vehicle": "C"}}, "min": 1, "max": None},
        {"select": {**vehicle, "where": {"vehicle": "B"}}, "min": 1, "max": None},
        {"select": _from_tester(run, "CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_SUCCESS)},
        {"select": _from_dut(run, "CM_SLAC_MATCH.REQ"), "min": 1, "max": None},
    ]
    run.expect(
        {"kind": "sequence", "pattern": pattern, "complete": False},
        "CM_VALIDATE.REQ -> Ready -> REQ with the window -> B-C-B toggles on the pilot -> Success -> match",
        "SLAC-EV-10",
    )


@given("the EVSE under test is running its link layer")
def evse_link_layer_running(vgi_scenario: ScenarioRun) -> None:
    """The EVSE's pilot and SLAC side (its `slac` reference service on the sim lab)."""
    vgi_scenario.start_dut("evse", "slac")
