"""orjson for Flask's JSON: about 12x faster than the stdlib on our hot lists.

Request bodies are read by webargs (the stdlib's parser), which accepts a ``\\ud800`` escape that is
not Unicode text; such a string fails later, where it is hashed or stored, as a 500. Bodies with one
are refused as invalid JSON (400 ``bad_request``) before a view sees them; a body sent with another
content type is refused (415 ``unsupported_media_type``) rather than silently read as no body.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from flask import Request
from flask.json.provider import DefaultJSONProvider
from marshmallow import Schema
from webargs.core import missing
from webargs.flaskparser import FlaskParser, is_json_request

from shop.errors import AppError, CommonError


class OrjsonProvider(DefaultJSONProvider):
    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any):
        obj = self._prepare_response_obj(args, kwargs)
        body = orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS)
        return self._app.response_class(body, mimetype=self.mimetype)


def refuse_unreadable_bodies(parser: FlaskParser) -> None:
    """Make ``parser`` (flask-smorest's) refuse bodies it cannot read as JSON text.

    webargs' ``location_loader`` writes into the location map of FlaskParser's class, so the guard
    reaches every FlaskParser, the stores blueprint's ``QuickQueryParser`` included
    (tests/test_json_bodies.py checks that one).
    """

    @parser.location_loader("json")
    def load_json(request: Request, schema: Schema) -> Any:
        if not is_json_request(request) and request.get_data(cache=True):
            # webargs would read no body at all: a view with only optional fields would answer 2xx
            # having ignored what was sent (settings "saved" unchanged, a share without its campaign).
            raise AppError(CommonError.UNSUPPORTED_MEDIA_TYPE, "Send the body as JSON (Content-Type: "
                                                               "application/json).")
        body = parser.load_json(request, schema)
        # Only a \u escape can carry a lone surrogate (raw bytes that are not UTF-8 fail to parse).
        if body is not missing and b"\\u" in request.get_data(cache=True) and not _is_unicode(body):
            raise AppError(CommonError.BAD_REQUEST, "The JSON body is invalid: it has a \\u escape of a lone "
                                                    "surrogate, which is not text.")
        return body


def _is_unicode(body: Any) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
