"""``report.pdf``: the compliance report a lab signs and hands over, rendered with WeasyPrint.

It lays out the same views as the HTML report (:mod:`reports.html`) with the same template parts, plus
a print stylesheet (``templates/report.pdf.css``): a cover page (lab, DUT identity, harness version and
commit, dates, campaign verdict), a table of contents with page numbers, the run and the lab's PICS and
PIXIT, the summary and requirement coverage, one compact section per scenario and a signature block.
Pages are numbered "page X of Y" and the PDF carries bookmarks for every section and scenario.

Compact means a scenario's sequence chart stops after :data:`PDF_CHART_EVENTS` events (with a note
naming the timeline file and capture that hold the rest), the timing table is left to the HTML page, and
passed steps are counted rather than listed, so a campaign of a thousand scenarios stays a document a
reader can page through (and WeasyPrint lays it out in minutes, not hours).

The lab's PICS and PIXIT are not in results.json; they are read from the lab configuration file the run
names, and shown only when its SHA-256 still matches the one results.json recorded (otherwise the PDF
says why they are missing).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from markupsafe import Markup

from harness.verdict.results import LAB_COPY_FILE, LabRef, Results
from reports.html import (
    INDEX_LINKS,
    ScenarioView,
    build_view,
    environment,
    scenario_anchors,
    scenario_view,
)
from reports.plots import answer_time_svg
from reports.scenario_plots import DrawnPlots

PDF_FILE = "report.pdf"
PDF_TEMPLATE = "report.pdf.j2"
# How much of a scenario's timeline the PDF charts; the timeline file and the capture hold the rest.
PDF_CHART_EVENTS = 25  # one part of the chart (reports.sequence_chart.SEGMENT_ROWS)
# Where a run directory may keep a copy of its lab configuration (looked for before the path it names).
# The reproducible-builds variable fontTools reads for the timestamps it writes into fonts.
_SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


@dataclass(frozen=True, slots=True)
class TimerOverrideView:
    name: str
    value: str  # e.g. "20 s"
    clause: str
    reason: str


@dataclass(frozen=True, slots=True)
class LabView:
    """The lab configuration as the PDF shows it; ``loaded`` False when the file could not be used."""

    name: str
    loaded: bool
    note: str | None = None
    description: str = ""
    protocols: tuple[str, ...] = ()
    options: tuple[tuple[str, bool], ...] = ()
    timers: tuple[TimerOverrideView, ...] = ()
    parameters: tuple[tuple[str, str], ...] = ()  # every other PIXIT entry, as text


@dataclass(frozen=True, slots=True)
class SignerView:
    """Who signs the run once this PDF is written (``vgi report --pdf --sign``), and when it was made."""

    subject: str
    time: str


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):g} s"
    except (TypeError, ValueError):
        return str(value)


def _text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def lab_view(run_dir: Path, lab: LabRef) -> LabView:
    """The PICS and PIXIT of the lab file ``lab`` names, when it is found unchanged since the run."""
    candidates = [Path(run_dir) / LAB_COPY_FILE, Path(lab.file)]
    changed: list[str] = []
    for path in candidates:
        if not path.is_file():
            continue
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != lab.sha256:
            changed.append(str(path))
            continue
        try:
            config = yaml.safe_load(data)
        except yaml.YAMLError as exc:
            return LabView(lab.name, False, f"The lab configuration {path} could not be read: {exc}")
        if not isinstance(config, dict):
            return LabView(lab.name, False, f"The lab configuration {path} is not a mapping.")
        return _lab_from_config(lab.name, path, config)
    if changed:
        note = (
            f"The lab configuration {', '.join(changed)} has changed since the run (its SHA-256 is no longer "
            f"{lab.sha256}), so its PICS and PIXIT are not shown: they might not be the ones the run used."
        )
    else:
        note = (
            f"The lab configuration {lab.file} (SHA-256 {lab.sha256}) is not available where this PDF was "
            f"made, nor as {LAB_COPY_FILE} in the run directory, so its PICS and PIXIT cannot be shown."
        )
    return LabView(lab.name, False, note)


def _lab_from_config(name: str, path: Path, config: dict[str, Any]) -> LabView:
    pics = config.get("pics") or {}
    pixit = config.get("pixit") or {}
    timers = []
    for timer, override in sorted((pixit.get("timers") or {}).items()):
        override = override if isinstance(override, dict) else {"value_s": override}
        timers.append(
            TimerOverrideView(
                name=str(timer),
                value=_seconds(override.get("value_s")),
                clause=str(override.get("clause", "")),
                reason=str(override.get("reason", "")),
            )
        )
    parameters = tuple((str(k), _text(v)) for k, v in sorted(pixit.items()) if k != "timers")
    return LabView(
        name=str(config.get("name", name)),
        loaded=True,
        note=f"From {path}, unchanged since the run (SHA-256 as results.json records it).",
        description=str(config.get("description", "")),
        protocols=tuple(str(p) for p in pics.get("protocols") or ()),
        options=tuple(sorted((str(k), bool(v)) for k, v in (pics.get("options") or {}).items())),
        timers=tuple(timers),
        parameters=parameters,
    )


def _scenarios(
    results: Results, run_dir: Path, drawn: DrawnPlots | None
) -> Iterator[tuple[ScenarioView, Markup | None]]:
    """Each scenario's view and its answer-time plot, made one at a time while the template renders; its
    timeline plots are taken from ``drawn`` (each let go once used) when the HTML pages drew them."""
    known = {r.id for r in results.requirements}
    for scenario, own_anchor in zip(results.scenarios, scenario_anchors(results), strict=True):
        view = scenario_view(
            run_dir,
            scenario,
            own_anchor,
            known,
            INDEX_LINKS,
            chart_limit=PDF_CHART_EVENTS,
            row_limit=0,  # no timing table: checks cite frames by number
            plots=None if drawn is None else drawn.pop(own_anchor, None),
        )
        plot = answer_time_svg(view.answer_times)
        yield view, None if plot is None else Markup(plot)


def render_pdf_html(
    run_dir: Path,
    signer: SignerView | None = None,
    results: Results | None = None,
    drawn: DrawnPlots | None = None,
) -> str:
    """The HTML WeasyPrint turns into the PDF (one document, internal links only); ``drawn``: the
    scenarios' timeline plots :func:`reports.html.write_html` kept, if it ran first."""
    run_dir = Path(run_dir)
    if results is None:
        results = Results.load(run_dir)
    anchors = scenario_anchors(results)
    view = build_view(results, run_dir, scenario_hrefs=[f"#{a}" for a in anchors])
    return (
        environment()
        .get_template(PDF_TEMPLATE)
        .render(
            view=view,
            lab=lab_view(run_dir, results.run.lab),
            scenarios=_scenarios(results, run_dir, drawn),
            signer=signer,
        )
    )


