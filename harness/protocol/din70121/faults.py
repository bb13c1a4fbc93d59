"""Fault injection for DIN SPEC 70121 sessions: transforms on a machine's actions.

A tester role is the reference machine plus faults: :class:`FaultInjector` wraps an EVCC or SECC machine,
passes events through, and lets each fault rewrite the actions that come back (change a SessionID or a
response code, hold a message back, drop it, mark it malformed, set an EVSE status). Negative tests therefore
run the same machine as positive ones.

Each fault picks the message it acts on by body name and occurrence (1 = the first such message the wrapped
machine sends, 0 = every one). Delays are done with the machine's own kind of timer (a StartTimer whose
name starts with ``fault:``), so they run on a simulated clock as well as on a real one.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Protocol

from harness.protocol.din70121.events import (
    Action,
    Event,
    SendMalformed,
    SendMessage,
    StartTimer,
    TimerExpired,
)
from harness.protocol.din70121.messages import (
    DCEVSEStatusCode,
    EVSENotification,
    EVSEProcessing,
    IsolationLevel,
    Message,
    ResponseCode,
    body,
    dc_ev_status,
    message_name,
    physical,
    session_id,
    v2g_message,
    with_session_id,
)

FAULT_TIMER_PREFIX = "fault:"
# A SessionID no SECC hands out by chance in a test run (8 bytes, DIN SPEC 70121 8.4.3.2).
FOREIGN_SESSION_ID = "DEADBEEF00C0FFEE"
_timer_ids = itertools.count(1)


class Machine(Protocol):
    def handle(self, event: Event, now: float) -> list[Action]: ...


@dataclass
class Fault:
    """Base: acts on the ``occurrence``-th SendMessage named ``message`` (0 = every one)."""

    message: str
    occurrence: int = 1
    seen: int = field(default=0, init=False)
    applied: int = field(default=0, init=False)

    def transform(self, actions: list[Action], now: float) -> list[Action]:
        out: list[Action] = []
        for action in actions:
            if isinstance(action, SendMessage) and action.name == self.message:
                self.seen += 1
                if self.occurrence == 0 or self.seen == self.occurrence:
                    self.applied += 1
                    out.extend(self.apply(action, now))
                    continue
            out.append(action)
        return out

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        raise NotImplementedError

    def on_timer(self, name: str, now: float) -> list[Action] | None:
        """Actions for one of this fault's own timers, or None when the timer is not ours."""
        return None


def _edited(action: SendMessage) -> Message:
    return copy.deepcopy(action.message)


@dataclass
class WrongSessionId(Fault):
    """Send the message with a SessionID that is not the session's."""

    session_id: str = FOREIGN_SESSION_ID

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        return [SendMessage(with_session_id(action.message, self.session_id))]


@dataclass
class StaleSessionId(WrongSessionId):
    """Send the message with the SessionID of an earlier, finished session."""


@dataclass
class ResponseCodeFault(Fault):
    """Answer with another ResponseCode (FAILED, FAILED_SequenceError, ...)."""

    code: str = ResponseCode.FAILED

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        message = _edited(action)
        body(message)["ResponseCode"] = str(self.code)
        return [SendMessage(message)]


@dataclass
class DelayMessage(Fault):
    """Hold the message back for ``delay_s`` before it is sent."""

    delay_s: float = 0.0
    held: dict[str, SendMessage] = field(default_factory=dict, init=False)

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        name = f"{FAULT_TIMER_PREFIX}delay:{next(_timer_ids)}"
        self.held[name] = action
        return [StartTimer(name, now + self.delay_s)]

    def on_timer(self, name: str, now: float) -> list[Action] | None:
        held = self.held.pop(name, None)
        return None if held is None else [held]


@dataclass
class DropMessage(Fault):
    """Never send the message."""

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        return []


@dataclass
class MalformedPayload(Fault):
    """Send undecodable bytes in place of the message (the transport corrupts the encoded EXI)."""

    corruption: str = "exi-header"

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        return [SendMalformed(action.message, self.corruption)]


