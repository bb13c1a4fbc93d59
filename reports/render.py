"""Render every report of a run directory from its ``results.json``: ``vgi report RUN_DIR``.

The manifest is written last so that it covers the reports themselves: a lab signs the HTML, and the
manifest lets anyone check later that neither it nor the evidence behind it changed.
"""

from __future__ import annotations

from pathlib import Path

from harness.verdict.results import Results
from reports.coverage import write_coverage
from reports.html import write_html
from reports.junit import JUNIT_FILE, write_junit
from reports.manifest import write_manifest


def render_all(run_dir: Path) -> list[Path]:
    """Write ``report.html``, ``junit.xml``, ``coverage.json`` and then ``manifest.sha256`` into ``run_dir``.

    Works on the results of an interrupted run and on a run with no scenarios; a scenario whose
    timeline is absent or unreadable is reported as such.  Raises FileNotFoundError when there is no
    results.json and pydantic's ValidationError when it is not a results file.
    """
    run_dir = Path(run_dir)
    results = Results.load(run_dir)
    written = [
        write_html(results, run_dir),
        write_junit(results, run_dir / JUNIT_FILE),
        write_coverage(results, run_dir),
    ]
    written.append(write_manifest(run_dir))
    return written
