"""cactus-client, an independent IEEE 2030.5 client, as the EVSE under test (run by the `process` adapter).

    python -m harness.dut.sep2_client_dut --dcap-url https://[fe80::1%25vgi-dut0]:8443/dcap \\
        --cert evse/chain.pem --key evse/key.pem --trust-anchor serca.pem

runs inside the DUT's network namespace.  It takes the client's venv from
:mod:`harness.dut.sep2_client_env` and re-executes this file with that venv's interpreter, where it
drives cactus-client's own code like an EVSE's firmware would: no DNS-SD (cactus-client has none; the
lab gives the DeviceCapability URL), then, every pollRate seconds (DeviceCapability.pollRate), one
cactus-client discovery walk from DeviceCapability through Time, the EndDeviceList, its own EndDevice
(matched by the LFDI of its certificate; POSTed to the EndDeviceList when absent: in-band registration),
Registration (PIN checked when ``--pin`` is given), FunctionSetAssignments, the tariff (TariffProfile,
RateComponent, TimeTariffInterval, ConsumptionTariffInterval) and DER programs and controls, answering
DERControls that ask for a Response.  Which requests go on the wire, in which order, how lists are
paged, which resources are understood and how their XML is built and parsed is cactus-client's; the
launcher only schedules the walks and says what it found.  cactus-client knows the CSIP-AUS function
sets (DER, pricing, metering mirror) and not DRLC or Messaging.

TLS: cactus-client leaves TLS to Python's ``ssl``.  Its own context (``--tls-profile client-default``)
is ``SSLContext(PROTOCOL_TLSv1_2)`` with OpenSSL's default cipher list, which has no AES-CCM suite, so
it cannot meet an IEEE 2030.5 server that insists on TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8.  As a device
integrator configures the TLS stack under the client, ``--tls-profile sep2`` (the default) hands the
client a context with TLS 1.2 only, that one suite and ECDHE on P-256, the device certificate and the
server's trust anchor (no host name check: 2030.5 device certificates carry no DNS names).

Prints ``sep2-client ready`` (the lab's ready_pattern) once configured, before its first request, and
keeps polling until it is stopped (SIGTERM) or has made ``--walks`` walks.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import ssl
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

# What the lab's ready_pattern matches.
READY_LINE = "sep2-client ready"
# IEEE 2030.5 TLS profile (REFERENCE.md section 7): TLS 1.2 only, TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
# (0xC0AE) by its OpenSSL name, ECDHE on secp256r1.
SEP2_CIPHER_OPENSSL = "ECDHE-ECDSA-AES128-CCM8"
SEP2_ECDH_CURVE = "prime256v1"
# OpenSSL 3.2 and later put AES-CCM8 below the default security level (REFERENCE.md section 7).
SECLEVEL_0 = ":@SECLEVEL=0"
OPENSSL_SECLEVEL_FROM = (3, 2)
TLS_PROFILES = ("sep2", "client-default")
# sep.xsd: DeviceCapability.pollRate defaults to 900 s when the server leaves it out.
DEFAULT_POLL_RATE_S = 900
# Lists are read in one page of this many items (2030.5 list query ``l``); 0 pages through every
# list in cactus-client's own small pages (3 items), as its test procedures do.
DEFAULT_LIST_LIMIT = 100
# Back-off after a failed walk (refused TLS, unreachable server): doubling from the first to the last.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
# A whole walk may not take longer than this (the server stopped answering).
WALK_TIMEOUT_S = 60.0
# cactus-client's client record: the test procedure whose model carries our one client (discovery
# with out-of-band registration), the CSIP-AUS version it targets, and the client's alias in it.
CACTUS_PROCEDURE = "S-ALL-01"
CACTUS_CSIP_AUS_VERSION = "v1.2"
CACTUS_CLIENT_ID = "evse"
# A 7.2 kW AC EVSE; cactus-client wants a rating for DER settings, which this launcher never posts.
EVSE_RATED_W = 7200
# What one walk reads, in cactus-client's resource names; its discovery orders them along the tree.
WALK_RESOURCES = (
    "DeviceCapability",
    "Time",
    "EndDevice",
    "Registration",
    "FunctionSetAssignments",
    "TariffProfile",
    "RateComponent",
    "TimeTariffInterval",
    "ConsumptionTariffInterval",
    "DERProgram",
    "DefaultDERControl",
    "DERControl",
)


class LauncherError(RuntimeError):
    """The launcher's arguments or files are unusable; the message says which."""


