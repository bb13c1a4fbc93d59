"""mDNS / DNS-SD datagrams decoded (RFC 6762, RFC 6763): what IEEE 2030.5 discovery needs.

IEEE 2030.5-2018 clause 6.5: a client looks for its server with a DNS-SD query for
``_smartenergy._tcp`` (or a function-set subtype of it, ``_<sub>._sub._smartenergy._tcp``), and a
server answers with PTR, SRV (port) and TXT (``txtvers`` first, ``dcap``, ``https``, ``level``).
:func:`summarise` gives one mDNS datagram as ``query`` or ``response`` with the fields the checks judge
(one timeline event each), or raises ValueError; the capture reader (:mod:`capture.reader`) makes
undecodable datagrams ``malformed`` events.  A pure decoder: bytes in, fields out.  The DNS-SD names
(service type, subtype infix, port) are defined here once; :mod:`harness.transport.dnssd` uses them.
"""

from __future__ import annotations

from typing import Any

# RFC 6762 clause 3: mDNS runs on UDP 5353.
MDNS_PORT = 5353
# IEEE 2030.5 clause 6.5: the DNS-SD service type (with the mDNS domain).
SMARTENERGY_SERVICE = "_smartenergy._tcp.local."
# RFC 6763 clause 7.1: a subtype PTR is "_<subtype>._sub.<service type>".
SUBTYPE_INFIX = "._sub."
# DNS RR types (RFC 1035, RFC 2782, RFC 3596).
RR_PTR, RR_TXT, RR_AAAA, RR_SRV = 12, 16, 28, 33
_TYPE_NAMES = {1: "A", RR_PTR: "PTR", RR_TXT: "TXT", RR_AAAA: "AAAA", RR_SRV: "SRV", 255: "ANY"}


def _name(value: Any) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text if text.endswith(".") else text + "."


def _is_smartenergy(name: str) -> bool:
    return name.lower().endswith(SMARTENERGY_SERVICE)


def _subtype(name: str) -> str | None:
    lower = name.lower()
    if SUBTYPE_INFIX + SMARTENERGY_SERVICE in lower:
        return lower.split(SUBTYPE_INFIX, 1)[0].lstrip("_")
    return None


def _txt(rdata: Any) -> list[tuple[str, str | None]]:
    strings = rdata if isinstance(rdata, list) else [rdata]
    pairs: list[tuple[str, str | None]] = []
    for entry in strings:
        raw = entry if isinstance(entry, bytes) else str(entry).encode()
        if not raw:
            continue
        key, sep, value = raw.partition(b"=")
        pairs.append(
            (key.decode("ascii", "replace").lower(), value.decode("utf-8", "replace") if sep else None)
        )
    return pairs


def summarise(data: bytes) -> tuple[str, dict[str, Any]]:
    """(``query`` or ``response``, fields) of one mDNS datagram; raises ValueError when undecodable."""
    from scapy.layers.dns import DNS

    try:
        return _summarise(DNS(data))
    except Exception as exc:  # noqa: BLE001 - scapy raises many kinds on bad input
        raise ValueError(f"not a DNS message: {type(exc).__name__}: {exc}") from None


def _summarise(dns: Any) -> tuple[str, dict[str, Any]]:
    questions = [
        {"name": _name(q.qname), "type": _TYPE_NAMES.get(int(q.qtype), str(q.qtype))} for q in (dns.qd or [])
    ]
    records: list[Any] = [*(dns.an or []), *(dns.ns or []), *(dns.ar or [])]
    ptrs: list[tuple[str, str]] = []
    srv: dict[str, tuple[int, str]] = {}
    txt: dict[str, list[tuple[str, str | None]]] = {}
    for record in records:
        kind, owner = int(record.type), _name(record.rrname)
        if kind == RR_PTR:
            ptrs.append((owner, _name(record.rdata)))
        elif kind == RR_SRV:
            srv[owner.lower()] = (int(record.port), _name(record.target))
        elif kind == RR_TXT:
            txt[owner.lower()] = _txt(record.rdata)
    fields: dict[str, Any] = {
        "questions": [f"{q['type']} {q['name']}" for q in questions],
        "smartenergy": any(_is_smartenergy(q["name"]) for q in questions)
        or any(_is_smartenergy(owner) for owner, _target in ptrs),
    }
    subtypes = sorted({s for s in (_subtype(q["name"]) for q in questions) if s})
    if subtypes:
        fields["subtypes_queried"] = subtypes
    if int(dns.qr) == 0:
        return "query", fields
    advertised = sorted({s for s in (_subtype(owner) for owner, _target in ptrs) if s})
    if advertised:
        fields["subtypes"] = advertised
    # The server's own instance: the target of the plain _smartenergy._tcp PTR, else any instance.
    instances = [target for owner, target in ptrs if owner.lower() == SMARTENERGY_SERVICE]
    instances += [name for name in srv if _is_smartenergy(name)]
    for instance in instances:
        key = instance.lower()
        if key in srv or key in txt:
            fields["instance"] = instance
            if key in srv:
                fields["srv_port"], fields["srv_target"] = srv[key]
            pairs = txt.get(key, [])
            fields["txt_keys"] = [k for k, _v in pairs]
            fields["txt_first"] = pairs[0][0] if pairs else None
            for k, v in pairs:
                if k in ("txtvers", "dcap", "https", "level", "path"):
                    fields.setdefault(f"txt_{k}", v)
            if "txt_https" in fields and str(fields["txt_https"]).isdigit():
                fields["txt_https"] = int(fields["txt_https"])
            break
    return "response", fields
