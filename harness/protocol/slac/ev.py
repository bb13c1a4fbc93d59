"""The EV side of SLAC (ISO 15118-3 clause 9 and Annex A), sans-I/O.

One :class:`EvSlac` object per plug-in.  Sequence of one attempt:

1. broadcast CM_SLAC_PARM.REQ with a fresh RunID and collect every CM_SLAC_PARM.CNF that echoes it for
   TT_match_response (several EVSEs may answer on a cable bundle); repeat the request up to
   C_EV_match_retry times when none came;
2. send C_EV_start_atten_char_inds CM_START_ATTEN_CHAR.IND and C_EV_match_MNBC CM_MNBC_SOUND.IND,
   TP_EV_batch_msg_interval apart;
3. answer each CM_ATTEN_CHAR.IND with CM_ATTEN_CHAR.RSP until every EVSE that confirmed has reported or
   TT_EV_atten_results ran out, then pick the EVSE with the lowest average attenuation;
4. optionally CM_VALIDATE (config ``validate``);
5. CM_SLAC_MATCH.REQ (repeated up to C_EV_match_retry times), then CM_SET_KEY on the local modem and
   wait TT_match_join for the link.

A failed attempt is repeated with a new RunID after TT_matching_rate, up to ``max_attempts``
(C_conn_max_match).  Frames with another RunID, from stations that are not part of the attempt, or not
expected in the current state are reported as :class:`Ignored` and change nothing.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from harness.codec import homeplug as hp
from harness.codec.homeplug import SlacMessage, average_attenuation
from harness.protocol.core import LinkDown, LinkUp, MessageReceived, Send, TimedCore, TimerExpired
from harness.protocol.slac import constants as c
from harness.protocol.slac.common import (
    AttemptFailed,
    Ignored,
    LinkLost,
    Matched,
    MatchFailed,
    SetKey,
    SlacAction,
    SlacEvent,
    Start,
    Stop,
    TogglePilot,
)

# Timer names as the caller sees them (the standard's names where there is one).
TIMER_RESPONSE = "TT_match_response"
TIMER_BATCH = "TP_EV_batch_msg_interval"
TIMER_ATTEN_RESULTS = "TT_EV_atten_results"
TIMER_JOIN = "TT_match_join"
TIMER_RATE = "TT_matching_rate"
TIMER_VALIDATE = "TP_EV_vald_toggle"

# ISO 15118-3 A.9.2.6: CM_VALIDATE.REQ Timer is in units of 100 ms.
VALIDATE_TIMER_UNIT_S = 0.1


class EvState(Enum):
    IDLE = "idle"
    WAIT_PARM_CNF = "wait CM_SLAC_PARM.CNF"
    SOUNDING = "sounding"
    WAIT_ATTEN_CHAR = "wait CM_ATTEN_CHAR.IND"
    WAIT_VALIDATE_CNF = "wait CM_VALIDATE.CNF"
    WAIT_VALIDATE_RESULT = "wait CM_VALIDATE.CNF (toggles)"
    WAIT_MATCH_CNF = "wait CM_SLAC_MATCH.CNF"
    JOINING = "joining"
    MATCHED = "matched"
    PAUSED = "paused between attempts"
    FAILED = "failed"


@dataclass
class EvSlacConfig:
    mac: str
    local_modem_mac: str = hp.LOCAL_MODEM_MAC
    validate: bool = False  # use CM_VALIDATE before CM_SLAC_MATCH (PICS)
    validate_toggles: int = 1  # B-C-B toggles the EV performs when the EVSE asks for validation
    # An EVSE whose average attenuation exceeds this is not a candidate (PIXIT; None = any).
    max_attenuation_db: float | None = None
    # Reject CNFs deviating from ISO 15118-3 Table A.2, as real EVs do.
    strict_parm_cnf: bool = True
    match_retry: int = c.C_EV_match_retry
    max_attempts: int = c.C_conn_max_match
    start_atten_char_inds: int = c.C_EV_start_atten_char_inds
    num_sounds: int = c.C_EV_match_MNBC
    match_response_s: float = c.TT_match_response
    batch_interval_s: float = c.TP_EV_batch_msg_interval
    atten_results_s: float = c.TT_EV_atten_results
    match_join_s: float = c.TT_match_join
    matching_rate_s: float = c.TT_matching_rate
    vald_state_duration_s: float = c.TP_EV_vald_state_duration
    vald_toggle_s: float = c.TP_EV_vald_toggle
    evse_sound_time_out: int = c.CNF_TIME_OUT  # Time_Out announced in CM_START_ATTEN_CHAR.IND
    run_id_factory: Callable[[], bytes] = field(default=lambda: secrets.token_bytes(hp.RUN_ID_LENGTH))


@dataclass
class Candidate:
    """An EVSE that confirmed our CM_SLAC_PARM.REQ."""

    mac: str
    attenuation_db: float | None = None  # None until its CM_ATTEN_CHAR.IND arrived
    num_sounds: int = 0


class EvSlac(TimedCore):
    """Sans-I/O SLAC state machine of the EV (PEV) host."""

    def __init__(self, config: EvSlacConfig) -> None:
        super().__init__()
        self.config = config
        self.state = EvState.IDLE
        self.run_id = b""
        self.attempt = 0
        self.candidates: dict[str, Candidate] = {}
        self.chosen: Candidate | None = None
        self.rejected: set[str] = set()
        self.matched: Matched | None = None
        self._sent_requests = 0
        self._batch_sent = 0
        self._nid = b""
        self._nmk = b""
        self.set_key_result: object = None

    # ---------------------------------------------------------------- public API

    def handle(self, event: SlacEvent, now: float) -> list[SlacAction]:
        if isinstance(event, Start):
            return self._start(now)
        if isinstance(event, Stop):
            return self._stop(event.reason)
        if isinstance(event, TimerExpired):
            if not self.timers.fire(event.name, now):
                return []
            return self._timer(event.name, now)
        if isinstance(event, MessageReceived):
            return self._frame(event.message, now)
        if isinstance(event, LinkUp):
            return self._link_up()
        if isinstance(event, LinkDown):
            return self._link_down(now)
        return []

    # ---------------------------------------------------------------- attempts

    def _start(self, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel_all())
        self.attempt = 0
        self.matched = None
        return actions + self._begin_attempt(now)

    def _stop(self, reason: str) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel_all())
        self.state = EvState.IDLE
        return actions

    def _begin_attempt(self, now: float) -> list[SlacAction]:
        self.attempt += 1
        self.run_id = self.config.run_id_factory()
        if len(self.run_id) != hp.RUN_ID_LENGTH:
            raise ValueError(f"RunID must be {hp.RUN_ID_LENGTH} bytes")
        self.candidates = {}
        self.chosen = None
        self.rejected = set()
        self._sent_requests = 0
        self._batch_sent = 0
        self.state = EvState.WAIT_PARM_CNF
        return self._send_parm_req(now)

    def _attempt_failed(self, reason: str, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel_all())
        if self.attempt >= self.config.max_attempts:
            self.state = EvState.FAILED
            actions.append(MatchFailed(f"{reason}; gave up after {self.attempt} attempts (C_conn_max_match)"))
            return actions
        actions.append(AttemptFailed(reason, self.attempt))
        self.state = EvState.PAUSED
        actions.append(self.timers.start(TIMER_RATE, now + self.config.matching_rate_s))
        return actions

    # ---------------------------------------------------------------- sending

    def _send_parm_req(self, now: float) -> list[SlacAction]:
        self._sent_requests += 1
        frame = hp.encode_slac_parm_req(self.config.mac, self.run_id)
        return [
            Send(frame, "CM_SLAC_PARM.REQ", hp.BROADCAST_MAC),
            self.timers.start(TIMER_RESPONSE, now + self.config.match_response_s),
        ]

    def _send_batch_message(self, now: float) -> list[SlacAction]:
        cfg = self.config
        index = self._batch_sent
        self._batch_sent += 1
        if index < cfg.start_atten_char_inds:
            frame = hp.encode_start_atten_char_ind(
                cfg.mac, self.run_id, num_sounds=cfg.num_sounds, time_out=cfg.evse_sound_time_out
            )
            actions: list[SlacAction] = [Send(frame, "CM_START_ATTEN_CHAR.IND", hp.BROADCAST_MAC)]
        else:
            countdown = cfg.start_atten_char_inds + cfg.num_sounds - 1 - index
            frame = hp.encode_mnbc_sound_ind(cfg.mac, self.run_id, countdown=countdown)
            actions = [Send(frame, "CM_MNBC_SOUND.IND", hp.BROADCAST_MAC)]
        if self._batch_sent < cfg.start_atten_char_inds + cfg.num_sounds:
            actions.append(self.timers.start(TIMER_BATCH, now + cfg.batch_interval_s))
        else:
            self.state = EvState.WAIT_ATTEN_CHAR
            actions.extend(self._maybe_select(now))
        return actions

    def _send_validate(self, now: float, timer: int) -> list[SlacAction]:
        assert self.chosen is not None
        self._sent_requests += 1
        frame = hp.encode_validate_req(self.config.mac, self.chosen.mac, timer=timer)
        return [Send(frame, "CM_VALIDATE.REQ", self.chosen.mac)]

    def _send_match_req(self, now: float) -> list[SlacAction]:
        assert self.chosen is not None
        self._sent_requests += 1
        frame = hp.encode_slac_match_req(self.config.mac, self.chosen.mac, self.run_id)
        return [
            Send(frame, "CM_SLAC_MATCH.REQ", self.chosen.mac),
            self.timers.start(TIMER_RESPONSE, now + self.config.match_response_s),
        ]

    # ---------------------------------------------------------------- timers

    def _timer(self, name: str, now: float) -> list[SlacAction]:
        cfg = self.config
        if name == TIMER_RATE and self.state is EvState.PAUSED:
            return self._begin_attempt(now)
        if name == TIMER_BATCH and self.state is EvState.SOUNDING:
            return self._send_batch_message(now)
        if name == TIMER_ATTEN_RESULTS and self.state in (EvState.SOUNDING, EvState.WAIT_ATTEN_CHAR):
            return self._select(now)
        if name == TIMER_RESPONSE:
            if self.state is EvState.WAIT_PARM_CNF:
                if self.candidates:
                    return self._start_sounding(now)
                if self._sent_requests <= cfg.match_retry:
                    return self._send_parm_req(now)
                return self._attempt_failed(
                    f"no CM_SLAC_PARM.CNF after {self._sent_requests} CM_SLAC_PARM.REQ "
                    f"(TT_match_response {cfg.match_response_s:g} s, C_EV_match_retry {cfg.match_retry})",
                    now,
                )
            if self.state is EvState.WAIT_MATCH_CNF:
                if self._sent_requests <= cfg.match_retry:
                    return self._send_match_req(now)
                return self._attempt_failed(
                    f"no CM_SLAC_MATCH.CNF after {self._sent_requests} CM_SLAC_MATCH.REQ "
                    f"(TT_match_response {cfg.match_response_s:g} s, C_EV_match_retry {cfg.match_retry})",
                    now,
                )
            if self.state is EvState.WAIT_VALIDATE_CNF:
                if self._sent_requests <= cfg.match_retry:
                    return [*self._send_validate(now, 0), self._response_timer(now)]
                return self._candidate_failed("no CM_VALIDATE.CNF (TT_match_response)", now)
        if name == TIMER_VALIDATE and self.state is EvState.WAIT_VALIDATE_RESULT:
            return self._candidate_failed("no CM_VALIDATE.CNF with the toggle result", now)
        if name == TIMER_JOIN and self.state is EvState.JOINING:
            return self._attempt_failed(f"PLC link not up within TT_match_join ({cfg.match_join_s:g} s)", now)
        return []

    def _response_timer(self, now: float) -> SlacAction:
        return self.timers.start(TIMER_RESPONSE, now + self.config.match_response_s)

    # ---------------------------------------------------------------- sounding and selection

    def _start_sounding(self, now: float) -> list[SlacAction]:
        self.state = EvState.SOUNDING
        actions: list[SlacAction] = [
            self.timers.start(TIMER_ATTEN_RESULTS, now + self.config.atten_results_s)
        ]
        return actions + self._send_batch_message(now)

    def _maybe_select(self, now: float) -> list[SlacAction]:
        """Select early once sounding is over and every confirming EVSE has reported."""
        if self.state is not EvState.WAIT_ATTEN_CHAR:
            return []
        if all(candidate.attenuation_db is not None for candidate in self.candidates.values()):
            return self._select(now)
        return []

    def _ranked(self) -> list[Candidate]:
        limit = self.config.max_attenuation_db
        reported = [
            candidate
            for candidate in self.candidates.values()
            if candidate.attenuation_db is not None
            and candidate.mac not in self.rejected
            and (limit is None or candidate.attenuation_db <= limit)
        ]
        # ISO 15118-3 9.4: the EV chooses the EVSE with the lowest attenuation; ties go to the first.
        return sorted(reported, key=lambda candidate: candidate.attenuation_db or math.inf)

    def _select(self, now: float) -> list[SlacAction]:
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_ATTEN_RESULTS))
        actions.extend(self.timers.cancel(TIMER_BATCH))
        ranked = self._ranked()
        if not ranked:
            reported = [cand for cand in self.candidates.values() if cand.attenuation_db is not None]
            if reported:
                reason = (
                    "no EVSE below the attenuation limit of "
                    f"{self.config.max_attenuation_db:g} dB (best "
                    f"{min(cand.attenuation_db or math.inf for cand in reported):.1f} dB)"
                )
            else:
                reason = (
                    f"no CM_ATTEN_CHAR.IND within TT_EV_atten_results ({self.config.atten_results_s:g} s)"
                )
            return actions + self._attempt_failed(reason, now)
        self.chosen = ranked[0]
        return actions + self._after_selection(now)

    def _after_selection(self, now: float) -> list[SlacAction]:
        self._sent_requests = 0
        if self.config.validate:
            self.state = EvState.WAIT_VALIDATE_CNF
            return [*self._send_validate(now, 0), self._response_timer(now)]
        self.state = EvState.WAIT_MATCH_CNF
        return self._send_match_req(now)

    def _candidate_failed(self, reason: str, now: float) -> list[SlacAction]:
        """Validation failed for the chosen EVSE: try the next best one, else the attempt fails."""
        assert self.chosen is not None
        self.rejected.add(self.chosen.mac)
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_RESPONSE))
        actions.extend(self.timers.cancel(TIMER_VALIDATE))
        ranked = self._ranked()
        if not ranked:
            return actions + self._attempt_failed(f"validation failed: {reason}", now)
        self.chosen = ranked[0]
        return actions + self._after_selection(now)

    # ---------------------------------------------------------------- received frames

    def _ignore(self, message: SlacMessage, reason: str) -> list[SlacAction]:
        return [Ignored(message.name, message.src, reason)]

    def _frame(self, message: SlacMessage, now: float) -> list[SlacAction]:
        cfg = self.config
        if message.dst not in (cfg.mac, hp.BROADCAST_MAC):
            return self._ignore(message, f"addressed to {message.dst}, not to this EV")
        if message.name == "CM_SET_KEY.CNF":
            return self._set_key_cnf(message, now)
        run_id = message.run_id
        if message.name in ("CM_VALIDATE.CNF",):
            run_id = self.run_id  # CM_VALIDATE carries no RunID; the sender check below applies
        if run_id is None:
            return self._ignore(message, "not a message the EV expects")
        if run_id != self.run_id or not self.run_id:
            return self._ignore(message, f"RunID {run_id.hex()} is not this attempt's {self.run_id.hex()}")
        handler = {
            "CM_SLAC_PARM.CNF": self._parm_cnf,
            "CM_ATTEN_CHAR.IND": self._atten_char_ind,
            "CM_VALIDATE.CNF": self._validate_cnf,
            "CM_SLAC_MATCH.CNF": self._match_cnf,
        }.get(message.name)
        if handler is None:
            return self._ignore(message, "not a message the EV expects")
        return handler(message, now)

    def _parm_cnf(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state is not EvState.WAIT_PARM_CNF:
            return self._ignore(message, f"CM_SLAC_PARM.CNF outside the request window ({self.state.value})")
        if message.src in self.candidates:
            return self._ignore(message, "repeated CM_SLAC_PARM.CNF from the same EVSE")
        if self.config.strict_parm_cnf:
            deviation = parm_cnf_deviation(message, self.config.mac)
            if deviation:
                return self._ignore(
                    message, f"CM_SLAC_PARM.CNF deviates from ISO 15118-3 Table A.2: {deviation}"
                )
        self.candidates[message.src] = Candidate(message.src)
        return []

    def _atten_char_ind(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state not in (EvState.SOUNDING, EvState.WAIT_ATTEN_CHAR):
            # A repeated IND after selection: the EVSE missed our RSP; answer again but change nothing.
            if message.src in self.candidates and self.state is not EvState.IDLE:
                return [self._atten_char_rsp(message)]
            return self._ignore(message, f"CM_ATTEN_CHAR.IND outside the sounding phase ({self.state.value})")
        candidate = self.candidates.get(message.src)
        if candidate is None:
            return self._ignore(message, "CM_ATTEN_CHAR.IND from an EVSE that did not confirm CM_SLAC_PARM")
        if message.fields.get("SOURCE_ADDRESS") != self.config.mac:
            return self._ignore(
                message, f"SOURCE_ADDRESS {message.fields.get('SOURCE_ADDRESS')} is not this EV"
            )
        aag = message.fields.get("AAG")
        if not isinstance(aag, list) or len(aag) != hp.ATTEN_GROUPS:
            count = len(aag) if isinstance(aag, list) else 0
            return self._ignore(message, f"attenuation profile has {count} groups, not {hp.ATTEN_GROUPS}")
        actions: list[SlacAction] = [self._atten_char_rsp(message)]
        if candidate.attenuation_db is None:
            candidate.attenuation_db = average_attenuation(aag)
            sounds = message.fields.get("NUM_SOUNDS")
            candidate.num_sounds = sounds if isinstance(sounds, int) else 0
            actions.extend(self._maybe_select(now))
        return actions

    def _atten_char_rsp(self, message: SlacMessage) -> Send:
        frame = hp.encode_atten_char_rsp(self.config.mac, message.src, self.run_id)
        return Send(frame, "CM_ATTEN_CHAR.RSP", message.src)

    def _validate_cnf(self, message: SlacMessage, now: float) -> list[SlacAction]:
        cfg = self.config
        if self.chosen is None or message.src != self.chosen.mac:
            return self._ignore(message, "CM_VALIDATE.CNF from an EVSE the EV is not validating")
        result = message.fields.get("Result")
        if self.state is EvState.WAIT_VALIDATE_CNF:
            actions: list[SlacAction] = list(self.timers.cancel(TIMER_RESPONSE))
            if result == hp.VALIDATE_RESULT_NOT_REQUIRED:
                self.state = EvState.WAIT_MATCH_CNF
                self._sent_requests = 0
                return actions + self._send_match_req(now)
            if result != hp.VALIDATE_RESULT_READY:
                return actions + self._candidate_failed(f"CM_VALIDATE.CNF Result {result}", now)
            # ISO 15118-3 A.9.2.6: the second request announces the toggle window, then the EV toggles.
            window = round(cfg.vald_toggle_s / VALIDATE_TIMER_UNIT_S)
            self.state = EvState.WAIT_VALIDATE_RESULT
            actions.extend(self._send_validate(now, window))
            actions.append(TogglePilot(cfg.validate_toggles, cfg.vald_state_duration_s))
            actions.append(self.timers.start(TIMER_VALIDATE, now + cfg.vald_toggle_s + cfg.match_response_s))
            return actions
        if self.state is EvState.WAIT_VALIDATE_RESULT:
            actions = list(self.timers.cancel(TIMER_VALIDATE))
            toggles = message.fields.get("ToggleNum")
            if result == hp.VALIDATE_RESULT_SUCCESS and toggles == cfg.validate_toggles:
                self.state = EvState.WAIT_MATCH_CNF
                self._sent_requests = 0
                return actions + self._send_match_req(now)
            return actions + self._candidate_failed(
                f"CM_VALIDATE.CNF Result {result}, ToggleNum {toggles} (EV toggled {cfg.validate_toggles})",
                now,
            )
        return self._ignore(message, f"CM_VALIDATE.CNF not expected ({self.state.value})")

    def _match_cnf(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state is not EvState.WAIT_MATCH_CNF or self.chosen is None:
            return self._ignore(message, f"CM_SLAC_MATCH.CNF not expected ({self.state.value})")
        if message.src != self.chosen.mac:
            return self._ignore(message, f"CM_SLAC_MATCH.CNF from {message.src}, EV chose {self.chosen.mac}")
        fields = message.fields
        if fields.get("PEV_MAC") != self.config.mac or fields.get("EVSE_MAC") != self.chosen.mac:
            return self._ignore(message, "CM_SLAC_MATCH.CNF names another PEV MAC or EVSE MAC")
        nid, nmk = fields.get("NID"), fields.get("NMK")
        assert isinstance(nid, str) and isinstance(nmk, str)
        self._nid, self._nmk = bytes.fromhex(nid), bytes.fromhex(nmk)
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_RESPONSE))
        frame = hp.encode_set_key_req(self.config.mac, self._nid, self._nmk, dst=self.config.local_modem_mac)
        actions.append(SetKey(self._nid, self._nmk, frame))
        self.state = EvState.JOINING
        actions.append(self.timers.start(TIMER_JOIN, now + self.config.match_join_s))
        return actions

    def _set_key_cnf(self, message: SlacMessage, now: float) -> list[SlacAction]:
        if self.state is not EvState.JOINING:
            return self._ignore(message, f"CM_SET_KEY.CNF not expected ({self.state.value})")
        # Modems disagree on the Result code (see harness.codec.homeplug.SET_KEY_RESULT_SUCCESS): the
        # link coming up within TT_match_join is what proves the key was taken.
        self.set_key_result = message.fields.get("Result")
        return []

    # ---------------------------------------------------------------- link

    def _link_up(self) -> list[SlacAction]:
        if self.state is not EvState.JOINING or self.chosen is None:
            return []
        actions: list[SlacAction] = list(self.timers.cancel(TIMER_JOIN))
        self.state = EvState.MATCHED
        self.matched = Matched(self.chosen.mac, self.run_id, self._nid, self._nmk, self.chosen.attenuation_db)
        actions.append(self.matched)
        return actions

    def _link_down(self, now: float) -> list[SlacAction]:
        if self.state is not EvState.MATCHED:
            return []
        # ISO 15118-3 9.6: after a loss of link the EV matches again (a new process, new RunID).
        actions: list[SlacAction] = [LinkLost("PLC link down after matching")]
        self.attempt = 0
        self.matched = None
        return actions + self._begin_attempt(now)


def parm_cnf_deviation(message: SlacMessage, ev_mac: str) -> str:
    """'' if a CM_SLAC_PARM.CNF carries the values of ISO 15118-3 Table A.2, else what deviates."""
    expected: dict[str, object] = {
        "M-SOUND_TARGET": c.CNF_M_SOUND_TARGET,
        "NUM_SOUNDS": c.CNF_NUM_SOUNDS,
        "Time_Out": c.CNF_TIME_OUT,
        "RESP_TYPE": c.CNF_RESP_TYPE,
        "FORWARDING_STA": ev_mac,
        "APPLICATION_TYPE": c.CNF_APPLICATION_TYPE,
        "SECURITY_TYPE": c.CNF_SECURITY_TYPE,
    }
    wrong = [
        f"{name} {message.fields.get(name)!r} (expected {value!r})"
        for name, value in expected.items()
        if message.fields.get(name) != value
    ]
    return ", ".join(wrong)
