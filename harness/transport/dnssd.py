"""IEEE 2030.5 service discovery: DNS-SD ``_smartenergy._tcp`` over mDNS (python-zeroconf).

IEEE 2030.5-2018 clause 6.5 / 8.3.3 (shared/REFERENCE.md section 7): clients locate servers by DNS-SD;
servers advertise the service type ``_smartenergy._tcp``; the TXT record starts with ``txtvers`` and
carries ``dcap`` (the path of DeviceCapability), ``https`` (the TLS port) and ``level``.  A server also
registers one subtype PTR per function set it offers, each pointing at an SRV/TXT pair of its own
(IEEE 2030.5-2018 clause 6.5, "extended form of subtype query", read on a public copy of the text).
The subtype names are those the EPRI IEEE 2030.5 client (client_test README, 2018) queries: ``edev``
(the server holding the client's EndDevice), ``tm``, ``tp``, ``dr``, ``msg``, ``mup``, ``rsps``,
``derp``, ``bill``, ``ppy``, ``upt``, ``file``, ``sdev`` [names verified against that implementation,
not against the standard's table; the per-subtype TXT key ``path`` is unverified].  The subtype PTR
follows RFC 6763 clause 7.1: ``_<sub>._sub._smartenergy._tcp.local.``.

The harness browses the plain service type (python-zeroconf's subtype browsing is unreliable) and
reads the TXT record.  By default everything stays on loopback (``interfaces=("127.0.0.1",)``); on
a veth the caller passes the link's IPv6 link-local address (or its interface index).

:func:`txt_properties` and :func:`parse_txt` are pure; :class:`Advertisement` and :func:`browse` do
I/O.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from harness.codec.mdns import SMARTENERGY_SERVICE, SUBTYPE_INFIX
from harness.protocol.sep2.endpoints import DCAP_PATH

# IEEE 2030.5 clause 6.5: the DNS-SD service type of a 2030.5 server (the name defined in the codec).
SEP2_SERVICE_TYPE = SMARTENERGY_SERVICE
# IEEE 2030.5 clause 6.5: TXT record version; the txtvers key must come first (RFC 6763 clause 6.7).
SEP2_TXTVERS = "1"
# Default "level" value [unverified]: the security level the harness's servers offer.
SEP2_DEFAULT_LEVEL = "-S1"
# Function-set subtypes (as the EPRI 2030.5 client names them) and the list path each points at in the
# harness's servers (harness.devices.sep2.pfe).  ``edev`` is the one a client uses to find the server
# holding its own EndDevice.
EDEV_SUBTYPE = "edev"
SEP2_SUBTYPE_NAMES = (
    "bill",
    "dr",
    "derp",
    "file",
    "msg",
    "ppy",
    "rsps",
    "tp",
    "tm",
    "upt",
    "edev",
    "mup",
    "sdev",
)
HARNESS_SUBTYPES: dict[str, str] = {
    "edev": "/edev",
    "tm": "/tm",
    "tp": "/tp",
    "dr": "/dr",
    "msg": "/msg",
    "mup": "/mup",
    "rsps": "/rsps",
}
# mDNS (RFC 6762): the IPv6 link-local group (the UDP port, MDNS_PORT, is the codec's).
MDNS_GROUP_V6 = "ff02::fb"
# Bounds for one browse (PIXIT may override): how long to wait for answers and to resolve each.
BROWSE_TIMEOUT_S = 5.0
RESOLVE_TIMEOUT_S = 3.0
MAX_SERVICES = 64
LOOPBACK_INTERFACES: tuple[str, ...] = ("127.0.0.1",)


class DiscoveryError(RuntimeError):
    """DNS-SD could not run here (no multicast on the interface) or an answer was unusable."""


@dataclass(frozen=True, slots=True)
class Sep2Service:
    """One discovered (or advertised) 2030.5 server."""

    instance: str
    host: str
    addresses: tuple[str, ...]
    port: int
    txt: tuple[tuple[str, str | None], ...]

    @property
    def dcap_path(self) -> str | None:
        return dict(self.txt).get("dcap")

    @property
    def path(self) -> str | None:
        """A subtype instance's function-set path (TXT ``path``) [unverified key]."""
        return dict(self.txt).get("path")

    @property
    def https_port(self) -> int | None:
        value = dict(self.txt).get("https")
        return int(value) if value and value.isdigit() else None

    @property
    def level(self) -> str | None:
        return dict(self.txt).get("level")

    @property
    def txtvers_first(self) -> bool:
        return bool(self.txt) and self.txt[0][0] == "txtvers"


