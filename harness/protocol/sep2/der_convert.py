"""Between py20305's DER resources (:mod:`harness.codec.sep2.resources`) and the engine's plain values.

The reference client polls DERProgramList, each program's DefaultDERControl and DERControlList, turns
them into :class:`~harness.protocol.sep2.der_events.DerSnapshot` with the functions here, and turns the
engine's :class:`~harness.protocol.sep2.der_model.DerControlResponse` into the DERControlResponse it
POSTs.  Verdicts go the other way for what a DUT posted.  No I/O.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Mapping
from typing import Any

from py20305.models.sep import sep
from xsdata_pydantic.bindings import XmlContext

from harness.codec.sep2 import resources as r
from harness.protocol.sep2.der_model import (
    DefaultControl,
    DerControl,
    DerControlResponse,
    DerProgram,
    ModeValue,
    ResponseRequired,
    ResponseStatus,
    modes_bitmap,
    modes_from_bitmap,
)

_context = XmlContext()
# DERControlBase field name -> its XML element name (opModFixedW ...); rampTms is a parameter, not a mode.
_RAMP_ELEMENT = "rampTms"
_MODE_FIELDS: dict[str, str] = {
    var.name: var.local_name
    for var in _context.build(r.DERControlBase).get_element_vars()
    if var.local_name.startswith("opMod")
}
# Bookkeeping fields of py20305 values that carry no meaning for a mode value.
_SKIP_FIELDS = ("other_element", "any_attributes")


def mrid_text(m_rid: sep.MRidtype | bytes | None) -> str:
    """An mRID as upper-case hex (the form the engine keys controls by)."""
    if m_rid is None:
        return ""
    raw = m_rid if isinstance(m_rid, bytes) else m_rid.value
    return raw.hex().upper()


def _plain(value: Any) -> ModeValue:
    """A mode value reduced to plain Python (see :data:`~harness.protocol.sep2.der_model.ModeValue`)."""
    if isinstance(value, bool | int | float | str):
        return value
    href = getattr(value, "href", None)
    if isinstance(href, str):
        return href
    fields = {
        name: item
        for name in type(value).model_fields
        if not name.endswith("_r2_3")
        and name not in _SKIP_FIELDS
        and (item := getattr(value, name)) is not None
        and not (name == "disabled" and item is False)
    }
    if set(fields) == {"value"}:
        return _plain(fields["value"])
    if set(fields) == {"value", "multiplier"}:
        exponent = _plain(fields["multiplier"])
        scaled = _plain(fields["value"]) * 10 ** int(exponent)
        return int(scaled) if float(scaled).is_integer() else scaled
    return tuple(sorted((name, _plain(item)) for name, item in fields.items()))


def mode_values(base: sep.DercontrolBase | None) -> dict[str, ModeValue]:
    """The modes a DERControlBase sets, keyed by element name (``opModFixedW``), as plain values."""
    if base is None:
        return {}
    modes = {}
    for name, element in _MODE_FIELDS.items():
        value = getattr(base, name)
        if value is not None:
            modes[element] = _plain(value)
    return modes


def _response_required(raw: bytes | str | None) -> ResponseRequired:
    if raw is None:
        return ResponseRequired(0)
    number = int.from_bytes(raw, "big") if isinstance(raw, bytes) else int(raw, 16)
    return ResponseRequired(number & 0x07)


def default_from_resource(default: sep.DefaultDercontrol) -> DefaultControl:
    return DefaultControl(
        mrid=mrid_text(default.m_rid),
        modes=mode_values(default.dercontrol_base),
        ramp_tms=default.dercontrol_base.ramp_tms if default.dercontrol_base is not None else None,
        href=default.href,
    )


def program_from_resource(
    program: sep.Derprogram | sep.Derprogram1, default: sep.DefaultDercontrol | None = None
) -> DerProgram:
    return DerProgram(
        mrid=mrid_text(program.m_rid),
        primacy=program.primacy.value,
        default=default_from_resource(default) if default is not None else None,
        href=program.href,
    )


def control_from_resource(control: sep.Dercontrol | sep.Dercontrol1, program: str) -> DerControl:
    """A DERControl of the program whose mRID is ``program``."""
    status = control.event_status.current_status if control.event_status is not None else 0
    base = control.dercontrol_base
    return DerControl(
        mrid=mrid_text(control.m_rid),
        program=program,
        creation_time=control.creation_time.value,
        start=control.interval.start.value,
        duration=control.interval.duration,
        modes=mode_values(base),
        randomize_start=control.randomize_start.value if control.randomize_start is not None else 0,
        randomize_duration=control.randomize_duration.value if control.randomize_duration is not None else 0,
        current_status=status,
        response_required=_response_required(control.response_required),
        reply_to=control.reply_to,
        ramp_tms=base.ramp_tms if base is not None else None,
        href=control.href,
    )


def controls_from_list(controls: sep.DercontrolList | None, program: str) -> tuple[DerControl, ...]:
    if controls is None:
        return ()
    return tuple(control_from_resource(control, program) for control in controls.dercontrol)


def modes_supported(capability: sep.Dercapability) -> frozenset[str]:
    """The modes a DERCapability says the device supports (modesSupported)."""
    return modes_from_bitmap(capability.modes_supported.value)


def response_resource(response: DerControlResponse) -> sep.DercontrolResponse:
    """The DERControlResponse to POST for ``response``."""
    return r.DERControlResponse(
        created_date_time=sep.TimeType(value=int(response.created_date_time)),
        end_device_lfdi=bytes.fromhex(response.end_device_lfdi),
        status=int(response.status),
        subject=sep.MRidtype(value=bytes.fromhex(response.subject)),
        modes_responded=sep.DercontrolType(value=modes_bitmap(response.modes)) if response.modes else None,
    )


def _status(value: int | None) -> ResponseStatus | int:
    """A known status as its enum member; anything else a DUT sends stays the bare number."""
    try:
        return ResponseStatus(value)
    except ValueError:
        return int(value) if value is not None else 0


def response_from_resource(
    resource: sep.DercontrolResponse, reply_to: str | None = None
) -> DerControlResponse:
    """What a DUT posted, as the engine's value (for verdicts against the oracle)."""
    modes = (
        modes_from_bitmap(resource.modes_responded.value)
        if resource.modes_responded is not None
        else frozenset()
    )
    return DerControlResponse(
        subject=mrid_text(resource.subject),
        status=_status(resource.status),
        created_date_time=resource.created_date_time.value if resource.created_date_time is not None else 0,
        end_device_lfdi=resource.end_device_lfdi.hex().upper(),
        modes=modes,
        reply_to=reply_to,
    )


