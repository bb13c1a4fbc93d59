"""Soak: many DC sessions (DIN SPEC 70121 or ISO 15118-2) against one long-lived reference SECC, and many
IEEE 2030.5 clients polling the reference PFE for minutes; no failure, and file descriptors and resident
memory flat.

    sudo .venv/bin/python benchmarks/soak.py [--sessions N] [--protocol P] [--clients N] [--minutes M]

* DC sessions (``--protocol din70121``, the default, or ``iso15118-2``; the tester EV offers only that
  protocol in supportedAppProtocol, the reference SECC speaks both): the reference SECC runs as `vgi run`
  starts it for a sim lab (`vgi sim secc` in the DUT's network namespace, on one end of a veth pair: real
  sockets, SDP then V2GTP), started once; the tester EV of this process runs ``--sessions`` complete
  sessions against it, one after another, each with a fresh SDP discovery and TCP connection.  After every
  session (once the SECC's log says it ended there too) the SECC process's and this process's open file
  descriptors (/proc/PID/fd) and resident memory (/proc/PID/status VmRSS) are sampled.
* IEEE 2030.5: the reference PFE server in a process of its own (benchmarks/bench_pfe_polls.py's), and
  ``--clients`` concurrent mutual-TLS clients polling the EV's resources back to back for ``--minutes``
  (benchmarks/sep2_load.py); the server's descriptors and memory are sampled SAMPLES_PER_POLL_RUN times
  while every client is connected.

Criteria (issue 15): no failed session or request, and for each sampled process the mean of the last
tenth of the samples less than GROWTH_LIMIT_PERCENT above the mean of the first tenth (the baseline,
measured in the same run).  The exit status is 1 when a criterion fails.  ``--sessions 0`` or
``--clients 0`` leaves that part out.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Issue 15 "Soak": the defaults and the criterion.
DEFAULT_SESSIONS = 1000
DEFAULT_CLIENTS = 100
DEFAULT_MINUTES = 10.0
# The DC protocols a soak runs (PICS names, harness.protocol.dc_profiles), the default first.
PROTOCOLS = ("din70121", "iso15118-2")
GROWTH_LIMIT_PERCENT = 5.0
# A simulated-lab session takes a few seconds (harness.devices.evcc SIM_BATTERY); one that has not
# ended by then is a failure, not a slow one.
SESSION_LIMIT_S = 60.0
# The PFE server's samples over a poll run, evenly spaced once every client is connected (looked for
# this often) and ending one interval before the clients stop.
SAMPLES_PER_POLL_RUN = 100
CONNECTED_POLL_S = 0.05
# Away from the other PFE benches' ports (bench_pfe_polls 18443, bench_der_server 18444).
SOAK_PFE_PORT = 18445
# How long the SECC may take to log the end of a session after the tester's end of it, and how often
# its log is read meanwhile.
SECC_END_WAIT_S = 5.0
LOG_POLL_S = 0.01
# Progress lines per part.
PROGRESS_LINES = 20
# Reasons of failed sessions printed (all are counted).
FAILURES_SHOWN = 10


# --- pure parts: a process's usage, and the growth between the first and the last tenth --------------


@dataclass(frozen=True, slots=True)
class Usage:
    """One sample of a process: open file descriptors and resident memory."""

    fds: int
    rss_kib: int


def usage(pid: int) -> Usage:
    """``pid``'s open file descriptors (entries of /proc/PID/fd) and VmRSS (/proc/PID/status)."""
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            if unit != "kB":
                raise ValueError(f"/proc/{pid}/status: VmRSS in {unit!r}, expected kB")
            return Usage(fds, int(value))
    raise ValueError(f"/proc/{pid}/status has no VmRSS line (a kernel thread or a zombie?)")


@dataclass(frozen=True, slots=True)
class Growth:
    """Mean of the first tenth of a series (the baseline) and of its last tenth."""

    first: float
    last: float

    @property
    def percent(self) -> float:
        if self.first == 0:
            return 0.0 if self.last == 0 else float("inf")
        return (self.last - self.first) / self.first * 100.0

    def within(self, limit_percent: float) -> bool:
        return self.percent < limit_percent


