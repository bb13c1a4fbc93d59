"""tools/generate_v2g_grammars.py regenerates the committed grammar modules byte for byte.

The XSDs come from the iso15118 0.31.2 wheel (not committed); this reuses the josev venv that the
interop tests build, so it needs PyPI on first run and is marked interop.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
GRAMMARS = REPO / "harness" / "codec" / "v2g" / "grammars"


@pytest.mark.interop
def test_generator_reproduces_committed_tables(tmp_path: Path) -> None:
    from harness.dut.josev_env import JosevEnvError, josev_python

    try:
        python = josev_python()
    except JosevEnvError as exc:
        pytest.fail(f"cannot get the iso15118 wheel's schemas: {exc}")
    where = subprocess.run(
        [str(python), "-c", "import iso15118, pathlib; print(pathlib.Path(iso15118.__file__).parent)"],
        capture_output=True,
        text=True,
        check=True,
    )
    schemas = Path(where.stdout.strip()) / "shared" / "schemas"
    generator = REPO / "tools" / "generate_v2g_grammars.py"
    subprocess.run(
        [sys.executable, str(generator), str(schemas), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    committed = sorted(p.name for p in GRAMMARS.glob("*.py"))
    assert sorted(p.name for p in tmp_path.glob("*.py")) == committed
    for name in committed:
        assert (tmp_path / name).read_bytes() == (GRAMMARS / name).read_bytes(), name
