"""`vgi repeatability`: which scenarios got different verdicts in runs of one lab."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from harness.cli import main
from harness.verdict.results import EarlierAttempt
from harness.verdict.verdicts import Verdict
from reports.model import Results
from reports.repeatability import compare_runs, document, format_text

P, F, INC = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE


def _run(root: Path, name: str, kit: SimpleNamespace, verdicts: dict[str, Verdict], **extra: object) -> Path:
    run_dir = root / name
    run_dir.mkdir()
    scenarios = []
    for sid, verdict in verdicts.items():
        overrides = extra.get(sid, {})
        scenarios.append(kit.scenario(sid, verdict, **overrides))
    Results(run=kit.run_info(), scenarios=scenarios).save(run_dir)
    return run_dir


def test_flips_reruns_and_scenarios_some_run_did_not_run(tmp_path: Path, kit: SimpleNamespace) -> None:
    again = {"earlier_attempts": [EarlierAttempt(verdict=INC, reason="tester precondition")]}
    runs = [
        _run(tmp_path, "a", kit, {"TC_1": P, "TC_2": P, "TC_3": P, "TC_4": P}),
        _run(tmp_path, "b", kit, {"TC_1": P, "TC_2": F, "TC_3": P}, TC_3=again),
        _run(tmp_path, "c", kit, {"TC_1": P, "TC_2": P, "TC_4": INC}, TC_4={"interrupted": True}),
    ]
    rep = compare_runs(runs)
    assert [s.id for s in rep.flipping] == ["TC_2"]
    assert [s.id for s in rep.rerun] == ["TC_3"]
    # TC_4 was INCONCLUSIVE only because run c was interrupted before it: not a flip.
    four = next(s for s in rep.scenarios if s.id == "TC_4")
    assert four.outcomes[2] is None and not four.flips
    text = format_text(rep)
    assert "3 scenario(s) with the same verdict in every run that ran them, 1 flipping" in text
    assert "TC_2: PASS | FAIL | PASS" in text and "run 2: FAIL: FAIL because of TC_2" in text
    assert "TC_3: PASS | INCONCLUSIVE/PASS | -" in text
    doc = document(rep)
    assert [s["id"] for s in doc["flipping"]] == ["TC_2"]
    assert doc["rerun"][0]["outcomes"][1]["earlier_attempts"] == ["INCONCLUSIVE"]


def test_cli_exit_status(tmp_path: Path, kit: SimpleNamespace, capsys) -> None:
    a = _run(tmp_path, "a", kit, {"TC_1": P})
    b = _run(tmp_path, "b", kit, {"TC_1": P})
    c = _run(tmp_path, "c", kit, {"TC_1": F})
    assert main(["repeatability", str(a), str(b)]) == 0
    capsys.readouterr()
    assert main(["repeatability", "--json", str(a), str(c)]) == 1
    assert [s["id"] for s in json.loads(capsys.readouterr().out)["flipping"]] == ["TC_1"]
    assert main(["repeatability", str(a)]) == 2
    assert main(["repeatability", str(a), str(tmp_path / "missing")]) == 2
