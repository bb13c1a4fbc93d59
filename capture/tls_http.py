"""Decrypted IEEE 2030.5 traffic: HTTP exchanges and TLS handshake facts from a capture and its key log.

tshark decrypts the TLS records with the NSS key log the harness's TLS endpoints write
(``tls.keylog_file``) and dissects the HTTP inside; this module turns its output into timeline
events.  Naming (documented here and in the README):

* protocol ``HTTP``, message ``"<METHOD> <path>"`` for a request (``GET /dcap``) and ``"<status>
  <root element>"`` for a response with an XML body (``200 DeviceCapability``), ``"<status>"`` without
  one (``201``).  Fields: ``method``, ``path``, ``status``, ``content_type``, ``length``, ``root``
  (the body's root element name), ``resource`` (the body as a dict: element and attribute names
  without namespace, repeated children as lists, integers as int) and ``body`` (an excerpt).
  A body that is not safe, well-formed XML gives an ``HTTP`` event with ``error`` set and
  ``fields.raw`` (hex of the offending bytes) and ``fields.offset``.
* protocol ``TLS``: ``ClientHello`` (fields ``versions`` offered, ``ciphers`` offered as ints),
  ``ServerHello`` (``version`` negotiated, e.g. ``0x0303``; ``cipher`` as int, e.g. 0xC0AE = 49326;
  ``group``, the key_share group of a TLS 1.3 ServerHello as int, e.g. 0x0019 = 25 secp521r1, None
  before TLS 1.3), ``CertificateRequest`` (``signature_algorithms`` it lists, ints), ``Certificate``
  (``length`` of its certificate list in bytes, 0 for the empty one a client without a certificate
  sends; ``certificates``, how many), ``CertificateVerify`` (``signature_algorithm``, e.g. 0x0603 =
  1539 ecdsa_secp521r1_sha512) and ``Alert`` (``description`` code, e.g. 40 handshake_failure, 42
  bad_certificate).  Who sent a handshake message shows in its addresses and ports, as for any event:
  the server's from the port the ClientHello went to.  In TLS 1.3 all but the hellos are encrypted and
  appear only with the key log.

Bodies are parsed with :func:`harness.codec.sep2.document.parse_xml` (no DTDs, no entities), so a
hostile body is a decode error on the timeline, never a crash.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from capture.keylog import keylog_for
from capture.timeline import TimelineEvent
from harness.codec.sep2.document import Sep2DecodeError, local_name, parse_xml

# Upper bound on tshark's run over one scenario's capture (they are small; a hung tshark must not
# hang the verdict).
TSHARK_TIMEOUT_S = 120.0
# How much of a body the timeline keeps as text, and of a bad body as hex.
BODY_EXCERPT_CHARS = 400
RAW_EXCERPT_BYTES = 64
# TLS handshake message types (RFC 5246 clause 7.4) and the alert record.
HANDSHAKE_CLIENT_HELLO = "1"
HANDSHAKE_SERVER_HELLO = "2"
HANDSHAKE_CERTIFICATE = "11"
HANDSHAKE_SERVER_KEY_EXCHANGE = "12"
HANDSHAKE_CERTIFICATE_REQUEST = "13"
HANDSHAKE_CERTIFICATE_VERIFY = "15"
# RFC 8446 clause 4.2.1: the supported_versions extension value of TLS 1.3.
TLS13_VERSION = "0x0304"
_INT = re.compile(r"^-?\d{1,18}$")

# The frame and its TCP endpoints: what every tshark pass over a capture's TLS sessions reads first
# (:func:`frame_of`; capture.tls_v2g reads them too).
FRAME_FIELDS = (
    "frame.number",
    "frame.time_epoch",
    "ipv6.src",
    "ipv6.dst",
    "ip.src",
    "ip.dst",
    "tcp.srcport",
    "tcp.dstport",
)
_FIELDS = (
    *FRAME_FIELDS,
    "tls.handshake.type",
    "tls.handshake.version",
    "tls.handshake.ciphersuite",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_key_share_group",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.sig_hash_alg_len",
    "tls.handshake.certificates_length",
    "tls.handshake.certificate_length",
    "tls.alert_message.desc",
    "http.request.method",
    "http.request.uri",
    "http.response.code",
    "http.content_type",
    "http.file_data",
)


class TsharkUnavailable(RuntimeError):
    pass


def _tshark(*args: str, fields: tuple[str, ...] = _FIELDS) -> list[dict[str, list[str]]]:
    tshark = shutil.which("tshark")
    if tshark is None:
        raise TsharkUnavailable("tshark is not installed: cannot decrypt the IEEE 2030.5 exchanges")
    proc = subprocess.run(
        [tshark, "-n", *args, "-T", "json", *[f"-e{f}" for f in fields]],
        capture_output=True,
        timeout=TSHARK_TIMEOUT_S,
        check=False,
    )
    text = proc.stdout.decode("utf-8", "replace").strip()
    if not text:
        return []
    return [packet["_source"]["layers"] for packet in json.loads(text)]


def _tls_ports(capture: Path) -> list[int]:
    """Server ports: where ClientHellos went (any port, since IEEE 2030.5 fixes none)."""
    ports: set[int] = set()
    for layers in _tshark("-r", str(capture), "-Y", "tls.handshake.type == 1"):
        ports.update(int(p) for p in layers.get("tcp.dstport", [])[:1])
    # Ports the heuristic missed: a SYN's destination that later carries TLS is found on the next
    # pass once decoded as TLS; SYN destinations are the candidates.
    for layers in _tshark("-r", str(capture), "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0"):
        ports.update(int(p) for p in layers.get("tcp.dstport", [])[:1])
    return sorted(ports)


def read_tls_http(
    capture: Path, keylog: Path | None = None, not_http: Iterable[int] = ()
) -> list[TimelineEvent]:
    """HTTP and TLS events of ``capture`` decrypted with ``keylog`` (default: beside the capture).
    ``not_http``: TLS ports whose plaintext is no HTTP (V2G over TLS, capture.tls_v2g): their handshake
    facts are read, their plaintext is left alone."""
    keylog = keylog or keylog_for(capture)
    ports = _tls_ports(capture)
    if not ports:
        return []
    http_ports = [port for port in ports if port not in set(not_http)]
    args = [
        "-r",
        str(capture),
        "-o",
        f"tls.keylog_file:{keylog}",
        "-o",
        "http.tls.port:" + ",".join(map(str, http_ports)),
    ]
    for port in ports:
        args += ["-d", f"tcp.port=={port},tls"]
    handshakes = " || ".join(
        f"tls.handshake.type == {t}"
        for t in (
            HANDSHAKE_CLIENT_HELLO,
            HANDSHAKE_SERVER_HELLO,
            HANDSHAKE_CERTIFICATE,
            HANDSHAKE_CERTIFICATE_REQUEST,
            HANDSHAKE_CERTIFICATE_VERIFY,
        )
    )
    args += ["-Y", f"http || {handshakes} || tls.alert_message"]
    events: list[TimelineEvent] = []
    for layers in _tshark(*args):
        events.extend(_events(layers))
    return events


def _first(layers: dict[str, list[str]], name: str) -> str | None:
    values = layers.get(name)
    return values[0] if values else None


def frame_of(layers: dict[str, list[str]]) -> tuple[int, float, str, str, int, int]:
    """(frame number, time, source, destination, source port, destination port) of a tshark row."""
    return (
        int(_first(layers, "frame.number") or 0),
        float(_first(layers, "frame.time_epoch") or 0.0),
        _first(layers, "ipv6.src") or _first(layers, "ip.src") or "",
        _first(layers, "ipv6.dst") or _first(layers, "ip.dst") or "",
        int(_first(layers, "tcp.srcport") or 0),
        int(_first(layers, "tcp.dstport") or 0),
    )


def _events(layers: dict[str, list[str]]) -> list[TimelineEvent]:
    number, t, src, dst, sport, dport = frame_of(layers)

    def event(protocol: str, message: str, fields: dict[str, Any], error: str | None = None) -> TimelineEvent:
        return TimelineEvent(t, number, src, dst, protocol, message, fields, error, sport, dport)

    out: list[TimelineEvent] = []
    types = layers.get("tls.handshake.type", [])
    if HANDSHAKE_CLIENT_HELLO in types:
        versions = layers.get("tls.handshake.extensions.supported_version", [])
        ciphers = [int(c, 16) for c in layers.get("tls.handshake.ciphersuite", [])]
        out.append(
            event(
                "TLS",
                "ClientHello",
                {
                    "version": _first(layers, "tls.handshake.version"),
                    "versions": versions,
                    "ciphers": ciphers,
                    "offers_tls13": TLS13_VERSION in versions,
                },
            )
        )
    if HANDSHAKE_SERVER_HELLO in types:
        versions = layers.get("tls.handshake.extensions.supported_version", [])
        cipher = layers.get("tls.handshake.ciphersuite", [])
        version = TLS13_VERSION if TLS13_VERSION in versions else _first(layers, "tls.handshake.version")
        # A ServerHello frame holds no ClientHello, so a key_share group in it is the server's choice.
        group = _first(layers, "tls.handshake.extensions_key_share_group")
        out.append(
            event(
                "TLS",
                "ServerHello",
                {
                    "version": version,
                    "cipher": int(cipher[-1], 16) if cipher else None,
                    "group": int(group) if group is not None and version == TLS13_VERSION else None,
                },
            )
        )
    out.extend(event("TLS", message, fields) for message, fields in _certificate_messages(layers, types))
    for description in layers.get("tls.alert_message.desc", []):
        out.append(event("TLS", "Alert", {"description": int(description)}))
    methods = layers.get("http.request.method", [])
    uris = layers.get("http.request.uri", [])
    codes = layers.get("http.response.code", [])
    types_ = layers.get("http.content_type", [])
    bodies = layers.get("http.file_data", [])
    for i, method in enumerate(methods):
        uri = uris[i] if i < len(uris) else ""
        path = uri.split("?", 1)[0]
        fields = {"method": method, "path": path, "target": uri}
        out.extend(
            _with_body(
                event, f"{method} {path}", fields, _at(types_, i, len(methods)), _at(bodies, i, len(methods))
            )
        )
    for i, code in enumerate(codes):
        fields = {"status": int(code)}
        out.extend(_with_body(event, code, fields, _at(types_, i, len(codes)), _at(bodies, i, len(codes))))
    return out


def _certificate_messages(layers: dict[str, list[str]], types: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The CertificateRequest, Certificate and CertificateVerify messages of a frame, in order.

    tshark lists a field's values of all the frame's handshake messages in one list, in message order:
    ``sig_hash_alg`` holds the lists of signature_algorithms extensions (ClientHello, CertificateRequest;
    their lengths in ``sig_hash_alg_len``) and the one scheme of each ServerKeyExchange and
    CertificateVerify, so they are taken apart walking the message types.  A frame holds at most one
    message with such lists (a ClientHello or a CertificateRequest), which takes all of them."""
    algorithms = [int(a, 16) for a in layers.get("tls.handshake.sig_hash_alg", [])]
    listed = sum(int(n) for n in layers.get("tls.handshake.sig_hash_alg_len", [])) // 2
    lengths = layers.get("tls.handshake.certificates_length", [])
    certificates = len(layers.get("tls.handshake.certificate_length", []))
    out: list[tuple[str, dict[str, Any]]] = []
    position = 0
    for kind in types:
        if kind in (HANDSHAKE_CLIENT_HELLO, HANDSHAKE_CERTIFICATE_REQUEST):
            taken, position = algorithms[position : position + listed], position + listed
            listed = 0
            if kind == HANDSHAKE_CERTIFICATE_REQUEST:
                out.append(("CertificateRequest", {"signature_algorithms": taken}))
        elif kind in (HANDSHAKE_SERVER_KEY_EXCHANGE, HANDSHAKE_CERTIFICATE_VERIFY):
            scheme = algorithms[position] if position < len(algorithms) else None
            position += 1
            if kind == HANDSHAKE_CERTIFICATE_VERIFY:
                out.append(("CertificateVerify", {"signature_algorithm": scheme}))
        elif kind == HANDSHAKE_CERTIFICATE:
            length = int(lengths.pop(0)) if lengths else None
            # One Certificate per frame (a flight has one): the frame's certificates are its own.
            out.append(("Certificate", {"length": length, "certificates": certificates if length else 0}))
    return out


