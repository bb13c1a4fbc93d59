"""Message helpers, supportedAppProtocol negotiation and SECC unit behaviour on single requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.devices.models.dc_charger import DcCharger
from harness.protocol.core import LinkUp, MessageReceived, Send
from harness.protocol.din70121 import app_protocol
from harness.protocol.din70121.events import StopResult
from harness.protocol.din70121.messages import (
    AppProtocolResponseCode,
    PhysicalValue,
    body,
    message_name,
    physical,
    session_id,
    supported_app_protocol_req,
    to_float,
    v2g_message,
)
from harness.protocol.din70121.secc import SeccConfig, SeccMachine


def test_physical_value_picks_the_finest_multiplier_that_fits() -> None:
    assert physical(400.0, "V") == {"Multiplier": -1, "Unit": "V", "Value": 4000}
    assert physical(0.0, "A") == {"Multiplier": -3, "Unit": "A", "Value": 0}
    assert physical(50_000.0, "W") == {"Multiplier": 1, "Unit": "W", "Value": 5000}
    assert to_float({"Multiplier": 1, "Unit": "V", "Value": 46}) == 460.0


@given(st.floats(min_value=-3.0e7, max_value=3.0e7, allow_nan=False))
def test_physical_value_round_trips_within_its_resolution(quantity: float) -> None:
    value = PhysicalValue.from_float(quantity, "W")
    assert -32768 <= value.value <= 32767
    assert -3 <= value.multiplier <= 3
    assert value.to_float() == pytest.approx(quantity, abs=10.0**value.multiplier / 2 + 1e-9)


def test_physical_value_out_of_range() -> None:
    with pytest.raises(ValueError):
        PhysicalValue.from_float(1e9, "W")


def test_message_accessors() -> None:
    message = v2g_message("8fa57fde2bfafe78", "SessionStopReq", {})
    assert message_name(message) == "SessionStopReq"
    assert session_id(message) == "8FA57FDE2BFAFE78"
    assert body(message) == {}
    assert message_name(supported_app_protocol_req()) == "supportedAppProtocolReq"
    assert session_id(supported_app_protocol_req()) is None


def offer(namespace: str, major: int, minor: int, schema: int, priority: int) -> dict:
    return {
        "ProtocolNamespace": namespace,
        "VersionNumberMajor": major,
        "VersionNumberMinor": minor,
        "SchemaID": schema,
        "Priority": priority,
    }


def test_negotiation_picks_din_by_priority() -> None:
    request = {
        "AppProtocol": [
            offer("urn:iso:15118:2:2013:MsgDef", 2, 0, 1, 1),
            offer("urn:din:70121:2012:MsgDef", 2, 0, 2, 2),
        ]
    }
    result = app_protocol.negotiate(request)
    assert result.code is AppProtocolResponseCode.OK_SuccessfulNegotiation
    assert result.schema_id == 2


def test_negotiation_minor_deviation_and_failure() -> None:
    minor = app_protocol.negotiate({"AppProtocol": [offer("urn:din:70121:2012:MsgDef", 2, 1, 3, 1)]})
    assert minor.code is AppProtocolResponseCode.OK_SuccessfulNegotiationWithMinorDeviation
    failed = app_protocol.negotiate({"AppProtocol": [offer("urn:din:70121:2012:MsgDef", 1, 0, 3, 1)]})
    assert failed.code is AppProtocolResponseCode.Failed_NoNegotiation
    assert not failed.ok
    assert app_protocol.accepted({"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 2}, [1]) is None


def connected_secc() -> SeccMachine:
    secc = SeccMachine(DcCharger(), config=SeccConfig(session_id="0102030405060708"))
    secc.handle(LinkUp(), 0.0)
    return secc


def sent(actions: list) -> list[dict]:
    return [a.message for a in actions if isinstance(a, Send)]


def test_secc_refuses_an_evcc_without_din() -> None:
    secc = connected_secc()
    request = {"supportedAppProtocolReq": {"AppProtocol": [offer("urn:iso:15118:2:2013:MsgDef", 2, 0, 1, 1)]}}
    actions = secc.handle(MessageReceived(request), 0.1)
    assert sent(actions) == [{"supportedAppProtocolRes": {"ResponseCode": "Failed_NoNegotiation"}}]
    assert secc.result is not None and secc.result.result is StopResult.NEGOTIATION_FAILED


def setup_session(secc: SeccMachine) -> None:
    secc.handle(MessageReceived(supported_app_protocol_req()), 0.1)
    secc.handle(MessageReceived(v2g_message("00", "SessionSetupReq", {"EVCCID": "020000000001"})), 0.2)
    secc.handle(MessageReceived(v2g_message(secc.session or "", "ServiceDiscoveryReq", {})), 0.3)


def test_secc_refuses_an_unoffered_payment_option() -> None:
    secc = connected_secc()
    setup_session(secc)
    request = {
        "SelectedPaymentOption": "Contract",
        "SelectedServiceList": {"SelectedService": [{"ServiceID": 1}]},
    }
    actions = secc.handle(
        MessageReceived(v2g_message("0102030405060708", "ServicePaymentSelectionReq", request)), 0.4
    )
    assert body(sent(actions)[0])["ResponseCode"] == "FAILED_PaymentSelectionInvalid"
    assert secc.result is not None and secc.result.result is StopResult.PARAMETER_ERROR


def test_secc_refuses_a_request_before_session_setup() -> None:
    secc = connected_secc()
    secc.handle(MessageReceived(supported_app_protocol_req()), 0.1)
    actions = secc.handle(MessageReceived(v2g_message("00", "ServiceDiscoveryReq", {})), 0.2)
    response = sent(actions)[0]
    assert message_name(response) == "ServiceDiscoveryRes"
    assert body(response)["ResponseCode"] == "FAILED_SequenceError"


def test_secc_survives_a_request_missing_mandatory_content() -> None:
    secc = connected_secc()
    setup_session(secc)
    request = {
        "SelectedPaymentOption": "ExternalPayment",
        "SelectedServiceList": {"SelectedService": [{"ServiceID": 1}]},
    }
    secc.handle(MessageReceived(v2g_message("0102030405060708", "ServicePaymentSelectionReq", request)), 0.4)
    secc.handle(MessageReceived(v2g_message("0102030405060708", "ContractAuthenticationReq", {})), 0.5)
    actions = secc.handle(
        MessageReceived(v2g_message("0102030405060708", "ChargeParameterDiscoveryReq", {})), 0.6
    )
    assert body(sent(actions)[0])["ResponseCode"].startswith("FAILED")
    assert secc.result is not None and secc.result.result in (
        StopResult.MALFORMED,
        StopResult.PARAMETER_ERROR,
    )
