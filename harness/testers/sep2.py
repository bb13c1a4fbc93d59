"""IEEE 2030.5 tester roles.

* :class:`Sep2ServerTester`: the tester as PFE or BMS serving a client DUT (EV, EVSE, DC charger,
  telematics, meter).  It serves the simulated lab's resource tree on the lab's port, can publish a
  DR event or switch tariffs mid-run, and can present a wrong TLS configuration on purpose (another
  cipher suite, TLS 1.3 only, a chain under an untrusted SERCA).  With ``der=True`` it also serves a
  DER site (:class:`~harness.devices.sep2.der_site.DerSite`, ``tester.der``) on a clock running
  PIXIT ``sep2_clock_speedup`` times the wall clock.
* :class:`Sep2ClientTester`: the tester as a client of a server DUT (PFE, BMS): walks the resource
  tree from DeviceCapability, sends bad bodies (malformed, schema-invalid, entity expansion,
  oversized, wrong content type) and offers bad TLS (wrong suite, TLS 1.3, no certificate, untrusted
  chain, unregistered LFDI).

The server advertises itself by DNS-SD (``_smartenergy._tcp`` with its TXT record and function-set
subtypes, IEEE 2030.5 clause 6.5) on the DUT-facing interface unless PICS ``sep2.dnssd`` is false.
The client finds a server DUT through PIXIT ``addresses: {sep2_server: URL}``, the veth peer, or
DNS-SD.  The tester's own certificate and the trust anchor come from the PIXIT when the DUT brings
its own PKI (:func:`harness.devices.sep2.common.tester_identity`).

Both write the NSS key log of every TLS session to the scenario's key log, so the capture is
decrypted and the verdicts come from the timeline.  What the tester itself sees (status codes,
refused handshakes) is kept only to know when to stop waiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.codec.sep2 import resources as r
from harness.codec.sep2.media import MEDIA_TYPE_SEP_XML, SEP_NAMESPACE
from harness.devices.sep2.common import (
    ServerLocation,
    SimClock,
    advertisement,
    discover_server,
    dnssd_enabled,
    dnssd_interfaces,
    dut_identity,
    identity,
    parse_server_url,
    registration_pin,
    tester_identity,
)
from harness.devices.sep2.der_site import DerSite
from harness.devices.sep2.pfe import Sep2Server
from harness.devices.sep2.servers import registered_devices
from harness.devices.settings import DeviceSettings
from harness.protocol.sep2.endpoints import DCAP_PATH, PIXIT_SERVER_URL_KEY, SEP2_PORT
from harness.protocol.sep2.j3072 import DEFAULT_SITE_MAX_EXPORT_W
from harness.transport.dnssd import Advertisement, DiscoveryError, Sep2Service, browse
from harness.transport.http import MAX_BODY_BYTES, HttpResponse, Sep2HttpClient, Sep2HttpServer
from harness.transport.link import Link
from harness.transport.netns import VethLink, create_veth_link, destroy_veth_link
from harness.transport.tls import client_context, server_context

# A suite IEEE 2030.5 does not allow (clause 6.11.3 mandates only 0xC0AE): AES-GCM with ECDSA.
WRONG_CIPHER = "ECDHE-ECDSA-AES128-GCM-SHA256"
# Bad TLS offers by name (feature text) -> what they change.
TLS_FAULTS = ("wrong cipher", "TLS 1.3 only", "no client certificate", "untrusted chain", "unregistered LFDI")
# Bounds of one tester operation.
REQUEST_TIMEOUT_S = 10.0
# How long the tester as client browses for a server DUT by DNS-SD (harness choice).
DISCOVERY_TIMEOUT_S = 5.0
WAIT_STEP_S = 0.05
# Bodies the negative cases send.
MALFORMED_XML = b'<?xml version="1.0"?><FlowReservationRequest xmlns="urn:ieee:std:2030.5:ns"><mRID>01'
SCHEMA_INVALID = (
    f'<FlowReservationRequest xmlns="{SEP_NAMESPACE}"><bogus>1</bogus></FlowReservationRequest>'.encode()
)
# Billion laughs (entity expansion): ten levels of ten references.
ENTITY_EXPANSION = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
        for i in range(1, 10)
    )
    + f']><FlowReservationRequest xmlns="{SEP_NAMESPACE}"><description>&lol9;</description>'
    "</FlowReservationRequest>".encode()
)


def tls_server_context(
    role: str, settings: DeviceSettings, keylog: Path, fault: str | None = None
) -> ssl.SSLContext:
    """The tester's server context, compliant or with one ``fault`` of TLS_FAULTS."""
    own = tester_identity(role, settings)
    if fault == "untrusted chain":
        untrusted = identity("untrusted", settings)
        return server_context(untrusted, trust_anchor=own.trust_anchor_path, keylog_path=keylog)
    if fault == "wrong cipher":
        return server_context(own, keylog_path=keylog, ciphers=WRONG_CIPHER)
    if fault == "TLS 1.3 only":
        return server_context(
            own,
            keylog_path=keylog,
            minimum_version=ssl.TLSVersion.TLSv1_3,
            maximum_version=ssl.TLSVersion.TLSv1_3,
        )
    return server_context(own, keylog_path=keylog)


