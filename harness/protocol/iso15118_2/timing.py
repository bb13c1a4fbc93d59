"""Every ISO 15118-2 timeout and performance time the DC session machines use, and their PIXIT names.

The defaults are those of ISO 15118-2 Table 109 (message timeouts and SECC performance times) and
Table 111 (sequence, ongoing and phase timers), as REFERENCE.md section 5 summarises them.  The
registry names carry an ``ISO2:`` prefix: DIN SPEC 70121 registers timers of the same standard names
with its own values and clauses, and a lab may override each protocol's separately.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Timer names in StartTimer/CancelTimer/TimerExpired: the standard's names, which the DC session machines
# use for either protocol.
from harness.protocol.din70121.timing import MSG_TIMER, ONGOING_TIMER, require_positive_seconds
from harness.protocol.timers import register_timings, timings_from_lab

# ISO 15118-2 Table 109: the EVCC waits at most 2 s for a response, except those below.
V2G_EVCC_MSG_TIMEOUT_S = 2.0
# ISO 15118-2 Table 109: 5 s for ServiceDetailRes, PaymentDetailsRes, CertificateInstallationRes,
# CertificateUpdateRes and PowerDeliveryRes.
V2G_EVCC_MSG_TIMEOUT_LONG_S = 5.0
LONG_TIMEOUT_REQUESTS = frozenset(
    {
        "ServiceDetailReq",
        "PaymentDetailsReq",
        "CertificateInstallationReq",
        "CertificateUpdateReq",
        "PowerDeliveryReq",
    }
)
# ISO 15118-2 Table 109: 250 ms for CurrentDemandRes and ChargingStatusRes.
V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S = 0.25
LOOP_REQUESTS = frozenset({"CurrentDemandReq", "ChargingStatusReq"})
# ISO 15118-2 Table 109: the SECC answers within 1.5 s, PowerDeliveryReq within 4.5 s, CurrentDemandReq
# and ChargingStatusReq within 25 ms (V2G_SECC_Msg_Performance_Time).
V2G_SECC_MSG_PERFORMANCE_TIME_S = 1.5
V2G_SECC_MSG_PERFORMANCE_TIME_POWER_DELIVERY_S = 4.5
V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S = 0.025
# ISO 15118-2 Table 111: the SECC waits at most 60 s for the next request after its response.
V2G_SECC_SEQUENCE_TIMEOUT_S = 60.0
# ISO 15118-2 Table 111: the EVCC ends the session when EVSEProcessing is still Ongoing 60 s after the
# first Ongoing answer (Authorization, ChargeParameterDiscovery).
V2G_EVCC_ONGOING_TIMEOUT_S = 60.0
# ISO 15118-2 Table 111: the EVCC gives up when the session is not set up 20 s after the connection
# opened; the cable check not finished 40 s, the precharge voltage not reached 7 s after the first
# request of the phase.
V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S = 20.0
V2G_EVCC_CABLE_CHECK_TIMEOUT_S = 40.0
V2G_EVCC_PRE_CHARGE_TIMEOUT_S = 7.0

REGISTRY_PREFIX = "ISO2:"
CLAUSE_MESSAGES = "ISO 15118-2 Table 109"
CLAUSE_SEQUENCE = "ISO 15118-2 Table 111"
CLAUSE_PHASES = CLAUSE_SEQUENCE

# Each Iso2Timings field: (the standard's timer name, clause, what it bounds).  Registered for PIXIT
# as REGISTRY_PREFIX + name.
PIXIT_TIMERS: dict[str, tuple[str, str, str]] = {
    "evcc_msg_timeout_s": (MSG_TIMER, CLAUSE_MESSAGES, "EVCC wait for a response (2 s class)"),
    "evcc_msg_timeout_long_s": (
        "V2G_EVCC_Msg_Timeout_Long",
        CLAUSE_MESSAGES,
        "EVCC wait for ServiceDetail/PaymentDetails/Certificate*/PowerDelivery responses",
    ),
    "evcc_msg_timeout_current_demand_s": (
        "V2G_EVCC_Msg_Timeout_CurrentDemand",
        CLAUSE_MESSAGES,
        "EVCC wait for CurrentDemandRes/ChargingStatusRes",
    ),
    "secc_performance_time_s": (
        "V2G_SECC_Msg_Performance_Time",
        CLAUSE_MESSAGES,
        "SECC answer time (1.5 s class)",
    ),
    "secc_performance_time_power_delivery_s": (
        "V2G_SECC_Msg_Performance_Time_PowerDelivery",
        CLAUSE_MESSAGES,
        "SECC answer time to PowerDeliveryReq",
    ),
    "secc_performance_time_current_demand_s": (
        "V2G_SECC_Msg_Performance_Time_CurrentDemand",
        CLAUSE_MESSAGES,
        "SECC answer time to CurrentDemandReq/ChargingStatusReq",
    ),
    "secc_sequence_timeout_s": (
        "V2G_SECC_Sequence_Timeout",
        CLAUSE_SEQUENCE,
        "SECC wait for the next request",
    ),
    "evcc_ongoing_timeout_s": (ONGOING_TIMER, CLAUSE_SEQUENCE, "EVCC wait while EVSEProcessing is Ongoing"),
    "evcc_communication_setup_timeout_s": (
        "V2G_EVCC_CommunicationSetup_Timeout",
        CLAUSE_PHASES,
        "connection to SessionSetupRes",
    ),
    "evcc_cable_check_timeout_s": (
        "V2G_EVCC_CableCheck_Timeout",
        CLAUSE_PHASES,
        "first CableCheckReq to check finished",
    ),
    "evcc_pre_charge_timeout_s": (
        "V2G_EVCC_PreCharge_Timeout",
        CLAUSE_PHASES,
        "first PreChargeReq to target voltage",
    ),
}
CLAUSES: dict[str, str] = {name: clause for name, clause, _ in PIXIT_TIMERS.values()}


@dataclass(frozen=True, slots=True)
class Iso2Timings:
    """The ISO 15118-2 timers of one run; every field is a PIXIT a lab may override (seconds)."""

    evcc_msg_timeout_s: float = V2G_EVCC_MSG_TIMEOUT_S
    evcc_msg_timeout_long_s: float = V2G_EVCC_MSG_TIMEOUT_LONG_S
    evcc_msg_timeout_current_demand_s: float = V2G_EVCC_MSG_TIMEOUT_CURRENT_DEMAND_S
    secc_performance_time_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_S
    secc_performance_time_power_delivery_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_POWER_DELIVERY_S
    secc_performance_time_current_demand_s: float = V2G_SECC_MSG_PERFORMANCE_TIME_CURRENT_DEMAND_S
    secc_sequence_timeout_s: float = V2G_SECC_SEQUENCE_TIMEOUT_S
    evcc_ongoing_timeout_s: float = V2G_EVCC_ONGOING_TIMEOUT_S
    evcc_communication_setup_timeout_s: float = V2G_EVCC_COMMUNICATION_SETUP_TIMEOUT_S
    evcc_cable_check_timeout_s: float = V2G_EVCC_CABLE_CHECK_TIMEOUT_S
    evcc_pre_charge_timeout_s: float = V2G_EVCC_PRE_CHARGE_TIMEOUT_S

    def __post_init__(self) -> None:
        require_positive_seconds(self, "ISO 15118-2")

    @classmethod
    def from_lab(cls, timer: Callable[[str], float]) -> Iso2Timings:
        """The timings of a lab: ``timer`` is its PIXIT lookup by registry name (``Pixit.timer``)."""
        return timings_from_lab(cls, PIXIT_TIMERS, timer, REGISTRY_PREFIX)

    # --- what the DC session machines ask (the same questions DinTimings answers) ---

    @property
    def evcc_ready_to_charge_timeout_s(self) -> None:
        """ISO 15118-2 has no ready-to-charge timer (DIN SPEC 70121 Table 77 has); the ongoing timer
        bounds the waits instead."""
        return None

    @property
    def ongoing_timeout_s(self) -> float:
        return self.evcc_ongoing_timeout_s

    def msg_timeout_s(self, request_name: str) -> float:
        """Table 109: the EVCC's timeout for the response to ``request_name``."""
        if request_name in LOOP_REQUESTS:
            return self.evcc_msg_timeout_current_demand_s
        if request_name in LONG_TIMEOUT_REQUESTS:
            return self.evcc_msg_timeout_long_s
        return self.evcc_msg_timeout_s

    def performance_time_s(self, request_name: str) -> float | None:
        """Table 109: the SECC's answer budget for ``request_name`` (every request has one;
        supportedAppProtocolReq is outside ISO 15118-2's message set and gets the general 1.5 s)."""
        if request_name in LOOP_REQUESTS:
            return self.secc_performance_time_current_demand_s
        if request_name == "PowerDeliveryReq":
            return self.secc_performance_time_power_delivery_s
        return self.secc_performance_time_s

    @staticmethod
    def clause(timer_name: str) -> str:
        """The clause a verdict cites for ``timer_name``."""
        return CLAUSES.get(timer_name, CLAUSE_MESSAGES)


def _register() -> None:
    register_timings(Iso2Timings(), PIXIT_TIMERS, REGISTRY_PREFIX)


_register()
