"""The EVSE side of SLAC (ISO 15118-3 clause 9 and Annex A), sans-I/O.

One :class:`EvseSlac` per charging point.  After :class:`Start` (the EVSE sees the EV in state B and
offers 5 %) it sets a fresh network key on its own modem and waits TT_EVSE_SLAC_init for
CM_SLAC_PARM.REQ.  It answers with the CNF parameters of ISO 15118-3 Table A.2, collects the
CM_ATTEN_PROFILE.IND its modem reports for each M-Sound of that EV for TT_EVSE_match_MNBC, averages them
per group (58 groups) into CM_ATTEN_CHAR.IND (repeated up to C_EV_match_retry times until the RSP
arrives), optionally takes part in CM_VALIDATE, and answers CM_SLAC_MATCH.REQ with its NID and NMK.

A session that breaks down (missing message within TT_match_sequence, TT_EVSE_match_MNBC,
TT_match_response or TT_EVSE_match_session) is reported as :class:`AttemptFailed` and the EVSE waits
for the EV to start again; only TT_EVSE_SLAC_init running out is final (:class:`MatchFailed`), because
then the pilot logic takes over (state E/F, see harness.protocol.pilot).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from harness.codec import homeplug as hp
from harness.codec.homeplug import SlacMessage
from harness.protocol.core import LinkDown, LinkUp, MessageReceived, Send, TimedCore, TimerExpired
from harness.protocol.slac import constants as c
from harness.protocol.slac.common import (
    AttemptFailed,
    Ignored,
    LinkLost,
    Matched,
    MatchFailed,
    PilotStateChanged,
    SetKey,
    SlacAction,
    SlacEvent,
    Start,
    Stop,
)

TIMER_SLAC_INIT = "TT_EVSE_SLAC_init"
TIMER_SEQUENCE = "TT_match_sequence"
TIMER_MNBC = "TT_EVSE_match_MNBC"
TIMER_RESPONSE = "TT_match_response"
TIMER_SESSION = "TT_EVSE_match_session"
TIMER_VALIDATE = "CM_VALIDATE toggle window"

# ISO 15118-3 A.9.2.6: CM_VALIDATE.REQ Timer is in units of 100 ms.
VALIDATE_TIMER_UNIT_S = 0.1


def random_network_key() -> tuple[bytes, bytes]:
    """A fresh (NID, NMK).  The NID's last octet keeps only its low nibble: HomePlug AV uses 54 bits
    of NID, the top bits of the last octet carry the security level (0 = simple connect)."""
    nid = bytearray(secrets.token_bytes(hp.NID_LENGTH))
    nid[-1] &= 0x0F
    return bytes(nid), secrets.token_bytes(hp.NMK_LENGTH)


class EvseState(Enum):
    IDLE = "idle"
    WAIT_PARM_REQ = "wait CM_SLAC_PARM.REQ"
    WAIT_START_ATTEN = "wait CM_START_ATTEN_CHAR.IND"
    SOUNDING = "collecting M-Sounds"
    WAIT_ATTEN_RSP = "wait CM_ATTEN_CHAR.RSP"
    WAIT_MATCH_REQ = "wait CM_SLAC_MATCH.REQ"
    VALIDATING = "counting validation toggles"
    MATCHED = "matched"
    FAILED = "failed"


@dataclass
class EvseSlacConfig:
    mac: str
    local_modem_mac: str = hp.LOCAL_MODEM_MAC
    validate_supported: bool = False  # answer CM_VALIDATE with Ready (else NotRequired)
    # ISO 15118-3 Table A.2 values of CM_SLAC_PARM.CNF; a tester changes them to probe an EV.
    num_sounds: int = c.CNF_NUM_SOUNDS
    time_out: int = c.CNF_TIME_OUT
    resp_type: int = c.CNF_RESP_TYPE
    m_sound_target: str = c.CNF_M_SOUND_TARGET
    slac_init_s: float = c.TT_EVSE_SLAC_init
    match_sequence_s: float = c.TT_match_sequence
    match_mnbc_s: float = c.TT_EVSE_match_MNBC
    match_response_s: float = c.TT_match_response
    match_session_s: float = c.TT_EVSE_match_session
    atten_char_retry: int = c.C_EV_match_retry  # repetitions of CM_ATTEN_CHAR.IND without RSP
    key_factory: Callable[[], tuple[bytes, bytes]] = field(default=random_network_key)


@dataclass
class Session:
    """What the EVSE knows about the EV it is matching with."""

    ev_mac: str
    run_id: bytes
    sums: list[int] = field(default_factory=lambda: [0] * hp.ATTEN_GROUPS)
    profiles: int = 0
    atten_char_sent: int = 0
    toggles: int = 0
    last_pilot: str = ""
    aag: list[int] = field(default_factory=list)


class EvseSlac(TimedCore):
    """Sans-I/O SLAC state machine of the EVSE (SECC) host."""

    def __init__(self, config: EvseSlacConfig) -> None:
        super().__init__()
        self.config = config
        self.state = EvseState.IDLE
        self.session: Session | None = None
        self.nid = b""
        self.nmk = b""
        self.sessions_started = 0

    # ---------------------------------------------------------------- public API

    def handle(self, event: SlacEvent, now: float) -> list[SlacAction]:
        if isinstance(event, Start):
            return self._start(now)
        if isinstance(event, Stop):
            actions: list[SlacAction] = list(self.timers.cancel_all())
            self.state, self.session = EvseState.IDLE, None
            return actions
        if isinstance(event, TimerExpired):
            if not self.timers.fire(event.name, now):
                return []
            return self._timer(event.name, now)
        if isinstance(event, MessageReceived):
            return self._frame(event.message, now)
        if isinstance(event, PilotStateChanged):
            return self._pilot(event.state)
        if isinstance(event, LinkDown):
            return self._link_down(now)
        if isinstance(event, LinkUp):
            return []
        return []

    # ---------------------------------------------------------------- lifecycle

    def _start(self, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel_all())
        self.nid, self.nmk = self.config.key_factory()
        frame = hp.encode_set_key_req(self.config.mac, self.nid, self.nmk, dst=self.config.local_modem_mac)
        actions.append(SetKey(self.nid, self.nmk, frame))
        return actions + self._wait_for_ev(now)

    def _wait_for_ev(self, now: float) -> list[SlacAction]:
        self.state, self.session = EvseState.WAIT_PARM_REQ, None
        return [self.timers.start(TIMER_SLAC_INIT, now + self.config.slac_init_s)]

    def _session_failed(self, reason: str, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel_all())
        actions.append(AttemptFailed(reason, self.sessions_started))
        return actions + self._wait_for_ev(now)

    def _timer(self, name: str, now: float) -> list[SlacAction]:
        cfg = self.config
        if name == TIMER_SLAC_INIT and self.state is EvseState.WAIT_PARM_REQ:
            self.state = EvseState.FAILED
            return [MatchFailed(f"no CM_SLAC_PARM.REQ within TT_EVSE_SLAC_init ({cfg.slac_init_s:g} s)")]
        if name == TIMER_SEQUENCE and self.state is EvseState.WAIT_START_ATTEN:
            return self._session_failed(
                f"no CM_START_ATTEN_CHAR.IND within TT_match_sequence ({cfg.match_sequence_s:g} s)", now
            )
        if name == TIMER_MNBC and self.state in (EvseState.SOUNDING, EvseState.WAIT_START_ATTEN):
            if self.session is None or self.session.profiles == 0:
                return self._session_failed(
                    f"no M-Sound reported within TT_EVSE_match_MNBC ({cfg.match_mnbc_s:g} s)", now
                )
            return self._send_atten_char(now)
        if name == TIMER_RESPONSE and self.state is EvseState.WAIT_ATTEN_RSP:
            assert self.session is not None
            if self.session.atten_char_sent <= cfg.atten_char_retry:
                return self._send_atten_char(now)
            return self._session_failed(
                f"no CM_ATTEN_CHAR.RSP after {self.session.atten_char_sent} CM_ATTEN_CHAR.IND "
                f"(TT_match_response {cfg.match_response_s:g} s)",
                now,
            )
        if name == TIMER_SESSION and self.state in (EvseState.WAIT_MATCH_REQ, EvseState.VALIDATING):
            return self._session_failed(
                f"no CM_SLAC_MATCH.REQ within TT_EVSE_match_session ({cfg.match_session_s:g} s)", now
            )
        if name == TIMER_VALIDATE and self.state is EvseState.VALIDATING:
            assert self.session is not None
            self.state = EvseState.WAIT_MATCH_REQ
            result = hp.VALIDATE_RESULT_SUCCESS if self.session.toggles > 0 else hp.VALIDATE_RESULT_FAILURE
            frame = hp.encode_validate_cnf(
                cfg.mac, self.session.ev_mac, toggle_num=self.session.toggles, result=result
            )
            return [Send(frame, "CM_VALIDATE.CNF", self.session.ev_mac)]
        return []

    # ---------------------------------------------------------------- sending

    def _send_parm_cnf(self, now: float) -> list[SlacAction]:
        cfg, session = self.config, self.session
        assert session is not None
        frame = hp.encode_slac_parm_cnf(
            cfg.mac,
            session.ev_mac,
            session.run_id,
            num_sounds=cfg.num_sounds,
            time_out=cfg.time_out,
            resp_type=cfg.resp_type,
            m_sound_target=cfg.m_sound_target,
        )
        return [
            Send(frame, "CM_SLAC_PARM.CNF", session.ev_mac),
            self.timers.start(TIMER_SEQUENCE, now + cfg.match_sequence_s),
        ]

    def _send_atten_char(self, now: float) -> list[SlacAction]:
        cfg, session = self.config, self.session
        assert session is not None
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_MNBC))
        if not session.aag:
            session.aag = average_profile(session.sums, session.profiles)
        session.atten_char_sent += 1
        frame = hp.encode_atten_char_ind(
            cfg.mac, session.ev_mac, session.run_id, aag=session.aag, num_sounds=session.profiles
        )
        self.state = EvseState.WAIT_ATTEN_RSP
        actions.append(Send(frame, "CM_ATTEN_CHAR.IND", session.ev_mac))
        actions.append(self.timers.start(TIMER_RESPONSE, now + cfg.match_response_s))
        return actions

    def _send_match_cnf(self) -> Send:
        session = self.session
        assert session is not None
        frame = hp.encode_slac_match_cnf(
            self.config.mac, session.ev_mac, session.run_id, nid=self.nid, nmk=self.nmk
        )
        return Send(frame, "CM_SLAC_MATCH.CNF", session.ev_mac)

    # ---------------------------------------------------------------- received frames

    def _ignore(self, message: SlacMessage, reason: str) -> list[SlacAction]:
        return [Ignored(message.name, message.src, reason)]

    def _frame(self, message: SlacMessage, now: float) -> list[SlacAction]:
        cfg = self.config
        if message.dst not in (cfg.mac, hp.BROADCAST_MAC):
            return self._ignore(message, f"addressed to {message.dst}, not to this EVSE")
        if self.state is EvseState.IDLE:
            return self._ignore(message, "EVSE has not detected an EV")
        if message.name == "CM_SLAC_PARM.REQ":
            return self._parm_req(message, now)
        if message.name == "CM_ATTEN_PROFILE.IND":
            return self._atten_profile(message, now)
        if message.name == "CM_SET_KEY.CNF":
            return []  # the modem confirmed our key; failures show up as a link that never comes
        session = self.session
        if session is None:
            return self._ignore(message, "no SLAC session in progress")
        if message.src != session.ev_mac:
            return self._ignore(message, f"from {message.src}, the session is with {session.ev_mac}")
        if message.name == "CM_VALIDATE.REQ":
            return self._validate_req(message, now)
        run_id = message.run_id
        if run_id != session.run_id:
            shown = run_id.hex() if run_id is not None else "none"
            return self._ignore(message, f"RunID {shown} is not the session's {session.run_id.hex()}")
        handler = {
            "CM_START_ATTEN_CHAR.IND": self._start_atten_char,
            "CM_MNBC_SOUND.IND": self._mnbc_sound,
            "CM_ATTEN_CHAR.RSP": self._atten_char_rsp,
            "CM_SLAC_MATCH.REQ": self._match_req,
        }.get(message.name)
        if handler is None:
            return self._ignore(message, "not a message the EVSE expects")
        return handler(message, now)

    def _parm_req(self, message: SlacMessage, now: float) -> list[SlacAction]:
        fields = message.fields
        if (
            fields.get("APPLICATION_TYPE") != hp.APPLICATION_TYPE_PEV_EVSE
            or fields.get("SECURITY_TYPE") != hp.SECURITY_TYPE_NONE
        ):
            return self._ignore(
                message, "APPLICATION_TYPE/SECURITY_TYPE is not PEV-EVSE matching without security"
            )
        run_id = message.run_id
        assert run_id is not None
        session = self.session
        if session is not None and self.state is EvseState.MATCHED:
            if message.src != session.ev_mac:
                return self._ignore(message, f"EVSE is matched with {session.ev_mac}")
        if (
            session is not None
            and session.ev_mac != message.src
            and self.state is not EvseState.WAIT_PARM_REQ
        ):
            return self._ignore(message, f"EVSE is busy matching {session.ev_mac}")
        if session is not None and session.run_id == run_id and self.state is EvseState.WAIT_START_ATTEN:
            # A repeated request (the EV missed our CNF): answer again.
            return self._send_parm_cnf(now)
        # A new matching process (first request or the EV restarted with a new RunID).
        actions: list[SlacAction] = list(self.timers.cancel_all())
        self.sessions_started += 1
        self.session = Session(message.src, run_id)
        self.state = EvseState.WAIT_START_ATTEN
        return actions + self._send_parm_cnf(now)

    def _start_atten_char(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state is not EvseState.WAIT_START_ATTEN:
            return []  # the 2nd and 3rd of the C_EV_start_atten_char_inds repetitions
        return self._enter_sounding(now)

    def _enter_sounding(self, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_SEQUENCE))
        self.state = EvseState.SOUNDING
        actions.append(self.timers.start(TIMER_MNBC, now + self.config.match_mnbc_s))
        return actions

    def _mnbc_sound(self, message: SlacMessage, now: float) -> list[SlacAction]:
        # The sound itself is measured by the modem (CM_ATTEN_PROFILE.IND); a sound arriving before any
        # CM_START_ATTEN_CHAR.IND still opens the sounding window.
        if self.state is EvseState.WAIT_START_ATTEN:
            return self._enter_sounding(now)
        return []

    def _atten_profile(self, message: SlacMessage, now: float) -> list[SlacAction]:
        session = self.session
        if session is None or self.state not in (EvseState.SOUNDING, EvseState.WAIT_START_ATTEN):
            return self._ignore(
                message, f"CM_ATTEN_PROFILE.IND outside the sounding phase ({self.state.value})"
            )
        if message.fields.get("PEV_MAC") != session.ev_mac:
            return self._ignore(
                message, f"profile of {message.fields.get('PEV_MAC')}, not of the session's EV"
            )
        aag = message.fields.get("AAG")
        if not isinstance(aag, list) or len(aag) != hp.ATTEN_GROUPS:
            return self._ignore(message, f"profile does not have {hp.ATTEN_GROUPS} groups")
        actions: list[SlacAction] = []
        if self.state is EvseState.WAIT_START_ATTEN:
            actions.extend(self._enter_sounding(now))
        session.sums = [total + value for total, value in zip(session.sums, aag, strict=True)]
        session.profiles += 1
        if session.profiles >= self.config.num_sounds:
            actions.extend(self._send_atten_char(now))
        return actions

    def _atten_char_rsp(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state is not EvseState.WAIT_ATTEN_RSP:
            return []  # a repeated RSP for a repeated IND
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_RESPONSE))
        self.state = EvseState.WAIT_MATCH_REQ
        actions.append(self.timers.start(TIMER_SESSION, now + self.config.match_session_s))
        return actions

    def _validate_req(self, message: SlacMessage, now: float) -> list[SlacAction]:
        session = self.session
        assert session is not None
        if self.state not in (EvseState.WAIT_MATCH_REQ, EvseState.WAIT_ATTEN_RSP):
            return self._ignore(message, f"CM_VALIDATE.REQ not expected ({self.state.value})")
        timer = message.fields.get("Timer")
        if not self.config.validate_supported:
            frame = hp.encode_validate_cnf(
                self.config.mac, session.ev_mac, result=hp.VALIDATE_RESULT_NOT_REQUIRED
            )
            return [Send(frame, "CM_VALIDATE.CNF", session.ev_mac)]
        actions: list[SlacAction] = []
        if self.state is EvseState.WAIT_ATTEN_RSP:
            actions.extend(self._atten_char_rsp(message, now))
        if timer == 0:
            frame = hp.encode_validate_cnf(self.config.mac, session.ev_mac, result=hp.VALIDATE_RESULT_READY)
            return actions + [Send(frame, "CM_VALIDATE.CNF", session.ev_mac)]
        assert isinstance(timer, int)
        session.toggles, session.last_pilot = 0, ""
        self.state = EvseState.VALIDATING
        actions.append(self.timers.start(TIMER_VALIDATE, now + timer * VALIDATE_TIMER_UNIT_S))
        return actions

    def _pilot(self, state: str) -> list[SlacAction]:
        session = self.session
        if self.state is not EvseState.VALIDATING or session is None:
            return []
        # A toggle is one B -> C -> B cycle; count it when the pilot returns to B.
        if session.last_pilot == "C" and state == "B":
            session.toggles += 1
        session.last_pilot = state
        return []

    def _match_req(self, message: SlacMessage, now: float) -> list[SlacAction]:
        session = self.session
        assert session is not None
        fields = message.fields
        if fields.get("EVSE_MAC") != self.config.mac or fields.get("PEV_MAC") != session.ev_mac:
            return self._ignore(message, "CM_SLAC_MATCH.REQ names another EVSE MAC or PEV MAC")
        if self.state is EvseState.MATCHED:
            return [self._send_match_cnf()]  # the EV missed our CNF and repeats its request
        if self.state not in (EvseState.WAIT_MATCH_REQ, EvseState.WAIT_ATTEN_RSP):
            return self._ignore(message, f"CM_SLAC_MATCH.REQ not expected ({self.state.value})")
        actions: list[SlacAction] = list(self.timers.cancel_all())
        self.state = EvseState.MATCHED
        actions.append(self._send_match_cnf())
        attenuation = hp.average_attenuation(session.aag) if session.aag else None
        actions.append(Matched(session.ev_mac, session.run_id, self.nid, self.nmk, attenuation))
        return actions

    def _link_down(self, now: float) -> list[SlacAction]:
        if self.state is not EvseState.MATCHED:
            return []
        # ISO 15118-3 9.6: the EV will match again; be ready for its CM_SLAC_PARM.REQ.
        return [LinkLost("PLC link down after matching"), *self._wait_for_ev(now)]


def average_profile(sums: list[int], count: int) -> list[int]:
    """Per-group average of ``count`` attenuation profiles, rounded half up to whole dB
    (ISO 15118-3 A.9.2.5: ATTEN_PROFILE is the average over the received M-Sounds)."""
    if count <= 0:
        return [0] * len(sums)
    return [(total + count // 2) // count for total in sums]
