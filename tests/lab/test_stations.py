"""Stations of a lab (``stations:``): what a station may set, what it inherits, which worker opens
its bench on which station, and what a result records of it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from harness.lab.config import STATION_ACCESS_FIELDS, LabConfig
from harness.lab.loader import LabConfigError, load_lab
from harness.lab.stations import StationError, location, station_info, station_lab, stations_info

README = Path(__file__).resolve().parents[2] / "README.md"

BASE = {
    "name": "bench",
    "dut": {
        "vendor": "Example",
        "model": "AC-22",
        "firmware": "3.1.0",
        "serial": "SN-1",
        "roles": ["evse"],
        "interfaces": [2],
    },
    "pics": {"protocols": ["slac", "pilot"]},
}
ACCESS = {
    "sim": {"kind": "sim"},
    "tcp": {"kind": "tcp", "interface": "eth0", "host": "fe80::1", "port": 15118},
    "plc": {"kind": "plc", "interface": "eth0"},
    "manual": {"kind": "manual", "interface": "eth0"},
    "process": {"kind": "process", "command": ["dut", "{interface}"]},
}


def _lab(tmp_path: Path, access: dict, stations: list[dict], **top: object) -> Path:
    data = {**BASE, "access": access, "stations": stations, **top}
    if access["kind"] == "sim":
        data["dut"] = {**BASE["dut"], "roles": ["secc"], "interfaces": [4]}
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _problems(tmp_path: Path, access: dict, stations: list[dict]) -> str:
    with pytest.raises(LabConfigError) as info:
        load_lab(_lab(tmp_path, access, stations))
    return " ".join(f"{p.yaml_path}: {p.message}" for p in info.value.problems)


def test_a_lab_without_stations_is_its_own_one_station(tmp_path: Path) -> None:
    loaded = load_lab(_lab(tmp_path, ACCESS["plc"], []))
    assert loaded.config.stations == []
    assert station_lab(loaded, 0) == (loaded, None)
    assert stations_info(loaded.config, 4) == []


def test_a_station_inherits_what_it_does_not_give(tmp_path: Path) -> None:
    stations = [
        {"name": "bay-1"},
        {"name": "bay-2", "serial": "SN-2", "firmware": "3.1.1", "access": {"interface": "eth1"}},
    ]
    loaded = load_lab(
        _lab(tmp_path, ACCESS["tcp"], [{**s, "access": {"port": 61851}} for s in stations[:1]] + stations[1:])
    )
    first, second = (station_lab(loaded, i)[0].config for i in (0, 1))
    assert (first.access.interface, first.access.host, first.access.port) == ("eth0", "fe80::1", 61851)
    assert (first.dut.serial, first.dut.firmware) == ("SN-1", "3.1.0")
    assert (second.access.interface, second.access.host, second.access.port) == ("eth1", "fe80::1", 15118)
    assert (second.dut.serial, second.dut.firmware) == ("SN-2", "3.1.1")
    # the rest of the lab is the lab's, and the lab itself is untouched
    assert second.dut.vendor == "Example" and second.pics == loaded.config.pics
    assert loaded.config.access.interface == "eth0" and loaded.config.dut.serial == "SN-1"
    assert station_lab(loaded, 1)[1] is loaded.config.stations[1]
    assert station_lab(loaded, 1)[0].path == loaded.path


def test_a_worker_beyond_the_stations_has_none(tmp_path: Path) -> None:
    loaded = load_lab(_lab(tmp_path, ACCESS["sim"], [{"name": "a"}, {"name": "b", "serial": "SN-2"}]))
    with pytest.raises(StationError, match=r"2 station\(s\) \(a, b\); there is none for worker 2"):
        station_lab(loaded, 2)


def test_duplicate_names_serials_and_interfaces_are_refused(tmp_path: Path) -> None:
    text = _problems(
        tmp_path,
        ACCESS["plc"],
        [
            {"name": "a", "access": {"interface": "eth1"}},
            {"name": "a", "serial": "SN-2", "access": {"interface": "eth2"}},
            {"name": "c", "serial": "SN-2", "access": {"interface": "eth1"}},
        ],
    )
    assert "station 'a': the name is given twice" in text
    assert "station 'c': station 'a' has serial 'SN-2' too" in text
    assert "station 'c': station 'a' is on interface 'eth1' too" in text
    assert text.startswith("stations: ")  # located at the stations key, not at the top level


def test_two_stations_left_on_the_labs_interface_are_refused(tmp_path: Path) -> None:
    text = _problems(tmp_path, ACCESS["manual"], [{"name": "a"}, {"name": "b", "serial": "SN-2"}])
    assert "station 'b': station 'a' is on interface 'eth0' too" in text


def test_two_stations_with_the_labs_serial_are_refused(tmp_path: Path) -> None:
    text = _problems(tmp_path, ACCESS["sim"], [{"name": "a"}, {"name": "b"}])
    assert "station 'b': station 'a' has serial 'SN-1' too" in text


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("sim", "faults", ["sdp-silent"]),
        ("tcp", "kind", "plc"),
        ("plc", "host", "fe80::1"),
        ("manual", "ack_timeout_s", 5),
        ("process", "netns", "other"),
        ("process", "interface", "dut9"),
    ],
)
def test_a_station_may_set_only_where_its_unit_is(kind: str, field: str, value: object) -> None:
    assert field not in STATION_ACCESS_FIELDS[kind]
    with pytest.raises(
        ValueError, match=rf"a `{kind}` station may not set access\.{field}: that is the lab's"
    ):
        LabConfig.model_validate(
            {**BASE, "access": ACCESS[kind], "stations": [{"name": "a", "access": {field: value}}]}
        )


def test_a_stations_access_values_are_validated_as_the_labs(tmp_path: Path) -> None:
    text = _problems(tmp_path, ACCESS["tcp"], [{"name": "a", "access": {"port": 70000}}])
    assert "station 'a': access.port: Input should be less than or equal to 65535" in text
    text = _problems(tmp_path, ACCESS["process"], [{"name": "a", "access": {"command": []}}])
    assert "station 'a': access.command:" in text


def test_station_names_fit_in_file_names(tmp_path: Path) -> None:
    text = _problems(tmp_path, ACCESS["sim"], [{"name": "bay 1/left"}])
    assert "stations[0].name" in text


@pytest.mark.parametrize("kind", sorted(STATION_ACCESS_FIELDS))
def test_every_field_a_station_may_set_is_an_access_field(kind: str) -> None:
    from harness.lab import config

    models = {m.model_fields["kind"].annotation.__args__[0]: m for m in config.Access.__args__[0].__args__}
    assert set(STATION_ACCESS_FIELDS[kind]) <= set(models[kind].model_fields) - {"kind"}


def test_what_a_result_records_of_its_station(tmp_path: Path) -> None:
    stations = [
        {"name": "bay-1", "access": {"interface": "eth1"}},
        {
            "name": "bay-2",
            "serial": "SN-2",
            "firmware": "3.2",
            "access": {"interface": "eth2", "host": "10.0.0.2"},
        },
    ]
    config = load_lab(_lab(tmp_path, ACCESS["tcp"], stations)).config
    first, second = config.stations
    assert station_info(config, first).model_dump() == {
        "name": "bay-1",
        "serial": "SN-1",
        "firmware": "3.1.0",
        "location": "tcp on eth1, host fe80::1, port 15118",
    }
    assert station_info(config, second).location == "tcp on eth2, host 10.0.0.2, port 15118"
    assert (station_info(config, second).serial, station_info(config, second).firmware) == ("SN-2", "3.2")
    assert [s.name for s in stations_info(config, 1)] == ["bay-1"]
    assert [s.name for s in stations_info(config, 8)] == ["bay-1", "bay-2"]


def test_location_of_each_access_kind() -> None:
    lab = {**BASE, "dut": {**BASE["dut"], "roles": ["secc"], "interfaces": [4]}}
    where = {
        kind: location(LabConfig.model_validate({**lab, "access": a}).access) for kind, a in ACCESS.items()
    }
    assert where == {
        "sim": "sim",
        "tcp": "tcp on eth0, host fe80::1, port 15118",
        "plc": "plc on eth0",
        "manual": "manual on eth0",
        "process": "process: dut '{interface}'",
    }


def test_the_readme_example_is_a_valid_lab(tmp_path: Path) -> None:
    section = README.read_text(encoding="utf-8").split("### Several stations", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert block is not None, "no YAML example in the README's stations section"
    path = tmp_path / "two-evse.yaml"
    path.write_text(block.group(1), encoding="utf-8")
    loaded = load_lab(path)
    assert [s.name for s in loaded.config.stations] == ["bay-1", "bay-2"]
    bays = [station_lab(loaded, i)[0].config for i in (0, 1)]
    assert [b.access.interface for b in bays] == ["enx001122334455", "enx001122334466"]
    assert [b.dut.serial for b in bays] == ["EC22-000042", "EC22-000043"]
