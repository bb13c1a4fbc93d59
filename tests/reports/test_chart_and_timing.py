"""The sequence chart geometry and the timing helpers, without any HTML."""

from __future__ import annotations

import pytest

from capture.timeline import TimelineEvent
from harness.verdict.verdicts import Verdict
from reports.model import CheckResult
from reports.sequence_chart import build_chart, endpoint, event_kind, party_of
from reports.timing import (
    format_duration,
    measured_from_reason,
    time_limits,
    timed_checks,
    timing_rows,
)

A, B, C = "[fe80::1]:15118", "[fe80::2]:50000", "ff02::1"


def ev(
    t: float, frame: int, src: str, dst: str, protocol: str = "V2GTP", message: str = "X", **kw
) -> TimelineEvent:
    return TimelineEvent(100.0 + t, frame, src, dst, protocol, message, **kw)


def test_lifelines_in_order_of_first_appearance_and_arrow_directions() -> None:
    chart = build_chart([ev(0, 1, B, C, "SDP"), ev(0.1, 2, A, B), ev(0.2, 3, B, A)])
    assert [line.name for line in chart.lifelines] == [B, C, A]
    xs = {line.name: line.x for line in chart.lifelines}
    first, second, third = chart.arrows
    # The head's tip is at the destination's lifeline, the label centred between the two.
    assert first.head.startswith(f"{xs[C]:.1f},") and first.label_x == pytest.approx((xs[B] + xs[C]) / 2)
    assert second.head.startswith(f"{xs[B]:.1f},")
    assert third.head.startswith(f"{xs[A]:.1f},")
    assert [a.time_label for a in chart.arrows] == ["+0.000 ms", "+100.000 ms", "+200.000 ms"]
    segment = chart.segments[0]
    assert first.y < second.y < third.y <= segment.lifeline_bottom < segment.height
    assert max(line.box_x + line.box_width for line in chart.lifelines) <= chart.width


def test_self_message_is_a_loop() -> None:
    chart = build_chart([ev(0, 1, A, A, "V2GTP", "?", error="truncated header")])
    arrow = chart.arrows[0]
    assert arrow.kind == "error" and arrow.label_anchor == "start"
    assert " V" in arrow.path  # goes down and back to the same lifeline
    assert arrow.label.startswith("V2GTP decode error: tr")


def test_event_kinds() -> None:
    assert event_kind(ev(0, 1, A, B, "TCP", "RST")) == "link"
    assert event_kind(ev(0, 1, A, B, "SLAC", "SYN")) == "link"
    assert event_kind(ev(0, 1, A, B, "V2GTP", "SessionSetupReq")) == "message"
    assert event_kind(ev(0, 1, A, B, "TCP", "RST", error="bad checksum")) == "error"


def test_long_labels_are_shortened_but_titles_keep_everything() -> None:
    long = "E" * 300
    arrow = build_chart([ev(0, 7, A, B, "V2GTP", long)]).arrows[0]
    assert len(arrow.label) < 60 and arrow.label.endswith("\u2026")
    assert long in arrow.title and "frame 7" in arrow.title


def test_long_charts_are_drawn_in_parts_with_the_same_lanes() -> None:
    events = [ev(i, i + 1, A if i % 2 else B, B if i % 2 else A) for i in range(60)]
    chart = build_chart(events, segment_rows=25)
    assert [len(segment.arrows) for segment in chart.segments] == [25, 25, 10]
    assert chart.segments[1].arrows[0].y == chart.segments[0].arrows[0].y  # rows restart in each part
    assert chart.segments[2].height < chart.segments[0].height
    assert chart.segments[2].arrows[-1].time_label == "+59000.000 ms"  # times stay relative to event 1
    assert len(chart.arrows) == 60 and not chart.truncated


def test_cap() -> None:
    events = [ev(i, i + 1, A, B) for i in range(10)]
    chart = build_chart(events, limit=4)
    assert len(chart.arrows) == 4 and chart.total_events == 10 and chart.truncated
    assert not build_chart(events).truncated


