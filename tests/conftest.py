"""Shared fixtures for the harness's own tests: shared test data, an EVCC and an SECC connected in
memory (DIN SPEC 70121 machine tests), and one IEEE 2030.5 test PKI per session (key generation is the
slow part)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.devices.models.battery import Battery, BatteryParameters
from harness.devices.models.dc_charger import ChargerParameters, DcCharger
from harness.pki.hierarchy import init_pki
from harness.pki.store import DeviceIdentity, load_pki
from harness.protocol.din70121.evcc import EvccConfig, EvccMachine
from harness.protocol.din70121.profile import DcProfile
from harness.protocol.din70121.secc import SeccConfig, SeccMachine
from harness.protocol.din70121.simulation import Simulation
from harness.protocol.din70121.timing import DinTimings
from harness.protocol.faults import Fault, FaultyCore

REPO_ROOT = Path(__file__).resolve().parent.parent
# CI lays shared/ beside the clone; a user's clone has none, so tests that need it skip.
SHARED_DIR = Path(os.environ.get("VGI_SHARED_DIR", REPO_ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.skip(f"shared test data not found at {SHARED_DIR} (set VGI_SHARED_DIR)")
    return SHARED_DIR


@pytest.fixture(scope="session")
def captures_dir(shared_dir: Path) -> Path:
    return shared_dir / "captures"


@pytest.fixture(scope="session")
def exi_vectors_path(shared_dir: Path) -> Path:
    return shared_dir / "vectors" / "v2g_exi_vectors.jsonl"


# --- DIN SPEC 70121: an EVCC and an SECC connected in memory ---------------------------------------

SESSION_ID = "8FA57FDE2BFAFE78"

# A small pack so that a whole session from 60 % to 80 % takes about a minute of simulated time.
SMALL_PACK = BatteryParameters(capacity_kwh=2.0, target_soc=80.0, taper_start_soc=70.0)

SessionFactory = Callable[..., Simulation]


@pytest.fixture
def session_id() -> str:
    return SESSION_ID


@pytest.fixture
def make_session() -> SessionFactory:
    def build(
        *,
        soc: float = 60.0,
        battery: BatteryParameters = SMALL_PACK,
        charger: ChargerParameters | None = None,
        evcc_config: EvccConfig | None = None,
        secc_config: SeccConfig | None = None,
        timings: DinTimings | None = None,
        evcc_faults: list[Fault] | None = None,
        secc_faults: list[Fault] | None = None,
        latency_s: float = 0.0,
        evcc_profiles: tuple[DcProfile, ...] = (),
        secc_profiles: tuple[DcProfile, ...] = (),
    ) -> Simulation:
        timings = timings or DinTimings()
        evcc = EvccMachine(Battery(battery, soc=soc), evcc_config or EvccConfig(), timings, evcc_profiles)
        secc = SeccMachine(
            DcCharger(charger or ChargerParameters()),
            secc_config or SeccConfig(session_id=SESSION_ID),
            timings,
            secc_profiles,
        )
        return Simulation(
            FaultyCore(evcc, evcc_faults or []),
            FaultyCore(secc, secc_faults or []),
            latency_s=latency_s,
        )

    return build


# --- IEEE 2030.5: one test PKI per session ------------------------------------------------------------


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("pki")
    init_pki(directory)
    return directory


@pytest.fixture(scope="session")
def identities(pki_dir: Path) -> dict[str, DeviceIdentity]:
    return load_pki(pki_dir)


# --- how the suite runs: `bootstrap.sh test` runs it on pytest-xdist workers ----------------------------

# The tests that open benches (namespaces, veth pairs, reference devices, whole `vgi run` campaigns, which
# run parallel benches of their own) live here; they run one after another on one worker, so their timing
# checks see a machine no busier than a `vgi run` makes it; the unit tests share the other workers.
BENCH_DIRS = ("tests/integration/", "tests/interop/")
# The long interop suites (every scenario of a protocol against an external stack): CI runs the
# representative subset (full sessions, basic matching) only; `--full-interop` runs them all.
FULL_INTEROP_OPTION = "--full-interop"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        FULL_INTEROP_OPTION,
        action="store_true",
        help="also run the tests marked interop_full (every scenario against josev, pyslac, ...)",
    )


def pytest_itemcollected(item: pytest.Item) -> None:
    if item.get_closest_marker("interop_full") and not item.config.getoption(FULL_INTEROP_OPTION):
        item.add_marker(pytest.mark.skip(reason=f"full interop suite; run it with {FULL_INTEROP_OPTION}"))


def pytest_xdist_make_scheduler(config: pytest.Config, log):  # noqa: ANN001, ANN201 - xdist's types
    """Every test under BENCH_DIRS in one scope, so one worker runs them in turn; every other test is a
    scope of its own. (pytest-xdist's own `xdist_group` marks rename node ids, which pytest 9 no longer
    lets a plugin do: the marks were silently ignored.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BenchScopeScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "bench" if nodeid.startswith(BENCH_DIRS) else nodeid

    return BenchScopeScheduling(config, log)