def growth(values: Sequence[float]) -> Growth:
    """The growth between the first and the last tenth of ``values`` (each at least one value, and the
    two never overlapping)."""
    if len(values) < 2:
        raise ValueError(f"growth needs at least 2 samples, got {len(values)}")
    tenth = max(1, len(values) // 10)
    return Growth(statistics.fmean(values[:tenth]), statistics.fmean(values[-tenth:]))


@dataclass
class Track:
    """The samples of one process over a soak."""

    name: str
    samples: list[Usage] = field(default_factory=list)

    def add(self, sample: Usage) -> None:
        self.samples.append(sample)

    def growths(self) -> dict[str, Growth]:
        return {
            "fds": growth([s.fds for s in self.samples]),
            "RSS": growth([s.rss_kib for s in self.samples]),
        }

    def problems(self, limit_percent: float = GROWTH_LIMIT_PERCENT) -> list[str]:
        """What breaks the criterion (no growth to judge with fewer than two samples is one too)."""
        if len(self.samples) < 2:
            return [f"{self.name}: {len(self.samples)} sample(s), too few to judge growth"]
        return [
            f"{self.name}: {what} grew {g.percent:.1f} % (limit {limit_percent:g} %)"
            for what, g in self.growths().items()
            if not g.within(limit_percent)
        ]

    def rows(self) -> list[str]:
        """Markdown rows: process, measure, first tenth, last tenth, growth."""
        if len(self.samples) < 2:
            return []
        g = self.growths()
        fds, rss = g["fds"], g["RSS"]
        mib = (rss.first / 1024, rss.last / 1024)
        return [
            f"| {self.name} | fds | {fds.first:.1f} | {fds.last:.1f} | {fds.percent:+.1f} % |",
            f"| {self.name} | RSS MiB | {mib[0]:.1f} | {mib[1]:.1f} | {rss.percent:+.1f} % |",
        ]


TRACK_HEADER = "| process | measure | first tenth | last tenth | growth |\n|---|---|---:|---:|---:|"


def _now_line(tracks: Sequence[Track]) -> str:
    parts = [f"{t.name} {t.samples[-1].fds} fds {t.samples[-1].rss_kib / 1024:.1f} MiB" for t in tracks]
    return "; ".join(parts)


def _every(total: int) -> int:
    return max(1, total // PROGRESS_LINES)


# --- DC sessions against one reference SECC -------------------------------------------------------


@dataclass
class SessionSoak:
    protocol: str
    sessions: int
    failures: list[str]
    seconds: float
    secc: Track
    harness: Track

    @property
    def rate(self) -> float:
        return self.sessions / self.seconds if self.seconds else 0.0


class LineFollower:
    """Reads the lines a process appends to its log (the DUT adapter writes the device's output there)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._partial = ""
        self._lines: deque[str] = deque()

    def _read(self) -> None:
        try:
            with self.path.open(encoding="utf-8") as log:
                log.seek(self._offset)
                text = log.read()
                self._offset = log.tell()
        except FileNotFoundError:
            return
        *lines, self._partial = (self._partial + text).split("\n")
        self._lines.extend(lines)

    def wait_for(self, prefix: str, timeout_s: float) -> str | None:
        """The next line starting with ``prefix`` (other lines before it are skipped); None after
        ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._read()
            while self._lines:
                line = self._lines.popleft()
                if line.startswith(prefix):
                    return line
            if time.monotonic() >= deadline:
                return None
            time.sleep(LOG_POLL_S)


def namespace_process(netns: str) -> int:
    """The one process running in ``netns`` (the DUT's namespace holds the reference device only)."""
    import subprocess

    pids = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True).stdout.split()
    if len(pids) != 1:
        raise RuntimeError(f"expected one process in namespace {netns}, found {pids}")
    return int(pids[0])


async def _one_session(link, setup) -> str | None:  # type: ignore[no-untyped-def]
    """One tester EV session (SDP, then the DC protocol on a new connection); None, or why it failed."""
    from harness.protocol.din70121.events import StopResult
    from harness.testers.din70121 import DinEvTester

    tester = DinEvTester(link, None, setup)
    await tester.open()
    try:
        if await tester.discover() is None:
            return "no SECCDiscoveryRes"
        outcome = await tester.charge(SESSION_LIMIT_S)
    finally:
        tester.close()
    if outcome.result is None:
        return f"no result within {SESSION_LIMIT_S:g} s"
    if outcome.result.result != StopResult.COMPLETED:
        return f"{outcome.result.result}: {outcome.result.reason}"
    return None


def _secc_end(follower: LineFollower) -> str | None:
    """None when the SECC's log says its session completed, else why not.  Waiting for that line also
    means the SECC is done with the connection when it is sampled."""
    from harness.protocol.din70121.events import StopResult

    # harness.devices.secc prints "SESSION <StopResult> <reason>" when a session ends.
    line = follower.wait_for("SESSION ", SECC_END_WAIT_S)
    if line is None:
        return f"the SECC logged no end of session within {SECC_END_WAIT_S:g} s"
    if not line.startswith(f"SESSION {StopResult.COMPLETED} "):
        return f"the SECC logged {line!r}"
    return None


def soak_sessions(sessions: int, protocol: str, workdir: Path) -> SessionSoak:
    from dataclasses import replace

    from harness.bench import Bench
    from harness.lab.loader import load_lab
    from harness.protocol.dc_profiles import dc_profile
    from harness.testers.din70121 import TesterSetup

    bench = Bench.open(load_lab(REPO_ROOT / "lab_configs" / "sim.yaml"))
    secc_log = workdir / "secc.log"
    secc, harness = Track("SECC"), Track("harness")
    failures: list[str] = []
    try:
        if bench.veth is None:
            raise RuntimeError("the bench is on loopback: the soak needs the veth pair (root)")
        setup = TesterSetup.from_settings(bench.settings)
        setup = replace(setup, profiles=(dc_profile(protocol, bench.settings.timer),))
        bench.dut.start("secc", secc_log)
        follower = LineFollower(secc_log)
        secc_pid = namespace_process(bench.veth.netns)
        print(f"{protocol}: reference SECC pid {secc_pid} in {bench.veth.netns}; log {secc_log}", flush=True)
        start = time.perf_counter()
        for n in range(1, sessions + 1):
            try:
                failure = bench.run(_one_session(bench.link, setup), SESSION_LIMIT_S + 10)
            except Exception as exc:  # a session that raised is a failed one; the soak goes on
                failure = f"{type(exc).__name__}: {exc}"
            secc_failure = _secc_end(follower)  # read in any case: the next session's line is next
            failure = failure or secc_failure
            if failure is not None:
                failures.append(f"session {n}: {failure}")
                if len(failures) <= FAILURES_SHOWN:
                    print(f"  FAILED session {n}: {failure}", flush=True)
            secc.add(usage(secc_pid))
            harness.add(usage(os.getpid()))
            if n % _every(sessions) == 0 or n == sessions:
                elapsed = time.perf_counter() - start
                print(
                    f"  {n}/{sessions} sessions, {len(failures)} failed, {n / elapsed:.2f}/s; "
                    f"{_now_line((secc, harness))}",
                    flush=True,
                )
        seconds = time.perf_counter() - start
    finally:
        bench.close()
    return SessionSoak(protocol, sessions, failures, seconds, secc, harness)


# --- IEEE 2030.5 clients polling the reference PFE --------------------------------------------------


@dataclass
class PollSoak:
    clients: int
    requests: int
    failed: int
    error: str | None  # a client's exception, which ends the run
    seconds: float
    server: Track


def _sample_while_loaded(
    pid: int, track: Track, clients: int, deadline: float, stop: threading.Event
) -> None:
    """Sample ``pid`` SAMPLES_PER_POLL_RUN times, evenly from the moment every client is connected (its
    descriptors grew by ``clients``) to one interval before ``deadline`` (time.monotonic), so that
    neither the clients' start nor their end is in the samples."""
    idle = usage(pid).fds
    while usage(pid).fds < idle + clients:
        if stop.wait(CONNECTED_POLL_S) or time.monotonic() >= deadline:
            print("  the clients never were all connected: no samples", flush=True)
            return
    count = SAMPLES_PER_POLL_RUN
    interval = (deadline - time.monotonic()) / (count + 1)
    print(f"  all {clients} clients connected; a sample every {interval:.2f} s", flush=True)
    for n in range(1, count + 1):
        if stop.wait(interval):
            return
        try:
            track.add(usage(pid))
        except OSError:
            return  # the server is gone; the poll run reports it
        if n % _every(count) == 0:
            print(f"  {n}/{count} samples; {_now_line((track,))}", flush=True)


def soak_polls(clients: int, minutes: float, port: int) -> PollSoak:
    from bench_pfe_polls import EV_MIX
    from bench_pfe_polls import _serve as serve_pfe
    from sep2_load import measure, server_process

    seconds = minutes * 60.0
    server = Track("PFE server")
    with server_process(serve_pfe, port, what="PFE server") as process:
        print(f"2030.5: reference PFE pid {process.pid}, {clients} clients, {minutes:g} min", flush=True)
        stop = threading.Event()
        sampler = threading.Thread(
            target=_sample_while_loaded,
            args=(process.pid, server, clients, time.monotonic() + seconds, stop),
            daemon=True,
        )
        start = time.perf_counter()
        sampler.start()
        try:
            result = measure(port, clients, "EV mix", EV_MIX, seconds)
            error = None
        except Exception as exc:  # a client's request raised: a failed request, the run ends there
            result, error = None, f"{type(exc).__name__}: {exc}"
        finally:
            stop.set()
            sampler.join()
        elapsed = time.perf_counter() - start
    requests = result.polls if result else 0  # EV_MIX polls are one request each
    failed = result.errors if result else 0
    return PollSoak(clients, requests, failed, error, elapsed, server)


# --- report -------------------------------------------------------------------------------------------


def report_sessions(soak: SessionSoak) -> list[str]:
    print(
        f"\n{soak.protocol}: {soak.sessions} sessions in {soak.seconds:.0f} s ({soak.rate:.2f}/s), "
        f"{len(soak.failures)} failed (as the tester or the SECC's log saw them)"
    )
    print(TRACK_HEADER)
    for track in (soak.secc, soak.harness):
        print("\n".join(track.rows()))
    problems = (
        [f"{soak.protocol}: {len(soak.failures)} failed session(s), first: {soak.failures[0]}"]
        if soak.failures
        else []
    )
    return problems + soak.secc.problems() + soak.harness.problems()


def report_polls(soak: PollSoak) -> list[str]:
    rate = soak.requests / soak.seconds if soak.seconds else 0.0
    print(
        f"\n2030.5: {soak.clients} clients, {soak.requests} requests in {soak.seconds:.0f} s "
        f"({rate:.0f}/s), {soak.failed} failed" + (f"; ended by {soak.error}" if soak.error else "")
    )
    print(TRACK_HEADER)
    print("\n".join(soak.server.rows()))
    problems = [f"2030.5: {soak.failed} failed request(s)"] if soak.failed else []
    if soak.error:
        problems.append(f"2030.5: a client failed: {soak.error}")
    return problems + soak.server.problems()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=DEFAULT_SESSIONS, help="DC sessions (0: none)")
    parser.add_argument(
        "--protocol", choices=PROTOCOLS, default=PROTOCOLS[0], help="the DC sessions' protocol"
    )
    parser.add_argument("--clients", type=int, default=DEFAULT_CLIENTS, help="2030.5 clients (0: none)")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="2030.5 polling time")
    parser.add_argument("--port", type=int, default=SOAK_PFE_PORT, help="the PFE server's port")
    args = parser.parse_args()
    if args.sessions and os.geteuid() != 0:
        print(
            "the DC session part needs root (network namespace and veth pair); --sessions 0 skips it",
            file=sys.stderr,
        )
        return 2
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    problems: list[str] = []
    if args.sessions:
        workdir = Path(tempfile.mkdtemp(prefix="vgi-soak-"))
        din_problems = report_sessions(soak_sessions(args.sessions, args.protocol, workdir))
        if din_problems:
            print(f"the SECC's log is kept in {workdir}")
        else:
            shutil.rmtree(workdir)
        problems += din_problems
    if args.clients:
        problems += report_polls(soak_polls(args.clients, args.minutes, args.port))
    load = os.getloadavg()
    print(f"\nload average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    for problem in problems:
        print(f"CRITERION FAILED: {problem}")
    print("soak: " + ("FAILED" if problems else "all criteria met"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
