"""Checks of an EVSE under test in SLAC (ISO 15118-3 Annex A): the tester is the EV.

Then-steps only register expectations over the capture's timeline (steps/slac_tester.py drives the
tester).
"""

from __future__ import annotations

from pytest_bdd import parsers, then

from harness.codec import homeplug as hp
from harness.protocol.slac import constants as c
from harness.scenario import ScenarioRun, required
from harness.testers.slac import foreign_mac
from harness.verdict.checks import slac as s
from harness.verdict.checks.common import (
    Fields,
    Interval,
    NoResponse,
    Present,
    ResponseTime,
    absent,
    between,
    ne,
    one_of,
    repeated,
    sequence,
)
from steps.slac_tester import ECHO_WAIT_S, WRONG_RUN_ID

# A DUT that has not answered within twice TT_match_response will not (the tester's observation window
# for "no answer").
NO_ANSWER_RESPONSES = 2


def _sides(run: ScenarioRun) -> s.SlacSides:
    return s.SlacSides(run.slac.tester_macs, run.slac.dut_mac)


@then("the EVSE completes the matching sequence")
def evse_sequence(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        sequence(
            repeated(side.from_tester("CM_SLAC_PARM.REQ")),
            repeated(side.from_dut("CM_SLAC_PARM.CNF")),
            repeated(side.from_tester("CM_START_ATTEN_CHAR.IND")),
            repeated(side.from_tester("CM_MNBC_SOUND.IND")),
            repeated(side.from_dut("CM_ATTEN_CHAR.IND")),
            repeated(side.from_tester("CM_ATTEN_CHAR.RSP")),
            repeated(side.from_tester("CM_SLAC_MATCH.REQ")),
            side.from_dut("CM_SLAC_MATCH.CNF"),
            complete=False,
        ),
        "PARM.REQ -> PARM.CNF -> sounding -> ATTEN_CHAR.IND/RSP -> MATCH.REQ/CNF",
        s.SLAC_EVSE_01,
    )
    # The EVSE may close its sounding window (TT_EVSE_match_MNBC) on an EV that sounds too slowly: if the
    # tester's own batch fell behind on a loaded machine, the order above says nothing about the EVSE.
    for message in ("CM_START_ATTEN_CHAR.IND", "CM_MNBC_SOUND.IND"):
        vgi_scenario.expect(
            Interval(side.from_tester(message), max_s=c.TP_EV_BATCH_MSG_INTERVAL_MAX_S, precondition=True),
            f"the tester's own {message} batch keeps TP_EV_batch_msg_interval (at most "
            f"{c.TP_EV_BATCH_MSG_INTERVAL_MAX_S * 1000:g} ms, ISO 15118-3 Table A.1)",
        )


@then("the EVSE's CM_SLAC_PARM.CNF carries the parameters of Table A.2")
def evse_parm_cnf(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Fields(
            side.from_dut("CM_SLAC_PARM.CNF"),
            {
                "M-SOUND_TARGET": c.CNF_M_SOUND_TARGET,
                "NUM_SOUNDS": c.CNF_NUM_SOUNDS,
                "Time_Out": c.CNF_TIME_OUT,
                "RESP_TYPE": c.CNF_RESP_TYPE,
                "FORWARDING_STA": side.tester_mac,
                "APPLICATION_TYPE": c.CNF_APPLICATION_TYPE,
                "SECURITY_TYPE": c.CNF_SECURITY_TYPE,
            },
        ),
        "CM_SLAC_PARM.CNF per Table A.2 (sound target, 10 sounds, Time_Out 6, RESP_TYPE 1, FORWARDING_STA)",
        s.SLAC_EVSE_02,
    )


