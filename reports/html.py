"""``report.html`` and ``scenarios/*.html``: the HTML report of a run, an index plus one page per scenario.

The index (``report.html``) holds the run's identity, the verdict counts, the answer-time plot, the
requirement coverage and one row per scenario linking to its page; each scenario page
(``scenarios/<file>.html``, :func:`scenario_files`) holds the steps, checks, evidence links, sequence
chart and timing table.  A campaign of a thousand scenarios so opens as one table, not as one page of
every timeline.  Every page is self-contained (styles inline, no fonts, images or scripts fetched) and
links to the others and to the captures by relative paths, so the run directory can be copied or
archived as it is.

This module turns :class:`~harness.verdict.results.Results` and the scenario timelines into plain view
objects (counts, rows, chart geometry); the templates only lay them out, and the PDF report
(:mod:`reports.pdf`) lays out the same views.  Autoescaping is on, so every string from a run (a DUT's
serial, a decode error's text) is shown, never interpreted.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from harness.verdict.results import CheckResult, Evidence, Results, ScenarioResult
from harness.verdict.verdicts import Verdict, combine
from reports.annotate import annotated_name
from reports.answer_times import AnswerTime, Summary, answer_times, scenario_answer_times, summarise
from reports.coverage import (
    STATUS_ORDER,
    Coverage,
    MatrixRow,
    RequirementCoverage,
    ScenarioCoverage,
    build_coverage,
)
from reports.plots import answer_time_svg
from reports.scenario_plots import DrawnPlots, TimelinePlot, timeline_plots
from reports.sequence_chart import MAX_CHART_EVENTS, SequenceChart, build_chart
from reports.timeline_file import LoadedTimeline, load_timeline
from reports.timing import MAX_TABLE_ROWS, TimedCheck, TimingRow, timed_checks, timing_rows

HTML_FILE = "report.html"
# One page per scenario, in this directory of the run directory.
SCENARIOS_DIR = "scenarios"
TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report.html.j2"
SCENARIO_TEMPLATE = "scenario.html.j2"

# Characters a scenario page's file name keeps; anything else becomes "_" (ids hold ':' or '/' at times).
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
# The tag prefixes the summary counts scenarios by (feature files tag `@protocol:din70121`, `@dut:secc`).
PROTOCOL_TAG = "protocol:"
ROLE_TAG = "dut:"

# Column order of every verdict table: the good outcomes first, then the ones a lab must look at.
VERDICT_ORDER = (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE, Verdict.NOT_APPLICABLE, Verdict.ERROR)

# Characters that cannot appear in an HTML document (C0 controls except tab, LF, CR); raw bytes in a
# decode error could carry them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHITESPACE = re.compile(r"\s+")


def anchor(prefix: str, identifier: str) -> str:
    """An HTML id for ``identifier``: ids may hold anything but whitespace."""
    return prefix + "-" + _WHITESPACE.sub("_", identifier)


def _unique(candidate: str, used: set[str]) -> str:
    """``candidate``, or ``candidate-2``, ``-3``... if a duplicate id in results.json already took it."""
    unique, number = candidate, 2
    while unique in used:
        unique, number = f"{candidate}-{number}", number + 1
    used.add(unique)
    return unique


def scenario_anchor(scenario_id: str) -> str:
    return anchor("scenario", scenario_id)


def requirement_anchor(requirement_id: str) -> str:
    return anchor("req", requirement_id)


def scenario_anchors(results: Results) -> list[str]:
    """One unique anchor per scenario of ``results``, in order (results.json may repeat an id)."""
    used: set[str] = set()
    return [_unique(scenario_anchor(s.id), used) for s in results.scenarios]


def scenario_files(results: Results) -> list[str]:
    """The page file name of each scenario, in order: its id with unsafe characters replaced, made unique
    without regard to case (so the pages survive a case-insensitive file system), plus ``.html``."""
    used: set[str] = set()
    names = []
    for scenario in results.scenarios:
        stem = _UNSAFE_FILE_CHARS.sub("_", scenario.id).lstrip(".") or "scenario"
        unique, number = stem, 2
        while unique.lower() in used:
            unique, number = f"{stem}-{number}", number + 1
        used.add(unique.lower())
        names.append(unique + ".html")
    return names


@dataclass(frozen=True, slots=True)
class Links:
    """Where the links of one page lead: the index's anchors and the run directory's files."""

    index: str  # prefix of an index anchor ("" on the index and in the PDF, "../report.html" on a page)
    run_dir: str  # prefix of a file of the run directory ("" or "../")

    def to_index(self, anchor_id: str) -> str:
        return f"{self.index}#{anchor_id}"


INDEX_LINKS = Links(index="", run_dir="")
PAGE_LINKS = Links(index=f"../{HTML_FILE}", run_dir="../")


@dataclass(frozen=True, slots=True)
class CampaignVerdict:
    verdict: Verdict
    explanation: str


@dataclass(frozen=True, slots=True)
class InterfaceRow:
    label: str
    counts: tuple[int, ...]  # in VERDICT_ORDER
    total: int


@dataclass(frozen=True, slots=True)
class ScenarioRef:
    id: str
    href: str | None  # None when the scenario is not in this run
    verdict: str | None


@dataclass(frozen=True, slots=True)
class CoverageRow:
    requirement: RequirementCoverage
    anchor: str
    scenarios: tuple[ScenarioRef, ...]
    verdict: str | None  # None: no scenario of this run checked it


@dataclass(frozen=True, slots=True)
class FrameRef:
    frame: int
    href: str | None  # link to the timing-table row, when the frame is in the timeline


@dataclass(frozen=True, slots=True)
class CheckView:
    check: CheckResult
    requirement_href: str | None
    frames: tuple[FrameRef, ...]


@dataclass(frozen=True, slots=True)
class EvidenceView:
    capture: str
    href: str
    present: bool
    frames: tuple[FrameRef, ...]
    annotated_href: str | None = None  # the annotated copy (reports.annotate), when it was written


@dataclass(frozen=True, slots=True)
class RowView:
    row: TimingRow
    anchor: str | None  # set on the first row of each frame, so checks can link to it


@dataclass(frozen=True, slots=True)
class ScenarioView:
    scenario: ScenarioResult
    anchor: str
    checks: tuple[CheckView, ...]
    evidence: tuple[EvidenceView, ...]
    timeline: LoadedTimeline
    chart: SequenceChart | None
    rows: tuple[RowView, ...]
    timed_checks: tuple[TimedCheck, ...]
    answer_times: tuple[AnswerTime, ...]  # the request/answer pairs its response_time checks timed
    plots: tuple[TimelinePlot, ...]  # DC session, pilot, DER plots its timeline has data for
    index_href: str  # its row in the index, from where this view is shown


@dataclass(frozen=True, slots=True)
class ScenarioRow:
    """One row of the index: a scenario and where its page is."""

    scenario: ScenarioResult
    anchor: str
    href: str


@dataclass(frozen=True, slots=True)
class ReportView:
    results: Results
    duration: str | None
    campaign: CampaignVerdict
    verdicts: tuple[str, ...]
    counts: tuple[int, ...]
    interface_rows: tuple[InterfaceRow, ...]
    protocol_rows: tuple[InterfaceRow, ...]  # per `@protocol:` tag
    role_rows: tuple[InterfaceRow, ...]  # per `@dut:` tag
    coverage: tuple[CoverageRow, ...]
    uncovered: tuple[CoverageRow, ...]
    matrix: tuple[MatrixRow, ...]
    matrix_statuses: tuple[str, ...]
    unknown_requirements: tuple[tuple[str, tuple[ScenarioRef, ...]], ...]
    rows: tuple[ScenarioRow, ...]
    answer_times: tuple[Summary, ...]  # per message type, sorted by name
    answer_time_plot: Markup | None  # inline SVG; None when no answer was timed


def campaign_verdict(results: Results) -> CampaignVerdict:
    """PASS only when scenarios ran, all are PASS or NOT_APPLICABLE, and the run was not cut short."""
    verdicts = [s.verdict for s in results.scenarios]
    if not verdicts:
        return CampaignVerdict(Verdict.INCONCLUSIVE, "No scenario ran, so nothing was shown to conform.")
    counts = ", ".join(f"{verdicts.count(v)} {v.value}" for v in VERDICT_ORDER if verdicts.count(v))
    if all(v.acceptable for v in verdicts):
        if results.run.interrupted or any(s.interrupted for s in results.scenarios):
            signal = results.run.interrupted or "an interruption"
            return CampaignVerdict(
                Verdict.INCONCLUSIVE,
                f"The run was stopped by {signal}; the scenarios that finished ({counts}) do not cover "
                "the campaign.",
            )
        return CampaignVerdict(Verdict.PASS, f"Every scenario is PASS or NOT_APPLICABLE ({counts}).")
    worst = combine(verdicts)
    return CampaignVerdict(worst, f"Not every scenario is PASS or NOT_APPLICABLE ({counts}).")


def _count_rows(per: dict, label) -> tuple[InterfaceRow, ...]:  # noqa: ANN001 - key type varies
    rows = []
    for key in sorted(per, key=lambda k: (k is None, k if k is not None else "")):
        verdicts = per[key]
        rows.append(InterfaceRow(label(key), tuple(verdicts.count(v) for v in VERDICT_ORDER), len(verdicts)))
    return tuple(rows)


def _interface_rows(results: Results) -> tuple[InterfaceRow, ...]:
    per: dict[int | None, list[Verdict]] = {}
    for scenario in results.scenarios:
        for interface in scenario.interfaces or [None]:
            per.setdefault(interface, []).append(scenario.verdict)
    return _count_rows(per, lambda i: "no interface tagged" if i is None else f"Interface {i}")


def _tag_rows(results: Results, prefix: str) -> tuple[InterfaceRow, ...]:
    """Verdict counts per value of the tags starting with ``prefix`` (a scenario counts under each)."""
    per: dict[str | None, list[Verdict]] = {}
    for scenario in results.scenarios:
        values = [t.lstrip("@")[len(prefix) :] for t in scenario.tags if t.lstrip("@").startswith(prefix)]
        for value in dict.fromkeys(values) or [None]:
            per.setdefault(value, []).append(scenario.verdict)
    return _count_rows(per, lambda v: "none tagged" if v is None else v)


def _coverage(
    coverage: Coverage, hrefs: dict[str, str]
) -> tuple[list[CoverageRow], list[tuple[str, tuple[ScenarioRef, ...]]]]:
    def ref(scenario: ScenarioCoverage) -> ScenarioRef:
        if not scenario.in_run:
            return ScenarioRef(scenario.id, None, None)
        return ScenarioRef(scenario.id, hrefs.get(scenario.id), scenario.verdict)

    rows = []
    used: set[str] = set()
    for requirement in coverage.requirements:
        refs = tuple(ref(s) for s in requirement.scenarios)
        anchor_id = _unique(requirement_anchor(requirement.id), used)
        rows.append(CoverageRow(requirement, anchor_id, refs, requirement.verdict))
    unknown = [(req, tuple(ScenarioRef(i, hrefs.get(i), None) for i in ids)) for req, ids in coverage.unknown]
    return rows, unknown


def _frame_refs(frames: list[int], row_ids: dict[int, str]) -> tuple[FrameRef, ...]:
    return tuple(FrameRef(f, f"#{row_ids[f]}" if f in row_ids else None) for f in frames)


def _evidence(
    run_dir: Path, evidence: list[Evidence], row_ids: dict[int, str], links: Links
) -> tuple[EvidenceView, ...]:
    views = []
    for item in evidence:
        annotated = annotated_name(item.capture)
        # A relative link works wherever the run directory is copied or archived.
        views.append(
            EvidenceView(
                capture=item.capture,
                href=links.run_dir + quote(item.capture.replace("\\", "/")),
                present=(run_dir / item.capture).is_file(),
                frames=_frame_refs(item.frames, row_ids),
                annotated_href=(
                    links.run_dir + quote(annotated.replace("\\", "/"))
                    if (run_dir / annotated).is_file()
                    else None
                ),
            )
        )
    return tuple(views)


def scenario_view(
    run_dir: Path,
    scenario: ScenarioResult,
    own_anchor: str,
    known_requirements: set[str],
    links: Links = INDEX_LINKS,
    *,
    chart_limit: int = MAX_CHART_EVENTS,
    row_limit: int = MAX_TABLE_ROWS,
    plots: tuple[TimelinePlot, ...] | None = None,
) -> ScenarioView:
    """Everything shown about one scenario; reads its timeline.  The limits cap the sequence chart and
    the timing table (the PDF keeps them short; the timeline file and the capture hold everything).
    ``plots``: the timeline's plots when already drawn (drawn from the timeline otherwise)."""
    timeline = load_timeline(run_dir, scenario.timeline)
    events = timeline.events
    row_ids: dict[int, str] = {}
    rows = []
    for row in timing_rows(events, row_limit):
        first = row.frame not in row_ids
        if first:
            row_ids[row.frame] = f"{own_anchor}-frame-{row.frame}"
        rows.append(RowView(row, row_ids[row.frame] if first else None))
    checks = tuple(
        CheckView(
            check=check,
            requirement_href=(
                links.to_index(requirement_anchor(check.requirement))
                if check.requirement and check.requirement in known_requirements
                else None
            ),
            frames=_frame_refs(check.frames, row_ids),
        )
        for check in scenario.checks
    )
    return ScenarioView(
        scenario=scenario,
        anchor=own_anchor,
        checks=checks,
        evidence=_evidence(run_dir, scenario.evidence, row_ids, links),
        timeline=timeline,
        chart=build_chart(events, scenario.endpoints, limit=chart_limit) if events else None,
        rows=tuple(rows),
        timed_checks=tuple(timed_checks(scenario.checks)),
        answer_times=tuple(scenario_answer_times(scenario.id, scenario.checks, events)),
        plots=timeline_plots(events, f"{own_anchor}-") if plots is None else plots,
        index_href=links.to_index(own_anchor),
    )


