"""ISO 15118-20 on the live transport: each message goes in the V2GTP payload type of its schema (Table 15:
0x8002 CommonMessages, 0x8004 DC; supportedAppProtocol stays 0x8001), each received frame is decoded with
the schema its payload type names, and a payload type the negotiated protocol does not use is a malformed
frame. Two small scripted cores, and the -20 EVCC and SECC cores, run over a real TCP connection on the
session driver with the cores' message -> schema mapping (harness.protocol.iso15118_20.messages)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import Any

import pytest

from harness.codec.v2g import exi_codec
from harness.codec.v2g.v2gtp import PayloadType, V2gtpDecodeError, decode_v2gtp, encode_v2gtp
from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.core import Close, LinkDown, LinkUp, MessageReceived, Send
from harness.protocol.din70121.events import MalformedReceived, SendMalformed, StopResult, StopSession
from harness.protocol.din70121.messages import message_name
from harness.protocol.iso15118_20 import messages
from harness.protocol.iso15118_20.evcc import EvccConfig, EvccMachine
from harness.protocol.iso15118_20.messages import schema_of as message_schema
from harness.protocol.iso15118_20.secc import SeccConfig, SeccMachine
from harness.transport.v2g import (
    SCHEMA_PAYLOAD_TYPES,
    V2gtpStream,
    encode_action,
    payload_type_of,
    received_schema,
    run_session,
    schema_of,
)

SESSION_ID = "CCEC07A64440C546"
ISO20_DC_NAMESPACE = "urn:iso:std:iso:15118:-20:DC"


def _header(timestamp: int = 1761652389) -> dict[str, Any]:
    return {"SessionID": SESSION_ID, "TimeStamp": timestamp}


SAP_REQ = {
    "supportedAppProtocolReq": {
        "AppProtocol": [
            {
                "ProtocolNamespace": ISO20_DC_NAMESPACE,
                "VersionNumberMajor": 1,
                "VersionNumberMinor": 0,
                "SchemaID": 1,
                "Priority": 1,
            }
        ]
    }
}
SAP_RES = {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}
EV_REQUESTS = [
    {"SessionSetupReq": {"Header": _header(), "EVCCID": "WMIV1234567890ABCDEX"}},
    {"DC_CableCheckReq": {"Header": _header()}},
    {"SessionStopReq": {"Header": _header(), "ChargingSession": "Terminate"}},
]
SECC_RESPONSES = {
    "supportedAppProtocolReq": SAP_RES,
    "SessionSetupReq": {
        "SessionSetupRes": {
            "Header": _header(),
            "ResponseCode": "OK_NewSessionEstablished",
            "EVSEID": "ZZ00000",
        }
    },
    "DC_CableCheckReq": {
        "DC_CableCheckRes": {"Header": _header(), "ResponseCode": "OK", "EVSEProcessing": "Finished"}
    },
    "SessionStopReq": {"SessionStopRes": {"Header": _header(), "ResponseCode": "OK"}},
}


def _send(message: dict[str, Any]) -> Send:
    return Send(message, message_name(message))


class ScriptedEv:
    """Sends supportedAppProtocolReq, then each request after the previous response; stops after the last.
    ``malformed`` names a request sent corrupted as the SendMalformed corruption given."""

    def __init__(self, malformed: tuple[str, str] | None = None) -> None:
        self.pending = list(EV_REQUESTS)
        self.malformed = malformed
        self.events: list[Any] = []

    def _next(self) -> list[Any]:
        if not self.pending:
            return [StopSession(StopResult.COMPLETED, "script done")]
        message = self.pending.pop(0)
        if self.malformed is not None and message_name(message) == self.malformed[0]:
            # then hang up, as the truncated frame's peer would otherwise wait for the rest of it
            return [
                SendMalformed(message, self.malformed[1]),
                Close("fault sent"),
                StopSession(StopResult.COMPLETED, "fault sent"),
            ]
        return [_send(message)]

    def handle(self, event: Any, now: float) -> list[Any]:
        self.events.append(event)
        if isinstance(event, LinkUp):
            return [_send(SAP_REQ)]
        if isinstance(event, MessageReceived):
            return self._next()
        if isinstance(event, MalformedReceived):
            return [StopSession(StopResult.MALFORMED, event.reason)]
        return []

    def next_deadline(self) -> float | None:
        return None

    def due_timers(self, now: float) -> list[str]:
        return []


class ScriptedSecc(ScriptedEv):
    """Answers each request with its scripted response; a malformed frame ends the session."""

    def handle(self, event: Any, now: float) -> list[Any]:
        self.events.append(event)
        if isinstance(event, MessageReceived):
            name = message_name(event.message)
            actions: list[Any] = [_send(SECC_RESPONSES[name])]
            if name == "SessionStopReq":
                actions.append(StopSession(StopResult.COMPLETED, "stopped"))
            return actions
        if isinstance(event, MalformedReceived):
            return [StopSession(StopResult.MALFORMED, event.reason)]
        if isinstance(event, LinkDown):
            return [StopSession(StopResult.CONNECTION_LOST, event.reason)]
        return []


class RecordingStream(V2gtpStream):
    """A V2gtpStream that remembers the payload type of every frame it read."""

    payload_types: list[int]

    async def read_frame(self):  # noqa: ANN201
        frame = await super().read_frame()
        self.payload_types = [*getattr(self, "payload_types", []), frame.payload_type]
        return frame


async def _pair() -> tuple[RecordingStream, RecordingStream, asyncio.Server]:
    accepted: asyncio.Queue = asyncio.Queue()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connection, "::1", 0, family=socket.AF_INET6)
    port = server.sockets[0].getsockname()[1]
    client = RecordingStream(*await asyncio.open_connection("::1", port))
    return client, RecordingStream(*await accepted.get()), server


def _run(coro):  # noqa: ANN001, ANN202
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _session(ev, secc):  # noqa: ANN001, ANN202
    client, server_side, server = await _pair()
    try:
        outcomes = await asyncio.gather(
            run_session(ev, client, message_schema=message_schema),
            run_session(secc, server_side, message_schema=message_schema),
        )
        return outcomes, client, server_side
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


def test_iso20_session_uses_the_payload_type_of_each_schema_over_tcp():
    (ev, charger), client, server_side = _run(_session(ScriptedEv(), ScriptedSecc()))
    assert ev.result.result is StopResult.COMPLETED and charger.result.result is StopResult.COMPLETED
    assert charger.names("received") == [
        "supportedAppProtocolReq",
        "SessionSetupReq",
        "DC_CableCheckReq",
        "SessionStopReq",
    ]
    assert ev.names("received") == [
        "supportedAppProtocolRes",
        "SessionSetupRes",
        "DC_CableCheckRes",
        "SessionStopRes",
    ]
    # Table 15: supportedAppProtocol 0x8001, common messages 0x8002, DC messages 0x8004, both directions.
    expected = [0x8001, 0x8002, 0x8004, 0x8002]
    assert server_side.payload_types == expected
    assert client.payload_types == expected
    # decoded with the schema each payload type names: the DC message's content came through
    cable_check = next(r.message for r in ev.records if r.name == "DC_CableCheckRes")
    assert cable_check["DC_CableCheckRes"]["EVSEProcessing"] == "Finished"


@pytest.mark.parametrize("corruption", ["v2gtp-version", "truncated-v2gtp", "exi-header"])
def test_iso20_fault_frames_reach_the_peer_as_malformed(corruption):
    ev, secc = ScriptedEv(malformed=("DC_CableCheckReq", corruption)), ScriptedSecc()
    (_ev, charger), _client, _server_side = _run(_session(ev, secc))
    assert charger.result.result is StopResult.MALFORMED
    assert "DC_CableCheckReq" not in charger.names("received")
    reason = charger.result.reason
    if corruption == "exi-header":
        assert "EXI (iso20-dc)" in reason  # decoded with the DC schema its payload type named
    else:
        assert reason.startswith("V2GTP")


def test_a_payload_type_the_negotiated_protocol_does_not_use_is_malformed():
    """An EV that negotiated -20 DC and then sends SessionSetupReq in 0x8001, then one in 0x8003 (AC)."""

    async def scenario(payload_type: int):
        client, server_side, server = await _pair()
        secc = ScriptedSecc()
        session = asyncio.ensure_future(run_session(secc, server_side, message_schema=message_schema))
        client.write_raw(encode_v2gtp(PayloadType.EXI, exi_codec.encode("app", SAP_REQ)))
        await client.drain()
        assert (await client.read_frame()).payload_type == PayloadType.EXI
        setup = exi_codec.encode("iso20-common", EV_REQUESTS[0])
        client.write_raw(encode_v2gtp(payload_type, setup))
        await client.drain()
        outcome = await session
        client.close()
        server.close()
        return outcome

    for payload_type, expected in (
        (0x8001, "V2GTP payload type 0x8001 in an ISO 15118-20 session negotiated as iso20-dc"),
        (0x8003, "V2GTP payload type 0x8003 in an ISO 15118-20 session negotiated as iso20-dc"),
        (0x9000, "V2GTP payload type 0x9000"),
    ):
        outcome = _run(scenario(payload_type))
        assert outcome.result.result is StopResult.MALFORMED
        assert outcome.result.reason.startswith(expected), outcome.result.reason
        assert outcome.names("received") == ["supportedAppProtocolReq"]


def test_received_schema_follows_payload_type_and_negotiation():
    assert received_schema(0x8001, "din", first=True) == "app"
    assert received_schema(0x8001, "iso20-dc", first=True) == "app"
    assert received_schema(0x8001, "din", first=False) == "din"
    assert received_schema(0x8001, "iso2", first=False) == "iso2"
    assert received_schema(0x8002, "iso20-dc", first=False) == "iso20-common"
    assert received_schema(0x8004, "iso20-dc", first=False) == "iso20-dc"
    assert received_schema(0x8003, "iso20-ac", first=False) == "iso20-ac"
    with pytest.raises(ValueError, match="0x8002 .* where supportedAppProtocol uses 0x8001"):
        received_schema(0x8002, "iso20-dc", first=True)
    with pytest.raises(ValueError, match="0x8004 .* where the negotiated iso2 uses 0x8001"):
        received_schema(0x8004, "iso2", first=False)
    with pytest.raises(ValueError, match="negotiated as iso20-ac, which uses 0x8002 or 0x8003"):
        received_schema(0x8004, "iso20-ac", first=False)


def test_payload_types_are_the_codec_table_inverted():
    assert SCHEMA_PAYLOAD_TYPES == {
        "iso20-common": 0x8002,
        "iso20-ac": 0x8003,
        "iso20-dc": 0x8004,
        "iso20-acdp": 0x8005,
        "iso20-wpt": 0x8006,
    }
    for schema in ("app", "din", "iso2"):
        assert payload_type_of(schema) == PayloadType.EXI


def test_encoding_a_20_message_needs_the_cores_schema_and_keeps_fault_headers():
    request = EV_REQUESTS[1]
    with pytest.raises(ValueError, match="needs the core's message_schema"):
        schema_of(request, "iso20-dc")
    frame = decode_v2gtp(encode_action(_send(request), "iso20-dc", message_schema))
    assert frame.payload_type == 0x8004
    assert exi_codec.decode("iso20-dc", frame.payload) == request
    bad_version = encode_action(SendMalformed(request, "v2gtp-version"), "iso20-dc", message_schema)
    assert bad_version[:4] == bytes([0x02, 0xFE, 0x80, 0x04])
    truncated = encode_action(SendMalformed(request, "truncated-v2gtp"), "iso20-dc", message_schema)
    assert truncated[2:4] == bytes([0x80, 0x04])
    with pytest.raises(V2gtpDecodeError):
        decode_v2gtp(truncated)
    # supportedAppProtocol stays 0x8001 in a -20 session
    assert decode_v2gtp(encode_action(_send(SAP_RES), "iso20-dc", message_schema)).payload_type == 0x8001


@pytest.mark.parametrize("service", ["DC", "DC_BPT"])
def test_the_iso20_cores_complete_a_session_over_tcp(service):
    """The -20 EVCC and SECC cores (harness.protocol.iso15118_20) on the asyncio driver over real TCP, with
    the cores' own message -> schema mapping."""
    service_id = messages.ServiceID[service]
    pack = BatteryParameters(
        capacity_kwh=0.2,
        target_soc=80.0,
        taper_start_soc=70.0,
        max_discharge_current_a=100.0,
        max_discharge_power_w=40_000.0,
        min_soc=76.0,
    )
    charger = ChargerParameters(
        isolation_check_duration_s=0.3, max_discharge_current_a=100.0, max_discharge_power_w=30_000.0
    )
    evcc = EvccMachine(Battery(pack, soc=79.0), EvccConfig(services=(service_id,)))
    secc = SeccMachine(
        DcCharger(charger),
        SeccConfig(services=(messages.ServiceID.DC, messages.ServiceID.DC_BPT), session_id=SESSION_ID),
    )

    async def session():
        client, server_side, server = await _pair()
        try:
            outcomes = await asyncio.gather(
                run_session(evcc, client, message_schema=messages.schema_of),
                run_session(secc, server_side, message_schema=messages.schema_of),
            )
            return outcomes, client, server_side
        finally:
            server.close()

    (ev, charger_side), client, server_side = asyncio.run(asyncio.wait_for(session(), 60))
    assert ev.result.result is StopResult.COMPLETED, ev.result
    assert charger_side.result.result is StopResult.COMPLETED, charger_side.result
    assert evcc.service_id == secc.service_id == service_id
    received = charger_side.names("received")
    assert received[0] == "supportedAppProtocolReq" and received[-1] == "SessionStopReq"
    assert "DC_ChargeLoopReq" in received and "DC_CableCheckReq" in received
    # each frame in the payload type of its message's schema (Table 15)
    expected = [PayloadType.EXI] + [SCHEMA_PAYLOAD_TYPES[messages.schema_of(name)] for name in received[1:]]
    assert server_side.payload_types == expected
    assert {0x8002, 0x8004} <= set(client.payload_types)
