"""The EVSE SLAC core alone, driven with hand-made frames and a hand-advanced clock."""

from __future__ import annotations

import pytest

from harness.codec import homeplug as hp
from harness.codec.homeplug import decode_slac
from harness.protocol.core import LinkDown, Send, StartTimer, TimerExpired
from harness.protocol.slac import constants as c
from harness.protocol.slac.common import (
    AttemptFailed,
    Ignored,
    LinkLost,
    Matched,
    MatchFailed,
    PilotStateChanged,
    SetKey,
    Start,
    frame_received,
)
from harness.protocol.slac.ev import parm_cnf_deviation
from harness.protocol.slac.evse import EvseSlac, EvseSlacConfig, EvseState, average_profile

EVSE = "02:00:00:00:01:01"
EV = "02:00:00:00:00:01"
OTHER_EV = "02:00:00:00:00:02"
MODEM = "02:00:00:00:bb:01"
RUN_ID = bytes.fromhex("1122334455667788")
NID = bytes.fromhex("0102030405060708")[:7]
NMK = bytes(range(16))


def make_evse(**overrides) -> EvseSlac:
    evse = EvseSlac(EvseSlacConfig(mac=EVSE, key_factory=lambda: (NID, NMK), **overrides))
    return evse


def frames(actions, name: str | None = None) -> list[Send]:
    return [a for a in actions if isinstance(a, Send) and (name is None or a.name == name)]


def receive(evse: EvseSlac, frame: bytes, now: float):
    return evse.handle(frame_received(decode_slac(frame)), now)


def fire(evse: EvseSlac, name: str):
    deadline = evse.timers.deadlines[name]
    return deadline, evse.handle(TimerExpired(name), deadline)


def to_sounding(evse: EvseSlac) -> None:
    evse.handle(Start(), 0.0)
    receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 1.0)
    receive(evse, hp.encode_start_atten_char_ind(EV, RUN_ID, num_sounds=10, time_out=6), 1.1)
    assert evse.state is EvseState.SOUNDING


def profiles(evse: EvseSlac, levels: list[list[int]], start: float = 1.2):
    actions = []
    for index, aag in enumerate(levels):
        actions += receive(evse, hp.encode_atten_profile_ind(MODEM, EV, aag), start + 0.02 * index)
    return actions


def to_match_wait(evse: EvseSlac) -> None:
    to_sounding(evse)
    profiles(evse, [[20] * 58] * 10)
    receive(evse, hp.encode_atten_char_rsp(EV, EVSE, RUN_ID), 1.5)
    assert evse.state is EvseState.WAIT_MATCH_REQ


def test_start_sets_the_session_key_and_waits_tt_evse_slac_init() -> None:
    evse = make_evse()
    actions = evse.handle(Start(), 0.0)
    (set_key,) = [a for a in actions if isinstance(a, SetKey)]
    assert (set_key.nid, set_key.nmk) == (NID, NMK)
    assert decode_slac(set_key.frame).name == "CM_SET_KEY.REQ"
    assert StartTimer("TT_EVSE_SLAC_init", c.TT_EVSE_SLAC_init) in actions
    assert c.TT_EVSE_SLAC_INIT_MIN_S <= c.TT_EVSE_SLAC_init <= c.TT_EVSE_SLAC_INIT_MAX_S


def test_no_parm_req_within_tt_evse_slac_init_is_final() -> None:
    evse = make_evse(slac_init_s=20.0)
    evse.handle(Start(), 0.0)
    deadline, actions = fire(evse, "TT_EVSE_SLAC_init")
    assert deadline == 20.0
    (failed,) = actions
    assert isinstance(failed, MatchFailed) and "TT_EVSE_SLAC_init" in failed.reason
    assert evse.state is EvseState.FAILED


def test_parm_cnf_echoes_run_id_with_table_a2_values() -> None:
    evse = make_evse()
    evse.handle(Start(), 0.0)
    actions = receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 1.0)
    (cnf,) = frames(actions)
    message = decode_slac(cnf.message)
    assert message.name == "CM_SLAC_PARM.CNF" and message.dst == EV and message.src == EVSE
    assert message.run_id == RUN_ID
    assert parm_cnf_deviation(message, EV) == ""
    assert StartTimer("TT_match_sequence", 1.0 + c.TT_match_sequence) in actions
    assert "TT_EVSE_SLAC_init" not in evse.timers.deadlines


