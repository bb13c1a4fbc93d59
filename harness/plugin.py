"""The pytest plugin that turns pytest-bdd scenarios into conformance test cases.

It loads the lab, opens the bench, selects scenarios (interfaces, tags, DUT roles, PICS), starts a
capture per scenario, derives each verdict from the captured timeline, prints one progress line per
scenario, and writes results.json (after every scenario, so an interrupted run keeps what it did)
and the reports.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from capture.live import CaptureError, start_capture
from harness import __version__, workers
from harness.bench import Bench
from harness.lab.config import HARNESS_STARTED_ACCESS, Station
from harness.lab.loader import LoadedLab, load_lab
from harness.lab.stations import StationError, station_info, station_lab, stations_info
from harness.progress import Progress
from harness.scenario import ScenarioMeta, ScenarioRun, tester_precondition_unmet, utc_now
from harness.selection import in_shard, parse_shard, parse_tag_expression, tag_values
from harness.transport.netns import reap_all
from harness.verdict.catalogue import load_catalogue, requirement_results
from harness.verdict.checks import CHECK_MODULES
from harness.verdict.checks.requirements import unknown_requirements
from harness.verdict.results import (
    LAB_COPY_FILE,
    DutIdentity,
    EarlierAttempt,
    LabRef,
    Results,
    RunInfo,
    ScenarioResult,
    StationInfo,
    StepResult,
)
from harness.verdict.verdicts import Inconclusive, NotApplicable, Verdict

_SESSION = pytest.StashKey["VgiSession"]()
_RUN = pytest.StashKey[ScenarioRun]()
_META = pytest.StashKey[ScenarioMeta]()
_STEP_T0 = pytest.StashKey[float]()
# A scenario's attempts that were set aside to be run again (vgi run --reruns), and the one just set aside.
_EARLIER = pytest.StashKey[list[EarlierAttempt]]()
_AGAIN = pytest.StashKey[EarlierAttempt]()
# Set by `vgi run`'s SIGTERM handler before it interrupts the run; a plain Ctrl-C is SIGINT.
INTERRUPT_SIGNAL = "SIGINT"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vgi", "VGI conformance harness")
    group.addoption("--lab", default=None, help="lab config file (default: the embedded sim lab)")
    group.addoption("--vgi-out", default=None, help="run directory for results, captures and reports")
    group.addoption("--vgi-interface", action="append", type=int, default=[], help="select a VGI interface")
    group.addoption("--vgi-tags", default=None, help="tag expression selecting scenarios")
    group.addoption("--vgi-command", default=None, help="the command line recorded in results.json")
    group.addoption("--vgi-shard", default=None, help="I/N: run only the I-th of N slices of the selection")
    group.addoption("--vgi-pdf", action="store_true", help="also write report.pdf at the end of the run")
    group.addoption(
        "--vgi-reruns",
        type=int,
        default=0,
        help="run a scenario INCONCLUSIVE on a tester precondition again, up to N more times",
    )


class VgiSession:
    def __init__(self, config: pytest.Config) -> None:
        from lab_configs import DEFAULT_LAB

        self.config = config
        self.role = workers.role(config)
        self.progress = Progress()
        shard = config.getoption("--vgi-shard")
        self.shard = parse_shard(shard) if shard else None
        self.lab: LoadedLab = load_lab(Path(config.getoption("--lab") or DEFAULT_LAB))
        out = config.getoption("--vgi-out")
        self.run_dir = Path(out) if out else default_run_dir(self.lab.config.name)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.role != "worker":
            shutil.copyfile(self.lab.path, self.run_dir / LAB_COPY_FILE)
        self.bench: Bench | None = None
        self.bench_error: str | None = None
        # The station this process opens its bench on (worker gwK: station K), for a lab that has some.
        self.bench_lab: LoadedLab = self.lab
        self.station: Station | None = None
        self.station_info: StationInfo | None = None
        if self.role != "controller":
            try:
                self.bench_lab, self.station = station_lab(self.lab, workers.station_index())
            except StationError as exc:
                self.bench_error = f"cannot set up the bench: {exc}"
            if self.station is not None:
                self.station_info = station_info(self.lab.config, self.station)
        self.capture_backend = self.lab.config.capture.backend
        self.capture_note: str | None = None
        self.capture_used: set[str] = set()
        self.selected: list[ScenarioMeta] = []
        self.done: dict[str, ScenarioResult] = {}
        self.interrupted: str | None = None
        dut = self.lab.config.dut
        command = config.getoption("--vgi-command")
        self.run_info = RunInfo(
            harness_version=__version__,
            git_commit=git_commit(),
            started=utc_now(),
            lab=LabRef(name=self.lab.config.name, file=str(self.lab.path), sha256=self.lab.sha256),
            dut=DutIdentity(
                vendor=dut.vendor,
                model=dut.model,
                firmware=dut.firmware,
                serial=dut.serial,
                roles=list(dut.roles),
            ),
            command=command.split("\x1f") if command else sys.argv,
            network="pending",
            capture_backend="pending",
            workers=int(getattr(config.option, "numprocesses", None) or 1),
            shard=f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            reruns=config.getoption("--vgi-reruns"),
        )
        self.run_info.stations = stations_info(self.lab.config, self.run_info.workers)

    def get_bench(self) -> Bench:
        if self.bench is None and self.bench_error is None:
            try:
                self.bench = Bench.open(self.bench_lab, station=self.station.name if self.station else None)
                self.run_info.network = self.bench.link.mode
                self.run_info.network_note = self.bench.link.note
            except Exception as exc:  # noqa: BLE001 - every scenario then ends ERROR with this reason
                self.bench_error = f"cannot set up the bench: {exc}"
        if self.bench is None:
            raise BenchUnavailable(self.bench_error or "no bench")
        return self.bench

    def results(self) -> Results:
        scenarios = []
        for meta in self.selected:
            result = self.done.get(meta.id)
            if result is None:
                reason = (
                    f"not run: the run was interrupted by {self.interrupted}"
                    if self.interrupted
                    else "not run"
                )
                result = meta.result(Verdict.INCONCLUSIVE, reason, interrupted=self.interrupted is not None)
            scenarios.append(result)
        self.run_info.capture_backend = ", ".join(sorted(self.capture_used)) or "none"
        self.run_info.capture_note = self.capture_note
        self.run_info.interrupted = self.interrupted
        return Results(run=self.run_info, scenarios=scenarios, requirements=requirement_results(scenarios))

    def save(self) -> None:
        self.results().save(self.run_dir)


class BenchUnavailable(RuntimeError):
    pass


def default_run_dir(lab_name: str) -> Path:
    stamp = utc_now().replace(":", "").replace("-", "").split(".")[0]
    return Path("reports") / "runs" / f"{stamp}-{lab_name}"


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent.parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def scenario_meta(item: pytest.Item) -> ScenarioMeta | None:
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:
        return None
    tags = sorted(template.tags | template.feature.tags)
    ids = tag_values(tags, "id")
    base_id = ids[0] if ids else f"{Path(template.feature.rel_filename).stem}::{template.name}"
    example = getattr(item, "callspec", None) and item.callspec.params.get("_pytest_bdd_example")
    scenario_id = base_id + (f"[{'-'.join(str(v) for v in example.values())}]" if example else "")
    name = template.name
    if example:
        name += " (" + ", ".join(f"{k}={v}" for k, v in example.items()) + ")"
    return ScenarioMeta(
        id=scenario_id,
        feature=template.feature.rel_filename,
        name=name,
        interfaces=sorted(int(v) for v in tag_values(tags, "interface")),
        tags=tags,
        requirements=tag_values(tags, "req"),
        roles=tag_values(tags, "dut"),
        pics=tag_values(tags, "pics"),
    )


@pytest.hookimpl(tryfirst=True)
def pytest_bdd_apply_tag(tag: str, function):  # noqa: ANN001
    # Namespaced tags (interface:4, req:SDP-SECC-01, ...) are the harness's metadata, not pytest marks.
    return function if ":" in tag else None


def cited_requirement_problems() -> list[str]:
    """Requirement ids the check modules (and the step modules loaded as plugins) cite that the
    catalogue does not know: they declare them at import (harness.verdict.checks.requirements)."""
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return unknown_requirements(load_catalogue())


def tagged_requirement_problems(metas: list[ScenarioMeta]) -> list[str]:
    """Scenarios whose @req tags name a requirement the catalogue does not know."""
    catalogue = load_catalogue()
    return [
        f"scenario {meta.id} ({meta.feature}) tags @req:{req}, which is not in the requirement catalogue"
        for meta in metas
        for req in meta.requirements
        if req not in catalogue
    ]


_CONTROLLER: VgiSession | None = None  # the controller's session, for hooks that get no config


def pytest_configure(config: pytest.Config) -> None:
    global _CONTROLLER
    problems = cited_requirement_problems()
    if problems:
        raise pytest.UsageError("vgi: " + "; ".join(problems))
    vgi = config.stash[_SESSION] = VgiSession(config)
    _CONTROLLER = vgi if vgi.role == "controller" else None
    if vgi.role == "worker":
        workers.die_with_controller()
        if vgi.lab.config.access.kind in HARNESS_STARTED_ACCESS:
            # Only a DUT the harness starts lives in the worker's namespace; a physical unit's interface
            # is in the machine's own (a station of a tcp, plc or manual lab).
            workers.enter_own_network_namespace()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        print(
            f"vgi: cannot collect {report.nodeid or 'the features'}:\n{report.longreprtext}", file=sys.stderr
        )


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    vgi = config.stash[_SESSION]
    interfaces = set(config.getoption("--vgi-interface")) or set(vgi.lab.config.dut.interfaces)
    expression = config.getoption("--vgi-tags")
    predicate = parse_tag_expression(expression) if expression else None
    keep, drop = [], []
    metas = {id(item): scenario_meta(item) for item in items}
    problems = tagged_requirement_problems([m for m in metas.values() if m is not None])
    if problems:
        raise pytest.UsageError("vgi: " + "; ".join(problems))
    position = 0
    for item in items:
        meta = metas[id(item)]
        if meta is None:
            drop.append(item)
            continue
        if not interfaces & set(meta.interfaces) or (predicate and not predicate(frozenset(meta.tags))):
            drop.append(item)
            continue
        position += 1
        if vgi.shard and not in_shard(position - 1, vgi.shard):
            drop.append(item)
            continue
        item.stash[_META] = meta
        keep.append(item)
        vgi.selected.append(meta)
    if drop:
        config.hook.pytest_deselected(items=drop)
    items[:] = keep
    if vgi.role == "worker":
        workers.write_selection(vgi.run_dir, vgi.selected)
        return
    _announce(vgi, len(keep))
    vgi.save()


def _announce(vgi: VgiSession, total: int) -> None:
    vgi.progress.start(total)
    shard = f" (shard {vgi.run_info.shard})" if vgi.run_info.shard else ""
    jobs = f", {vgi.run_info.workers} workers" if vgi.run_info.workers > 1 else ""
    if vgi.run_info.stations:
        jobs += f" on station(s) {', '.join(s.name for s in vgi.run_info.stations)}"
    print(
        f"vgi: lab '{vgi.lab.config.name}' ({vgi.lab.path}), {total} scenario(s) selected{shard}{jobs}, "
        f"run directory {vgi.run_dir}",
        flush=True,
    )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids: list[str]) -> None:  # noqa: ANN001
    """Controller of a parallel run: the first worker that has collected gives the selection."""
    vgi = node.config.stash[_SESSION]
    if vgi.selected:
        return
    vgi.selected = workers.read_selection(vgi.run_dir) or []
    _announce(vgi, len(ids))
    vgi.save()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Controller of a parallel run: a worker finished a scenario."""
    received = workers.received_result(report)
    if received is None:
        return
    vgi = _CONTROLLER
    if vgi is None:
        return
    result, bench = received
    if bench.get("network") and vgi.run_info.network == "pending":
        vgi.run_info.network = bench["network"]
        vgi.run_info.network_note = bench.get("network_note")
    vgi.capture_used.update(bench.get("capture_used", []))
    vgi.capture_note = vgi.capture_note or bench.get("capture_note")
    _finished(vgi, result)


