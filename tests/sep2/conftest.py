"""Fixtures for the IEEE 2030.5 tests: one test PKI per session (key generation is the slow part)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.pki.hierarchy import init_pki
from harness.pki.store import DeviceIdentity, load_pki


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory)
    return directory


@pytest.fixture(scope="session")
def identities(pki_dir: Path) -> dict[str, DeviceIdentity]:
    return load_pki(pki_dir)
