"""`vgi run`: run the conformance campaign against the lab's DUT."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from harness.commands import UsageError
from harness.transport.netns import can_use_netns, owner_record, reap_all


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="run the conformance campaign",
        description="Run the feature files against the DUT of a lab config (default: the embedded lab of "
        "reference devices). Prints one line per scenario with its verdict; writes results.json, report.html,"
        " "
        "junit.xml, allure-results/, the captures and manifest.sha256 into the run directory. Exit status 0 "
        "only when every selected scenario is PASS or NOT_APPLICABLE.",
    )
    parser.add_argument("--lab", help="lab config file (default: the embedded sim lab)")
    parser.add_argument(
        "--interface",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="run the scenarios of VGI interface N (1-9); repeatable; default: the lab's interfaces",
    )
    parser.add_argument(
        "-k", dest="keyword", metavar="EXPR", help="pytest keyword expression over scenario names"
    )
    parser.add_argument(
        "--tags",
        metavar="EXPR",
        help="tag expression, e.g. 'dut:secc and not req:SDP-SECC-05' or 'slac or pilot'",
    )
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="run directory (default: reports/runs/<UTC timestamp>-<lab name>/ under the current directory)",
    )
    parser.add_argument(
        "--ack-file",
        type=Path,
        metavar="PATH",
        help="`manual` access: acknowledge operator prompts by writing 'ok' (or 'abort REASON') to PATH; "
        "the current prompt is in PATH.prompt while the harness waits (sets $VGI_ACK_FILE); a lab with "
        "`stations:` has one per station, PATH.<station> and PATH.<station>.prompt",
    )
    parser.add_argument(
        "--jobs",
        "-j",
        default="auto",
        metavar="N",
        help="scenarios run in parallel on N benches, each with its own namespaces, capture and DUT "
        f"instance (pytest-xdist); 'auto' (default) is {AUTO_JOBS} for `sim` and `process` labs, whose DUT "
        "can be started more than once (a `process` lab's access.auto_jobs, when it gives one), and 1 for a "
        "DUT that exists once (`tcp`, `plc`, `manual`); a lab "
        "with `stations:` runs one worker per station ('auto': all of them, N: the first N)",
    )
    parser.add_argument(
        "--shard",
        metavar="I/N",
        help="run only the I-th of N deterministic slices of the selected scenarios (round robin over the "
        "selection), e.g. one per machine of a CI matrix; `vgi merge` combines the run directories",
    )
    parser.add_argument(
        "--pdf",
        action="store_true",
        help="also write report.pdf, the compliance report to sign (as `vgi report RUN_DIR --pdf`; a few "
        "minutes of CPU for a full campaign)",
    )
    parser.add_argument(
        "--reruns",
        type=int,
        default=DEFAULT_RERUNS,
        metavar="N",
        help="run a scenario again, up to N more times, when it ends INCONCLUSIVE because the tester's own "
        "conduct missed a precondition (e.g. its SLAC sounding pace on a loaded machine); the DUT is never "
        f"given a second chance at a FAIL. The earlier attempts stay in the report and under attempts/ "
        f"(default {DEFAULT_RERUNS}; 0: never)",
    )
    parser.add_argument(
        "--no-preflight",
        action="store_true",
        help="skip the cheap pre-flight checks (`vgi lab check --no-probes`) run before the campaign",
    )
    parser.set_defaults(handler=_handle)


# Re-runs of a scenario INCONCLUSIVE on a tester precondition: one more attempt makes a campaign on a
# loaded machine repeatable (the default campaign's one such case failed its precondition in about one run
# in two; twice in a row is rare), without hiding anything about the DUT.
DEFAULT_RERUNS = 1
# Parallel benches for a lab whose DUT can be started more than once.  The scenarios wait on protocol
# timers far more than they compute, so more benches than cores pay off; benchmarks/RESULTS.md has
# the measurements behind the figure.
AUTO_JOBS = 4


def resolve_jobs(
    value: str, access_kind: str, *, namespaces: bool, stations: int = 0, auto_jobs: int | None = None
) -> int:
    """``--jobs`` for a lab: 'auto' or a positive number; more than 1 only where each worker can have
    a DUT of its own and a network namespace of its own (``namespaces``: root; a loopback lab's workers
    each have a loopback of their own), or a station of its own (a lab listing ``stations`` units: one
    worker per station).  ``auto_jobs`` is the lab's own figure for 'auto' (``access.auto_jobs``)."""
    from harness.lab.config import HARNESS_STARTED_ACCESS

    multi = access_kind in HARNESS_STARTED_ACCESS
    if value == "auto":
        if stations:
            return stations if namespaces or not multi else 1
        return (auto_jobs or AUTO_JOBS) if multi and namespaces else 1
    try:
        jobs = int(value)
    except ValueError:
        raise UsageError(f"--jobs {value!r}: give a number of parallel benches or 'auto'") from None
    if jobs < 1:
        raise UsageError(f"--jobs {jobs}: at least 1")
    if stations and jobs > stations:
        raise UsageError(
            f"--jobs {jobs}: the lab lists {stations} station(s) and each worker runs on a station of its "
            f"own; give at most {stations}"
        )
    if jobs > 1 and not multi and not stations:
        raise UsageError(
            f"--jobs {jobs}: the lab's DUT ({access_kind} access) exists once, so its scenarios run one "
            "after another; parallel benches need a DUT the harness starts itself (`sim` or `process` access)"
        )
    if jobs > 1 and multi and not namespaces:
        raise UsageError(
            f"--jobs {jobs}: parallel benches each need network namespaces of their own, which needs root"
        )
    return jobs


