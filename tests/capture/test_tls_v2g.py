"""V2G over TLS in a capture (capture/tls_v2g.py through read_timeline): a real TLS 1.2 session between the
ISO 15118-2 contexts, run in memory and written to a pcap with the SDP answer that announced its port; with
the key log beside the capture the V2GTP/EXI inside decodes as it would in the clear, without it not."""

from __future__ import annotations

import ipaddress
import shutil
import ssl
from pathlib import Path

import pytest
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from capture.keylog import keylog_for
from capture.reader import read_timeline
from capture.tls_v2g import read_v2g_tls, v2g_tls_ports
from harness.codec.v2g import exi_codec
from harness.codec.v2g.sdp import (
    SDP_SERVER_PORT,
    SECURITY_NONE,
    SECURITY_TLS,
    TRANSPORT_TCP,
    SeccDiscoveryRes,
    encode_sdp,
)
from harness.codec.v2g.v2gtp import PayloadType, encode_v2gtp
from harness.pki.v2g import init_v2g_pki, load_v2g_credentials
from harness.transport.v2g_tls import V2G_CIPHER_ID, evcc_context, secc_context

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark decrypts the capture")

EV, SECC = "fe80::1", "fe80::2"
EV_PORT, TLS_PORT = 50000, 61000
REQUEST = {
    "supportedAppProtocolReq": {
        "AppProtocol": [
            {
                "ProtocolNamespace": "urn:iso:15118:2:2013:MsgDef",
                "VersionNumberMajor": 2,
                "VersionNumberMinor": 0,
                "SchemaID": 1,
                "Priority": 1,
            }
        ]
    }
}
RESPONSE = {"supportedAppProtocolRes": {"ResponseCode": "OK_SuccessfulNegotiation", "SchemaID": 1}}


def _v2gtp(message: dict) -> bytes:
    return encode_v2gtp(PayloadType.EXI, exi_codec.encode("app", message))


def _tls_flights(pki: Path, keylog: Path) -> list[tuple[bool, bytes]]:
    """The bytes of a TLS 1.2 session in order, each tagged True when the EV sent them: handshake, then
    the supportedAppProtocol exchange in two records each way (a frame split across records)."""
    credentials = load_v2g_credentials(pki)
    ev_in, ev_out, secc_in, secc_out = (ssl.MemoryBIO() for _ in range(4))
    ev = evcc_context(credentials.trust_anchor_path, keylog_path=keylog).wrap_bio(
        ev_in, ev_out, server_side=False
    )
    secc = secc_context(credentials).wrap_bio(secc_in, secc_out, server_side=True)
    flights: list[tuple[bool, bytes]] = []

    def pump() -> None:
        for outgoing, incoming, from_ev in ((ev_out, secc_in, True), (secc_out, ev_in, False)):
            data = outgoing.read()
            if data:
                flights.append((from_ev, data))
                incoming.write(data)

    for _ in range(10):
        for endpoint in (ev, secc):
            try:
                endpoint.do_handshake()
            except ssl.SSLWantReadError:
                pass
        pump()
    request, response = _v2gtp(REQUEST), _v2gtp(RESPONSE)
    ev.write(request[:5])
    ev.write(request[5:])
    pump()
    secc.write(response)
    pump()
    return flights


def _write_capture(path: Path, flights: list[tuple[bool, bytes]], security: int = SECURITY_TLS) -> None:
    sdp = encode_sdp(SeccDiscoveryRes(ipaddress.IPv6Address(SECC), TLS_PORT, security, TRANSPORT_TCP))
    frames = [Ether() / IPv6(src=SECC, dst=EV) / UDP(sport=SDP_SERVER_PORT, dport=EV_PORT + 1) / sdp]
    seq = {True: 1000, False: 5000}
    frames.append(
        Ether() / IPv6(src=EV, dst=SECC) / TCP(sport=EV_PORT, dport=TLS_PORT, flags="S", seq=seq[True])
    )
    frames.append(
        Ether()
        / IPv6(src=SECC, dst=EV)
        / TCP(sport=TLS_PORT, dport=EV_PORT, flags="SA", seq=seq[False], ack=1001)
    )
    seq = {True: 1001, False: 5001}
    for from_ev, data in flights:
        src, dst, sport, dport = (EV, SECC, EV_PORT, TLS_PORT) if from_ev else (SECC, EV, TLS_PORT, EV_PORT)
        frames.append(
            Ether()
            / IPv6(src=src, dst=dst)
            / TCP(sport=sport, dport=dport, flags="PA", seq=seq[from_ev])
            / data
        )
        seq[from_ev] += len(data)
    for index, frame in enumerate(frames):
        frame.time = 1000.0 + index * 0.01
    wrpcap(str(path), frames)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("v2g-capture-pki")
    init_v2g_pki(directory)
    return directory


def test_v2g_inside_tls_decodes_with_the_key_log(pki: Path, tmp_path: Path) -> None:
    capture = tmp_path / "run.pcap"
    _write_capture(capture, _tls_flights(pki, keylog_for(capture)))
    assert v2g_tls_ports(capture) == [TLS_PORT]
    timeline = read_timeline(capture)
    v2g = [(e.protocol, e.message, e.sport) for e in timeline if e.protocol == "AppProtocol"]
    assert v2g == [
        ("AppProtocol", "supportedAppProtocolReq", EV_PORT),
        ("AppProtocol", "supportedAppProtocolRes", TLS_PORT),
    ]
    request = next(e for e in timeline if e.message == "supportedAppProtocolReq")
    assert request.fields == REQUEST and request.src == EV and request.dport == TLS_PORT
    (hello,) = [e for e in timeline if e.message == "ServerHello"]
    # TLS 1.2: no key_share, so no group
    assert hello.fields == {"version": "0x0303", "cipher": V2G_CIPHER_ID, "group": None}
    assert hello.sport == TLS_PORT
    # TLS 1.2 sends the SECC's chain in the clear; this SECC context asks for no client certificate
    (certificate,) = [e for e in timeline if e.message == "Certificate"]
    assert certificate.sport == TLS_PORT and certificate.fields["certificates"] >= 2
    assert not [e for e in timeline if e.message in ("CertificateRequest", "CertificateVerify")]
    # The encrypted stream itself is no V2GTP: the plain pass names it so, once per direction.
    assert [e.message for e in timeline if e.protocol == "TCP" and e.sport in (EV_PORT, TLS_PORT)].count(
        "non-V2GTP stream"
    ) == 2


def test_without_the_key_log_nothing_decodes(pki: Path, tmp_path: Path) -> None:
    capture = tmp_path / "run.pcap"
    _write_capture(capture, _tls_flights(pki, tmp_path / "elsewhere.keys"))
    assert not [e for e in read_timeline(capture) if e.protocol in ("AppProtocol", "ISO-2")]
    # A wrong key log decrypts nothing either.
    wrong = tmp_path / "wrong.keys"
    wrong.write_text("CLIENT_RANDOM " + "00" * 32 + " " + "11" * 48 + "\n")
    assert read_v2g_tls(capture, wrong) == []


def test_only_ports_sdp_announced_for_tls_are_v2g_tls(pki: Path, tmp_path: Path) -> None:
    capture = tmp_path / "run.pcap"
    _write_capture(capture, _tls_flights(pki, keylog_for(capture)), security=SECURITY_NONE)
    assert v2g_tls_ports(capture) == []
    assert read_v2g_tls(capture) == []
