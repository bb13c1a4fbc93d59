"""The stations of a lab (``stations:``, several units of the DUT or benches): which one a process of
`vgi run` opens its bench on, and how a result names it.

Worker ``gwK`` of a parallel run opens its bench on station K, the one process of a sequential run on
the first; a lab without stations has one implicit station, its top level, which results do not name.
"""

from __future__ import annotations

import dataclasses
import shlex

from pydantic import BaseModel

from harness.lab.config import LabConfig, Station
from harness.lab.loader import LoadedLab
from harness.verdict.results import StationInfo


class StationError(ValueError):
    pass


def station_lab(lab: LoadedLab, index: int) -> tuple[LoadedLab, Station | None]:
    """The lab as its station ``index`` sees it (access and DUT identity), and that station; the lab
    itself and None when it lists no stations."""
    stations = lab.config.stations
    if not stations:
        return lab, None
    if not 0 <= index < len(stations):
        names = ", ".join(s.name for s in stations)
        raise StationError(
            f"lab {lab.config.name} lists {len(stations)} station(s) ({names}); there is none for worker "
            f"{index}: run at most one worker per station"
        )
    station = stations[index]
    return dataclasses.replace(lab, config=lab.config.station_config(station)), station


def station_info(config: LabConfig, station: Station) -> StationInfo:
    """What results.json records of ``station`` of the lab ``config``: its name, the DUT identity it
    has (its own or the lab's) and where it is."""
    own = config.station_config(station)
    return StationInfo(
        name=station.name,
        serial=own.dut.serial,
        firmware=own.dut.firmware,
        location=location(own.access),
    )


def stations_info(config: LabConfig, count: int) -> list[StationInfo]:
    """The first ``count`` stations of the lab (those a run of ``count`` workers uses)."""
    return [station_info(config, s) for s in config.stations[:count]]


def location(access: BaseModel) -> str:
    """Where a unit is, in a line: its access kind and the fields a station may set."""
    kind = getattr(access, "kind", "?")
    if kind == "process":
        return f"process: {shlex.join(getattr(access, 'command', []))}"
    parts = [getattr(access, "interface", None)]
    host, port = getattr(access, "host", None), getattr(access, "port", None)
    if host:
        parts.append(f"host {host}")
    if port:
        parts.append(f"port {port}")
    shown = ", ".join(p for p in parts if p)
    return f"{kind} on {shown}" if shown else str(kind)
