"""The SECC side of an ISO 15118-20 DC / DC_BPT session (EIM; scheduled or dynamic control), sans-I/O.

``SeccMachine.handle(event, now)`` takes a decoded request (a dict in the codec's -20 shape), a timer
expiry or a connection event and returns kernel actions: the response to send, the sequence timer to
(re)arm and, when the session ends, Close and :class:`StopSession`.  It is a kernel core
(:class:`~harness.protocol.core.TimedCore`); the power stage is any
:class:`~harness.protocol.din70121.models.DcChargerModel` (the reference one is bidirectional), which
the machine advances to the timestamp of every request before reading its present values.

The SECC answers supportedAppProtocolReq itself when that is the first message (it speaks -20 DC only),
or is constructed ``negotiated=True`` when a front that negotiated between DIN SPEC 70121, ISO 15118-2 and
-20 hands the connection over: it then expects SessionSetupReq first.

Response codes come from one table, :data:`ALLOWED_REQUESTS`: a request the state does not allow is
FAILED_SequenceError, a wrong SessionID FAILED_UnknownSession, and either ends the session (ISO 15118-20
requires the SECC to stop after a FAILED response; the EVCC closes).  Checks a tester makes on the EVCC
come out as :class:`Note` actions.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.protocol.core import (
    Close,
    LinkDown,
    LinkUp,
    MessageReceived,
    Send,
    StartTimer,
    TimedCore,
    TimerExpired,
    TimerTable,
)
from harness.protocol.din70121 import app_protocol
from harness.protocol.din70121.events import (
    Action,
    Event,
    MalformedReceived,
    Note,
    StopRequested,
    StopResult,
    StopSession,
)
from harness.protocol.din70121.messages import supported_app_protocol_res
from harness.protocol.din70121.models import DcChargerModel
from harness.protocol.iso15118_20 import bpt
from harness.protocol.iso15118_20.messages import (
    MAX_SCHEDULE_TUPLES,
    REQUEST_TO_RESPONSE,
    SESSION_ID_BYTES,
    ChannelSelection,
    ChargeProgress,
    ChargingSession,
    EVSENotification,
    Message,
    Processing,
    ResponseCode,
    ServiceID,
    body,
    evse_status,
    is_zero_session,
    message,
    message_name,
    normalise_hex,
    optional_float,
    power_schedule,
    price_level_schedule,
    rational,
    session_id,
    to_float,
)
from harness.protocol.iso15118_20.protocol import DC_PROTOCOL, DEFAULT_TIME_ANCHOR_S, timestamp
from harness.protocol.iso15118_20.services import DEFAULT_PARAMETER_SETS, ControlMode, ParameterSet, Pricing
from harness.protocol.iso15118_20.timing import SEQUENCE_TIMER, Iso20Timings

# DcChargerModel.isolation_status names (DIN SPEC 70121 isolationLevelType) that fail the cable check.
ISOLATION_FAULT = "Fault"


class SeccState(StrEnum):
    """What the SECC waits for; each state allows the requests listed in ``ALLOWED_REQUESTS``."""

    WAIT_CONNECTION = "WAIT_CONNECTION"
    WAIT_APP_PROTOCOL = "WAIT_APP_PROTOCOL"
    WAIT_SESSION_SETUP = "WAIT_SESSION_SETUP"
    SESSION_SET_UP = "SESSION_SET_UP"
    AUTHORIZATION_SETUP_DONE = "AUTHORIZATION_SETUP_DONE"
    AUTHORIZED = "AUTHORIZED"
    SERVICES_DISCOVERED = "SERVICES_DISCOVERED"
    SERVICE_SELECTED = "SERVICE_SELECTED"
    CHARGE_PARAMETERS_DONE = "CHARGE_PARAMETERS_DONE"
    SCHEDULE_ONGOING = "SCHEDULE_ONGOING"
    SCHEDULE_DONE = "SCHEDULE_DONE"
    CABLE_CHECK_ONGOING = "CABLE_CHECK_ONGOING"
    CABLE_CHECK_DONE = "CABLE_CHECK_DONE"
    PRECHARGING = "PRECHARGING"
    ENERGY_TRANSFER = "ENERGY_TRANSFER"
    POWER_OFF = "POWER_OFF"
    DONE = "DONE"


_STOP = "SessionStopReq"
# ISO 15118-20 8.8 message sequence of a DC session with EIM and scheduled control: the requests the
# SECC accepts in each state.  SessionStopReq is accepted once the session is set up whenever no energy
# flows (a harness choice; the EV ends energy transfer with PowerDeliveryReq(Stop) first).  Anything
# else is FAILED_SequenceError.
ALLOWED_REQUESTS: dict[SeccState, frozenset[str]] = {
    SeccState.WAIT_APP_PROTOCOL: frozenset({"supportedAppProtocolReq"}),
    SeccState.WAIT_SESSION_SETUP: frozenset({"SessionSetupReq"}),
    SeccState.SESSION_SET_UP: frozenset({"AuthorizationSetupReq", _STOP}),
    # AuthorizationReq repeats while EVSEProcessing is Ongoing.
    SeccState.AUTHORIZATION_SETUP_DONE: frozenset({"AuthorizationReq", _STOP}),
    SeccState.AUTHORIZED: frozenset({"ServiceDiscoveryReq", _STOP}),
    SeccState.SERVICES_DISCOVERED: frozenset({"ServiceDetailReq", "ServiceSelectionReq", _STOP}),
    SeccState.SERVICE_SELECTED: frozenset({"DC_ChargeParameterDiscoveryReq", _STOP}),
    SeccState.CHARGE_PARAMETERS_DONE: frozenset({"ScheduleExchangeReq", _STOP}),
    SeccState.SCHEDULE_ONGOING: frozenset({"ScheduleExchangeReq", _STOP}),
    SeccState.SCHEDULE_DONE: frozenset({"DC_CableCheckReq", _STOP}),
    SeccState.CABLE_CHECK_ONGOING: frozenset({"DC_CableCheckReq", _STOP}),
    SeccState.CABLE_CHECK_DONE: frozenset({"DC_PreChargeReq", _STOP}),
    SeccState.PRECHARGING: frozenset({"DC_PreChargeReq", "PowerDeliveryReq", _STOP}),
    SeccState.ENERGY_TRANSFER: frozenset({"DC_ChargeLoopReq", "PowerDeliveryReq"}),
    SeccState.POWER_OFF: frozenset({"DC_WeldingDetectionReq", _STOP}),
}
# ScheduleExchange control mode elements by "dynamic control".
SE_REQ = {False: "Scheduled_SEReqControlMode", True: "Dynamic_SEReqControlMode"}
SE_RES = {False: "Scheduled_SEResControlMode", True: "Dynamic_SEResControlMode"}


def _default_parameter_sets() -> dict[int, tuple[ParameterSet, ...]]:
    return dict(DEFAULT_PARAMETER_SETS)


@dataclass(frozen=True, slots=True)
class SeccConfig:
    """What the reference -20 SECC offers and how it behaves (its PICS/PIXIT)."""

    # identifierType (a string of up to 255 characters).
    evse_id: str = "ZZ00000"
    # The energy transfer services offered in ServiceDiscoveryRes (ServiceID.DC = 2, DC_BPT = 6).
    services: tuple[int, ...] = (ServiceID.DC,)
    # The parameter sets of each service, given in ServiceDetailRes.
    parameter_sets: Mapping[int, tuple[ParameterSet, ...]] = field(default_factory=_default_parameter_sets)
    # The id a new session gets (hex, 8 bytes); None draws a random one.
    session_id: str | None = None
    # A paused session the SECC remembers: SessionSetupReq carrying it is OK_OldSessionJoined.
    previous_session_id: str | None = None
    # How many times AuthorizationRes / ScheduleExchangeRes say Ongoing before Finished.
    authorization_ongoing_rounds: int = 0
    schedule_ongoing_rounds: int = 0
    # How many schedule tuples ScheduleExchangeRes offers (1..3), each with a discharging schedule in a
    # DC_BPT session.
    schedule_tuples: int = 1
    # The discharge the EVSE takes in a DC_BPT session (W, magnitude); None: its power stage's rating.
    discharge_power_w: float | None = None
    # Refuse a BPT charge loop that discharges without the EV's discharge limits (module bpt).
    require_discharge_limits: bool = True
    # Unix time at the core's ``now`` = 0, for header TimeStamps (the core reads no wall clock).
    time_anchor_s: float = DEFAULT_TIME_ANCHOR_S


@dataclass
class SeccMachine(TimedCore):
    """One -20 SECC session over one V2G connection."""

    charger: DcChargerModel
    config: SeccConfig = field(default_factory=SeccConfig)
    timings: Iso20Timings = field(default_factory=Iso20Timings)
    # True: supportedAppProtocol was negotiated by a front; SessionSetupReq comes first.
    negotiated: bool = False
    state: SeccState = SeccState.WAIT_CONNECTION
    session: str | None = None
    schema_id: int | None = None
    result: StopSession | None = None
    requests: list[str] = field(default_factory=list)
    stop_requested: str | None = None
    paused: bool = False
    # What the EVCC chose: the service, its parameter set, the schedule tuple, the BPT channel.
    service_id: int | None = None
    parameter_set: ParameterSet | None = None
    schedule_tuple_id: int | None = None
    channel: str = ChannelSelection.Charge
    evcc_id: str | None = None
    # Dynamic control: the EV's minimum SoC from ScheduleExchangeReq (discharge stops there).
    ev_minimum_soc: int | None = None
    timers: TimerTable = field(default_factory=TimerTable, init=False, repr=False)
    _authorization_rounds: int = field(default=0, init=False, repr=False)
    _schedule_rounds: int = field(default=0, init=False, repr=False)
    _offered_tuples: tuple[int, ...] = field(default=(), init=False, repr=False)

    # --- entry point ---

    def handle(self, event: Event, now: float) -> list[Action]:
        if self.state is SeccState.DONE:
            return []
        if isinstance(event, LinkUp):
            self.state = SeccState.WAIT_SESSION_SETUP if self.negotiated else SeccState.WAIT_APP_PROTOCOL
            return [self._arm_sequence_timer(now)]
        if isinstance(event, MessageReceived):
            return self._on_request(event.message, now)
        if isinstance(event, MalformedReceived):
            return self._stop(
                StopResult.MALFORMED, f"request did not decode: {event.reason}", check="decodable request"
            )
        if isinstance(event, TimerExpired):
            if self.timers.fire(event.name, now) and event.name == SEQUENCE_TIMER:
                return self._stop(
                    StopResult.TIMEOUT,
                    "no request within V2G_SECC_Sequence_Timeout "
                    f"({self.timings.secc_sequence_timeout_s:g} s, {self.timings.clause(SEQUENCE_TIMER)})",
                    check="V2G_SECC_Sequence_Timeout",
                )
            return []
        if isinstance(event, LinkDown):
            return self._stop(StopResult.CONNECTION_LOST, event.reason, close=False)
        if isinstance(event, StopRequested):
            # The EVSE wants the session to end: EVSENotification=Terminate in its next status.
            self.stop_requested = event.reason
            return []
        raise TypeError(f"unknown event {event!r}")

    # --- requests ---

    def _on_request(self, msg: Message, now: float) -> list[Action]:
        try:
            name = message_name(msg)
        except ValueError as exc:
            return self._stop(StopResult.MALFORMED, str(exc), check="decodable request")
        actions: list[Action] = [*self.timers.cancel(SEQUENCE_TIMER)]
        self.requests.append(name)
        self.charger.advance_to(now)
        if name not in REQUEST_TO_RESPONSE:
            return actions + self._stop(
                StopResult.SEQUENCE_ERROR, f"{name} is not an ISO 15118-20 DC request", check="request type"
            )
        if name not in ("supportedAppProtocolReq", "SessionSetupReq") and self.session is not None:
            received = session_id(msg)
            if received != self.session:
                return actions + self._refuse(
                    name,
                    ResponseCode.FAILED_UnknownSession,
                    StopResult.UNKNOWN_SESSION,
                    f"{name} carries SessionID {received}, the session is {self.session}",
                    check="SessionID",
                    now=now,
                )
        allowed = ALLOWED_REQUESTS.get(self.state, frozenset())
        if name not in allowed:
            return actions + self._refuse(
                name,
                ResponseCode.FAILED_SequenceError,
                StopResult.SEQUENCE_ERROR,
                f"{name} is out of sequence in state {self.state} (allowed: {', '.join(sorted(allowed))})",
                check="message sequence",
                now=now,
            )
        try:
            return actions + getattr(self, f"_on_{name}")(body(msg), now)
        except (KeyError, TypeError, ValueError) as exc:
            return actions + self._refuse(
                name,
                ResponseCode.FAILED,
                StopResult.MALFORMED,
                f"{name} content error: {exc!r}",
                check="request content",
                now=now,
            )

    def _on_supportedAppProtocolReq(self, content: dict[str, Any], now: float) -> list[Action]:
        negotiation = app_protocol.negotiate(content, [DC_PROTOCOL])
        response = supported_app_protocol_res(negotiation.code, negotiation.schema_id)
        if not negotiation.ok:
            return [Send(response, "supportedAppProtocolRes")] + self._stop(
                StopResult.NEGOTIATION_FAILED, f"the EVCC did not offer {DC_PROTOCOL.namespace}"
            )
        self.schema_id = negotiation.schema_id
        self.state = SeccState.WAIT_SESSION_SETUP
        return [Send(response, "supportedAppProtocolRes"), self._arm_sequence_timer(now)]

    def _on_SessionSetupReq(self, content: dict[str, Any], now: float) -> list[Action]:
        received = str(content["Header"]["SessionID"]).upper()
        previous = self.config.previous_session_id
        self.evcc_id = str(content["EVCCID"])
        if not is_zero_session(received) and previous is not None and received == normalise_hex(previous):
            # ISO 15118-20 8.3.3 (resuming a paused session): the SECC remembers the session.
            self.session = normalise_hex(previous)
            code = ResponseCode.OK_OldSessionJoined
        else:
            self.session = self._new_session_id()
            code = ResponseCode.OK_NewSessionEstablished
        self.state = SeccState.SESSION_SET_UP
        return self._respond("SessionSetupRes", code, {"EVSEID": self.config.evse_id}, now)

    def _on_AuthorizationSetupReq(self, content: dict[str, Any], now: float) -> list[Action]:
        self.state = SeccState.AUTHORIZATION_SETUP_DONE
        extra = {
            "AuthorizationServices": ["EIM"],
            "CertificateInstallationService": False,
            "EIM_ASResAuthorizationMode": {},
        }
        return self._respond("AuthorizationSetupRes", ResponseCode.OK, extra, now)

    def _on_AuthorizationReq(self, content: dict[str, Any], now: float) -> list[Action]:
        selected = content["SelectedAuthorizationService"]
        if selected != "EIM" or "EIM_AReqAuthorizationMode" not in content:
            # The reference SECC offers EIM only (AuthorizationSetupRes.AuthorizationServices).
            return self._refuse(
                "AuthorizationReq",
                ResponseCode.FAILED,
                StopResult.PARAMETER_ERROR,
                f"AuthorizationReq selects {selected}, only EIM was offered",
                check="authorization service",
                now=now,
            )
        if self._authorization_rounds < self.config.authorization_ongoing_rounds:
            self._authorization_rounds += 1
            processing = Processing.Ongoing
        else:
            processing = Processing.Finished
            self.state = SeccState.AUTHORIZED
        return self._respond("AuthorizationRes", ResponseCode.OK, {"EVSEProcessing": str(processing)}, now)

    def _on_ServiceDiscoveryReq(self, content: dict[str, Any], now: float) -> list[Action]:
        self.state = SeccState.SERVICES_DISCOVERED
        extra = {
            "ServiceRenegotiationSupported": False,
            "EnergyTransferServiceList": {
                "Service": [{"ServiceID": int(s), "FreeService": False} for s in self.config.services]
            },
        }
        return self._respond("ServiceDiscoveryRes", ResponseCode.OK, extra, now)

    def _on_ServiceDetailReq(self, content: dict[str, Any], now: float) -> list[Action]:
        service_id = int(content["ServiceID"])
        if service_id not in self.config.services:
            return self._refuse(
                "ServiceDetailReq",
                ResponseCode.FAILED_ServiceIDInvalid,
                StopResult.PARAMETER_ERROR,
                f"ServiceDetailReq for ServiceID {service_id}, which was not offered",
                check="service detail",
                now=now,
            )
        sets = self.config.parameter_sets[service_id]
        extra = {
            "ServiceID": service_id,
            "ServiceParameterList": {"ParameterSet": [s.to_dict() for s in sets]},
        }
        return self._respond("ServiceDetailRes", ResponseCode.OK, extra, now)

    def _on_ServiceSelectionReq(self, content: dict[str, Any], now: float) -> list[Action]:
        selected = content["SelectedEnergyTransferService"]
        service_id, set_id = int(selected["ServiceID"]), int(selected["ParameterSetID"])
        sets = {s.parameter_set_id: s for s in self.config.parameter_sets.get(service_id, ())}
        if service_id not in self.config.services or set_id not in sets:
            return self._refuse(
                "ServiceSelectionReq",
                ResponseCode.FAILED_ServiceSelectionInvalid,
                StopResult.PARAMETER_ERROR,
                f"ServiceSelectionReq selects service {service_id} parameter set {set_id}, "
                "which was not offered",
                check="service selection",
                now=now,
            )
        self.service_id, self.parameter_set = service_id, sets[set_id]
        self.state = SeccState.SERVICE_SELECTED
        return self._respond("ServiceSelectionRes", ResponseCode.OK, {}, now)

    @property
    def bidirectional(self) -> bool:
        return self.service_id == ServiceID.DC_BPT

    def _on_DC_ChargeParameterDiscoveryReq(self, content: dict[str, Any], now: float) -> list[Action]:
        expected = bpt.CPD_REQ_BPT if self.bidirectional else bpt.CPD_REQ_DC
        present = next((k for k in (bpt.CPD_REQ_BPT, bpt.CPD_REQ_DC) if k in content), None)
        if present != expected:
            return self._refuse(
                "DC_ChargeParameterDiscoveryReq",
                bpt.WRONG_PARAMETER_CODE,
                StopResult.PARAMETER_ERROR,
                f"DC_ChargeParameterDiscoveryReq carries {present}, the selected service {self.service_id} "
                f"needs {expected}",
                check="energy transfer mode",
                now=now,
            )
        ev = content[expected]
        params = self.charger.params
        if to_float(ev["EVMaximumVoltage"]) < params.min_voltage_v:
            return self._refuse(
                "DC_ChargeParameterDiscoveryReq",
                ResponseCode.FAILED_WrongChargeParameter,
                StopResult.PARAMETER_ERROR,
                f"EV maximum voltage {to_float(ev['EVMaximumVoltage']):g} V is below the EVSE minimum",
                check="charge parameters",
                now=now,
            )
        limits: dict[str, Any] = {
            "EVSEMaximumChargePower": rational(params.max_power_w),
            "EVSEMinimumChargePower": rational(0.0),
            "EVSEMaximumChargeCurrent": rational(params.max_current_a),
            "EVSEMinimumChargeCurrent": rational(params.min_current_a),
            "EVSEMaximumVoltage": rational(params.max_voltage_v),
            "EVSEMinimumVoltage": rational(params.min_voltage_v),
        }
        if self.bidirectional:
            limits |= bpt.evse_discharge_limits(
                self._discharge_power_w(), 0.0, params.max_discharge_current_a, 0.0
            )
        self.state = SeccState.CHARGE_PARAMETERS_DONE
        mode = bpt.CPD_RES_BPT if self.bidirectional else bpt.CPD_RES_DC
        return self._respond("DC_ChargeParameterDiscoveryRes", ResponseCode.OK, {mode: limits}, now)

    def _discharge_power_w(self) -> float:
        rating = self.charger.params.max_discharge_power_w
        wanted = self.config.discharge_power_w
        return rating if wanted is None else max(0.0, min(wanted, rating))

    @property
    def dynamic(self) -> bool:
        return self.parameter_set is not None and self.parameter_set.control_mode == ControlMode.Dynamic

    def _on_ScheduleExchangeReq(self, content: dict[str, Any], now: float) -> list[Action]:
        expected = SE_REQ[self.dynamic]
        if expected not in content:
            return self._refuse(
                "ScheduleExchangeReq",
                ResponseCode.FAILED,
                StopResult.PARAMETER_ERROR,
                f"ScheduleExchangeReq without {expected} (the selected parameter set has ControlMode "
                f"{self.parameter_set.control_mode if self.parameter_set else None})",
                check="control mode",
                now=now,
            )
        if self.dynamic:
            problems = bpt.dynamic_schedule_request_problems(content[expected])
            if problems:
                return self._refuse(
                    "ScheduleExchangeReq",
                    bpt.WRONG_PARAMETER_CODE,
                    StopResult.PARAMETER_ERROR,
                    "Dynamic_SEReqControlMode: " + "; ".join(problems),
                    check="dynamic schedule request",
                    now=now,
                )
            self.ev_minimum_soc = content[expected].get("MinimumSOC")
        processing = Processing.Finished
        self.state = SeccState.SCHEDULE_DONE
        if self._schedule_rounds < self.config.schedule_ongoing_rounds:
            self._schedule_rounds += 1
            processing = Processing.Ongoing
            self.state = SeccState.SCHEDULE_ONGOING
        if self.dynamic:
            mode: dict[str, Any] = {"DepartureTime": int(content[expected]["DepartureTime"])}
        else:
            mode = self._schedules(now)
        extra = {"EVSEProcessing": str(processing), SE_RES[self.dynamic]: mode}
        return self._respond("ScheduleExchangeRes", ResponseCode.OK, extra, now)

    def _schedules(self, now: float) -> dict[str, Any]:
        """Scheduled_SEResControlMode: the EVSE's rated power for a day, and in a BPT session a
        discharging schedule at its discharge power (negative: discharge).  Tuple i halves the power of
        tuple i-1, so the tuples differ."""
        count = max(1, min(MAX_SCHEDULE_TUPLES, self.config.schedule_tuples))
        anchor = timestamp(self.config.time_anchor_s, now)
        tuples = []
        priced = self.parameter_set is not None and self.parameter_set.pricing == Pricing.PriceLevels
        for i in range(count):
            entry: dict[str, Any] = {
                "ScheduleTupleID": i + 1,
                "ChargingSchedule": self._schedule(anchor, self.charger.params.max_power_w / 2**i, priced),
            }
            if self.bidirectional:
                entry["DischargingSchedule"] = self._schedule(
                    anchor, -self._discharge_power_w() / 2**i, priced
                )
            tuples.append(entry)
        self._offered_tuples = tuple(t["ScheduleTupleID"] for t in tuples)
        return {"ScheduleTuple": tuples}

    @staticmethod
    def _schedule(anchor: int, power_w: float, priced: bool) -> dict[str, Any]:
        """ChargingScheduleType (also a DischargingSchedule's): the power for the day and, when the parameter
        set promised price levels, one flat level."""
        schedule: dict[str, Any] = {"PowerSchedule": power_schedule(anchor, power_w)}
        if priced:
            schedule["PriceLevelSchedule"] = price_level_schedule(anchor)
        return schedule

    def _on_DC_CableCheckReq(self, content: dict[str, Any], now: float) -> list[Action]:
        if self.state is SeccState.SCHEDULE_DONE:
            self.charger.start_isolation_check()
        if not self.charger.isolation_check_finished:
            self.state = SeccState.CABLE_CHECK_ONGOING
            return self._respond("DC_CableCheckRes", ResponseCode.OK, {"EVSEProcessing": "Ongoing"}, now)
        if str(self.charger.isolation_status) == ISOLATION_FAULT:
            # Harness choice: -20's DC_CableCheckRes has no isolation status; a failed check is FAILED.
            return self._refuse(
                "DC_CableCheckReq",
                ResponseCode.FAILED,
                StopResult.ISOLATION_FAULT,
                "the cable check found an isolation fault",
                check="cable check",
                now=now,
            )
        self.state = SeccState.CABLE_CHECK_DONE
        return self._respond("DC_CableCheckRes", ResponseCode.OK, {"EVSEProcessing": "Finished"}, now)

    def _on_DC_PreChargeReq(self, content: dict[str, Any], now: float) -> list[Action]:
        extra = {"EVSEPresentVoltage": rational(self.charger.present_voltage_v)}
        # -20 DC_PreChargeReq has no target current; the stage limits its precharge current itself.
        self.charger.precharge(to_float(content["EVTargetVoltage"]), 0.0)
        self.state = SeccState.PRECHARGING
        return self._respond("DC_PreChargeRes", ResponseCode.OK, extra, now)

    def _on_PowerDeliveryReq(self, content: dict[str, Any], now: float) -> list[Action]:
        progress = ChargeProgress(content["ChargeProgress"])
        if progress is ChargeProgress.ScheduleRenegotiation:
            return self._refuse(
                "PowerDeliveryReq",
                ResponseCode.FAILED_ScheduleRenegotiation,
                StopResult.PARAMETER_ERROR,
                "PowerDeliveryReq(ScheduleRenegotiation): the reference SECC does not renegotiate",
                check="renegotiation",
                now=now,
            )
        if progress is ChargeProgress.Standby:
            return self._respond("PowerDeliveryRes", ResponseCode.WARNING_StandbyNotAllowed, {}, now)
        if progress is ChargeProgress.Stop:
            self.charger.stop()
            self.state = SeccState.POWER_OFF
            return self._respond("PowerDeliveryRes", ResponseCode.OK, {}, now)
        if self.state is not SeccState.PRECHARGING:
            return self._refuse(
                "PowerDeliveryReq",
                ResponseCode.FAILED_SequenceError,
                StopResult.SEQUENCE_ERROR,
                "PowerDeliveryReq(Start) during energy transfer",
                check="message sequence",
                now=now,
            )
        refusal = self._check_power_profile(content, now)
        if refusal:
            return refusal
        if content.get("EVProcessing") == Processing.Ongoing:
            # The EV is not ready yet (processingType Ongoing) and will ask again: answered, and energy
            # transfer waits for its PowerDeliveryReq(Start) with EVProcessing Finished.
            return self._respond("PowerDeliveryRes", ResponseCode.OK, {}, now)
        # Contactors close at the precharged voltage; current follows DC_ChargeLoopReq.
        self.charger.deliver(self.charger.target_voltage_v, 0.0)
        self.state = SeccState.ENERGY_TRANSFER
        return self._respond("PowerDeliveryRes", ResponseCode.OK, {}, now)

    def _check_power_profile(self, content: dict[str, Any], now: float) -> list[Action]:
        """PowerDeliveryReq(Start): the selected schedule tuple must be one offered, and a discharge
        channel only in a DC_BPT session."""
        profile = content.get("EVPowerProfile")
        if profile is not None and self.dynamic != ("Dynamic_EVPPTControlMode" in profile):
            return self._refuse(
                "PowerDeliveryReq",
                bpt.WRONG_PARAMETER_CODE,
                StopResult.PARAMETER_ERROR,
                "PowerDeliveryReq's EVPowerProfile is not in the session's control mode",
                check="control mode",
                now=now,
            )
        if profile is not None and not self.dynamic:
            chosen = profile.get("Scheduled_EVPPTControlMode", {}).get("SelectedScheduleTupleID")
            if chosen is None or int(chosen) not in self._offered_tuples:
                return self._refuse(
                    "PowerDeliveryReq",
                    ResponseCode.FAILED_ScheduleSelectionInvalid,
                    StopResult.PARAMETER_ERROR,
                    f"PowerDeliveryReq selects schedule tuple {chosen}, offered {list(self._offered_tuples)}",
                    check="schedule selection",
                    now=now,
                )
            self.schedule_tuple_id = int(chosen)
        channel = content.get("BPT_ChannelSelection", ChannelSelection.Charge)
        if channel == ChannelSelection.Discharge and not self.bidirectional:
            return self._refuse(
                "PowerDeliveryReq",
                bpt.WRONG_PARAMETER_CODE,
                StopResult.PARAMETER_ERROR,
                "PowerDeliveryReq selects the discharge channel in a session without DC_BPT",
                check="BPT channel",
                now=now,
            )
        self.channel = ChannelSelection(channel)
        return []

    def _on_DC_ChargeLoopReq(self, content: dict[str, Any], now: float) -> list[Action]:
        assert self.parameter_set is not None
        expected = bpt.CL_REQ[(self.parameter_set.control_mode, self.bidirectional)]
        present = bpt.control_mode_of(content)
        if present != expected:
            return self._loop_refusal(
                f"DC_ChargeLoopReq carries {present}, the session needs {expected}", "control mode", now
            )
        mode = content[expected]
        if self.dynamic:
            target_v, target_a = self._dynamic_target(content, mode)
            response = self._charge_loop_res(now)
            self.charger.deliver(target_v, target_a)
            return response
        target_v = to_float(mode["EVTargetVoltage"])
        target_a = to_float(mode["EVTargetCurrent"])
        if target_a < 0 and not self.bidirectional:
            return self._loop_refusal(
                f"EVTargetCurrent {target_a:g} A (a discharge) in a DC session",
                "no discharge without BPT",
                now,
            )
        if target_a < 0 and self.channel != ChannelSelection.Discharge:
            return self._loop_refusal(
                f"EVTargetCurrent {target_a:g} A on the Charge channel", "BPT channel", now
            )
        if self.bidirectional and target_a < 0:
            missing = bpt.missing_loop_discharge_limits(mode)
            if missing and self.config.require_discharge_limits:
                return self._loop_refusal(
                    f"a discharging BPT charge loop without {', '.join(missing)}", "discharge limits", now
                )
            target_a = self._discharge_target(content, mode, target_a)
        response = self._charge_loop_res(now)
        self.charger.deliver(target_v, target_a)
        return response

    def _dynamic_target(self, content: dict[str, Any], mode: dict[str, Any]) -> tuple[float, float]:
        """Dynamic control: the EVSE sets the current within the EV's limits (the EV's maximum current
        carries its BMS's request), at the EV's present voltage; discharging on the Discharge channel,
        down to the EV's minimum SoC."""
        voltage = to_float(content["EVPresentVoltage"])
        if self.channel == ChannelSelection.Discharge:
            return voltage, self._discharge_target(
                content, mode, -self.charger.params.max_discharge_current_a
            )
        params = self.charger.params
        current = min(to_float(mode["EVMaximumChargeCurrent"]), params.max_current_a)
        power = min(to_float(mode["EVMaximumChargePower"]), params.max_power_w)
        return voltage, max(0.0, min(current, power / max(voltage, 1.0)))

    def _loop_refusal(self, reason: str, check: str, now: float) -> list[Action]:
        return self._refuse(
            "DC_ChargeLoopReq",
            bpt.WRONG_PARAMETER_CODE,
            StopResult.PARAMETER_ERROR,
            reason,
            check=check,
            now=now,
        )

    def _discharge_target(self, content: dict[str, Any], mode: dict[str, Any], target_a: float) -> float:
        """The (negative) current the stage sinks: the EV's target within the EV's and the EVSE's
        discharge limits; nothing once the EV is at its minimum SoC (DisplayParameters)."""
        display = content.get("DisplayParameters", {})
        soc = display.get("PresentSOC")
        minimum = display.get("MinimumSOC", self.ev_minimum_soc)
        if soc is not None and minimum is not None and soc <= minimum:
            return 0.0
        limit = self.charger.params.max_discharge_current_a
        ev_limit = optional_float(mode, "EVMaximumDischargeCurrent")
        if ev_limit is not None:
            limit = min(limit, ev_limit)
        voltage = max(self.charger.present_voltage_v, 1.0)
        ev_power = optional_float(mode, "EVMaximumDischargePower")
        power = self._discharge_power_w() if ev_power is None else min(ev_power, self._discharge_power_w())
        limit = min(limit, power / voltage)
        return max(target_a, -limit)

    def _charge_loop_res(self, now: float) -> list[Action]:
        assert self.parameter_set is not None
        charger, params = self.charger, self.charger.params
        limits: dict[str, Any] = {
            "EVSEMaximumChargePower": rational(params.max_power_w),
            "EVSEMinimumChargePower": rational(0.0),
            "EVSEMaximumChargeCurrent": rational(params.max_current_a),
            "EVSEMaximumVoltage": rational(params.max_voltage_v),
        }
        if self.bidirectional:
            limits |= {
                "EVSEMaximumDischargePower": rational(self._discharge_power_w()),
                "EVSEMinimumDischargePower": rational(0.0),
                "EVSEMaximumDischargeCurrent": rational(params.max_discharge_current_a),
                "EVSEMinimumVoltage": rational(params.min_voltage_v),
            }
        extra: dict[str, Any] = {}
        if self.stop_requested is not None:
            extra["EVSEStatus"] = evse_status(EVSENotification.Terminate)
        extra |= {
            "EVSEPresentCurrent": rational(charger.present_current_a),
            "EVSEPresentVoltage": rational(charger.present_voltage_v),
            "EVSEPowerLimitAchieved": charger.power_limit_achieved,
            "EVSECurrentLimitAchieved": charger.current_limit_achieved,
            "EVSEVoltageLimitAchieved": charger.voltage_limit_achieved,
            bpt.CL_RES[(self.parameter_set.control_mode, self.bidirectional)]: limits,
        }
        return self._respond("DC_ChargeLoopRes", ResponseCode.OK, extra, now)

    def _on_DC_WeldingDetectionReq(self, content: dict[str, Any], now: float) -> list[Action]:
        extra = {"EVSEPresentVoltage": rational(self.charger.present_voltage_v)}
        return self._respond("DC_WeldingDetectionRes", ResponseCode.OK, extra, now)

    def _on_SessionStopReq(self, content: dict[str, Any], now: float) -> list[Action]:
        kind = ChargingSession(content["ChargingSession"])
        if kind is ChargingSession.ServiceRenegotiation:
            return self._refuse(
                "SessionStopReq",
                ResponseCode.FAILED_NoServiceRenegotiationSupported,
                StopResult.PARAMETER_ERROR,
                "SessionStopReq(ServiceRenegotiation): ServiceRenegotiationSupported was false",
                check="service renegotiation",
                now=now,
            )
        self.charger.stop()
        self.paused = kind is ChargingSession.Pause
        response = self._message("SessionStopRes", ResponseCode.OK, {}, now)
        reason = (
            "SessionStopReq(Pause) answered: the session may be resumed"
            if self.paused
            else "SessionStopReq(Terminate) answered"
        )
        # The EVCC closes the connection after SessionStopRes; the SECC waits for that.
        return [Send(response, "SessionStopRes")] + self._stop(StopResult.COMPLETED, reason, close=False)

    # --- responses ---

    def _message(self, name: str, code: ResponseCode, extra: Mapping[str, Any], now: float) -> Message:
        content = {"ResponseCode": str(code), **extra}
        return message(
            name, self.session or "00" * SESSION_ID_BYTES, timestamp(self.config.time_anchor_s, now), content
        )

    def _respond(self, name: str, code: ResponseCode, extra: Mapping[str, Any], now: float) -> list[Action]:
        return [Send(self._message(name, code, extra, now), name), self._arm_sequence_timer(now)]

    def _arm_sequence_timer(self, now: float) -> StartTimer:
        # V2G_SECC_Sequence_Timeout runs from the response to the next request.
        return self.timers.start(SEQUENCE_TIMER, now + self.timings.secc_sequence_timeout_s)

    def _refuse(
        self, request: str, code: ResponseCode, result: StopResult, reason: str, *, check: str, now: float
    ) -> list[Action]:
        """Answer ``request`` with a FAILED code (with the response's mandatory elements), then end the
        session."""
        name = REQUEST_TO_RESPONSE[request]
        if name == "supportedAppProtocolRes":
            return [Send(supported_app_protocol_res("Failed_NoNegotiation", None), name)] + self._stop(
                result, reason, check=check
            )
        response = self._message(name, code, self._failed_content(name), now)
        return [Send(response, name)] + self._stop(result, reason, check=check)

    def _failed_content(self, name: str) -> dict[str, Any]:
        """The mandatory elements of response ``name`` beside its ResponseCode, for a FAILED answer."""
        params = self.charger.params
        zero = rational(0.0)
        processing = {"EVSEProcessing": str(Processing.Finished)}
        present_voltage = {"EVSEPresentVoltage": rational(self.charger.present_voltage_v)}
        if name == "SessionSetupRes":
            return {"EVSEID": self.config.evse_id}
        if name == "AuthorizationSetupRes":
            return {
                "AuthorizationServices": ["EIM"],
                "CertificateInstallationService": False,
                "EIM_ASResAuthorizationMode": {},
            }
        if name in ("AuthorizationRes", "DC_CableCheckRes"):
            return processing
        if name == "ServiceDiscoveryRes":
            services = [{"ServiceID": int(s), "FreeService": False} for s in self.config.services]
            return {
                "ServiceRenegotiationSupported": False,
                "EnergyTransferServiceList": {"Service": services},
            }
        if name == "ServiceDetailRes":
            return {
                "ServiceID": int(ServiceID.DC),
                "ServiceParameterList": {"ParameterSet": [DEFAULT_PARAMETER_SETS[ServiceID.DC][0].to_dict()]},
            }
        if name == "DC_ChargeParameterDiscoveryRes":
            limits = {
                "EVSEMaximumChargePower": zero,
                "EVSEMinimumChargePower": zero,
                "EVSEMaximumChargeCurrent": zero,
                "EVSEMinimumChargeCurrent": zero,
                "EVSEMaximumVoltage": rational(params.max_voltage_v),
                "EVSEMinimumVoltage": rational(params.min_voltage_v),
            }
            return {bpt.CPD_RES_DC: limits}
        if name == "ScheduleExchangeRes":
            return processing | {
                "Scheduled_SEResControlMode": {
                    "ScheduleTuple": [
                        {"ScheduleTupleID": 1, "ChargingSchedule": {"PowerSchedule": power_schedule(0, 0.0)}}
                    ]
                }
            }
        if name in ("DC_PreChargeRes", "DC_WeldingDetectionRes"):
            return present_voltage
        if name == "DC_ChargeLoopRes":
            return {
                "EVSEPresentCurrent": rational(self.charger.present_current_a),
                **present_voltage,
                "EVSEPowerLimitAchieved": False,
                "EVSECurrentLimitAchieved": False,
                "EVSEVoltageLimitAchieved": False,
                "Scheduled_DC_CLResControlMode": {},
            }
        return {}

    def _stop(
        self, result: StopResult, reason: str, *, check: str | None = None, close: bool = True
    ) -> list[Action]:
        self.state = SeccState.DONE
        self.result = StopSession(result, reason)
        actions: list[Action] = []
        if check is not None:
            actions.append(Note(check, False, reason))
        actions += self.timers.cancel_all()
        if close:
            actions.append(Close(reason))
        actions.append(self.result)
        return actions

    def _new_session_id(self) -> str:
        if self.config.session_id is not None:
            return normalise_hex(self.config.session_id)
        while True:
            candidate = secrets.token_hex(SESSION_ID_BYTES).upper()
            if not is_zero_session(candidate):
                return candidate
