"""pytest-bdd step definitions.  Steps are thin: parse the sentence, call the harness, register the
expectation.  Numbers come from the lab config (PIXIT) or the protocol constants, never from here.

The harness plugin loads every module of STEP_MODULES as a pytest plugin, so their steps serve every
feature file.
"""

STEP_MODULES = ("steps.common", "steps.sdp")