def txt_properties(
    dcap_path: str, https_port: int, level: str = SEP2_DEFAULT_LEVEL, path: str | None = None
) -> dict[str, str]:
    """TXT keys in the order 2030.5 wants them (dicts keep insertion order; zeroconf writes it)."""
    if not dcap_path.startswith("/"):
        raise ValueError(f"dcap must be an absolute path, not {dcap_path!r}")
    if not 0 < https_port < 65536:
        raise ValueError(f"https port out of range: {https_port}")
    properties = {"txtvers": SEP2_TXTVERS, "dcap": dcap_path}
    if path is not None:
        if not path.startswith("/"):
            raise ValueError(f"path must be an absolute path, not {path!r}")
        properties["path"] = path
    return {**properties, "https": str(https_port), "level": level}


def subtype_service_type(subtype: str) -> str:
    """``_edev._sub._smartenergy._tcp.local.`` for ``edev`` (RFC 6763 clause 7.1)."""
    if not subtype or not subtype.replace("-", "").isalnum():
        raise ValueError(f"not a subtype name: {subtype!r}")
    return f"_{subtype}{SUBTYPE_INFIX}{SEP2_SERVICE_TYPE}"


def parse_txt(text: bytes) -> tuple[tuple[str, str | None], ...]:
    """The key/value pairs of a DNS TXT RDATA, in wire order (RFC 6763 clause 6)."""
    pairs: list[tuple[str, str | None]] = []
    offset = 0
    while offset < len(text):
        length = text[offset]
        entry = text[offset + 1 : offset + 1 + length]
        if len(entry) != length:
            raise DiscoveryError(f"truncated TXT string at byte {offset}")
        offset += 1 + length
        if not entry:
            continue
        key, sep, value = entry.partition(b"=")
        pairs.append(
            (key.decode("ascii", "replace").lower(), value.decode("utf-8", "replace") if sep else None)
        )
    return tuple(pairs)


Interface = str | int  # an interface address (IPv6 without zone) or an IPv6 interface index


def _version(interface: Interface) -> int:
    if isinstance(interface, int):
        return 6
    return ipaddress.ip_address(interface.split("%", 1)[0]).version


def _zeroconf(interfaces: Sequence[Interface]):  # type: ignore[no-untyped-def]
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    v6 = any(_version(i) == 6 for i in interfaces)
    v4 = any(_version(i) == 4 for i in interfaces)
    version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
    choice = [i if isinstance(i, int) else i.split("%", 1)[0] for i in interfaces]
    try:
        return AsyncZeroconf(interfaces=choice, ip_version=version)
    except (OSError, RuntimeError) as exc:
        names = ", ".join(str(i) for i in interfaces)
        raise DiscoveryError(f"cannot open mDNS sockets on {names}: {exc}") from exc


def _packed(address: str) -> bytes:
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return socket.inet_pton(family, address.split("%", 1)[0])