def mode_names() -> Iterable[str]:
    """Every DERControlBase mode element name py20305 knows."""
    return tuple(_MODE_FIELDS.values())


def modes_by_field() -> Mapping[str, str]:
    """py20305 field name -> DERControlBase element name (for building resources from mode names)."""
    return dict(_MODE_FIELDS)


# --- plain mode values -> DERControlBase (what a server publishes) -----------------------------------
# py20305 wraps integers in a value + power-of-ten multiplier (ActivePower and kin: Int16 values); the
# smallest exponent that keeps the value in range is used, so 7200 W stays (7200, 0).
_INT16_MAX = 2**15 - 1
_MULTIPLIERS = range(-3, 10)
_ELEMENT_FIELDS: dict[str, str] = {element: name for name, element in _MODE_FIELDS.items()}


def _model_type(annotation: Any) -> Any:
    """The pydantic model class of a field annotation (``Optional[X]`` -> ``X``)."""
    if isinstance(annotation, type):
        return annotation
    for argument in typing.get_args(annotation):
        if isinstance(argument, type) and argument is not type(None):
            return argument
    raise TypeError(f"no model class in {annotation!r}")


def _scaled(value: int | float) -> tuple[int, int]:
    """(value, multiplier) with value x 10^multiplier == ``value`` and |value| within Int16."""
    for exponent in _MULTIPLIERS:
        mantissa = round(value / 10**exponent)
        if abs(mantissa) <= _INT16_MAX and abs(mantissa * 10**exponent - value) <= 1e-9 * max(1, abs(value)):
            return mantissa, exponent
    raise ValueError(f"{value!r} has no Int16 value x 10^multiplier form")


def _build(model: Any, value: ModeValue) -> Any:
    """``value`` (a plain mode value, see :func:`_plain`) as an instance of ``model``."""
    if model in (bool, int, float, str):
        return value
    fields = {
        name: info
        for name, info in model.model_fields.items()
        if not name.endswith("_r2_3") and name not in _SKIP_FIELDS
    }
    if isinstance(value, tuple):
        return model(**{name: _build(_model_type(fields[name].annotation), item) for name, item in value})
    if isinstance(value, str) and "href" in fields:
        return model(href=value)
    if "multiplier" in fields and "value" in fields and not isinstance(value, bool):
        mantissa, exponent = _scaled(value)
        return model(value=mantissa, multiplier=sep.PowerOfTenMultiplierType(value=exponent))
    if "value" in fields:
        return model(value=_build(_model_type(fields["value"].annotation), value))
    raise TypeError(f"cannot build {model.__name__} from {value!r}")


def control_base(modes: Mapping[str, ModeValue], ramp_tms: int | None = None) -> sep.DercontrolBase:
    """The DERControlBase setting ``modes`` (element name -> plain value, as :func:`mode_values` gives
    them), the inverse of :func:`mode_values`: ``mode_values(control_base(m)) == m``."""
    unknown = sorted(set(modes) - set(_ELEMENT_FIELDS))
    if unknown:
        raise ValueError(f"unknown DERControlBase mode(s) {unknown}")
    values = {}
    for element, value in modes.items():
        name = _ELEMENT_FIELDS[element]
        values[name] = _build(_model_type(r.DERControlBase.model_fields[name].annotation), value)
    return r.DERControlBase(ramp_tms=ramp_tms, **values)
