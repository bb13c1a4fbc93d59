"""From py20305's DER resources to the engine's plain values and back, through real XML."""

from __future__ import annotations

from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.schema import validate
from harness.protocol.sep2.der_convert import (
    control_from_resource,
    controls_from_list,
    mode_names,
    mode_values,
    modes_supported,
    mrid_text,
    program_from_resource,
    response_from_resource,
    response_resource,
)
from harness.protocol.sep2.der_events import DerEventEngine, DerSnapshot, EventState
from harness.protocol.sep2.der_model import (
    DER_CONTROL_TYPE_BITS,
    DerControlResponse,
    EventStatusCode,
    ResponseRequired,
    ResponseStatus,
    modes_bitmap,
    modes_from_bitmap,
)

T0 = 1_700_000_000
LFDI = "3E4F45AB31EDFE5B67E343E5E4562E31984E23E5"


def _wire(resource: object) -> object:
    """``resource`` after a trip through schema-valid XML, as a client would hold it."""
    body = r.serialise(resource)
    assert validate(body) == [], body
    return r.parse_resource(body, type(resource))


def _base(**modes: object) -> sep.DercontrolBase:
    return r.DERControlBase(**modes)


def test_control_resource_becomes_a_plain_control() -> None:
    resource = r.DERControl(
        href="/derp/1/derc/1",
        m_rid=v.mrid(11),
        creation_time=v.sep_time(T0 - 60),
        event_status=v.event_status(v.EventStatusCode.CANCELLED_WITH_RANDOMIZATION, T0),
        interval=v.interval(T0 + 600, 1200),
        randomize_start=sep.OneHourRangeType(value=-300),
        randomize_duration=sep.OneHourRangeType(value=60),
        reply_to="/rsps/1/rsp",
        response_required=b"\x07",
        dercontrol_base=_base(
            op_mod_fixed_w=sep.SignedPerCentControlType(value=-5000),
            op_mod_connect=False,
            op_mod_target_w=sep.ActivePowerControlType(
                value=72, multiplier=sep.PowerOfTenMultiplierType(value=2)
            ),
            op_mod_fixed_pfinject_w=sep.PowerFactorWithExcitationControlType(
                displacement=95, excitation=True, multiplier=sep.PowerOfTenMultiplierType(value=-2)
            ),
            op_mod_volt_var=sep.DercurveLink(href="/derp/1/dc/1"),
            ramp_tms=300,
        ),
    )
    control = control_from_resource(_wire(resource), program="P")
    assert control.mrid == mrid_text(v.mrid(11)) and len(control.mrid) == 32
    assert (control.program, control.creation_time, control.start, control.duration, control.end) == (
        "P",
        T0 - 60,
        T0 + 600,
        1200,
        T0 + 1800,
    )
    assert (control.randomize_start, control.randomize_duration) == (-300, 60)
    assert control.current_status == EventStatusCode.CANCELLED_WITH_RANDOMIZATION
    assert control.response_required == ResponseRequired(7)
    assert (control.reply_to, control.ramp_tms, control.href) == ("/rsps/1/rsp", 300, "/derp/1/derc/1")
    assert dict(control.modes) == {
        "opModFixedW": -5000,
        "opModConnect": False,
        "opModTargetW": 7200,
        "opModFixedPFInjectW": (("displacement", 95), ("excitation", True), ("multiplier", -2)),
        "opModVoltVar": "/derp/1/dc/1",
    }


def test_program_list_and_default_feed_the_engine() -> None:
    program = r.DERProgram(href="/derp/1", m_rid=v.mrid(1), primacy=sep.PrimacyType(value=2))
    default = r.DefaultDERControl(
        m_rid=v.mrid(2), dercontrol_base=_base(op_mod_max_lim_w=sep.PerCentControlType(value=10000))
    )
    plain = program_from_resource(_wire(program), _wire(default))
    assert plain.primacy == 2 and plain.default is not None
    assert dict(plain.default.modes) == {"opModMaxLimW": 10000}
    member = sep.Dercontrol1(
        m_rid=v.mrid(3),
        creation_time=v.sep_time(T0),
        event_status=v.event_status(v.EventStatusCode.SCHEDULED, T0),
        interval=v.interval(T0 + 60, 60),
        dercontrol_base=_base(op_mod_max_lim_w=sep.PerCentControlType(value=5000)),
    )
    listing = _wire(r.DERControlList(all=1, results=1, dercontrol=[member]))
    controls = controls_from_list(listing, plain.mrid)
    assert controls_from_list(None, plain.mrid) == ()
    engine = DerEventEngine()
    engine.handle(DerSnapshot((plain,), controls), T0)
    assert engine.applied["opModMaxLimW"].value == 10000
    engine.handle(DerSnapshot((plain,), controls), T0 + 60)
    assert engine.applied["opModMaxLimW"].value == 5000
    assert engine.state_of(controls[0].mrid) == EventState.ACTIVE
    # No responseRequired attribute: the default 00.
    assert controls[0].response_required == ResponseRequired(0)


def test_response_goes_to_the_wire_schema_valid_and_comes_back_equal() -> None:
    response = DerControlResponse(
        subject=mrid_text(v.mrid(11)),
        status=ResponseStatus.EVENT_STARTED,
        created_date_time=T0,
        end_device_lfdi=LFDI,
        modes=frozenset({"opModFixedW", "opModConnect"}),
        reply_to="/rsps/1/rsp",
    )
    resource = _wire(response_resource(response))
    assert resource.modes_responded.value == bytes.fromhex("00000084")
    assert response_from_resource(resource, "/rsps/1/rsp") == response
    bare = response_resource(DerControlResponse(response.subject, ResponseStatus.EXPIRED, T0, LFDI))
    assert bare.modes_responded is None
    # A status the enum does not know (e.g. a newer revision's) survives as its number.
    odd = r.DERControlResponse(end_device_lfdi=bytes.fromhex(LFDI), subject=v.mrid(1), status=13)
    assert response_from_resource(odd).status == 13


def test_capability_modes_and_bitmaps() -> None:
    modes = frozenset({"opModConnect", "opModEnergize", "opModFixedW", "opModMaxLimW"})
    assert modes_bitmap(modes) == bytes.fromhex("0010008C")
    assert modes_from_bitmap(bytes.fromhex("0010008C")) == modes
    assert modes_bitmap({"opModNotAMode"}) == bytes(4)
    capability = r.DERCapability(
        modes_supported=sep.DercontrolType(value=modes_bitmap(modes)),
        rtg_max_w=v.active_power(7200),
        type_value=sep.Dertype(value=v.DER_TYPE_ELECTRIC_VEHICLE),
    )
    assert modes_supported(_wire(capability)) == modes


def test_every_control_type_bit_names_a_der_control_base_element() -> None:
    assert set(DER_CONTROL_TYPE_BITS) <= set(mode_names())
    assert len(set(DER_CONTROL_TYPE_BITS.values())) == len(DER_CONTROL_TYPE_BITS)
    assert mode_values(None) == {}
