"""`vgi analyze CAPTURE` against `tshark -V` on the same big capture, in the same run.

    .venv/bin/python benchmarks/bench_analyze_capture.py [--sessions N] [--big] [--template PCAP]

The capture is synthetic: a real session (default /work/shared/captures/DIN_DC_DS5366_Josev.pcapng,
a DIN SPEC 70121 DC session with SLAC, SDP and 200 V2G messages) repeated ``--sessions`` times, one
after the other (each copy shifted by the template's duration plus one second), every copy with its
own EVCC: the EVCC's MAC address, its IPv6 address and its TCP port differ per copy, so the copies are
distinct sessions (distinct TCP connections, SDP senders and SLAC peers).  The MAC and IPv6 address are
rewritten checksum-neutrally (two 16-bit words moved by +k and -k, one's-complement sum unchanged, as
RFC 6296 does), wherever the bytes occur (Ethernet header, IPv6 header, NDP options, SLAC payloads);
the port change updates the TCP checksum incrementally (RFC 1624 eqn. 3).  Every checksum in the copy
therefore stays valid.  The file is written as pcapng by hand (SHB, IDB, EPBs).

Both tools run as child processes on the same file: tshark with ``-V`` (every packet fully dissected
and printed) to /dev/null, `vgi analyze CAPTURE` (text timeline and the protocol-level checks) into
``tail``; wall time, packets per second, CPU time and peak RSS of each child (os.wait4).  The bench checks
that our output holds every event of every session (the template's event count times the copies)
and no malformed frame.  ``--big`` adds a capture of about 1 GB (``--big-sessions``, default 15,500
copies of the DIN template, ~6.9 million packets): about 20 minutes on 2 cores under load (20 s to
write it, 7 to 9 minutes per tool; tshark needs 2.7 GB of memory for it).
"""

from __future__ import annotations

import argparse
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from capture.pcap import records  # noqa: E402
from capture.reader import read_timeline  # noqa: E402
from harness.codec.v2g.sdp import SDP_SERVER_PORT  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = Path("/work/shared/captures/DIN_DC_DS5366_Josev.pcapng")
SESSION_GAP_US = 1_000_000
# Ephemeral port range (RFC 6335 6): each copy's EVCC port is drawn from it.
EPHEMERAL_LOW, EPHEMERAL_SPAN = 49152, 16384
ETHERTYPE_IPV6 = 0x86DD
IP_PROTO_TCP, IP_PROTO_UDP = 6, 17


@dataclass
class _Packet:
    t_us: int
    frame: bytes
    port_at: tuple[int, ...] = ()  # offsets of the EVCC's TCP port in the frame
    checksum_at: int | None = None  # offset of the TCP checksum


@dataclass
class Template:
    packets: list[_Packet]
    mac: bytes
    address: bytes
    port: int
    duration_us: int


def load_template(path: Path) -> Template:
    """The session to repeat, with the EVCC found from it: the sender of the SECCDiscoveryReq (its
    MAC and IPv6 address) and the source port of its first TCP SYN."""
    raw = [(round(t * 1_000_000), frame) for t, linktype, frame in records(path) if linktype == 1]
    evcc = next(
        f
        for _, f in raw
        if _ethertype(f) == ETHERTYPE_IPV6 and f[20] == IP_PROTO_UDP and _port(f, 56) == SDP_SERVER_PORT
    )
    mac, address = evcc[6:12], evcc[22:38]
    port = next(
        _port(f, 54)
        for _, f in raw
        if _ethertype(f) == ETHERTYPE_IPV6 and f[20] == IP_PROTO_TCP and f[22:38] == address and f[67] & 0x02
    )
    packets = []
    for t_us, frame in raw:
        packet = _Packet(t_us, frame)
        if _ethertype(frame) == ETHERTYPE_IPV6 and frame[20] == IP_PROTO_TCP and len(frame) >= 74:
            at = tuple(
                o for o, a in ((54, 22), (56, 38)) if _port(frame, o) == port and frame[a : a + 16] == address
            )
            if at:
                packet.port_at, packet.checksum_at = at, 70
        packets.append(packet)
    duration = raw[-1][0] - raw[0][0]
    return Template(packets, mac, address, port, duration)


def _ethertype(frame: bytes) -> int:
    return int.from_bytes(frame[12:14], "big") if len(frame) >= 54 else 0


def _port(frame: bytes, offset: int) -> int:
    return int.from_bytes(frame[offset : offset + 2], "big")


def _neutral(raw: bytes, k: int) -> bytes:
    """``raw`` with its last two 16-bit words moved by +k and -k (mod 0xFFFF): a different value with
    the same one's-complement sum, so no checksum covering it changes."""
    a, b = int.from_bytes(raw[-4:-2], "big"), int.from_bytes(raw[-2:], "big")
    a, b = (a + k) % 0xFFFF, (b - k) % 0xFFFF
    return raw[:-4] + a.to_bytes(2, "big") + b.to_bytes(2, "big")


def _ones_add(a: int, b: int) -> int:
    s = a + b
    return (s & 0xFFFF) + (s >> 16)