@dataclass(frozen=True)
class ClientArgs:
    """What the lab gave the client on its command line, checked."""

    dcap_url: str  # normalised (see normalise_url)
    base_url: str  # scheme://host:port/
    dcap_path: str
    cert: Path
    key: Path
    trust_anchor: Path | None
    tls_profile: str
    pin: int | None
    list_limit: int
    walks: int  # 0: until stopped
    keylog: Path | None


def normalise_url(url: str) -> str:
    """``url`` with an IPv6 zone written as RFC 6874 ``%25zone`` turned into ``%zone``.

    aiohttp resolves the URL's raw host; ``fe80::1%25eth0`` fails there while ``fe80::1%eth0`` is what
    getaddrinfo understands.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http"):
        raise LauncherError(f"DeviceCapability URL must be https:// (or http://), got {url!r}")
    if not parts.hostname:
        raise LauncherError(f"DeviceCapability URL has no host: {url!r}")
    netloc = parts.netloc
    if "[" in netloc and "%25" in netloc:
        netloc = netloc.replace("%25", "%")
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def split_dcap_url(url: str) -> tuple[str, str]:
    """(base URL ending in '/', DeviceCapability path) of a normalised URL."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return f"{parts.scheme}://{parts.netloc}/", path


def _existing(path: str | None, what: str) -> Path | None:
    if path is None:
        return None
    resolved = Path(path)
    if not resolved.is_file():
        raise LauncherError(f"{what} {path} does not exist or is not a file")
    return resolved


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m harness.dut.sep2_client_dut", description=__doc__.split("\n")[0]
    )
    p.add_argument(
        "--dcap-url", required=True, help="the server's DeviceCapability URL (https://host:port/dcap)"
    )
    p.add_argument(
        "--cert", required=True, help="PEM: the device certificate, optionally followed by its chain"
    )
    p.add_argument("--key", required=True, help="PEM: the device certificate's private key")
    p.add_argument("--trust-anchor", help="PEM: the SERCA the server's chain must lead to (no check without)")
    p.add_argument("--tls-profile", choices=TLS_PROFILES, default="sep2", help="see the module docstring")
    p.add_argument("--pin", type=int, help="registration PIN to expect in Registration (6 digits)")
    p.add_argument("--list-limit", type=int, default=DEFAULT_LIST_LIMIT, help="items per list read; 0 pages")
    p.add_argument("--walks", type=int, default=0, help="stop after this many walks (0: until stopped)")
    p.add_argument("--keylog", help="write the client's TLS key log here (NSS format)")
    p.add_argument("--in-venv", action="store_true", help=argparse.SUPPRESS)
    return p


def parse_args(argv: list[str] | None = None) -> tuple[ClientArgs, bool]:
    """The checked arguments, and whether this process already runs in the client's venv."""
    ns = parser().parse_args(argv)
    if ns.list_limit < 0:
        raise LauncherError(f"--list-limit must be 0 or more, got {ns.list_limit}")
    if ns.walks < 0:
        raise LauncherError(f"--walks must be 0 or more, got {ns.walks}")
    if ns.pin is not None and not 0 <= ns.pin <= 999_999:
        raise LauncherError(f"--pin must have at most 6 digits, got {ns.pin}")
    url = normalise_url(ns.dcap_url)
    base, path = split_dcap_url(url)
    cert = _existing(ns.cert, "--cert")
    key = _existing(ns.key, "--key")
    assert cert is not None and key is not None
    args = ClientArgs(
        dcap_url=url,
        base_url=base,
        dcap_path=path,
        cert=cert,
        key=key,
        trust_anchor=_existing(ns.trust_anchor, "--trust-anchor"),
        tls_profile=ns.tls_profile,
        pin=ns.pin,
        list_limit=ns.list_limit,
        walks=ns.walks,
        keylog=Path(ns.keylog) if ns.keylog else None,
    )
    return args, bool(ns.in_venv)