class _Terminated(KeyboardInterrupt):
    pass


def _on_sigterm(signum: int, frame: object) -> None:
    import harness.plugin

    harness.plugin.INTERRUPT_SIGNAL = "SIGTERM"
    raise _Terminated()


def _handle(args: argparse.Namespace) -> int:
    import pytest

    import steps
    from harness import workers
    from harness.commands.lab import load_lab_or_usage_error
    from harness.dut.adapters import ACK_FILE_ENV
    from harness.lab.config import HARNESS_STARTED_ACCESS
    from harness.plugin import default_run_dir
    from harness.selection import ShardError, TagExpressionError, parse_shard, parse_tag_expression
    from harness.verdict.results import Results

    loaded = load_lab_or_usage_error(args.lab)
    bad = [i for i in args.interface if not 1 <= i <= 9]
    if bad:
        raise UsageError(f"--interface {bad[0]}: VGI interfaces are numbered 1 to 9")
    if args.tags:
        try:
            parse_tag_expression(args.tags)
        except TagExpressionError as exc:
            raise UsageError(f"--tags: {exc}") from None
    if args.reruns < 0:
        raise UsageError(f"--reruns {args.reruns}: 0 or more")
    if args.shard:
        try:
            parse_shard(args.shard)
        except ShardError as exc:
            raise UsageError(f"--shard: {exc}") from None
    # Each worker of a parallel run enters a network namespace of its own (harness.plugin), whatever the
    # lab's network mode: a loopback lab's workers each have their own loopback.
    own_namespaces = can_use_netns()
    namespaces = loaded.config.network.mode != "loopback" and own_namespaces
    jobs = resolve_jobs(
        args.jobs,
        loaded.config.access.kind,
        namespaces=own_namespaces,
        stations=len(loaded.config.stations),
        auto_jobs=getattr(loaded.config.access, "auto_jobs", None),
    )
    if jobs > 1:
        jobs = min(jobs, _planned_runs(args, loaded.config.dut.interfaces))
    if (
        jobs > 1
        and loaded.config.access.kind == "manual"
        and not (args.ack_file or os.environ.get(ACK_FILE_ENV))
    ):
        raise UsageError(
            f"--jobs {jobs}: the operator prompts of several `manual` stations at once reach no terminal; "
            "give --ack-file PATH (each station then has PATH.<station> and its .prompt), or --jobs 1"
        )
    refused = _reap_and_preflight(loaded, skip_checks=args.no_preflight, stations=jobs)
    if refused:
        return refused
    if args.ack_file is not None:
        os.environ[ACK_FILE_ENV] = str(args.ack_file.resolve())
    run_dir = (args.out or default_run_dir(loaded.config.name)).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    steps_dir = Path(steps.__file__).resolve().parent
    pytest_args = [
        str(steps_dir / "test_features.py"),
        "-c",
        str(Path(__file__).resolve().parent.parent / "run.ini"),
        "--rootdir",
        str(steps_dir.parent),
        "-p",
        "harness.plugin",
        "--lab",
        str(loaded.path),
        "--vgi-out",
        str(run_dir),
        "--vgi-command",
        "\x1f".join(["vgi", *sys.argv[1:]]),
        "--alluredir",
        str(run_dir / "allure-results"),
    ]
    for module in steps.STEP_MODULES:
        pytest_args += ["-p", module]
    for interface in args.interface:
        pytest_args += ["--vgi-interface", str(interface)]
    if args.tags:
        pytest_args += ["--vgi-tags", args.tags]
    pytest_args += ["--vgi-reruns", str(args.reruns)]
    if args.keyword:
        pytest_args += ["-k", args.keyword]
    if args.shard:
        pytest_args += ["--vgi-shard", args.shard]
    if args.pdf:
        pytest_args += ["--vgi-pdf"]
    if jobs > 1:
        # worksteal: a worker that runs out takes scenarios queued for another, which evens out the long
        # DER and SDP scenarios.
        pytest_args += ["-n", str(jobs), "--dist", "worksteal"]
    pytest_args += ["-q", "--tb=short"] if args.debug else ["-p", "no:terminal", "-W", "ignore", "-s"]
    if namespaces and loaded.config.access.kind in HARNESS_STARTED_ACCESS:
        # Like each worker of a parallel run, a run in one process gets a network namespace of its own:
        # two runs on one machine (two engineers, or a test starting several) cannot hear each other's
        # benches (an mDNS responder answers every query of its namespace).
        workers.enter_own_network_namespace()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    # The run directory marks this run's capture processes, should the run be killed (netns.py).
    owner_record().set_run_dir(run_dir)
    try:
        code = pytest.main(pytest_args)
    finally:
        signal.signal(signal.SIGTERM, previous)
        owner_record().set_run_dir(None)
    try:
        results = Results.load(run_dir)
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"the run produced no results ({exc}); pytest exit status {int(code)}; "
            "run with --debug to see pytest's output"
        ) from None
    return summarise(results, run_dir, int(code))


