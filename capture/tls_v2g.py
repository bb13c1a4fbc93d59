"""V2G over TLS (ISO 15118-2 7.7.3 / 7.10.1): the V2GTP/EXI messages inside a capture's TLS sessions,
decrypted with the capture's NSS key log.

Which TCP ports carry V2G over TLS comes from the capture itself: the ports that SECCDiscoveryRes
messages granting TLS (security 0x00) announced.  tshark decrypts those sessions with the key log
(``tls.keylog_file``) and hands over each TLS record's plaintext (``data.data``: no Wireshark dissector
claims V2GTP); the plaintext of each direction is then framed and decoded by the same V2GTP/EXI code as
a plain V2G connection (capture.reader), so a message has the same protocol label, name and fields
whether it went in the clear or inside TLS; an event carries the frame that completed the TLS record.
Which session a message went over shows in its ports (the ServerHello's connection).

The TLS handshake facts of these sessions (ClientHello; ServerHello with version, cipher and TLS 1.3
key-share group; CertificateRequest, each side's Certificate and CertificateVerify; alerts) come from
capture.tls_http, which decodes every TLS session of a capture that has a key log.
"""

from __future__ import annotations

from pathlib import Path

from capture.keylog import keylog_for
from capture.pcap import records
from capture.reader import LINKTYPE_ETHERNET, Flows, _ethernet_events, _TcpStream, _v2gtp_events
from capture.timeline import TimelineEvent
from capture.tls_http import FRAME_FIELDS, _tshark, frame_of
from harness.codec.v2g.sdp import SECURITY_NAMES, SECURITY_TLS
from harness.codec.v2g.v2gtp import V2GTP_VERSION, PayloadType

# An SDP response's V2GTP header (version, inverse version, payload type): frames without it hold none.
_SDP_RESPONSE_HEADER = bytes([V2GTP_VERSION, V2GTP_VERSION ^ 0xFF]) + PayloadType.SDP_RESPONSE.to_bytes(
    2, "big"
)
_TLS = SECURITY_NAMES[SECURITY_TLS]

# The tshark fields this module reads: the frame and its endpoints, and each TLS record's plaintext.
_FIELDS = (*FRAME_FIELDS, "data.data")


def v2g_tls_ports(capture: Path) -> list[int]:
    """The ports SECCDiscoveryRes messages of ``capture`` announced for a TLS connection.

    Read with the harness's own decoding in one pass over the file, not with tshark: every capture with a
    key log (each IEEE 2030.5 scenario's) asks, and a tshark pass costs 1-3 s.  Only frames holding an SDP
    response's V2GTP header are taken apart."""
    ports: set[int] = set()
    flows = Flows()
    for number, (t, linktype, frame) in enumerate(records(capture), start=1):
        if linktype != LINKTYPE_ETHERNET or _SDP_RESPONSE_HEADER not in frame:
            continue
        for event in _ethernet_events(frame, t, number, flows) or ():
            if event.message == "SECCDiscoveryRes" and event.fields.get("Security") == _TLS:
                ports.add(int(event.fields["SECCPort"]))
    return sorted(ports)


def read_v2g_tls(
    capture: Path, keylog: Path | None = None, ports: list[int] | None = None
) -> list[TimelineEvent]:
    """The V2GTP/EXI events of ``capture``'s V2G TLS sessions (on ``ports``, default: those its SDP answers
    announced for TLS), decrypted with ``keylog`` (default: beside the capture), in frame order."""
    keylog = keylog or keylog_for(capture)
    ports = v2g_tls_ports(capture) if ports is None else ports
    if not ports:
        return []
    args = ["-r", str(capture), "-o", f"tls.keylog_file:{keylog}"]
    for port in ports:
        args += ["-d", f"tcp.port=={port},tls"]
    port_filter = " || ".join(f"tcp.port == {port}" for port in ports)
    args += ["-Y", f"({port_filter}) && data.data"]
    streams: dict[tuple, _TcpStream] = {}
    offsets: dict[tuple, int] = {}
    events: list[TimelineEvent] = []
    for layers in _tshark(*args, fields=_FIELDS):
        number, t, src, dst, sport, dport = frame_of(layers)
        key = (src, sport, dst, dport)
        for record in layers.get("data.data", []):
            plaintext = bytes.fromhex(record.replace(":", ""))
            # The decrypted bytes of one direction are contiguous: their running count stands in for the
            # TCP sequence number the V2GTP reassembly follows.
            seq = offsets.get(key, 0)
            offsets[key] = seq + len(plaintext)
            events += _v2gtp_events(plaintext, seq, t, number, src, dst, sport, dport, streams)
    return events