def _applicability(vgi: VgiSession, meta: ScenarioMeta) -> str | None:
    lab = vgi.lab.config
    missing_roles = [r for r in meta.roles if r not in lab.dut.roles]
    if meta.roles and len(missing_roles) == len(meta.roles):
        return (
            f"the DUT does not play the {'/'.join(meta.roles)} role (lab roles: {', '.join(lab.dut.roles)})"
        )
    absent = [p for p in meta.pics if not lab.pics.supports(p)]
    if absent:
        return f"PICS: the DUT does not support {', '.join(absent)}"
    unimplemented = [p for p in meta.protocols if p not in lab.pics.protocols]
    if unimplemented:
        return f"PICS: the DUT does not implement {', '.join(unimplemented)} (pics.protocols)"
    return None


@pytest.fixture
def vgi_scenario(request: pytest.FixtureRequest) -> ScenarioRun:
    """The current scenario's run: steps use it to reach the bench, the DUT and the expectations."""
    return request.node.stash[_RUN]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """A scenario whose attempt ended INCONCLUSIVE on a tester precondition (the tester's own conduct,
    e.g. its timing on a loaded machine) runs again, up to ``--vgi-reruns`` more times; only the last
    attempt is reported, with the earlier ones (and their artifacts) in ``earlier_attempts``."""
    if not item.config.getoption("--vgi-reruns", 0) or _META not in item.stash:
        return None
    from _pytest.runner import runtestprotocol

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    earlier: list[EarlierAttempt] = []
    item.stash[_EARLIER] = earlier
    while True:
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        attempt = item.stash.get(_AGAIN, None)
        if attempt is None:
            break
        del item.stash[_AGAIN]
        earlier.append(attempt)
        print(
            f"vgi: {item.stash[_META].id}: attempt {len(earlier)} INCONCLUSIVE on a tester precondition "
            f"({attempt.reason}); running it again",
            flush=True,
        )
        item._initrequest()  # fresh function-scoped fixtures for the next attempt
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    vgi = item.config.stash[_SESSION]
    meta = item.stash.get(_META, None)
    if meta is None:
        return (yield)
    error: BaseException | None = None
    run: ScenarioRun | None = None
    try:
        reason = _applicability(vgi, meta)
        if reason:
            raise NotApplicable(reason)
        bench = vgi.get_bench()
        run = ScenarioRun(meta, bench, vgi.run_dir)
        item.stash[_RUN] = run
        try:
            run.capture, note = start_capture(
                vgi.capture_backend, bench.capture_interface, run.capture_path, bench.sync_target
            )
            vgi.capture_used.add(run.capture.backend)
            vgi.capture_note = vgi.capture_note or note
        except CaptureError as exc:
            raise Inconclusive(f"no capture, so no evidence: {exc}") from None
        yield
    except (KeyboardInterrupt, SystemExit):
        vgi.interrupted = vgi.interrupted or INTERRUPT_SIGNAL
        _record(vgi, item, meta, run, None, interrupted=vgi.interrupted)
        raise
    except BenchUnavailable as exc:
        error = exc
    except BaseException as exc:  # noqa: BLE001 - every failure becomes a verdict
        error = exc
    result = _record(vgi, item, meta, run, error)
    if _AGAIN in item.stash:
        pytest.skip(f"run again: {result.reason}")
    if result.verdict == Verdict.FAIL:
        raise AssertionError(result.reason)
    if result.verdict == Verdict.ERROR:
        raise RuntimeError(result.reason)
    if result.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE):
        pytest.skip(f"{result.verdict.value}: {result.reason}")
    return None