def sep2_cipher_string() -> str:
    if ssl.OPENSSL_VERSION_INFO[:2] >= OPENSSL_SECLEVEL_FROM:
        return SEP2_CIPHER_OPENSSL + SECLEVEL_0
    return SEP2_CIPHER_OPENSSL


def sep2_tls_context(args: ClientArgs) -> ssl.SSLContext:
    """The IEEE 2030.5 client context the integrator gives the client (``--tls-profile sep2``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False  # 2030.5 device certificates carry no DNS names
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(sep2_cipher_string())
    context.set_ecdh_curve(SEP2_ECDH_CURVE)
    context.load_cert_chain(certfile=os.fspath(args.cert), keyfile=os.fspath(args.key))
    if args.trust_anchor is not None:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cafile=os.fspath(args.trust_anchor))
    else:
        context.verify_mode = ssl.CERT_NONE
    if args.keylog is not None:
        context.keylog_filename = os.fspath(args.keylog)
    return context


def venv_argv(python: Path, argv: list[str]) -> list[str]:
    """How this file re-executes itself in the client's venv (by path: the venv has no harness)."""
    return [str(python), os.path.abspath(__file__), *argv, "--in-venv"]


# --- inside the client's venv ---------------------------------------------------------------------


def _say(message: str) -> None:
    print(f"sep2-client: {message}", flush=True)


class EvseClient:
    """cactus-client's execution context for one client, and the walks an EVSE makes with it."""

    def __init__(self, args: ClientArgs) -> None:
        self.args = args
        self.context = None
        self.step = None
        self.lfdi = ""
        self.registered_href: str | None = None

    async def open(self, stack: object) -> None:
        from cactus_client.execution.build import build_execution_context
        from cactus_client.model.config import ClientConfig, GlobalConfig, RunConfig, ServerConfig
        from cactus_client.model.execution import StepExecution
        from cactus_client.sep2 import convert_lfdi_to_sfdi, lfdi_from_cert_file
        from cactus_test_definitions.server.test_procedures import ClientType

        args = self.args
        self.lfdi = lfdi_from_cert_file(args.cert)
        workdir = tempfile.mkdtemp(prefix="sep2-client-")
        config = GlobalConfig(
            output_dir=workdir,
            server=ServerConfig(
                device_capability_uri=args.dcap_url,
                verify_ssl=args.trust_anchor is not None,
                verify_host_name=False,
                serca_pem_file=os.fspath(args.trust_anchor) if args.trust_anchor else None,
            ),
            clients=[
                ClientConfig(
                    id=CACTUS_CLIENT_ID,
                    type=ClientType.DEVICE,
                    certificate_file=os.fspath(args.cert),
                    key_file=os.fspath(args.key),
                    lfdi=self.lfdi,
                    sfdi=convert_lfdi_to_sfdi(self.lfdi),
                    pen=0,
                    pin=args.pin or 0,
                    max_watts=EVSE_RATED_W,
                )
            ],
        )
        run = RunConfig(
            test_procedure_id=CACTUS_PROCEDURE,
            client_ids=[CACTUS_CLIENT_ID],
            csip_aus_version=CACTUS_CSIP_AUS_VERSION,
            headless=True,
        )
        context = await stack.enter_async_context(build_execution_context(config, run))  # type: ignore[attr-defined]
        (alias, client) = next(iter(context.clients_by_alias.items()))
        if args.tls_profile == "sep2":
            from aiohttp import ClientSession, TCPConnector

            await client.session.close()
            client.session = ClientSession(
                base_url=args.base_url, connector=TCPConnector(ssl=sep2_tls_context(args))
            )
        self.context = context
        self.step = StepExecution(
            source=context.test_procedure.steps[0],
            client_alias=alias,
            client_resources_alias=alias,
            primacy=0,
            repeat_number=0,
            not_before=None,
            attempts=0,
        )

    async def walk(self) -> str:
        """One discovery walk (and registration when the server does not know us); a summary line."""
        from cactus_client.action.der_controls import action_respond_der_controls
        from cactus_client.action.discovery import action_discovery
        from cactus_client.action.end_device import action_insert_end_device
        from cactus_client.check.end_device import check_end_device, match_end_device_on_lfdi_caseless
        from cactus_client.model.progress import ResponseTracker
        from cactus_test_definitions.csipaus import CSIPAusResource

        context, step = self.context, self.step
        assert context is not None and step is not None
        context.responses = ResponseTracker()  # cactus keeps every response; an EVSE runs for days
        params: dict[str, object] = {"resources": list(WALK_RESOURCES)}
        if self.args.list_limit:
            params["list_limit"] = self.args.list_limit
        await action_discovery(params, step, context)
        store = context.discovered_resources(step)
        own = match_end_device_on_lfdi_caseless(store, self.lfdi)
        if own is None:
            _say(f"no EndDevice with LFDI {self.lfdi}: registering in band (POST to the EndDeviceList)")
            await action_insert_end_device({}, step, context)
            await action_discovery(params, step, context)
            own = match_end_device_on_lfdi_caseless(store, self.lfdi)
            if own is None:
                raise LookupError(f"still no EndDevice with LFDI {self.lfdi} after registering")
        self.registered_href = own.resource.href
        if self.args.pin is not None:
            result = check_end_device({"matches_client": True, "matches_pin": True}, step, context)
            if not result.passed:
                raise LookupError(f"registration check failed: {result.description}")
        await action_respond_der_controls(step, context)
        counts = ", ".join(
            f"{name} {len(store.get_for_type(CSIPAusResource(name)))}" for name in WALK_RESOURCES[3:]
        )
        warnings = len(context.warnings.warnings)
        return f"EndDevice {self.registered_href}; {counts}; cactus-client warnings so far {warnings}"

    def poll_rate_s(self) -> int:
        from cactus_test_definitions.csipaus import CSIPAusResource

        assert self.context is not None and self.step is not None
        dcaps = self.context.discovered_resources(self.step).get_for_type(CSIPAusResource.DeviceCapability)
        rate = getattr(dcaps[0].resource, "pollRate", None) if dcaps else None
        return int(rate) if rate else DEFAULT_POLL_RATE_S


