"""The EVCC side of a DIN SPEC 70121 (or, with its profile, ISO 15118-2) DC session, sans-I/O.

`EvccMachine.handle(event, now)` returns actions: the next request to send, the timers of DIN SPEC 70121
Tables 75/77 to arm or cancel, and, when the session ends, Close and StopSession. It is a kernel core
(:class:`~harness.protocol.core.TimedCore`): its timers live in one table, a stale expiry is ignored.
The battery (any :class:`~harness.protocol.din70121.models.EvBatteryModel`, e.g.
:mod:`harness.devices.models.battery`) supplies every request value; the current the EVSE reports in
CurrentDemandRes is what flows into it until the next report.

Checks a tester makes on the SECC (SessionID, sequence, response codes, the 25 ms CurrentDemand
performance time) come out as :class:`Note` actions.

The machine speaks canonical (DIN SPEC 70121) message names; its profiles
(:mod:`harness.protocol.din70121.profile`) are offered in supportedAppProtocol in order of preference,
and the one the SECC chooses renames and reshapes what its protocol has otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from harness.protocol.core import (
    Close,
    LinkDown,
    LinkUp,
    MessageReceived,
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
    SHUTDOWN_STATUS_CODES,
    ZERO_SESSION_ID,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    Message,
    PaymentOption,
    ResponseCode,
    body,
    dc_ev_status,
    is_zero_session,
    message_name,
    normalise_hex,
    physical,
    seconds,
    session_id,
    to_float,
    v2g_message,
)
from harness.protocol.din70121.models import EvBatteryModel
from harness.protocol.din70121.profile import DcProfile, DinProfile
from harness.protocol.din70121.timing import (
    CABLE_CHECK_TIMER,
    COMMUNICATION_SETUP_TIMER,
    MSG_TIMER,
    NEXT_REQUEST_TIMER,
    ONGOING_TIMER,
    PRE_CHARGE_TIMER,
    READY_TO_CHARGE_TIMER,
    DinTimings,
)
from harness.protocol.iso15118_2 import bpt

# The EVSE statuses that accept a session (DIN SPEC 70121 isolationLevelType): a warning still allows
# charging, a fault or no result does not.
ISOLATION_OK = frozenset({IsolationLevel.Valid, IsolationLevel.Warning})


class EvccState(StrEnum):
    IDLE = "IDLE"
    WAITING = "WAITING"  # a request is out, its response is awaited
    PAUSED = "PAUSED"  # between two requests of a repeated phase
    DONE = "DONE"


@dataclass(frozen=True, slots=True)
class EvccConfig:
    """The reference EV's choices (its PICS/PIXIT)."""

    # DIN SPEC 70121 8.4.3.2: EVCCID is the MAC address of the EV's PLC interface, as hexBinary.
    evcc_id: str = "020000000001"
    # A SessionID of an earlier session to resume; None starts a new one (SessionID 0).
    resume_session_id: str | None = None
    # SchemaID of the first protocol offered in supportedAppProtocol; the next ones count up from it.
    schema_id: int = 1
    # End the session with SessionStopReq(Pause) rather than Terminate, to resume it later (ISO 15118-2;
    # DIN SPEC 70121 has no pause).
    pause: bool = False
    energy_transfer_type: str = "DC_extended"
    # The EV closes its contactors once |EVSEPresentVoltage - target| is within this band (the EV decides
    # in DIN SPEC 70121 PreCharge; 20 V is common practice).
    precharge_tolerance_v: float = 20.0
    # Pauses between repeated requests: how often a typical EV polls in each phase.
    ongoing_interval_s: float = 0.25
    cable_check_interval_s: float = 0.25
    precharge_interval_s: float = 0.1
    current_demand_interval_s: float = 0.1
    welding_detection_interval_s: float = 0.1
    # The EV considers its contactors open (not welded) once the EVSE output is below this voltage
    # (IEC 61851-23: 60 V is the limit of touch-safe DC; the reference EV waits for less).
    welding_safe_voltage_v: float = 20.0
    max_welding_detection_requests: int = 20
    # SAE J2847/2 BPT (ISO 15118-2 only): the discharge services the EV uses if the SECC offers them
    # (BptMode names, preferred first); none: it only charges.
    bpt_modes: tuple[str, ...] = ()