def write_capture(path: Path, template: Template, sessions: int) -> int:
    """The template repeated ``sessions`` times as distinct sessions; returns the packet count."""
    count = 0
    with open(path, "wb", buffering=1 << 22) as out:
        out.write(struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28))
        out.write(struct.pack("<IIHHI", 1, 20, 1, 0, 0) + struct.pack("<I", 20))  # IDB: Ethernet, us
        for k in range(sessions):
            mac, address = _neutral(template.mac, k), _neutral(template.address, k)
            port = EPHEMERAL_LOW + (template.port - EPHEMERAL_LOW + 7919 * k) % EPHEMERAL_SPAN
            shift = k * (template.duration_us + SESSION_GAP_US)
            for packet in template.packets:
                frame = packet.frame.replace(template.mac, mac).replace(template.address, address)
                if packet.port_at and packet.checksum_at is not None:
                    data = bytearray(frame)
                    at = packet.checksum_at
                    checksum = int.from_bytes(data[at : at + 2], "big")
                    for offset in packet.port_at:
                        # RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
                        checksum = (
                            ~_ones_add(_ones_add(~checksum & 0xFFFF, ~template.port & 0xFFFF), port) & 0xFFFF
                        )
                        data[offset : offset + 2] = port.to_bytes(2, "big")
                    data[at : at + 2] = checksum.to_bytes(2, "big")
                    frame = bytes(data)
                t_us = packet.t_us + shift
                padded = frame + b"\0" * (-len(frame) % 4)
                length = 32 + len(padded)
                out.write(
                    struct.pack(
                        "<IIIIIII", 6, length, 0, t_us >> 32, t_us & 0xFFFFFFFF, len(frame), len(frame)
                    )
                    + padded
                    + struct.pack("<I", length)
                )
                count += 1
    return count


@dataclass
class Measured:
    seconds: float
    cpu_s: float  # the child's own user + system time: less moved by other load than wall time
    peak_rss_mb: float
    tail: str


def run_child(command: list[str], to_tail: bool) -> Measured:
    """Run a child, its stdout to /dev/null or into `tail`; wall time and its own peak RSS."""
    start = time.perf_counter()
    if to_tail:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, cwd=REPO_ROOT)
        tail = subprocess.Popen(["tail", "-n", "40"], stdin=child.stdout, stdout=subprocess.PIPE, text=True)
        assert child.stdout is not None
        child.stdout.close()
    else:
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        tail = None
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    text = tail.communicate()[0] if tail is not None else ""
    if child.returncode != 0:
        raise SystemExit(f"{command[0]} exited {child.returncode}")
    return Measured(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text)


def measure(label: str, path: Path, template: Template, sessions: int, per_session: int) -> dict:
    started = time.perf_counter()
    packets = write_capture(path, template, sessions)
    built = time.perf_counter() - started
    size_mb = path.stat().st_size / 1e6
    tshark = run_child(["tshark", "-V", "-r", str(path)], to_tail=False)
    ours = run_child([sys.executable, "-m", "harness.cli", "analyze", str(path)], to_tail=True)
    events = int(next(line for line in ours.tail.splitlines() if line.endswith(" events")).split()[0])
    malformed = next(line for line in ours.tail.splitlines() if "every frame of a protocol" in line)
    if events != per_session * sessions or not malformed.startswith("PASS"):
        raise SystemExit(f"decoded {events} events, expected {per_session * sessions}; {malformed}")
    row = {
        "label": label,
        "sessions": sessions,
        "packets": packets,
        "size_mb": size_mb,
        "built_s": built,
        "events": events,
        "tshark_s": tshark.seconds,
        "tshark_pps": packets / tshark.seconds,
        "tshark_rss_mb": tshark.peak_rss_mb,
        "tshark_cpu_pps": packets / tshark.cpu_s,
        "ours_s": ours.seconds,
        "ours_pps": packets / ours.seconds,
        "ours_rss_mb": ours.peak_rss_mb,
        "ours_cpu_pps": packets / ours.cpu_s,
    }
    row["ratio"] = row["ours_pps"] / row["tshark_pps"]
    row["cpu_ratio"] = row["ours_cpu_pps"] / row["tshark_cpu_pps"]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument("--sessions", type=int, default=100, help="copies in the small capture")
    parser.add_argument("--big", action="store_true", help="also a ~1 GB capture (about 20 minutes)")
    parser.add_argument("--big-sessions", type=int, default=15_500)
    args = parser.parse_args()
    template = load_template(args.template)
    with tempfile.TemporaryDirectory(prefix="bench-analyze-") as tmp:
        one = Path(tmp) / "one.pcapng"
        write_capture(one, template, 1)
        per_session = len(read_timeline(one))
        rows = [measure("small", Path(tmp) / "small.pcapng", template, args.sessions, per_session)]
        if args.big:
            (Path(tmp) / "small.pcapng").unlink()
            rows.append(measure("big", Path(tmp) / "big.pcapng", template, args.big_sessions, per_session))
    print(f"template {args.template.name}: {len(template.packets)} packets, {per_session} events per session")
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; self peak RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    print(
        "| capture | sessions | packets | MB | tshark -V s | tshark pkt/s | tshark RSS MB "
        "| vgi analyze s | vgi pkt/s | vgi RSS MB | vgi / tshark | same, per CPU second |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['label']} | {r['sessions']} | {r['packets']} | {r['size_mb']:.0f} | {r['tshark_s']:.1f} "
            f"| {r['tshark_pps']:.0f} | {r['tshark_rss_mb']:.0f} | {r['ours_s']:.1f} | {r['ours_pps']:.0f} "
            f"| {r['ours_rss_mb']:.0f} | {r['ratio']:.2f} | {r['cpu_ratio']:.2f} |"
        )
        print(
            f"  ({r['label']}: built in {r['built_s']:.1f} s, {r['events']} events decoded, 0 malformed; "
            f"per CPU second tshark {r['tshark_cpu_pps']:.0f} pkt/s, vgi {r['ours_cpu_pps']:.0f} pkt/s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
