"""Lab configurations shipped with the harness; `sim.yaml` is the embedded default lab."""

from pathlib import Path

LAB_CONFIGS_DIR = Path(__file__).resolve().parent
DEFAULT_LAB = LAB_CONFIGS_DIR / "sim.yaml"
