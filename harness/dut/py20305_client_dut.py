"""py20305's IEEE 2030.5 / CSIP DER client, nobody's here, as the EV's DER client under test (run by the
`process` adapter inside the DUT's network namespace).

    python -m harness.dut.py20305_client_dut --interface vgi-dut0 \\
        --cert ev/chain.pem --key ev/key.pem --trust-anchor serca.pem

The launcher takes the client's venv from :mod:`harness.dut.py20305_client_env`, re-executes this file
with that venv's interpreter, writes the client's configuration file (YAML, the format of
``py20305 --config``; :func:`client_config`) and runs the client's own command-line entry point
(``py20305.cli.main``) on it, after printing ``py20305-client ready`` (the lab's ready_pattern).

What the configuration says, and only that is ours (a device integrator's choices):

* no ``server.url``: ``discovery`` is on, over mDNS on the DUT's interface, so the client locates the
  tester's server by DNS-SD itself (IEEE 2030.5 clause 6.9.2: clients locate local services by DNS-SD;
  it asks for ``edev-<its SFDI>`` first, then for any ``_smartenergy._tcp`` server);
* ``tls``: the device certificate and key the lab PKI issued, the trust anchor the server's chain must
  lead to, and no host-name check (2030.5 device certificates carry no DNS names);
* ``telemetry``: readings every ``--post-rate`` seconds (the lab's 30 s reading period) in the client's
  ``signed_load_convention`` profile (export negative, as the README's AC DER readings say);
* ``devices``: one device, the EV's inverter, behind the connector in :mod:`harness.dut.py20305_inverter`
  (the harness's inverter model; the client's ``print_demo`` connector reports a fixed 10 kW whatever
  it is told, which would make every power scenario meaningless);
* ``history`` off (the client would otherwise keep an operations log on disk), short connection
  back-off (a lab server comes up with the scenario).

Everything else is the client's: discovery and the choice of server, TLS, registration of its
EndDevice, the walk of the resource tree and the polling at pollRate, the DER event schedule (primacy,
supersession, randomization, defaults), the Responses it posts, the DER resources and readings it
PUTs and POSTs.  The launcher never patches the client's protocol behaviour.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import ssl
import sys
import tempfile
from pathlib import Path
from typing import Any

# What the lab's ready_pattern matches.
READY_LINE = "py20305-client ready"
# The connector class, by import path from this file's directory (on sys.path when run by file path).
CONNECTOR_CLASS_PATH = "py20305_inverter.EvInverterConnector"
# The lab's reading period (README AC DER "Readings": one MirrorMeterReading every 30 server seconds).
DEFAULT_POST_RATE_S = 30
# How long one DNS-SD query listens per transport (the client's default).
DISCOVERY_TIMEOUT_S = 3.0
# Multicast transports the client offers (config.DiscoveryConfig.transport): mdns is the 2023 edition's.
TRANSPORTS = ("mdns", "xmdns", "both")
# The client's back-off between failed discoveries or connections: a lab server is up within seconds.
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 10.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# IEEE 2030.5 clause 6.3.4: the LFDI is the leftmost 160 bits of the certificate's SHA-256 fingerprint.
LFDI_HEX_DIGITS = 40
CONFIG_NAME = "py20305-client.yaml"


class LauncherError(RuntimeError):
    """The launcher's arguments or files are unusable; the message says which."""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m harness.dut.py20305_client_dut", description=__doc__.split("\n")[0]
    )
    p.add_argument("--interface", required=True, help="the DUT's interface: DNS-SD queries go out on it")
    p.add_argument("--cert", required=True, help="PEM: the device certificate (first), optionally its chain")
    p.add_argument("--key", required=True, help="PEM: the device certificate's private key")
    p.add_argument("--trust-anchor", required=True, help="PEM: the SERCA the server's chain must lead to")
    p.add_argument("--transport", choices=TRANSPORTS, default="mdns", help="DNS-SD multicast transport")
    p.add_argument("--post-rate", type=int, default=DEFAULT_POST_RATE_S, help="seconds between readings")
    p.add_argument("--log-level", choices=LOG_LEVELS, default="INFO")
    p.add_argument("--work-dir", help="where the configuration file goes (default: a new temporary folder)")
    p.add_argument("--in-venv", action="store_true", help=argparse.SUPPRESS)
    return p


def _existing(path: str, what: str) -> Path:
    resolved = Path(path).resolve()
    if not resolved.is_file():
        raise LauncherError(f"{what} {path} does not exist or is not a file")
    return resolved


