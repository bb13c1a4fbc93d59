"""pytest-bdd step definitions.  Steps are thin: parse the sentence, call the harness, register the
expectation.  Numbers come from the lab config (PIXIT) or the protocol constants, never from here.

The harness plugin loads every module of this package (but test_features) as a pytest plugin, so
their steps serve every feature file: a new protocol adds its own module here.
"""

import pkgutil
from pathlib import Path

STEP_MODULES = tuple(
    f"steps.{m.name}"
    for m in pkgutil.iter_modules([str(Path(__file__).resolve().parent)])
    if not m.name.startswith("test_")
)
