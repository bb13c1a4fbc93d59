"""Render every report of a run directory from its ``results.json``: ``vgi report RUN_DIR``.

The manifest is written last so that it covers the reports themselves: a lab signs the HTML, and the
manifest lets anyone check later that neither it nor the evidence behind it changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from harness.verdict.results import Results
from reports.allure import ALLURE_DIR, write_allure
from reports.annotate import annotate_run
from reports.coverage import write_coverage
from reports.html import write_html
from reports.junit import JUNIT_FILE, write_junit
from reports.manifest import write_manifest
from reports.scenario_plots import DrawnPlots

if TYPE_CHECKING:
    from reports.pdf import SignerView


def render_all(
    run_dir: Path, *, regenerate_allure: bool = False, pdf: bool = False, signer: SignerView | None = None
) -> list[Path]:
    """Write the annotated captures (``captures/*.annotated.pcapng``), ``report.html``, ``junit.xml``,
    ``coverage.json``, the evidence in ``allure-results/`` (when allure-pytest-bdd wrote it, or written
    afresh with ``regenerate_allure``), ``report.pdf`` with ``pdf`` and then ``manifest.sha256`` into
    ``run_dir``.

    Works on the results of an interrupted run and on a run with no scenarios; a scenario whose
    timeline is absent or unreadable is reported as such.  Raises FileNotFoundError when there is no
    results.json and pydantic's ValidationError when it is not a results file.
    """
    run_dir = Path(run_dir)
    results = Results.load(run_dir)
    # Evidence rather than a report, so not in the list returned; before the HTML, which links each
    # annotated capture it finds beside the original.
    annotate_run(results, run_dir)
    # The PDF shows the plots of the HTML pages: kept from those pages only when a PDF follows.
    drawn: DrawnPlots | None = {} if pdf else None
    written = [
        write_html(results, run_dir, drawn),
        write_junit(results, run_dir / JUNIT_FILE),
        write_coverage(results, run_dir),
    ]
    if regenerate_allure or (run_dir / ALLURE_DIR).is_dir():
        written.append(write_allure(results, run_dir, regenerate=regenerate_allure))
    if pdf:  # ``report.pdf`` (reports.pdf), naming ``signer`` when the run is signed next
        from reports.pdf import render_pdf

        written.append(render_pdf(run_dir, signer, results, drawn))
    written.append(write_manifest(run_dir))
    return written
