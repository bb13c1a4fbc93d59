"""The EV SLAC core alone, driven with hand-made frames and a hand-advanced clock."""

from __future__ import annotations

import pytest

from harness.codec import homeplug as hp
from harness.codec.homeplug import decode_slac
from harness.protocol.core import LinkDown, LinkUp, Send, StartTimer, TimerExpired
from harness.protocol.slac import constants as c
from harness.protocol.slac.common import (
    AttemptFailed,
    Ignored,
    LinkLost,
    Matched,
    MatchFailed,
    SetKey,
    Start,
    TogglePilot,
    frame_received,
)
from harness.protocol.slac.ev import EvSlac, EvSlacConfig, EvState, parm_cnf_deviation

EV = "02:00:00:00:00:01"
EVSE_A = "02:00:00:00:01:0a"
EVSE_B = "02:00:00:00:01:0b"
NID = bytes.fromhex("0a0b0c0d0e0f01")
NMK = bytes(range(100, 116))


def run_ids():
    counter = iter(range(1, 1000))
    return lambda: next(counter).to_bytes(8, "big")


def make_ev(**overrides) -> EvSlac:
    return EvSlac(EvSlacConfig(mac=EV, run_id_factory=run_ids(), **overrides))


def frames(actions, name: str | None = None) -> list[Send]:
    return [a for a in actions if isinstance(a, Send) and (name is None or a.name == name)]


def receive(ev: EvSlac, frame: bytes, now: float):
    return ev.handle(frame_received(decode_slac(frame)), now)


def parm_cnf(ev: EvSlac, src: str, **kwargs) -> bytes:
    values = {"num_sounds": 10, "time_out": 6, **kwargs}
    run_id = values.pop("run_id", ev.run_id)
    return hp.encode_slac_parm_cnf(src, EV, run_id, **values)


def fire(ev: EvSlac, name: str):
    """Advance the clock to ``name``'s deadline and feed its expiry."""
    deadline = ev.timers.deadlines[name]
    return deadline, ev.handle(TimerExpired(name), deadline)


def sound(ev: EvSlac) -> float:
    """Run the whole sounding batch; returns the time of the last message."""
    now = 0.0
    while ev.state is EvState.SOUNDING and "TP_EV_batch_msg_interval" in ev.timers.deadlines:
        now, _ = fire(ev, "TP_EV_batch_msg_interval")
    return now


def to_sounding(ev: EvSlac, *evses: str) -> list:
    ev.handle(Start(), 0.0)
    for src in evses:
        assert receive(ev, parm_cnf(ev, src), 0.05) == []
    _, actions = fire(ev, "TT_match_response")
    return actions


def test_start_broadcasts_parm_req_and_waits_tt_match_response() -> None:
    ev = make_ev()
    actions = ev.handle(Start(), 10.0)
    (sent,) = frames(actions)
    message = decode_slac(sent.message)
    assert message.name == "CM_SLAC_PARM.REQ" and message.dst == hp.BROADCAST_MAC
    assert message.run_id == (1).to_bytes(8, "big")
    assert StartTimer("TT_match_response", 10.0 + c.TT_match_response) in actions


def test_no_answer_retries_then_fails_with_reason() -> None:
    ev = make_ev()
    ev.handle(Start(), 0.0)
    requests, run_ids_seen, attempts_failed, final = 1, {ev.run_id}, [], None
    while final is None:
        name = next(iter(ev.timers.deadlines))
        _, actions = fire(ev, name)
        requests += len(frames(actions, "CM_SLAC_PARM.REQ"))
        run_ids_seen.add(ev.run_id)
        attempts_failed += [a for a in actions if isinstance(a, AttemptFailed)]
        final = next((a for a in actions if isinstance(a, MatchFailed)), None)
    # (1 + C_EV_match_retry) requests per attempt, C_conn_max_match attempts, a new RunID each.
    assert requests == (1 + c.C_EV_match_retry) * c.C_conn_max_match == 9
    assert len(run_ids_seen) == c.C_conn_max_match
    assert len(attempts_failed) == c.C_conn_max_match - 1
    assert "no CM_SLAC_PARM.CNF after 3 CM_SLAC_PARM.REQ" in final.reason
    assert "C_conn_max_match" in final.reason
    assert ev.state is EvState.FAILED


def test_retry_spacing_is_tt_match_response_and_attempts_are_tt_matching_rate_apart() -> None:
    ev = make_ev()
    ev.handle(Start(), 0.0)
    times = [0.0]
    for _ in range(4):
        now, actions = fire(ev, next(iter(ev.timers.deadlines)))
        if frames(actions):
            times.append(now)
    assert times == pytest.approx([0.0, 0.2, 0.4, 0.6 + c.TT_matching_rate])


