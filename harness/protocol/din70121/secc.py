"""The SECC side of a DIN SPEC 70121 (or, with its profile, ISO 15118-2) DC session, sans-I/O.

`SeccMachine.handle(event, now)` takes a decoded request (or a timer expiry, connection event) and returns
actions: the response to send, timers to (re)arm, and - when the session ends - Close and StopSession. It
is a kernel core (:class:`~harness.protocol.core.TimedCore`): one timer table, stale expiries ignored.
The power stage is any :class:`~harness.protocol.din70121.models.DcChargerModel` (the reference one is
:class:`harness.devices.models.dc_charger.DcCharger`), which the machine advances to the timestamp of
every request before it reads the present values, so a simulated clock gives deterministic physics.

Checks a tester makes on the EVCC (session id, sequence) come out as :class:`Note` actions.

The machine speaks canonical (DIN SPEC 70121) message names; its profile
(:mod:`harness.protocol.din70121.profile`) renames and reshapes what the protocol negotiated in
supportedAppProtocol has otherwise.  Given several profiles, it offers each and takes the EVCC's
preferred one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.protocol.core import (
    Close,
    LinkDown,
    LinkUp,
    MessageReceived,
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
    send,
)
from harness.protocol.din70121.messages import (
    CHARGE_SERVICE_ID,
    SESSION_ID_BYTES,
    DCEVSEStatusCode,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    Message,
    PaymentOption,
    ResponseCode,
    body,
    dc_evse_status,
    is_zero_session,
    message_name,
    normalise_hex,
    physical,
    session_id,
    supported_app_protocol_res,
    to_float,
    v2g_message,
)
from harness.protocol.din70121.models import DcChargerModel
from harness.protocol.din70121.profile import DcProfile, DinProfile, PowerDeliveryKind, ResponseContext
from harness.protocol.din70121.timing import SEQUENCE_TIMER, DinTimings
from harness.protocol.iso15118_2 import bpt

# DIN SPEC 70121 8.4.3.3.2 / ISO 15118-2 EnergyTransferModeType: the values that mean DC charging.
DC_ENERGY_TRANSFER_TYPES = frozenset({"DC_core", "DC_extended", "DC_combo_core", "DC_unique"})


class SeccState(StrEnum):
    """What the SECC waits for; each state allows the requests listed in ``ALLOWED_REQUESTS``."""

    WAIT_CONNECTION = "WAIT_CONNECTION"
    WAIT_APP_PROTOCOL = "WAIT_APP_PROTOCOL"
    WAIT_SESSION_SETUP = "WAIT_SESSION_SETUP"
    SESSION_SET_UP = "SESSION_SET_UP"
    SERVICES_DISCOVERED = "SERVICES_DISCOVERED"
    PAYMENT_SELECTED = "PAYMENT_SELECTED"
    AUTHORIZED = "AUTHORIZED"
    CHARGE_PARAMETERS_ONGOING = "CHARGE_PARAMETERS_ONGOING"
    CHARGE_PARAMETERS_DONE = "CHARGE_PARAMETERS_DONE"
    CABLE_CHECK_ONGOING = "CABLE_CHECK_ONGOING"
    CABLE_CHECK_DONE = "CABLE_CHECK_DONE"
    CABLE_CHECK_FAILED = "CABLE_CHECK_FAILED"
    PRECHARGING = "PRECHARGING"
    ENERGY_TRANSFER = "ENERGY_TRANSFER"
    POWER_OFF = "POWER_OFF"
    DONE = "DONE"


# DIN SPEC 70121 8.4 message sequence (the typical DC session of REFERENCE.md section 5): the requests the
# SECC accepts in each state. SessionStopReq is accepted whenever no energy is flowing once the charge
# parameters are known; anything else is FAILED_SequenceError.
ALLOWED_REQUESTS: dict[SeccState, frozenset[str]] = {
    SeccState.WAIT_APP_PROTOCOL: frozenset({"supportedAppProtocolReq"}),
    SeccState.WAIT_SESSION_SETUP: frozenset({"SessionSetupReq"}),
    SeccState.SESSION_SET_UP: frozenset({"ServiceDiscoveryReq"}),
    # ServiceDetailReq: ISO 15118-2 only (the DIN SPEC 70121 profile has no such request).
    SeccState.SERVICES_DISCOVERED: frozenset({"ServiceDetailReq", "ServicePaymentSelectionReq"}),
    SeccState.PAYMENT_SELECTED: frozenset({"ContractAuthenticationReq"}),
    SeccState.AUTHORIZED: frozenset({"ContractAuthenticationReq", "ChargeParameterDiscoveryReq"}),
    SeccState.CHARGE_PARAMETERS_ONGOING: frozenset({"ChargeParameterDiscoveryReq"}),
    SeccState.CHARGE_PARAMETERS_DONE: frozenset({"CableCheckReq", "SessionStopReq"}),
    SeccState.CABLE_CHECK_ONGOING: frozenset({"CableCheckReq", "SessionStopReq"}),
    SeccState.CABLE_CHECK_DONE: frozenset({"PreChargeReq", "SessionStopReq"}),
    SeccState.CABLE_CHECK_FAILED: frozenset({"SessionStopReq"}),
    SeccState.PRECHARGING: frozenset({"PreChargeReq", "PowerDeliveryReq", "SessionStopReq"}),
    SeccState.ENERGY_TRANSFER: frozenset({"CurrentDemandReq", "PowerDeliveryReq"}),
    SeccState.POWER_OFF: frozenset({"WeldingDetectionReq", "SessionStopReq"}),
}


@dataclass(frozen=True, slots=True)
class SeccConfig:
    """What the reference SECC offers and how it behaves (the SECC's PICS/PIXIT)."""

    # The EVSEID; None: the protocol's "no id" (DIN SPEC 70121: hexBinary 00).
    evse_id: str | None = None
    payment_options: tuple[str, ...] = (PaymentOption.ExternalPayment,)
    energy_transfer_type: str = "DC_extended"
    free_service: bool = False
    # The id the SECC gives a new session (upper-case hex, 8 bytes); None draws a random one.
    session_id: str | None = None
    # The id of an earlier session the SECC still remembers: a SessionSetupReq carrying it is resumed
    # (OK_OldSessionJoined).
    previous_session_id: str | None = None
    # How many times ContractAuthenticationRes / ChargeParameterDiscoveryRes say Ongoing before Finished.
    authorization_ongoing_rounds: int = 0
    charge_parameter_ongoing_rounds: int = 0
    energy_to_be_delivered_wh: float = 20_000.0
    # SAE J2847/2 BPT (ISO 15118-2 only): the services offered (BptMode names), the home load a V2H
    # discharge serves and the discharge the grid asks for in V2G (the EVSE's negative limits), in watts.
    bpt_services: tuple[str, ...] = ()
    home_load_w: float = 7_400.0
    grid_discharge_w: float = 11_000.0


@dataclass
class SeccMachine(TimedCore):
    """One SECC session over one V2G TCP connection."""

    charger: DcChargerModel
    config: SeccConfig = field(default_factory=SeccConfig)
    timings: DinTimings = field(default_factory=DinTimings)
    # The protocols the SECC offers in supportedAppProtocol; none given: DIN SPEC 70121 with ``timings``.
    profiles: tuple[DcProfile, ...] = ()
    state: SeccState = SeccState.WAIT_CONNECTION
    session: str | None = None
    schema_id: int | None = None
    result: StopSession | None = None
    requests: list[str] = field(default_factory=list)
    # Set by StopRequested: the reason the EVSE wants charging to end.
    stop_requested: str | None = None
    # Set when the EVCC paused the session (ISO 15118-2 SessionStopReq Pause): it may resume it.
    paused: bool = False
    # The SAE J2847/2 service the EVCC selected (a BptMode), if any; V2H: the minimum SOC it gave.
    bpt: str | None = None
    v2h_min_soc: float | None = None
    # The V2G discharge the grid asks for now (bpt.GridDischargeDemand, W); None: config.grid_discharge_w.
    grid_discharge_w: float | None = None
    profile: DcProfile = field(init=False)
    timers: TimerTable = field(default_factory=TimerTable, init=False, repr=False)
    _authorization_rounds: int = field(default=0, init=False, repr=False)
    _charge_parameter_rounds: int = field(default=0, init=False, repr=False)
    _bpt_rounds: int = field(default=0, init=False, repr=False)
    _bpt_shutdown: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.profiles:
            self.profiles = (DinProfile(self.timings),)
        self.profile = self.profiles[0]
        self.timings = self.profile.timings

    # --- entry point ---

    def handle(self, event: Event | bpt.GridDischargeDemand, now: float) -> list[Action]:
        if self.state is SeccState.DONE:
            return []
        if isinstance(event, LinkUp):
            self.state = SeccState.WAIT_APP_PROTOCOL
            return [self._arm_sequence_timer(now)]
        if isinstance(event, MessageReceived):
            return self._on_request(event.message, now)
        if isinstance(event, MalformedReceived):
            return self._stop(
                StopResult.MALFORMED,
                f"request did not decode: {event.reason}",
                note=("decodable request", False),
            )
        if isinstance(event, TimerExpired):
            if self.timers.fire(event.name, now) and event.name == SEQUENCE_TIMER:
                return self._stop(
                    StopResult.TIMEOUT,
                    "no request within V2G_SECC_Sequence_Timeout "
                    f"({self.timings.secc_sequence_timeout_s:g} s, {self.timings.clause(SEQUENCE_TIMER)})",
                    note=("V2G_SECC_Sequence_Timeout", False),
                )
            return []
        if isinstance(event, LinkDown):
            return self._stop(StopResult.CONNECTION_LOST, event.reason, close=False)
        if isinstance(event, StopRequested):
            # The EVSE side wants to end charging (operator, grid, fault): DIN SPEC 70121 has it ask the EV
            # with EVSENotification=StopCharging; the EV answers with PowerDeliveryReq(stop).
            self.stop_requested = event.reason
            return []
        if isinstance(event, bpt.GridDischargeDemand):
            # The grid's V2G demand changed: the next CurrentDemandRes carries it (SAE J2847/2 V2G).
            self.grid_discharge_w = event.watts
            return []
        raise TypeError(f"unknown event {event!r}")

    # --- requests ---

    def _on_request(self, message: Message, now: float) -> list[Action]:
        try:
            wire = message_name(message)
        except ValueError as exc:
            return self._stop(StopResult.MALFORMED, str(exc), note=("decodable request", False))
        actions: list[Action] = [*self.timers.cancel(SEQUENCE_TIMER)]
        self.requests.append(wire)
        self.charger.advance_to(now)
        name = self.profile.canonical(wire)
        if name is None or name not in self.profile.request_to_response():
            return actions + self._stop(
                StopResult.SEQUENCE_ERROR,
                f"{wire} is not a {self.profile.name} request",
                note=("request type", False),
            )
        if name != "supportedAppProtocolReq" and name != "SessionSetupReq" and self.session is not None:
            received = session_id(message)
            if received != self.session:
                return actions + self._refuse(
                    name,
                    ResponseCode.FAILED_UnknownSession,
                    StopResult.UNKNOWN_SESSION,
                    f"{wire} carries SessionID {received}, the session is {self.session}",
                    check="SessionID",
                )
        allowed = ALLOWED_REQUESTS.get(self.state, frozenset())
        if name not in allowed:
            return actions + self._refuse(
                name,
                ResponseCode.FAILED_SequenceError,
                StopResult.SEQUENCE_ERROR,
                f"{wire} is out of sequence in state {self.state} (allowed: {self._wire_names(allowed)})",
                check="message sequence",
            )
        try:
            handler = getattr(self, f"_on_{name}")
            return actions + handler(body(message), message, now)
        except (KeyError, TypeError, ValueError) as exc:
            return actions + self._refuse(
                name,
                ResponseCode.FAILED,
                StopResult.MALFORMED,
                f"{wire} content error: {exc!r}",
                check="request content",
            )

    def _wire_names(self, canonical: frozenset[str]) -> list[str]:
        """The names of ``canonical`` requests in the negotiated protocol (those it has), sorted."""
        has = self.profile.request_to_response()
        return sorted(self.profile.wire(name) for name in canonical if name in has)

    def _on_supportedAppProtocolReq(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        negotiation = app_protocol.negotiate(content, [profile.protocol for profile in self.profiles])
        response = supported_app_protocol_res(negotiation.code, negotiation.schema_id)
        if not negotiation.ok:
            offered = " or ".join(profile.describe() for profile in self.profiles)
            return [send(response)] + self._stop(
                StopResult.NEGOTIATION_FAILED, f"the EVCC offered no protocol this SECC speaks ({offered})"
            )
        self.profile = next(p for p in self.profiles if p.protocol.namespace == negotiation.namespace)
        self.timings = self.profile.timings
        self.schema_id = negotiation.schema_id
        self.state = SeccState.WAIT_SESSION_SETUP
        return self._respond(response, now)

    def _on_SessionSetupReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        received = session_id(message)
        previous = self.config.previous_session_id
        if not is_zero_session(received) and previous is not None and received == normalise_hex(previous):
            # DIN SPEC 70121 8.4.3.2.3: the EVCC resumes a session the SECC remembers.
            self.session = normalise_hex(previous)
            code = ResponseCode.OK_OldSessionJoined
        else:
            self.session = self._new_session_id()
            code = ResponseCode.OK_NewSessionEstablished
        normalise_hex(str(content["EVCCID"]))
        self.state = SeccState.SESSION_SET_UP
        return self._respond(self._response("SessionSetupRes", code), now)

    def _on_ServiceDiscoveryReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        self.state = SeccState.SERVICES_DISCOVERED
        response = self._response("ServiceDiscoveryRes", ResponseCode.OK)
        if self._offered_bpt():
            body(response)["ServiceList"] = bpt.service_list(self._offered_bpt())
        return self._respond(response, now)

    def _offered_bpt(self) -> tuple[str, ...]:
        """The SAE J2847/2 services this session offers (none unless its protocol carries them)."""
        return self.config.bpt_services if self.profile.supports_bpt else ()

    def _on_ServiceDetailReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        # ISO 15118-2 8.4.3.4: details of a service the SECC offered; the reference SECC's services (the
        # charge service, the SAE J2847/2 ones it offers) have no parameter sets.
        service_id = int(content["ServiceID"])
        offered_bpt = {bpt.SERVICES[bpt.BptMode(mode)].service_id for mode in self._offered_bpt()}
        if service_id != CHARGE_SERVICE_ID and service_id not in offered_bpt:
            return self._refuse(
                "ServiceDetailReq",
                ResponseCode.FAILED_ServiceIDInvalid,
                StopResult.PARAMETER_ERROR,
                f"ServiceDetailReq for ServiceID {service_id}, which was not offered",
                check="service detail",
            )
        response = self._response("ServiceDetailRes", ResponseCode.OK)
        body(response)["ServiceID"] = service_id
        return self._respond(response, now)

    def _on_ServicePaymentSelectionReq(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        option = content.get("SelectedPaymentOption")
        services = content.get("SelectedServiceList", {}).get("SelectedService", [])
        if isinstance(services, dict):
            services = [services]
        if option not in self.config.payment_options:
            return self._refuse(
                "ServicePaymentSelectionReq",
                ResponseCode.FAILED_PaymentSelectionInvalid,
                StopResult.PARAMETER_ERROR,
                f"payment option {option} was not offered",
                check="payment selection",
            )
        if not any(service.get("ServiceID") == CHARGE_SERVICE_ID for service in services):
            return self._refuse(
                "ServicePaymentSelectionReq",
                ResponseCode.FAILED_ServiceSelectionInvalid,
                StopResult.PARAMETER_ERROR,
                f"selected services {services} do not include the charge service",
                check="service selection",
            )
        offered_bpt = {bpt.SERVICES[bpt.BptMode(mode)].service_id: mode for mode in self._offered_bpt()}
        for service_id in bpt.selected_service_ids(content):
            if service_id in bpt.BY_SERVICE_ID and service_id not in offered_bpt:
                return self._refuse(
                    "ServicePaymentSelectionReq",
                    bpt.NOT_OFFERED_CODE,
                    StopResult.PARAMETER_ERROR,
                    f"SAE J2847/2 service {service_id} was selected but not offered",
                    check="service selection",
                )
            if service_id in offered_bpt:
                self.bpt = offered_bpt[service_id]
        self.state = SeccState.PAYMENT_SELECTED
        return self._respond(self._response("ServicePaymentSelectionRes", ResponseCode.OK), now)

    def _on_ContractAuthenticationReq(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        self.state = SeccState.AUTHORIZED
        if self._authorization_rounds < self.config.authorization_ongoing_rounds:
            self._authorization_rounds += 1
            processing = EVSEProcessing.Ongoing
        else:
            processing = EVSEProcessing.Finished
        response = self._response("ContractAuthenticationRes", ResponseCode.OK)
        body(response)["EVSEProcessing"] = str(processing)
        if processing is EVSEProcessing.Ongoing:
            # Authorization not finished: only another ContractAuthenticationReq is in sequence.
            self.state = SeccState.PAYMENT_SELECTED
        return self._respond(response, now)

    def _on_ChargeParameterDiscoveryReq(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        requested = self.profile.requested_energy_transfer(content)
        if requested not in DC_ENERGY_TRANSFER_TYPES:
            return self._refuse(
                "ChargeParameterDiscoveryReq",
                ResponseCode.FAILED_WrongEnergyTransferType,
                StopResult.PARAMETER_ERROR,
                f"energy transfer type {requested} is not DC",
                check="energy transfer type",
            )
        ev = content["DC_EVChargeParameter"]
        ev_max_voltage = to_float(ev["EVMaximumVoltageLimit"])
        if ev_max_voltage < self.charger.params.min_voltage_v:
            return self._refuse(
                "ChargeParameterDiscoveryReq",
                ResponseCode.FAILED_WrongChargeParameter,
                StopResult.PARAMETER_ERROR,
                f"EV maximum voltage {ev_max_voltage:g} V is below the EVSE minimum",
                check="charge parameters",
            )
        if self.profile.supports_bpt and self.bpt is None and bpt.has_negative_limit(ev):
            return self._refuse(
                "ChargeParameterDiscoveryReq",
                bpt.NO_BPT_NEGATIVE_CODE,
                StopResult.PARAMETER_ERROR,
                "negative EV limits (a discharge) in a session that selected no SAE J2847/2 service",
                check="charge parameters",
            )
        if self.bpt == bpt.BptMode.V2H:
            return self._v2h_charge_parameters(ev, now)
        if self._charge_parameter_rounds < self.config.charge_parameter_ongoing_rounds:
            self._charge_parameter_rounds += 1
            processing = EVSEProcessing.Ongoing
            self.state = SeccState.CHARGE_PARAMETERS_ONGOING
        else:
            processing = EVSEProcessing.Finished
            self.state = SeccState.CHARGE_PARAMETERS_DONE
        response = self._response("ChargeParameterDiscoveryRes", ResponseCode.OK)
        body(response)["EVSEProcessing"] = str(processing)
        return self._respond(response, now)

    def _v2h_charge_parameters(self, ev: dict[str, Any], now: float) -> list[Action]:
        """SAE J2847/2 V2H: Ongoing first, then the EV's discharge limits (negative) and minimum SOC
        (BulkSOC), as open implementations realise it."""
        if self._bpt_rounds < bpt.V2H_ONGOING_ROUNDS:
            self._bpt_rounds += 1
            processing = EVSEProcessing.Ongoing
            self.state = SeccState.CHARGE_PARAMETERS_ONGOING
        elif not bpt.v2h_limits_ok(ev):
            return self._refuse(
                "ChargeParameterDiscoveryReq",
                bpt.V2H_WRONG_LIMITS_CODE,
                StopResult.PARAMETER_ERROR,
                "V2H ChargeParameterDiscoveryReq without BulkSOC and negative EVMaximumCurrentLimit and "
                "EVMaximumPowerLimit",
                check="V2H discharge limits",
            )
        else:
            self.v2h_min_soc = float(ev["BulkSOC"])
            processing = EVSEProcessing.Finished
            self.state = SeccState.CHARGE_PARAMETERS_DONE
        response = self._response("ChargeParameterDiscoveryRes", ResponseCode.OK)
        body(response)["EVSEProcessing"] = str(processing)
        return self._respond(response, now)

    def _on_CableCheckReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        if self.state is SeccState.CHARGE_PARAMETERS_DONE:
            self.charger.start_isolation_check()
        if self.charger.isolation_check_finished:
            processing = EVSEProcessing.Finished
            fault = self.charger.isolation_status == IsolationLevel.Fault
            self.state = SeccState.CABLE_CHECK_FAILED if fault else SeccState.CABLE_CHECK_DONE
        else:
            processing = EVSEProcessing.Ongoing
            self.state = SeccState.CABLE_CHECK_ONGOING
        response = self._response("CableCheckRes", ResponseCode.OK)
        body(response)["EVSEProcessing"] = str(processing)
        return self._respond(response, now)

    def _on_PreChargeReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        # Read the output first: the new setpoint acts from now on.
        response = self._response("PreChargeRes", ResponseCode.OK)
        self.charger.precharge(to_float(content["EVTargetVoltage"]), to_float(content["EVTargetCurrent"]))
        self.state = SeccState.PRECHARGING
        return self._respond(response, now)

    def _on_PowerDeliveryReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        kind = self.profile.power_delivery_kind(content)
        if kind is PowerDeliveryKind.RENEGOTIATE:
            return self._refuse(
                "PowerDeliveryReq",
                ResponseCode.FAILED,
                StopResult.PARAMETER_ERROR,
                "PowerDeliveryReq(ChargeProgress=Renegotiate): the reference SECC does not renegotiate",
                check="renegotiation",
            )
        ready = kind is PowerDeliveryKind.START
        if self.state is SeccState.PRECHARGING and not ready:
            # The EV gives up before energy transfer: open the output, session may stop.
            self.charger.stop()
            self.state = SeccState.POWER_OFF
        elif self.state is SeccState.PRECHARGING:
            # Contactors close at the precharged voltage; current follows CurrentDemandReq.
            self.charger.deliver(self.charger.target_voltage_v, 0.0)
            self.state = SeccState.ENERGY_TRANSFER
        elif ready:
            return self._refuse(
                "PowerDeliveryReq",
                ResponseCode.FAILED_SequenceError,
                StopResult.SEQUENCE_ERROR,
                "PowerDeliveryReq asks to start during energy transfer",
                check="message sequence",
            )
        else:
            self.charger.stop()
            self.state = SeccState.POWER_OFF
        return self._respond(self._response("PowerDeliveryRes", ResponseCode.OK), now)

    def _on_CurrentDemandReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        target_voltage = to_float(content["EVTargetVoltage"])
        target_current = to_float(content["EVTargetCurrent"])
        if self.profile.supports_bpt and self.bpt is None and target_current < 0:
            return self._refuse(
                "CurrentDemandReq",
                bpt.NO_BPT_NEGATIVE_CODE,
                StopResult.PARAMETER_ERROR,
                f"EVTargetCurrent {target_current:g} A (a discharge) in a session that selected no SAE "
                "J2847/2 service",
                check="no discharge without BPT",
            )
        if self.bpt is not None:
            target_current = self._bpt_target(content, target_current)
        response = self._response("CurrentDemandRes", ResponseCode.OK)
        self.charger.deliver(target_voltage, target_current)
        return self._respond(response, now)

    def _bpt_target(self, content: dict[str, Any], target_current: float) -> float:
        """The current a BPT session delivers: V2H stops at the EV's minimum SOC; while the EVSE asks for
        discharge it neither charges nor sinks more than its demand."""
        soc = float(content["DC_EVStatus"]["EVRESSSOC"])
        if self.bpt == bpt.BptMode.V2H and self.v2h_min_soc is not None and soc < self.v2h_min_soc:
            self._bpt_shutdown = True
        if self._bpt_shutdown:
            return 0.0
        limit_a, _ = self._discharge_demand()
        if limit_a <= 0:
            return target_current
        return min(0.0, max(target_current, -limit_a))

    def _discharge_demand(self) -> tuple[float, float]:
        """(current, power) the EVSE asks the EV to discharge now, magnitudes: V2H the home load, V2G the
        grid's request, within the power stage's discharge rating; (0, 0) when it asks for none."""
        params = self.charger.params
        grid_w = self.config.grid_discharge_w if self.grid_discharge_w is None else self.grid_discharge_w
        demand_w = {bpt.BptMode.V2H: self.config.home_load_w, bpt.BptMode.V2G: grid_w}
        wanted = demand_w[bpt.BptMode(self.bpt)] if self.bpt else 0.0
        power = min(wanted, params.max_discharge_power_w)
        if power <= 0 or params.max_discharge_current_a <= 0:
            return 0.0, 0.0
        voltage = max(self.charger.present_voltage_v, self.charger.target_voltage_v, 1.0)
        return min(params.max_discharge_current_a, power / voltage), power

    def _on_WeldingDetectionReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        return self._respond(self._response("WeldingDetectionRes", ResponseCode.OK), now)

    def _on_SessionStopReq(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        self.charger.stop()
        actions: list[Action] = [send(self._response("SessionStopRes", ResponseCode.OK))]
        self.paused = self.profile.pauses(content)
        reason = (
            "SessionStopReq(Pause) answered: the session may be resumed"
            if self.paused
            else "SessionStopReq answered"
        )
        # DIN SPEC 70121 8.4.3.13: the EVCC closes the TCP connection after SessionStopRes; the SECC waits.
        return actions + self._stop(StopResult.COMPLETED, reason, close=False)

    # --- responses ---

    def evse_status(self) -> dict[str, Any]:
        """DC_EVSEStatus from the charger: isolation result and readiness."""
        isolation = IsolationLevel(str(self.charger.isolation_status))
        code = DCEVSEStatusCode.EVSE_Ready
        if self.state is SeccState.CABLE_CHECK_ONGOING:
            code = DCEVSEStatusCode.EVSE_IsolationMonitoringActive
        if self._bpt_shutdown and self.state is SeccState.ENERGY_TRANSFER:
            code = DCEVSEStatusCode.EVSE_Shutdown  # SAE J2847/2 V2H: the EV reached its minimum SOC
        if isolation is IsolationLevel.Fault:
            code = DCEVSEStatusCode.EVSE_EmergencyShutdown
        notification = EVSENotification.None_
        if self.stop_requested is not None and self.state is SeccState.ENERGY_TRANSFER:
            notification = EVSENotification.StopCharging
        return dc_evse_status(isolation=isolation, status_code=code, notification=notification)

    def _response(self, name: str, code: ResponseCode) -> Message:
        """A complete response of type ``name`` with the charger's present values and ``code``."""
        charger = self.charger
        params = charger.params
        content: dict[str, Any]
        if name == "SessionSetupRes":
            content = {"ResponseCode": str(code), "EVSEID": self.profile.evse_id(self.config.evse_id)}
        elif name == "ServiceDiscoveryRes":
            content = {
                "ResponseCode": str(code),
                "PaymentOptions": {"PaymentOption": [str(option) for option in self.config.payment_options]},
                "ChargeService": {
                    "ServiceTag": {"ServiceID": CHARGE_SERVICE_ID, "ServiceCategory": "EVCharging"},
                    "FreeService": self.config.free_service,
                    "EnergyTransferType": self.config.energy_transfer_type,
                },
            }
        elif name in ("ServicePaymentSelectionRes", "SessionStopRes"):
            content = {"ResponseCode": str(code)}
        elif name == "ServiceDetailRes":
            content = {"ResponseCode": str(code), "ServiceID": CHARGE_SERVICE_ID}
        elif name == "ContractAuthenticationRes":
            content = {"ResponseCode": str(code), "EVSEProcessing": str(EVSEProcessing.Finished)}
        elif name == "ChargeParameterDiscoveryRes":
            content = {
                "ResponseCode": str(code),
                "EVSEProcessing": str(EVSEProcessing.Finished),
                "DC_EVSEChargeParameter": {
                    "DC_EVSEStatus": self.evse_status(),
                    "EVSEMaximumCurrentLimit": physical(params.max_current_a, "A"),
                    "EVSEMaximumPowerLimit": physical(params.max_power_w, "W"),
                    "EVSEMaximumVoltageLimit": physical(params.max_voltage_v, "V"),
                    "EVSEMinimumCurrentLimit": physical(params.min_current_a, "A"),
                    "EVSEMinimumVoltageLimit": physical(params.min_voltage_v, "V"),
                    "EVSEPeakCurrentRipple": physical(1.0, "A"),
                    "EVSEEnergyToBeDelivered": physical(self.config.energy_to_be_delivered_wh, "Wh"),
                },
            }
        elif name == "CableCheckRes":
            content = {
                "ResponseCode": str(code),
                "DC_EVSEStatus": self.evse_status(),
                "EVSEProcessing": str(EVSEProcessing.Finished),
            }
        elif name == "PreChargeRes":
            content = {
                "ResponseCode": str(code),
                "DC_EVSEStatus": self.evse_status(),
                "EVSEPresentVoltage": physical(charger.present_voltage_v, "V"),
            }
        elif name == "PowerDeliveryRes":
            content = {"ResponseCode": str(code), "DC_EVSEStatus": self.evse_status()}
        elif name == "CurrentDemandRes":
            discharge_a, discharge_w = self._discharge_demand() if not self._bpt_shutdown else (0.0, 0.0)
            content = {
                "ResponseCode": str(code),
                "DC_EVSEStatus": self.evse_status(),
                "EVSEPresentVoltage": physical(charger.present_voltage_v, "V"),
                "EVSEPresentCurrent": physical(charger.present_current_a, "A"),
                "EVSECurrentLimitAchieved": charger.current_limit_achieved,
                "EVSEVoltageLimitAchieved": charger.voltage_limit_achieved,
                "EVSEPowerLimitAchieved": charger.power_limit_achieved,
                "EVSEMaximumVoltageLimit": physical(params.max_voltage_v, "V"),
                "EVSEMaximumCurrentLimit": physical(params.max_current_a, "A"),
                "EVSEMaximumPowerLimit": physical(params.max_power_w, "W"),
            }
            if discharge_a > 0:
                # SAE J2847/2: the EVSE's discharge limits as negative maximum limits.
                content["EVSEMaximumCurrentLimit"] = physical(-discharge_a, "A")
                content["EVSEMaximumPowerLimit"] = physical(-discharge_w, "W")
        elif name == "WeldingDetectionRes":
            content = {
                "ResponseCode": str(code),
                "DC_EVSEStatus": self.evse_status(),
                "EVSEPresentVoltage": physical(charger.present_voltage_v, "V"),
            }
        else:
            raise ValueError(f"no DIN SPEC 70121 response called {name}")
        content["ResponseCode"] = self.profile.wire(str(code))
        context = ResponseContext(self.profile.evse_id(self.config.evse_id), params.max_power_w)
        return v2g_message(
            self.session or "00", self.profile.wire(name), self.profile.adapt_response(name, content, context)
        )

    def _respond(self, response: Message, now: float) -> list[Action]:
        return [send(response), self._arm_sequence_timer(now)]

    def _arm_sequence_timer(self, now: float) -> StartTimer:
        # DIN SPEC 70121 Table 75: V2G_SECC_Sequence_Timeout runs from the response to the next request.
        return self.timers.start(SEQUENCE_TIMER, now + self.timings.secc_sequence_timeout_s)

    def _refuse(
        self, request: str, code: ResponseCode, result: StopResult, reason: str, *, check: str
    ) -> list[Action]:
        """Answer ``request`` with a FAILED code, then end the session (DIN SPEC 70121 8.8: after a FAILED
        response the SECC stops the session)."""
        response_name = self.profile.request_to_response()[request]
        if response_name == "supportedAppProtocolRes":
            response = supported_app_protocol_res("Failed_NoNegotiation", None)
        else:
            response = self._response(response_name, code)
        return [send(response)] + self._stop(result, reason, note=(check, False))

    def _stop(
        self, result: StopResult, reason: str, *, note: tuple[str, bool] | None = None, close: bool = True
    ) -> list[Action]:
        self.state = SeccState.DONE
        self.result = StopSession(result, reason)
        actions: list[Action] = []
        if note is not None:
            actions.append(Note(note[0], note[1], reason))
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
