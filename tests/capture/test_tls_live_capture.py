"""A live capture of one HTTPS exchange on loopback, decrypted by tshark with the harness's key log."""

from __future__ import annotations

import asyncio
import secrets
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from harness.pki.store import DeviceIdentity
from harness.transport.http import HttpRequest, HttpResponse, Sep2HttpClient, Sep2HttpServer
from harness.transport.tls import client_context, server_context

pytestmark = pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("dumpcap") is None, reason="tshark/dumpcap not installed"
)

DCAP = b'<DeviceCapability xmlns="urn:ieee:std:2030.5:ns" href="/dcap" pollRate="900"/>'
# Bounded waits for dumpcap: 600 polls of 50 ms.
_POLLS = 600
_POLL_S = 0.05


def _contains(path: Path, marker: bytes) -> bool:
    try:
        return marker in path.read_bytes()
    except FileNotFoundError:
        return False


async def _mark_until_captured(probe: socket.socket, port: int, pcap: Path, marker: bytes) -> bool:
    """Send ``marker`` in a UDP datagram the capture filter admits until it shows up in the file.

    The start marker proves the capture is live before the exchange begins; the end marker, captured
    after the exchange, proves every earlier packet has been written (libpcap hands packets over in
    blocks, in order).
    """
    for _ in range(_POLLS):
        probe.sendto(marker, ("127.0.0.1", port))
        await asyncio.sleep(_POLL_S)
        if _contains(pcap, marker):
            return True
    return False


async def _serve_dcap(request: HttpRequest) -> HttpResponse:
    return HttpResponse.sep_xml(DCAP)


def _tshark(pcap: Path, port: int, *options: str) -> list[list[str]]:
    out = subprocess.run(
        ["tshark", "-n", "-r", str(pcap), "-d", f"tcp.port=={port},tls", *options,
         "-Y", "http or tls.handshake.type == 2",
         "-T", "fields", "-E", "separator=|",
         "-e", "http.request.method", "-e", "http.request.uri", "-e", "http.response.code",
         "-e", "http.content_type", "-e", "tls.handshake.ciphersuite", "-e", "tls.handshake.version"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return [line.split("|") for line in out.splitlines() if line.strip("|")]


def test_capture_of_one_exchange_decrypts_with_the_key_log(
    identities: dict[str, DeviceIdentity], tmp_path: Path
) -> None:
    pcap, keylog = tmp_path / "sep2.pcapng", tmp_path / "keys" / "pfe-server.keys"

    async def run() -> int:
        # A UDP socket of our own gives a free port for the markers (and swallows them).
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        probe_port = probe.getsockname()[1]
        try:
            return await exchange(probe, probe_port)
        finally:
            probe.close()

    async def exchange(probe: socket.socket, probe_port: int) -> int:
        server_ctx = server_context(identities["pfe-server"], keylog_path=keylog)
        async with Sep2HttpServer(_serve_dcap, server_ctx) as server:
            capture = subprocess.Popen(
                ["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {server.port} or udp port {probe_port}",
                 "-w", str(pcap)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                assert capture.stderr is not None
                loop = asyncio.get_running_loop()
                first = await asyncio.wait_for(loop.run_in_executor(None, capture.stderr.readline), 30)
                if "Capturing on" not in first:
                    capture.kill()
                    _out, rest = capture.communicate(timeout=10)
                    pytest.skip(f"dumpcap may not capture on lo here: {(first + rest).strip()}")
                tag = secrets.token_hex(8).encode()
                assert await _mark_until_captured(probe, probe_port, pcap, b"VGI-START-" + tag), (
                    "capture not live"
                )
                async with Sep2HttpClient(
                    "127.0.0.1", server.port, client_context(identities["ev"])
                ) as client:
                    response = await client.get("/dcap")
                    assert response.status == 200
                assert await _mark_until_captured(probe, probe_port, pcap, b"VGI-END-" + tag), (
                    "capture stalled"
                )
                capture.send_signal(signal.SIGINT)
                capture.wait(timeout=30)
            finally:
                if capture.poll() is None:
                    capture.kill()
                    capture.wait(timeout=10)
            return server.port

    port = asyncio.run(run())
    assert keylog.stat().st_size > 0

    decrypted = _tshark(pcap, port, "-o", f"tls.keylog_file:{keylog}")
    server_hello = [row for row in decrypted if row[4]]
    assert server_hello and server_hello[0][4].lower() == "0xc0ae"
    assert server_hello[0][5].lower() == "0x0303"  # TLS 1.2
    requests = [row for row in decrypted if row[0]]
    responses = [row for row in decrypted if row[2]]
    assert [(row[0], row[1]) for row in requests] == [("GET", "/dcap")]
    assert [(row[2], row[3]) for row in responses] == [("200", "application/sep+xml")]

    # Without the key log the same capture shows the handshake but no HTTP: the log is what decrypts.
    opaque = _tshark(pcap, port)
    assert not [row for row in opaque if row[0] or row[2]]
    assert [row for row in opaque if row[4]]
