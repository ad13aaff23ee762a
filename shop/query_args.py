"""Query arguments of hot GET endpoints, loaded without webargs' and marshmallow's per-request machinery.

A ``QuickQueryArgs`` schema loads a well-formed query (plain decimal numbers, the booleans and
choices its fields accept, strings) straight from ``request.args``, running its own fields'
validators and post-load hooks. Anything else (a missing required argument, ``1e3``, a value a
validator refuses) goes through webargs and marshmallow as before, so they word every 422, and
the OpenAPI docs still come from the schema. Measured in-process: about 30 us less per request
on the nearby search (tests/bench/request_cpu.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import flask
import marshmallow as ma
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from webargs.core import _UNKNOWN_DEFAULT_PARAM
from webargs.flaskparser import FlaskParser

from shop.auth import authorize
from shop.errors import AppError, CommonError

# What marshmallow's float() and int() read the same way, in the forms a client sends.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,15})?")
_INTEGER = re.compile(r"-?[0-9]{1,15}")

Converter = Callable[[ma.fields.Field, str], Any]
_NOT_QUICK = object()  # a converter's "not sure: let marshmallow decide"


def _float(field: ma.fields.Field, raw: str) -> Any:
    return float(raw) if _DECIMAL.fullmatch(raw) else _NOT_QUICK


def _integer(field: ma.fields.Field, raw: str) -> Any:
    return int(raw) if _INTEGER.fullmatch(raw) else _NOT_QUICK


def _boolean(field: ma.fields.Field, raw: str) -> Any:
    if raw in field.truthy:
        return True
    return False if raw in field.falsy else _NOT_QUICK


def _string(field: ma.fields.Field, raw: str) -> Any:
    return raw


# Exact classes: a subclass may deserialize differently. Integer(strict=True) refuses strings.
_CONVERTERS: dict[type, Converter] = {ma.fields.Float: _float, ma.fields.Integer: _integer,
                                      ma.fields.Boolean: _boolean, ma.fields.String: _string}
# Hooks the quick path cannot run the way marshmallow would: their schemas always take the full path.
_UNSUPPORTED_HOOKS = (PRE_LOAD, VALIDATES, VALIDATES_SCHEMA)


class QuickQueryArgs(ma.Schema):
    """A schema of flat query arguments that ``QuickQueryParser`` may load without webargs."""

    _quick_plan: list[tuple] | None

    def quick_load(self, args: Mapping[str, str]) -> dict[str, Any] | None:
        """What ``load`` would return for ``args``, or None to let ``load`` decide (it words the errors)."""
        plan = self.__dict__.get("_quick_plan", _NOT_QUICK)
        if plan is _NOT_QUICK:
            plan = self._quick_plan = self._plan()
        if plan is None:
            return None
        data: dict[str, Any] = {}
        for key, attribute, field, convert, default in plan:
            # `in` first: a MultiDict's get() of an absent key raises and catches a KeyError inside.
            if key not in args:
                if field.required:  # marshmallow words the error
                    return None
                if default is not ma.missing:
                    data[attribute] = default() if callable(default) else default
                continue
            value = convert(field, args[key])
            if value is _NOT_QUICK or not _passes(field.validators, value):
                return None
            data[attribute] = value
        try:
            for name, _, _ in self._hooks[POST_LOAD]:
                data = getattr(self, name)(data, many=False, partial=None, unknown=ma.EXCLUDE)
        except ma.ValidationError:
            return None
        return data

    def _plan(self) -> list[tuple] | None:
        """(query key, result key, field, converter, default) per field; None if a field or hook is beyond us."""
        if self.many or self.partial or any(self._hooks[tag] for tag in _UNSUPPORTED_HOOKS) or any(
                many or kwargs.get("pass_original") for _, many, kwargs in self._hooks[POST_LOAD]):
            return None
        plan = []
        for name, field in self.load_fields.items():
            convert = _CONVERTERS.get(type(field))
            if convert is None or getattr(field, "strict", False):
                return None
            plan.append((field.data_key or name, field.attribute or name, field, convert, field.load_default))
        return plan


def _passes(validators: list[Callable[[Any], Any]], value: Any) -> bool:
    """Whether every validator accepts ``value`` (marshmallow counts a False return as a refusal)."""
    for validator in validators:
        try:
            if validator(value) is False:
                return False
        except ma.ValidationError:
            return False
    return True


class QuickQueryParser(FlaskParser):
    """webargs' Flask parser, trying a ``QuickQueryArgs`` schema's quick load first for query arguments."""

    def parse(self, argmap, req=None, *, location=None, unknown=_UNKNOWN_DEFAULT_PARAM, validate=None,
              **kwargs):
        # Only where webargs would load with unknown=EXCLUDE and no extra validators, as the quick path does.
        if (location == "query" and validate is None and unknown == self.unknown == _UNKNOWN_DEFAULT_PARAM
                and isinstance(argmap, QuickQueryArgs)):
            data = argmap.quick_load((req if req is not None else flask.request).args)
            if data is not None:
                return data
        return super().parse(argmap, req, location=location, unknown=unknown, validate=validate, **kwargs)


def refuse_unknown_query_args(app: flask.Flask, blueprint_names: set[str]) -> None:
    """Every view of these (flask-smorest) blueprints refuses query arguments it does not declare.

    ``radius=`` sent for ``radius_m=`` once searched 5 km silently; now it is a 422 naming
    ``radius``. A view without a query schema takes no query arguments at all. A value with a NUL
    character is refused too. A view for some roles answers 401/403 first, as it would for known
    arguments.
    """
    declared = {(endpoint, method): found for endpoint, view in app.view_functions.items()
                if endpoint.partition(".")[0] in blueprint_names
                for method, found in _declared_by_method(view).items()}

    @app.before_request
    def check_query_args() -> None:
        request = flask.request
        if not request.args:
            return
        found = declared.get((request.endpoint, request.method))
        if found is None:
            return
        names, roles = found
        unknown = sorted(set(request.args.keys()) - names)
        # No text of ours holds NUL (PostgreSQL cannot store or compare it: a search for one was a 500).
        with_nul = sorted({name for name, value in request.args.items(multi=True) if "\x00" in value})
        if unknown or with_nul:
            if roles:
                authorize(roles)
            errors = {name: ["Unknown parameter."] for name in unknown}
            errors.update({name: ["Contains a NUL character."] for name in with_nul})
            raise AppError(CommonError.VALIDATION_ERROR, "Unknown or unreadable query parameters: "
                                                         f"{', '.join(sorted(errors))}.", errors=errors)


def _declared_by_method(view: Callable) -> dict[str, tuple[frozenset[str], frozenset | None]]:
    """Per HTTP method of a view: the query argument names it declares (``@blp.arguments(location='query')``)
    and the roles it requires."""
    view_class = getattr(view, "view_class", None)
    if view_class is None:
        methods = {method: view for method in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    else:
        methods = {method: getattr(view_class, method.lower()) for method in view_class.methods}
    return {method: (frozenset(name for parameter in _parameters(function) if parameter.get("in") == "query"
                               for name in _argument_names(parameter["schema"])),
                     getattr(function, "roles_required", None))
            for method, function in methods.items()}


def _parameters(function: Callable) -> list[dict]:
    return getattr(function, "_apidoc", {}).get("arguments", {}).get("parameters", [])


def _argument_names(schema: ma.Schema | type[ma.Schema]) -> list[str]:
    instance = schema() if isinstance(schema, type) else schema
    return [field.data_key or name for name, field in instance.fields.items() if not field.dump_only]
