"""Typed IEEE 2030.5 resources and their XML form.

The resource classes come from ``py20305`` (Apache-2.0), whose pydantic models were generated from
the IEEE 2030.5-2023 schema.  This module names the ones the VGI flows use in the standard's own
words (``PEVInfo``, ``FlowReservationResponse``), maps root element names to classes so a body of
unknown type can be identified, and wraps serialisation and parsing:

* :func:`serialise` renders a resource as ``application/sep+xml`` bytes;
* :func:`parse_resource` parses bytes into the expected class, and :func:`parse_any` into whatever
  class the root element names.  Both go through :func:`~harness.codec.sep2.document.parse_xml`
  (no DTDs, no entities) and turn every failure into one
  :class:`~harness.codec.sep2.document.Sep2DecodeError` carrying the offending bytes.

Pure bytes <-> objects: no I/O.
"""

from __future__ import annotations

from typing import Any, TypeVar

from lxml import etree
from py20305.models.sep import sep
from xsdata.exceptions import ConverterWarning, XmlContextError
from xsdata.formats.dataclass.parsers.config import ParserConfig
from xsdata.formats.dataclass.serializers.config import SerializerConfig
from xsdata_pydantic.bindings import XmlContext, XmlParser, XmlSerializer

from harness.codec.sep2.document import (
    MAX_XML_BODY_BYTES,
    Sep2DecodeError,
    local_name,
    namespace_of,
    parse_xml,
)
from harness.codec.sep2.media import SEP_NAMESPACE

# --- resources by their IEEE 2030.5 names --------------------------------------------------------
# Core (IEEE 2030.5 clause 6 / 8): discovery, time, devices, registration, function set assignment.
DeviceCapability = sep.DeviceCapability
Time = sep.Time
EndDevice = sep.EndDevice
EndDeviceList = sep.EndDeviceList
Registration = sep.Registration
DeviceInformation = sep.DeviceInformation
DeviceStatus = sep.DeviceStatus
FunctionSetAssignments = sep.FunctionSetAssignments
FunctionSetAssignmentsList = sep.FunctionSetAssignmentsList
SelfDevice = sep.SelfDevice
Error = sep.Error
# Power status with the PEV's charging needs (clause 10.4; PEVInfo is J2847/1's TCIN carrier).
PowerStatus = sep.PowerStatus
PEVInfo = sep.Pevinfo
# Pricing (clause 10.6).
TariffProfile = sep.TariffProfile
TariffProfileList = sep.TariffProfileList
RateComponent = sep.RateComponent
RateComponentList = sep.RateComponentList
TimeTariffInterval = sep.TimeTariffInterval
TimeTariffIntervalList = sep.TimeTariffIntervalList
ConsumptionTariffInterval = sep.ConsumptionTariffInterval
ConsumptionTariffIntervalList = sep.ConsumptionTariffIntervalList
# Demand response and load control (clause 10.7).
DemandResponseProgram = sep.DemandResponseProgram
DemandResponseProgramList = sep.DemandResponseProgramList
EndDeviceControl = sep.EndDeviceControl
EndDeviceControlList = sep.EndDeviceControlList
DrResponse = sep.DrResponse
ResponseSet = sep.ResponseSet
ResponseSetList = sep.ResponseSetList
# Flow reservation (clause 10.9).  py20305 renamed the Response-derived type to avoid a clash; the
# element the server returns in FlowReservationResponseList is the Event-derived one below.
FlowReservationRequest = sep.FlowReservationRequest
FlowReservationRequestList = sep.FlowReservationRequestList
FlowReservationResponse = sep.FlowReservationResponse
FlowReservationResponseList = sep.FlowReservationResponseList
# Messaging (clause 10.8).
MessagingProgram = sep.MessagingProgram
MessagingProgramList = sep.MessagingProgramList
TextMessage = sep.TextMessage
TextMessageList = sep.TextMessageList
TextResponse = sep.TextResponse
# Metering and metering mirror (clauses 10.5 and 10.10).
UsagePoint = sep.UsagePoint
UsagePointList = sep.UsagePointList
MeterReading = sep.MeterReading
MeterReadingList = sep.MeterReadingList
Reading = sep.Reading
ReadingType = sep.ReadingType
MirrorUsagePoint = sep.MirrorUsagePoint
MirrorUsagePointList = sep.MirrorUsagePointList
MirrorMeterReading = sep.MirrorMeterReading
MirrorMeterReadingList = sep.MirrorMeterReadingList
MirrorReadingSet = sep.MirrorReadingSet
# Subscription / notification (clause 10.3).
Subscription = sep.Subscription
SubscriptionList = sep.SubscriptionList
Notification = sep.Notification
# Commonly needed value types.
ActivePower = sep.ActivePower
RealEnergy = sep.RealEnergy
DateTimeInterval = sep.DateTimeInterval
EventStatus = sep.EventStatus
# Distributed energy resources (the DER function set): programs with primacy, their events, defaults
# and curves; the DER's capability, settings, status and availability; and the responses a client
# posts to an event's replyTo.  DERControlBase and CurveData only occur nested.
DERProgram = sep.Derprogram
DERProgramList = sep.DerprogramList
DERControl = sep.Dercontrol
DERControlList = sep.DercontrolList
DefaultDERControl = sep.DefaultDercontrol
DERControlBase = sep.DercontrolBase
DERCurve = sep.Dercurve
DERCurveList = sep.DercurveList
CurveData = sep.CurveData
DER = sep.Der
DERList = sep.Derlist
DERCapability = sep.Dercapability
DERSettings = sep.Dersettings
DERStatus = sep.Derstatus
DERAvailability = sep.Deravailability
Response = sep.Response
ResponseList = sep.ResponseList
DERControlResponse = sep.DercontrolResponse
# Log events a device records (the LogEvent function set).
LogEvent = sep.LogEvent
LogEventList = sep.LogEventList

