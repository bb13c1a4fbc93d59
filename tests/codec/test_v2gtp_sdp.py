"""V2GTP framing and SDP messages, including every kind of malformed input."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.codec.v2g.sdp import (
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    SdpDecodeError,
    SeccDiscoveryReq,
    SeccDiscoveryRes,
    decode_sdp,
    encode_sdp,
)
from harness.codec.v2g.v2gtp import PayloadType, V2gtpDecodeError, decode_v2gtp, encode_v2gtp


def test_request_bytes_match_iso15118_2_layout():
    assert encode_sdp(SeccDiscoveryReq(SECURITY_NONE, TRANSPORT_TCP)).hex() == "01fe9000000000021000"


def test_response_round_trip():
    res = SeccDiscoveryRes(ipaddress.IPv6Address("fe80::1"), 50000, SECURITY_TLS, TRANSPORT_TCP)
    data = encode_sdp(res)
    assert len(data) == 8 + 20
    assert data[:8].hex() == "01fe900100000014"
    assert decode_sdp(data) == res
    assert res.fields() == {
        "SECCIPAddress": "fe80::1",
        "SECCPort": 50000,
        "Security": "TLS",
        "TransportProtocol": "TCP",
    }


@pytest.mark.parametrize(
    ("data", "offset", "words"),
    [
        (bytes.fromhex("02fd9000000000021000"), 0, "protocol version"),
        (bytes.fromhex("01ff9000000000021000"), 1, "inverse"),
        (bytes.fromhex("01fe9002000000021000"), 2, "not an SDP payload type"),
        (bytes.fromhex("01fe900000000003100000"), 4, "expected 2"),
        (bytes.fromhex("01fe90000000000510"), 4, "exceeds"),
        (bytes.fromhex("01fe9000"), 4, "truncated"),
        (bytes.fromhex("01fe9000000000022000"), 8, "unknown security"),
        (bytes.fromhex("01fe9000000000021020"), 9, "unknown transport"),
        (bytes.fromhex("01fe900000000002100000"), 10, "after the payload"),
    ],
)
def test_malformed_sdp_is_rejected_with_offset(data, offset, words):
    with pytest.raises(SdpDecodeError) as info:
        decode_sdp(data)
    assert info.value.offset == offset
    assert words in info.value.reason


def test_v2gtp_trailing_bytes_allowed_on_request():
    frame = decode_v2gtp(encode_v2gtp(PayloadType.EXI, b"\x80\x00") + b"\x00", allow_trailing=True)
    assert frame.payload == b"\x80\x00"
    assert frame.payload_type_name == "EXI"


@given(st.binary(max_size=64))
def test_decode_any_bytes_raises_only_decode_error(data):
    try:
        decode_sdp(data)
    except SdpDecodeError as exc:
        assert 0 <= exc.offset <= len(data)


@given(st.binary(max_size=40))
def test_v2gtp_any_bytes(data):
    try:
        decode_v2gtp(data)
    except V2gtpDecodeError:
        pass
