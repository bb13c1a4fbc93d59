"""render_all: every report of a run directory, the manifest last and covering the others."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pydantic import ValidationError

from reports.manifest import MANIFEST_FILE, verify_manifest
from reports.render import render_all


def test_writes_html_junit_coverage_then_manifest(full_run: Path) -> None:
    paths = render_all(full_run)
    assert [p.name for p in paths] == ["report.html", "junit.xml", "coverage.json", MANIFEST_FILE]
    assert all(p.parent == full_run and p.is_file() for p in paths)
    listed = [line.split("  ", 1)[1] for line in (full_run / MANIFEST_FILE).read_text().splitlines()]
    assert listed == [
        "captures/s1.pcapng",
        "coverage.json",
        "junit.xml",
        "report.html",
        "results.json",
        *(f"scenarios/S{i}.html" for i in range(1, 6)),
        "timelines/S1.json",
        "timelines/S2.json",
    ]
    assert verify_manifest(full_run) == []
    ET.parse(full_run / "junit.xml")


def test_rerendering_an_unchanged_run_gives_the_same_files(full_run: Path) -> None:
    render_all(full_run)
    before = {p.name: p.read_bytes() for p in full_run.iterdir() if p.is_file()}
    render_all(full_run)
    after = {p.name: p.read_bytes() for p in full_run.iterdir() if p.is_file()}
    assert before == after


def test_interrupted_run(interrupted_run: Path) -> None:
    paths = render_all(interrupted_run)
    assert "Run interrupted" in paths[0].read_text(encoding="utf-8")
    assert verify_manifest(interrupted_run) == []


def test_empty_run(make_run) -> None:
    run_dir = make_run([])
    paths = render_all(run_dir)
    assert [p.name for p in paths] == ["report.html", "junit.xml", "coverage.json", MANIFEST_FILE]
    assert verify_manifest(run_dir) == []


def test_no_results(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        render_all(tmp_path)


def test_not_a_results_file(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"run": {}}', encoding="utf-8")
    with pytest.raises(ValidationError):
        render_all(tmp_path)
