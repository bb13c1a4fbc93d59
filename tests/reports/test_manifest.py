"""manifest.sha256: sha256sum's format, and verification that notices every kind of change."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from reports.manifest import MANIFEST_FILE, verify_manifest, write_manifest


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    root = tmp_path / "run"
    (root / "captures").mkdir(parents=True)
    (root / "timelines").mkdir()
    (root / "results.json").write_text('{"schema_version": 1}', encoding="utf-8")
    (root / "captures" / "s1.pcapng").write_bytes(bytes(range(256)) * 10)
    (root / "timelines" / "S1.json").write_text("[]", encoding="utf-8")
    return root


def test_lines_are_sorted_sha256sum_lines_over_every_file_but_itself(run_dir: Path) -> None:
    manifest = write_manifest(run_dir)
    assert manifest == run_dir / MANIFEST_FILE
    lines = manifest.read_text(encoding="utf-8").splitlines()
    paths = [line.split("  ", 1)[1] for line in lines]
    assert paths == ["captures/s1.pcapng", "results.json", "timelines/S1.json"]
    expected = hashlib.sha256(bytes(range(256)) * 10).hexdigest()
    assert lines[0] == f"{expected}  captures/s1.pcapng"
    assert verify_manifest(run_dir) == []


def test_rewriting_does_not_list_the_old_manifest(run_dir: Path) -> None:
    write_manifest(run_dir)
    second = write_manifest(run_dir).read_text(encoding="utf-8")
    assert MANIFEST_FILE not in second
    assert not (run_dir / f"{MANIFEST_FILE}.tmp").exists()


@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="GNU sha256sum not installed")
def test_sha256sum_accepts_it(run_dir: Path) -> None:
    (run_dir / "captures" / "odd name\\with backslash.pcapng").write_bytes(b"x")
    write_manifest(run_dir)
    done = subprocess.run(
        ["sha256sum", "--check", "--strict", MANIFEST_FILE], cwd=run_dir, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK") == 4
    assert verify_manifest(run_dir) == []


def test_detects_a_changed_file(run_dir: Path) -> None:
    write_manifest(run_dir)
    (run_dir / "results.json").write_text('{"schema_version": 2}', encoding="utf-8")
    assert verify_manifest(run_dir) == ["results.json: content changed (sha256 differs from the manifest)"]


def test_detects_missing_and_added_files(run_dir: Path) -> None:
    write_manifest(run_dir)
    (run_dir / "timelines" / "S1.json").unlink()
    (run_dir / "captures" / "late.pcapng").write_bytes(b"late")
    assert verify_manifest(run_dir) == [
        "timelines/S1.json: listed in the manifest but missing",
        "captures/late.pcapng: present but not in the manifest",
    ]


def test_detects_a_tampered_manifest(run_dir: Path) -> None:
    manifest = write_manifest(run_dir)
    lines = manifest.read_text(encoding="utf-8").splitlines()
    lines.append("not a checksum line")
    lines.append(lines[0])
    lines.append("0" * 64 + "  ../outside.txt")
    manifest.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = verify_manifest(run_dir)
    assert len(problems) == 3
    assert "line 4: not '<sha256>  <path>'" in problems[0]
    assert "line 5: captures/s1.pcapng listed twice" in problems[1]
    assert "line 6: path leaves the run directory" in problems[2]


def test_no_manifest(run_dir: Path) -> None:
    assert verify_manifest(run_dir) == [f"{MANIFEST_FILE} not found in {run_dir}"]


def test_escaped_paths_round_trip(run_dir: Path) -> None:
    odd = run_dir / "captures" / "new\nline.pcapng"
    odd.write_bytes(b"odd")
    manifest = write_manifest(run_dir)
    line = next(x for x in manifest.read_text(encoding="utf-8").splitlines() if x.startswith("\\"))
    assert line.endswith("  captures/new\\nline.pcapng")
    assert verify_manifest(run_dir) == []
    odd.write_bytes(b"changed")
    assert verify_manifest(run_dir) == [
        "captures/new\nline.pcapng: content changed (sha256 differs from the manifest)"
    ]