# A plausible body for every request, for out-of-sequence injection (values from a typical DC session).
def request_template(name: str, soc: float = 50.0) -> dict[str, Any]:
    status = dc_ev_status(soc)
    templates: dict[str, dict[str, Any]] = {
        "SessionSetupReq": {"EVCCID": "020000000001"},
        "ServiceDiscoveryReq": {},
        "ServicePaymentSelectionReq": {
            "SelectedPaymentOption": "ExternalPayment",
            "SelectedServiceList": {"SelectedService": [{"ServiceID": 1}]},
        },
        "ContractAuthenticationReq": {},
        "ChargeParameterDiscoveryReq": {
            "EVRequestedEnergyTransferType": "DC_extended",
            "DC_EVChargeParameter": {
                "DC_EVStatus": status,
                "EVMaximumCurrentLimit": physical(200.0, "A"),
                "EVMaximumVoltageLimit": physical(420.0, "V"),
            },
        },
        "CableCheckReq": {"DC_EVStatus": status},
        "PreChargeReq": {
            "DC_EVStatus": status,
            "EVTargetVoltage": physical(360.0, "V"),
            "EVTargetCurrent": physical(0.0, "A"),
        },
        "PowerDeliveryReq": {
            "ReadyToChargeState": True,
            "DC_EVPowerDeliveryParameter": {
                "DC_EVStatus": status,
                "BulkChargingComplete": False,
                "ChargingComplete": False,
            },
        },
        "CurrentDemandReq": {
            "DC_EVStatus": status,
            "EVTargetCurrent": physical(50.0, "A"),
            "EVMaximumVoltageLimit": physical(420.0, "V"),
            "EVMaximumCurrentLimit": physical(200.0, "A"),
            "EVMaximumPowerLimit": physical(100_000.0, "W"),
            "BulkChargingComplete": False,
            "ChargingComplete": False,
            "RemainingTimeToFullSoC": physical(1200.0, "s"),
            "RemainingTimeToBulkSoC": physical(600.0, "s"),
            "EVTargetVoltage": physical(380.0, "V"),
        },
        "WeldingDetectionReq": {"DC_EVStatus": status},
        "SessionStopReq": {},
    }
    return copy.deepcopy(templates[name])


@dataclass
class OutOfSequenceRequest(Fault):
    """Send request ``send`` (a plausible one, with the session's SessionID) instead of the matched one."""

    send: str = "CurrentDemandReq"

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        header = session_id(action.message) or "00"
        return [SendMessage(v2g_message(header, self.send, request_template(self.send)))]


@dataclass
class EvseStatusFault(Fault):
    """Rewrite fields of DC_EVSEStatus (and top-level body fields) in a response."""

    status: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)

    def apply(self, action: SendMessage, now: float) -> list[Action]:
        message = _edited(action)
        content = body(message)
        if "DC_EVSEStatus" in content:
            content["DC_EVSEStatus"].update(self.status)
        elif "DC_EVSEChargeParameter" in content:
            content["DC_EVSEChargeParameter"]["DC_EVSEStatus"].update(self.status)
        content.update(self.fields)
        return [SendMessage(message)]


def stop_charging_request(occurrence: int = 1) -> EvseStatusFault:
    """The EVSE asks the EV to stop (EVSENotification=StopCharging) in the n-th CurrentDemandRes."""
    return EvseStatusFault(
        "CurrentDemandRes", occurrence, status={"EVSENotification": str(EVSENotification.StopCharging)}
    )


def emergency_shutdown(message: str = "CurrentDemandRes", occurrence: int = 1) -> EvseStatusFault:
    """The EVSE reports EVSE_EmergencyShutdown in the n-th ``message``."""
    return EvseStatusFault(
        message, occurrence, status={"EVSEStatusCode": str(DCEVSEStatusCode.EVSE_EmergencyShutdown)}
    )


def isolation_fault(occurrence: int = 1) -> EvseStatusFault:
    """The n-th CableCheckRes reports a finished check with EVSEIsolationStatus=Fault."""
    return EvseStatusFault(
        "CableCheckRes",
        occurrence,
        status={"EVSEIsolationStatus": str(IsolationLevel.Fault)},
        fields={"EVSEProcessing": str(EVSEProcessing.Finished)},
    )


@dataclass
class FaultInjector:
    """A machine with faults applied to its actions; same ``handle`` interface as the machine it wraps."""

    machine: Machine
    faults: list[Fault] = field(default_factory=list)

    def handle(self, event: Event, now: float) -> list[Action]:
        if isinstance(event, TimerExpired) and event.name.startswith(FAULT_TIMER_PREFIX):
            for fault in self.faults:
                released = fault.on_timer(event.name, now)
                if released is not None:
                    return released
            return []
        actions = self.machine.handle(event, now)
        for fault in self.faults:
            actions = fault.transform(actions, now)
        return actions

    def __getattr__(self, name: str) -> Any:
        # state, result, session, ... of the wrapped machine
        return getattr(self.machine, name)


def message_names(actions: list[Action]) -> list[str]:
    return [message_name(a.message) for a in actions if isinstance(a, SendMessage | SendMalformed)]
