"""The IEEE 2030.5 DER function set in the codec: serialise -> schema-valid XML -> parse back equal."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree
from py20305.models.sep import sep

from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.schema import validate

NS = "urn:ieee:std:2030.5:ns"
T0 = 1_700_000_000  # a fixed instant: codec tests never read the clock
LFDI = bytes.fromhex("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5")
# DERControlType bits (sep.xsd): 2 opModConnect, 3 opModEnergize, 7 opModFixedW, 20 opModMaxLimW, 23 volt-var.
MODES = v.bitmap((2, 3, 7, 20, 23), 4)


def _member(cls: type[Any], resource: Any) -> Any:
    """``resource`` as a list member: py20305 types list items by the complex type (``Response1``),
    which lacks the root element's schemaVer."""
    return cls(**{name: getattr(resource, name) for name in cls.model_fields})


def _base() -> sep.DercontrolBase:
    return r.DERControlBase(
        op_mod_connect=True,
        op_mod_energize=True,
        op_mod_fixed_w=sep.SignedPerCentControlType(value=-5000),
        op_mod_max_lim_w=sep.PerCentControlType(value=8000),
        op_mod_fixed_pfinject_w=sep.PowerFactorWithExcitationControlType(
            displacement=95, excitation=False, multiplier=sep.PowerOfTenMultiplierType(value=-2)
        ),
        op_mod_volt_var=sep.DercurveLink(href="/derp/1/dc/1"),
        ramp_tms=500,
    )


def _control(n: int) -> sep.Dercontrol:
    return r.DERControl(
        href=f"/derp/1/derc/{n}",
        m_rid=v.mrid(100 + n),
        description="Discharge for the evening peak",
        creation_time=v.sep_time(T0),
        event_status=v.event_status(v.EventStatusCode.SCHEDULED, T0),
        interval=v.interval(T0 + 3600, 1800),
        randomize_start=sep.OneHourRangeType(value=300),
        randomize_duration=sep.OneHourRangeType(value=-120),
        dercontrol_base=_base(),
        reply_to="/rsps/1/rsp",
        response_required=b"\x03",
    )


def _curve() -> sep.Dercurve:
    return r.DERCurve(
        href="/derp/1/dc/1",
        m_rid=v.mrid(200),
        creation_time=v.sep_time(T0),
        curve_type=sep.DercurveType(value=11),  # volt-var (REFERENCE-DER.md)
        curve_data=[
            r.CurveData(xvalue=9200, yvalue=3000),
            r.CurveData(xvalue=9670, yvalue=0),
            r.CurveData(xvalue=10300, yvalue=0),
            r.CurveData(xvalue=10700, yvalue=-3000),
        ],
        x_multiplier=sep.PowerOfTenMultiplierType(value=-2),
        y_multiplier=sep.PowerOfTenMultiplierType(value=-2),
        y_ref_type=sep.DerunitRefType(value=3),
    )


def _response() -> sep.DercontrolResponse:
    return r.DERControlResponse(
        created_date_time=v.sep_time(T0 + 3600),
        end_device_lfdi=LFDI,
        status=2,
        subject=v.mrid(101),
        modes_responded=sep.DercontrolType(value=MODES),
    )