@then("every answer of the EVSE echoes the EV's RunID")
def evse_echoes_run_id(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    run_ids = vgi_scenario.slac.run_ids or ["(no RunID: the tester never started)"]
    for message in ("CM_SLAC_PARM.CNF", "CM_ATTEN_CHAR.IND", "CM_SLAC_MATCH.CNF"):
        vgi_scenario.expect(
            Fields(side.from_dut(message), {"RunID": one_of(run_ids)}),
            f"{message} echoes the RunID of the EV's CM_SLAC_PARM.REQ",
            s.SLAC_EVSE_03,
        )


@then("the EVSE reports the attenuation of all 58 groups")
def evse_atten_char(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Fields(
            side.from_dut("CM_ATTEN_CHAR.IND"),
            {
                "NumGroups": hp.ATTEN_GROUPS,
                "SOURCE_ADDRESS": side.tester_mac,
                "NUM_SOUNDS": between(1, c.C_EV_match_MNBC),
            },
        ),
        "CM_ATTEN_CHAR.IND: 58 groups, for this EV, counting at most 10 sounds",
        s.SLAC_EVSE_04,
    )


@then(parsers.parse("the EVSE answers each {request} within TT_match_response"))
def evse_answers_in_time(vgi_scenario: ScenarioRun, request: str) -> None:
    side = _sides(vgi_scenario)
    response = request.replace(".REQ", ".CNF")
    vgi_scenario.expect(
        ResponseTime(
            side.from_tester(request, RunID=one_of(vgi_scenario.slac.run_ids)),
            side.from_dut(response),
            vgi_scenario.timer("TT_match_response"),
        ),
        f"{response} within TT_match_response of each {request}",
        s.SLAC_EVSE_05,
    )


@then("the EVSE's CM_SLAC_MATCH.CNF hands over a network key")
def evse_match_cnf(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Fields(
            side.from_dut("CM_SLAC_MATCH.CNF"),
            {"PEV_MAC": side.tester_mac, "NMK": ne("00" * hp.NMK_LENGTH)},
        ),
        "CM_SLAC_MATCH.CNF names this EV and carries a non-zero NMK",
        s.SLAC_EVSE_06,
    )


@then(parsers.parse("the EVSE ignores the {message} with the wrong RunID"))
def evse_ignores_wrong_run_id(vgi_scenario: ScenarioRun, message: str) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        NoResponse(
            side.from_tester(message, RunID=WRONG_RUN_ID.hex()),
            side.from_dut(message.replace(".REQ", ".CNF"), RunID=WRONG_RUN_ID.hex()),
            NO_ANSWER_RESPONSES * vgi_scenario.timer("TT_match_response"),
        ),
        f"no answer to a {message} with a foreign RunID",
        s.SLAC_EVSE_07,
    )


@then("the EVSE ignores the foreign station")
def evse_ignores_foreign(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        NoResponse(
            s.slac("CM_SLAC_MATCH.REQ", src=foreign_mac()),
            side.from_dut("CM_SLAC_MATCH.CNF"),
            NO_ANSWER_RESPONSES * vgi_scenario.timer("TT_match_response"),
        ),
        "no CM_SLAC_MATCH.CNF to a station that is not the matched EV",
        s.SLAC_EVSE_07,
    )


