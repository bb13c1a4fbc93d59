"""How the reference IEEE 2030.5 servers take a resource a client writes (PUT or POST): the method the
path allows, the media type, and a body that parses as the resource the path holds."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from harness.codec.sep2 import resources as r
from harness.codec.sep2.document import Sep2DecodeError
from harness.codec.sep2.media import is_sep_xml
from harness.transport.http import HttpRequest, HttpResponse


def read_written(
    request: HttpRequest, method: str, resource_class: type | tuple[type, ...]
) -> Any | HttpResponse:
    """The resource ``request`` writes to a path that takes ``method``, or the error response: 405
    (naming the methods the path allows), 415 for another media type (IEEE 2030.5 clause 5.5.2, RFC
    9110 15.5.16), 400 for a body that does not parse or validate as ``resource_class`` (as any of them,
    when the path takes several, e.g. a MirrorMeterReading or a MirrorMeterReadingList)."""
    if request.method != method:
        return HttpResponse.empty(HTTPStatus.METHOD_NOT_ALLOWED, (("Allow", f"GET, HEAD, {method}"),))
    if not is_sep_xml(request.header("Content-Type")):
        return HttpResponse.empty(HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
    for candidate in resource_class if isinstance(resource_class, tuple) else (resource_class,):
        try:
            return r.parse_resource(request.body, candidate)
        except Sep2DecodeError:
            continue
    return HttpResponse.empty(HTTPStatus.BAD_REQUEST)
