"""Every DIN SPEC 70121 timeout and performance time the DC session machines use, and their PIXIT overrides.

The defaults are the values of DIN SPEC 70121 Table 75 (message timeouts and performance times) and
Table 77 (sequence and phase timeouts) as summarised in REFERENCE.md section 5. A lab overrides any of
them through PIXIT, by field name, with :meth:`DinTimings.from_pixit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from harness.protocol.timers import register_timings, timings_from_lab

# DIN SPEC 70121 Table 75: the EVCC waits at most 2 s for the response to every request except
# CurrentDemandReq.
V2G_EVCC_MSG_TIMEOUT_S = 2.0
# DIN SPEC 70121 Table 75: the EVCC waits at most 250 ms for CurrentDemandRes.
V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S = 0.25
# DIN SPEC 70121 Table 75: the SECC must answer CurrentDemandReq within 25 ms (performance time).
V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S = 0.025
# DIN SPEC 70121 Table 75: the SECC waits at most 60 s for the next request after its response.
V2G_SECC_SEQUENCE_TIMEOUT_S = 60.0
# DIN SPEC 70121 Table 77: the EVCC gives up when it has not reached PowerDeliveryReq
# (ReadyToChargeState = true) 150 s after the session was set up.
V2G_EVCC_READY_TO_CHARGE_TIMEOUT_S = 150.0
# DIN SPEC 70121 Table 77: the EVCC gives up when the session is not set up (SessionSetupRes) 20 s after
# the V2G connection was opened.
V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S = 20.0
# DIN SPEC 70121 Table 77: the EVCC gives up when the cable check has not finished 40 s after its first
# CableCheckReq.
V2G_EVCC_CABLE_CHECK_TIMEOUT_S = 40.0
# DIN SPEC 70121 Table 77: the EVCC gives up when the EVSE output has not reached the target voltage
# 7 s after its first PreChargeReq.
V2G_EVCC_PRE_CHARGE_TIMEOUT_S = 7.0
# DIN SPEC 70121 Table 77: time the SECC has to detect a control pilot state change (pilot layer; kept here
# so one object carries every DIN timer of a lab).
V2G_SECC_CP_STATE_DETECTION_TIMEOUT_S = 1.5
# DIN SPEC 70121 Table 77: time the SECC keeps the 5 % oscillator on after the session ended (pilot layer).
V2G_SECC_CP_OSCILLATOR_RETAIN_TIME_S = 1.5

# Timer names as they appear in StartTimer/CancelTimer/TimerExpired; they are the standard's names and the
# PIXIT registry's (harness.protocol.timers), so ``DeviceSettings.timer(COMMUNICATION_SETUP_TIMER)`` is a
# lab's value of V2G_EVCC_CommunicationSetup_Timeout (default V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S),
# with its PIXIT override applied.
MSG_TIMER = "V2G_EVCC_Msg_Timeout"
COMMUNICATION_SETUP_TIMER = "V2G_EVCC_CommunicationSetup_Timeout"
READY_TO_CHARGE_TIMER = "V2G_EVCC_ReadyToCharge_Timeout"
# ISO 15118-2's (the machines also run its profile; DIN SPEC 70121 has no such timer).
ONGOING_TIMER = "V2G_EVCC_Ongoing_Timeout"
CABLE_CHECK_TIMER = "V2G_EVCC_CableCheck_Timeout"
PRE_CHARGE_TIMER = "V2G_EVCC_PreCharge_Timeout"
SEQUENCE_TIMER = "V2G_SECC_Sequence_Timeout"
# Not a standard timer: the pause a reference EV makes before its next request in a repeated phase
# (CableCheck, PreCharge, CurrentDemand, WeldingDetection, EVSEProcessing=Ongoing).
NEXT_REQUEST_TIMER = "evcc_next_request"


# The PIXIT timer name (harness.protocol.timers registry, the standard's own name) of each DinTimings field,
# with the clause a lab report cites.
PIXIT_TIMERS: dict[str, tuple[str, str, str]] = {
    "evcc_msg_timeout_s": (
        MSG_TIMER,
        "DIN SPEC 70121 Table 75",
        "EVCC wait for a response (not CurrentDemand)",
    ),
    "evcc_msg_timeout_current_demand_s": (
        "V2G_EVCC_Msg_Timeout_CurrentDemand",
        "DIN SPEC 70121 Table 75",
        "EVCC wait for CurrentDemandRes",
    ),
    "secc_performance_time_current_demand_s": (
        "V2G_SECC_Msg_Performance_Time_CurrentDemand",
        "DIN SPEC 70121 Table 75",
        "SECC answer time to CurrentDemandReq",
    ),
    "secc_sequence_timeout_s": (
        SEQUENCE_TIMER,
        "DIN SPEC 70121 Table 75",
        "SECC wait for the next request",
    ),
    "evcc_ready_to_charge_timeout_s": (
        READY_TO_CHARGE_TIMER,
        "DIN SPEC 70121 Table 77",
        "session setup to PowerDeliveryReq",
    ),
    "evcc_communication_setup_timeout_s": (
        COMMUNICATION_SETUP_TIMER,
        "DIN SPEC 70121 Table 77",
        "connection to SessionSetupRes",
    ),
    "evcc_cable_check_timeout_s": (
        CABLE_CHECK_TIMER,
        "DIN SPEC 70121 Table 77",
        "first CableCheckReq to check finished",
    ),
    "evcc_pre_charge_timeout_s": (
        PRE_CHARGE_TIMER,
        "DIN SPEC 70121 Table 77",
        "first PreChargeReq to target voltage",
    ),
    "secc_cp_state_detection_timeout_s": (
        "V2G_SECC_CPState_Detection_Timeout",
        "DIN SPEC 70121 Table 77",
        "SECC detection of a CP state change",
    ),
    "secc_cp_oscillator_retain_time_s": (
        "V2G_SECC_CPOscillator_Retain_Time",
        "DIN SPEC 70121 Table 77",
        "5 % oscillator kept after the session",
    ),
}


def require_positive_seconds(timings: Any, protocol: str) -> None:
    """Every field of a timings dataclass is a positive number of seconds (a PIXIT override is checked
    here)."""
    for f in fields(timings):
        value = getattr(timings, f.name)
        if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{protocol} timer {f.name} must be a positive number of seconds, got {value!r}")


def _register() -> None:
    register_timings(DinTimings(), PIXIT_TIMERS)


@dataclass(frozen=True, slots=True)
class DinTimings:
    """The DIN SPEC 70121 timers of one run; every field is a PIXIT a lab may override (seconds)."""

    evcc_msg_timeout_s: float = V2G_EVCC_MSG_TIMEOUT_S
    evcc_msg_timeout_current_demand_s: float = V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S
    secc_performance_time_current_demand_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S
    secc_sequence_timeout_s: float = V2G_SECC_SEQUENCE_TIMEOUT_S
    evcc_ready_to_charge_timeout_s: float = V2G_EVCC_READY_TO_CHARGE_TIMEOUT_S
    evcc_communication_setup_timeout_s: float = V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S
    evcc_cable_check_timeout_s: float = V2G_EVCC_CABLE_CHECK_TIMEOUT_S
    evcc_pre_charge_timeout_s: float = V2G_EVCC_PRE_CHARGE_TIMEOUT_S
    secc_cp_state_detection_timeout_s: float = V2G_SECC_CP_STATE_DETECTION_TIMEOUT_S
    secc_cp_oscillator_retain_time_s: float = V2G_SECC_CP_OSCILLATOR_RETAIN_TIME_S

    def __post_init__(self) -> None:
        require_positive_seconds(self, "DIN")

    @classmethod
    def from_pixit(cls, pixit: Mapping[str, float]) -> DinTimings:
        """Defaults overridden by a lab's PIXIT; an unknown name is an error, not a silent default."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(pixit) - known)
        if unknown:
            raise ValueError(f"unknown DIN SPEC 70121 timer(s) {unknown}; known: {sorted(known)}")
        return cls(**{name: float(value) for name, value in pixit.items()})

    @classmethod
    def from_lab(cls, timer: Callable[[str], float]) -> DinTimings:
        """The timings of a lab: ``timer`` is its PIXIT lookup by registry name (``Pixit.timer``)."""
        return timings_from_lab(cls, PIXIT_TIMERS, timer)

    @property
    def ongoing_timeout_s(self) -> None:
        """DIN SPEC 70121 Table 77 bounds an Ongoing wait by the ready-to-charge timer, not a timer of its
        own (ISO 15118-2 has V2G_EVCC_Ongoing_Timeout)."""
        return None

    @staticmethod
    def clause(timer_name: str) -> str:
        """The clause a verdict cites for ``timer_name``."""
        return next(
            (clause for name, clause, _ in PIXIT_TIMERS.values() if name == timer_name),
            "DIN SPEC 70121 Table 75",
        )

    def msg_timeout_s(self, request_name: str) -> float:
        """DIN SPEC 70121 Table 75: the EVCC's timeout for the response to ``request_name``."""
        if request_name == "CurrentDemandReq":
            return self.evcc_msg_timeout_current_demand_s
        return self.evcc_msg_timeout_s

    def performance_time_s(self, request_name: str) -> float | None:
        """DIN SPEC 70121 Table 75: the SECC's answer budget for ``request_name``, where the table gives one
        separately from the EVCC timeout (only CurrentDemandReq)."""
        if request_name == "CurrentDemandReq":
            return self.secc_performance_time_current_demand_s
        return None


_register()
