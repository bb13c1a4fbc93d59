"""Pre-flight of a lab (`vgi lab check`): one line per check, OK, FAIL or SKIP, and on FAIL the remedy.

The cheap checks (interfaces, capture, tools, process command, namespace, ports, certificates,
leftovers) read the host and the files only and finish well under a second; `vgi run` runs them first
and refuses to start when a *blocking* one fails (one that would make every scenario INCONCLUSIVE or
ERROR, such as a missing interface or no way to capture), instead of producing a campaign of
INCONCLUSIVE verdicts.  The probes (the PLC modem's firmware version, the DUT answering TCP, SDP or
DNS-SD) talk to the hardware, each bounded by :data:`PROBE_TIMEOUT_S` or less.

This module is at the edge (it reads the lab models and hands plain values to transports, devices and
testers): it is a helper of the `lab` and `run` commands, not a command of its own.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import ipaddress
import os
import shutil
import socket
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from capture.packet_socket import ETHERNET_ARPHRD, link_type
from harness.lab.loader import LoadedLab
from harness.lab.stations import station_lab
from harness.transport import netns as ns

if TYPE_CHECKING:
    from harness.dut.private_venv import PrivateVenv

OK, FAIL, SKIP = "OK", "FAIL", "SKIP"
# Upper bound of one probe that waits for the hardware (modem, TCP connect, SDP, DNS-SD).
PROBE_TIMEOUT_S = 1.5
# SDP probe: requests sent, each waited for as long as the lab's SDP_RESPONSE_WAIT timer says.
SDP_PROBE_ATTEMPTS = 3
# /sys/class/net/IF/flags: IFF_UP (linux/if.h).
IFF_UP = 0x1
# /proc/net/tcp* state LISTEN (include/net/tcp_states.h).
TCP_LISTEN = "0A"
# The harness's own DUT launchers (`python -m harness.dut.NAME_dut`) run their DUT from the private
# venv that harness.dut.NAME_env builds (harness.dut.private_venv).
DUT_LAUNCHER_PACKAGE, DUT_LAUNCHER_SUFFIX, DUT_VENV_SUFFIX = "harness.dut.", "_dut", "_env"
# Roles whose DUT is an IEEE 2030.5 server the tester reaches as a client; the others are clients.
SEP2_SERVER_ROLES = frozenset({"pfe-server", "bms"})


@dataclass(frozen=True, slots=True)
class CheckLine:
    check: str
    status: str  # OK, FAIL or SKIP
    detail: str
    remedy: str = ""
    # a FAIL here makes every scenario INCONCLUSIVE (or ERROR): `vgi run` refuses to start
    blocking: bool = False

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def render(self) -> str:
        text = f"{self.status:<4}  {self.check:<13} {self.detail}"
        if self.status == FAIL and self.remedy:
            text += f" -- remedy: {self.remedy}"
        return text


def _ok(check: str, detail: str) -> CheckLine:
    return CheckLine(check, OK, detail)


def _skip(check: str, detail: str) -> CheckLine:
    return CheckLine(check, SKIP, detail)


def _fail(check: str, detail: str, remedy: str, *, blocking: bool = False) -> CheckLine:
    return CheckLine(check, FAIL, detail, remedy, blocking)


def _is_root() -> bool:
    return os.geteuid() == 0


def _uses_netns(lab: LoadedLab) -> bool | None:
    """For sim/process labs: whether the run puts the DUT in a namespace; None for other access kinds."""
    if lab.config.access.kind not in ("sim", "process"):
        return None
    mode = lab.config.network.mode
    return mode == "netns" or (mode == "auto" and ns.can_use_netns())


def _capture_interface(lab: LoadedLab) -> str | None:
    """The interface the capture runs on, when known before the run (the veth end is made per run)."""
    uses = _uses_netns(lab)
    if uses is None:
        return lab.config.access.interface  # type: ignore[union-attr]
    return None if uses else "lo"


# --- cheap checks ---------------------------------------------------------------------------------


def _interface_state(name: str) -> tuple[bool, bool, str]:
    """(exists, administratively up, operstate) of a network interface."""
    base = Path("/sys/class/net") / name
    if not base.exists():
        return False, False, "absent"
    try:
        flags = int((base / "flags").read_text().strip(), 16)
        operstate = (base / "operstate").read_text().strip()
    except (OSError, ValueError):
        return True, False, "unknown"
    return True, bool(flags & IFF_UP), operstate


def check_interfaces(lab: LoadedLab) -> list[CheckLine]:
    access = lab.config.access
    uses = _uses_netns(lab)
    if uses is not None:
        mode = lab.config.network.mode
        if mode == "netns" and not ns.can_use_netns():
            return [
                _fail(
                    "interface",
                    "network.mode is netns, but this process may not create namespaces (not root, or no "
                    "`ip`)",
                    "run as root (with iproute2 installed), or set network.mode: loopback",
                    blocking=True,
                )
            ]
        if uses:
            return [
                _ok("interface", "a veth pair between namespaces is made for each run (root, `ip` found)")
            ]
        exists, up, _state = _interface_state("lo")
        if not (exists and up):
            return [_fail("interface", "loopback lo is down", "ip link set lo up", blocking=True)]
        why = "not root" if mode == "auto" else "network.mode is loopback"
        return [_ok("interface", f"loopback ::1 ({why}; SDP goes unicast instead of multicast)")]
    name = access.interface  # type: ignore[union-attr]
    exists, up, state = _interface_state(name)
    if not exists:
        # The harness's own veth ends come and go with runs: not a choice for a lab.
        names = os.listdir("/sys/class/net") if Path("/sys/class/net").is_dir() else []
        known = ", ".join(sorted(n for n in names if not n.startswith("vgi"))) or "?"
        return [
            _fail(
                "interface",
                f"{name}: no such interface",
                f"plug the adapter in, or set access.interface to one of: {known}",
                blocking=True,
            )
        ]
    if not up:
        return [_fail("interface", f"{name} is down", f"ip link set {name} up", blocking=True)]
    if state in ("down", "lowerlayerdown"):
        return [
            _fail(
                "interface",
                f"{name} is up but has no carrier (operstate {state})",
                "check the cable to the DUT or modem and that the far end is powered",
                blocking=True,
            )
        ]
    if name == "lo":
        return [_ok("interface", "lo up: the DUT on loopback ::1 (SDP goes unicast)")]
    address = ns.link_local_address(name)
    if address is None:
        return [
            _fail(
                "interface",
                f"{name} has no IPv6 link-local address",
                f"sysctl -w net.ipv6.conf.{name}.disable_ipv6=0 (and wait a second for the address)",
                blocking=True,
            )
        ]
    return [_ok("interface", f"{name} up ({state}), {address}")]


def check_namespace(lab: LoadedLab) -> list[CheckLine]:
    access = lab.config.access
    if access.kind != "process" or not _uses_netns(lab):
        what = "a fresh namespace per run" if _uses_netns(lab) else "no namespace of a fixed name"
        return [_skip("namespace", f"{what} for this lab")]
    name = access.netns
    lines: list[CheckLine] = []
    if name in ns.namespaces():
        dead = {n for left in ns.find_leftovers() for n in left.namespaces}
        if name in ns.live_owned_namespaces():
            lines.append(
                _fail(
                    "namespace",
                    f"{name} is in use by a vgi run that is still running",
                    "wait for that run to finish, or give this lab another access.netns",
                    blocking=True,
                )
            )
        elif name in dead:
            lines.append(
                _fail(
                    "namespace",
                    f"{name} was left by a killed run",
                    "vgi lab check --fix (or the next vgi run) removes it",
                )
            )
        else:
            lines.append(
                _fail(
                    "namespace",
                    f"{name} exists and no run of the harness recorded it",
                    f"`ip netns del {name}` if nothing of yours uses it, or set another access.netns",
                    blocking=True,
                )
            )
    else:
        lines.append(_ok("namespace", f"{name} free"))
    if ns.interface_exists(access.interface):
        lines.append(
            _fail(
                "namespace",
                f"an interface named {access.interface} exists already in this namespace",
                f"`ip link del {access.interface}` if it is a leftover, or set access.interface",
                blocking=True,
            )
        )
    return lines


def check_command(lab: LoadedLab) -> list[CheckLine]:
    access = lab.config.access
    if access.kind != "process":
        return [_skip("command", "the harness starts no DUT program for this lab")]
    first = access.command[0].replace("{python}", sys.executable).replace("{lab_dir}", str(lab.path.parent))
    found = shutil.which(first) or (first if os.access(first, os.X_OK) and Path(first).is_file() else None)
    if "{" in first:
        return [_skip("command", f"{first}: decided per scenario (placeholder)")]
    if not found:
        return [
            _fail(
                "command",
                f"{first}: not found or not executable",
                "install the DUT's program or give its full path in access.command",
                blocking=True,
            )
        ]
    launcher = _launcher_venv(access.command)
    if launcher is None:
        return [_ok("command", f"{found}")]
    module, env_module, spec = launcher
    from harness.dut.private_venv import is_built

    where = spec.default_cache_dir() / "venv"
    if not is_built(spec):
        return [
            _fail(
                "command",
                f"{found} -m {module}: its venv {where} is not built, and the DUT's namespace has no "
                "route to PyPI to build it",
                f"{sys.executable} -m {env_module}",
                blocking=True,
            )
        ]
    return [_ok("command", f"{found} -m {module}, venv {where}")]


def _launcher_venv(command: list[str]) -> tuple[str, str, PrivateVenv] | None:
    """(launcher, its venv module, the venv) when ``command`` runs one of the harness's DUT launchers
    (``-m harness.dut.NAME_dut``), which run their DUT from a private venv (``harness.dut.NAME_env``)."""
    try:
        module = command[command.index("-m") + 1]
    except (ValueError, IndexError):
        return None
    if not (module.startswith(DUT_LAUNCHER_PACKAGE) and module.endswith(DUT_LAUNCHER_SUFFIX)):
        return None
    env_module = module.removesuffix(DUT_LAUNCHER_SUFFIX) + DUT_VENV_SUFFIX
    try:
        spec = importlib.import_module(env_module).VENV
    except (ImportError, AttributeError):
        return None
    return module, env_module, spec


def _dumpcap_permitted(path: str) -> tuple[bool, str]:
    if _is_root():
        return True, "as root"
    try:
        if os.getxattr(path, "security.capability"):
            return True, "file capabilities set"
    except OSError:
        pass
    if os.stat(path).st_mode & 0o4000:
        return True, "setuid"
    return False, "no capture rights (not root, no file capabilities on dumpcap)"


def check_capture(lab: LoadedLab) -> list[CheckLine]:
    backend = lab.config.capture.backend
    interface = _capture_interface(lab)
    if interface and not _interface_state(interface)[0]:
        return [_skip("capture", f"{interface} missing (see the interface line)")]
    on = f"on {interface}" if interface else "on the run's veth end"
    dumpcap = shutil.which("dumpcap")
    notes = []
    if backend in ("auto", "packet"):
        problem = _packet_socket_problem(interface)
        if problem is None:
            return [_ok("capture", f"packet socket {on} (as root)")]
        if backend == "packet":
            return [
                _fail(
                    "capture",
                    f"capture.backend is packet but {problem}",
                    "run as root, or set capture.backend: auto",
                    blocking=True,
                )
            ]
        notes.append(problem)
    dumpcap_remedy = (
        "apt-get install tshark; to capture without root: dpkg-reconfigure wireshark-common and add "
        "yourself to group wireshark, or run as root"
    )
    if backend in ("auto", "dumpcap"):
        if dumpcap is None:
            notes.append("dumpcap not installed")
        else:
            permitted, how = _dumpcap_permitted(dumpcap)
            if permitted:
                return [_ok("capture", f"dumpcap {on} ({how})")]
            notes.append(f"dumpcap: {how}")
        if backend == "dumpcap":
            return [
                _fail("capture", f"capture.backend is dumpcap but {notes[-1]}", dumpcap_remedy, blocking=True)
            ]
    if backend in ("auto", "scapy"):
        problem = None
        if not _is_root():
            problem = "scapy sniffing needs root"
        elif interface == "lo":
            problem = "scapy cannot capture loopback without duplicating frames"
        if problem is None:
            return [_ok("capture", f"scapy {on}" + (f" (fallback: {'; '.join(notes)})" if notes else ""))]
        if backend == "scapy":
            return [
                _fail(
                    "capture",
                    f"capture.backend is scapy but {problem}",
                    "run as root on a real or veth interface, or set capture.backend: auto",
                    blocking=True,
                )
            ]
        notes.append(problem)
    detail = "in-process tap (records only what the tester's own transports send and receive)"
    if notes:
        detail += f"; fallback because {'; '.join(notes)}"
    return [_ok("capture", detail)]


def _packet_socket_problem(interface: str | None) -> str | None:
    """Why a packet socket capture cannot be taken on ``interface`` (None: the run's veth end), or None."""
    if not _is_root():
        return "a packet socket needs root"
    if interface is not None:
        try:
            arphrd = link_type(interface)
        except OSError as exc:
            return str(exc)
        if arphrd not in ETHERNET_ARPHRD:
            return f"{interface}: link type {arphrd} has no Ethernet header for a packet socket capture"
    return None


def check_tools(lab: LoadedLab) -> list[CheckLine]:
    found = {tool: shutil.which(tool) for tool in ("dumpcap", "tshark")}
    missing = [tool for tool, path in found.items() if path is None]
    if not missing:
        return [_ok("tools", ", ".join(f"{t} {p}" for t, p in found.items()))]
    need = "ieee2030.5" in lab.config.pics.protocols and "tshark" in missing
    why = " (tshark decrypts the IEEE 2030.5 exchanges for the verdicts)" if need else ""
    return [_fail("tools", f"{' and '.join(missing)} not installed{why}", "apt-get install tshark")]


def _listening(port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Local addresses with a TCP socket listening on ``port`` in this network namespace."""
    out: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) < 4 or fields[3] != TCP_LISTEN:
                continue
            address_hex, port_hex = fields[1].split(":")
            if int(port_hex, 16) != port:
                continue
            raw = bytes.fromhex(address_hex)
            # The kernel prints each 32-bit word in host (little-endian) order.
            packed = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            out.append(ipaddress.ip_address(packed))
    return out


def check_ports(lab: LoadedLab) -> list[CheckLine]:
    from harness.protocol.sep2.endpoints import SEP2_PORT

    config = lab.config
    if "ieee2030.5" not in config.pics.protocols or not set(config.dut.roles) - {"pfe-server"}:
        return [_skip("ports", "the tester listens on no fixed port for this lab")]
    uses = _uses_netns(lab)
    relevant: set[ipaddress.IPv4Address | ipaddress.IPv6Address] = {
        ipaddress.ip_address("::"),
        ipaddress.ip_address("0.0.0.0"),
    }
    if uses is False:
        relevant.add(ipaddress.ip_address("::1"))
    elif uses is None:
        address = (
            ns.link_local_address(config.access.interface)
            if _interface_state(  # type: ignore[union-attr]
                config.access.interface  # type: ignore[union-attr]
            )[0]
            else None
        )
        if address:
            relevant.add(ipaddress.ip_address(address))
    busy = [a for a in _listening(SEP2_PORT) if a in relevant]
    if busy:
        where = ", ".join(f"[{a}]:{SEP2_PORT}" for a in busy)
        return [
            _fail(
                "ports",
                f"TCP {SEP2_PORT} (the tester's IEEE 2030.5 server) is taken: something listens on {where}",
                f"stop it (`ss -ltnp 'sport = :{SEP2_PORT}'` names the process)",
                blocking=True,
            )
        ]
    return [_ok("ports", f"TCP {SEP2_PORT} (the tester's IEEE 2030.5 server) free")]


def _load_certificates(path: Path) -> list[object]:
    from cryptography import x509

    data = path.read_bytes()
    if b"-----BEGIN" in data:
        if b"CERTIFICATE-----" not in data:
            return []  # a key or something else in PEM
        return list(x509.load_pem_x509_certificates(data))
    return [x509.load_der_x509_certificate(data)]


def certificate_problems(
    certificate: object, *, profile: bool, device: bool, now: datetime | None = None
) -> list[str]:
    """What is wrong with one certificate: validity now, and with ``profile`` the IEEE 2030.5
    profile (harness.pki.profile: P-256 keys, ecdsa-with-SHA256, device certificates with a critical
    hardwareModuleName subjectAltName and critical keyUsage)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import SignatureAlgorithmOID

    from harness.pki.profile import CURVE, OID_HARDWARE_MODULE_NAME

    assert isinstance(certificate, x509.Certificate)
    now = now or datetime.now(UTC)
    problems = []
    if certificate.not_valid_after_utc < now:
        problems.append(f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}")
    if certificate.not_valid_before_utc > now:
        problems.append(f"not valid before {certificate.not_valid_before_utc:%Y-%m-%d}")
    if not profile:
        return problems
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != CURVE.name:
        problems.append("key is not ECDSA P-256 (IEEE 2030.5 clause 6.11)")
    if certificate.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        problems.append("not signed with ecdsa-with-SHA256 (IEEE 2030.5 clause 6.11)")
    if device:
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            names = san.value.get_values_for_type(x509.OtherName)
            if not san.critical or not any(n.type_id == OID_HARDWARE_MODULE_NAME for n in names):
                problems.append("no critical subjectAltName with a hardwareModuleName (RFC 4108)")
        except x509.ExtensionNotFound:
            problems.append("no subjectAltName (a device certificate names its hardwareModuleName)")
        try:
            usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
            if not (usage.critical and usage.value.digital_signature and usage.value.key_agreement):
                problems.append("keyUsage is not critical digitalSignature + keyAgreement")
        except x509.ExtensionNotFound:
            problems.append("no keyUsage")
    return problems


def chain_problem(chain: list[object], anchors: list[object]) -> str | None:
    """None when ``chain`` (leaf first, then intermediates) is signed up to one of ``anchors``."""
    from cryptography import x509

    if not chain:
        return "no certificate"
    current = chain[0]
    pool = [*chain[1:], *anchors]
    for _ in range(len(pool) + 1):
        assert isinstance(current, x509.Certificate)
        if any(current == anchor for anchor in anchors):
            return None
        issuer = next((c for c in pool if c.subject == current.issuer and c != current), None)  # type: ignore[attr-defined]
        if issuer is None:
            return f"no issuer for '{current.issuer.rfc4514_string() or '(empty)'}' up to the trust anchor"
        try:
            current.verify_directly_issued_by(issuer)  # type: ignore[arg-type]
        except Exception as exc:  # noqa: BLE001 - InvalidSignature, or a key type it cannot check
            return f"signature by '{issuer.subject.rfc4514_string()}' does not verify ({type(exc).__name__})"  # type: ignore[attr-defined]
        if any(issuer == anchor for anchor in anchors):
            return None
        current = issuer
    return "chain too long or looping"


def _check_pki(name: str, directory: Path, profile: bool) -> CheckLine:
    from harness.pki.store import PkiError, load_pki, trust_anchor

    try:
        identities = load_pki(directory)
        anchors = _load_certificates(trust_anchor(directory))
    except (PkiError, OSError, ValueError) as exc:
        return _fail("certificates", f"{name}: {exc}", f"vgi pki init {directory} --force", blocking=True)
    problems = []
    for role, identity in identities.items():
        try:
            leaf = _load_certificates(identity.cert_path)
            chain = _load_certificates(identity.chain_path)
        except (OSError, ValueError) as exc:
            problems.append(f"{role}: cannot parse ({exc})")
            continue
        issues = certificate_problems(leaf[0], profile=profile, device=True)
        for ca in chain[1:]:
            issues += [f"CA {p}" for p in certificate_problems(ca, profile=profile, device=False)]
        if role != "untrusted":
            missing = chain_problem([leaf[0], *chain[1:]], anchors)
            if missing:
                issues.append(missing)
        problems += [f"{role}: {issue}" for issue in issues]
    if problems:
        return _fail(
            "certificates",
            f"{name} ({directory}): " + "; ".join(problems[:4]) + (" ..." if len(problems) > 4 else ""),
            f"issue new ones: vgi pki init {directory} --force",
        )
    return _ok(
        "certificates", f"{name}: {len(identities)} device certificates chain to {directory}/serca.pem"
    )


def check_certificates(lab: LoadedLab) -> list[CheckLine]:
    from harness.devices.sep2.common import PIXIT_PKI_KEY, pki_directory
    from harness.lab.settings import device_settings

    settings = device_settings(lab.config, lab.path.parent)
    profile = "ieee2030.5" in lab.config.pics.protocols
    lines = []
    files = {name: path for name, path in settings.certificates.items() if name != PIXIT_PKI_KEY}
    anchors: list[object] = []
    for name, path in files.items():
        if "anchor" in name or "root" in name or name.endswith("ca"):
            try:
                anchors += _load_certificates(path)
            except (OSError, ValueError):
                pass
    for name, path in files.items():
        if not path.exists():
            lines.append(
                _fail(
                    "certificates",
                    f"{name}: {path} does not exist",
                    "fix pixit.certificates (paths are relative to the lab file)",
                    blocking=True,
                )
            )
            continue
        if path.is_dir():
            lines.append(_check_pki(name, path, profile))
            continue
        try:
            certs = _load_certificates(path)
        except (OSError, ValueError) as exc:
            lines.append(
                _fail(
                    "certificates",
                    f"{name}: {path} does not parse ({exc})",
                    "give a PEM or DER file",
                    blocking=True,
                )
            )
            continue
        if not certs:
            lines.append(_ok("certificates", f"{name}: {path.name} (not a certificate: a key or other PEM)"))
            continue
        is_anchor = any(c in anchors for c in certs)
        problems = certificate_problems(certs[0], profile=profile, device=not is_anchor)
        if not is_anchor and anchors:
            missing = chain_problem(certs, anchors)
            if missing:
                problems.append(missing)
        if problems:
            lines.append(
                _fail(
                    "certificates",
                    f"{name}: {path.name}: " + "; ".join(problems),
                    "issue a valid certificate (e.g. from the lab PKI: vgi pki init DIR) and point "
                    "pixit.certificates at it",
                )
            )
        else:
            chained = " chains to the trust anchor" if anchors and not is_anchor else ""
            lines.append(_ok("certificates", f"{name}: {path.name} valid{chained}"))
    if profile:
        directory = pki_directory(settings)
        if PIXIT_PKI_KEY in settings.certificates and not directory.exists():
            lines.append(
                _fail(
                    "certificates",
                    f"{PIXIT_PKI_KEY}: {directory} does not exist",
                    f"vgi pki init {directory}",
                    blocking=True,
                )
            )
        elif (directory / "pki.json").exists():
            lines.append(_check_pki("lab PKI", directory, profile))
            lines += _unregistered_identity(lab, directory)
        else:
            lines.append(_ok("certificates", f"lab PKI: made on first use at {directory}"))
    if not lines:
        lines.append(_skip("certificates", "the lab names no certificates and uses no TLS profile"))
    return lines


def _unregistered_identity(lab: LoadedLab, directory: Path) -> list[CheckLine]:
    """A server DUT's unregistered-LFDI scenarios present the lab PKI's ``unregistered`` certificate
    (`vgi pki init` issues it; a PKI made by an older release may lack it)."""
    from harness.devices.sep2.common import UNREGISTERED_ROLE
    from harness.pki.store import PkiError, load_pki

    if not set(lab.config.dut.roles) & SEP2_SERVER_ROLES:
        return []
    try:
        roles = load_pki(directory)
    except (PkiError, OSError, ValueError):
        return []  # the lab PKI line has said what is wrong with it
    if UNREGISTERED_ROLE in roles:
        return []
    return [
        _fail(
            "certificates",
            f"lab PKI {directory} has no '{UNREGISTERED_ROLE}' certificate: the scenarios that present an "
            "unregistered LFDI to the server end ERROR",
            f"vgi pki init {directory} --role {UNREGISTERED_ROLE}",
        )
    ]


def check_leftovers(lab: LoadedLab, fix: bool = False) -> list[CheckLine]:
    if not Path("/proc").is_dir():
        return [_skip("leftovers", "no /proc here")]
    every = ns.find_leftovers()
    found = [left for left in every if not left.empty]
    for left in every:
        if left.empty:
            left.record.unlink(missing_ok=True)  # a dead run's record with nothing left to remove
    others = ns.unrecorded_namespaces()
    note = (
        f"; {len(others)} vgi-* namespace(s) no run recorded (older release or another tool), left alone: "
        + ", ".join(others[:3])
        if others
        else ""
    )
    if not found:
        return [_ok("leftovers", f"nothing left by killed runs{note}")]
    if fix:
        removed = [item for left in found for item in ns.reap(left)]
        return [_ok("leftovers", f"removed what killed runs left: {', '.join(removed) or 'nothing'}{note}")]
    return [
        _fail(
            "leftovers",
            "; ".join(left.describe() for left in found) + note,
            "vgi lab check --fix (the next vgi run also removes them)",
        )
    ]


# --- probes: they wait for the hardware, each bounded ---------------------------------------------


def check_modem(lab: LoadedLab) -> list[CheckLine]:
    access = lab.config.access
    if access.kind != "plc":
        modem = getattr(access, "modem", None)
        if modem == "emulated":
            return [_skip("modem", "emulated modem, started by the harness for each scenario")]
        return [_skip("modem", "no PLC modem on this lab's link")]
    if not _interface_state(access.interface)[0]:
        return [_skip("modem", f"{access.interface} missing (see the interface line)")]
    if not _is_root():
        return [_skip("modem", "asking the modem (VS_SW_VER over raw Ethernet) needs root")]
    from harness.devices.slac_modem import check_modem as ask

    try:
        answer = asyncio.run(asyncio.wait_for(ask(access.interface, PROBE_TIMEOUT_S - 0.5), PROBE_TIMEOUT_S))
    except (OSError, TimeoutError) as exc:
        answer = None
        error = f" ({exc})" if str(exc) else ""
    else:
        error = ""
    if answer is None:
        return [
            _fail(
                "modem",
                f"no HomePlug Green PHY modem answered VS_SW_VER on {access.interface}{error}",
                "check the modem's power and its Ethernet cable to this port (open-plc-utils: "
                f"plcstat -t -i {access.interface})",
                blocking=True,
            )
        ]
    return [_ok("modem", f"{answer[0]} answered VS_SW_VER: {answer[1][:60]}")]


def _link_local(host: str) -> bool:
    """Whether ``host`` is an IPv6 link-local address (reached only with an interface as its zone)."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False  # a host name
    return address.version == 6 and address.is_link_local


def _tcp_connect(host: str, port: int, interface: str) -> str | None:
    """None when a TCP connection opens within the probe bound, else why not."""
    target = f"{host}%{interface}" if _link_local(host) and "%" not in host else host
    try:
        with socket.create_connection((target, port), timeout=PROBE_TIMEOUT_S):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _sdp_probe(interface: str, wait_s: float) -> str | None:
    """The SECC's answer to SDP (``[address]:port``), or None."""
    from harness.codec.v2g.sdp import SeccDiscoveryReq
    from harness.testers.sdp import SdpEvccTester
    from harness.transport.link import link_on_interface

    async def probe() -> str | None:
        tester = SdpEvccTester(link_on_interface(interface))
        await tester.open()
        try:
            answer = await tester.discover(SeccDiscoveryReq(), wait_s, SDP_PROBE_ATTEMPTS)
        finally:
            tester.close()
        return None if answer is None else f"[{answer.address}]:{answer.port}"

    return asyncio.run(asyncio.wait_for(probe(), SDP_PROBE_ATTEMPTS * wait_s + PROBE_TIMEOUT_S))


def _dnssd_probe(interface: str) -> list[str]:
    from harness.transport.dnssd import browse

    index = socket.if_nametoindex(interface)
    # Resolving what answered may take a little longer than the browse itself: bound the whole probe.
    probe = browse(timeout_s=PROBE_TIMEOUT_S, interfaces=[index])
    services = asyncio.run(asyncio.wait_for(probe, 2 * PROBE_TIMEOUT_S))
    return [f"{s.instance} [{', '.join(s.addresses)}]:{s.https_port or s.port}" for s in services]


def check_dut(lab: LoadedLab) -> list[CheckLine]:
    config = lab.config
    access = config.access
    if access.kind in ("sim", "process"):
        return [_skip("dut", "started by the harness for each scenario")]
    if access.kind == "manual":
        return [_skip("dut", "the operator connects the DUT when prompted")]
    if access.kind == "plc":
        return [_skip("dut", "reached over PLC after SLAC matching (the modem line covers the port)")]
    # Without the interface only what is addressed without it can be probed: a host that is not
    # link-local (no zone needed); SDP and DNS-SD are multicast on the interface itself.
    missing = not _interface_state(access.interface)[0]
    gone = f"{access.interface} missing (see the interface line)"
    lines = []
    roles = set(config.dut.roles)
    if access.host and access.port and not (missing and _link_local(access.host)):
        why = _tcp_connect(access.host, access.port, access.interface)
        if why is None:
            lines.append(_ok("dut", f"TCP [{access.host}]:{access.port} accepts connections"))
        else:
            lines.append(
                _fail(
                    "dut",
                    f"TCP [{access.host}]:{access.port}: {why}",
                    "start the DUT and check access.host and access.port (and any firewall)",
                    blocking=True,
                )
            )
    if missing:
        if not lines:
            lines.append(_skip("dut", gone))
        return lines
    if "secc" in roles and "sdp" in config.pics.protocols:
        wait_s = config.pixit.timer("SDP_RESPONSE_WAIT")
        try:
            answer = _sdp_probe(access.interface, wait_s)
        except (OSError, RuntimeError, TimeoutError) as exc:
            answer, error = None, f" ({exc})"
        else:
            error = ""
        if answer:
            lines.append(_ok("dut", f"the SECC answered SDP on {access.interface}: {answer}"))
        else:
            lines.append(
                _fail(
                    "dut",
                    f"no SDP answer on {access.interface} within {SDP_PROBE_ATTEMPTS * wait_s:g} s{error}",
                    "is the SECC powered with its V2G stack up on this interface's network?",
                    blocking=True,
                )
            )
    server_roles = roles & SEP2_SERVER_ROLES
    if server_roles and "ieee2030.5" in config.pics.protocols:
        url = _sep2_url(lab)
        if url:
            lines.append(_probe_url(url, access.interface))
        elif not lab.config.pics.supports("sep2.dnssd"):
            lines.append(
                _fail(
                    "dut",
                    "PICS sep2.dnssd is false but the lab gives no server URL",
                    "set pixit.addresses.sep2_server to the server's DeviceCapability URL",
                    blocking=True,
                )
            )
        else:
            try:
                found = _dnssd_probe(access.interface)
                error = ""
            except (OSError, RuntimeError, TimeoutError) as exc:
                found, error = [], f" ({exc})"
            if found:
                lines.append(_ok("dut", "DNS-SD _smartenergy._tcp: " + "; ".join(found[:3])))
            else:
                lines.append(
                    _fail(
                        "dut",
                        f"no _smartenergy._tcp server answered DNS-SD on {access.interface} within "
                        f"{PROBE_TIMEOUT_S:g} s{error}",
                        "start the server with DNS-SD advertising on, or give its URL in the lab",
                        blocking=True,
                    )
                )
    if not lines:
        lines.append(_skip("dut", "no address, port or discovery to probe (the DUT connects to the tester)"))
    return lines


def _sep2_url(lab: LoadedLab) -> str | None:
    """The 2030.5 server DUT's DeviceCapability URL, where the lab gives one (PIXIT addresses
    ``sep2_server``) instead of DNS-SD discovery."""
    return lab.config.pixit.addresses.get("sep2_server")


def _probe_url(url: str, interface: str) -> CheckLine:
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"https://{url}")
    host = (parts.hostname or "").replace("%25", "%")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    why = _tcp_connect(host, port, interface) if host else "no host in the URL"
    if why is None:
        return _ok("dut", f"IEEE 2030.5 server {url}: TCP connect OK")
    return _fail(
        "dut",
        f"IEEE 2030.5 server {url}: {why}",
        "start the server and check the URL in the lab config",
        blocking=True,
    )


# --- running them ---------------------------------------------------------------------------------

CHEAP_CHECKS: tuple[Callable[[LoadedLab], list[CheckLine]], ...] = (
    check_interfaces,
    check_namespace,
    check_command,
    check_capture,
    check_tools,
    check_ports,
    check_certificates,
)
PROBES: tuple[Callable[[LoadedLab], list[CheckLine]], ...] = (check_modem, check_dut)
# Checks of where a unit is (its interface, namespace, command, capture point, modem, the DUT itself): run
# for each station of a lab that lists several (``stations:``), the others once.
PER_STATION: frozenset[Callable[[LoadedLab], list[CheckLine]]] = frozenset(
    {check_interfaces, check_namespace, check_command, check_capture, check_modem, check_dut}
)


def run_checks(
    lab: LoadedLab, *, fix: bool = False, probes: bool = True, stations: int | None = None
) -> Iterable[CheckLine]:
    """Every check's lines, in order, as each finishes; a check that crashes is a FAIL line of its own
    (the pre-flight never stops half-way).  A lab with stations has its per-station checks run for each of
    its first ``stations`` stations (default: all), each line naming its station."""
    checks: list[Callable[[LoadedLab], list[CheckLine]]] = [*CHEAP_CHECKS]
    checks.append(functools.partial(check_leftovers, fix=fix))
    if probes:
        checks += PROBES
    units = _units(lab, stations)
    for check in checks:
        for unit, name in units if check in PER_STATION else [(lab, None)]:
            lines = _run_check(check, unit)
            yield from (
                lines
                if name is None
                else [replace(line, detail=f"station {name}: {line.detail}") for line in lines]
            )


def _units(lab: LoadedLab, stations: int | None) -> list[tuple[LoadedLab, str | None]]:
    """(the lab as a station sees it, the station's name) for each station checked; the lab itself, unnamed,
    when it lists none."""
    listed = lab.config.stations[: stations if stations is not None else None]
    if not listed:
        return [(lab, None)]
    return [(station_lab(lab, index)[0], station.name) for index, station in enumerate(listed)]


def _run_check(check: Callable[[LoadedLab], list[CheckLine]], lab: LoadedLab) -> list[CheckLine]:
    name = getattr(check, "__name__", None) or check.func.__name__  # type: ignore[attr-defined]
    try:
        return check(lab)
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return [
            _fail(
                name.removeprefix("check_"),
                f"the check itself failed: {type(exc).__name__}: {exc}",
                "run `vgi --debug lab check` and report the traceback",
            )
        ]


def blocking_failures(lines: Iterable[CheckLine]) -> list[CheckLine]:
    return [line for line in lines if line.failed and line.blocking]