def lfdi_of(cert: Path) -> str:
    """The LFDI (40 hex digits, lower case) of the first certificate in the PEM file ``cert``."""
    text = cert.read_text(encoding="ascii", errors="replace")
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = text.find(begin)
    stop = text.find(end, start)
    if start < 0 or stop < 0:
        raise LauncherError(f"--cert {cert} holds no PEM certificate")
    der = ssl.PEM_cert_to_DER_cert(text[start : stop + len(end)] + "\n")
    return hashlib.sha256(der).hexdigest()[:LFDI_HEX_DIGITS]


def client_config(ns: argparse.Namespace) -> dict[str, Any]:
    """The client's configuration (``py20305.config.ClientConfig`` as plain data) from the arguments."""
    if ns.post_rate <= 0:
        raise LauncherError(f"--post-rate must be positive, got {ns.post_rate}")
    if not ns.interface:
        raise LauncherError("--interface must name the DUT's interface")
    cert = _existing(ns.cert, "--cert")
    key = _existing(ns.key, "--key")
    trust_anchor = _existing(ns.trust_anchor, "--trust-anchor")
    return {
        # No url: the client locates the server by DNS-SD (IEEE 2030.5 clause 6.9.2).
        "server": {"use_server_time": True, "poll_now_on_start": True},
        "tls": {
            "client_cert": os.fspath(cert),
            "client_key": os.fspath(key),
            "ca_cert": os.fspath(trust_anchor),
            "check_hostname": False,
        },
        "discovery": {
            "enabled": True,
            "transport": ns.transport,
            "interface": ns.interface,
            "timeout_seconds": DISCOVERY_TIMEOUT_S,
        },
        "connection": {
            "retry_forever": True,
            "initial_delay_seconds": RETRY_FIRST_S,
            "max_delay_seconds": RETRY_MAX_S,
        },
        "telemetry": {
            "enabled": True,
            "post_rate_seconds": ns.post_rate,
            "reading_profile": "signed_load_convention",
        },
        "devices": [
            {
                "type": "custom",
                "lfdi": lfdi_of(cert),
                "description": "EV on-board inverter (harness inverter model)",
                "class_path": CONNECTOR_CLASS_PATH,
            }
        ],
        "history": {"enabled": False},
        "logging": {"level": ns.log_level},
    }


def write_config(config: dict[str, Any], work_dir: Path) -> Path:
    """Write ``config`` as the client's YAML file in ``work_dir``; its path.  JSON is valid YAML 1.2, and
    the harness's side needs no YAML writer for it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / CONFIG_NAME
    path.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return path


def venv_argv(python: Path, argv: list[str]) -> list[str]:
    """How this file re-executes itself in the client's venv (by path: the venv has no harness)."""
    return [str(python), os.path.abspath(__file__), *argv, "--in-venv"]


def _repo_root() -> Path:
    return Path(__file__).resolve().parents[2]


def run_in_venv(ns: argparse.Namespace, config_path: Path) -> int:
    """Inside the client's venv: validate the file with the client's own model, say ready, run its CLI."""
    # The connector imports the harness's inverter model (standard library only); the repository goes
    # last on sys.path so that nothing of the harness can shadow the client's own modules.
    sys.path.append(os.fspath(_repo_root()))
    from importlib.metadata import version

    from py20305.cli import main as client_main
    from py20305.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"py20305-client: {exc}", file=sys.stderr, flush=True)
        return 2
    lfdi = config.devices[0].lfdi
    print(
        f"{READY_LINE}: py20305 {version('py20305')} as the EV's DER client, LFDI {lfdi}, "
        f"DNS-SD over {config.discovery.transport} on {config.discovery.interface}, config {config_path}",
        flush=True,
    )
    return int(client_main(["--config", os.fspath(config_path)]))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ns = parser().parse_args(argv)
    try:
        config = client_config(ns)
    except LauncherError as exc:
        print(f"py20305-client: {exc}", file=sys.stderr, flush=True)
        return 2
    if ns.in_venv:
        work_dir = Path(ns.work_dir) if ns.work_dir else Path(tempfile.mkdtemp(prefix="py20305-client-"))
        return run_in_venv(ns, write_config(config, work_dir))
    from harness.dut.py20305_client_env import Py20305ClientEnvError, py20305_client_python

    try:
        python = py20305_client_python()
    except Py20305ClientEnvError as exc:
        print(f"py20305-client: {exc}", file=sys.stderr, flush=True)
        return 2
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the venv imports the client; the connector adds the model's path itself
    os.execve(str(python), venv_argv(python, argv), env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
