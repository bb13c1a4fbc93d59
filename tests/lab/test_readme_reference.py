"""The README's lab config reference is the one the models generate (run tools/update_readme.py)."""

from pathlib import Path

from harness.lab.reference import with_reference

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_lab_reference_is_current():
    text = README.read_text(encoding="utf-8")
    assert with_reference(text) == text, "README lab reference is stale: run `python tools/update_readme.py`"


def test_quick_start_is_two_commands():
    text = README.read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1]
    block = section.split("```", 2)[1]
    commands = [line for line in block.splitlines()[1:] if line.strip()]
    assert commands == ["./bootstrap.sh run", "./bootstrap.sh test"]
    ci = (README.parent / ".ci" / "run").read_text()
    assert "./bootstrap.sh test" in ci
