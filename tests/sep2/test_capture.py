"""A live capture of one HTTPS exchange on loopback, decrypted by tshark with the harness's key log."""

from __future__ import annotations

import asyncio
import shutil
import signal
import struct
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
_PCAPNG_ENHANCED_PACKET_BLOCK = 6
_PCAPNG_SECTION_HEADER_BLOCK = 0x0A0D0D0A


def _packet_count(path: Path) -> int:
    """Enhanced packet blocks written so far to a pcapng file (tolerates a partial last block)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return 0
    if len(data) < 12:
        return 0
    order = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    count = offset = 0
    while offset + 8 <= len(data):
        block_type, length = struct.unpack_from(f"{order}II", data, offset)
        if length < 12 or offset + length > len(data):
            break
        count += block_type == _PCAPNG_ENHANCED_PACKET_BLOCK
        offset += length
    return count


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
        server_ctx = server_context(identities["pfe-server"], keylog_path=keylog)
        async with Sep2HttpServer(_serve_dcap, server_ctx) as server:
            capture = subprocess.Popen(
                ["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {server.port}", "-w", str(pcap)],
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
                async with Sep2HttpClient(
                    "127.0.0.1", server.port, client_context(identities["ev"])
                ) as client:
                    response = await client.get("/dcap")
                    assert response.status == 200
                # libpcap hands packets over in blocks (on a block timeout), so wait, bounded, until
                # the exchange has reached the file before stopping the capture.
                for _ in range(300):
                    if _packet_count(pcap) > 0:
                        break
                    await asyncio.sleep(0.05)
                capture.send_signal(signal.SIGINT)
                capture.wait(timeout=30)
            finally:
                if capture.poll() is None:
                    capture.kill()
                    capture.wait(timeout=10)
            return server.port

    port = asyncio.run(run())
    assert _packet_count(pcap) > 0, "no packet captured"
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
