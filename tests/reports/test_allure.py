"""allure-results from results.json: one result per scenario with its evidence attached."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from harness.cli import main
from harness.verdict.verdicts import Verdict
from reports.allure import ALLURE_DIR, ENVIRONMENT_FILE, RESULT_SUFFIX, history_id, write_allure
from reports.annotate import annotate_run
from reports.model import Evidence, Results
from reports.render import render_all


def _results(run_dir: Path) -> dict[str, tuple[Path, dict]]:
    """Scenario id (from fullName) -> (file, result) of every result file."""
    out = {}
    for path in sorted((run_dir / ALLURE_DIR).glob("*" + RESULT_SUFFIX)):
        data = json.loads(path.read_text(encoding="utf-8"))
        sid = data["fullName"].split(":", 1)[1]
        assert sid not in out, f"two results for {sid}"
        out[sid] = (path, data)
    return out


def test_regenerates_one_result_per_scenario_with_the_verdict(full_run: Path) -> None:
    (full_run / ALLURE_DIR).mkdir()
    stale = full_run / ALLURE_DIR / "stale-result.json"
    stale.write_text("{}", encoding="utf-8")

    write_allure(Results.load(full_run), full_run, regenerate=True)

    assert not stale.exists()
    results = _results(full_run)
    assert {sid: r["status"] for sid, (_, r) in results.items()} == {
        "S1": "passed",
        "S2": "failed",
        "S3": "unknown",
        "S4": "skipped",
        "S5": "broken",
    }
    _, s2 = results["S2"]
    assert s2["statusDetails"]["message"] == "FAIL: FAIL because of S2"
    assert "limit 25 ms (frames [7, 8])" in s2["statusDetails"]["trace"]
    assert s2["historyId"] == history_id(Results.load(full_run).scenarios[1])
    assert [s["name"] for s in s2["steps"]] == [
        "Given the SECC is listening",
        "When the EVCC sends SessionSetupReq",
        "Checks over the capture (1)",
    ]
    (check,) = s2["steps"][-1]["steps"]
    assert check["status"] == "failed"
    assert check["name"] == "FAIL DIN-V2G-DC-001: SessionSetupRes follows SessionSetupReq within 25 ms"
    assert {"name": "frames", "value": "7, 8"} in check["parameters"]
    assert {"name": "tag", "value": "verdict:FAIL"} in s2["labels"]
    _, s5 = results["S5"]
    assert s5["steps"][0]["statusDetails"]["message"].startswith("Traceback: OSError")
    properties = (full_run / ALLURE_DIR / ENVIRONMENT_FILE).read_text(encoding="utf-8")
    assert "dut.serial=SN-0042\n" in properties


def test_attachments_carry_the_evidence(full_run: Path) -> None:
    write_allure(Results.load(full_run), full_run, regenerate=True)
    results = _results(full_run)
    out = full_run / ALLURE_DIR

    _, s1 = results["S1"]
    kinds = {a["name"]: a for a in s1["attachments"]}
    assert set(kinds) == {"s1.pcapng", "timeline excerpt", "message sequence chart"}
    capture = kinds["s1.pcapng"]
    assert capture["type"] == "application/vnd.tcpdump.pcap"
    assert (out / capture["source"]).read_bytes() == (full_run / "captures" / "s1.pcapng").read_bytes()
    excerpt = (out / kinds["timeline excerpt"]["source"]).read_text(encoding="utf-8")
    assert "Timeline (6 events, frame numbers as in the capture):" in excerpt
    assert "V2GTP SessionSetupRes" in excerpt
    svg = ET.parse(out / kinds["message sequence chart"]["source"]).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    assert "SessionSetupReq" in "".join(svg.itertext())

    _, s2 = results["S2"]
    names = [a["name"] for a in s2["attachments"]]
    assert names == ["timeline excerpt", "message sequence chart"]  # its capture is missing
    excerpt = (out / s2["attachments"][0]["source"]).read_text(encoding="utf-8")
    # The frames a failed check cites come first.
    head = excerpt.split("Timeline (", 1)[0]
    assert "Frames cited by checks that did not pass:" in head and "SessionSetupRes" in head
    assert "DECODE ERROR" in excerpt
    # The decode error's control character cannot go into XML as it is: the chart stays well-formed.
    chart = ET.parse(out / s2["attachments"][1]["source"]).getroot()
    assert "unknown event code 0x1f at bit 96 \\x01<bad>" in "".join(chart.itertext())

    _, s3 = results["S3"]  # no timeline: the excerpt says so, and there is no chart
    assert [a["name"] for a in s3["attachments"]] == ["timeline excerpt"]
    assert "No timeline was recorded" in (out / s3["attachments"][0]["source"]).read_text(encoding="utf-8")


def test_a_real_capture_and_its_annotated_copy_are_attached(tmp_path: Path, captures_dir: Path, kit) -> None:  # noqa: ANN001
    run_dir = tmp_path / "run"
    (run_dir / "captures").mkdir(parents=True)
    shutil.copyfile(captures_dir / "DIN_DC_DS5366_Josev.pcapng", run_dir / "captures" / "din.pcapng")
    scenario = kit.scenario("DIN", Verdict.PASS, evidence=[Evidence(capture="captures/din.pcapng")])
    Results(run=kit.run_info(), scenarios=[scenario]).save(run_dir)
    annotate_run(Results.load(run_dir), run_dir)

    write_allure(Results.load(run_dir), run_dir)

    ((_, result),) = _results(run_dir).values()
    by_name = {a["name"]: a["source"] for a in result["attachments"]}
    for name in ("din.pcapng", "din.annotated.pcapng"):
        assert (run_dir / ALLURE_DIR / by_name[name]).read_bytes() == (
            run_dir / "captures" / name
        ).read_bytes()


def _pytest_bdd_result(sid_feature: str, name: str, parameters: list[dict]) -> dict:
    """What allure-pytest-bdd writes (trimmed): its own uuid, the rendered name, the used parameters."""
    return {
        "uuid": "3974be82-2de3-4909-8e95-2b251f80a81e",
        "historyId": "ba795fc30690b31cc63523a8c912a7cc.154b9e62541a442a3e578a8b7150b592",
        "name": name,
        "fullName": f"{sid_feature}:{name}",
        "status": "passed",
        "description": "The feature's description.",
        "start": 1796150209882,
        "stop": 1796150214607,
        "parameters": parameters,
        "steps": [
            {
                "name": "Given x",
                "parameters": [{"name": "vgi_scenario", "value": "ScenarioRun(" + "x" * 5000}],
            }
        ],
        "labels": [
            {"name": "feature", "value": "DIN SPEC 70121 DC charging"},
            {"name": "host", "value": "vm"},
            {"name": "tag", "value": "stage"},
        ],
    }


def test_results_of_allure_pytest_bdd_are_rewritten_in_place(make_run, kit) -> None:  # noqa: ANN001
    feature = "interface4/din_evcc.feature"
    scenarios = [
        kit.scenario(
            f"TC_DIN_EVCC_002[{stage}]",
            Verdict.FAIL if stage == "precharge" else Verdict.PASS,
            feature=feature,
            name=f"The EVCC completes the <stage> stage (stage={stage}, request=x{stage})",
        )
        for stage in ("associate", "precharge")
    ]
    run_dir = make_run(scenarios)
    out = run_dir / ALLURE_DIR
    out.mkdir()
    ours = out / "1a855caa-b5e6-4c76-97bf-29957c38135a-result.json"  # not named after its uuid
    found = _pytest_bdd_result(
        feature, "The EVCC completes the precharge stage", [{"name": "stage", "value": "precharge"}]
    )
    ours.write_text(json.dumps(found), encoding="utf-8")
    other = out / "0000-result.json"  # a different example of the same scenario: not this one
    other_found = {**_pytest_bdd_result(feature, "The EVCC completes the unknown stage", []), "uuid": "0000"}
    other.write_text(json.dumps(other_found), encoding="utf-8")

    write_allure(Results.load(run_dir), run_dir)
    files = sorted(out.glob("*" + RESULT_SUFFIX))
    write_allure(Results.load(run_dir), run_dir)  # a second `vgi report` finds its own results again

    assert sorted(out.glob("*" + RESULT_SUFFIX)) == files
    assert len(files) == 3  # the two scenarios, and the unmatched result left as it was
    assert json.loads(other.read_text(encoding="utf-8")) == other_found
    rewritten = json.loads(ours.read_text(encoding="utf-8"))
    assert rewritten["uuid"] == found["uuid"]
    assert rewritten["fullName"] == f"{feature}:TC_DIN_EVCC_002[precharge]"
    assert rewritten["status"] == "failed"
    assert rewritten["start"] == found["start"] and rewritten["stop"] == found["stop"]
    assert rewritten["description"] == "The feature's description."
    assert rewritten["parameters"] == [{"name": "stage", "value": "precharge"}]
    assert {"name": "feature", "value": "DIN SPEC 70121 DC charging"} in rewritten["labels"]
    assert "vgi_scenario" not in json.dumps(rewritten["steps"])  # the fixture's repr is not evidence


def test_vgi_report_allure_regenerates_without_rerunning(full_run: Path) -> None:
    assert main(["report", str(full_run), "--allure"]) == 0
    assert set(_results(full_run)) == {"S1", "S2", "S3", "S4", "S5"}
    shutil.rmtree(full_run / ALLURE_DIR)
    render_all(full_run)  # a run without allure-results gets none unless asked
    assert not (full_run / ALLURE_DIR).exists()


@pytest.mark.parametrize("verdict", list(Verdict))
def test_every_verdict_has_an_allure_status(make_run, kit, verdict: Verdict) -> None:  # noqa: ANN001
    run_dir = make_run([kit.scenario("S", verdict)])
    write_allure(Results.load(run_dir), run_dir, regenerate=True)
    ((_, result),) = _results(run_dir).values()
    assert result["status"] in {"passed", "failed", "broken", "skipped", "unknown"}