def test_repeated_parm_req_is_answered_again_and_new_run_id_restarts() -> None:
    evse = make_evse()
    evse.handle(Start(), 0.0)
    receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 1.0)
    assert len(frames(receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 1.2))) == 1
    new = bytes(8)
    (cnf,) = frames(receive(evse, hp.encode_slac_parm_req(EV, new), 1.3))
    assert decode_slac(cnf.message).run_id == new and evse.sessions_started == 2


def test_other_ev_is_ignored_while_busy() -> None:
    evse = make_evse()
    to_sounding(evse)
    (ignored,) = receive(evse, hp.encode_slac_parm_req(OTHER_EV, RUN_ID), 1.15)
    assert isinstance(ignored, Ignored) and "busy" in ignored.reason


def test_missing_start_atten_char_within_tt_match_sequence_fails_the_session() -> None:
    evse = make_evse()
    evse.handle(Start(), 0.0)
    receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 1.0)
    _, actions = fire(evse, "TT_match_sequence")
    (failed,) = [a for a in actions if isinstance(a, AttemptFailed)]
    assert "TT_match_sequence" in failed.reason
    assert evse.state is EvseState.WAIT_PARM_REQ  # ready for the EV's next attempt


def test_ten_profiles_are_averaged_per_group_into_atten_char_ind() -> None:
    evse = make_evse()
    to_sounding(evse)
    levels = [[10 + (group % 7) + sound for group in range(58)] for sound in range(10)]
    actions = profiles(evse, levels)
    (ind,) = frames(actions, "CM_ATTEN_CHAR.IND")
    message = decode_slac(ind.message)
    expected = [round(sum(level[g] for level in levels) / 10 + 1e-9) for g in range(58)]
    assert message.fields["AAG"] == expected
    assert message.fields["NUM_SOUNDS"] == 10 and message.fields["NumGroups"] == 58
    assert message.fields["SOURCE_ADDRESS"] == EV and message.run_id == RUN_ID
    assert StartTimer("TT_match_response", pytest.approx(1.38 + c.TT_match_response)) in actions


def test_average_profile_rounds_half_up() -> None:
    assert average_profile([25, 24, 0], 10) == [3, 2, 0]
    assert average_profile([5], 2) == [3]


def test_mnbc_timer_sends_what_was_received() -> None:
    evse = make_evse()
    to_sounding(evse)
    profiles(evse, [[30] * 58] * 3)
    deadline, actions = fire(evse, "TT_EVSE_match_MNBC")
    assert deadline == pytest.approx(1.1 + c.TT_EVSE_match_MNBC)
    (ind,) = frames(actions, "CM_ATTEN_CHAR.IND")
    assert decode_slac(ind.message).fields["NUM_SOUNDS"] == 3


def test_no_sound_at_all_fails_the_session() -> None:
    evse = make_evse()
    to_sounding(evse)
    _, actions = fire(evse, "TT_EVSE_match_MNBC")
    assert any(isinstance(a, AttemptFailed) and "TT_EVSE_match_MNBC" in a.reason for a in actions)


def test_profiles_of_another_ev_or_wrong_size_are_ignored() -> None:
    evse = make_evse()
    to_sounding(evse)
    (ignored,) = receive(evse, hp.encode_atten_profile_ind(MODEM, OTHER_EV, [1] * 58), 1.2)
    assert isinstance(ignored, Ignored)
    (ignored,) = receive(evse, hp.encode_atten_profile_ind(MODEM, EV, [1] * 57), 1.2)
    assert isinstance(ignored, Ignored) and evse.session is not None and evse.session.profiles == 0


def test_atten_char_ind_is_repeated_until_rsp_then_the_session_fails() -> None:
    evse = make_evse()
    to_sounding(evse)
    profiles(evse, [[20] * 58] * 10)
    repeats, failed = 0, []
    for _ in range(3):
        _, actions = fire(evse, "TT_match_response")
        repeats += len(frames(actions, "CM_ATTEN_CHAR.IND"))
        failed += [a for a in actions if isinstance(a, AttemptFailed)]
    assert repeats == c.C_EV_match_retry
    assert len(failed) == 1 and "no CM_ATTEN_CHAR.RSP after 3" in failed[0].reason


