"""Regenerate the README's lab config reference from the lab config models (run after changing them)."""

from pathlib import Path

from harness.lab.reference import with_reference

README = Path(__file__).resolve().parent.parent / "README.md"

if __name__ == "__main__":
    README.write_text(with_reference(README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"updated {README}")
