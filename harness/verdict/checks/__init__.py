"""Typed builders of the expectations steps register, one module per protocol family.

:mod:`.schema` says which keys each kind of spec takes (a spec is validated when it is built and when a
run directory is judged again); :mod:`.common` holds the generic selectors and check kinds;
:mod:`.requirements` the registry of requirement ids the check modules cite, checked against the
catalogue when the harness plugin loads.  The specs they produce are the plain JSON of
:mod:`harness.verdict.expectations`.
"""

CHECK_MODULES = (
    "harness.verdict.checks.common",
    "harness.verdict.checks.der",
    "harness.verdict.checks.der_grid_loop",
    "harness.verdict.checks.din70121",
    "harness.verdict.checks.iso15118_20",
    "harness.verdict.checks.iso15118_20_tls",
    "harness.verdict.checks.pilot",
    "harness.verdict.checks.plc_session",
    "harness.verdict.checks.sdp",
    "harness.verdict.checks.sep2",
    "harness.verdict.checks.slac",
)