def test_cnf_with_wrong_run_id_is_ignored() -> None:
    ev = make_ev()
    ev.handle(Start(), 0.0)
    actions = receive(ev, parm_cnf(ev, EVSE_A, run_id=bytes(8)), 0.05)
    assert len(actions) == 1 and isinstance(actions[0], Ignored) and "RunID" in actions[0].reason
    assert ev.candidates == {}
    _, actions = fire(ev, "TT_match_response")
    assert frames(actions, "CM_SLAC_PARM.REQ")  # still waiting: it repeats the request


def test_cnf_deviating_from_table_a2_is_rejected_unless_lenient() -> None:
    strict = make_ev()
    strict.handle(Start(), 0.0)
    (ignored,) = receive(strict, parm_cnf(strict, EVSE_A, num_sounds=5), 0.05)
    assert isinstance(ignored, Ignored) and "Table A.2" in ignored.reason and "NUM_SOUNDS" in ignored.reason
    lenient = make_ev(strict_parm_cnf=False)
    lenient.handle(Start(), 0.0)
    assert receive(lenient, parm_cnf(lenient, EVSE_A, num_sounds=5), 0.05) == []
    assert EVSE_A in lenient.candidates


def test_parm_cnf_deviation_lists_each_wrong_field() -> None:
    message = decode_slac(hp.encode_slac_parm_cnf(EVSE_A, EV, bytes(8), num_sounds=10, time_out=6))
    assert parm_cnf_deviation(message, EV) == ""
    bad = decode_slac(
        hp.encode_slac_parm_cnf(EVSE_A, EV, bytes(8), num_sounds=10, time_out=7, forwarding_sta=EVSE_B)
    )
    assert "Time_Out 7" in parm_cnf_deviation(bad, EV) and "FORWARDING_STA" in parm_cnf_deviation(bad, EV)


def test_sounding_sends_3_start_atten_char_and_10_sounds_counting_down() -> None:
    ev = make_ev()
    first = to_sounding(ev, EVSE_A)
    sent = frames(first)
    times = [0.2]
    start_deadline = ev.timers.deadlines["TT_EV_atten_results"]
    assert start_deadline == pytest.approx(0.2 + c.TT_EV_atten_results)
    while "TP_EV_batch_msg_interval" in ev.timers.deadlines:
        now, actions = fire(ev, "TP_EV_batch_msg_interval")
        sent += frames(actions)
        times.append(now)
    names = [s.name for s in sent]
    assert names == ["CM_START_ATTEN_CHAR.IND"] * 3 + ["CM_MNBC_SOUND.IND"] * 10
    assert [decode_slac(s.message).fields["CNT"] for s in sent[3:]] == list(range(9, -1, -1))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert gaps == pytest.approx([c.TP_EV_batch_msg_interval] * 12)
    start = decode_slac(sent[0].message)
    assert start.fields["NUM_SOUNDS"] == 10 and start.fields["Time_Out"] == 6 and start.run_id == ev.run_id
    assert ev.state is EvState.WAIT_ATTEN_CHAR


def atten_char(ev: EvSlac, src: str, level: int, **kwargs) -> bytes:
    return hp.encode_atten_char_ind(src, EV, kwargs.pop("run_id", ev.run_id), aag=[level] * 58, num_sounds=10)


def test_two_evses_lowest_average_attenuation_is_chosen() -> None:
    ev = make_ev()
    to_sounding(ev, EVSE_A, EVSE_B)
    now = sound(ev)
    first = receive(ev, atten_char(ev, EVSE_A, 40), now + 0.05)
    assert [f.name for f in frames(first)] == ["CM_ATTEN_CHAR.RSP"]
    second = receive(ev, atten_char(ev, EVSE_B, 22), now + 0.06)
    assert [(f.name, f.destination) for f in frames(second)] == [
        ("CM_ATTEN_CHAR.RSP", EVSE_B),
        ("CM_SLAC_MATCH.REQ", EVSE_B),
    ]
    request = decode_slac(frames(second)[1].message)
    assert request.fields["EVSE_MAC"] == EVSE_B and request.fields["PEV_MAC"] == EV
    assert request.run_id == ev.run_id
    assert ev.chosen is not None and ev.chosen.attenuation_db == 22


def test_atten_results_timer_selects_among_those_that_reported() -> None:
    ev = make_ev()
    to_sounding(ev, EVSE_A, EVSE_B)
    now = sound(ev)
    receive(ev, atten_char(ev, EVSE_A, 30), now + 0.05)
    _, actions = fire(ev, "TT_EV_atten_results")
    assert [(f.name, f.destination) for f in frames(actions)] == [("CM_SLAC_MATCH.REQ", EVSE_A)]