@then("the EVSE repeats CM_ATTEN_CHAR.IND at most C_EV_match_retry times, TT_match_response apart")
def evse_atten_retries(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    selector = side.from_dut("CM_ATTEN_CHAR.IND", RunID=one_of(vgi_scenario.slac.run_ids[:1]))
    vgi_scenario.expect(
        Present(selector, min=2, max=1 + c.C_EV_match_retry),
        f"CM_ATTEN_CHAR.IND repeated without RSP, at most {1 + c.C_EV_match_retry} in all",
        s.SLAC_EVSE_08,
    )
    vgi_scenario.expect(
        s.repetitions(selector, vgi_scenario.timer("TT_match_response"), vgi_scenario.capture_jitter_s),
        "repetitions of CM_ATTEN_CHAR.IND at least TT_match_response apart",
        s.SLAC_EVSE_08,
    )


@then("the EVSE answers every repetition of CM_SLAC_PARM.REQ")
def evse_answers_repetitions(vgi_scenario: ScenarioRun) -> None:
    vgi_scenario.expect(
        Present(_sides(vgi_scenario).from_dut("CM_SLAC_PARM.CNF"), min=2),
        "a repeated CM_SLAC_PARM.REQ (same RunID) is answered again",
        s.SLAC_EVSE_05,
    )


@then(
    parsers.parse('the link carries IP only after the match: echo "{before}" unanswered, "{after}" answered')
)
def link_gated(vgi_scenario: ScenarioRun, before: str, after: str) -> None:
    vgi_scenario.expect(
        Present(s.echo_request(before.encode())),
        f'the tester tried IP before matching (echo "{before}"; on an unlinked PLC it may wait for '
        "neighbour discovery until the link is up)",
        s.SLAC_LINK_01,
    )
    vgi_scenario.expect(
        sequence(repeated(s.slac("CM_SLAC_MATCH.CNF")), repeated(s.echo_reply())),
        "no IP answer from the DUT before CM_SLAC_MATCH.CNF, answers after it",
        s.SLAC_LINK_01,
    )
    vgi_scenario.expect(
        ResponseTime(s.echo_request(after.encode()), s.echo_reply(), ECHO_WAIT_S),
        f'UDP echo "{after}" answered once the link is up',
        s.SLAC_LINK_01,
    )


@then("the EVSE matches again after the link loss, with the new RunID")
def evse_rematches(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Present(side.from_dut("CM_SLAC_MATCH.CNF"), min=2),
        "a second CM_SLAC_MATCH.CNF after the PLC link was lost",
        s.SLAC_LINK_02,
    )
    vgi_scenario.expect(
        Present(side.from_dut("CM_SLAC_MATCH.CNF", RunID=one_of(vgi_scenario.slac.run_ids[-1:])), min=1),
        "the second match echoes the RunID of the EV's new matching process",
        s.SLAC_LINK_02,
    )


@then("each CM_SLAC_PARM.CNF echoes the RunID of the request it answers")
def evse_echoes_each(vgi_scenario: ScenarioRun) -> None:
    """Two requirements, two checks per RunID: a request left unanswered breaks SLAC-EVSE-05 (answer
    each CM_SLAC_PARM.REQ within TT_match_response), an answer carrying another RunID SLAC-EVSE-03."""
    side = _sides(vgi_scenario)
    window = vgi_scenario.timer("TT_match_response")
    for run_id in [WRONG_RUN_ID.hex(), *vgi_scenario.slac.run_ids]:
        request = side.from_tester("CM_SLAC_PARM.REQ", RunID=run_id)
        vgi_scenario.expect(
            ResponseTime(request, side.from_dut("CM_SLAC_PARM.CNF"), window),
            f"CM_SLAC_PARM.REQ with RunID {run_id} answered within TT_match_response",
            s.SLAC_EVSE_05,
        )
        vgi_scenario.expect(
            NoResponse(request, side.from_dut("CM_SLAC_PARM.CNF", RunID=ne(run_id)), window),
            f"no CM_SLAC_PARM.CNF with another RunID answers the CM_SLAC_PARM.REQ with RunID {run_id}",
            s.SLAC_EVSE_03,
        )


@then("the EVSE drops the session when the sounding starts after TT_match_sequence")
def evse_match_sequence(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    vgi_scenario.expect(
        Present(side.from_dut("CM_SLAC_PARM.CNF"), min=1),
        "the EVSE answered CM_SLAC_PARM.REQ (the session began)",
        s.SLAC_EVSE_09,
    )
    vgi_scenario.expect(
        absent(side.from_dut("CM_ATTEN_CHAR.IND")),
        "no CM_ATTEN_CHAR.IND for sounds that began after TT_match_sequence",
        s.SLAC_EVSE_09,
    )


@then("the EVSE takes part in CM_VALIDATE and counts the EV's toggles")
def evse_validates(vgi_scenario: ScenarioRun) -> None:
    side = _sides(vgi_scenario)
    ev = required(vgi_scenario.slac.ev, "SLAC tester EV")
    vgi_scenario.expect(
        sequence(
            repeated(side.from_tester("CM_VALIDATE.REQ", Timer=0)),
            side.from_dut("CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_READY),
            side.from_tester("CM_VALIDATE.REQ", Timer=s.VALIDATE_WINDOW_TIMER),
            side.from_dut(
                "CM_VALIDATE.CNF", Result=hp.VALIDATE_RESULT_SUCCESS, ToggleNum=ev.validate_toggles
            ),
            repeated(side.from_tester("CM_SLAC_MATCH.REQ")),
            side.from_dut("CM_SLAC_MATCH.CNF"),
            complete=False,
        ),
        "CM_VALIDATE.REQ -> Ready -> REQ with the window -> Success with the EV's toggle count -> match",
        s.SLAC_EVSE_10,
    )
