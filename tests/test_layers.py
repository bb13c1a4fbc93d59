"""The layers of DESIGN.md as an import contract (pyproject ``[tool.importlinter]``, run by ``lint-imports``).

One test runs the contract over the tree, so ``./bootstrap.sh test`` catches a broken layer even where
CI's own ``lint-imports`` step is skipped.  The others run the same contract text over a small
synthetic tree, to show it really forbids what DESIGN.md forbids and allows what it allows.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the test extras (pip install -e '.[test]')")

REPO_ROOT = Path(__file__).resolve().parent.parent


def _lint_imports() -> str:
    script = Path(sys.executable).with_name("lint-imports")
    found = str(script) if script.exists() else shutil.which("lint-imports")
    if found is None:
        pytest.skip("lint-imports is not installed next to this interpreter")
    return found


def _run_contract(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        # The synthetic tree's packages must win over the installed harness.
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1"},
    )


def test_the_tree_keeps_the_import_contract() -> None:
    result = _run_contract(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def _contract_text() -> str:
    """The ``[tool.importlinter]`` tables of the repository's pyproject, verbatim."""
    out: list[str] = []
    inside = False
    for line in (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("["):
            inside = line.lstrip("[").startswith("tool.importlinter")
        if inside:
            out.append(line)
    assert out, "pyproject.toml has no [tool.importlinter] contract"
    return "\n".join(out) + "\n"


# A tree shaped like the harness, with the imports the contract must allow.
_ALLOWED = {
    "harness/codec/v2g.py": "",
    "harness/protocol/sdp.py": "import harness.codec.v2g\n",
    "harness/protocol/timers.py": "",
    "harness/transport/udp.py": "import harness.protocol.sdp\n",
    "harness/devices/settings.py": "",
    "harness/devices/catalog.py": "",
    "harness/devices/secc.py": "import harness.transport.udp\nimport harness.devices.settings\n",
    "harness/testers/sdp.py": "import harness.devices.secc\n",
    "harness/dut/adapters.py": "import harness.protocol.sdp\n",
    "harness/lab/config.py": "import harness.devices.catalog\nimport harness.protocol.timers\n",
    "harness/lab/settings.py": "import harness.lab.config\nimport harness.devices.settings\n",
    "harness/verdict/verdicts.py": "",
    "harness/verdict/results.py": "import harness.verdict.verdicts\n",
    "harness/bench.py": "import harness.lab.settings\nimport harness.dut.adapters\n",
    "harness/scenario.py": "import harness.bench\nimport harness.verdict.results\nimport capture.reader\n",
    "harness/plugin.py": "import harness.scenario\nimport harness.lab.config\nimport reports.html\n",
    "harness/commands/sim.py": "import harness.lab.settings\nimport harness.devices.secc\n",
    "harness/cli.py": "import harness.commands.sim\n",
    "capture/reader.py": "import harness.codec.v2g\nimport capture.timeline\n",
    "capture/timeline.py": "",
    "reports/html.py": (
        "import harness.verdict.results\nimport harness.verdict.verdicts\nimport capture.timeline\n"
    ),
    "steps/sdp.py": "import harness.scenario\nimport harness.testers.sdp\n",
}


def _synthetic_tree(root: Path, extra: dict[str, str]) -> Path:
    files = dict(_ALLOWED)
    for path, line in extra.items():
        files[path] = files.get(path, "") + line
    for path, text in files.items():
        module = root / path
        for package in [module.parent, *module.parent.parents]:
            if package == root:
                break
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").touch()
        module.write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text(_contract_text(), encoding="utf-8")
    return root


def test_the_contract_allows_what_the_design_allows(tmp_path: Path) -> None:
    result = _run_contract(_synthetic_tree(tmp_path, {}))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "bad_import", "complaint"),
    [
        (
            "harness/devices/secc.py",
            "import harness.lab.config\n",
            "harness.devices is not allowed to import harness.lab",
        ),
        (
            "harness/testers/sdp.py",
            "import harness.lab.config\n",
            "harness.testers is not allowed to import harness.lab",
        ),
        (
            "harness/dut/adapters.py",
            "import harness.lab.config\n",
            "harness.dut is not allowed to import harness.lab",
        ),
        ("harness/codec/v2g.py", "import harness.transport.udp\n", "harness.codec is not allowed to import"),
        (
            "harness/protocol/timers.py",
            "import harness.devices.secc\n",
            "harness.protocol is not allowed to import",
        ),
        (
            "harness/protocol/sdp.py",
            "import capture.timeline\n",
            "harness.protocol is not allowed to import capture",
        ),
        (
            "harness/devices/secc.py",
            "import harness.testers.sdp\n",
            "harness.devices is not allowed to import harness.testers",
        ),
        (
            "capture/reader.py",
            "import harness.protocol.sdp\n",
            "capture is not allowed to import harness.protocol",
        ),
        ("reports/html.py", "import harness.scenario\n", "reports is not allowed to import harness.scenario"),
        ("harness/verdict/results.py", "import harness.lab.config\n", "harness.lab"),
        (
            "harness/verdict/verdicts.py",
            "import harness.bench\n",
            "harness.verdict is not allowed to import harness.bench",
        ),
    ],
)
def test_the_contract_forbids_what_the_design_forbids(
    tmp_path: Path, module: str, bad_import: str, complaint: str
) -> None:
    result = _run_contract(_synthetic_tree(tmp_path, {module: bad_import}))
    assert result.returncode != 0, f"{module}: `{bad_import.strip()}` passed the contract"
    assert complaint in result.stdout, result.stdout + result.stderr


def test_the_timer_registry_imports_no_protocol() -> None:
    """Protocols register their timers in the registry; the registry knows none of them (the edge's
    catalogue, harness.lab.timers, imports the modules that register)."""
    tree = ast.parse((REPO_ROOT / "harness" / "protocol" / "timers.py").read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("harness")]


def test_testers_take_no_constants_from_reference_devices() -> None:
    """Testers reuse reference devices by composition (their classes and factories); a fact both need
    (a port, a path, a timer) lives below both, in protocol/ or codec/ (DESIGN.md, Layout)."""
    reaching_in = []
    for path in sorted((REPO_ROOT / "harness" / "testers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness.devices"):
                reaching_in += [
                    f"{path.name}: {node.module}.{alias.name}"
                    for alias in node.names
                    if alias.name.isupper() or alias.name.lstrip("_").isupper()
                ]
    assert not reaching_in
