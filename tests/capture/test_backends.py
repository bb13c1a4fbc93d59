"""Capture backends write pcapng that the timeline reader decodes; the sync marker makes dumpcap
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


@pytest.mark.parametrize("backend", ["dumpcap", "scapy"])
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