def tls_client_context(
    role: str, settings: DeviceSettings, keylog: Path, fault: str | None = None
) -> ssl.SSLContext:
    """The tester's client context, compliant or with one ``fault`` of TLS_FAULTS."""
    own = tester_identity(role, settings)
    if fault == "untrusted chain":
        untrusted = identity("untrusted", settings)
        return client_context(untrusted, trust_anchor=own.trust_anchor_path, keylog_path=keylog)
    if fault == "unregistered LFDI":
        return client_context(
            identity("unregistered", settings), trust_anchor=own.trust_anchor_path, keylog_path=keylog
        )
    if fault == "no client certificate":
        return client_context(own, keylog_path=keylog, present_certificate=False)
    if fault == "wrong cipher":
        return client_context(own, keylog_path=keylog, ciphers=WRONG_CIPHER)
    if fault == "TLS 1.3 only":
        return client_context(
            own,
            keylog_path=keylog,
            minimum_version=ssl.TLSVersion.TLSv1_3,
            maximum_version=ssl.TLSVersion.TLSv1_3,
        )
    return client_context(own, keylog_path=keylog)


def _listen_host(link: Link) -> str:
    if link.mode == "loopback":
        return "::1"
    return link.host_for(link.address)


# Linux sched.h: the namespace type setns(2) joins.
CLONE_NEWNET = 0x40000000
# Bounds of the bridge's relay: bytes per read, and one connection's setup.
RELAY_CHUNK_BYTES = 64 * 1024
RELAY_CONNECT_TIMEOUT_S = 5.0


def _socket_in_netns(netns: str, host: str, port: int) -> socket.socket:
    """A listening TCP socket created inside ``netns`` (the thread joins it; the process stays put)."""
    result: list[socket.socket | BaseException] = []

    def create() -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns({netns}) failed")
            finally:
                os.close(fd)
            info = socket.getaddrinfo(host, port, socket.AF_INET6, socket.SOCK_STREAM)[0]
            sock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(info[4])
            sock.listen(64)
            sock.setblocking(False)
            result.append(sock)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            result.append(exc)

    thread = threading.Thread(target=create, name=f"netns-{netns}")
    thread.start()
    thread.join()
    if isinstance(result[0], BaseException):
        raise result[0]
    return result[0]


@dataclass
class EvseBridge:
    """The interface 1 reference EVSE bridge: the EV reaches the site's server only through it.

    The tester's BMS server runs in a site namespace of its own, on a second veth pair; the bridge
    listens on the tester's end of the EV's link and relays each TCP connection to the server, so
    the EV's TLS session runs end to end with the BMS through the EVSE, as on a real site.
    """

    link: Link
    site: VethLink | None = None
    server: asyncio.AbstractServer | None = None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def open_site(self) -> VethLink:
        self.site = create_veth_link()
        return self.site

    async def start(self) -> None:
        assert self.site is not None
        self.server = await asyncio.start_server(self._relay, _listen_host(self.link), SEP2_PORT)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        assert self.site is not None
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(f"{self.site.dut_address}%{self.site.tester_interface}", SEP2_PORT),
                RELAY_CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError):
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(RELAY_CHUNK_BYTES):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    def destroy(self) -> None:
        if self.site is not None:
            destroy_veth_link(self.site)
            self.site = None


