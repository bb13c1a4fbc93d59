"""The one venv builder the DUT environments share: each environment's own pins, options and error
type go through it.  A fake interpreter (a shell script) stands in for the venv's python: ``-m pip``
records its arguments, ``-c`` (the import check) succeeds once "installed".  No network."""

from __future__ import annotations

import stat
import venv
from pathlib import Path

import pytest

from harness.dut import josev_env, private_venv, pyslac_env, sep2_client_env

FAKE_PYTHON = """#!/bin/sh
here=$(dirname "$0")
if [ "$1" = "-m" ]; then
  echo "$@" > "$here/pip-args"
  if [ -f "$here/pip-fails" ]; then echo "ERROR: offline" >&2; exit 1; fi
  touch "$here/installed"; exit 0
fi
[ -f "$here/installed" ]
"""
ENVIRONMENTS = [josev_env, pyslac_env, sep2_client_env]


def _fake_builder(monkeypatch: pytest.MonkeyPatch, pip_fails: bool) -> None:
    def create(self: venv.EnvBuilder, venv_dir: str | Path) -> None:
        python = private_venv.python_in(Path(venv_dir))
        python.parent.mkdir(parents=True, exist_ok=True)
        python.write_text(FAKE_PYTHON)
        python.chmod(python.stat().st_mode | stat.S_IXUSR)
        if pip_fails:
            (python.parent / "pip-fails").touch()

    monkeypatch.setattr(venv.EnvBuilder, "create", create)


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_each_environment_installs_its_own_pins(env, tmp_path, monkeypatch) -> None:
    _fake_builder(monkeypatch, pip_fails=False)
    assert not private_venv.is_built(env.VENV, tmp_path)
    python = private_venv.venv_python(env.VENV, tmp_path)
    args = (python.parent / "pip-args").read_text().split()
    assert args[:3] == ["-m", "pip", "install"]
    assert all(requirement in args for requirement in env.VENV.requirements)
    assert all(option in args for option in env.VENV.pip_options)
    assert env.VENV.requirements[0].count("==") == 1  # the package under test is pinned
    assert private_venv.is_built(env.VENV, tmp_path)


@pytest.mark.parametrize("env", ENVIRONMENTS, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_a_failing_install_raises_its_own_error_with_the_remedy(env, tmp_path, monkeypatch) -> None:
    _fake_builder(monkeypatch, pip_fails=True)
    with pytest.raises(env.VENV.error) as raised:
        private_venv.venv_python(env.VENV, tmp_path)
    message = str(raised.value)
    assert "ERROR: offline" in message and env.VENV.requirements[0] in message
    assert f"python -m {env.__name__}" in message
    assert env.VENV.error is not private_venv.PrivateVenvError  # each keeps its own type
