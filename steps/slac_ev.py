"""Checks of an EV under test in SLAC (ISO 15118-3 Annex A): the tester is the EVSE (or several on a
cable bundle).

Then-steps only register expectations over the capture's timeline (steps/slac_tester.py drives the
tester).
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.codec import homeplug as hp
from harness.protocol.slac import constants as c
from harness.scenario import ScenarioRun, required
from harness.verdict.checks import slac as s
from harness.verdict.checks.common import (
    Fields,
    Interval,
    Item,
    Present,
    absent,
    one_of,
    repeated,
    sequence,
)
from harness.verdict.checks.pilot import vehicle_state


def _sides(run: ScenarioRun) -> s.SlacSides:
    return s.SlacSides(run.slac.tester_macs, run.slac.dut_mac)


@then("the EV runs the matching sequence to CM_SLAC_MATCH.CNF")
def ev_sequence(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    inds, sounds = c.C_EV_start_atten_char_inds, c.C_EV_match_MNBC
    vgi_scenario.expect(
        sequence(
            repeated(side.from_dut("CM_SLAC_PARM.REQ")),
            side.from_tester("CM_SLAC_PARM.CNF"),
            Item(side.from_dut("CM_START_ATTEN_CHAR.IND"), inds, inds),
            Item(side.from_dut("CM_MNBC_SOUND.IND"), sounds, sounds),
            side.from_tester("CM_ATTEN_CHAR.IND"),
            side.from_dut("CM_ATTEN_CHAR.RSP"),
            side.from_dut("CM_SLAC_MATCH.REQ"),
            side.from_tester("CM_SLAC_MATCH.CNF"),
            complete=False,
        ),
        "PARM.REQ -> CNF -> 3 START_ATTEN_CHAR.IND -> 10 M-Sounds -> ATTEN_CHAR.IND/RSP -> MATCH.REQ/CNF",
        s.SLAC_EV_01,
    )


@then("the EV's requests carry the fields ISO 15118-3 requires")
def ev_fields(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Fields(
            side.from_dut("CM_SLAC_PARM.REQ"),
            {"APPLICATION_TYPE": hp.APPLICATION_TYPE_PEV_EVSE, "SECURITY_TYPE": hp.SECURITY_TYPE_NONE},
        ),
        "CM_SLAC_PARM.REQ: PEV-EVSE matching without security",
        s.SLAC_EV_02,
    )
    vgi_scenario.expect(
        Fields(
            side.from_dut("CM_START_ATTEN_CHAR.IND"),
            {"NUM_SOUNDS": c.C_EV_match_MNBC, "Time_Out": c.CNF_TIME_OUT, "RESP_TYPE": c.CNF_RESP_TYPE},
        ),
        "CM_START_ATTEN_CHAR.IND announces 10 sounds, Time_Out 6, RESP_TYPE 1",
        s.SLAC_EV_02,
    )


@then("the EV keeps one RunID through the matching process")
def ev_run_id(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    run_ids = vgi_scenario.slac.run_ids or ["(the EV never started SLAC)"]
    for message in ("CM_START_ATTEN_CHAR.IND", "CM_MNBC_SOUND.IND", "CM_ATTEN_CHAR.RSP", "CM_SLAC_MATCH.REQ"):
        vgi_scenario.expect(
            Fields(side.from_dut(message), {"RunID": one_of(run_ids)}),
            f"{message} carries the RunID of the EV's CM_SLAC_PARM.REQ",
            s.SLAC_EV_03,
        )


@then(parsers.parse("the EV repeats an unanswered {request} after TT_match_response"))
def ev_repeats(vgi_scenario: ScenarioRun, request: str) -> None:
    selector = _sides(vgi_scenario).from_dut(request)
    vgi_scenario.expect(Present(selector, min=2), f"{request} repeated", s.SLAC_EV_04)
    vgi_scenario.expect(
        s.repetitions(selector, vgi_scenario.timer("TT_match_response"), vgi_scenario.capture_jitter_s),
        f"repetitions of {request} at least TT_match_response apart",
        s.SLAC_EV_04,
    )


@then("the EV gives up after C_EV_match_retry repetitions and C_conn_max_match attempts")
def ev_gives_up(vgi_scenario: ScenarioRun) -> None:
    selector = _sides(vgi_scenario).from_dut("CM_SLAC_PARM.REQ")
    per_attempt = 1 + c.C_EV_match_retry
    limit = per_attempt * c.C_conn_max_match
    vgi_scenario.expect(
        Present(selector, min=per_attempt, max=limit),
        f"at most {per_attempt} CM_SLAC_PARM.REQ per attempt and {c.C_conn_max_match} attempts "
        f"({limit} in all)",
        s.SLAC_EV_05,
    )
    vgi_scenario.expect(
        s.repetitions(selector, vgi_scenario.timer("TT_match_response"), vgi_scenario.capture_jitter_s),
        "CM_SLAC_PARM.REQ at least TT_match_response apart",
        s.SLAC_EV_05,
    )


@then("the EV does not start sounding on the deviating CM_SLAC_PARM.CNF")
def ev_ignores_bad_cnf(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            side.from_dut("CM_SLAC_PARM.REQ"),
            side.from_tester("CM_SLAC_PARM.CNF"),
            repeated(side.from_dut("CM_SLAC_PARM.REQ")),
            side.from_tester("CM_SLAC_PARM.CNF"),
            repeated(side.from_dut("CM_START_ATTEN_CHAR.IND")),
            complete=False,
        ),
        "the EV ignores the first, bad CNF: it repeats its request and sounds only after a good CNF",
        s.SLAC_EV_06,
    )


@then("the EV matches with the EVSE of lowest attenuation only")
def ev_picks_lowest(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    tester = required(vgi_scenario.slac.evse, "SLAC tester EVSE")
    best = min(range(len(tester.macs)), key=lambda i: tester.attenuations_db[i])
    for index, mac in enumerate(tester.macs):
        selector = side.from_dut("CM_SLAC_MATCH.REQ").sent_to(mac)
        check = Present(selector, min=1, max=None) if index == best else absent(selector)
        vgi_scenario.expect(
            check,
            f"CM_SLAC_MATCH.REQ {'to' if index == best else 'never to'} EVSE{index + 1} "
            f"({tester.attenuations_db[index]} dB)",
            s.SLAC_EV_07,
        )
    vgi_scenario.expect(
        Present(side.from_dut("CM_ATTEN_CHAR.RSP"), min=len(tester.macs), max=None),
        "the EV answered the CM_ATTEN_CHAR.IND of every EVSE on the bundle",
        s.SLAC_EV_07,
    )


@then("the EV does not send CM_SLAC_MATCH.REQ without attenuation results and starts over")
def ev_no_results(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        absent(side.from_dut("CM_SLAC_MATCH.REQ")),
        "no CM_SLAC_MATCH.REQ when no EVSE reported attenuation within TT_EV_atten_results",
        s.SLAC_EV_08,
    )
    vgi_scenario.expect(
        Present(side.from_dut("CM_SLAC_PARM.REQ"), min=2),
        "a new matching process after TT_EV_atten_results ran out",
        s.SLAC_EV_08,
    )


@then("the EV starts a new matching process after the link loss")
def ev_rematches(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            repeated(side.from_dut("CM_SLAC_PARM.REQ")),
            repeated(side.from_tester("CM_SLAC_MATCH.CNF")),
            repeated(side.from_dut("CM_SLAC_PARM.REQ")),
            repeated(side.from_tester("CM_SLAC_MATCH.CNF")),
            complete=False,
        ),
        "after the link loss the EV starts again with CM_SLAC_PARM.REQ and matches",
        s.SLAC_LINK_02,
    )
    vgi_scenario.expect(
        Present(side.from_dut("CM_SLAC_PARM.REQ", RunID=one_of(vgi_scenario.slac.run_ids)), min=2),
        "the new matching process uses a new RunID",
        s.SLAC_LINK_02,
    )


@then("the EV sounds at the pace of TP_EV_batch_msg_interval")
def ev_sound_pace(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    pace = vgi_scenario.timer("TP_EV_batch_msg_interval")
    for message in ("CM_START_ATTEN_CHAR.IND", "CM_MNBC_SOUND.IND"):
        vgi_scenario.expect(
            Interval(
                side.from_dut(message),
                min_s=pace,
                max_s=c.TP_EV_BATCH_MSG_INTERVAL_MAX_S,
                tolerance_s=vgi_scenario.capture_jitter_s,
            ),
            f"{message} {pace * 1000:g}-{c.TP_EV_BATCH_MSG_INTERVAL_MAX_S * 1000:g} ms apart",
            s.SLAC_EV_09,
        )


@then("the EV validates by toggling the pilot before CM_SLAC_MATCH.REQ")
def ev_validates(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            Item(vehicle_state(vehicle="B"), 0, None),  # plugged in
            repeated(side.from_dut("CM_VALIDATE.REQ", Timer=0)),
            side.from_tester("CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_READY),
            side.from_dut("CM_VALIDATE.REQ", Timer=s.VALIDATE_WINDOW_TIMER),
            repeated(vehicle_state(vehicle="C")),
            repeated(vehicle_state(vehicle="B")),
            side.from_tester("CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_SUCCESS),
            repeated(side.from_dut("CM_SLAC_MATCH.REQ")),
            complete=False,
        ),
        "CM_VALIDATE.REQ -> Ready -> REQ with the window -> B-C-B toggles on the pilot -> Success -> match",
        s.SLAC_EV_10,
    )
