"""The SLAC timers and counters carry the values of REFERENCE.md section 3 and are registered for PIXIT."""

from __future__ import annotations

import pytest

from harness.protocol.slac import constants as c

TIMERS = pytest.importorskip("harness.protocol.timers", reason="PIXIT timer registry not present").TIMERS

# REFERENCE.md section 3 (ISO 15118-3 Table A.1), in seconds.
TIMER_VALUES = {
    "TT_match_sequence": 0.4,
    "TT_match_response": 0.2,
    "TP_match_sequence": 0.1,
    "TP_match_response": 0.1,
    "TT_EV_atten_results": 1.2,
    "TT_EVSE_match_MNBC": 0.6,
    "TT_EVSE_match_session": 10.0,
    "TT_match_join": 12.0,
    "TT_matching_repetition": 10.0,
    "TT_matching_rate": 0.4,
    "TP_match_leave": 1.0,
    "T_conn_max_comm": 8.0,
    "T_conn_resume": 6.0,
    "TT_amp_map_exchange": 0.2,
    "TP_EV_vald_state_duration": 0.3,
    "TP_EV_vald_toggle": 2.0,
}


@pytest.mark.parametrize(("name", "seconds"), sorted(TIMER_VALUES.items()))
def test_timer_value_and_registration(name: str, seconds: float) -> None:
    assert getattr(c, name) == seconds
    registered = TIMERS[name]
    assert registered.default_s == seconds and "ISO 15118-3" in registered.clause


def test_ranges_and_counters() -> None:
    assert 20.0 <= c.TT_EVSE_SLAC_init <= 50.0
    assert TIMERS["TT_EVSE_SLAC_init"].default_s == c.TT_EVSE_SLAC_init
    assert c.TP_EV_vald_state_duration <= c.TP_EV_VALD_STATE_DURATION_MAX_S == 0.4
    assert 0.02 <= c.TP_EV_batch_msg_interval <= c.TP_EV_BATCH_MSG_INTERVAL_MAX_S == 0.05
    assert (c.C_EV_match_retry, c.C_EV_start_atten_char_inds, c.C_EV_match_MNBC) == (2, 3, 10)
    assert c.C_conn_max_match >= 3


def test_parm_cnf_values_of_table_a2() -> None:
    assert c.CNF_NUM_SOUNDS == 10 and c.CNF_TIME_OUT == 6 and c.CNF_RESP_TYPE == 1
    assert c.CNF_M_SOUND_TARGET == "ff:ff:ff:ff:ff:ff"
    assert (c.CNF_APPLICATION_TYPE, c.CNF_SECURITY_TYPE) == (0, 0)
