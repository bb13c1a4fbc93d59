"""Network namespaces and veth pairs: a private IPv6 link between the tester and the DUT.

A real PLC link is one Ethernet segment carrying IPv6 link-local traffic; a veth pair between the
root namespace (tester) and a namespace of its own (DUT) is the closest a single machine gets.
Creating them needs root (CAP_NET_ADMIN); `can_use_netns()` says whether this process may.
Every namespace and veth pair (and, through the DUT adapters, every process) a run creates is written
down first in the run's owner record, so what a killed run leaves behind is found and removed later.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    if netns in namespaces():
        raise NetnsError(
            f"network namespace {netns} exists already (left over from another run? `vgi lab check --fix` "
            f"removes what a killed run of the harness left; else `ip netns del {netns}`)"
        )
    # Written down before it exists: a run killed from here on leaves nothing unrecorded.
    owner_record().add_link(netns, tester_if)
    try:
        _ip("netns", "add", netns)
    except BaseException:
        owner_record().remove_link(netns)
        raise
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
        owner_record().remove_link(netns)
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
    if tester_interface:
        subprocess.run(["ip", "link", "del", tester_interface], capture_output=True)


def destroy_veth_link(link: VethLink) -> None:
    destroy_veth_link_by_name(link.netns, link.tester_interface)
    owner_record().remove_link(link.netns)


# --- what a run created, so that what a killed run leaves behind can be found and removed ---------
#
# A run that is killed (SIGKILL from a CI timeout or the OOM killer) runs no cleanup: its namespace,
# its veth pair and the reference device processes it started stay.  Every process that creates one
# of them writes it down first in an owner record, ``<state dir>/owners/<pid>.json``, together with
# its own start time (so a reused PID is not taken for the owner).  A record whose owner is gone names
# exactly what that run created: :func:`find_leftovers` lists it and :func:`reap` removes it.  Nothing
# that no record names is ever removed.

STATE_DIR_ENV = "VGI_STATE_DIR"
OWNERS_DIR = "owners"


def state_dir() -> Path:
    """Where owner records live: ``$VGI_STATE_DIR``, else /run/vgi as root, else the user's cache."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    if os.geteuid() == 0:
        return Path("/run/vgi")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return Path(runtime) / "vgi"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vgi" / "run"


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # Field 2 (comm) may hold spaces and parentheses: count the fields after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


def process_alive(pid: int, start_time: int | None) -> bool:
    """The process ``pid`` exists and is the one that started at ``start_time``."""
    now = process_start_time(pid)
    return now is not None and (start_time is None or now == start_time)


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _session_id(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[3])


def _all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