@dataclass
class Sep2ServerTester:
    """The tester as the PFE (or BMS) server of a client DUT."""

    link: Link
    settings: DeviceSettings
    keylog: Path
    role: str = "pfe-server"
    tls_fault: str | None = None
    tariff: str = "tou"
    clock: SimClock = field(default_factory=SimClock)
    site: Sep2Server | None = None
    server: Sep2HttpServer | None = None
    bridge: EvseBridge | None = None
    advertised: Advertisement | None = None
    advertise_error: str | None = None
    # DER (README AC DER): pass der=True to serve a DER site; from construction on, ``der`` is the
    # DerSite (on a clock at PIXIT sep2_clock_speedup), so a scenario may publish before start(); None
    # without DER.  site_max_export_w: the site's J3072 export limit.
    der: DerSite | bool | None = None
    site_max_export_w: float = DEFAULT_SITE_MAX_EXPORT_W

    def __post_init__(self) -> None:
        if self.der is True:
            clock = SimClock(speedup=self.settings.sep2_clock_speedup)
            self.der = DerSite(clock, site_max_export_w=self.site_max_export_w)
        elif self.der is False:
            self.der = None
        if isinstance(self.der, DerSite):
            self.clock = self.der.clock

    async def start(self) -> None:
        der = self.der if isinstance(self.der, DerSite) else None
        self.clock = der.clock if der is not None else SimClock()
        self.site = Sep2Server(
            self.clock,
            registered_devices(self.settings),
            tariff=self.tariff,
            registration_pin=registration_pin(self.settings),
            der=der,
        )
        context = tls_server_context(self.role, self.settings, self.keylog, self.tls_fault)
        sock = None
        if self.bridge is not None and self.bridge.site is not None:
            site = self.bridge.site
            sock = _socket_in_netns(site.netns, f"{site.dut_address}%{site.dut_interface}", SEP2_PORT)
        self.server = Sep2HttpServer(
            self.site.handle,
            context,
            host=_listen_host(self.link),
            port=SEP2_PORT,
            enforce_policy=False,
            sock=sock,
        )
        await self.server.start()
        if self.bridge is not None:
            await self.bridge.start()
        if dnssd_enabled(self.settings):
            # IEEE 2030.5 clause 6.5: clients find their server by DNS-SD; advertise on the DUT's link.
            try:
                self.advertised = await advertisement(self.link, f"vgi-tester-{self.role}").start()
            except DiscoveryError as exc:
                self.advertise_error = str(exc)

    async def close(self) -> None:
        if self.advertised is not None:
            advertised, self.advertised = self.advertised, None
            await advertised.close()
        if self.bridge is not None:
            await self.bridge.close()
        if self.server is not None:
            await self.server.close()
            self.server = None

    def device_path(self, role: str) -> str:
        assert self.site is not None
        return f"/edev/{self.site.device_index(dut_identity(role, self.settings).lfdi)}"

    def posted(self, suffix: str) -> list[Any]:
        assert self.site is not None
        return [res for _lfdi, path, res in self.site.posted if path.endswith(suffix)]

    def has_read(self, path: str) -> bool:
        """Whether a client has read (GET) ``path`` from the tester's server."""
        assert self.site is not None
        return ("GET", path) in self.site.requests

    def posted_under(self, prefix: str) -> int:
        """How many resources clients have posted to paths under ``prefix``."""
        assert self.site is not None
        return sum(1 for _lfdi, path, _res in self.site.posted if path.startswith(prefix))

    async def wait_for(self, predicate: Any, timeout: float) -> bool:
        """Wait until ``predicate()`` holds (the DUT did something) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(WAIT_STEP_S)
        return bool(predicate())

    async def requests_seen(self) -> int:
        assert self.server is not None
        return sum(1 for e in self.server.events if e.kind == "tls-established")

    def connection_attempts(self) -> int:
        assert self.server is not None
        return sum(1 for e in self.server.events if e.kind in ("tls-established", "tls-refused"))


@dataclass
class Sep2ClientTester:
    """The tester as a client of a server DUT."""

    link: Link
    settings: DeviceSettings
    keylog: Path
    role: str = "ev"
    responses: list[tuple[str, str, int]] = field(default_factory=list)  # (method, target, status)
    refused: list[str] = field(default_factory=list)
    local_ports: set[int] = field(default_factory=set)
    server: ServerLocation | None = None
    advertised: list[Sep2Service] = field(default_factory=list)

    async def locate(self) -> ServerLocation:
        """Where the server DUT is: PIXIT ``addresses: {sep2_server: URL}``, the veth peer (or ::1)
        of a started DUT, else DNS-SD on the tester's interface (IEEE 2030.5 clause 6.5)."""
        if self.server is not None:
            return self.server
        if PIXIT_SERVER_URL_KEY in self.settings.addresses:
            self.server = parse_server_url(self.settings.addresses[PIXIT_SERVER_URL_KEY])
        elif self.link.mode == "loopback":
            self.server = ServerLocation("::1", SEP2_PORT, DCAP_PATH, "loopback")
        elif self.link.peer_address:
            self.server = ServerLocation(self.link.peer_address, SEP2_PORT, DCAP_PATH, "peer")
        else:
            found = await discover_server(self.link, DISCOVERY_TIMEOUT_S, subtype=None)
            if found is None:
                raise ConnectionError(
                    f"no IEEE 2030.5 server answered DNS-SD on {self.link.interface} within "
                    f"{DISCOVERY_TIMEOUT_S:g} s; set PIXIT addresses.sep2_server to its URL"
                )
            self.server = found
        return self.server

    async def browse_advertisements(self, timeout_s: float) -> list[Sep2Service]:
        """Browse ``_smartenergy._tcp`` on the tester's interface (the advertisement is judged on the
        capture; what the tester resolves only tells it when to stop)."""
        interfaces = dnssd_interfaces(self.link)
        try:
            self.advertised = await browse(timeout_s=timeout_s, expect=1, interfaces=interfaces)
        except DiscoveryError as exc:
            self.refused.append(f"DNS-SD: {exc}")
            self.advertised = []
        return self.advertised

    def _client(self, fault: str | None = None) -> Sep2HttpClient:
        server = self.server or ServerLocation("::1", SEP2_PORT, DCAP_PATH, "default")
        context = tls_client_context(self.role, self.settings, self.keylog, fault)
        return Sep2HttpClient(self.link.host_for(server.host), server.port, context, enforce_policy=False)

    async def _remember(self, client: Sep2HttpClient) -> None:
        writer = client._writer  # noqa: SLF001 - the local port tells tester from DUT on loopback
        if writer is not None:
            sock = writer.get_extra_info("sockname")
            if sock:
                self.local_ports.add(int(sock[1]))

    async def request(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        content_type: str | None = MEDIA_TYPE_SEP_XML,
        fault: str | None = None,
    ) -> HttpResponse | None:
        headers = (("Accept", MEDIA_TYPE_SEP_XML),)
        if body and content_type:
            headers += (("Content-Type", content_type),)
        try:
            await self.locate()
        except (ConnectionError, DiscoveryError) as exc:
            self.refused.append(f"{method} {target}: {exc}")
            return None
        if target == DCAP_PATH:
            target = self.dcap_path
        client = self._client(fault)
        try:
            await client.connect()
            await self._remember(client)
            response = await asyncio.wait_for(
                client.request(method, target, body, headers), REQUEST_TIMEOUT_S
            )
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError, ValueError) as exc:
            self.refused.append(f"{method} {target}: {type(exc).__name__}: {exc}")
            return None
        finally:
            await client.close()
        self.responses.append((method, target, response.status))
        return response

    async def walk(self, limit: int = 40) -> list[str]:
        """GET DeviceCapability and every link it (and the lists below it) names, once each."""
        try:
            await self.locate()
        except (ConnectionError, DiscoveryError) as exc:
            self.refused.append(f"walk: {exc}")
            return []
        client = self._client()
        seen: list[str] = []
        queue = [self.dcap_path]
        try:
            await client.connect()
            await self._remember(client)
            while queue and len(seen) < limit:
                path = queue.pop(0)
                if path in seen:
                    continue
                seen.append(path)
                response = await asyncio.wait_for(client.get(path), REQUEST_TIMEOUT_S)
                self.responses.append(("GET", path, response.status))
                if response.status != 200:
                    continue
                with contextlib.suppress(Exception):
                    queue.extend(h for h in _links(response.body) if h not in seen)
        except (ssl.SSLError, ConnectionError, OSError, TimeoutError) as exc:
            self.refused.append(f"walk: {type(exc).__name__}: {exc}")
        finally:
            await client.close()
        return seen

    async def send_bad_body(self, kind: str, target: str) -> None:
        """POST one bad body (``kind``: malformed, schema-invalid, entity expansion, oversized, wrong
        content type), then GET DeviceCapability to see the DUT still serves."""
        body, content_type = {
            "malformed XML": (MALFORMED_XML, MEDIA_TYPE_SEP_XML),
            "schema-invalid XML": (SCHEMA_INVALID, MEDIA_TYPE_SEP_XML),
            "XML entity expansion": (ENTITY_EXPANSION, MEDIA_TYPE_SEP_XML),
            "oversized body": (b"<a>" + b" " * (MAX_BODY_BYTES + 1) + b"</a>", MEDIA_TYPE_SEP_XML),
            "wrong content type": (r.serialise(r.Time(href="/tm", **_time_fields())), "application/json"),
        }[kind]
        await self.request("POST", target, body, content_type)
        await self.request("GET", self.dcap_path)

    @property
    def dcap_path(self) -> str:
        return self.server.dcap_path if self.server is not None else DCAP_PATH


def _time_fields() -> dict[str, Any]:
    from py20305.models.sep import sep

    from harness.codec.sep2 import values as v

    offset = sep.TimeOffsetType(value=0)
    return {
        "current_time": v.sep_time(0),
        "dst_end_time": v.sep_time(0),
        "dst_offset": offset,
        "dst_start_time": v.sep_time(0),
        "quality": 7,
        "tz_offset": offset,
    }


def _links(body: bytes) -> list[str]:
    """Every ``*Link`` href and every list item href in a body (the tree the walk follows)."""
    from harness.codec.sep2.document import local_name, parse_xml

    root = parse_xml(body)
    out = []
    for element in root.iter():
        href = element.get("href")
        if href and element is not root and (local_name(element).endswith("Link")):
            out.append(href)
    return out