class Advertisement:
    """Advertise one 2030.5 server as ``<instance>._smartenergy._tcp.local.`` until closed.

    With ``subtypes`` (name -> function-set path), also one SRV/TXT pair per function set,
    ``<instance>-<name>._smartenergy._tcp.local.``, named by the subtype PTR
    ``_<name>._sub._smartenergy._tcp.local.`` (IEEE 2030.5-2018 clause 6.5).
    """

    def __init__(
        self,
        instance: str,
        port: int,
        *,
        dcap_path: str = DCAP_PATH,
        level: str = SEP2_DEFAULT_LEVEL,
        addresses: Sequence[str] = LOOPBACK_INTERFACES,
        host: str | None = None,
        interfaces: Sequence[Interface] | None = None,
        subtypes: dict[str, str] | None = None,
    ) -> None:
        self.instance = instance
        self.port = port
        self.dcap_path = dcap_path
        self.level = level
        self.addresses = tuple(addresses)
        self.properties = txt_properties(dcap_path, port, level)
        self.subtypes = dict(subtypes or {})
        for name, path in self.subtypes.items():
            subtype_service_type(name)
            txt_properties(dcap_path, port, level, path)
        self.host = host or f"{instance.lower().replace(' ', '-')}.local."
        self.interfaces = tuple(interfaces or addresses)
        self._zc = None
        self._infos: list[object] = []

    def _service_infos(self) -> list[object]:
        from zeroconf.asyncio import AsyncServiceInfo

        packed = [_packed(address) for address in self.addresses]
        infos = [
            AsyncServiceInfo(
                SEP2_SERVICE_TYPE,
                f"{self.instance}.{SEP2_SERVICE_TYPE}",
                addresses=packed,
                port=self.port,
                properties=self.properties,
                server=self.host,
            )
        ]
        for name, path in self.subtypes.items():
            infos.append(
                AsyncServiceInfo(
                    subtype_service_type(name),
                    f"{self.instance}-{name}.{SEP2_SERVICE_TYPE}",
                    addresses=packed,
                    port=self.port,
                    properties=txt_properties(self.dcap_path, self.port, self.level, path),
                    server=self.host,
                )
            )
        return infos

    async def start(self) -> Advertisement:
        infos = self._service_infos()
        self._zc = _zeroconf(self.interfaces)
        try:
            # Each record is probed before it is announced (RFC 6762 8.1, about 1 s); the base record and
            # the subtype records probe at the same time rather than one after another.
            await asyncio.gather(*(self._zc.async_register_service(info) for info in infos))  # type: ignore[arg-type]
            self._infos.extend(infos)
        except Exception as exc:
            await self.close()
            raise DiscoveryError(f"cannot advertise {self.instance}: {type(exc).__name__}: {exc}") from exc
        return self

    async def close(self) -> None:
        if self._zc is not None:
            zc, self._zc = self._zc, None
            try:
                if self._infos:
                    await zc.async_unregister_all_services()
            finally:
                self._infos = []
                await zc.async_close()

    async def __aenter__(self) -> Advertisement:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


async def browse(
    *,
    timeout_s: float = BROWSE_TIMEOUT_S,
    expect: int | None = None,
    instance: str | None = None,
    interfaces: Sequence[Interface] = LOOPBACK_INTERFACES,
    service_type: str = SEP2_SERVICE_TYPE,
) -> list[Sep2Service]:
    """The 2030.5 servers that answer within ``timeout_s``.

    Returns sooner once ``expect`` services are resolved, or once the service named ``instance`` is
    (then only that one is returned).  ``service_type`` may name a subtype
    (:func:`subtype_service_type`); instances are then read from the base type.
    """
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

    zc = _zeroconf(interfaces)
    names: asyncio.Queue[str] = asyncio.Queue(maxsize=MAX_SERVICES)
    found: dict[str, Sep2Service] = {}

    def on_change(zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated) and not names.full():
            names.put_nowait(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [service_type], handlers=[on_change])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    try:
        while len(found) < MAX_SERVICES and (expect is None or len(found) < expect):
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            try:
                name = await asyncio.wait_for(names.get(), remaining)
            except TimeoutError:
                break
            info = AsyncServiceInfo(SEP2_SERVICE_TYPE, name)
            if not await info.async_request(zc.zeroconf, int(RESOLVE_TIMEOUT_S * 1000)):
                continue
            label = name[: -len(SEP2_SERVICE_TYPE) - 1] if name.endswith("." + SEP2_SERVICE_TYPE) else name
            service = Sep2Service(
                instance=label,
                host=info.server or "",
                addresses=tuple(info.parsed_addresses()),
                port=int(info.port or 0),
                txt=parse_txt(info.text or b""),
            )
            if instance is not None:
                if label == instance:
                    return [service]
                continue
            found[name] = service
    finally:
        await browser.async_cancel()
        await zc.async_close()
    return list(found.values())
