"""Streaming analysis of a capture: the header fast path decodes as scapy's dissection does, closed
TCP state is released, and the streaming judges and output equal the whole-timeline path."""

from __future__ import annotations

import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from capture.pcap import records
from capture.reader import (
    CLOSED_FLOW_KEPT_S,
    Flows,
    _ethernet_events,
    _frames_events,
    _scapy_events,
    read_timeline,
)
from capture.timeline import TimelineEvent
from harness.analysis import CaptureAnalysis, analyze_capture, streaming_judge
from harness.codec.v2g.v2gtp import PayloadType, encode_v2gtp
from harness.commands.analyze import _json_document, _text
from harness.verdict.expectations import Parties, evaluate
from harness.verdict.protocol_checks import PROTOCOL_CHECKS

SHARED = [
    "DIN_DC_DS5366_Josev.pcapng",
    "ISO-2_DC_DS5366.pcapng",
    "ISO-2_DC_multi_EVSE_SLAC_DS5366_Josev.pcapng",
    "ISO-2_DC_PnC_TLS_Contract_DS5366_RiseV2G.pcapng",
    "ISO-20_BPT_AC_DS5366_Josev.pcapng",
    "IEC61851_AC_PWM_Basic.pcapng",
]
EV, SECC = "fe80::1", "fe80::2"
EV_PORT, SECC_PORT = 50000, 61000


def _both_paths(frames: list[tuple[float, bytes]]) -> tuple[list, list, int]:
    """Events of each frame by the header fast path and by scapy's dissection (own TCP state each)."""
    fast_flows, scapy_flows = Flows(), Flows()
    fast, dissected, taken = [], [], 0
    for number, (t, frame) in enumerate(frames, start=1):
        events = _ethernet_events(frame, t, number, fast_flows)
        if events is None:
            events = _scapy_events(frame, 1, t, number, fast_flows)
        else:
            taken += 1
        fast.extend(events)
        dissected.extend(_scapy_events(frame, 1, t, number, scapy_flows))
    return fast, dissected, taken


@pytest.mark.parametrize("name", SHARED)
def test_fast_path_decodes_as_scapy_dissection(captures_dir: Path, name: str) -> None:
    frames = [(t, frame) for t, _, frame in records(captures_dir / name)]
    fast, dissected, taken = _both_paths(frames)
    assert fast == dissected
    assert fast  # every one of these captures has events
    assert taken == len(frames)  # plain Ethernet/IPv6: nothing needed scapy


def _ether(payload, src: str = EV, dst: str = SECC, vlan: int | None = None):  # noqa: ANN001, ANN202
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Dot1Q, Ether

    head = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    if vlan is not None:
        head = head / Dot1Q(vlan=vlan)
    return head / IPv6(src=src, dst=dst) / payload


def test_unusual_frames_decode_as_scapy_dissection() -> None:
    from scapy.layers.inet import IP, TCP, UDP
    from scapy.layers.inet6 import ICMPv6DestUnreach, IPv6, IPv6ExtHdrHopByHop
    from scapy.layers.l2 import Ether

    sdp_request = bytes.fromhex("01fe9000000000021000")  # SECCDiscoveryReq, no TLS, TCP
    frames = [
        bytes(_ether(UDP(sport=50001, dport=15118) / sdp_request, dst="ff02::1")),
        bytes(_ether(UDP(sport=50001, dport=15118) / sdp_request, dst="ff02::1", vlan=5)),  # scapy's
        bytes(_ether(UDP(sport=50001, dport=7) / b"ping")) + b"TRAILER!",  # trailer is not payload
        bytes(_ether(IPv6ExtHdrHopByHop() / UDP(sport=50001, dport=15118) / sdp_request, dst="ff02::1")),
        bytes(_ether(ICMPv6DestUnreach() / IPv6(src=SECC, dst=EV) / UDP(sport=15118, dport=50001))),
        bytes(_ether(TCP(sport=EV_PORT, dport=SECC_PORT, flags="S", seq=1))),
        bytes(_ether(TCP(sport=EV_PORT, dport=SECC_PORT, flags="PA", seq=2) / b"\x01\xfe\x80\x01"))[:-2],
        bytes(Ether() / IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=15118) / sdp_request),
        bytes(Ether(type=0x0806) / (b"\0" * 28)),
        b"\x01\x02\x03",
    ]
    fast, dissected, taken = _both_paths([(1_700_000_000 + n / 10, f) for n, f in enumerate(frames)])
    assert fast == dissected
    assert [e.message for e in fast if e.protocol == "SDP"] == ["SECCDiscoveryReq"] * 3
    echo = next(e for e in fast if e.protocol == "ECHO")
    assert echo.fields["length"] == 4
    assert 0 < taken < len(frames)  # some frames needed scapy, and it gave the same