def _duration(started: str, finished: str | None) -> str | None:
    if finished is None:
        return None
    try:
        seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (ValueError, TypeError):
        return None  # naive and aware timestamps mixed, or not ISO 8601: show start and end only
    return f"{seconds:.1f} s"


def build_view(
    results: Results,
    run_dir: Path,
    times: Sequence[AnswerTime] | None = None,
    scenario_hrefs: Sequence[str] | None = None,
) -> ReportView:
    """The summary, coverage and scenario index of a run.

    ``times``: the run's answer times when the caller already has them from the scenario views (so no
    timeline is read twice); read from the timelines otherwise.  ``scenario_hrefs``: where each
    scenario is shown, in order; default the scenario pages of the HTML report.
    """
    anchors = scenario_anchors(results)
    if scenario_hrefs is None:
        scenario_hrefs = [f"{SCENARIOS_DIR}/{name}" for name in scenario_files(results)]
    hrefs: dict[str, str] = {}
    for scenario, href in zip(results.scenarios, scenario_hrefs, strict=True):
        hrefs.setdefault(scenario.id, href)
    coverage_model = build_coverage(results)
    coverage, unknown = _coverage(coverage_model, hrefs)
    summary = results.summary()
    if times is None:
        times = answer_times(results, run_dir)
    plot = answer_time_svg(times)
    return ReportView(
        results=results,
        duration=_duration(results.run.started, results.run.finished),
        campaign=campaign_verdict(results),
        verdicts=tuple(v.value for v in VERDICT_ORDER),
        counts=tuple(summary[v.value] for v in VERDICT_ORDER),
        interface_rows=_interface_rows(results),
        protocol_rows=_tag_rows(results, PROTOCOL_TAG),
        role_rows=_tag_rows(results, ROLE_TAG),
        coverage=tuple(coverage),
        uncovered=tuple(row for row in coverage if row.verdict is None),
        matrix=coverage_model.matrix,
        matrix_statuses=STATUS_ORDER,
        unknown_requirements=tuple(unknown),
        rows=tuple(
            ScenarioRow(s, a, h) for s, a, h in zip(results.scenarios, anchors, scenario_hrefs, strict=True)
        ),
        answer_times=tuple(summarise(times).values()),
        answer_time_plot=None if plot is None else Markup(plot),
    )