def _record(
    vgi: VgiSession,
    item: pytest.Item,
    meta: ScenarioMeta,
    run: ScenarioRun | None,
    error: BaseException | None,
    interrupted: str | None = None,
) -> ScenarioResult:
    if run is not None:
        result = run.finish(error, interrupted)
        earlier = item.stash.get(_EARLIER, [])
        if len(earlier) < item.config.getoption("--vgi-reruns") and tester_precondition_unmet(result):
            # Not reported: pytest_runtest_protocol runs the scenario again on fresh artifacts.
            item.stash[_AGAIN] = run.set_aside(len(earlier) + 1)
            return result
        if earlier:
            result = result.model_copy(update={"earlier_attempts": list(earlier)})
    else:
        if isinstance(error, NotApplicable):
            verdict, reason = Verdict.NOT_APPLICABLE, str(error)
        elif interrupted:
            verdict, reason = Verdict.INCONCLUSIVE, f"run interrupted by {interrupted} during this scenario"
        else:
            verdict, reason = Verdict.ERROR, str(error)
        result = meta.result(verdict, reason, started=utc_now(), interrupted=interrupted is not None)
    if vgi.station_info is not None:
        result = result.model_copy(update={"station": vgi.station_info})
    if vgi.role == "worker":
        workers.send_result(item, result, _bench_info(vgi))
    else:
        _finished(vgi, result)
    return result


