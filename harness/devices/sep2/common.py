"""What every IEEE 2030.5 reference device shares (and tester roles reuse): the lab PKI, the DUT's and
the tester's identities from the PIXIT, TLS contexts, the simulated clock, how a server advertises
itself by DNS-SD and how a client finds its server.  The port and DeviceCapability path both sides
agree on are in :mod:`harness.protocol.sep2.endpoints`."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import ssl
import struct
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from harness.devices.sep2.clock import (  # noqa: F401  (re-exported: devices, testers and steps use them)
    DER_SIM_SPEEDUP,
    SIM_DAY_START,
    SIM_SPEEDUP,
    SimClock,
)
from harness.devices.settings import DeviceSettings
from harness.pki.hierarchy import init_pki
from harness.pki.profile import ROLES as PKI_ROLES
from harness.pki.store import (
    DUT_CERT_KEY,
    DUT_KEY_KEY,
    TESTER_CERT_KEY,
    TESTER_KEY_KEY,
    TRUST_ANCHOR_KEY,
    DeviceIdentity,
    external_identity,
    load_identity,
    trust_anchor,
)
from harness.protocol.sep2.endpoints import (  # noqa: F401  (DCAP_PATH, SEP2_PORT re-exported for steps)
    DCAP_PATH,
    PIXIT_SERVER_URL_KEY,
    SEP2_PORT,
)
from harness.transport.dnssd import (
    EDEV_SUBTYPE,
    HARNESS_SUBTYPES,
    Advertisement,
    DiscoveryError,
    browse,
    subtype_service_type,
)
from harness.transport.link import LOOPBACK_ADDRESS, Link
from harness.transport.tls import client_context, server_context

# Extra PKI role: a device with a valid certificate the servers have not registered (negative tests).
UNREGISTERED_ROLE = "unregistered"
LAB_PKI_ROLES = (*PKI_ROLES, UNREGISTERED_ROLE)
# PIXIT certificates key naming a lab's own PKI directory (made by `vgi pki init`).
PIXIT_PKI_KEY = "sep2_pki"
# The simulated lab's poll rate in real seconds (IEEE 2030.5 clause 5.5.4 pollRate attribute).
SIM_POLL_RATE_S = 1
# How long a client looks for its server's address on the link (ICMPv6 echo to all nodes).
PEER_SEARCH_TIMEOUT_S = 5.0
# PICS option: discovery by DNS-SD (IEEE 2030.5 clause 6.5); true unless the lab states it false.
DNSSD_OPTION = "sep2.dnssd"
# How long a reference client waits for a DNS-SD answer before it falls back to the ICMPv6 echo
# (harness choice; a real server answers an mDNS query within about a second, RFC 6762 clause 6).
DNSSD_BROWSE_TIMEOUT_S = 4.0
# The simulated lab's registration PIN (IEEE 2030.5 clause 6.3.4: 5 digits and a check digit).
SIM_REGISTRATION_PIN = 111115


def pki_directory(settings: DeviceSettings | None = None) -> Path:
    """The lab's PKI: PIXIT certificates ``sep2_pki`` when set (resolved against the lab file's folder
    by the edge), else a per-user cache made once."""
    if settings is not None and PIXIT_PKI_KEY in settings.certificates:
        return settings.certificates[PIXIT_PKI_KEY]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "vgi" / "sep2-pki"


def ensure_pki(directory: Path) -> Path:
    """Create the test PKI in ``directory`` unless it exists; safe against concurrent creators."""
    if (directory / "pki.json").exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".pki-", dir=directory.parent))
    try:
        init_pki(scratch, LAB_PKI_ROLES)
        try:
            scratch.rename(directory)
        except OSError:
            pass  # another process won the race; its PKI is as good as ours
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


def identity(role: str, settings: DeviceSettings | None = None) -> DeviceIdentity:
    return load_identity(ensure_pki(pki_directory(settings)), role)


def _certificate(settings: DeviceSettings | None, key: str) -> Path | None:
    return None if settings is None else settings.certificates.get(key)


def lab_trust_anchor(settings: DeviceSettings | None = None) -> Path:
    """The SERCA the tester trusts: PIXIT ``trust_anchor`` (a DUT with its own PKI), else the lab's."""
    return _certificate(settings, TRUST_ANCHOR_KEY) or trust_anchor(ensure_pki(pki_directory(settings)))


def dut_identity(role: str, settings: DeviceSettings | None = None) -> DeviceIdentity:
    """The DUT's identity: its certificate from PIXIT ``dut_cert`` (LFDI computed from it), else the
    lab PKI's certificate for ``role`` (what ``{dut_cert}`` hands a process DUT)."""
    cert = _certificate(settings, DUT_CERT_KEY)
    if cert is None:
        return identity(role, settings)
    return external_identity(role, cert, _certificate(settings, DUT_KEY_KEY), lab_trust_anchor(settings))


