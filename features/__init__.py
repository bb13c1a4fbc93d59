"""Gherkin feature files, one folder per VGI interface; shipped as package data."""

from pathlib import Path

FEATURES_DIR = Path(__file__).resolve().parent
