"""Combine the run directories of one campaign (the shards of `vgi run --shard I/N`, run on several
machines) into one run directory: `vgi merge`.

The evidence is copied, not moved (the shards stay as they were, their manifests valid); results.json
is rebuilt from the shards' scenario results, the requirement verdicts recomputed from them, and the
reports rendered afresh.  Shards of different labs, result schemas or with a scenario in common are
refused: the merged run would claim something no run showed.
"""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from harness.verdict.catalogue import requirement_results
from harness.verdict.results import RESULTS_FILE, Results, RunInfo, ScenarioResult, StationInfo


class MergeError(ValueError):
    pass


def _load(run_dir: Path) -> Results:
    try:
        return Results.load(run_dir)
    except OSError as exc:
        raise MergeError(f"{run_dir}: no readable {RESULTS_FILE} ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise MergeError(f"{run_dir}: {RESULTS_FILE} is not a results file ({exc})") from None


def _check_compatible(runs: list[tuple[Path, Results]]) -> None:
    first_dir, first = runs[0]
    for run_dir, results in runs[1:]:
        if results.schema_version != first.schema_version:
            raise MergeError(
                f"{run_dir} has results schema {results.schema_version}, {first_dir} has "
                f"{first.schema_version}: re-run with one harness version"
            )
        if results.run.lab.sha256 != first.run.lab.sha256:
            raise MergeError(
                f"{run_dir} ran lab {results.run.lab.name} ({results.run.lab.file}, sha256 "
                f"{results.run.lab.sha256[:12]}), {first_dir} ran {first.run.lab.name} (sha256 "
                f"{first.run.lab.sha256[:12]}): shards of one campaign use the same lab config"
            )
    seen: dict[str, Path] = {}
    for run_dir, results in runs:
        for scenario in results.scenarios:
            if scenario.id in seen:
                raise MergeError(
                    f"scenario {scenario.id} is in both {seen[scenario.id]} and {run_dir}: shards must not "
                    "overlap"
                )
            seen[scenario.id] = run_dir


def _ordered(runs: list[Results]) -> list[ScenarioResult]:
    """The scenarios in the order a single run would list them: shards I/N of one N interleave (they
    were dealt round robin); anything else is concatenated in the order given."""
    shards = [r.run.shard for r in runs]
    if all(shards):
        parsed = sorted(
            (int(s.split("/")[0]), int(s.split("/")[1]), r) for s, r in zip(shards, runs, strict=True)
        )
        counts = {n for _, n, _ in parsed}
        if len(counts) == 1 and [i for i, _, _ in parsed] == list(range(1, counts.pop() + 1)):
            lists = [r.scenarios for _, _, r in parsed]
            out: list[ScenarioResult] = []
            for position in range(max(len(x) for x in lists)):
                out += [x[position] for x in lists if position < len(x)]
            return out
    return [s for r in runs for s in r.scenarios]


def _merged_stations(runs: list[tuple[Path, Results]]) -> list[StationInfo]:
    """Every station a shard used, once, in the order the shards list them; a name with two different
    identities is refused."""
    stations: dict[str, tuple[StationInfo, Path]] = {}
    for run_dir, results in runs:
        for station in results.run.stations:
            known = stations.get(station.name)
            if known is None:
                stations[station.name] = (station, run_dir)
            elif known[0] != station:
                raise MergeError(
                    f"station {station.name} is {station} in {run_dir} but {known[0]} in {known[1]}: shards "
                    "of one campaign name their stations alike"
                )
    return [station for station, _ in stations.values()]


def _merged_info(runs: list[tuple[Path, Results]]) -> RunInfo:
    infos = [r.run for _, r in runs]
    finished = [i.finished for i in infos]
    backends = sorted({b.strip() for i in infos for b in i.capture_backend.split(",") if b.strip()})
    commits = {i.git_commit for i in infos}
    return infos[0].model_copy(
        update={
            "git_commit": infos[0].git_commit
            if len(commits) == 1
            else ", ".join(sorted(c or "?" for c in commits)),
            "started": min(i.started for i in infos),
            "finished": None if None in finished else max(f for f in finished if f),
            "network": ", ".join(sorted({i.network for i in infos})),
            "capture_backend": ", ".join(backends) or "none",
            "capture_note": next((i.capture_note for i in infos if i.capture_note), None),
            "interrupted": next((i.interrupted for i in infos if i.interrupted), None),
            "workers": sum(i.workers for i in infos),
            "shard": None,
            "stations": _merged_stations(runs),
            "merged_from": [
                f"{run_dir}" + (f" (shard {r.run.shard})" if r.run.shard else "") for run_dir, r in runs
            ],
        }
    )


def _copy_evidence(source: Path, out: Path) -> None:
    """The files under the run directory's sub-directories (captures, timelines, logs, Allure results):
    the files at its top (results.json, the reports, the manifest and its signature) are the run's
    own and are written anew."""
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.is_dir() or len(relative.parts) == 1 or relative.name.endswith(".tmp"):
            continue
        target = out / relative
        if target.exists():
            if filecmp.cmp(path, target, shallow=False):
                continue
            raise MergeError(f"{relative} differs between the shards (second copy in {source})")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


def merge_runs(sources: list[Path], out: Path) -> Results:
    """Merge ``sources`` into the new run directory ``out`` and render its reports."""
    if len(sources) < 2:
        raise MergeError("give at least two run directories to merge")
    resolved = [Path(s).resolve() for s in sources]
    if len(set(resolved)) != len(resolved):
        raise MergeError("a run directory is named twice")
    out = Path(out).resolve()
    if out in resolved:
        raise MergeError(f"{out} is one of the sources; merge into a new directory")
    if out.exists() and any(out.iterdir()):
        raise MergeError(f"{out} exists and is not empty; merge into a new directory")
    runs = [(d, _load(d)) for d in resolved]
    _check_compatible(runs)
    out.mkdir(parents=True, exist_ok=True)
    for run_dir, _ in runs:
        _copy_evidence(run_dir, out)
    scenarios = _ordered([r for _, r in runs])
    merged = Results(run=_merged_info(runs), scenarios=scenarios, requirements=requirement_results(scenarios))
    merged.save(out)
    from reports.render import render_all

    render_all(out)
    return merged