def test_no_atten_char_within_tt_ev_atten_results_fails_the_attempt() -> None:
    ev = make_ev()
    to_sounding(ev, EVSE_A)
    sound(ev)
    _, actions = fire(ev, "TT_EV_atten_results")
    (failed,) = [a for a in actions if isinstance(a, AttemptFailed)]
    assert "TT_EV_atten_results" in failed.reason and ev.state is EvState.PAUSED


def test_attenuation_limit_rejects_far_evses() -> None:
    ev = make_ev(max_attenuation_db=35)
    to_sounding(ev, EVSE_A)
    now = sound(ev)
    actions = receive(ev, atten_char(ev, EVSE_A, 50), now + 0.05)
    (failed,) = [a for a in actions if isinstance(a, AttemptFailed)]
    assert "attenuation limit" in failed.reason


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (
            hp.encode_atten_char_ind(EVSE_B, EV, (1).to_bytes(8, "big"), aag=[1] * 58, num_sounds=10),
            "did not confirm",
        ),
        (hp.encode_atten_char_ind(EVSE_A, EV, bytes(8), aag=[1] * 58, num_sounds=10), "RunID"),
        (
            hp.encode_atten_char_ind(EVSE_A, EVSE_B, (1).to_bytes(8, "big"), aag=[1] * 58, num_sounds=10),
            "addressed",
        ),
        (hp.encode_atten_char_ind(EVSE_A, EV, (1).to_bytes(8, "big"), aag=[1] * 57, num_sounds=10), "groups"),
        (hp.encode_slac_parm_req(EVSE_B, (1).to_bytes(8, "big")), "not a message the EV expects"),
    ],
)
def test_foreign_and_wrong_frames_are_ignored(frame: bytes, reason: str) -> None:
    ev = make_ev()
    to_sounding(ev, EVSE_A)
    now = sound(ev)
    actions = receive(ev, frame, now + 0.05)
    assert len(actions) == 1 and isinstance(actions[0], Ignored) and reason in actions[0].reason
    assert ev.chosen is None and ev.state is EvState.WAIT_ATTEN_CHAR


def to_match(ev: EvSlac) -> float:
    to_sounding(ev, EVSE_A)
    now = sound(ev)
    receive(ev, atten_char(ev, EVSE_A, 20), now + 0.05)
    assert ev.state is EvState.WAIT_MATCH_CNF
    return now + 0.05


def test_match_cnf_sets_key_and_link_up_completes_the_match() -> None:
    ev = make_ev()
    now = to_match(ev)
    cnf = hp.encode_slac_match_cnf(EVSE_A, EV, ev.run_id, nid=NID, nmk=NMK)
    actions = receive(ev, cnf, now + 0.01)
    (set_key,) = [a for a in actions if isinstance(a, SetKey)]
    assert (set_key.nid, set_key.nmk) == (NID, NMK)
    request = decode_slac(set_key.frame)
    assert request.name == "CM_SET_KEY.REQ" and request.dst == hp.LOCAL_MODEM_MAC
    assert request.fields["NewKey"] == NMK.hex() and request.fields["NID"] == NID.hex()
    assert ev.timers.deadlines["TT_match_join"] == pytest.approx(now + 0.01 + c.TT_match_join)
    assert receive(ev, hp.encode_set_key_cnf(hp.LOCAL_MODEM_MAC, EV), now + 0.02) == []
    (matched,) = [a for a in ev.handle(LinkUp(), now + 1) if isinstance(a, Matched)]
    assert matched == Matched(EVSE_A, ev.run_id, NID, NMK, 20.0)
    assert ev.state is EvState.MATCHED and ev.timers.deadlines == {}


def test_match_cnf_from_another_evse_is_ignored() -> None:
    ev = make_ev()
    now = to_match(ev)
    cnf = hp.encode_slac_match_cnf(EVSE_B, EV, ev.run_id, nid=NID, nmk=NMK)
    (ignored,) = receive(ev, cnf, now)
    assert isinstance(ignored, Ignored) and ev.state is EvState.WAIT_MATCH_CNF


def test_missing_match_cnf_is_requested_again_then_the_attempt_fails() -> None:
    ev = make_ev()
    to_match(ev)
    repeats, failed = 0, []
    for _ in range(3):
        _, actions = fire(ev, "TT_match_response")
        repeats += len(frames(actions, "CM_SLAC_MATCH.REQ"))
        failed += [a for a in actions if isinstance(a, AttemptFailed)]
    assert repeats == c.C_EV_match_retry
    assert len(failed) == 1 and "no CM_SLAC_MATCH.CNF after 3" in failed[0].reason