# The resources above that may be a document's root (PEVInfo and MirrorReadingSet only occur
# nested).  :data:`RESOURCE_CLASSES` keys them by the root element name their binding declares, so a
# mismatch between our name and py20305's binding cannot hide.
_TOP_LEVEL_RESOURCES: tuple[type[Any], ...] = (
    DeviceCapability,
    Time,
    EndDevice,
    EndDeviceList,
    Registration,
    DeviceInformation,
    DeviceStatus,
    FunctionSetAssignments,
    FunctionSetAssignmentsList,
    SelfDevice,
    Error,
    PowerStatus,
    TariffProfile,
    TariffProfileList,
    RateComponent,
    RateComponentList,
    TimeTariffInterval,
    TimeTariffIntervalList,
    ConsumptionTariffInterval,
    ConsumptionTariffIntervalList,
    DemandResponseProgram,
    DemandResponseProgramList,
    EndDeviceControl,
    EndDeviceControlList,
    DrResponse,
    ResponseSet,
    ResponseSetList,
    FlowReservationRequest,
    FlowReservationRequestList,
    FlowReservationResponse,
    FlowReservationResponseList,
    MessagingProgram,
    MessagingProgramList,
    TextMessage,
    TextMessageList,
    TextResponse,
    UsagePoint,
    UsagePointList,
    MeterReading,
    MeterReadingList,
    Reading,
    ReadingType,
    MirrorUsagePoint,
    MirrorUsagePointList,
    MirrorMeterReading,
    MirrorMeterReadingList,
    Subscription,
    SubscriptionList,
    Notification,
    DERProgram,
    DERProgramList,
    DERControl,
    DERControlList,
    DefaultDERControl,
    DERCurve,
    DERCurveList,
    DER,
    DERList,
    DERCapability,
    DERSettings,
    DERStatus,
    DERAvailability,
    Response,
    ResponseList,
    DERControlResponse,
    LogEvent,
    LogEventList,
)

T = TypeVar("T")

_context = XmlContext()
# Strict by default: an element the class does not know, or a value that does not convert, is an
# error the tester must see, not something to skip silently.
_STRICT = ParserConfig(fail_on_unknown_properties=True, fail_on_converter_warnings=True)
_LENIENT = ParserConfig(fail_on_unknown_properties=False, fail_on_converter_warnings=False)
# IEEE 2030.5-2018 clause 5.6.2: the XML declaration is optional and SHOULD NOT be sent; UTF-8, XML 1.0.
_serializer = XmlSerializer(
    context=_context, config=SerializerConfig(xml_declaration=False, encoding="UTF-8")
)


def element_name(resource_class: type[Any]) -> str:
    """The root element name py20305 binds ``resource_class`` to."""
    return _context.build(resource_class).qname.split("}", 1)[-1]


# Root element name -> class.
RESOURCE_CLASSES: dict[str, type[Any]] = {element_name(cls): cls for cls in _TOP_LEVEL_RESOURCES}


def serialise(resource: Any) -> bytes:
    """``resource`` as IEEE 2030.5 XML (UTF-8, default namespace urn:ieee:std:2030.5:ns)."""
    text = _serializer.render(resource, ns_map={None: SEP_NAMESPACE})
    return text.encode("utf-8")


def _bind(root: etree._Element, resource_class: type[T], data: bytes, strict: bool) -> T:
    parser = XmlParser(context=_context, config=_STRICT if strict else _LENIENT)
    try:
        return parser.parse(root, resource_class)
    except (ValueError, TypeError, XmlContextError, ConverterWarning) as exc:
        # xsdata's ParserError / ConverterError and pydantic's ValidationError are ValueErrors.
        reason = " ".join(str(exc).split())
        what = f"not a valid {resource_class.__name__}: {type(exc).__name__}: {reason}"
        raise Sep2DecodeError(what, data) from None


def parse_resource(
    data: bytes, resource_class: type[T], *, strict: bool = True, max_bytes: int = MAX_XML_BODY_BYTES
) -> T:
    """Parse ``data`` as ``resource_class``; the root element must be the one the class binds to."""
    root = parse_xml(data, max_bytes=max_bytes)
    expected = element_name(resource_class)
    if namespace_of(root) != SEP_NAMESPACE or local_name(root) != expected:
        raise Sep2DecodeError(f"root element is {root.tag}, expected {{{SEP_NAMESPACE}}}{expected}", data, 0)
    return _bind(root, resource_class, data, strict)


def identify(data: bytes, *, max_bytes: int = MAX_XML_BODY_BYTES) -> str:
    """The local name of the root element of a safe, well-formed IEEE 2030.5 body."""
    root = parse_xml(data, max_bytes=max_bytes)
    if namespace_of(root) != SEP_NAMESPACE:
        raise Sep2DecodeError(f"root element {root.tag} is not in namespace {SEP_NAMESPACE}", data, 0)
    return local_name(root)


def parse_any(data: bytes, *, strict: bool = True, max_bytes: int = MAX_XML_BODY_BYTES) -> Any:
    """Parse ``data`` into the class its root element names (one of :data:`RESOURCE_CLASSES`)."""
    root = parse_xml(data, max_bytes=max_bytes)
    name = local_name(root)
    if namespace_of(root) != SEP_NAMESPACE:
        raise Sep2DecodeError(f"root element {root.tag} is not in namespace {SEP_NAMESPACE}", data, 0)
    resource_class = RESOURCE_CLASSES.get(name)
    if resource_class is None:
        raise Sep2DecodeError(f"root element {name} is not a resource this harness knows", data, 0)
    return _bind(root, resource_class, data, strict)
