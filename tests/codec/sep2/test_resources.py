"""Typed IEEE 2030.5 resources: serialise -> schema-valid XML -> parse back to an equal object."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from py20305.models.sep import sep

from harness.codec.sep2 import MEDIA_TYPE_SEP_XML, is_sep_xml
from harness.codec.sep2 import resources as r
from harness.codec.sep2 import values as v
from harness.codec.sep2.document import Sep2DecodeError
from harness.codec.sep2.schema import SEP_XSD_ENV, SchemaUnavailable, locate_schema, validate

NS = "urn:ieee:std:2030.5:ns"
T0 = 1_700_000_000  # an arbitrary fixed instant: codec tests never read the clock
LFDI = bytes.fromhex("3E4F45AB31EDFE5B67E343E5E4562E31984E23E5")


def _t(value: int) -> sep.TimeType:
    return v.sep_time(value)


def _mrid(n: int) -> sep.MRidtype:
    return v.mrid(n)


def _power(watts: int) -> sep.ActivePower:
    return v.active_power(watts)


def _energy(wh: int) -> sep.RealEnergy:
    return v.real_energy(wh)


def _status() -> sep.EventStatus:
    return v.event_status(v.EventStatusCode.SCHEDULED, T0)


def _interval(start: int, duration: int) -> sep.DateTimeInterval:
    return v.interval(start, duration)


def _samples() -> dict[str, Any]:
    pev = r.PEVInfo(
        charging_power_now=_power(3300),
        energy_request_now=_energy(22000),
        max_forward_power=_power(7200),
        minimum_charging_duration=11000,
        target_state_of_charge=v.percent(8000),
        time_charge_is_needed=_t(T0 + 8 * 3600),
        time_charging_status_pev=_t(T0),
    )
    return {
        "DeviceCapability": r.DeviceCapability(
            href="/dcap",
            poll_rate=900,
            time_link=sep.TimeLink(href="/tm"),
            end_device_list_link=sep.EndDeviceListLink(href="/edev", all=1),
            mirror_usage_point_list_link=sep.MirrorUsagePointListLink(href="/mup", all=0),
        ),
        "Time": r.Time(
            href="/tm",
            current_time=_t(T0),
            dst_end_time=_t(T0 + 200 * 86400),
            dst_offset=sep.TimeOffsetType(value=3600),
            dst_start_time=_t(T0 - 30 * 86400),
            quality=7,
            tz_offset=sep.TimeOffsetType(value=-8 * 3600),
        ),
        "EndDevice": r.EndDevice(
            href="/edev/1",
            s_fdi=sep.Sfditype(value=167261211391),
            l_fdi=LFDI,
            device_category=v.device_category(v.DEVICE_CATEGORY_EV_BIT),
            registration_link=sep.RegistrationLink(href="/edev/1/rg"),
            power_status_link=sep.PowerStatusLink(href="/edev/1/ps"),
            function_set_assignments_list_link=sep.FunctionSetAssignmentsListLink(href="/edev/1/fsa", all=1),
            flow_reservation_request_list_link=sep.FlowReservationRequestListLink(href="/edev/1/frq", all=0),
            changed_time=_t(T0),
        ),
        "Registration": r.Registration(
            href="/edev/1/rg", date_time_registered=_t(T0), p_in=sep.Pintype(value=111115)
        ),
        "FunctionSetAssignments": r.FunctionSetAssignments(
            href="/fsa/1",
            m_rid=_mrid(1),
            description="EV charging site",
            tariff_profile_list_link=sep.TariffProfileListLink(href="/tp", all=1),
            demand_response_program_list_link=sep.DemandResponseProgramListLink(href="/drp", all=1),
            messaging_program_list_link=sep.MessagingProgramListLink(href="/msg", all=1),
        ),
        "TariffProfile": r.TariffProfile(
            href="/tp/1",
            m_rid=_mrid(2),
            description="TOU",
            currency=sep.CurrencyCode(value=840),
            price_power_of_ten_multiplier=sep.PowerOfTenMultiplierType(value=-3),
            primacy=sep.PrimacyType(value=0),
            rate_component_list_link=sep.RateComponentListLink(href="/tp/1/rc", all=1),
            service_category_kind=sep.ServiceKind(value=0),
        ),
        "RateComponent": r.RateComponent(
            href="/tp/1/rc/1",
            m_rid=_mrid(3),
            reading_type_link=sep.ReadingTypeLink(href="/rt/1"),
            role_flags=v.role_flags(v.ROLE_FLAG_IS_PEV_BIT),
            time_tariff_interval_list_link=sep.TimeTariffIntervalListLink(href="/tp/1/rc/1/tti", all=24),
        ),
        "TimeTariffInterval": r.TimeTariffInterval(
            href="/tp/1/rc/1/tti/0",
            m_rid=_mrid(4),
            creation_time=_t(T0),
            event_status=_status(),
            interval=_interval(T0, 3600),
            consumption_tariff_interval_list_link=sep.ConsumptionTariffIntervalListLink(
                href="/tp/1/rc/1/tti/0/cti", all=1
            ),
            tou_tier=sep.Toutype(value=1),
        ),
        "ConsumptionTariffInterval": r.ConsumptionTariffInterval(
            href="/tp/1/rc/1/tti/0/cti/1",
            consumption_block=sep.ConsumptionBlockType(value=0),
            price=125,
            start_value=0,
        ),
        "DemandResponseProgram": r.DemandResponseProgram(
            href="/drp/1",
            m_rid=_mrid(5),
            primacy=sep.PrimacyType(value=0),
            end_device_control_list_link=sep.EndDeviceControlListLink(href="/drp/1/edc", all=1),
        ),
        "EndDeviceControl": r.EndDeviceControl(
            href="/drp/1/edc/1",
            m_rid=_mrid(6),
            creation_time=_t(T0),
            event_status=_status(),
            interval=_interval(T0 + 3600, 7200),
            device_category=v.device_category(v.DEVICE_CATEGORY_EV_BIT),
            dr_program_mandatory=True,
            load_shift_forward=False,
            reply_to="/rsps/1/rsp",
            response_required=b"\x03",
        ),
        "DrResponse": r.DrResponse(
            created_date_time=_t(T0),
            end_device_lfdi=LFDI,
            status=1,
            subject=_mrid(6),
        ),
        "FlowReservationRequest": r.FlowReservationRequest(
            m_rid=_mrid(7),
            creation_time=_t(T0),
            duration_requested=11000,
            energy_requested=sep.SignedRealEnergy(
                multiplier=sep.PowerOfTenMultiplierType(value=0), value=22000
            ),
            interval_requested=_interval(T0, 8 * 3600),
            power_requested=_power(7200),
            request_status=v.request_status(v.RequestStatusCode.REQUESTED, T0),
        ),
        "FlowReservationResponse": r.FlowReservationResponse(
            href="/edev/1/frp/1",
            m_rid=_mrid(8),
            creation_time=_t(T0),
            event_status=_status(),
            interval=_interval(T0 + 3600, 11000),
            energy_available=sep.SignedRealEnergy(
                multiplier=sep.PowerOfTenMultiplierType(value=0), value=22000
            ),
            power_available=_power(7200),
            subject=_mrid(7),
        ),
        "PowerStatus": r.PowerStatus(
            href="/edev/1/ps",
            battery_status=0,
            changed_time=_t(T0),
            current_power_source=sep.PowerSourceType(value=v.PowerSource.MAINS),
            pevinfo=pev,
        ),
        "TextMessage": r.TextMessage(
            href="/msg/1/txt/1",
            m_rid=_mrid(9),
            creation_time=_t(T0),
            event_status=_status(),
            interval=_interval(T0, 900),
            originator="PFE",
            priority=sep.PriorityType(value=1),
            text_message="Critical peak pricing 17:00-20:00",
        ),
        "MirrorUsagePoint": r.MirrorUsagePoint(
            m_rid=_mrid(10),
            description="EVSE meter",
            role_flags=v.role_flags(v.ROLE_FLAG_IS_MIRROR_BIT),
            service_category_kind=sep.ServiceKind(value=0),
            status=1,
            device_lfdi=LFDI,
        ),
        "Subscription": r.Subscription(
            subscribed_resource="/tp/1/rc/1/tti",
            encoding=0,
            level="+S1",
            limit=10,
            notification_uri="https://127.0.0.1:8443/ntfy",
        ),
        "Notification": r.Notification(
            subscribed_resource="/tp/1/rc/1/tti",
            status=0,
            subscription_uri="/edev/1/sub/1",
        ),
    }


SAMPLES = _samples()


def test_every_sample_names_its_class() -> None:
    for name, resource in SAMPLES.items():
        assert r.element_name(type(resource)) == name
        assert r.RESOURCE_CLASSES[name] is type(resource)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_round_trip_is_schema_valid_and_lossless(name: str) -> None:
    resource = SAMPLES[name]
    body = r.serialise(resource)
    assert not body.startswith(b"<?xml")  # IEEE 2030.5-2018 clause 5.6.2: no XML declaration
    root = etree.fromstring(body)
    assert root.tag == f"{{{NS}}}{name}"
    assert validate(body) == [], body
    assert r.parse_resource(body, type(resource)) == resource
    assert r.parse_any(body) == resource
    assert r.identify(body) == name


def test_pevinfo_is_carried_in_power_status() -> None:
    body = r.serialise(SAMPLES["PowerStatus"])
    assert b"<PEVInfo>" in body and b"<timeChargeIsNeeded>" in body
    parsed = r.parse_resource(body, r.PowerStatus)
    assert parsed.pevinfo is not None
    assert parsed.pevinfo.time_charge_is_needed.value == T0 + 8 * 3600
    assert parsed.pevinfo.energy_request_now.value == 22000


def test_schema_flags_a_well_formed_but_invalid_body() -> None:
    # Time without its mandatory children is well-formed XML but not a valid Time.
    issues = validate(f'<Time xmlns="{NS}" href="/tm"><quality>7</quality></Time>'.encode())
    assert issues
    assert any("currentTime" in issue.message for issue in issues)
    assert issues[0].line == 1
    # An element no schema declares at top level.
    assert validate(f'<Bogus xmlns="{NS}"/>'.encode())


def test_every_top_level_resource_is_declared_by_the_schema() -> None:
    schema_doc = etree.parse(str(locate_schema()))
    declared = {
        el.get("name") for el in schema_doc.getroot().findall("{http://www.w3.org/2001/XMLSchema}element")
    }
    assert set(r.RESOURCE_CLASSES) <= declared, set(r.RESOURCE_CLASSES) - declared


def test_schema_location_prefers_the_user_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SEP_XSD_ENV, str(tmp_path / "absent.xsd"))
    with pytest.raises(SchemaUnavailable, match=SEP_XSD_ENV):
        locate_schema()
    with pytest.raises(SchemaUnavailable, match="not found"):
        locate_schema(tmp_path / "nope.xsd")
    # A user schema that accepts only <Only/> proves the user copy is the one used.
    user = tmp_path / "sep.xsd"
    user.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:ieee:std:2030.5:ns" '
        'elementFormDefault="qualified"><xs:element name="Only"/></xs:schema>'
    )
    monkeypatch.setenv(SEP_XSD_ENV, str(user))
    assert locate_schema() == user
    assert validate(f'<Only xmlns="{NS}"/>'.encode()) == []
    assert validate(r.serialise(SAMPLES["Time"]))


def test_malformed_body_never_escapes_as_another_exception() -> None:
    body = r.serialise(SAMPLES["EndDevice"]).replace(b"<sFDI>", b"<sFDI>x", 1)
    with pytest.raises(Sep2DecodeError) as info:
        r.parse_resource(body, r.EndDevice)
    assert info.value.data == body


def test_media_type() -> None:
    assert MEDIA_TYPE_SEP_XML == "application/sep+xml"
    assert is_sep_xml("application/sep+xml; charset=utf-8")
    assert is_sep_xml("Application/SEP+XML")
    assert not is_sep_xml("application/xml")
    assert not is_sep_xml(None)


def test_value_helpers_encode_the_code_points() -> None:
    # DeviceCategoryType bit 16 (EV) in a 32-bit big-endian bitmap: 0x00010000.
    assert v.device_category(v.DEVICE_CATEGORY_EV_BIT).value == bytes.fromhex("00010000")
    assert v.device_category(v.DEVICE_CATEGORY_EVSE_BIT).value == bytes.fromhex("00020000")
    assert v.role_flags(v.ROLE_FLAG_IS_PEV_BIT, v.ROLE_FLAG_IS_MIRROR_BIT).value == bytes.fromhex("0005")
    assert v.bits_set(bytes.fromhex("00030000")) == {16, 17}
    with pytest.raises(ValueError):
        v.bitmap(16, 2)
    # mRID: serial 1 above PEN 32473 (0x7ED9).
    assert v.mrid(1).value == bytes.fromhex("00000000000000000000000100007ED9")
    assert v.lfdi_value(LFDI.hex()) == LFDI == v.lfdi_value(LFDI)
    with pytest.raises(ValueError):
        v.lfdi_value("ABCD")
    body = r.serialise(SAMPLES["EndDevice"])
    assert b"<deviceCategory>00010000</deviceCategory>" in body
    assert b"<lFDI>3E4F45AB31EDFE5B67E343E5E4562E31984E23E5</lFDI>" in body