def test_link_not_up_within_tt_match_join_fails_the_attempt() -> None:
    ev = make_ev()
    now = to_match(ev)
    receive(ev, hp.encode_slac_match_cnf(EVSE_A, EV, ev.run_id, nid=NID, nmk=NMK), now)
    deadline, actions = fire(ev, "TT_match_join")
    (failed,) = [a for a in actions if isinstance(a, AttemptFailed)]
    assert "TT_match_join" in failed.reason


def test_set_key_cnf_result_does_not_decide_the_link_does() -> None:
    # The QCA modem of the IEC61851_AC_PWM_Basic capture confirms accepted keys with Result 0x01.
    ev = make_ev()
    now = to_match(ev)
    receive(ev, hp.encode_slac_match_cnf(EVSE_A, EV, ev.run_id, nid=NID, nmk=NMK), now)
    assert receive(ev, hp.encode_set_key_cnf(hp.LOCAL_MODEM_MAC, EV, result=1), now + 0.01) == []
    assert ev.set_key_result == 1 and ev.state is EvState.JOINING
    assert any(isinstance(a, Matched) for a in ev.handle(LinkUp(), now + 1))


def test_stale_timer_expiries_are_ignored() -> None:
    ev = make_ev()
    ev.handle(Start(), 0.0)
    assert ev.handle(TimerExpired("TT_match_response"), 0.1) == []  # before the deadline
    assert ev.handle(TimerExpired("TT_match_join"), 99.0) == []  # never armed
    assert ev.state is EvState.WAIT_PARM_CNF


def test_link_loss_after_match_starts_a_new_matching_process() -> None:
    ev = make_ev()
    now = to_match(ev)
    receive(ev, hp.encode_slac_match_cnf(EVSE_A, EV, ev.run_id, nid=NID, nmk=NMK), now)
    ev.handle(LinkUp(), now + 1)
    old_run_id = ev.run_id
    actions = ev.handle(LinkDown(), now + 5)
    assert isinstance(actions[0], LinkLost)
    (request,) = frames(actions, "CM_SLAC_PARM.REQ")
    assert decode_slac(request.message).run_id != old_run_id and ev.state is EvState.WAIT_PARM_CNF


def to_validation(ev: EvSlac) -> float:
    to_sounding(ev, EVSE_A, EVSE_B)
    now = sound(ev)
    receive(ev, atten_char(ev, EVSE_A, 20), now + 0.05)
    actions = receive(ev, atten_char(ev, EVSE_B, 30), now + 0.05)
    (request,) = frames(actions, "CM_VALIDATE.REQ")
    assert request.destination == EVSE_A and decode_slac(request.message).fields["Timer"] == 0
    return now + 0.05


def test_validation_toggles_then_matches() -> None:
    ev = make_ev(validate=True, validate_toggles=2)
    now = to_validation(ev)
    actions = receive(ev, hp.encode_validate_cnf(EVSE_A, EV, result=hp.VALIDATE_RESULT_READY), now + 0.01)
    (request,) = frames(actions, "CM_VALIDATE.REQ")
    assert decode_slac(request.message).fields["Timer"] == round(c.TP_EV_vald_toggle / 0.1)
    assert TogglePilot(2, c.TP_EV_vald_state_duration) in actions
    result = hp.encode_validate_cnf(EVSE_A, EV, toggle_num=2, result=hp.VALIDATE_RESULT_SUCCESS)
    actions = receive(ev, result, now + 2)
    assert [(f.name, f.destination) for f in frames(actions)] == [("CM_SLAC_MATCH.REQ", EVSE_A)]


def test_validation_not_required_goes_straight_to_match() -> None:
    ev = make_ev(validate=True)
    now = to_validation(ev)
    cnf = hp.encode_validate_cnf(EVSE_A, EV, result=hp.VALIDATE_RESULT_NOT_REQUIRED)
    assert [f.name for f in frames(receive(ev, cnf, now))] == ["CM_SLAC_MATCH.REQ"]


def test_failed_validation_tries_the_next_best_evse() -> None:
    ev = make_ev(validate=True, validate_toggles=1)
    now = to_validation(ev)
    receive(ev, hp.encode_validate_cnf(EVSE_A, EV, result=hp.VALIDATE_RESULT_READY), now)
    wrong = hp.encode_validate_cnf(EVSE_A, EV, toggle_num=0, result=hp.VALIDATE_RESULT_FAILURE)
    actions = receive(ev, wrong, now + 2)
    (request,) = frames(actions, "CM_VALIDATE.REQ")
    assert request.destination == EVSE_B and EVSE_A in ev.rejected
