"""The fixed cost a capture adds to every scenario: start, a small exchange, stop with the sync marker, for
the packet socket against dumpcap (the baseline), in the same run and on the same veth pair.

    .venv/bin/python benchmarks/bench_capture_stop.py [--rounds N]

Needs root (a veth pair between namespaces, packet sockets) and dumpcap.  Each round captures an SDP
request sent just before the stop, so a backend that stopped before writing it is caught (the round is
counted as lost).  Prints a Markdown table: median and worst start and stop times per backend, the
frames lost, and the packet socket's median stop time as a ratio of dumpcap's.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from capture.live import start_capture  # noqa: E402
from capture.reader import read_timeline  # noqa: E402
from harness.codec.v2g.sdp import SeccDiscoveryReq, encode_sdp  # noqa: E402
from harness.transport.netns import can_use_netns, create_veth_link, destroy_veth_link  # noqa: E402

BACKENDS = ("dumpcap", "packet")
REQUEST = encode_sdp(SeccDiscoveryReq())


def one_round(backend: str, interface: str, target: str, scope: int, path: Path) -> tuple[float, float, bool]:
    """(start s, stop s, whether the request sent just before the stop is in the file)."""
    t0 = time.perf_counter()
    capture, _ = start_capture(backend, interface, path, ("ff02::1", 9, 0, scope))
    t1 = time.perf_counter()
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.sendto(REQUEST, (target, 15118, 0, scope))
    t2 = time.perf_counter()
    capture.stop()
    t3 = time.perf_counter()
    kept = any(e.message == "SECCDiscoveryReq" for e in read_timeline(path))
    return t1 - t0, t3 - t2, kept


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20, help="captures per backend (default 20)")
    args = parser.parse_args()
    if not can_use_netns():
        print("needs root and iproute2 (a veth pair)", file=sys.stderr)
        return 2
    link = create_veth_link()
    rows: dict[str, list[tuple[float, float, bool]]] = {name: [] for name in BACKENDS}
    try:
        scope = socket.if_nametoindex(link.tester_interface)
        with tempfile.TemporaryDirectory() as tmp:
            for index in range(args.rounds):  # interleaved, so both see the same machine load
                for name in BACKENDS:
                    path = Path(tmp) / f"{name}-{index}.pcapng"
                    rows[name].append(one_round(name, link.tester_interface, link.dut_address, scope, path))
    finally:
        destroy_veth_link(link)
    print("| backend | rounds | start median ms | stop median ms | stop worst ms | frames lost |")
    print("|---|---|---|---|---|---|")
    medians = {}
    for name, results in rows.items():
        starts, stops = [r[0] * 1000 for r in results], [r[1] * 1000 for r in results]
        medians[name] = statistics.median(stops)
        lost = sum(not r[2] for r in results)
        print(
            f"| {name} | {len(results)} | {statistics.median(starts):.1f} | {medians[name]:.1f} | "
            f"{max(stops):.1f} | {lost} |"
        )
    print(f"\npacket socket stop / dumpcap stop (medians): {medians['packet'] / medians['dumpcap']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