def _tcp(t: float, src: str, dst: str, sport: int, dport: int, flags: str, seq: int, payload: bytes = b""):
    from scapy.layers.inet import TCP

    return t, 1, bytes(_ether(TCP(sport=sport, dport=dport, flags=flags, seq=seq) / payload, src, dst))


def _handshake_frame() -> bytes:
    from harness.codec.v2g import exi_codec
    from harness.protocol.din70121.messages import supported_app_protocol_req

    return encode_v2gtp(PayloadType.EXI, exi_codec.encode("app", supported_app_protocol_req()))


def test_closed_connection_state_is_released_after_time_wait() -> None:
    request = _handshake_frame()
    t0 = 1_700_000_000.0
    ev = (EV, SECC, EV_PORT, SECC_PORT)
    secc = (SECC, EV, SECC_PORT, EV_PORT)
    frames = [
        _tcp(t0, *ev, "S", 99),
        _tcp(t0 + 0.001, *secc, "SA", 499),
        _tcp(t0 + 0.01, *ev, "PA", 100, request),
        _tcp(t0 + 0.02, *ev, "FA", 100 + len(request)),
        _tcp(t0 + 0.03, *secc, "FA", 500),
    ]
    flows = Flows()
    events = list(_frames_events(iter(frames), flows))
    assert (EV, EV_PORT, SECC, SECC_PORT) in flows.streams
    # A retransmission inside TIME-WAIT is recognised as one (no second decode) ...
    late = [_tcp(t0 + 10, *ev, "PA", 100, request)]
    assert [e.message for e in _frames_events(iter(late), flows)] == []
    # ... and once TIME-WAIT has passed, nothing of the connection is left.
    after = [_tcp(t0 + 1 + CLOSED_FLOW_KEPT_S, "fe80::9", SECC, 40000, 80, "S", 1)]
    list(_frames_events(iter(after), flows))
    assert set(flows.streams) == {("fe80::9", 40000, SECC, 80)}
    assert [e.message for e in events if e.protocol == "AppProtocol"] == ["supportedAppProtocolReq"]


def test_open_connection_state_is_kept() -> None:
    request = _handshake_frame()
    t0 = 1_700_000_000.0
    frames = [
        _tcp(t0, EV, SECC, EV_PORT, SECC_PORT, "S", 99),
        _tcp(t0 + 0.01, EV, SECC, EV_PORT, SECC_PORT, "PA", 100, request[:5]),
        _tcp(t0 + 10 * CLOSED_FLOW_KEPT_S, "fe80::9", SECC, 40000, 80, "S", 1),
    ]
    flows = Flows()
    list(_frames_events(iter(frames), flows))
    assert flows.streams[(EV, EV_PORT, SECC, SECC_PORT)].buffer == request[:5]


def _streamed(spec: dict, events: list[TimelineEvent], keep_frames: bool = True):  # noqa: ANN202
    judge = streaming_judge(spec, Parties(frozenset()), keep_frames)
    for event in events:
        judge.feed(event)
    return judge.outcome()


@pytest.mark.parametrize("name", SHARED)
def test_streaming_judges_equal_evaluate_on_shared_captures(captures_dir: Path, name: str) -> None:
    timeline = read_timeline(captures_dir / name)
    for _, _, spec in PROTOCOL_CHECKS:
        assert _streamed(spec, timeline) == evaluate(spec, timeline, Parties(frozenset()))


_MESSAGES = [
    ("SDP", "SECCDiscoveryReq", None),
    ("SDP", "SECCDiscoveryRes", None),
    ("DIN", "CurrentDemandReq", None),
    ("DIN", "CurrentDemandRes", None),
    ("DIN", "malformed", "EXI decode error"),
    ("TCP", "SYN", None),
]
_HOSTS = ["fe80::1", "fe80::2", "fe80::3"]
_SPECS = [
    {"kind": "present", "select": {"error": True}, "min": 0, "max": 0},
    {"kind": "present", "select": {"protocol": "DIN", "message": "CurrentDemandReq"}, "min": 2, "max": 4},
    {
        "kind": "present",
        "select": {"protocol": "DIN", "message": "CurrentDemandReq"},
        "max": 1,
        "connection": "first",
    },
    {"kind": "present", "select": {"protocol": "SDP", "message": "SECCDiscoveryRes"}},
    *(
        {
            "kind": "response_time",
            "request": {"protocol": proto, "message": f"{name}Req"},
            "response": {"protocol": proto, "message": f"{name}Res"},
            "max_s": limit,
            "on_missing": "NOT_APPLICABLE",
        }
        for proto, name in (("SDP", "SECCDiscovery"), ("DIN", "CurrentDemand"))
        for limit in (0.05, 0.2)
    ),
    *(
        {
            "kind": "interval",
            "select": {"protocol": "SDP", "message": "SECCDiscoveryReq"},
            "min_s": 0.1,
            "per_source": per_source,
            **extra,
        }
        for per_source in (True, False)
        for extra in ({}, {"max_s": 0.3}, {"tolerance_s": 0.05, "on_missing": "NOT_APPLICABLE"})
    ),
]