def signer_view(subject: str) -> SignerView:
    """The signer the PDF names, with the time the PDF is prepared (the signature follows once the PDF and
    the manifest are written, and records its own signing time)."""
    return SignerView(subject, datetime.now(UTC).replace(microsecond=0).isoformat())


def render_pdf(
    run_dir: Path,
    signer: SignerView | None = None,
    results: Results | None = None,
    drawn: DrawnPlots | None = None,
) -> Path:
    """Write ``report.pdf`` into ``run_dir`` and return its path.

    It does not rewrite the manifest: :func:`reports.render.render_all` (``pdf=True``) writes the PDF
    before ``manifest.sha256``, so the manifest and a signature over it cover the PDF; it also hands over
    the plots the HTML pages drew (``drawn``), so each is drawn once.
    """
    from weasyprint import HTML

    run_dir = Path(run_dir)
    if results is None:
        results = Results.load(run_dir)
    html = render_pdf_html(run_dir, signer, results, drawn)
    path = run_dir / PDF_FILE
    # No base URL: the document links only within itself and fetches nothing.
    with _font_timestamps(_epoch(results.run.started)):
        HTML(string=html).write_pdf(path)
    return path


def _epoch(timestamp: str) -> int:
    try:
        return max(0, int(datetime.fromisoformat(timestamp).timestamp()))
    except (TypeError, ValueError):
        return 0


@contextmanager
def _font_timestamps(epoch: int) -> Iterator[None]:
    """Pin the time fontTools writes into each font subset it makes for WeasyPrint (when HarfBuzz's
    subsetter is not installed) through its ``SOURCE_DATE_EPOCH`` convention, so the same run gives the
    same PDF bytes and re-rendering an unchanged run keeps its manifest, and its signature, valid."""
    previous = os.environ.get(_SOURCE_DATE_EPOCH)
    os.environ[_SOURCE_DATE_EPOCH] = str(epoch)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(_SOURCE_DATE_EPOCH, None)
        else:
            os.environ[_SOURCE_DATE_EPOCH] = previous
