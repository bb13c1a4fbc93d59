"""Every requirement a scenario tags exists in the catalogue, and every scenario is fully tagged."""

from harness.inventory import load_inventory
from harness.verdict.catalogue import load_catalogue


def test_scenarios_tag_known_requirements_interfaces_roles_and_ids():
    catalogue = load_catalogue()
    scenarios = load_inventory()
    assert scenarios
    ids = [s.id for s in scenarios]
    assert len(ids) == len(set(ids)), "scenario ids must be unique"
    for s in scenarios:
        assert s.id, f"{s.feature}: {s.name} has no @id tag"
        assert s.interfaces, f"{s.id} has no @interface tag"
        assert s.roles, f"{s.id} has no @dut tag"
        assert s.requirements, f"{s.id} has no @req tag"
        for req in s.requirements:
            assert req in catalogue, f"{s.id} tags unknown requirement {req}"
            assert set(s.interfaces) & set(catalogue[req].interfaces)


def test_every_catalogued_requirement_is_checked_by_a_scenario():
    tagged = {r for s in load_inventory() for r in s.requirements}
    assert set(load_catalogue()) <= tagged
