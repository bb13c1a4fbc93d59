"""Every ISO 15118-20 timeout and performance time the -20 DC session cores use, and their PIXIT names.

Sources, as ../shared/REFERENCE.md and REFERENCE-DER.md give them:

* REFERENCE.md section 5: "ISO 15118-20 charge loop: EV 0.5 s, EVSE 0.25 s" - the EVCC's timeout for
  DC_ChargeLoopRes and the SECC's answer budget for DC_ChargeLoopReq.
* REFERENCE-DER.md section 4: the other values *as josev 0.31.2 implements them, not checked against
  the standard's tables*: most messages 2 s, ServiceDetail (and certificate installation) 5 s, cable
  check 40 s, precharge 10 s, ongoing 60 s, sequence 60 s, communication setup 20 s.  Those are
  registered ``unverified`` (configurable, flagged in reports) until someone checks them against
  ISO 15118-20's timing tables.
* The SECC's 1.5 s general performance time is ISO 15118-2's (Table 109), carried over unverified.

The registry names carry an ``ISO20:`` prefix: DIN SPEC 70121 and ISO 15118-2 register timers of the
same standard names with their own values, and a lab overrides each protocol's separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Timer names in StartTimer/CancelTimer/TimerExpired: the standard's names, shared with the DIN/ISO-2
# cores (one place per name).
from harness.protocol.din70121.timing import (
    CABLE_CHECK_TIMER,
    COMMUNICATION_SETUP_TIMER,
    MSG_TIMER,
    NEXT_REQUEST_TIMER,
    ONGOING_TIMER,
    PRE_CHARGE_TIMER,
    SEQUENCE_TIMER,
    require_positive_seconds,
)
from harness.protocol.timers import register_timings, timings_from_lab

__all__ = [
    "CABLE_CHECK_TIMER",
    "COMMUNICATION_SETUP_TIMER",
    "MSG_TIMER",
    "NEXT_REQUEST_TIMER",
    "ONGOING_TIMER",
    "PRE_CHARGE_TIMER",
    "SEQUENCE_TIMER",
    "Iso20Timings",
]

# REFERENCE-DER.md section 4 (josev 0.31.2, unverified): the EVCC waits 2 s for most responses.
V2G_EVCC_MSG_TIMEOUT_S = 2.0
# REFERENCE-DER.md section 4 (josev 0.31.2, unverified): 5 s for ServiceDetailRes and
# CertificateInstallationRes.
V2G_EVCC_MSG_TIMEOUT_LONG_S = 5.0
LONG_TIMEOUT_REQUESTS = frozenset({"ServiceDetailReq", "CertificateInstallationReq"})
# REFERENCE.md section 5: the EV waits 0.5 s for DC_ChargeLoopRes.
V2G_EVCC_MSG_TIMEOUT_CHARGE_LOOP_S = 0.5
LOOP_REQUESTS = frozenset({"DC_ChargeLoopReq"})
# REFERENCE.md section 5: the EVSE answers DC_ChargeLoopReq within 0.25 s.
V2G_SECC_MSG_PERFORMANCE_TIME_CHARGE_LOOP_S = 0.25
# ISO 15118-2 Table 109's general SECC performance time, assumed for -20 (unverified).
V2G_SECC_MSG_PERFORMANCE_TIME_S = 1.5
# REFERENCE-DER.md section 4 (josev 0.31.2, unverified): the SECC waits 60 s for the next request.
V2G_SECC_SEQUENCE_TIMEOUT_S = 60.0
# REFERENCE-DER.md section 4 (josev 0.31.2, unverified): the EVCC gives up 60 s after the first
# EVSEProcessing=Ongoing of a phase (Authorization, ScheduleExchange).
V2G_EVCC_ONGOING_TIMEOUT_S = 60.0
# REFERENCE-DER.md section 4 (josev 0.31.2, unverified): connection to SessionSetupRes 20 s; first
# DC_CableCheckReq to the check finished 40 s; first DC_PreChargeReq to the target voltage 10 s.
V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S = 20.0
V2G_EVCC_CABLE_CHECK_TIMEOUT_S = 40.0
V2G_EVCC_PRE_CHARGE_TIMEOUT_S = 10.0

REGISTRY_PREFIX = "ISO20:"
CLAUSE_JOSEV = "ISO 15118-20 (josev 0.31.2's value, REFERENCE-DER.md 4)"
CLAUSE_CHARGE_LOOP = "ISO 15118-20 charge loop timing (REFERENCE.md 5)"
CLAUSE_ISO2_CARRIED = "ISO 15118-2 Table 109 value assumed for ISO 15118-20"

# Each Iso20Timings field: (the standard's timer name, clause, what it bounds, unverified).  The
# unverified flag (shown in reports and `vgi lab timers`) marks every value not checked against the
# standard's own tables.  Registered
# for PIXIT as REGISTRY_PREFIX + name.
PIXIT_TIMERS: dict[str, tuple[str, str, str, bool]] = {
    "evcc_msg_timeout_s": (MSG_TIMER, CLAUSE_JOSEV, "EVCC wait for a response (2 s class)", True),
    "evcc_msg_timeout_long_s": (
        "V2G_EVCC_Msg_Timeout_Long",
        CLAUSE_JOSEV,
        "EVCC wait for ServiceDetailRes/CertificateInstallationRes",
        True,
    ),
    "evcc_msg_timeout_charge_loop_s": (
        "V2G_EVCC_Msg_Timeout_ChargeLoop",
        CLAUSE_CHARGE_LOOP,
        "EVCC wait for DC_ChargeLoopRes",
        False,
    ),
    "secc_performance_time_s": (
        "V2G_SECC_Msg_Performance_Time",
        CLAUSE_ISO2_CARRIED,
        "SECC answer time (general)",
        True,
    ),
    "secc_performance_time_charge_loop_s": (
        "V2G_SECC_Msg_Performance_Time_ChargeLoop",
        CLAUSE_CHARGE_LOOP,
        "SECC answer time to DC_ChargeLoopReq",
        False,
    ),
    "secc_sequence_timeout_s": (SEQUENCE_TIMER, CLAUSE_JOSEV, "SECC wait for the next request", True),
    "evcc_ongoing_timeout_s": (
        ONGOING_TIMER,
        CLAUSE_JOSEV,
        "EVCC wait while EVSEProcessing is Ongoing",
        True,
    ),
    "evcc_communication_setup_timeout_s": (
        COMMUNICATION_SETUP_TIMER,
        CLAUSE_JOSEV,
        "connection to SessionSetupRes",
        True,
    ),
    "evcc_cable_check_timeout_s": (
        CABLE_CHECK_TIMER,
        CLAUSE_JOSEV,
        "first DC_CableCheckReq to check finished",
        True,
    ),
    "evcc_pre_charge_timeout_s": (
        PRE_CHARGE_TIMER,
        CLAUSE_JOSEV,
        "first DC_PreChargeReq to target voltage",
        True,
    ),
}
CLAUSES: dict[str, str] = {name: clause for name, clause, _, _ in PIXIT_TIMERS.values()}


@dataclass(frozen=True, slots=True)
class Iso20Timings:
    """The ISO 15118-20 timers of one run; every field is a PIXIT a lab may override (seconds)."""

    evcc_msg_timeout_s: float = V2G_EVCC_MSG_TIMEOUT_S
    evcc_msg_timeout_long_s: float = V2G_EVCC_MSG_TIMEOUT_LONG_S
    evcc_msg_timeout_charge_loop_s: float = V2G_EVCC_MSG_TIMEOUT_CHARGE_LOOP_S
    secc_performance_time_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_S
    secc_performance_time_charge_loop_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_CHARGE_LOOP_S
    secc_sequence_timeout_s: float = V2G_SECC_SEQUENCE_TIMEOUT_S
    evcc_ongoing_timeout_s: float = V2G_EVCC_ONGOING_TIMEOUT_S
    evcc_communication_setup_timeout_s: float = V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S
    evcc_cable_check_timeout_s: float = V2G_EVCC_CABLE_CHECK_TIMEOUT_S
    evcc_pre_charge_timeout_s: float = V2G_EVCC_PRE_CHARGE_TIMEOUT_S

    def __post_init__(self) -> None:
        require_positive_seconds(self, "ISO 15118-20")

    @classmethod
    def from_lab(cls, timer: Callable[[str], float]) -> Iso20Timings:
        """The timings of a lab: ``timer`` is its PIXIT lookup by registry name (``Pixit.timer``)."""
        return timings_from_lab(cls, PIXIT_TIMERS, timer, REGISTRY_PREFIX)

    def msg_timeout_s(self, request_name: str) -> float:
        """The EVCC's timeout for the response to ``request_name``."""
        if request_name in LOOP_REQUESTS:
            return self.evcc_msg_timeout_charge_loop_s
        if request_name in LONG_TIMEOUT_REQUESTS:
            return self.evcc_msg_timeout_long_s
        return self.evcc_msg_timeout_s

    def performance_time_s(self, request_name: str) -> float:
        """The SECC's answer budget for ``request_name``."""
        if request_name in LOOP_REQUESTS:
            return self.secc_performance_time_charge_loop_s
        return self.secc_performance_time_s

    @staticmethod
    def clause(timer_name: str) -> str:
        """The clause a verdict cites for ``timer_name``."""
        return CLAUSES.get(timer_name, CLAUSE_JOSEV)


def _register() -> None:
    register_timings(Iso20Timings(), PIXIT_TIMERS, REGISTRY_PREFIX)


_register()
