"""`vgi diff RUN_A RUN_B`: exit 1 on a regression, 0 otherwise, 2 on usage errors; text and --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.verdict.verdicts import Verdict


def test_exit_codes_and_text(results_run, capsys: pytest.CaptureFixture[str]) -> None:
    a = results_run("a", {"S1": Verdict.PASS, "S2": Verdict.PASS})
    same = results_run("same", {"S1": Verdict.PASS, "S2": Verdict.PASS})
    worse = results_run("worse", {"S1": Verdict.PASS, "S2": Verdict.FAIL})
    assert main(["diff", str(a), str(same)]) == 0
    assert capsys.readouterr().out.endswith("no regression\n")
    assert main(["diff", str(a), str(worse)]) == 1
    out = capsys.readouterr().out
    assert "  regression   S2: PASS -> FAIL (FAIL)" in out and out.endswith("REGRESSED\n")
    assert main(["diff", str(worse), str(a)]) == 0  # an improvement
    assert "  improvement  S2: FAIL -> PASS" in capsys.readouterr().out


def test_json(results_run, capsys: pytest.CaptureFixture[str]) -> None:
    a = results_run("a", {"S1": Verdict.NOT_APPLICABLE})
    b = results_run("b", {"S1": Verdict.ERROR, "S9": Verdict.PASS})
    assert main(["diff", "--json", str(a), str(b)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["regressed"] is True and data["added"] == ["S9"]
    assert data["verdict_changes"][0]["direction"] == "regression"


def test_usage_errors(tmp_path: Path, results_run, capsys: pytest.CaptureFixture[str]) -> None:
    a = results_run("a", {"S1": Verdict.PASS})
    assert main(["diff", str(a), str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == f"vgi: error: {tmp_path}: no results.json (not a run directory?)\n"
    assert main(["diff", str(a), str(tmp_path / "nope")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["diff", "--threshold", "-1", str(a), str(a)]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["diff", str(a)])
    assert exc.value.code == 2


def test_help_states_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "(default: 50)" in out and "(default: 5)" in out and "Exit status: 1 when" in out
    assert "--fail-on-slower" in out
