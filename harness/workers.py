"""Parallel runs (`vgi run --jobs N`): which part of a pytest-xdist run this process is, and what the
workers tell the controller.

With ``--jobs 1`` one process collects, runs every scenario on its bench and writes the run directory.
With more, pytest-xdist starts N worker processes; each opens a bench of its own (its own namespace,
veth pair, reference device or DUT process and capture) and runs the scenarios it is handed.  Only the
controller writes results.json and the reports: a worker sends each scenario's result with the
scenario's test report (``user_properties``), and writes the selection (every scenario the run
selected, in order) once, so that the controller can list scenarios no worker got to, e.g. after an
interrupt.
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Literal

import pytest

from harness.scenario import ScenarioMeta
from harness.verdict.results import ScenarioResult

Role = Literal["single", "controller", "worker"]

SELECTION_FILE = ".selection.json"  # in the run directory while the run is going; removed at its end
_RESULT_KEY = "vgi_result"
_BENCH_KEY = "vgi_bench"


def role(config: pytest.Config) -> Role:
    if hasattr(config, "workerinput"):
        return "worker"
    numprocesses = getattr(config.option, "numprocesses", None)
    dist = getattr(config.option, "dist", "no")
    if numprocesses or dist != "no":
        return "controller"
    return "single"


def worker_id() -> str | None:
    """``gw0``, ``gw1``, ... in a worker of a parallel run; None otherwise."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def worker_count() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))


def station_index() -> int:
    """Which of the lab's stations this process opens its bench on: K for worker ``gwK``, the first
    for the one process of a sequential run."""
    worker = worker_id()
    return int(worker.removeprefix("gw")) if worker else 0


_PR_SET_PDEATHSIG = 1  # prctl(2)
_CLONE_NEWNET = 0x40000000  # sched.h


def enter_own_network_namespace() -> None:
    """Move this process (a worker, or the one process of a sequential run) into a network namespace
    of its own, and with it every thread and process it starts from now on: the bench's event loop,
    dumpcap, the DUT's namespace and veth pair.  Benches of several workers or runs then cannot hear
    each other: an mDNS responder listening on the wildcard address, for one, answers queries from
    every interface of its namespace.  The namespace has no name and goes away with the process."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"unshare(CLONE_NEWNET): {os.strerror(errno)}")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, capture_output=True)


def die_with_controller() -> None:
    """A worker whose controller is killed (SIGKILL from a CI timeout) is killed too, like the single
    process of a sequential run would be: what its bench leaves, the next run removes (netns.py)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass
    if os.getppid() == 1:  # the controller died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


def write_selection(run_dir: Path, selected: list[ScenarioMeta]) -> None:
    """Every worker collects the same scenarios; whichever writes first, the content is the same."""
    path = run_dir / SELECTION_FILE
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps([dataclasses.asdict(m) for m in selected]), encoding="utf-8")
    tmp.replace(path)


def read_selection(run_dir: Path) -> list[ScenarioMeta] | None:
    try:
        raw = json.loads((run_dir / SELECTION_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [ScenarioMeta(**entry) for entry in raw]


def remove_selection(run_dir: Path) -> None:
    (run_dir / SELECTION_FILE).unlink(missing_ok=True)


def send_result(item: pytest.Item, result: ScenarioResult, bench: dict[str, Any]) -> None:
    """Attach the scenario's result (and what the worker's bench is) to its test reports."""
    item.user_properties.append((_RESULT_KEY, result.model_dump_json()))
    item.user_properties.append((_BENCH_KEY, json.dumps(bench)))


def received_result(report: pytest.TestReport) -> tuple[ScenarioResult, dict[str, Any]] | None:
    """The result a worker attached to ``report``, once per scenario (the report of its call phase)."""
    if report.when != "call":
        return None
    props = dict(report.user_properties)
    if _RESULT_KEY not in props:
        return None
    return ScenarioResult.model_validate_json(props[_RESULT_KEY]), json.loads(props.get(_BENCH_KEY, "{}"))
