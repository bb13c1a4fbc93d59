"""Timers of the IEEE 2030.5 / J2836/1 flows that a lab may override through PIXIT."""

from __future__ import annotations

from harness.protocol.timers import register_timer

# SAE J2836/1 (AC charging use cases, shared/REFERENCE.md section 7): after a price or DR change
# the EV re-plans and sends its adjusted choice within 15 minutes.  The PIXIT may shorten it.
SEP2_REPLAN_WINDOW_S = register_timer(
    "SEP2_REPLAN_WINDOW",
    900.0,
    "SAE J2836/1 AC charging use cases (adjust within 15 min)",
    "time the EV has to re-plan and acknowledge after a price/DR change, in simulated seconds",
)
# IEEE 2030.5-2018 clause 5.5.4 (pollRate): a client polls no faster than the resource's pollRate;
# 900 s is the schema default.  The harness's servers announce a shorter rate in simulated labs.
SEP2_DEFAULT_POLL_RATE_S = register_timer(
    "SEP2_DEFAULT_POLL_RATE",
    900.0,
    "IEEE 2030.5-2018 clause 5.5.4 (pollRate default)",
    "poll rate a client assumes when a resource states none",
)
# How long a tester waits for a client DUT to discover, register and read its function sets
# (harness choice: the reference clients need well under a second).
SEP2_CLIENT_START_TIMEOUT_S = register_timer(
    "SEP2_CLIENT_START_TIMEOUT",
    20.0,
    "harness choice (no clause): client DUT's first request after start",
    "how long the tester waits for a client DUT to contact it",
)
