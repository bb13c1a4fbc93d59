"""Capture backends write pcapng that the timeline reader decodes; the sync marker makes the sniffers'
captures complete."""

import ipaddress
import os
import shutil
import socket

import pytest

from capture.live import start_capture
from capture.reader import read_timeline
from harness.codec.v2g.sdp import SeccDiscoveryReq, SeccDiscoveryRes, encode_sdp

REQ = encode_sdp(SeccDiscoveryReq())
RES = encode_sdp(SeccDiscoveryRes(ipaddress.IPv6Address("::1"), 50000))


def test_tap_records_what_the_transports_report(tmp_path):
    capture, note = start_capture("tap", "lo", tmp_path / "tap.pcapng")
    assert capture.backend == "tap" and note is None
    capture.writer.datagram("tx", ("::1", 40000), ("::1", 15118), REQ, 1000.0)
    capture.writer.datagram("rx", ("::1", 15118), ("::1", 40000), RES, 1000.25)
    capture.writer.datagram("tx", ("::1", 40000), ("::1", 15118), b"\x01\xfe\x90\x00\x00", 1000.5)
    capture.writer.connection(("::1", 40001), ("::1", 50000), 1000.75)
    capture.stop()
    timeline = read_timeline(tmp_path / "tap.pcapng")
    assert [e.message for e in timeline] == ["SECCDiscoveryReq", "SECCDiscoveryRes", "malformed", "SYN"]
    assert timeline[0].sport == 40000 and timeline[1].fields["SECCPort"] == 50000
    assert timeline[2].error and timeline[2].fields["offset"] == 5
    assert [e.t for e in timeline] == [1000.0, 1000.25, 1000.5, 1000.75]


@pytest.fixture
def veth():
    from harness.transport.netns import can_use_netns, create_veth_link, destroy_veth_link

    if not can_use_netns():
        pytest.skip("needs root and iproute2 for a veth pair")
    link = create_veth_link()
    yield link
    destroy_veth_link(link)


@pytest.mark.parametrize("backend", ["packet", "dumpcap", "scapy"])
def test_sniffers_capture_link_traffic_completely(veth, tmp_path, backend):
    if backend == "dumpcap" and not shutil.which("dumpcap"):
        pytest.skip("dumpcap not installed")
    path = tmp_path / f"{backend}.pcapng"
    scope = socket.if_nametoindex(veth.tester_interface)
    capture, _ = start_capture(backend, veth.tester_interface, path, ("ff02::1", 9, 0, scope))
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.sendto(REQ, (veth.dut_address, 15118, 0, scope))
    capture.stop()  # at once after sending: only the sync marker keeps the frame in the file
    requests = [e for e in read_timeline(path) if e.message == "SECCDiscoveryReq"]
    assert len(requests) == 1 and requests[0].dst == veth.dut_address


@pytest.mark.skipif(os.geteuid() != 0, reason="a packet socket needs root")
def test_the_packet_socket_keeps_each_loopback_frame_once_with_its_direction(tmp_path):
    """On loopback every frame passes the tap twice; like libpcap, the capture keeps the incoming copy.  A
    TCP exchange's frames come out once each, in order, with kernel timestamps, and the file closes with
    the interface's statistics."""
    from capture.pcap import records

    path = tmp_path / "lo.pcapng"
    capture, note = start_capture("packet", "lo", path, ("::1", 9, 0, 0))
    assert capture.backend == "packet" and note is None
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("::1", port)) as client, server.accept()[0] as peer:
            client.sendall(REQ)
            assert peer.recv(100) == REQ
    capture.stop()
    frames = list(records(path))
    events = [e for e in read_timeline(path) if e.protocol == "TCP" and e.dport == port]
    assert [e.message for e in events][:1] == ["SYN"] and len([e for e in events if e.message == "SYN"]) == 1
    assert all(a[0] <= b[0] for a, b in zip(frames, frames[1:], strict=False))
    assert len({frame for _, _, frame in frames}) == len(frames)  # no frame twice
    assert capture.note is None and capture._reader.dropped == 0


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare(1) for a namespace"
)
def test_the_packet_socket_finds_an_interface_of_the_callers_own_namespace():
    """A worker of a parallel run has a network namespace of its own, but sysfs still shows the one that
    mounted it: the interface's link type must come from the namespace the capture runs in."""
    import subprocess
    import sys

    code = (
        "import subprocess; from capture.packet_socket import link_type; "
        "subprocess.run(['ip', 'link', 'add', 'vgitest0', 'type', 'veth', 'peer', 'name', 'vgitest1'], "
        "check=True); "
        "print(link_type('vgitest0'))"
    )
    done = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"  # ARPHRD_ETHER


def test_packet_socket_blocks_read_back_as_written(tmp_path):
    """The pcapng the packet socket writes (header, packets with nanosecond timestamps, statistics) reads
    back through the harness's own reader frame for frame."""
    from capture.packet_socket import file_header, packet_block, statistics_block
    from capture.pcap import records

    frames = [bytes(range(60)), b"\xff" * 61, b"\x00" * 1514]
    stamps = [1_767_225_600_123_456_789, 1_767_225_600_123_456_790, 1_767_225_601_000_000_001]
    path = tmp_path / "blocks.pcapng"
    path.write_bytes(
        file_header("veth0")
        + b"".join(
            packet_block(t, f, i % 2 == 1) for i, (t, f) in enumerate(zip(stamps, frames, strict=True))
        )
        + statistics_block(stamps[-1], 3, 0)
    )
    read = list(records(path))
    assert [frame for _, _, frame in read] == frames
    assert [linktype for _, linktype, _ in read] == [1, 1, 1]
    assert [round(t * 1e9) for t, _, _ in read] == pytest.approx(stamps, abs=256)


@pytest.mark.skipif(
    os.geteuid() != 0, reason="as non-root the scapy backend is refused for lack of root first"
)
def test_scapy_refuses_loopback(tmp_path):
    from capture.live import CaptureError

    with pytest.raises(CaptureError, match="loopback"):
        start_capture("scapy", "lo", tmp_path / "x.pcapng")


def test_unreadable_capture_is_a_clear_error(tmp_path):
    from capture.reader import CaptureReadError

    bad = tmp_path / "bad.pcapng"
    bad.write_bytes(b"not a capture at all")
    with pytest.raises(CaptureReadError, match="cannot read capture"):
        read_timeline(bad)
