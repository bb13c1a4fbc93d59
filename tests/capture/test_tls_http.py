"""Decrypted IEEE 2030.5 timeline events: naming, resource dicts, bad bodies, TLS facts; and a live
capture through read_timeline with the key log beside it."""

from __future__ import annotations

import asyncio
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from capture.keylog import keylog_for
from capture.reader import read_timeline
from capture.tls_http import _events
from harness.codec.sep2 import resources as r
from harness.devices.sep2.common import SimClock
from harness.devices.sep2.pfe import Sep2Server
from harness.pki.store import DeviceIdentity
from harness.transport.http import Sep2HttpClient, Sep2HttpServer
from harness.transport.tls import client_context, server_context

# Bounded waits for dumpcap's markers: 600 polls of 50 ms.
MARKER_POLLS = 600
MARKER_POLL_S = 0.05
BASE = {
    "frame.number": ["7"],
    "frame.time_epoch": ["100.5"],
    "ipv6.src": ["fe80::1"],
    "ipv6.dst": ["fe80::2"],
    "tcp.srcport": ["50000"],
    "tcp.dstport": ["8443"],
}
SEP_XML = ["application/sep+xml"]


def test_request_and_response_naming_and_resource_dict() -> None:
    (request,) = _events({**BASE, "http.request.method": ["GET"], "http.request.uri": ["/dcap?x=1"]})
    assert (request.protocol, request.message, request.fields["path"]) == ("HTTP", "GET /dcap", "/dcap")
    assert request.sport == 50000 and request.frame == 7 and request.t == 100.5
    body = r.serialise(Sep2Server(SimClock(), {"AB" * 20: "ev"}).dcap()).decode()
    (response,) = _events({**BASE, "http.response.code": ["200"], "http.content_type": SEP_XML,
                           "http.file_data": [body]})  # fmt: skip
    assert response.message == "200 DeviceCapability" and response.error is None
    assert response.fields["resource"]["TimeLink"]["href"] == "/tm"
    assert response.fields["resource"]["pollRate"] == 1
    assert response.fields["schema_valid"] is True
    (empty,) = _events({**BASE, "http.response.code": ["201"]})
    assert empty.message == "201" and empty.fields["length"] == 0


def test_an_element_with_attributes_keeps_its_text_as_value() -> None:
    # A DERControlBase mode is both: <opModFixedW disabled="false">5000</opModFixedW> (2023 schema).
    ns = "urn:ieee:std:2030.5:ns"
    body = (
        f'<DefaultDERControl xmlns="{ns}" href="/derp/1/dderc"><mRID>0A</mRID><DERControlBase>'
        '<opModFixedW disabled="false">5000</opModFixedW><opModEnergize>true</opModEnergize>'
        "</DERControlBase></DefaultDERControl>"
    )
    (response,) = _events({**BASE, "http.response.code": ["200"], "http.content_type": SEP_XML,
                           "http.file_data": [body]})  # fmt: skip
    base = response.fields["resource"]["DERControlBase"]
    assert base["opModFixedW"] == {"disabled": "false", "value": 5000}
    assert base["opModEnergize"] == "true"


def test_bad_body_is_an_error_event_with_the_offending_bytes() -> None:
    hostile = '<!DOCTYPE x [<!ENTITY a "aaaa">]><Time xmlns="urn:ieee:std:2030.5:ns">&a;</Time>'
    for body in ("<Time", hostile):
        (event,) = _events({**BASE, "http.request.method": ["POST"], "http.request.uri": ["/mup"],
                            "http.content_type": SEP_XML, "http.file_data": [body]})  # fmt: skip
        assert event.error and event.message == "POST /mup"
        assert bytes.fromhex(event.fields["raw"]).startswith(body.encode()[:10])


def test_tls_handshake_facts() -> None:
    hello = _events({**BASE, "tls.handshake.type": ["1"], "tls.handshake.version": ["0x0303"],
                     "tls.handshake.ciphersuite": ["0xc0ae", "0x00ff"],
                     "tls.handshake.extensions.supported_version": ["0x0304", "0x0303"]})  # fmt: skip
    assert hello[0].message == "ClientHello" and hello[0].fields["ciphers"] == [0xC0AE, 0xFF]
    assert hello[0].fields["offers_tls13"] is True
    server_hello, certificate = _events(
        {
            **BASE,
            "tls.handshake.type": ["2", "11"],
            "tls.handshake.version": ["0x0303"],
            "tls.handshake.ciphersuite": ["0xc0ae"],
            "tls.handshake.certificates_length": ["900"],
            "tls.handshake.certificate_length": ["500", "394"],
        }
    )
    assert server_hello.fields == {"version": "0x0303", "cipher": 0xC0AE, "group": None}
    assert (certificate.message, certificate.fields) == ("Certificate", {"length": 900, "certificates": 2})
    (alert,) = _events({**BASE, "tls.alert_message.desc": ["48"]})
    assert alert.message == "Alert" and alert.fields["description"] == 48