def tester_identity(role: str, settings: DeviceSettings | None = None) -> DeviceIdentity:
    """The tester's own credentials for ``role``: PIXIT ``tester_cert``/``tester_key`` when the DUT
    brings its own PKI, else the lab PKI's; the trust anchor is PIXIT ``trust_anchor`` when given."""
    cert, key = _certificate(settings, TESTER_CERT_KEY), _certificate(settings, TESTER_KEY_KEY)
    if cert is not None and key is not None:
        return external_identity(role, cert, key, lab_trust_anchor(settings))
    own = identity(role, settings)
    anchor = _certificate(settings, TRUST_ANCHOR_KEY)
    if anchor is None:
        return own
    return DeviceIdentity(own.role, own.cert_path, own.key_path, own.chain_path, anchor, own.lfdi, own.sfdi)


def registration_pin(settings: DeviceSettings | None = None) -> int:
    """The PIN the server gives the DUT's EndDevice (PIXIT ``sep2_registration_pin``)."""
    pin = None if settings is None else settings.sep2_registration_pin
    return SIM_REGISTRATION_PIN if pin is None else pin


def dnssd_enabled(settings: DeviceSettings | None) -> bool:
    return settings is not None and settings.supports(DNSSD_OPTION)


@dataclass(frozen=True)
class ServerLocation:
    """Where a client reaches its server, and how it learnt it (``url``, ``dns-sd``, ``icmpv6``...)."""

    host: str
    port: int
    dcap_path: str
    via: str


def parse_server_url(url: str) -> ServerLocation:
    """``https://[fe80::1]:8443/dcap`` -> host, port, DeviceCapability path (zone ``%25if`` allowed)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"not an https URL of a DeviceCapability: {url!r}")
    host = urllib.parse.unquote(parts.netloc.rsplit("@", 1)[-1])
    if host.startswith("["):
        host = host[1 : host.index("]")]
    else:
        host = host.rsplit(":", 1)[0]
    return ServerLocation(host, parts.port or 443, parts.path or DCAP_PATH, "url")


def server_url(host: str, port: int, interface: str | None = None, path: str = DCAP_PATH) -> str:
    """The https URL of a DeviceCapability; an IPv6 link-local host gets its zone (RFC 6874)."""
    bare = host.split("%", 1)[0]
    if ":" in bare:
        zone = f"%25{interface}" if interface and bare.lower().startswith("fe80:") else ""
        return f"https://[{bare}{zone}]:{port}{path}"
    return f"https://{bare}:{port}{path}"


def dnssd_interfaces(link: Link) -> list[str | int]:
    if link.mode == "loopback" or link.interface == "lo":
        return ["127.0.0.1"]
    return [socket.if_nametoindex(link.interface)]


def advertisement(link: Link, instance: str, port: int = SEP2_PORT) -> Advertisement:
    """The DNS-SD advertisement of a server on ``link``: ``_smartenergy._tcp`` with its TXT record
    and the function-set subtypes the harness's servers offer (``edev`` among them)."""
    address = LOOPBACK_ADDRESS if link.mode == "loopback" or link.interface == "lo" else link.address
    return Advertisement(
        instance,
        port,
        dcap_path=DCAP_PATH,
        addresses=[address],
        interfaces=dnssd_interfaces(link),
        subtypes=HARNESS_SUBTYPES,
    )


async def discover_server(
    link: Link, timeout_s: float = DNSSD_BROWSE_TIMEOUT_S, subtype: str | None = EDEV_SUBTYPE
) -> ServerLocation | None:
    """Browse for a 2030.5 server on ``link`` (by default the ``edev`` subtype: the server holding
    this client's EndDevice); None when nothing answers within ``timeout_s``."""
    service_type = subtype_service_type(subtype) if subtype else None
    kwargs = {"service_type": service_type} if service_type else {}
    found = await browse(timeout_s=timeout_s, expect=1, interfaces=dnssd_interfaces(link), **kwargs)
    for service in found:
        addresses = [a for a in service.addresses if a.lower().startswith("fe80:")] or list(service.addresses)
        if addresses:
            port = service.https_port or service.port
            return ServerLocation(addresses[0], port, service.dcap_path or DCAP_PATH, "dns-sd")
    return None


async def find_server(link: Link, settings: DeviceSettings | None = None) -> ServerLocation:
    """How a reference client finds its server: PIXIT ``sep2_server`` URL; on loopback ::1; else
    DNS-SD (IEEE 2030.5 clause 6.5: the ``edev`` subtype of ``_smartenergy._tcp``) unless PICS
    ``sep2.dnssd`` is false; when no DNS-SD answer comes within DNSSD_BROWSE_TIMEOUT_S, the
    documented fallback: the first other node answering an ICMPv6 echo to all nodes, on the lab's
    port and DeviceCapability path."""
    if settings is not None and PIXIT_SERVER_URL_KEY in settings.addresses:
        return parse_server_url(settings.addresses[PIXIT_SERVER_URL_KEY])
    if link.mode == "loopback" or link.interface == "lo":
        return ServerLocation(LOOPBACK_ADDRESS, SEP2_PORT, DCAP_PATH, "loopback")
    if dnssd_enabled(settings):
        try:
            found = await discover_server(link)
        except DiscoveryError as exc:
            print(f"DNS-SD unavailable on {link.interface}: {exc}", file=sys.stderr, flush=True)
            found = None
        if found is not None:
            return found
        print(
            f"no DNS-SD answer within {DNSSD_BROWSE_TIMEOUT_S:g} s on {link.interface}; "
            "falling back to ICMPv6 echo",
            file=sys.stderr,
            flush=True,
        )
    return ServerLocation(await find_peer(link), SEP2_PORT, DCAP_PATH, "icmpv6")