def _samples() -> dict[str, Any]:
    program = r.DERProgram(
        href="/derp/1",
        m_rid=v.mrid(1),
        description="Utility V2G program",
        primacy=sep.PrimacyType(value=1),
        default_dercontrol_link=sep.DefaultDercontrolLink(href="/derp/1/dderc"),
        dercontrol_list_link=sep.DercontrolListLink(href="/derp/1/derc", all=2),
        dercurve_list_link=sep.DercurveListLink(href="/derp/1/dc", all=1),
    )
    der = r.DER(
        href="/edev/1/der/1",
        dercapability_link=sep.DercapabilityLink(href="/edev/1/der/1/dercap"),
        dersettings_link=sep.DersettingsLink(href="/edev/1/der/1/derg"),
        derstatus_link=sep.DerstatusLink(href="/edev/1/der/1/ders"),
        deravailability_link=sep.DeravailabilityLink(href="/edev/1/der/1/dera"),
    )
    generic = r.Response(
        created_date_time=v.sep_time(T0), end_device_lfdi=LFDI, status=1, subject=v.mrid(101)
    )
    log_event = r.LogEvent(
        href="/edev/1/lel/1",
        created_date_time=v.sep_time(T0),
        details="inverter tripped on over-voltage",
        function_set=0,
        log_event_code=3,
        log_event_id=1,
        log_event_pen=sep.Pentype(value=v.HARNESS_PEN),
        profile_id=0,
    )
    return {
        "DERProgram": program,
        "DERProgramList": r.DERProgramList(
            href="/derp", all=1, results=1, derprogram=[_member(sep.Derprogram1, program)], poll_rate=300
        ),
        "DERControl": _control(1),
        "DERControlList": r.DERControlList(
            href="/derp/1/derc",
            all=2,
            results=2,
            dercontrol=[_member(sep.Dercontrol1, _control(n)) for n in (1, 2)],
        ),
        "DefaultDERControl": r.DefaultDERControl(
            href="/derp/1/dderc", m_rid=v.mrid(3), dercontrol_base=_base(), set_grad_w=200
        ),
        "DERCurve": _curve(),
        "DERCurveList": r.DERCurveList(
            href="/derp/1/dc", all=1, results=1, dercurve=[_member(sep.Dercurve1, _curve())]
        ),
        "DER": der,
        "DERList": r.DERList(
            href="/edev/1/der", all=1, results=1, der=[_member(sep.Der1, der)], poll_rate=900
        ),
        "DERCapability": r.DERCapability(
            href="/edev/1/der/1/dercap",
            modes_supported=sep.DercontrolType(value=MODES),
            rtg_max_w=v.active_power(7200),
            rtg_max_charge_rate_w=v.active_power(7200),
            rtg_max_discharge_rate_w=v.active_power(6000),
            rtg_max_wh=sep.WattHour(multiplier=sep.PowerOfTenMultiplierType(value=0), value=60000),
            type_value=sep.Dertype(value=v.DER_TYPE_ELECTRIC_VEHICLE),
        ),
        "DERSettings": r.DERSettings(
            href="/edev/1/der/1/derg",
            modes_enabled=sep.DercontrolType(value=MODES),
            set_grad_w=200,
            set_max_w=v.active_power(6000),
            set_max_charge_rate_w=v.active_power(7200),
            updated_time=v.sep_time(T0),
        ),
        "DERStatus": r.DERStatus(
            href="/edev/1/der/1/ders",
            reading_time=v.sep_time(T0),
            state_of_charge_status=sep.StateOfChargeStatusType(
                date_time=v.sep_time(T0), value=v.percent(6500)
            ),
            operational_mode_status=sep.OperationalModeStatusType(date_time=v.sep_time(T0), value=2),
        ),
        "DERAvailability": r.DERAvailability(
            href="/edev/1/der/1/dera",
            reading_time=v.sep_time(T0),
            availability_duration=7200,
            max_charge_duration=14400,
            reserve_percent=sep.PerCent(value=3000),
            stat_wavail=v.active_power(6000),
        ),
        "Response": generic,
        "ResponseList": r.ResponseList(
            href="/rsps/1/rsp", all=1, results=1, response=[_member(sep.Response1, generic)]
        ),
        "DERControlResponse": _response(),
        "LogEvent": log_event,
        "LogEventList": r.LogEventList(
            href="/edev/1/lel", all=1, results=1, log_event=[_member(sep.LogEvent1, log_event)]
        ),
    }


SAMPLES = _samples()
DER_NAMES = (
    "DERProgram DERProgramList DERControl DERControlList DefaultDERControl DERCurve DERCurveList DER DERList "
    "DERCapability DERSettings DERStatus DERAvailability Response ResponseList DERControlResponse LogEvent "
    "LogEventList FlowReservationRequest FlowReservationResponse ResponseSet"
).split()


def test_every_der_resource_is_a_known_root_element() -> None:
    for name in DER_NAMES:
        assert r.element_name(r.RESOURCE_CLASSES[name]) == name
    # Nested-only types keep their IEEE 2030.5 names too.
    assert r.DERControlBase is sep.DercontrolBase and r.CurveData is sep.CurveData


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_der_round_trip_is_schema_valid_and_lossless(name: str) -> None:
    resource = SAMPLES[name]
    assert r.element_name(type(resource)) == name
    body = r.serialise(resource)
    assert etree.fromstring(body).tag == f"{{{NS}}}{name}"
    assert validate(body) == [], body
    assert r.parse_resource(body, type(resource)) == resource
    assert r.parse_any(body) == resource


def test_der_control_carries_its_modes_and_randomization_on_the_wire() -> None:
    body = r.serialise(SAMPLES["DERControl"])
    root = etree.fromstring(body)

    def text(path: str) -> str | None:
        return root.findtext("/".join(f"{{{NS}}}{step}" for step in path.split("/")))

    assert text("DERControlBase/opModFixedW") == "-5000"
    assert text("DERControlBase/opModMaxLimW") == "8000"
    assert text("DERControlBase/opModConnect") == "true"
    assert text("DERControlBase/rampTms") == "500"
    assert text("randomizeStart") == "300" and text("randomizeDuration") == "-120"
    assert root.get("responseRequired") == "03" and root.get("replyTo") == "/rsps/1/rsp"


def test_der_control_without_its_mandatory_event_status_is_invalid() -> None:
    body = r.serialise(SAMPLES["DERControl"])
    broken = etree.fromstring(body)
    status = broken.find(f"{{{NS}}}EventStatus")
    broken.remove(status)
    issues = validate(etree.tostring(broken))
    assert any("EventStatus" in issue.message or "interval" in issue.message for issue in issues), issues


def test_der_capability_of_an_ev_names_its_type_and_modes() -> None:
    body = r.serialise(SAMPLES["DERCapability"])
    assert b"<type>81</type>" in body
    assert f"<modesSupported>{MODES.hex().upper()}</modesSupported>".encode() in body
