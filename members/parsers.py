"""A JSON parser with a body limit, strict UTF-8 and strict JSON, for the bulk endpoints.

DRF hands a JSONParser subclass `request.body`, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MiB)
would refuse a valid 5 MiB batch with a bare HTML 400; it also lets NaN and Infinity through
(PostgreSQL's jsonb refuses them) and answers invalid UTF-8 with a codec traceback. This parser
is not a JSONParser subclass, so DRF gives it the raw stream: it reads at most the limit and
answers each case with a clear 4xx in the common error shape."""

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.parsers import BaseParser

INGEST_MAX_BODY_BYTES = 5 * 1024 * 1024


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class BoundedJSONParser(BaseParser):
    media_type = "application/json"
    max_bytes = INGEST_MAX_BODY_BYTES

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: dict | None = None
    ) -> Any:
        limit_mib = self.max_bytes // (1024 * 1024)
        too_large = PayloadTooLarge(
            _("The body is larger than %(mib)d MiB; send fewer activities per request.")
            % {"mib": limit_mib}
        )
        request = (parser_context or {}).get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            raise too_large  # refused before reading a byte of it
        body = stream.read(self.max_bytes + 1) if stream is not None else b""
        if len(body) > self.max_bytes:
            raise too_large
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise exceptions.ParseError(
                _("The body is not valid UTF-8 (bad byte at position %(pos)d).")
                % {"pos": exc.start}
            ) from exc
        try:
            return json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as exc:
            raise exceptions.ParseError(
                _("The body is not valid JSON: %(error)s") % {"error": exc}
            ) from exc
