"""The segment builder: rows of conditions (field, op, value, and for order figures a period in days) joined by
``all`` or ``any``, read into the rule language of the CRM's segment rules (``SEGMENT_FIELDS``).

The form only turns what a person types into the rule's JSON (yuan into fen for spend, a day into the start of
that business day, a comma list for ``in``); whether the rule is right is the rule checker's to say, and its
errors (keyed ``$.all[2].value``) come back to the row they name.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from flask_babel import lazy_gettext as _l

from console.batches.forms import typed_fen, typed_whole
from console.crm_services import crm
from shop.config import BUSINESS_ZONE

ROWS = 6  # conditions the builder offers; a rule with more is written through the API
MATCHES = ("all", "any")
FIELD_LABELS = {
    "tag": _l("Tag"), "spend_fen": _l("Spend (yuan)"), "order_count": _l("Paid orders"),
    "last_order_at": _l("Last order (day)"), "registered_at": _l("Registered (day)"),
    "arrival_scene": _l("Arrival scene"), "city": _l("City of the home store"), "home_store_id": _l("Home store id"),
    "regular_store_id": _l("Regular store id"), "following": _l("Follows the official account"),
    "tier": _l("Tier"), "points_balance": _l("Points balance"), "referral_depth": _l("Depth in the referral tree"),
    "downline_size": _l("Downline size"), "marketing_consent": _l("Marketing consent")}
OP_LABELS = {"=": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥", "has": _l("has"), "in": _l("is one of")}
ROW_ERROR = re.compile(r"^\$\.(?:all|any)\[(\d+)\](?:\.not)?(?:\.(\w+))?$")
PARTS = ("field", "op", "value", "period", "negate")


def rows_from(formdata) -> list[dict[str, str]]:
    """The builder's rows as typed (``field_0``, ``op_0``, ``value_0``, ``period_0``, the ``negate_0`` box ...)."""
    return [{part: (formdata.get(f"{part}_{index}") or "").strip() for part in PARTS} for index in range(ROWS)]


def rule_of(match: str, rows: list[dict[str, str]]) -> dict[str, Any]:
    """The rule the rows say: a row without a field is left out (its index is kept for the errors)."""
    leaves = [_leaf(row) for row in rows if row["field"]]
    return {match if match in MATCHES else "all": leaves}


def filled_rows(rows: list[dict[str, str]]) -> list[int]:
    """The index of each filled row, in the order ``rule_of`` puts them in the rule."""
    return [index for index, row in enumerate(rows) if row["field"]]


def errors_by_row(errors: dict[str, list[str]], rows: list[dict[str, str]]) -> tuple[dict, list[str]]:
    """The rule checker's errors on their rows (``{row: {part: [...]}}``) and those of the rule as a whole."""
    filled = filled_rows(rows)
    by_row: dict[int, dict[str, list[str]]] = {}
    whole: list[str] = []
    for path, problems in errors.items():
        found = ROW_ERROR.match(path)
        if found and int(found.group(1)) < len(filled):
            part = {"period_days": "period"}.get(found.group(2) or "value", found.group(2) or "value")
            by_row.setdefault(filled[int(found.group(1))], {})[part] = problems
        else:
            whole.extend(problems)
    return by_row, whole


def rows_of(rule: dict[str, Any]) -> tuple[str, list[dict[str, str]]]:
    """A saved rule back into the builder's rows, when it is one group of conditions, each maybe negated (else
    empty rows)."""
    match = next((key for key in MATCHES if key in rule), None)
    leaves = rule.get(match) if match else None
    blank = [dict.fromkeys(PARTS, "") for _ in range(ROWS)]
    if not isinstance(leaves, list) or len(leaves) > ROWS or not all(_condition(leaf) for leaf in leaves):
        return "all", blank
    for index, wrapped in enumerate(leaves):
        leaf = _condition(wrapped)
        blank[index] = {"field": leaf["field"], "op": leaf.get("op", ""), "value": _typed_back(leaf),
                        "period": str(leaf.get("period_days") or ""), "negate": "1" if "not" in wrapped else ""}
    return match, blank


def _condition(leaf: Any) -> dict[str, Any] | None:
    """The condition of a row: the leaf itself, or the one a ``not`` holds; None for anything deeper."""
    inner = leaf.get("not") if isinstance(leaf, dict) and "not" in leaf else leaf
    return inner if isinstance(inner, dict) and "field" in inner else None


def _leaf(row: dict[str, str]) -> dict[str, Any]:
    leaf: dict[str, Any] = {"field": row["field"], "op": row["op"]}
    if row["value"]:
        typed = [part.strip() for part in re.split(r"[,，]", row["value"]) if part.strip()]
        values = [_value(row["field"], _kind(row["field"]) or "text", part) for part in typed]
        leaf["value"] = values if row["op"] == "in" else (values[0] if values else row["value"])
    if row["period"]:
        leaf["period_days"] = typed_whole(row["period"])
    return {"not": leaf} if row.get("negate") else leaf


def _value(name: str, kind: str, typed: str) -> Any:
    """One typed value as the rule holds it; what does not read as its kind goes as typed, for the checker to name."""
    if name == "spend_fen":
        return typed_fen(typed)
    if kind in ("number", "id"):
        return typed_whole(typed)
    if kind == "bool":
        return {"true": True, "false": False, "yes": True, "no": False, "是": True, "否": False}.get(typed.lower(), typed)
    if kind == "time":
        try:
            return datetime.combine(date.fromisoformat(typed), time(), BUSINESS_ZONE).isoformat()
        except ValueError:
            return typed
    return typed


def _typed_back(leaf: dict[str, Any]) -> str:
    values = leaf.get("value") if isinstance(leaf.get("value"), list) else [leaf.get("value")]
    shown = []
    for value in values:
        if leaf["field"] == "spend_fen" and isinstance(value, int):
            shown.append(f"{value // 100}.{value % 100:02d}")
        elif isinstance(value, bool):
            shown.append("true" if value else "false")
        elif _kind(leaf["field"]) == "time" and isinstance(value, str):
            shown.append(value[:10])
        else:
            shown.append("" if value is None else str(value))
    return ", ".join(shown)


def field_choices() -> list[dict[str, Any]]:
    """Each field with its label, its ops and what its value takes, for the builder's menus and hints."""
    return [{"name": name, "label": FIELD_LABELS.get(name, name), "ops": field.ops, "kind": field.kind,
             "period": field.period} for name, field in crm().SEGMENT_FIELDS.items()]


def _kind(name: str) -> str | None:
    field = crm().SEGMENT_FIELDS.get(name)
    return field.kind if field else None


def rule_in_words(rule: dict[str, Any]) -> list[str] | None:
    """A flat rule as the builder's words (``Spend (yuan) ≥ 20.00``, ``not: Tag has vip``), one a condition; None
    for a nested one."""
    match, rows = rows_of(rule)
    filled = [row for row in rows if row["field"]]
    if not filled:
        return None
    return [" ".join(part for part in (str(_l("not:")) if row["negate"] else "",
                                       str(FIELD_LABELS.get(row["field"], row["field"])),
                                       str(OP_LABELS.get(row["op"], row["op"])), row["value"],
                                       _period_words(row["period"])) if part) for row in filled]


def _period_words(period: str) -> str:
    return str(_l("in the last %(days)s days", days=period)) if period else ""