def _bench_info(vgi: VgiSession) -> dict[str, object]:
    """What a worker's bench is, for the controller's results.json."""
    return {
        "network": vgi.run_info.network if vgi.bench is not None else None,
        "network_note": vgi.run_info.network_note,
        "capture_used": sorted(vgi.capture_used),
        "capture_note": vgi.capture_note,
    }


def _finished(vgi: VgiSession, result: ScenarioResult) -> None:
    vgi.done[result.id] = result
    vgi.save()
    print(vgi.progress.line(result), flush=True)


def _step_record(request: pytest.FixtureRequest) -> list[StepResult] | None:
    run = request.node.stash.get(_RUN, None)
    return run.steps if run is not None else None


def pytest_bdd_before_step(request, feature, scenario, step, step_func) -> None:  # noqa: ANN001
    steps = _step_record(request)
    if steps is not None:
        steps.append(StepResult(keyword=step.keyword.strip(), text=step.name, status="running"))
        request.node.stash[_STEP_T0] = time.monotonic()


def pytest_bdd_after_step(request, feature, scenario, step, step_func, step_func_args) -> None:  # noqa: ANN001
    _close_step(request, "passed", None)


def pytest_bdd_step_error(request, feature, scenario, step, step_func, step_func_args, exception) -> None:  # noqa: ANN001
    _close_step(request, "failed", f"{type(exception).__name__}: {exception}")