def _at(values: list[str], index: int, count: int) -> str | None:
    # tshark lists one value per HTTP message that has the field; with one message per frame (the
    # usual case) the index is exact.
    if count == 1:
        return values[0] if values else None
    return values[index] if index < len(values) else None


def _with_body(event, message: str, fields: dict[str, Any], content_type: str | None, body: str | None):  # noqa: ANN001, ANN202
    fields["content_type"] = content_type
    if not body:
        fields["length"] = 0
        return [event("HTTP", message, fields)]
    data = body.encode("utf-8", "surrogateescape")
    fields["length"] = len(data)
    fields["body"] = body[:BODY_EXCERPT_CHARS]
    try:
        root = parse_xml(data)
    except Sep2DecodeError as exc:
        fields["raw"] = data[:RAW_EXCERPT_BYTES].hex()
        fields["offset"] = exc.offset
        return [event("HTTP", message, fields, exc.reason)]
    fields["root"] = local_name(root)
    fields["resource"] = _as_dict(root)
    fields.update(_schema_facts(data))
    if message[:1].isdigit():
        message = f"{message} {fields['root']}"
    return [event("HTTP", message, fields)]


def _schema_facts(data: bytes) -> dict[str, Any]:
    """``schema_valid`` (and the first ``schema_error``) against sep.xsd, when one is available."""
    from harness.codec.sep2.schema import SchemaUnavailable, validate

    try:
        issues = validate(data)
    except (SchemaUnavailable, Sep2DecodeError):
        return {}
    return {"schema_valid": not issues, **({"schema_error": str(issues[0])} if issues else {})}


def _value(text: str) -> Any:
    return int(text) if _INT.match(text) else text


def _as_dict(element: Any) -> dict[str, Any]:
    out: dict[str, Any] = {local_name_attr(k): _value(val) for k, val in element.attrib.items()}
    for child in element:
        name = local_name(child)
        text = (child.text or "").strip()
        if len(child) or child.attrib:
            value: Any = _as_dict(child)
            if text and not len(child):
                # An element with attributes and text (<opModFixedW disabled="false">5000</...>): the
                # text goes under "value", beside the attributes.
                value.setdefault("value", _value(text))
        else:
            value = _value(text)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = value
    return out


def local_name_attr(name: str) -> str:
    return name.split("}", 1)[-1]