def test_timing_rows_relative_and_delta() -> None:
    rows = timing_rows([ev(0.5, 3, A, B), ev(0.5251, 4, B, A), ev(0.6, 9, A, B, error="bad")])
    assert [(r.frame, r.t_ms, r.delta_ms, r.kind) for r in rows] == [
        (3, "0.000", "", "message"),
        (4, "25.100", "25.100", "message"),
        (9, "100.000", "74.900", "error"),
    ]
    assert timing_rows([]) == []
    long_raw = ev(0, 1, A, B, fields={"offset": 3, "raw": "ab" * 100}, error="bad length")
    assert timing_rows([long_raw])[0].error == f"bad length (byte offset 3, raw {'ab' * 32}...)"
    assert len(timing_rows([ev(i, i, A, B) for i in range(10)], limit=3)) == 3


def test_time_limits_are_numeric_seconds_keys() -> None:
    spec = {"kind": "response_time", "max_s": 0.025, "min_s": 0, "flag_s": True, "name": "x", "limit_s": "2"}
    assert time_limits(spec) == {"max_s": 0.025, "min_s": 0.0}
    assert format_duration(0.025) == "25 ms"
    assert format_duration(1.5) == "1.5 s"


@pytest.mark.parametrize(
    ("reason", "limits", "expected"),
    [
        ("SessionSetupRes after 31.2 ms; limit 25 ms", [0.025], 0.0312),
        ("limit 25 ms exceeded: took 31.2 ms", [0.025], 0.0312),
        ("answered after 1.75 s (max 2 s)", [2.0], 1.75),
        ("no response at all", [0.025], None),
        ("only the limit, 25 ms", [0.025], None),
        ("frame 12 v2 abc5ms", [0.025], None),
    ],
)
def test_measured_from_reason(reason: str, limits: list[float], expected: float | None) -> None:
    measured = measured_from_reason(reason, limits)
    if expected is None:
        assert measured is None
    else:
        assert measured == pytest.approx(expected)


def test_timed_checks_only_lists_checks_with_time_limits() -> None:
    checks = [
        CheckResult(spec={"kind": "present"}, description="present", verdict=Verdict.PASS, reason="seen"),
        CheckResult(
            requirement="R1",
            spec={"max_s": 0.025},
            description="fast",
            verdict=Verdict.FAIL,
            reason="took 40 ms, limit 25 ms",
        ),
        CheckResult(
            spec={"limit_s": 2.0},
            description="measured field",
            verdict=Verdict.PASS,
            reason="ok",
            measured_s=0.5,
        ),
        CheckResult(
            spec={"max_s": 0.025}, description="no value", verdict=Verdict.INCONCLUSIVE, reason="none"
        ),
    ]
    out = timed_checks(checks)
    assert [(c.description, c.limits, c.measured) for c in out] == [
        ("fast", ("max_s = 25 ms",), "40.000 ms"),
        ("measured field", ("limit_s = 2 s",), "500.000 ms"),
        ("no value", ("max_s = 25 ms",), ""),
    ]


def test_endpoints_and_parties() -> None:
    assert endpoint("fe80::1", 15118) == "[fe80::1]:15118"
    assert endpoint("192.0.2.1", 80) == "192.0.2.1:80"
    assert endpoint("fe80::1", None) == "fe80::1"
    parties = {"tester": ["FE80::2"], "dut": ["[fe80::1]"]}
    assert party_of("fe80::2", parties) == "tester"
    assert party_of("fe80::1", parties) == "dut"
    assert party_of("ff02::1", parties) == ""
    chart = build_chart([ev(0, 1, "fe80::2", "ff02::1", sport=5, dport=15118)], parties)
    assert [(line.name, line.party) for line in chart.lifelines] == [("fe80::2", "tester"), ("ff02::1", "")]
    assert chart.arrows[0].title.startswith("frame 1, [fe80::2]:5 -> [ff02::1]:15118: ")
    row = timing_rows([ev(0, 1, "fe80::2", "ff02::1", sport=5, dport=15118)])[0]
    assert (row.src, row.dst) == ("[fe80::2]:5", "[ff02::1]:15118")
