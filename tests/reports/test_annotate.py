"""Annotated captures: a comment on every decoded frame, every frame in place, the original untouched."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from capture.pcapng import CaptureFormatError, write_commented
from capture.reader import read_timeline
from capture.timeline import TimelineEvent
from harness.verdict.verdicts import Verdict
from reports.annotate import (
    ANNOTATED_SUFFIX,
    annotate_run,
    annotated_path,
    describe_event,
    frame_comments,
)
from reports.manifest import MANIFEST_FILE, verify_manifest, write_manifest
from reports.model import CheckResult, Evidence, Results

DIN_CAPTURE = "DIN_DC_DS5366_Josev.pcapng"


def _packets(path: Path) -> list:
    from scapy.utils import PcapNgReader, RawPcapReader

    reader = PcapNgReader if path.read_bytes()[:4] == b"\x0a\x0d\x0d\x0a" else RawPcapReader
    with reader(str(path)) as packets:
        return list(packets)


def _comments(path: Path) -> dict[int, str]:
    out = {}
    for number, packet in enumerate(_packets(path), start=1):
        for comment in getattr(packet, "comments", None) or []:
            out[number] = out.get(number, "") + comment.decode("utf-8")
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def din_run(tmp_path: Path, captures_dir: Path, kit) -> tuple[Path, list[TimelineEvent]]:  # noqa: ANN001
    """A run directory around a real DIN SPEC 70121 session (SLAC, SDP, V2G, pilot records)."""
    run_dir = tmp_path / "run"
    (run_dir / "captures").mkdir(parents=True)
    capture = run_dir / "captures" / "din.pcapng"
    shutil.copyfile(captures_dir / DIN_CAPTURE, capture)
    events = read_timeline(capture)
    timeline = kit.write_timeline(run_dir, "DIN", [e.to_json() for e in events])
    v2g = [e for e in events if e.protocol == "DIN"]
    demand = next(e for e in v2g if e.message == "CurrentDemandRes")
    checks = [
        CheckResult(
            requirement="DIN-SECC-01",
            spec={"kind": "sequence"},
            description="SessionSetupReq answered by SessionSetupRes",
            verdict=Verdict.PASS,
            reason="in order",
            frames=[v2g[0].frame, v2g[1].frame],
        ),
        CheckResult(
            requirement="DIN-SECC-99",
            spec={"kind": "response_time"},
            description="CurrentDemandRes within 25 ms",
            verdict=Verdict.FAIL,
            reason="CurrentDemandRes came 31.2 ms after CurrentDemandReq; limit 25 ms",
            frames=[demand.frame],
        ),
    ]
    scenario = kit.scenario(
        "DIN",
        Verdict.FAIL,
        timeline=timeline,
        checks=checks,
        evidence=[Evidence(capture="captures/din.pcapng", frames=[demand.frame])],
    )
    Results(run=kit.run_info(), scenarios=[scenario]).save(run_dir)
    return run_dir, events


def test_every_decoded_frame_carries_its_message_and_verdicts(din_run) -> None:  # noqa: ANN001
    run_dir, events = din_run
    original = run_dir / "captures" / "din.pcapng"
    digest = _sha256(original)

    (done,) = annotate_run(Results.load(run_dir), run_dir)

    assert done.path == run_dir / "captures" / ("din" + ANNOTATED_SUFFIX)
    assert _sha256(original) == digest
    before, after = _packets(original), _packets(done.path)
    assert len(after) == len(before) == done.frames
    assert [bytes(p) for p in after] == [bytes(p) for p in before]
    assert [p.time for p in after] == [p.time for p in before]
    comments = _comments(done.path)
    assert set(comments) == {e.frame for e in events}
    assert done.commented == len(comments)
    for event in events:
        assert f"{event.protocol} {event.message}" in comments[event.frame]
    protocols = {e.protocol for e in events}
    assert {"SLAC", "SDP", "DIN", "PILOT"} <= protocols
    failing = next(e for e in events if e.message == "CurrentDemandRes")
    assert (
        "FAIL DIN-SECC-99 CurrentDemandRes within 25 ms (CurrentDemandRes came 31.2 ms"
        in comments[failing.frame]
    )
    first = next(e for e in events if e.protocol == "DIN")
    assert "PASS DIN-SECC-01" in comments[first.frame]
    assert "(CurrentDemandRes came" not in comments[first.frame]


def test_the_manifest_covers_original_and_annotated_copy(din_run) -> None:  # noqa: ANN001
    run_dir, _ = din_run
    annotate_run(Results.load(run_dir), run_dir)
    write_manifest(run_dir)
    listed = {line.split("  ", 1)[1] for line in (run_dir / MANIFEST_FILE).read_text().splitlines()}
    assert {"captures/din.pcapng", "captures/din.annotated.pcapng"} <= listed
    assert verify_manifest(run_dir) == []
    annotated = run_dir / "captures" / "din.annotated.pcapng"
    data = bytearray(annotated.read_bytes())
    data[len(data) // 2] ^= 0xFF
    annotated.write_bytes(bytes(data))
    assert verify_manifest(run_dir) == [
        "captures/din.annotated.pcapng: content changed (sha256 differs from the manifest)"
    ]


def test_tshark_shows_the_comments(din_run) -> None:  # noqa: ANN001
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed")
    run_dir, events = din_run
    (done,) = annotate_run(Results.load(run_dir), run_dir)

    def fields(path: Path, *extra: str) -> list[list[str]]:
        out = subprocess.run(
            [
                tshark,
                "-n",
                "-r",
                str(path),
                *extra,
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-e",
                "frame.number",
            ]
            + (["-e", "frame.comment"] if extra else ["-e", "frame.protocols"]),
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout.decode("utf-8")
        return [line.split("\t", 1) for line in out.splitlines()]

    # tshark dissects the copy exactly as the original, frame for frame.
    assert fields(done.path) == fields(run_dir / "captures" / "din.pcapng")
    shown = {int(number): comment for number, comment in fields(done.path, "-Y", "frame.comment")}
    assert set(shown) == {e.frame for e in events}
    for event in events:
        if event.protocol == "DIN":
            assert event.message in shown[event.frame]


def _block(endian: str, block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack(endian + "II", block_type, total) + body + struct.pack(endian + "I", total)


def _pcapng(endian: str, packets: list[bytes], epb_options: bytes = b"") -> bytes:
    shb = _block(endian, 0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(endian, 1, struct.pack(endian + "HHI", 1, 0, 65535))
    out = shb + idb
    for index, data in enumerate(packets):
        padded = data + b"\0" * (-len(data) % 4)
        body = struct.pack(endian + "IIIII", 0, 0, 1000 + index, len(data), len(data)) + padded + epb_options
        out += _block(endian, 6, body)
    return out


@pytest.mark.parametrize("endian", ["<", ">"])
def test_existing_options_stay_and_both_byte_orders_work(tmp_path: Path, endian: str) -> None:
    frame = bytes(range(60))
    # epb_flags (code 2, 4 bytes: inbound) and the end of options.
    flags = struct.pack(endian + "HHI", 2, 4, 1) + struct.pack(endian + "HH", 0, 0)
    source = tmp_path / "in.pcapng"
    source.write_bytes(_pcapng(endian, [frame, frame[:13]], flags))
    target = tmp_path / "out.pcapng"

    assert write_commented(source, target, {2: "second", 7: "beyond the end"}) == (2, 1)

    data = target.read_bytes()
    assert data.count(struct.pack(endian + "HHI", 2, 4, 1)) == 2  # both packets keep their flags
    assert b"second" in data
    packets = _packets(target) if endian == "<" else None
    if packets is not None:
        assert [bytes(p) for p in packets] == [frame, frame[:13]]
        assert packets[1].comments == [b"second"]


def test_a_truncated_tail_is_kept_as_it_was(tmp_path: Path) -> None:
    whole = _pcapng("<", [b"a" * 40, b"b" * 40])
    source = tmp_path / "cut.pcapng"
    source.write_bytes(whole[:-10])  # dumpcap killed mid-write
    target = tmp_path / "out.pcapng"
    assert write_commented(source, target, {1: "first", 2: "second"}) == (1, 1)
    assert target.read_bytes().endswith(whole[-(12 + 20 + 40) : -10])


def test_a_classic_pcap_becomes_pcapng_with_the_same_frames(tmp_path: Path) -> None:
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    packets = [Ether(dst="ff:ff:ff:ff:ff:ff") / (bytes([n]) * 50) for n in range(3)]
    for n, packet in enumerate(packets):
        packet.time = 1_764_100_000 + n / 1000
    source = tmp_path / "old.pcap"
    wrpcap(str(source), packets)
    target = annotated_path(source)
    assert target.name == "old.annotated.pcapng"

    assert write_commented(source, target, {3: "third"}) == (3, 1)

    converted = _packets(target)
    assert [bytes(p) for p in converted] == [bytes(p) for p in packets]
    assert [float(p.time) for p in converted] == pytest.approx([float(p.time) for p in packets], abs=1e-6)
    assert _comments(target) == {3: "third"}


def test_not_a_capture(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_bytes(b"no capture here, just text")
    with pytest.raises(CaptureFormatError):
        write_commented(source, tmp_path / "out.pcapng", {1: "x"})
    assert not (tmp_path / "out.pcapng").exists()


def test_a_run_without_usable_captures_still_annotates_the_rest(full_run: Path) -> None:
    # full_run's S1 capture is a stub, S2's is missing, the others recorded none.
    done = {a.scenario: a for a in annotate_run(Results.load(full_run), full_run)}
    assert set(done) == {"S1", "S2"}
    assert done["S1"].path is None and "not annotated" in (done["S1"].note or "")
    assert done["S2"].path is None and done["S2"].note == "capture file missing"


def test_comments_name_key_fields_decode_errors_and_uncovered_frames(kit) -> None:  # noqa: ANN001
    demand = TimelineEvent(
        0.0,
        5,
        "a",
        "b",
        "DIN",
        "PreChargeReq",
        {
            "V2G_Message": {
                "Header": {"SessionID": "5E55101D00C0FFEE"},
                "Body": {
                    "PreChargeReq": {
                        "DC_EVStatus": {"EVReady": True, "EVRESSSOC": 79},
                        "EVTargetVoltage": {"Multiplier": -1, "Unit": "V", "Value": 3784},
                    }
                },
            }
        },
    )
    assert describe_event(demand) == (
        "DIN PreChargeReq: SessionID=5E55101D00C0FFEE EVReady=True EVRESSSOC=79 EVTargetVoltage=378.4 V"
    )
    bad = TimelineEvent(0.1, 6, "b", "a", "DIN", "malformed", {"raw": "80ff"}, "EXI decode error at bit 9")
    assert describe_event(bad) == "DIN malformed: DECODE ERROR EXI decode error at bit 9"
    check = CheckResult(
        requirement=None,
        spec={"kind": "x"},
        description="an answer comes",
        verdict=Verdict.INCONCLUSIVE,
        reason="no answer",
        frames=[6, 6, 9],
    )
    comments = frame_comments([demand, bad], [check])
    assert comments == {
        5: describe_event(demand),
        6: describe_event(bad) + " | checks: INCONCLUSIVE - an answer comes (no answer)",
        9: "(not on the timeline) | checks: INCONCLUSIVE - an answer comes (no answer)",
    }


def test_the_key_log_beside_a_capture_travels_inside_the_copy(
    tmp_path: Path, captures_dir: Path, kit
) -> None:  # noqa: ANN001
    name = "ISO-2_DC_PnC_TLS_Contract_DS5366_RiseV2G.pcapng"
    run_dir = tmp_path / "run"
    (run_dir / "captures").mkdir(parents=True)
    capture = run_dir / "captures" / "tls.pcapng"
    shutil.copyfile(captures_dir / name, capture)
    keylog = (captures_dir / "keys" / f"{name}.keys").read_bytes()
    (run_dir / "captures" / "tls.keys").write_bytes(
        keylog
    )  # where the harness keeps it (tls_http.keylog_for)
    scenario = kit.scenario("TLS", Verdict.PASS, evidence=[Evidence(capture="captures/tls.pcapng")])
    Results(run=kit.run_info(), scenarios=[scenario]).save(run_dir)

    (done,) = annotate_run(Results.load(run_dir), run_dir)

    data = done.path.read_bytes()
    shb_length = struct.unpack_from("<I", data, 4)[0]
    block_type, _, secrets_type, length = struct.unpack_from("<IIII", data, shb_length)
    assert (block_type, secrets_type) == (0x0000000A, 0x544C534B)  # a Decryption Secrets Block, TLS key log
    assert data[shb_length + 16 : shb_length + 16 + length] == keylog
    assert [bytes(p) for p in _packets(done.path)] == [bytes(p) for p in _packets(capture)]
    tshark = shutil.which("tshark")
    if tshark is None:
        return

    def finished(path: Path) -> int:
        # The TLS 1.2 Finished messages are encrypted: tshark sees them only with the keys.
        out = subprocess.run(
            [tshark, "-n", "-r", str(path), "-Y", "tls.handshake.type == 20"],
            capture_output=True,
            check=True,
            timeout=120,
        )
        return len(out.stdout.splitlines())

    assert finished(capture) == 0
    assert finished(done.path) == 2