def test_tls13_handshake_facts_of_each_side() -> None:
    """The key-share group of a TLS 1.3 ServerHello; the server's encrypted flight (the signature list of
    its CertificateRequest and its own CertificateVerify scheme share one tshark field); a client's empty
    Certificate; a TLS 1.2 ServerKeyExchange's scheme before a CertificateRequest's list."""
    (hello,) = _events(
        {
            **BASE,
            "tls.handshake.type": ["2"],
            "tls.handshake.version": ["0x0303"],
            "tls.handshake.ciphersuite": ["0x1302"],
            "tls.handshake.extensions.supported_version": ["0x0304"],
            "tls.handshake.extensions_key_share_group": ["25"],
        }
    )
    assert hello.fields == {"version": "0x0304", "cipher": 0x1302, "group": 25}
    flight = _events(
        {
            **BASE,
            "tls.handshake.type": ["8", "13", "11", "15", "20"],
            "tls.handshake.sig_hash_alg_len": ["4"],
            "tls.handshake.sig_hash_alg": ["0x0603", "0x0808", "0x0808"],
            "tls.handshake.certificates_length": ["1200"],
            "tls.handshake.certificate_length": ["600", "300", "294"],
        }
    )
    assert [(e.message, e.fields) for e in flight] == [
        ("CertificateRequest", {"signature_algorithms": [0x0603, 0x0808]}),
        ("Certificate", {"length": 1200, "certificates": 3}),
        ("CertificateVerify", {"signature_algorithm": 0x0808}),
    ]
    empty = _events({**BASE, "tls.handshake.type": ["11", "20"], "tls.handshake.certificates_length": ["0"]})
    assert [e.fields for e in empty] == [{"length": 0, "certificates": 0}]
    tls12 = _events(
        {
            **BASE,
            "tls.handshake.type": ["2", "11", "12", "13", "14"],
            "tls.handshake.version": ["0x0303"],
            "tls.handshake.ciphersuite": ["0xc023"],
            "tls.handshake.sig_hash_alg_len": ["2"],
            "tls.handshake.sig_hash_alg": ["0x0403", "0x0603"],
            "tls.handshake.certificates_length": ["800"],
            "tls.handshake.certificate_length": ["800"],
        }
    )
    assert [(e.message, e.fields) for e in tls12][1:] == [
        ("Certificate", {"length": 800, "certificates": 1}),
        ("CertificateRequest", {"signature_algorithms": [0x0603]}),
    ]


@pytest.mark.skipif(
    shutil.which("tshark") is None or shutil.which("dumpcap") is None, reason="no tshark/dumpcap"
)
def test_read_timeline_merges_decrypted_exchanges(
    identities: dict[str, DeviceIdentity], tmp_path: Path
) -> None:
    pcap = tmp_path / "scenario.pcapng"
    keylog = keylog_for(pcap)
    ev = identities["ev"]
    site = Sep2Server(SimClock(), {ev.lfdi: "ev"})

    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    probe_port = probe.getsockname()[1]

    async def mark(marker: bytes) -> None:
        # A UDP marker the filter admits, until it is on file: the capture is live / flushed.
        for _ in range(MARKER_POLLS):
            probe.sendto(marker, ("127.0.0.1", probe_port))
            await asyncio.sleep(MARKER_POLL_S)
            if pcap.exists() and marker in pcap.read_bytes():
                return
        pytest.fail(f"marker {marker!r} never captured")

    async def exchange() -> int:
        async with Sep2HttpServer(site.handle, server_context(identities["pfe-server"])) as server:
            capture = subprocess.Popen(
                ["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {server.port} or udp port {probe_port}",
                 "-w", str(pcap)],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            try:
                assert capture.stderr is not None
                first = await asyncio.get_running_loop().run_in_executor(None, capture.stderr.readline)
                if "Capturing on" not in first:
                    pytest.skip(f"dumpcap cannot capture on lo: {first.strip()}")
                await mark(b"VGI-START")
                async with Sep2HttpClient(
                    "127.0.0.1", server.port, client_context(ev, keylog_path=keylog)
                ) as c:
                    assert (await c.get("/dcap")).status == 200
                    bad = await c.request(
                        "POST", "/mup", b"<MirrorUsagePoint", (("Content-Type", "application/sep+xml"),)
                    )
                    assert bad.status == 400
                await mark(b"VGI-END")
            finally:
                capture.send_signal(signal.SIGINT)
                capture.wait(timeout=30)
            return server.port

    try:
        asyncio.run(exchange())
    finally:
        probe.close()
    timeline = read_timeline(pcap)
    http = [(e.message, bool(e.error)) for e in timeline if e.protocol == "HTTP"]
    assert http == [
        ("GET /dcap", False),
        ("200 DeviceCapability", False),
        ("POST /mup", True),
        ("400", False),
    ]
    hellos = [e for e in timeline if e.protocol == "TLS" and e.message == "ServerHello"]
    assert hellos and hellos[0].fields == {"version": "0x0303", "cipher": 0xC0AE, "group": None}
    assert [e.frame for e in timeline] == sorted(e.frame for e in timeline)
