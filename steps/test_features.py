"""Binds every feature file shipped with the harness to pytest-bdd; `vgi run` collects this module."""

from pytest_bdd import scenarios

from features import FEATURES_DIR

scenarios(str(FEATURES_DIR))
