"""Every SLAC timer and counter of ISO 15118-3 (Table A.1 and A.2), one named constant each.

Timers are registered in :mod:`harness.protocol.timers` so a lab can override them through PIXIT; the
machines take them from their config objects, whose defaults are these constants.  Names are the
standard's.  Durations are float seconds.
"""

from __future__ import annotations

from harness.protocol.timers import register_timer

_T = "ISO 15118-3 Table A.1"

# ISO 15118-3 Table A.1: 20 s - 50 s.  Time the EVSE waits for CM_SLAC_PARM.REQ after it detected the
# EV (state B, 5 %); on expiry it goes through state E/F (see harness.protocol.pilot).
TT_EVSE_SLAC_INIT_MIN_S = 20.0
TT_EVSE_SLAC_INIT_MAX_S = 50.0
TT_EVSE_SLAC_init = register_timer(
    "TT_EVSE_SLAC_init", TT_EVSE_SLAC_INIT_MAX_S, _T, "EVSE waits for CM_SLAC_PARM.REQ (20-50 s)"
)
# ISO 15118-3 Table A.1: 400 ms.  EVSE waits for the next message of the sequence (e.g.
# CM_START_ATTEN_CHAR.IND after its CM_SLAC_PARM.CNF).
TT_match_sequence = register_timer("TT_match_sequence", 0.4, _T, "EVSE waits for the next SLAC message")
# ISO 15118-3 Table A.1: 200 ms.  A requester waits this long for the response before repeating.
TT_match_response = register_timer("TT_match_response", 0.2, _T, "wait for a SLAC response before repeating")
# ISO 15118-3 Table A.1: 100 ms.  Performance time of the responder / of the next message in sequence.
TP_match_response = register_timer("TP_match_response", 0.1, _T, "time a SLAC responder has to answer")
TP_match_sequence = register_timer("TP_match_sequence", 0.1, _T, "time to send the next message in sequence")
# ISO 15118-3 Table A.1: 1200 ms.  EV collects CM_ATTEN_CHAR.IND from the EVSEs, counted from its first
# CM_START_ATTEN_CHAR.IND.
TT_EV_atten_results = register_timer(
    "TT_EV_atten_results", 1.2, _T, "EV collects CM_ATTEN_CHAR.IND after starting the sounding"
)
# ISO 15118-3 Table A.1: 600 ms.  EVSE receives the M-Sounds, counted from CM_START_ATTEN_CHAR.IND;
# also sent in CM_SLAC_PARM.CNF as Time_Out in units of 100 ms (Table A.2: 0x06).
TT_EVSE_match_MNBC = register_timer(
    "TT_EVSE_match_MNBC", 0.6, _T, "EVSE collects M-Sounds after CM_START_ATTEN_CHAR.IND"
)
# ISO 15118-3 Table A.1: 10 s.  EVSE waits for CM_SLAC_MATCH.REQ (or CM_VALIDATE.REQ) after the
# attenuation exchange.
TT_EVSE_match_session = register_timer(
    "TT_EVSE_match_session", 10.0, _T, "EVSE waits for CM_SLAC_MATCH.REQ after the attenuation exchange"
)
# ISO 15118-3 Table A.1: 12 s.  EV must have joined the logical network after CM_SLAC_MATCH.CNF.
TT_match_join = register_timer("TT_match_join", 12.0, _T, "EV joins the AVLN after CM_SLAC_MATCH.CNF")
# ISO 15118-3 Table A.1: 10 s and 400 ms.  Window in which the EV repeats the matching process and the
# minimum pause between two attempts.
TT_matching_repetition = register_timer(
    "TT_matching_repetition", 10.0, _T, "window in which the EV repeats a failed matching process"
)
TT_matching_rate = register_timer("TT_matching_rate", 0.4, _T, "pause between two matching attempts")
# ISO 15118-3 Table A.1: 1 s.  Time to leave the logical network after unplugging.
TP_match_leave = register_timer("TP_match_leave", 1.0, _T, "time to leave the AVLN after unplug")
# ISO 15118-3 Table A.1: 8 s and 6 s.  Loss of communication: maximum time without link, and time in
# which the link must be resumed.
T_conn_max_comm = register_timer("T_conn_max_comm", 8.0, _T, "maximum time without PLC link")
T_conn_resume = register_timer("T_conn_resume", 6.0, _T, "time to resume a lost PLC link")
# ISO 15118-3 Table A.1: 200 ms.  CM_AMP_MAP exchange response time.
TT_amp_map_exchange = register_timer("TT_amp_map_exchange", 0.2, _T, "wait for CM_AMP_MAP.CNF")
# ISO 15118-3 Table A.1: 0.3 s (max 0.4 s) per B/C state during validation toggles, and the window
# of 2 s announced in CM_VALIDATE.REQ Timer.
TP_EV_vald_state_duration = register_timer(
    "TP_EV_vald_state_duration", 0.3, _T, "duration of one B or C state while toggling for CM_VALIDATE"
)
TP_EV_VALD_STATE_DURATION_MAX_S = 0.4
TP_EV_vald_toggle = register_timer("TP_EV_vald_toggle", 2.0, _T, "toggle window of CM_VALIDATE")
# ISO 15118-3 Table A.1: 20 ms - 50 ms between two M-Sound batch messages (CM_START_ATTEN_CHAR.IND and
# CM_MNBC_SOUND.IND); 20 ms is the sample capture's pace.
TP_EV_batch_msg_interval = register_timer(
    "TP_EV_batch_msg_interval", 0.02, _T, "pause between two sounding messages (20-50 ms)"
)
TP_EV_BATCH_MSG_INTERVAL_MAX_S = 0.05

# ISO 15118-3 Table A.1: counters.
C_EV_match_retry = 2  # repetitions of CM_SLAC_PARM.REQ / CM_SLAC_MATCH.REQ (and EVSE's CM_ATTEN_CHAR.IND)
C_EV_start_atten_char_inds = 3  # CM_START_ATTEN_CHAR.IND sent by the EV
C_EV_match_MNBC = 10  # M-Sounds (CM_MNBC_SOUND.IND) sent by the EV
C_conn_max_match = 3  # ">= 3": matching attempts before the EV gives up
# ISO 15118-3 Table A.1 / 7.x: E/F retries of the EVSE, see harness.protocol.pilot.C_sequ_retry.

# ISO 15118-3 Table A.2: the CM_SLAC_PARM.CNF an EVSE sends.  Real EVs reject deviating CNFs.
CNF_M_SOUND_TARGET = "ff:ff:ff:ff:ff:ff"
CNF_NUM_SOUNDS = C_EV_match_MNBC
CNF_TIME_OUT = round(TT_EVSE_match_MNBC / 0.1)  # 0x06, in units of 100 ms
CNF_RESP_TYPE = 0x01  # "other GP station": results go to the EV's host
CNF_APPLICATION_TYPE = 0x00
CNF_SECURITY_TYPE = 0x00
