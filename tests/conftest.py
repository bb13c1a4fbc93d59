"""Shared fixtures for the harness's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI lays shared/ beside the clone; a user's clone has none, so tests that need it skip.
SHARED_DIR = Path(os.environ.get("VGI_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DIR} (set VGI_SHARED_DIR)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def captures_dir(shared_dir: Path) -> Path:
    return shared_dir / "captures"


@pytest.fixture(scope="session")
def exi_vectors_path(shared_dir: Path) -> Path:
    return shared_dir / "vectors" / "v2g_exi_vectors.jsonl"
