"""IEEE 2030.5 service discovery: DNS-SD ``_smartenergy._tcp`` over mDNS (python-zeroconf).

IEEE 2030.5-2018 clause 6.5 (shared/REFERENCE.md section 7): servers advertise the service type
``_smartenergy._tcp``; the TXT record starts with ``txtvers`` and carries ``dcap`` (the path of
DeviceCapability), ``https`` (the TLS port) and ``level`` (the security/function level).  Function-set
subtypes exist but are unreliable in practice, so discovery here browses the plain service type and
reads the TXT record.

The harness stays on loopback by default (``interfaces=("127.0.0.1",)``); a lab may pass the
address of a veth inside a network namespace instead.

:func:`txt_properties` and :func:`parse_txt` are pure; :class:`Advertisement` and :func:`browse` do
I/O.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from harness.protocol.sep2.endpoints import DCAP_PATH

# IEEE 2030.5 clause 6.5: the DNS-SD service type of a 2030.5 server.
SEP2_SERVICE_TYPE = "_smartenergy._tcp.local."
# IEEE 2030.5 clause 6.5: TXT record version; the txtvers key must come first (RFC 6763 clause 6.7).
SEP2_TXTVERS = "1"
# Default "level" value [unverified]: the security level the harness's servers offer.
SEP2_DEFAULT_LEVEL = "-S1"
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
    def https_port(self) -> int | None:
        value = dict(self.txt).get("https")
        return int(value) if value and value.isdigit() else None

    @property
    def level(self) -> str | None:
        return dict(self.txt).get("level")

    @property
    def txtvers_first(self) -> bool:
        return bool(self.txt) and self.txt[0][0] == "txtvers"


def txt_properties(dcap_path: str, https_port: int, level: str = SEP2_DEFAULT_LEVEL) -> dict[str, str]:
    """TXT keys in the order 2030.5 wants them (dicts keep insertion order; zeroconf writes it)."""
    if not dcap_path.startswith("/"):
        raise ValueError(f"dcap must be an absolute path, not {dcap_path!r}")
    if not 0 < https_port < 65536:
        raise ValueError(f"https port out of range: {https_port}")
    return {"txtvers": SEP2_TXTVERS, "dcap": dcap_path, "https": str(https_port), "level": level}


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


def _zeroconf(interfaces: Sequence[str]):  # type: ignore[no-untyped-def]
    from zeroconf import IPVersion
    from zeroconf.asyncio import AsyncZeroconf

    v6 = any(ipaddress.ip_address(address).version == 6 for address in interfaces)
    v4 = any(ipaddress.ip_address(address).version == 4 for address in interfaces)
    version = IPVersion.All if v4 and v6 else IPVersion.V6Only if v6 else IPVersion.V4Only
    try:
        return AsyncZeroconf(interfaces=list(interfaces), ip_version=version)
    except OSError as exc:
        raise DiscoveryError(f"cannot open mDNS sockets on {', '.join(interfaces)}: {exc}") from exc


def _packed(address: str) -> bytes:
    ip = ipaddress.ip_address(address)
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    return socket.inet_pton(family, address)


class Advertisement:
    """Advertise one 2030.5 server as ``<instance>._smartenergy._tcp.local.`` until closed."""

    def __init__(
        self,
        instance: str,
        port: int,
        *,
        dcap_path: str = DCAP_PATH,
        level: str = SEP2_DEFAULT_LEVEL,
        addresses: Sequence[str] = LOOPBACK_INTERFACES,
        host: str | None = None,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        self.instance = instance
        self.port = port
        self.addresses = tuple(addresses)
        self.properties = txt_properties(dcap_path, port, level)
        self.host = host or f"{instance.lower().replace(' ', '-')}.local."
        self.interfaces = tuple(interfaces or addresses)
        self._zc = None
        self._info = None

    async def start(self) -> Advertisement:
        from zeroconf.asyncio import AsyncServiceInfo

        self._info = AsyncServiceInfo(
            SEP2_SERVICE_TYPE,
            f"{self.instance}.{SEP2_SERVICE_TYPE}",
            addresses=[_packed(address) for address in self.addresses],
            port=self.port,
            properties=self.properties,
            server=self.host,
        )
        self._zc = _zeroconf(self.interfaces)
        try:
            await self._zc.async_register_service(self._info)
        except Exception as exc:
            await self._zc.async_close()
            self._zc = None
            raise DiscoveryError(f"cannot advertise {self.instance}: {type(exc).__name__}: {exc}") from exc
        return self

    async def close(self) -> None:
        if self._zc is not None:
            if self._info is not None:
                await self._zc.async_unregister_service(self._info)
            await self._zc.async_close()
            self._zc = None

    async def __aenter__(self) -> Advertisement:
        return await self.start()

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


async def browse(
    *,
    timeout_s: float = BROWSE_TIMEOUT_S,
    expect: int | None = None,
    instance: str | None = None,
    interfaces: Sequence[str] = LOOPBACK_INTERFACES,
) -> list[Sep2Service]:
    """The 2030.5 servers that answer within ``timeout_s``.

    Returns sooner once ``expect`` services are resolved, or once the service named ``instance`` is
    (then only that one is returned).
    """
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo

    zc = _zeroconf(interfaces)
    names: asyncio.Queue[str] = asyncio.Queue(maxsize=MAX_SERVICES)
    found: dict[str, Sep2Service] = {}

    def on_change(zeroconf: object, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated) and not names.full():
            names.put_nowait(name)

    browser = AsyncServiceBrowser(zc.zeroconf, [SEP2_SERVICE_TYPE], handlers=[on_change])
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
