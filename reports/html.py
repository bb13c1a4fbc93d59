"""``report.html``: one self-contained, printable file a certification lab can read and sign.

This module turns :class:`~harness.verdict.results.Results` and the scenario timelines into plain view objects
(counts, rows, chart geometry); ``templates/report.html.j2`` only lays them out.  Autoescaping is on,
so every string from a run (a DUT's serial, a decode error's text) is shown, never interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from harness.verdict.results import CheckResult, Evidence, Results, ScenarioResult
from harness.verdict.verdicts import Verdict, combine
from reports.answer_times import Summary, scenario_answer_times, summarise
from reports.coverage import (
    STATUS_ORDER,
    Coverage,
    MatrixRow,
    RequirementCoverage,
    ScenarioCoverage,
    build_coverage,
)
from reports.plots import answer_time_svg
from reports.sequence_chart import SequenceChart, build_chart
from reports.timeline_file import LoadedTimeline, load_timeline
from reports.timing import TimedCheck, TimingRow, timed_checks, timing_rows

HTML_FILE = "report.html"
TEMPLATES_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "report.html.j2"

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
    anchor: str | None  # None when the scenario is not in this run
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
    open: bool  # expanded by default: everything that is not a plain PASS or NOT_APPLICABLE


@dataclass(frozen=True, slots=True)
class ReportView:
    results: Results
    duration: str | None
    campaign: CampaignVerdict
    verdicts: tuple[str, ...]
    counts: tuple[int, ...]
    interface_rows: tuple[InterfaceRow, ...]
    coverage: tuple[CoverageRow, ...]
    uncovered: tuple[CoverageRow, ...]
    matrix: tuple[MatrixRow, ...]
    matrix_statuses: tuple[str, ...]
    unknown_requirements: tuple[tuple[str, tuple[ScenarioRef, ...]], ...]
    scenarios: tuple[ScenarioView, ...]
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


def _interface_rows(results: Results) -> tuple[InterfaceRow, ...]:
    per: dict[int | None, list[Verdict]] = {}
    for scenario in results.scenarios:
        for interface in scenario.interfaces or [None]:
            per.setdefault(interface, []).append(scenario.verdict)
    rows = []
    for interface in sorted(per, key=lambda i: (i is None, i or 0)):
        verdicts = per[interface]
        label = "no interface tagged" if interface is None else f"Interface {interface}"
        rows.append(InterfaceRow(label, tuple(verdicts.count(v) for v in VERDICT_ORDER), len(verdicts)))
    return tuple(rows)


def _coverage(coverage: Coverage) -> tuple[list[CoverageRow], list[tuple[str, tuple[ScenarioRef, ...]]]]:
    def ref(scenario: ScenarioCoverage) -> ScenarioRef:
        if not scenario.in_run:
            return ScenarioRef(scenario.id, None, None)
        return ScenarioRef(scenario.id, scenario_anchor(scenario.id), scenario.verdict)

    rows = []
    used: set[str] = set()
    for requirement in coverage.requirements:
        refs = tuple(ref(s) for s in requirement.scenarios)
        anchor_id = _unique(requirement_anchor(requirement.id), used)
        rows.append(CoverageRow(requirement, anchor_id, refs, requirement.verdict))
    unknown = [
        (req, tuple(ScenarioRef(i, scenario_anchor(i), None) for i in ids)) for req, ids in coverage.unknown
    ]
    return rows, unknown


def _frame_refs(frames: list[int], row_ids: dict[int, str]) -> tuple[FrameRef, ...]:
    return tuple(FrameRef(f, f"#{row_ids[f]}" if f in row_ids else None) for f in frames)


def _evidence(run_dir: Path, evidence: list[Evidence], row_ids: dict[int, str]) -> tuple[EvidenceView, ...]:
    views = []
    for item in evidence:
        # A relative link works wherever the run directory is copied or archived.
        views.append(
            EvidenceView(
                capture=item.capture,
                href=quote(item.capture.replace("\\", "/")),
                present=(run_dir / item.capture).is_file(),
                frames=_frame_refs(item.frames, row_ids),
            )
        )
    return tuple(views)


def _scenario_view(
    run_dir: Path, scenario: ScenarioResult, own_anchor: str, known_requirements: set[str]
) -> ScenarioView:
    timeline = load_timeline(run_dir, scenario.timeline)
    events = timeline.events
    row_ids: dict[int, str] = {}
    rows = []
    for row in timing_rows(events):
        first = row.frame not in row_ids
        if first:
            row_ids[row.frame] = f"{own_anchor}-frame-{row.frame}"
        rows.append(RowView(row, row_ids[row.frame] if first else None))
    checks = tuple(
        CheckView(
            check=check,
            requirement_href=(
                f"#{requirement_anchor(check.requirement)}"
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
        evidence=_evidence(run_dir, scenario.evidence, row_ids),
        timeline=timeline,
        chart=build_chart(events, scenario.endpoints) if events else None,
        rows=tuple(rows),
        timed_checks=tuple(timed_checks(scenario.checks)),
        open=not scenario.verdict.acceptable or scenario.interrupted,
    )


def _duration(started: str, finished: str | None) -> str | None:
    if finished is None:
        return None
    try:
        seconds = (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except (ValueError, TypeError):
        return None  # naive and aware timestamps mixed, or not ISO 8601: show start and end only
    return f"{seconds:.1f} s"


def build_view(results: Results, run_dir: Path) -> ReportView:
    coverage_model = build_coverage(results)
    coverage, unknown = _coverage(coverage_model)
    known = {r.id for r in results.requirements}
    summary = results.summary()
    used: set[str] = set()
    scenarios = tuple(
        _scenario_view(run_dir, s, _unique(scenario_anchor(s.id), used), known) for s in results.scenarios
    )
    # From the timelines the scenario views already read, so no timeline is read twice.
    times = [
        item
        for view in scenarios
        for item in scenario_answer_times(view.scenario.id, view.scenario.checks, view.timeline.events)
    ]
    plot = answer_time_svg(times)
    return ReportView(
        results=results,
        duration=_duration(results.run.started, results.run.finished),
        campaign=campaign_verdict(results),
        verdicts=tuple(v.value for v in VERDICT_ORDER),
        counts=tuple(summary[v.value] for v in VERDICT_ORDER),
        interface_rows=_interface_rows(results),
        coverage=tuple(coverage),
        uncovered=tuple(row for row in coverage if row.verdict is None),
        matrix=coverage_model.matrix,
        matrix_statuses=STATUS_ORDER,
        unknown_requirements=tuple(unknown),
        scenarios=scenarios,
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


def _environment() -> Environment:
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
    return _environment().get_template(TEMPLATE_NAME).render(view=build_view(results, run_dir))


def write_html(results: Results, run_dir: Path) -> Path:
    path = run_dir / HTML_FILE
    path.write_text(render_html(results, run_dir), encoding="utf-8")
    return path