def pytest_bdd_step_func_lookup_error(request, feature, scenario, step, exception) -> None:  # noqa: ANN001
    steps = _step_record(request)
    if steps is not None:
        steps.append(
            StepResult(
                keyword=step.keyword.strip(),
                text=step.name,
                status="failed",
                error=f"no step definition matches: {step.name}",
            )
        )


def _close_step(request: pytest.FixtureRequest, status: str, error: str | None) -> None:
    steps = _step_record(request)
    if not steps:
        return
    last = steps[-1]
    t0 = request.node.stash.get(_STEP_T0, time.monotonic())
    steps[-1] = last.model_copy(
        update={"status": status, "error": error, "duration_s": round(time.monotonic() - t0, 3)}
    )


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    vgi = session.config.stash.get(_SESSION, None)
    if vgi is None:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED:
        vgi.interrupted = vgi.interrupted or INTERRUPT_SIGNAL
    if vgi.bench is not None:
        vgi.bench.close()
    if vgi.role == "worker":
        return
    if vgi.role == "controller":
        vgi.selected = vgi.selected or workers.read_selection(vgi.run_dir) or []
        workers.remove_selection(vgi.run_dir)
        if vgi.interrupted:
            # Workers stopped in the middle of a scenario leave its bench; they have exited by now.
            reap_all()
    vgi.run_info.finished = utc_now()
    vgi.save()
    from reports.render import render_all

    render_all(vgi.run_dir, pdf=vgi.config.getoption("--vgi-pdf"))
