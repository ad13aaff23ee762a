"""The date range every marketing report takes as a control: business days ``from`` to ``to`` (both included),
the last 30 business days when the page names none. The range's rules are the reports' own (the o2o schema reads
the days, ``check_period`` in each service and referral's ``PeriodArgs`` judge them); their errors come back keyed
by field so the page shows them beside the inputs."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from marshmallow import ValidationError

from console.crm_services import crm
from referral.analytics.schemas import PeriodArgs
from referral.analytics.service import Period
from shop.config import BUSINESS_ZONE
from shop.database import utcnow
from shop.errors import AppError


def days_asked(args) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """``{"from", "to"}`` as dates from the query (the last 30 business days when absent) and the field errors."""
    first, last = crm().default_range(crm().business_day(utcnow()))
    raw = {"from": args.get("from") or first.isoformat(), "to": args.get("to") or last.isoformat()}
    try:
        loaded = crm().PeriodDaysArgs().load(raw)
    except ValidationError as wrong:
        return raw, field_errors(wrong)
    return {"from": loaded["first"], "to": loaded["last"]}, {}


def referral_period(days: dict[str, Any]) -> Period:
    """The business days as referral analytics' period ``[from, to)``: midnight of the first day in the business
    zone to midnight after the last (through its own schema: a range it refuses raises ValidationError)."""
    return PeriodArgs().load({"from": _midnight(days["from"]).isoformat(),
                              "to": _midnight(days["to"] + timedelta(days=1)).isoformat()})["period"]


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), BUSINESS_ZONE)


def field_errors(wrong: ValidationError | AppError) -> dict[str, list[str]]:
    """A refusal's field errors as the page shows them (``_schema`` for what names no field)."""
    messages = wrong.normalized_messages() if isinstance(wrong, ValidationError) else (wrong.errors or {})
    errors = {field: problems if isinstance(problems, list) else [str(problems)]
              for field, problems in messages.items()}
    if isinstance(wrong, AppError) and not errors:
        errors["_schema"] = [wrong.message]
    return errors