def _finalize(value: object) -> object:
    """Applied to every ``{{ }}`` output: None shows as nothing, control characters as ``\\xNN``."""
    if value is None:
        return ""
    if isinstance(value, str) and not isinstance(value, Markup):
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
    return value


def environment() -> Environment:
    """The Jinja environment of every report template (HTML pages and the PDF)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        finalize=_finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = lambda value: f"{value:.1f}"
    env.filters["ms"] = lambda seconds: f"{seconds * 1000.0:.2f}"
    return env


def render_html(results: Results, run_dir: Path) -> str:
    """The index page, ``report.html``, as text (the scenario pages are written by :func:`write_html`)."""
    return environment().get_template(TEMPLATE_NAME).render(view=build_view(results, run_dir))


def render_scenario_page(
    env: Environment, results: Results, view: ScenarioView, files: Sequence[str], index: int
) -> str:
    """The page of the scenario at ``index`` of ``results.scenarios``; ``files`` are every page's name."""
    return env.get_template(SCENARIO_TEMPLATE).render(
        run=results.run,
        s=view,
        position=index + 1,
        total=len(files),
        previous=files[index - 1] if index > 0 else None,
        next=files[index + 1] if index + 1 < len(files) else None,
    )


def write_html(results: Results, run_dir: Path, keep_plots: DrawnPlots | None = None) -> Path:
    """Write one page per scenario into ``scenarios/`` and then the index ``report.html``; return the index.

    The scenario pages are rendered one at a time, so a long campaign never holds every timeline in
    memory (nor every plot, unless ``keep_plots`` is given: each scenario's plots are put there for the
    PDF).  A page left in ``scenarios/`` by an earlier rendering of a scenario no longer in
    results.json is removed: the manifest must not vouch for a stale page.
    """
    run_dir = Path(run_dir)
    env = environment()
    pages = run_dir / SCENARIOS_DIR
    pages.mkdir(exist_ok=True)
    known = {r.id for r in results.requirements}
    files = scenario_files(results)
    anchors = scenario_anchors(results)
    times: list[AnswerTime] = []
    for index, (scenario, name, own_anchor) in enumerate(zip(results.scenarios, files, anchors, strict=True)):
        view = scenario_view(run_dir, scenario, own_anchor, known, PAGE_LINKS)
        if keep_plots is not None:
            keep_plots[own_anchor] = view.plots
        times.extend(view.answer_times)
        page = render_scenario_page(env, results, view, files, index)
        (pages / name).write_text(page, encoding="utf-8")
    wanted = set(files)
    for stale in pages.glob("*.html"):
        if stale.name not in wanted:
            stale.unlink()
    path = run_dir / HTML_FILE
    index = build_view(results, run_dir, times, [f"{SCENARIOS_DIR}/{name}" for name in files])
    path.write_text(env.get_template(TEMPLATE_NAME).render(view=index), encoding="utf-8")
    return path