class OwnerRecord:
    """This process's record of what it created (one per process, written before each creation)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self.pid = os.getpid()
        self.data: dict[str, Any] = {
            "pid": self.pid,
            "start_time": process_start_time(self.pid),
            "argv": _cmdline(self.pid),
            "run_dir": None,
            "links": [],
            "processes": [],
        }
        self._lock = threading.Lock()
        self._registered_exit = False

    @property
    def path(self) -> Path:
        return (self.directory or state_dir()) / OWNERS_DIR / f"{self.pid}.json"

    def _empty(self) -> bool:
        return not (self.data["links"] or self.data["processes"] or self.data["run_dir"])

    def _save(self) -> None:
        path = self.path
        if self._empty():
            path.unlink(missing_ok=True)
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            scratch = path.with_suffix(".tmp")
            scratch.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
            scratch.replace(path)
        except OSError:
            return  # a read-only state directory loses the record, never the run
        if not self._registered_exit:
            atexit.register(self.clear)
            self._registered_exit = True

    def add_link(self, netns: str, tester_interface: str) -> None:
        with self._lock:
            entry = {"netns": netns, "tester_interface": tester_interface}
            if entry not in self.data["links"]:
                self.data["links"].append(entry)
            self._save()

    def remove_link(self, netns: str) -> None:
        with self._lock:
            self.data["links"] = [e for e in self.data["links"] if e["netns"] != netns]
            self._save()

    def add_process(self, pid: int, argv: list[str]) -> None:
        with self._lock:
            self.data["processes"].append(
                {"pid": pid, "start_time": process_start_time(pid), "argv": list(argv)}
            )
            self._save()

    def remove_process(self, pid: int) -> None:
        with self._lock:
            self.data["processes"] = [p for p in self.data["processes"] if p["pid"] != pid]
            self._save()

    def set_run_dir(self, run_dir: Path | None) -> None:
        """The run directory: a capture process of this run writes under it (found by its argv)."""
        with self._lock:
            self.data["run_dir"] = str(run_dir) if run_dir else None
            self._save()

    def clear(self) -> None:
        with self._lock:
            self.data.update(links=[], processes=[], run_dir=None)
            self._save()


_OWNER: OwnerRecord | None = None


def owner_record() -> OwnerRecord:
    """This process's owner record (made on first use; a forked child gets its own)."""
    global _OWNER
    if _OWNER is None or _OWNER.pid != os.getpid():
        _OWNER = OwnerRecord()
    return _OWNER


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What one dead run created and is still there."""

    record: Path
    owner_pid: int
    owner_argv: tuple[str, ...]
    namespaces: tuple[str, ...]
    interfaces: tuple[str, ...]
    processes: tuple[tuple[int, str], ...]  # (pid, command line)

    @property
    def empty(self) -> bool:
        return not (self.namespaces or self.interfaces or self.processes)

    def describe(self) -> str:
        parts = [f"namespace {n}" for n in self.namespaces]
        parts += [f"veth {i}" for i in self.interfaces]
        parts += [f"process {pid} ({cmd[:60]})" for pid, cmd in self.processes]
        owner = " ".join(self.owner_argv[:4])[:60] or "?"
        return f"run {self.owner_pid} ({owner}) left " + ", ".join(parts)


def namespaces() -> list[str]:
    if shutil.which("ip") is None:
        return []
    proc = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    return [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]


def interface_exists(name: str) -> bool:
    return Path("/sys/class/net", name).exists()


def _records(directory: Path | None = None) -> list[tuple[Path, dict[str, Any]]]:
    folder = (directory or state_dir()) / OWNERS_DIR
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            out.append((path, data))
    return out


def live_owned_namespaces(directory: Path | None = None) -> set[str]:
    """Namespaces a run that is still running recorded (never to be touched)."""
    return {
        link["netns"]
        for _path, data in _records(directory)
        if process_alive(data["pid"], data.get("start_time"))
        for link in data.get("links", [])
    }


def find_leftovers(directory: Path | None = None) -> list[Leftovers]:
    """What runs that are gone created and is still there (empty records of dead runs included, so
    that :func:`reap` removes the record too)."""
    existing = set(namespaces())
    pids = None
    out = []
    for path, data in _records(directory):
        if process_alive(data["pid"], data.get("start_time")):
            continue
        links = data.get("links", [])
        found_ns = tuple(link["netns"] for link in links if link["netns"] in existing)
        found_if = tuple(
            link["tester_interface"] for link in links if interface_exists(link["tester_interface"])
        )
        procs: dict[int, str] = {}
        for entry in data.get("processes", []):
            pid, start = entry["pid"], entry.get("start_time")
            now = process_start_time(pid)
            if now is not None and now != start:
                continue  # the PID belongs to another process now: neither it nor its session is ours
            if now is not None:
                procs[pid] = " ".join(_cmdline(pid))
            # The session it led (started with start_new_session): children that outlived it.
            pids = _all_pids() if pids is None else pids
            for other in pids:
                if other != pid and _session_id(other) == pid:
                    procs[other] = " ".join(_cmdline(other))
        run_dir = data.get("run_dir")
        if run_dir:
            pids = _all_pids() if pids is None else pids
            for other in pids:
                argv = _cmdline(other)
                if argv and Path(argv[0]).name == "dumpcap" and any(run_dir in a for a in argv[1:]):
                    procs[other] = " ".join(argv)
        out.append(
            Leftovers(
                path,
                data["pid"],
                tuple(data.get("argv", [])),
                found_ns,
                found_if,
                tuple(sorted(procs.items())),
            )
        )
    return out


def reap(leftovers: Leftovers) -> list[str]:
    """Remove what a dead run left (processes, namespaces with what runs in them, veth ends) and its
    record; returns what was removed."""
    removed = []
    for pid, cmd in leftovers.processes:
        try:
            os.kill(pid, signal.SIGKILL)
            removed.append(f"process {pid} ({cmd[:60]})")
        except ProcessLookupError:
            pass
    for name in leftovers.namespaces:
        destroy_veth_link_by_name(name, "")
        removed.append(f"namespace {name}")
    for interface in leftovers.interfaces:
        subprocess.run(["ip", "link", "del", interface], capture_output=True)
        removed.append(f"veth {interface}")
    leftovers.record.unlink(missing_ok=True)
    return removed


def reap_all(directory: Path | None = None) -> list[str]:
    """Reap every dead run's leftovers; what was removed."""
    removed: list[str] = []
    for leftovers in find_leftovers(directory):
        removed += reap(leftovers)
    return removed


def unrecorded_namespaces(directory: Path | None = None) -> list[str]:
    """Namespaces named like the harness's own (``vgi-...``) that no owner record names: made by an
    older release, another tool or by hand; reported, never removed."""
    recorded = {link["netns"] for _p, data in _records(directory) for link in data.get("links", [])}
    return [n for n in namespaces() if n.startswith("vgi-") and n not in recorded]
