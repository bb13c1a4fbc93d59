"""V2GTP over a real TCP connection: framing limits, and the session driver running both DIN machines."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import pytest

from harness.codec.v2g import exi_codec
from harness.codec.v2g.v2gtp import PayloadType, V2gtpDecodeError, decode_v2gtp, encode_v2gtp
from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.protocol.din70121 import faults as din_faults
from harness.protocol.din70121.evcc import EvccMachine
from harness.protocol.din70121.events import SendMalformed, StopResult, send
from harness.protocol.din70121.messages import TYPICAL_DC_SESSION_REQUESTS, supported_app_protocol_req
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.faults import FaultyCore
from harness.testers.din70121 import reset_connection
from harness.transport.v2g import (
    V2gtpClosed,
    V2gtpStream,
    encode_action,
    run_session,
    schema_of,
)

# A pack 0.5 % below its target: the whole DC session in about three seconds of real time.
TINY_PACK = BatteryParameters(capacity_kwh=0.1, target_soc=80.0, taper_start_soc=70.0)
FAST_CHARGER = ChargerParameters(isolation_check_duration_s=0.2)
SESSION_ID = "0123456789ABCDEF"


async def _pair() -> tuple[V2gtpStream, V2gtpStream, asyncio.Server]:
    accepted: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await accepted.put((reader, writer))

    server = await asyncio.start_server(on_connection, "::1", 0, family=socket.AF_INET6)
    port = server.sockets[0].getsockname()[1]
    client = V2gtpStream(*await asyncio.open_connection("::1", port))
    return client, V2gtpStream(*await accepted.get()), server


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_frames_round_trip_and_split_writes_are_reassembled():
    async def scenario():
        client, server_side, server = await _pair()
        payload = exi_codec.encode("app", supported_app_protocol_req())
        frame = encode_v2gtp(PayloadType.EXI, payload)
        client.write_raw(frame[:3])
        await client.drain()
        await asyncio.sleep(0)
        client.write_raw(frame[3:] + frame)
        await client.drain()
        first, second = await server_side.read_frame(), await server_side.read_frame()
        client.close()
        with pytest.raises(V2gtpClosed):
            await server_side.read_frame()
        server.close()
        return first, second, payload

    first, second, payload = _run(scenario())
    assert first.payload == second.payload == payload
    assert first.payload_type == PayloadType.EXI


def test_oversized_length_is_rejected_without_buffering():
    async def scenario():
        client, server_side, server = await _pair()
        server_side.max_payload = 1024
        client.write_raw(encode_v2gtp(PayloadType.EXI, b"", length=1 << 30))
        await client.drain()
        try:
            await server_side.read_frame()
        finally:
            client.close()
            server.close()

    with pytest.raises(V2gtpDecodeError) as caught:
        _run(scenario())
    assert caught.value.offset == 4


def test_eof_inside_a_frame_is_a_decode_error():
    async def scenario():
        client, server_side, server = await _pair()
        client.write_raw(encode_v2gtp(PayloadType.EXI, b"\x80\x00\x00\x00")[:10])
        await client.drain()
        client.close()
        try:
            await server_side.read_frame()
        finally:
            server.close()

    with pytest.raises(V2gtpDecodeError, match="2 of 4 payload bytes"):
        _run(scenario())


def test_fault_corruptions_reach_the_wire():
    message = supported_app_protocol_req()
    good = encode_action(send(message))
    assert decode_v2gtp(good).payload == exi_codec.encode(schema_of(message), message)
    bad_version = encode_action(SendMalformed(message, "v2gtp-version"))
    assert bad_version[0] == 0x02 and bad_version[1] == 0xFE
    truncated = encode_action(SendMalformed(message, "truncated-v2gtp"))
    with pytest.raises(V2gtpDecodeError):
        decode_v2gtp(truncated)
    bad_exi = decode_v2gtp(encode_action(SendMalformed(message, "exi-header"))).payload
    with pytest.raises(exi_codec.DecodeError):
        exi_codec.decode("app", bad_exi)


def _machines(evcc_faults=(), secc_faults=()):
    evcc = FaultyCore(EvccMachine(Battery(TINY_PACK, soc=79.5)), list(evcc_faults))
    secc = FaultyCore(
        SeccMachine(DcCharger(FAST_CHARGER), SeccConfig(session_id=SESSION_ID)), list(secc_faults)
    )
    return evcc, secc


async def _session(evcc, secc, ev_stream=lambda stream: stream):
    client, server_side, server = await _pair()
    try:
        return await asyncio.gather(run_session(evcc, ev_stream(client)), run_session(secc, server_side))
    finally:
        server.close()
        with contextlib.suppress(Exception):
            await server.wait_closed()


def test_complete_session_over_tcp():
    ev, charger = _run(_session(*_machines()))
    assert ev.result is not None and ev.result.result is StopResult.COMPLETED
    assert charger.result is not None and charger.result.result is StopResult.COMPLETED
    sent = [name for i, name in enumerate(ev.names("sent")) if i == 0 or ev.names("sent")[i - 1] != name]
    assert tuple(sent) == TYPICAL_DC_SESSION_REQUESTS
    # every request got its response, decoded with the negotiated schema
    assert len(ev.names("received")) == len(ev.names("sent"))
    assert ev.names("received")[0] == "supportedAppProtocolRes"


def test_a_finished_session_is_freed_without_the_cyclic_garbage_collector():
    """A long-lived device runs thousands of sessions: once its outcome is dropped, a session's core and
    its record of every message go at once, not when the cyclic collector next runs (the driver and
    run_session's closures referenced each other until the driver was released)."""
    import gc
    import weakref

    evcc, secc = _machines()
    cores = [weakref.ref(evcc), weakref.ref(secc)]
    gc.collect()
    gc.disable()
    try:
        outcomes = _run(_session(evcc, secc))
        assert all(o.result is not None and o.result.result is StopResult.COMPLETED for o in outcomes)
        records = [weakref.ref(o) for o in outcomes]
        del evcc, secc, outcomes
        assert [ref() for ref in cores + records] == [None] * 4
    finally:
        gc.enable()


class _StallingStream(V2gtpStream):
    """A stream whose writer stalls (the process is descheduled) while writing one CurrentDemandReq."""

    def __init__(self, *args, stall_s: float) -> None:
        super().__init__(*args)
        self.stall_s = stall_s

    def write_raw(self, data: bytes) -> None:
        with contextlib.suppress(Exception):
            body = exi_codec.decode("din", decode_v2gtp(data).payload)["V2G_Message"]["Body"]
            if self.stall_s and "CurrentDemandReq" in body:
                time.sleep(self.stall_s)  # blocks the whole loop, as a descheduled process would
                self.stall_s = 0.0
        super().write_raw(data)


def test_a_request_timer_counts_from_the_request_on_the_wire():
    """The tester EV was descheduled between deciding to send a CurrentDemandReq and writing it (seen once
    in a parallel campaign): its 250 ms response timer must count from the write, or it times out its own
    request and closes the connection while the SECC's answer is on its way."""

    def stalling(stream: V2gtpStream) -> V2gtpStream:
        return _StallingStream(stream.reader, stream.writer, stall_s=0.4)

    ev, charger = _run(_session(*_machines(), ev_stream=stalling))
    assert ev.result is not None and ev.result.result is StopResult.COMPLETED, ev.result
    assert charger.result is not None and charger.result.result is StopResult.COMPLETED


def test_malformed_request_ends_the_secc_session():
    evcc, secc = _machines(evcc_faults=[din_faults.malformed("ServiceDiscoveryReq")])
    ev, charger = _run(_session(evcc, secc))
    assert charger.result.result is StopResult.MALFORMED
    assert "bit" in charger.result.reason  # the decode error says where
    assert "ServiceDiscoveryRes" not in charger.names("sent")
    assert ev.result.result is StopResult.CONNECTION_LOST


def test_tcp_reset_reaches_the_peer():
    evcc, secc = _machines(evcc_faults=[reset_connection("CurrentDemandReq", 2)])
    ev, charger = _run(_session(evcc, secc))
    assert ev.result.result is StopResult.CONNECTION_LOST
    assert ev.names("reset") == ["TCP RST"]
    assert charger.result.result is StopResult.CONNECTION_LOST
    assert charger.names("received").count("CurrentDemandReq") == 1