def _random_timeline(rng: random.Random) -> list[TimelineEvent]:
    events, t = [], 1_700_000_000.0
    for frame in range(1, rng.randint(0, 40) + 1):
        t += rng.choice([0.0, 0.01, 0.05, 0.12, 0.3])
        protocol, message, error = rng.choice(_MESSAGES)
        src, dst = rng.sample(_HOSTS, 2)
        if rng.random() < 0.1:
            dst = "ff02::1"
        sport, dport = rng.choice([(15118, 50000), (50000, 15118), (61000, 50000), (50000, 61000)])
        events.append(TimelineEvent(t, frame, src, dst, protocol, message, {}, error, sport, dport))
    return events


def test_streaming_judges_equal_evaluate_on_random_timelines() -> None:
    rng = random.Random(15)
    verdicts = set()
    for _ in range(400):
        timeline = _random_timeline(rng)
        for spec in _SPECS:
            expected = evaluate(spec, timeline, Parties(frozenset()))
            assert _streamed(spec, timeline) == expected, (spec, timeline)
            assert _streamed(spec, timeline, keep_frames=False).reason == expected.reason
            verdicts.add((spec["kind"], expected.verdict))
    # the random timelines reached every outcome of every kind
    assert {v for k, v in verdicts if k == "response_time"} >= {"PASS", "FAIL", "NOT_APPLICABLE"}
    assert {v for k, v in verdicts if k == "interval"} >= {"PASS", "FAIL", "NOT_APPLICABLE"}
    assert {v for k, v in verdicts if k == "present"} >= {"PASS", "FAIL"}


def test_no_streaming_judge_for_kinds_that_need_the_whole_timeline() -> None:
    with pytest.raises(ValueError, match="no streaming judge"):
        streaming_judge({"kind": "sequence", "pattern": []}, Parties(frozenset()))


def test_checks_are_known_only_after_the_last_event(captures_dir: Path) -> None:
    analysis = CaptureAnalysis(captures_dir / "IEC61851_AC_PWM_Basic.pcapng")
    with pytest.raises(RuntimeError):
        analysis.checks()


@pytest.mark.parametrize(
    "name", ["DIN_DC_DS5366_Josev.pcapng", "ISO-2_DC_multi_EVSE_SLAC_DS5366_Josev.pcapng"]
)
def test_streamed_json_is_the_whole_document(captures_dir: Path, name: str) -> None:
    timeline, checks = analyze_capture(captures_dir / name)
    whole = {
        "timeline": [e.to_json() for e in timeline],
        "checks": [
            {
                "requirement": c.requirement,
                "description": c.description,
                "verdict": c.verdict.value,
                "reason": c.reason,
                "frames": c.frames,
            }
            for c in checks
        ],
    }
    out = io.StringIO()
    _json_document(CaptureAnalysis(captures_dir / name), out)
    assert out.getvalue() == json.dumps(whole, indent=1) + "\n"


def test_streamed_json_of_a_capture_without_events(tmp_path: Path) -> None:
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    path = tmp_path / "arp.pcap"
    wrpcap(str(path), [Ether(type=0x0806) / (b"\0" * 28)])
    out = io.StringIO()
    _json_document(CaptureAnalysis(path), out)
    assert json.loads(out.getvalue())["timeline"] == []
    assert out.getvalue().startswith('{\n "timeline": [],\n "checks": [\n')


def test_text_timestamps_are_wall_clock_milliseconds(captures_dir: Path) -> None:
    path = captures_dir / "DIN_DC_DS5366_Josev.pcapng"
    out = io.StringIO()
    _text(CaptureAnalysis(path, keep_frames=False), out)
    lines = out.getvalue().splitlines()
    timeline = read_timeline(path)
    for event, line in zip(timeline, lines, strict=False):
        stamp = datetime.fromtimestamp(event.t, UTC).strftime("%H:%M:%S.%f")[:-3]
        assert line.split()[1] == stamp
    assert f"{len(timeline)} events" in lines