@dataclass
class EvccMachine(TimedCore):
    """One EVCC session over one V2G TCP connection."""

    battery: EvBatteryModel
    config: EvccConfig = field(default_factory=EvccConfig)
    timings: DinTimings = field(default_factory=DinTimings)
    # The protocols offered, most preferred first; none given: DIN SPEC 70121 with ``timings``.
    profiles: tuple[DcProfile, ...] = ()
    state: EvccState = EvccState.IDLE
    session: str | None = None
    result: StopSession | None = None
    responses: list[str] = field(default_factory=list)
    evse_limits: dict[str, float] = field(default_factory=dict)
    profile: DcProfile = field(init=False)
    timers: TimerTable = field(default_factory=TimerTable, init=False, repr=False)
    _last_time: float | None = field(default=None, init=False, repr=False)
    _flowing_current_a: float = field(default=0.0, init=False, repr=False)
    _awaiting: str | None = field(default=None, init=False, repr=False)
    _sent_at: float = field(default=0.0, init=False, repr=False)
    _sent_request: str | None = field(default=None, init=False, repr=False)
    _next: Callable[[float], list[Action]] | None = field(default=None, init=False, repr=False)
    _energy_flowing: bool = field(default=False, init=False, repr=False)
    _stop_reason: tuple[StopResult, str] | None = field(default=None, init=False, repr=False)
    _precharge_target_v: float = field(default=0.0, init=False, repr=False)
    _welding_requests: int = field(default=0, init=False, repr=False)
    _cable_check_started: bool = field(default=False, init=False, repr=False)
    _precharge_started: bool = field(default=False, init=False, repr=False)
    _last_power_delivery_ready: bool = field(default=False, init=False, repr=False)
    _user_stop: bool = field(default=False, init=False, repr=False)
    _schedule_tuple_id: int | None = field(default=None, init=False, repr=False)
    # SAE J2847/2: the service selected, whether the EV discharges now, the EVSE's discharge limit (A).
    bpt: str | None = field(default=None, init=False)
    _discharging: bool = field(default=False, init=False, repr=False)
    _evse_discharge_limit_a: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.profiles:
            self.profiles = (DinProfile(self.timings),)
        self.profile = self.profiles[0]
        self.timings = self.profile.timings

    # --- entry point ---

    def handle(self, event: Event, now: float) -> list[Action]:
        if self.state is EvccState.DONE:
            return []
        self._advance_battery(now)
        if isinstance(event, LinkUp):
            return self._on_connection(now)
        if isinstance(event, MessageReceived):
            return self._on_response(event.message, now)
        if isinstance(event, TimerExpired):
            return self._on_timer(event.name, now)
        if isinstance(event, MalformedReceived):
            return self._stop(
                StopResult.MALFORMED,
                f"response did not decode: {event.reason}",
                note=("decodable response", False),
            )
        if isinstance(event, LinkDown):
            return self._stop(StopResult.CONNECTION_LOST, event.reason, close=False)
        if isinstance(event, StopRequested):
            # Acted on at the next response: before energy transfer with SessionStopReq, during it with
            # PowerDeliveryReq(ReadyToChargeState=false).
            if self._stop_reason is None:
                self._stop_reason = (StopResult.COMPLETED, event.reason)
                self._user_stop = True
            return []
        raise TypeError(f"unknown event {event!r}")

    def _on_connection(self, now: float) -> list[Action]:
        if self.state is not EvccState.IDLE:
            return []
        timeout = self.timings.evcc_communication_setup_timeout_s
        return [self.timers.start(COMMUNICATION_SETUP_TIMER, now + timeout)] + self._send(
            app_protocol.offer(self._offers()), now
        )

    def _offers(self) -> list[tuple[app_protocol.SupportedProtocol, int]]:
        """(protocol, SchemaID) of each profile, in the order of preference (Priority 1, 2, ...)."""
        return [(profile.protocol, self.config.schema_id + i) for i, profile in enumerate(self.profiles)]

    # --- timers ---

    def _on_timer(self, name: str, now: float) -> list[Action]:
        if not self.timers.fire(name, now):
            return []  # cancelled or re-armed since the driver looked
        if name == NEXT_REQUEST_TIMER:
            pending, self._next = self._next, None
            return pending(now) if pending is not None else []
        t = self.timings
        limits = {
            MSG_TIMER: (f"no {self._awaiting} within", t.msg_timeout_s(self._sent_request or "")),
            COMMUNICATION_SETUP_TIMER: ("session not set up within", t.evcc_communication_setup_timeout_s),
            READY_TO_CHARGE_TIMER: ("not ready to charge within", t.evcc_ready_to_charge_timeout_s),
            ONGOING_TIMER: ("EVSEProcessing still Ongoing after", t.ongoing_timeout_s),
            CABLE_CHECK_TIMER: ("cable check not finished within", t.evcc_cable_check_timeout_s),
            PRE_CHARGE_TIMER: (
                "EVSE did not reach the precharge voltage within",
                t.evcc_pre_charge_timeout_s,
            ),
        }
        if name not in limits:
            return []
        what, limit = limits[name]
        reason = f"{what} {name} ({limit:g} s, {t.clause(name)})"
        return self._stop(StopResult.TIMEOUT, reason, note=(name, False))

    # --- sending ---

    def _send(self, message: Message, now: float) -> list[Action]:
        name = message_name(message)
        self._awaiting = self.profile.response_to(name)
        self._sent_request = name
        self._sent_at = now
        self.state = EvccState.WAITING
        return [send(message), self.timers.start(MSG_TIMER, now + self.timings.msg_timeout_s(name))]

    def _request(self, name: str, content: dict[str, Any]) -> Message:
        """The request ``name`` (canonical) as the negotiated protocol has it."""
        return v2g_message(self.session or ZERO_SESSION_ID, self.profile.wire(name), content)

    def _later(self, interval_s: float, build: Callable[[float], list[Action]], now: float) -> list[Action]:
        """Send the next request of a repeated phase after the EV's polling pause."""
        self._awaiting = None
        self.state = EvccState.PAUSED
        self._next = build
        return [self.timers.start(NEXT_REQUEST_TIMER, now + interval_s)]

    # --- responses ---

    def _on_response(self, message: Message, now: float) -> list[Action]:
        try:
            name = message_name(message)
        except ValueError as exc:
            return self._stop(StopResult.MALFORMED, str(exc), note=("decodable response", False))
        self.responses.append(name)
        if self._awaiting is None or name != self._awaiting:
            return self._stop(
                StopResult.SEQUENCE_ERROR,
                f"received {name} while expecting {self._awaiting or 'no message'}",
                note=("message sequence", False),
            )
        actions: list[Action] = [*self.timers.cancel(MSG_TIMER)]
        elapsed = now - self._sent_at
        budget = self.timings.performance_time_s(self._sent_request or "")
        if budget is not None:
            actions.append(
                Note(
                    "V2G_SECC_Msg_Performance_Time",
                    elapsed <= budget,
                    f"{name} after {elapsed * 1000:.1f} ms "
                    f"(limit {budget * 1000:g} ms, {self.timings.clause('V2G_SECC_Msg_Performance_Time')})",
                )
            )
        self._awaiting = None
        if name != "supportedAppProtocolRes" and name != "SessionSetupRes":
            received = session_id(message)
            if received != self.session:
                return actions + self._stop(
                    StopResult.UNKNOWN_SESSION,
                    f"{name} carries SessionID {received}, the session is {self.session}",
                    note=("SessionID", False),
                )
        content = body(message)
        code = content.get("ResponseCode")
        if name != "supportedAppProtocolRes" and (code is None or str(code).startswith("FAILED")):
            # DIN SPEC 70121 8.8: after a FAILED response code the EVCC ends the session.
            return actions + self._stop(StopResult.FAILED_RESPONSE, f"{name} ResponseCode {code}")
        if self._user_stop and self._may_stop_without_energy(name, content):
            return actions + self._session_stop(*self._stop_reason_or_default(), now)
        try:
            return actions + getattr(self, f"_on_{self.profile.canonical(name)}")(content, message, now)
        except (KeyError, TypeError, ValueError) as exc:
            return actions + self._stop(
                StopResult.MALFORMED, f"{name} content error: {exc!r}", note=("response content", False)
            )

    def _on_supportedAppProtocolRes(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        offers = self._offers()
        chosen = app_protocol.accepted(content, [schema_id for _, schema_id in offers])
        if chosen is None:
            return self._stop(
                StopResult.NEGOTIATION_FAILED,
                f"supportedAppProtocolRes {content.get('ResponseCode')} SchemaID {content.get('SchemaID')}",
            )
        self.profile = self.profiles[[schema_id for _, schema_id in offers].index(chosen)]
        self.timings = self.profile.timings
        resume = self.config.resume_session_id
        header = normalise_hex(resume) if resume else ZERO_SESSION_ID
        return self._send(
            v2g_message(header, "SessionSetupReq", {"EVCCID": normalise_hex(self.config.evcc_id)}), now
        )

    def _on_SessionSetupRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        code = content["ResponseCode"]
        assigned = session_id(message)
        if code not in (ResponseCode.OK_NewSessionEstablished, ResponseCode.OK_OldSessionJoined):
            return self._stop(StopResult.FAILED_RESPONSE, f"SessionSetupRes ResponseCode {code}")
        if is_zero_session(assigned):
            return self._stop(
                StopResult.UNKNOWN_SESSION, "SessionSetupRes assigned SessionID 0", note=("SessionID", False)
            )
        actions: list[Action] = []
        resume = self.config.resume_session_id
        if code == ResponseCode.OK_OldSessionJoined and (resume is None or normalise_hex(resume) != assigned):
            actions.append(
                Note("SessionID", False, f"OK_OldSessionJoined with SessionID {assigned} never offered")
            )
        self.session = assigned
        actions += self.timers.cancel(COMMUNICATION_SETUP_TIMER)
        ready_to_charge = self.timings.evcc_ready_to_charge_timeout_s
        if ready_to_charge is not None:
            actions.append(self.timers.start(READY_TO_CHARGE_TIMER, now + ready_to_charge))
        return actions + self._send(self._request("ServiceDiscoveryReq", {}), now)

    def _on_ServiceDiscoveryRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        service = self.profile.charge_service(content)
        options = list(service.payment_options)
        if PaymentOption.ExternalPayment not in options:
            return self._stop(StopResult.PARAMETER_ERROR, f"EVSE offers no ExternalPayment ({options})")
        if self.config.energy_transfer_type not in service.energy_transfer_types:
            return self._stop(
                StopResult.PARAMETER_ERROR,
                f"EVSE energy transfer type {' '.join(service.energy_transfer_types)}, EV needs "
                f"{self.config.energy_transfer_type}",
            )
        service_id = service.service_id
        if service_id != CHARGE_SERVICE_ID:
            return self._stop(StopResult.PARAMETER_ERROR, f"charge service has ServiceID {service_id}")
        selected: list[dict[str, Any]] = [{"ServiceID": service_id}]
        if self.profile.supports_bpt:
            offered = bpt.offered_modes(content)
            self.bpt = next((mode for mode in self.config.bpt_modes if mode in offered), None)
            if self.bpt is not None:
                selected.append(bpt.selected_service(bpt.BptMode(self.bpt)))
                self._discharging = self.bpt == bpt.BptMode.V2H
        request = {
            "SelectedPaymentOption": str(PaymentOption.ExternalPayment),
            "SelectedServiceList": {"SelectedService": selected},
        }
        return self._send(self._request("ServicePaymentSelectionReq", request), now)

    def _on_ServicePaymentSelectionRes(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        return self._send(self._request("ContractAuthenticationReq", {}), now)

    def _on_ContractAuthenticationRes(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        if content["EVSEProcessing"] != EVSEProcessing.Finished:
            return self._ongoing(now) + self._later(
                self.config.ongoing_interval_s,
                lambda at: self._send(self._request("ContractAuthenticationReq", {}), at),
                now,
            )
        return self.timers.cancel(ONGOING_TIMER) + self._send(self._charge_parameter_discovery_req(), now)

    def _ongoing(self, now: float) -> list[Action]:
        """An EVSEProcessing=Ongoing answer: the first one starts the protocol's ongoing timer, if any."""
        limit = self.timings.ongoing_timeout_s
        if limit is None or self.timers.armed(ONGOING_TIMER):
            return []
        return [self.timers.start(ONGOING_TIMER, now + limit)]

    def _on_ChargeParameterDiscoveryRes(
        self, content: dict[str, Any], message: Message, now: float
    ) -> list[Action]:
        if content["EVSEProcessing"] != EVSEProcessing.Finished:
            return self._ongoing(now) + self._later(
                self.config.ongoing_interval_s,
                lambda at: self._send(self._charge_parameter_discovery_req(), at),
                now,
            )
        cancelled = self.timers.cancel(ONGOING_TIMER)
        self._schedule_tuple_id = self.profile.schedule_tuple_id(content)
        evse = content["DC_EVSEChargeParameter"]
        self.evse_limits = {
            "max_current_a": to_float(evse["EVSEMaximumCurrentLimit"]),
            "max_voltage_v": to_float(evse["EVSEMaximumVoltageLimit"]),
            "max_power_w": to_float(evse["EVSEMaximumPowerLimit"]),
            "min_voltage_v": to_float(evse["EVSEMinimumVoltageLimit"]),
        }
        if self.evse_limits["max_voltage_v"] < self.battery.open_circuit_voltage_v:
            return self._stop(
                StopResult.PARAMETER_ERROR,
                f"EVSE maximum voltage {self.evse_limits['max_voltage_v']:g} V is below the pack voltage "
                f"{self.battery.open_circuit_voltage_v:.0f} V",
            )
        return cancelled + self._cable_check(now)

    def _cable_check(self, now: float) -> list[Action]:
        actions: list[Action] = []
        if not self._cable_check_started:
            self._cable_check_started = True
            actions.append(
                self.timers.start(CABLE_CHECK_TIMER, now + self.timings.evcc_cable_check_timeout_s)
            )
        request = {"DC_EVStatus": self._ev_status()}
        return actions + self._send(self._request("CableCheckReq", request), now)

    def _on_CableCheckRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        status = content["DC_EVSEStatus"]
        isolation = status["EVSEIsolationStatus"]
        if isolation == IsolationLevel.Fault:
            return self._session_stop(
                StopResult.ISOLATION_FAULT, "CableCheckRes reports an isolation fault", now
            )
        if status["EVSEStatusCode"] in SHUTDOWN_STATUS_CODES:
            return self._session_stop(
                StopResult.EVSE_SHUTDOWN, f"CableCheckRes EVSEStatusCode {status['EVSEStatusCode']}", now
            )
        if content["EVSEProcessing"] == EVSEProcessing.Ongoing:
            return self._later(self.config.cable_check_interval_s, self._cable_check, now)
        if isolation not in ISOLATION_OK:
            return self._session_stop(
                StopResult.ISOLATION_FAULT, f"cable check finished with EVSEIsolationStatus {isolation}", now
            )
        return self.timers.cancel(CABLE_CHECK_TIMER) + self._pre_charge(now)

    def _pre_charge(self, now: float) -> list[Action]:
        actions: list[Action] = []
        if not self._precharge_started:
            self._precharge_started = True
            actions.append(self.timers.start(PRE_CHARGE_TIMER, now + self.timings.evcc_pre_charge_timeout_s))
        # Precharge to the pack's open-circuit voltage so the contactors close without inrush.
        self._precharge_target_v = self.battery.open_circuit_voltage_v
        request = {
            "DC_EVStatus": self._ev_status(),
            "EVTargetVoltage": physical(self._precharge_target_v, "V"),
            "EVTargetCurrent": physical(0.0, "A"),
        }
        return actions + self._send(self._request("PreChargeReq", request), now)

    def _on_PreChargeRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        status = content["DC_EVSEStatus"]
        if status["EVSEStatusCode"] in SHUTDOWN_STATUS_CODES:
            return self._session_stop(
                StopResult.EVSE_SHUTDOWN, f"PreChargeRes EVSEStatusCode {status['EVSEStatusCode']}", now
            )
        present = to_float(content["EVSEPresentVoltage"])
        if abs(present - self._precharge_target_v) > self.config.precharge_tolerance_v:
            return self._later(self.config.precharge_interval_s, self._pre_charge, now)
        actions: list[Action] = [
            *self.timers.cancel(PRE_CHARGE_TIMER),
            *self.timers.cancel(READY_TO_CHARGE_TIMER),
        ]
        return actions + self._send(self._power_delivery_req(ready=True), now)

    def _on_PowerDeliveryRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        if not self._last_power_delivery_ready:
            self._energy_flowing = False
            return self._after_power_off(now)
        self._energy_flowing = True
        status = content["DC_EVSEStatus"]
        if self._evse_wants_stop(status):
            return self._power_off(
                now, StopResult.EVSE_SHUTDOWN, self._evse_stop_reason("PowerDeliveryRes", status)
            )
        return self._send(self._current_demand_req(now), now)

    def _after_power_off(self, now: float) -> list[Action]:
        self._set_current(now, 0.0)
        return self._later(self.config.welding_detection_interval_s, self._welding_detection, now)

    def _on_CurrentDemandRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        self._set_current(now, to_float(content["EVSEPresentCurrent"]))
        status = content["DC_EVSEStatus"]
        if self._evse_wants_stop(status):
            return self._power_off(
                now, StopResult.EVSE_SHUTDOWN, self._evse_stop_reason("CurrentDemandRes", status)
            )
        if self._stop_reason is not None:
            return self._power_off(now, *self._stop_reason)
        if self.bpt is not None:
            self._follow_discharge_request(content)
        if self._discharging and not self.battery.discharge_allowed:
            return self._min_soc_reached(now)
        if not self._discharging and self.battery.charging_complete:
            return self._power_off(
                now, StopResult.COMPLETED, f"target SOC {self.battery.params.target_soc:g} % reached"
            )
        return self._later(self.config.current_demand_interval_s, self._next_current_demand, now)

    def _next_current_demand(self, now: float) -> list[Action]:
        # A discharge that reached the minimum SOC since the last response ends before another request.
        if self._discharging and not self.battery.discharge_allowed:
            return self._min_soc_reached(now)
        return self._send(self._current_demand_req(now), now)

    def _min_soc_reached(self, now: float) -> list[Action]:
        """SAE J2847/2: the EV stops discharging at its minimum SOC and ends energy transfer."""
        reason = f"minimum SOC {self.battery.params.min_soc:g} % reached"
        return self._power_off(now, StopResult.COMPLETED, reason)

    def _follow_discharge_request(self, content: dict[str, Any]) -> None:
        """SAE J2847/2: V2H discharges throughout; V2G while the EVSE's maximum limits are negative (the
        grid asks for discharge). The EVSE's negative current limit bounds the discharge."""
        limit = content.get("EVSEMaximumCurrentLimit")
        asked = bpt.is_negative(limit) and bpt.is_negative(content.get("EVSEMaximumPowerLimit"))
        self._evse_discharge_limit_a = abs(to_float(limit)) if asked and limit is not None else None
        if self.bpt == bpt.BptMode.V2G:
            self._discharging = asked

    def _welding_detection(self, now: float) -> list[Action]:
        self._welding_requests += 1
        request = {"DC_EVStatus": self._ev_status()}
        return self._send(self._request("WeldingDetectionReq", request), now)

    def _on_WeldingDetectionRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        present = to_float(content["EVSEPresentVoltage"])
        if present <= self.config.welding_safe_voltage_v:
            return self._send(self._session_stop_req(), now)
        if self._welding_requests >= self.config.max_welding_detection_requests:
            note = Note(
                "welding detection",
                False,
                f"EVSE output still {present:.0f} V after {self._welding_requests} WeldingDetectionReq",
            )
            return [note] + self._send(self._session_stop_req(), now)
        return self._later(self.config.welding_detection_interval_s, self._welding_detection, now)

    def _on_SessionStopRes(self, content: dict[str, Any], message: Message, now: float) -> list[Action]:
        result, reason = self._stop_reason or (StopResult.COMPLETED, "session stopped")
        return self._stop(result, reason)

    # --- stopping ---

    def _power_off(self, now: float, result: StopResult, reason: str) -> list[Action]:
        """End energy transfer: PowerDeliveryReq(ReadyToChargeState=false), then welding detection and
        SessionStop (the DIN SPEC 70121 normal shutdown, also used when the EVSE asks to stop)."""
        self._stop_reason = (result, reason)
        return self._send(self._power_delivery_req(ready=False), now)

    def _session_stop(self, result: StopResult, reason: str, now: float) -> list[Action]:
        """End a session in which no energy flowed: SessionStopReq straight away."""
        self._stop_reason = (result, reason)
        actions: list[Action] = [
            *self.timers.cancel(CABLE_CHECK_TIMER),
            *self.timers.cancel(PRE_CHARGE_TIMER),
            *self.timers.cancel(READY_TO_CHARGE_TIMER),
        ]
        return actions + self._send(self._session_stop_req(), now)

    def _may_stop_without_energy(self, name: str, content: dict[str, Any]) -> bool:
        """Whether the session may end with SessionStopReq right after this response: charge parameters are
        known and no energy has flowed yet (the states in which the SECC accepts SessionStopReq)."""
        if self._energy_flowing or self._last_power_delivery_ready:
            return False
        if name == "ChargeParameterDiscoveryRes":
            return content.get("EVSEProcessing") == EVSEProcessing.Finished
        return name in ("CableCheckRes", "PreChargeRes")

    def _stop_reason_or_default(self) -> tuple[StopResult, str]:
        return self._stop_reason or (StopResult.COMPLETED, "stop requested")

    def _evse_wants_stop(self, status: dict[str, Any]) -> bool:
        return (
            status.get("EVSEStatusCode") in SHUTDOWN_STATUS_CODES
            or status.get("EVSENotification") == EVSENotification.StopCharging
            or status.get("EVSEIsolationStatus") == IsolationLevel.Fault
        )

    @staticmethod
    def _evse_stop_reason(name: str, status: dict[str, Any]) -> str:
        return (
            f"{name} EVSEStatusCode {status.get('EVSEStatusCode')}, EVSENotification "
            f"{status.get('EVSENotification')}, EVSEIsolationStatus {status.get('EVSEIsolationStatus')}"
        )

    def _stop(
        self, result: StopResult, reason: str, *, note: tuple[str, bool] | None = None, close: bool = True
    ) -> list[Action]:
        self.state = EvccState.DONE
        self._next = None
        self.result = StopSession(result, reason)
        actions: list[Action] = []
        if note is not None:
            actions.append(Note(note[0], note[1], reason))
        actions += self.timers.cancel_all()
        if close:
            actions.append(Close(reason))
        actions.append(self.result)
        return actions

    # --- the battery's clock ---

    def _advance_battery(self, now: float) -> None:
        """Integrate the current the EVSE last reported over the time since the previous event."""
        if self._last_time is not None and now > self._last_time:
            self.battery.advance(now - self._last_time, self._flowing_current_a)
        self._last_time = now if self._last_time is None else max(self._last_time, now)

    def _set_current(self, now: float, current_a: float) -> None:
        self._advance_battery(now)
        # Only a BPT session lets current out of the pack.
        self._flowing_current_a = current_a if self.bpt is not None else max(0.0, current_a)
        self.battery.advance(0.0, self._flowing_current_a)

    # --- request content from the battery ---

    def _ev_status(self) -> dict[str, Any]:
        return dc_ev_status(self.battery.soc)

    def _charge_parameter_discovery_req(self) -> Message:
        p = self.battery.params
        parameters = {
            "DC_EVStatus": self._ev_status(),
            "EVMaximumCurrentLimit": physical(p.max_current_a, "A"),
            "EVMaximumVoltageLimit": physical(p.max_voltage_v, "V"),
        }
        if self.bpt == bpt.BptMode.V2H:
            # SAE J2847/2 V2H: the discharge limits as negative maxima, the minimum SOC as BulkSOC.
            parameters = {
                "DC_EVStatus": self._ev_status(),
                "EVMaximumCurrentLimit": physical(-p.max_discharge_current_a, "A"),
                "EVMaximumPowerLimit": physical(-p.max_discharge_power_w, "W"),
                "EVMaximumVoltageLimit": physical(p.max_voltage_v, "V"),
                "BulkSOC": max(0, min(100, int(p.min_soc))),
            }
        content = self.profile.charge_parameter_request(self.config.energy_transfer_type, parameters)
        return self._request("ChargeParameterDiscoveryReq", content)

    def _power_delivery_req(self, *, ready: bool) -> Message:
        self._last_power_delivery_ready = ready
        parameters = {
            "DC_EVStatus": self._ev_status(),
            "BulkChargingComplete": self.battery.bulk_charging_complete,
            "ChargingComplete": self.battery.charging_complete,
        }
        content = self.profile.power_delivery_request(ready, self._schedule_tuple_id, parameters)
        return self._request("PowerDeliveryReq", content)

    def _session_stop_req(self) -> Message:
        return self._request("SessionStopReq", self.profile.session_stop_request(self.config.pause))

    def _current_demand_req(self, now: float) -> Message:
        if self._discharging:
            return self._discharge_demand_req()
        battery = self.battery
        p = battery.params
        requested = battery.requested_current_a()
        if self.evse_limits:
            requested = min(requested, self.evse_limits["max_current_a"])
        content = {
            "DC_EVStatus": self._ev_status(),
            "EVTargetCurrent": physical(requested, "A"),
            "EVMaximumVoltageLimit": physical(p.max_voltage_v, "V"),
            "EVMaximumCurrentLimit": physical(p.max_current_a, "A"),
            "EVMaximumPowerLimit": physical(p.max_power_w, "W"),
            "BulkChargingComplete": battery.bulk_charging_complete,
            "ChargingComplete": battery.charging_complete,
            "RemainingTimeToFullSoC": seconds(battery.remaining_time_s(p.target_soc)),
            "RemainingTimeToBulkSoC": seconds(battery.remaining_time_s(battery.bulk_soc)),
            "EVTargetVoltage": physical(battery.target_voltage_v(), "V"),
        }
        return self._request("CurrentDemandReq", content)

    def _discharge_demand_req(self) -> Message:
        """CurrentDemandReq of a SAE J2847/2 discharge: negative target and maximum current and power."""
        battery = self.battery
        p = battery.params
        target = battery.discharge_current_a(self._evse_discharge_limit_a)
        content = {
            "DC_EVStatus": self._ev_status(),
            "EVTargetCurrent": physical(target, "A"),
            "EVMaximumVoltageLimit": physical(p.max_voltage_v, "V"),
            "EVMaximumCurrentLimit": physical(-p.max_discharge_current_a, "A"),
            "EVMaximumPowerLimit": physical(-p.max_discharge_power_w, "W"),
            "BulkChargingComplete": battery.bulk_charging_complete,
            "ChargingComplete": battery.charging_complete,
            "RemainingTimeToFullSoC": seconds(battery.remaining_time_s(p.target_soc)),
            "RemainingTimeToBulkSoC": seconds(battery.remaining_time_s(battery.bulk_soc)),
            "EVTargetVoltage": physical(min(battery.open_circuit_voltage_v, p.max_voltage_v), "V"),
        }
        return self._request("CurrentDemandReq", content)