def _planned_runs(args: argparse.Namespace, lab_interfaces: list[int]) -> int:
    """At least 1: the scenario runs the selection will have (before -k, which only removes), so that a
    run of a few scenarios starts no idle workers (each costs a second or two of CPU to start)."""
    from harness.inventory import count_runs, load_inventory
    from harness.selection import parse_shard, parse_tag_expression

    predicate = parse_tag_expression(args.tags) if args.tags else None
    runs = count_runs(load_inventory(), set(args.interface) or set(lab_interfaces), predicate)
    if args.shard:
        index, count = parse_shard(args.shard)
        runs = runs // count + (1 if index <= runs % count else 0)
    return max(1, runs)


def _reap_and_preflight(loaded, *, skip_checks: bool, stations: int) -> int:  # noqa: ANN001
    """Remove what earlier killed runs of the harness left, then run the cheap pre-flight (on each of the
    ``stations`` stations the run uses, when the lab lists stations); 2 (and the failing lines on stderr)
    when a check fails that would make every scenario INCONCLUSIVE."""
    from harness.commands.preflight import blocking_failures, run_checks

    removed = reap_all()
    if removed:
        print(f"removed what a killed run left: {', '.join(removed)}", file=sys.stderr)
    if skip_checks:
        return 0
    failures = blocking_failures(run_checks(loaded, probes=False, stations=stations))
    if not failures:
        return 0
    print(f"vgi: the bench is not ready for lab {loaded.config.name}; not running:", file=sys.stderr)
    for line in failures:
        print(line.render(), file=sys.stderr)
    print("(`vgi lab check` shows every check; --no-preflight runs anyway)", file=sys.stderr)
    return 2


def summarise(results, run_dir: Path, pytest_code: int) -> int:  # noqa: ANN001
    counts = results.summary()
    shown = ", ".join(f"{n} {v}" for v, n in counts.items() if n)
    print(f"\n{len(results.scenarios)} scenario(s): {shown or 'none'}")
    print(f"report:  {run_dir / 'report.html'}")
    print(f"results: {run_dir / 'results.json'}")
    if results.run.interrupted:
        print(f"run interrupted by {results.run.interrupted}")
        return 130
    if not results.scenarios:
        print("no scenario matched the selection", file=sys.stderr)
        return 2
    ok = all(s.verdict.acceptable for s in results.scenarios)
    return 0 if ok else 1