def server_tls(
    role: str, settings: DeviceSettings | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    return server_context(identity(role, settings), keylog_path=keylog)


def client_tls(
    role: str, settings: DeviceSettings | None = None, keylog: Path | None = None
) -> ssl.SSLContext:
    return client_context(identity(role, settings), keylog_path=keylog)


# RFC 4443 clause 4.1/4.2: ICMPv6 echo request and reply types.
ICMPV6_ECHO_REQUEST = 128
ICMPV6_ECHO_REPLY = 129
# RFC 4291 clause 2.7.1: the link-local all-nodes group.
ALL_NODES = "ff02::1"
# Spacing of the echo requests while looking for the peer.
PEER_PROBE_INTERVAL_S = 0.2


async def find_peer(link: Link) -> str:
    """The address of the other end of the link: ::1 on loopback; on a veth or real port, the first
    other node answering an ICMPv6 echo to all nodes (the fallback when DNS-SD is off or silent)."""
    if link.mode == "loopback" or link.interface == "lo":
        return LOOPBACK_ADDRESS
    if link.peer_address:
        return link.peer_address
    scope = socket.if_nametoindex(link.interface)
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, scope)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 0)
    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + PEER_SEARCH_TIMEOUT_S
    identifier = os.getpid() & 0xFFFF
    try:
        sequence = 0
        while time.monotonic() < deadline:
            sequence += 1
            # Type, code, checksum (the kernel fills it for raw ICMPv6 sockets), identifier, sequence.
            echo = struct.pack("!BBHHH", ICMPV6_ECHO_REQUEST, 0, 0, identifier, sequence) + b"vgi-sep2"
            await loop.sock_sendto(sock, echo, (ALL_NODES, 0, 0, scope))
            try:
                while True:
                    data, sender = await asyncio.wait_for(
                        loop.sock_recvfrom(sock, 1500), PEER_PROBE_INTERVAL_S
                    )
                    address = str(sender[0]).split("%", 1)[0]
                    if data[:1] == bytes([ICMPV6_ECHO_REPLY]) and address.lower() != link.address.lower():
                        return address
            except TimeoutError:
                continue
    finally:
        sock.close()
    raise RuntimeError(f"no IEEE 2030.5 server found on {link.interface}")


def listen_host(link: Link) -> str:
    return "::1" if link.mode == "loopback" or link.interface == "lo" else "::"


# Placeholders a `process` DUT's command may use (lab config access.command), by what they need.
PKI_PLACEHOLDERS = ("pki_dir", "dut_cert", "dut_key", "trust_anchor", "dut_lfdi", "dut_sfdi")
TESTER_PLACEHOLDERS = ("tester_host", "tester_port", "dcap_url")


def process_placeholders(
    role: str, argv: tuple[str, ...], settings: DeviceSettings, link: Link, dut_interface: str
) -> dict[str, str]:
    """Values of the IEEE 2030.5 placeholders of a process DUT's command for ``role``; only what
    ``argv`` uses is computed (so a DIN or SLAC DUT never makes a PKI).  The DUT's certificate is
    PIXIT ``dut_cert``/``dut_key`` or the lab PKI's chain and key for ``role``; the tester is reached
    at the tester's end of the link from the DUT's interface."""
    text = " ".join(argv)
    used = {name for name in (*PKI_PLACEHOLDERS, *TESTER_PLACEHOLDERS) if "{" + name + "}" in text}
    values: dict[str, str] = {}
    if used & set(PKI_PLACEHOLDERS):
        directory = ensure_pki(pki_directory(settings))
        dut = dut_identity(role, settings)
        values |= {
            "pki_dir": str(directory),
            "dut_cert": str(dut.chain_path),
            "dut_key": str(dut.key_path),
            "trust_anchor": str(lab_trust_anchor(settings)),
            "dut_lfdi": dut.lfdi,
            "dut_sfdi": str(dut.sfdi),
        }
    if used & set(TESTER_PLACEHOLDERS):
        loopback = link.mode == "loopback" or link.interface == "lo"
        address = LOOPBACK_ADDRESS if loopback else link.address
        zoned = address.lower().startswith("fe80:") and not loopback
        values |= {
            "tester_host": f"{address}%{dut_interface}" if zoned else address,
            "tester_port": str(SEP2_PORT),
            "dcap_url": server_url(address, SEP2_PORT, dut_interface if zoned else None),
        }
    return values
