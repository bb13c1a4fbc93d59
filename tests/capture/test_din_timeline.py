"""V2GTP/EXI on the timeline: schema from the supportedAppProtocol negotiation, reassembly, decode errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from capture.reader import read_timeline
from harness.analysis import analyze_capture
from harness.codec.v2g import exi_codec
from harness.codec.v2g.v2gtp import PayloadType, encode_v2gtp
from harness.protocol.din70121.messages import (
    DIN_REQUESTS,
    REQUEST_TO_RESPONSE,
    supported_app_protocol_req,
    supported_app_protocol_res,
)
from harness.verdict.verdicts import Verdict

EV, SECC = "fe80::1", "fe80::2"
EV_PORT, SECC_PORT = 50000, 61000


def _frame(schema: str, message: dict) -> bytes:
    return encode_v2gtp(PayloadType.EXI, exi_codec.encode(schema, message))


def _write_pcap(path: Path, segments: list[tuple[str, bytes, str]]) -> None:
    """A TCP connection EV->SECC with the given (direction, payload, flags) segments after the handshake."""
    from scapy.layers.inet import TCP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    seq = {"ev": 1000, "secc": 5000}
    packets = [
        Ether() / IPv6(src=EV, dst=SECC) / TCP(sport=EV_PORT, dport=SECC_PORT, flags="S", seq=999),
        Ether() / IPv6(src=SECC, dst=EV) / TCP(sport=SECC_PORT, dport=EV_PORT, flags="SA", seq=4999),
    ]
    for direction, payload, flags in segments:
        src, dst, sport, dport = (
            (EV, SECC, EV_PORT, SECC_PORT) if direction == "ev" else (SECC, EV, SECC_PORT, EV_PORT)
        )
        packets.append(
            Ether()
            / IPv6(src=src, dst=dst)
            / TCP(sport=sport, dport=dport, flags=flags, seq=seq[direction])
            / payload
        )
        seq[direction] += len(payload)
    for n, packet in enumerate(packets):
        packet.time = 1_700_000_000 + n * 0.01
    wrpcap(str(path), packets)


def _din(name: str, session: str = "00", content: dict | None = None) -> dict:
    return {"V2G_Message": {"Header": {"SessionID": session}, "Body": {name: content or {}}}}


def test_negotiated_schema_decodes_din_split_across_segments(tmp_path):
    setup = _din("SessionSetupReq", content={"EVCCID": "020000000001"})
    frame = _frame("din", setup)
    _write_pcap(
        tmp_path / "din.pcap",
        [
            ("ev", _frame("app", supported_app_protocol_req()), "PA"),
            ("secc", _frame("app", supported_app_protocol_res("OK_SuccessfulNegotiation", 1)), "PA"),
            ("ev", frame[:5], "PA"),  # header split across segments
            ("ev", frame[5:], "PA"),
        ],
    )
    events = [e for e in read_timeline(tmp_path / "din.pcap") if e.protocol != "TCP"]
    assert [(e.protocol, e.message) for e in events] == [
        ("AppProtocol", "supportedAppProtocolReq"),
        ("AppProtocol", "supportedAppProtocolRes"),
        ("DIN", "SessionSetupReq"),
    ]
    assert events[2].fields == setup
    assert events[2].frame == 6  # the segment that completed the frame


def test_exi_error_reports_bit_offset_and_truncation_at_fin(tmp_path):
    good = _frame("din", _din("ServiceDiscoveryReq", "0123456789ABCDEF"))
    bad_exi = encode_v2gtp(
        PayloadType.EXI, b"\x00" + exi_codec.encode("din", _din("ServiceDiscoveryReq"))[1:]
    )
    _write_pcap(
        tmp_path / "bad.pcap",
        [
            ("ev", _frame("app", supported_app_protocol_req()), "PA"),
            ("secc", _frame("app", supported_app_protocol_res("OK_SuccessfulNegotiation", 1)), "PA"),
            ("ev", bad_exi, "PA"),
            ("ev", good[:12], "FA"),  # closes half way through a frame
        ],
    )
    errors = [e for e in read_timeline(tmp_path / "bad.pcap") if e.error]
    assert [(e.protocol, e.message) for e in errors] == [("DIN", "malformed"), ("V2GTP", "malformed")]
    assert errors[0].fields["offset_bits"] == 0 and "bit 0" in errors[0].error
    assert "incomplete V2GTP frame" in errors[1].error


def test_stream_of_another_protocol_is_not_a_v2gtp_error(tmp_path):
    _write_pcap(tmp_path / "other.pcap", [("ev", b"\xa1\x04\x69\x00 not V2GTP", "PA")])
    events = read_timeline(tmp_path / "other.pcap")
    assert not [e for e in events if e.error]
    assert [e.message for e in events if e.protocol == "TCP"][-1] == "non-V2GTP stream"


def test_din_josev_capture_gives_a_complete_timeline(captures_dir):
    path = captures_dir / "DIN_DC_DS5366_Josev.pcapng"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    timeline, checks = analyze_capture(path)
    din = [e for e in timeline if e.protocol in ("AppProtocol", "DIN")]
    assert not [e for e in timeline if e.error]
    names = {e.message for e in din}
    assert {"supportedAppProtocolReq", "supportedAppProtocolRes"} <= names
    # every request of the DIN DC session and its response
    assert set(DIN_REQUESTS) | {REQUEST_TO_RESPONSE[r] for r in DIN_REQUESTS} <= names
    by_requirement = {}
    for check in checks:
        by_requirement.setdefault(check.requirement, []).append(check)
    assert {c.verdict for c in by_requirement["DIN-SECC-TIME-02"]} <= {Verdict.PASS, Verdict.NOT_APPLICABLE}
    assert Verdict.PASS in {c.verdict for c in by_requirement["DIN-SECC-TIME-02"]}
    # josev's SECC answers one CurrentDemandReq of this capture after 25.8 ms: over the 25 ms budget
    (current_demand,) = by_requirement["DIN-SECC-TIME-01"]
    assert current_demand.verdict is Verdict.FAIL and "limit 25.0 ms" in current_demand.reason


def test_iso2_plain_tcp_capture_decodes_as_iso2(captures_dir):
    path = captures_dir / "ISO-2_DC_DS5366.pcapng"
    if not path.exists():
        pytest.skip(f"{path} is not in the shared data")
    timeline = read_timeline(path)
    assert not [e for e in timeline if e.error]
    v2g = [e for e in timeline if e.protocol in ("AppProtocol", "ISO-2", "DIN")]
    assert {e.protocol for e in v2g} == {"AppProtocol", "ISO-2"}
    assert {"CurrentDemandReq", "SessionStopRes"} <= {e.message for e in v2g}
