"""Network namespaces and veth pairs: a private IPv6 link between the tester and the DUT.

A real PLC link is one Ethernet segment carrying IPv6 link-local traffic; a veth pair between the
root namespace (tester) and a namespace of its own (DUT) is the closest a single machine gets.
Creating them needs root (CAP_NET_ADMIN); `can_use_netns()` says whether this process may.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass

# How long the kernel may take to put a link-local address on a fresh veth (no DAD: see below).
LINK_LOCAL_WAIT_S = 5.0


class NetnsError(RuntimeError):
    pass


def can_use_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _ip(*args: str, netns: str | None = None) -> str:
    cmd = ["ip", *(["-n", netns] if netns else []), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise NetnsError(f"`{' '.join(cmd)}` failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def _sysctl(key: str, value: str, netns: str | None = None) -> None:
    cmd = ["sysctl", "-q", "-w", f"{key}={value}"]
    if netns:
        cmd = ["ip", "netns", "exec", netns, *cmd]
    subprocess.run(cmd, capture_output=True, check=False)


def link_local_address(interface: str, netns: str | None = None) -> str | None:
    out = _ip("-6", "-o", "addr", "show", "dev", interface, "scope", "link", netns=netns)
    for line in out.splitlines():
        parts = line.split()
        if "inet6" in parts:
            return parts[parts.index("inet6") + 1].split("/")[0]
    return None


@dataclass(frozen=True, slots=True)
class VethLink:
    """Tester end in the root namespace, DUT end in ``netns``."""

    netns: str
    tester_interface: str
    dut_interface: str
    tester_address: str
    dut_address: str


def create_veth_link(
    token: str | None = None, dut_interface: str | None = None, netns: str | None = None
) -> VethLink:
    """Create a namespace and a veth pair, both ends up with IPv6 link-local addresses."""
    token = token or secrets.token_hex(3)
    netns = netns or f"vgi-{token}"
    tester_if = f"vgi{token}t"[:15]
    dut_if = dut_interface or f"vgi{token}d"[:15]
    if netns in _ip("netns", "list"):
        raise NetnsError(
            f"network namespace {netns} exists already (left over from another run? `ip netns del {netns}`)"
        )
    _ip("netns", "add", netns)
    try:
        _ip("link", "add", tester_if, "type", "veth", "peer", "name", dut_if)
        _ip("link", "set", dut_if, "netns", netns)
        # No duplicate address detection: nothing else is on this link, and DAD would delay every
        # run by about a second before the addresses become usable.
        _sysctl(f"net.ipv6.conf.{tester_if}.accept_dad", "0")
        _sysctl(f"net.ipv6.conf.{dut_if}.accept_dad", "0", netns)
        _ip("link", "set", "lo", "up", netns=netns)
        _ip("link", "set", dut_if, "up", netns=netns)
        _ip("link", "set", tester_if, "up")
        deadline = time.monotonic() + LINK_LOCAL_WAIT_S
        tester_addr = dut_addr = None
        while time.monotonic() < deadline:
            tester_addr = tester_addr or link_local_address(tester_if)
            dut_addr = dut_addr or link_local_address(dut_if, netns)
            if tester_addr and dut_addr:
                return VethLink(netns, tester_if, dut_if, tester_addr, dut_addr)
            time.sleep(0.02)
        raise NetnsError(f"no IPv6 link-local address on {tester_if}/{dut_if} after {LINK_LOCAL_WAIT_S} s")
    except BaseException:
        destroy_veth_link_by_name(netns, tester_if)
        raise


def destroy_veth_link_by_name(netns: str, tester_interface: str) -> None:
    # Deleting the namespace destroys its veth end, which takes the peer with it.
    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), 9)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", netns], capture_output=True)
    subprocess.run(["ip", "link", "del", tester_interface], capture_output=True)


def destroy_veth_link(link: VethLink) -> None:
    destroy_veth_link_by_name(link.netns, link.tester_interface)