def test_match_req_is_answered_with_nid_and_nmk() -> None:
    evse = make_evse()
    to_match_wait(evse)
    assert evse.timers.deadlines["TT_EVSE_match_session"] == pytest.approx(1.5 + c.TT_EVSE_match_session)
    actions = receive(evse, hp.encode_slac_match_req(EV, EVSE, RUN_ID), 2.0)
    (cnf,) = frames(actions)
    message = decode_slac(cnf.message)
    assert message.name == "CM_SLAC_MATCH.CNF" and message.run_id == RUN_ID
    assert message.fields["NID"] == NID.hex() and message.fields["NMK"] == NMK.hex()
    assert message.fields["PEV_MAC"] == EV and message.fields["EVSE_MAC"] == EVSE
    assert message.fields["MVFLength"] == hp.MATCH_CNF_MVF_LENGTH
    assert Matched(EV, RUN_ID, NID, NMK, 20.0) in actions
    # A repeated request (the EV missed the CNF) is answered again.
    assert len(frames(receive(evse, hp.encode_slac_match_req(EV, EVSE, RUN_ID), 2.3))) == 1


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (hp.encode_slac_match_req(EV, EVSE, bytes(8)), "RunID"),
        (hp.encode_slac_match_req(OTHER_EV, EVSE, RUN_ID), "session is with"),
        (hp.encode_slac_match_req(EV, EVSE, RUN_ID, evse_mac="02:00:00:00:01:99"), "another EVSE MAC"),
        (hp.encode_slac_match_req(EV, "02:00:00:00:01:99", RUN_ID), "addressed"),
    ],
)
def test_wrong_match_requests_are_ignored(frame: bytes, reason: str) -> None:
    evse = make_evse()
    to_match_wait(evse)
    actions = receive(evse, frame, 2.0)
    assert len(actions) == 1 and isinstance(actions[0], Ignored) and reason in actions[0].reason
    assert evse.state is EvseState.WAIT_MATCH_REQ


def test_no_match_req_within_tt_evse_match_session() -> None:
    evse = make_evse()
    to_match_wait(evse)
    _, actions = fire(evse, "TT_EVSE_match_session")
    assert any(isinstance(a, AttemptFailed) and "TT_EVSE_match_session" in a.reason for a in actions)


def test_validation_not_supported_answers_not_required() -> None:
    evse = make_evse()
    to_match_wait(evse)
    (cnf,) = frames(receive(evse, hp.encode_validate_req(EV, EVSE), 2.0))
    assert decode_slac(cnf.message).fields["Result"] == hp.VALIDATE_RESULT_NOT_REQUIRED


def test_validation_counts_pilot_toggles_in_the_window() -> None:
    evse = make_evse(validate_supported=True)
    to_match_wait(evse)
    (ready,) = frames(receive(evse, hp.encode_validate_req(EV, EVSE, timer=0), 2.0))
    assert decode_slac(ready.message).fields["Result"] == hp.VALIDATE_RESULT_READY
    assert receive(evse, hp.encode_validate_req(EV, EVSE, timer=20), 2.1) == [
        StartTimer("CM_VALIDATE toggle window", pytest.approx(4.1))
    ]
    for index, state in enumerate(["C", "B", "C", "B", "C"]):
        evse.handle(PilotStateChanged(state), 2.4 + 0.3 * index)
    _, actions = fire(evse, "CM_VALIDATE toggle window")
    (result,) = frames(actions)
    fields = decode_slac(result.message).fields
    assert fields["ToggleNum"] == 2 and fields["Result"] == hp.VALIDATE_RESULT_SUCCESS


def test_link_loss_after_match_waits_for_a_new_parm_req() -> None:
    evse = make_evse()
    to_match_wait(evse)
    receive(evse, hp.encode_slac_match_req(EV, EVSE, RUN_ID), 2.0)
    actions = evse.handle(LinkDown(), 10.0)
    assert isinstance(actions[0], LinkLost) and evse.state is EvseState.WAIT_PARM_REQ
    assert frames(receive(evse, hp.encode_slac_parm_req(EV, bytes(8)), 11.0), "CM_SLAC_PARM.CNF")


def test_frames_before_start_are_ignored() -> None:
    evse = make_evse()
    (ignored,) = receive(evse, hp.encode_slac_parm_req(EV, RUN_ID), 0.0)
    assert isinstance(ignored, Ignored) and evse.state is EvseState.IDLE