async def run_client(args: ClientArgs) -> int:
    from contextlib import AsyncExitStack
    from importlib.metadata import version

    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
    client = EvseClient(args)
    async with AsyncExitStack() as stack:
        await client.open(stack)
        _say(
            f"{READY_LINE}: cactus-client {version('cactus-client')} as EVSE, LFDI {client.lfdi}, "
            f"DeviceCapability {args.dcap_url}, TLS profile {args.tls_profile}"
        )
        walks = 0
        retry_s = RETRY_FIRST_S
        while args.walks == 0 or walks < args.walks:
            walks += 1
            started = time.monotonic()
            try:
                summary = await asyncio.wait_for(client.walk(), WALK_TIMEOUT_S)
            except Exception as exc:  # noqa: BLE001 - the EVSE logs, backs off and tries again
                took = time.monotonic() - started
                _say(f"walk {walks} failed after {took:.2f} s: {type(exc).__name__}: {exc}")
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, RETRY_MAX_S)
                continue
            retry_s = RETRY_FIRST_S
            rate = client.poll_rate_s()
            _say(f"walk {walks} done in {time.monotonic() - started:.2f} s: {summary}; next in {rate} s")
            # pollRate counts from the end of the walk: no resource is read more often than that.
            await asyncio.sleep(rate)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args, in_venv = parse_args(argv)
    except LauncherError as exc:
        print(f"sep2-client: {exc}", file=sys.stderr, flush=True)
        return 2
    if in_venv:
        return asyncio.run(run_client(args))
    from harness.dut.sep2_client_env import Sep2ClientEnvError, sep2_client_python

    try:
        python = sep2_client_python()
    except Sep2ClientEnvError as exc:
        print(f"sep2-client: {exc}", file=sys.stderr, flush=True)
        return 2
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the venv imports the client, never the harness
    os.execve(str(python), venv_argv(python, argv), env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
