"""The segment rule language, checked and compiled to one SQL condition over ``members``.

A rule is ``{"all": [rule, ...]}``, ``{"any": [rule, ...]}``, ``{"not": rule}`` or a leaf
``{"field", "op", "value"}`` (``spend_fen`` and ``order_count`` also take ``period_days``). A wrong
rule is refused with every error keyed by its JSON path (``$.all[1].value``). The condition reads
indexed columns and per-member rollups through set-based semi-joins computed once (``members.id IN
(SELECT member_id FROM orders WHERE paid_at >= :since GROUP BY member_id HAVING ...)``, the complement
where members without a row hold; ``home_store_id IN (SELECT id FROM stores WHERE city = ...)``), never
a subquery per member, so a count is one query and no member is loaded into Python. In an ``all`` the
conditions over orders group only the orders of the members its other conditions leave.

A leaf over a value a member may lack (no order yet, no home store) is false for that member with
``=``, ``<`` ... and ``in``, and true with ``!=``; ``not`` is the plain complement.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, not_, or_, select, true

from crm.errors import CrmError
from crm.tags.models import MemberProfile, MemberTag, Tag
from crm.tags.queries import is_paid_order, net_paid
from referral.tree.models import ReferralNode
from shop.errors import AppError
from shop.members.models import Member, OfficialAccountFollower
from shop.orders.models import Order
from shop.points.models import PointsAccount
from shop.stores.models import Store

MAX_DEPTH = 6
MAX_NODES = 60
MAX_CHILDREN = 20
MAX_IN_VALUES = 200
MAX_PERIOD_DAYS = 3650
MAX_NUMBER = 2**53
CONSENT_STATES = ("unknown", "granted", "withdrawn")
COMPARE = ("=", "!=", "<", "<=", ">", ">=")
EQUALITY = ("=", "!=", "in")


@dataclass(frozen=True)
class Field:
    kind: str  # number, time, text, id, bool, tag, consent
    ops: tuple[str, ...]
    period: bool = False


ORDER_FIELDS = ("spend_fen", "order_count", "last_order_at")  # read from a grouped pass over the orders
FIELDS = {
    "tag": Field("tag", ("has", "in")),
    "spend_fen": Field("number", COMPARE, period=True),
    "order_count": Field("number", COMPARE, period=True),
    "last_order_at": Field("time", COMPARE),
    "registered_at": Field("time", COMPARE),
    "arrival_scene": Field("text", EQUALITY),
    "city": Field("text", EQUALITY),
    "home_store_id": Field("id", EQUALITY),
    "regular_store_id": Field("id", EQUALITY),
    "following": Field("bool", ("=", "!=")),
    "tier": Field("text", EQUALITY),
    "points_balance": Field("number", COMPARE),
    "referral_depth": Field("number", COMPARE),
    "downline_size": Field("number", COMPARE),
    "marketing_consent": Field("consent", EQUALITY),
}


# --- checking ----------------------------------------------------------------------------------


def check(rule: Any) -> None:
    """Refuse a wrong rule: 422 ``segment_rule_invalid`` with ``errors`` keyed by JSON path."""
    errors: dict[str, list[str]] = {}
    nodes = _check(rule, "$", 1, errors, [0])
    if nodes > MAX_NODES:
        errors.setdefault("$", []).append(f"At most {MAX_NODES} conditions and groups in a rule.")
    if errors:
        raise AppError(CrmError.SEGMENT_RULE_INVALID, "The rule is wrong where `errors` says.",
                       errors=dict(list(errors.items())[:20]))


def _check(rule: Any, path: str, depth: int, errors: dict, count: list[int]) -> int:
    count[0] += 1
    if count[0] > MAX_NODES:
        return count[0]
    if depth > MAX_DEPTH:
        errors[path] = [f"Nested deeper than {MAX_DEPTH} levels."]
        return count[0]
    if not isinstance(rule, dict):
        errors[path] = ["A rule is an object: all, any, not, or a condition {field, op, value}."]
        return count[0]
    groups = [key for key in ("all", "any", "not") if key in rule]
    if groups:
        if len(rule) != 1:
            errors[path] = ["A group has one key: all, any or not."]
        elif groups[0] == "not":
            _check(rule["not"], f"{path}.not", depth + 1, errors, count)
        else:
            children = rule[groups[0]]
            if not isinstance(children, list) or not 1 <= len(children) <= MAX_CHILDREN:
                errors[f"{path}.{groups[0]}"] = [f"A list of 1 to {MAX_CHILDREN} rules."]
            else:
                for index, child in enumerate(children):
                    _check(child, f"{path}.{groups[0]}[{index}]", depth + 1, errors, count)
        return count[0]
    _check_leaf(rule, path, errors)
    return count[0]


def _check_leaf(leaf: dict, path: str, errors: dict) -> None:
    field = FIELDS.get(leaf.get("field")) if isinstance(leaf.get("field"), str) else None
    if field is None:
        errors[f"{path}.field"] = [f"One of: {', '.join(FIELDS)}."]
        return
    allowed = {"field", "op", "value"} | ({"period_days"} if field.period else set())
    if unknown := sorted(set(leaf) - allowed, key=str):
        errors[path] = [f"Unknown keys: {', '.join(map(str, unknown))}."]
    if leaf.get("op") not in field.ops:
        errors[f"{path}.op"] = [f"For {leaf['field']}: one of {', '.join(field.ops)}."]
        return
    if "period_days" in leaf and not _is_int(leaf["period_days"], 1, MAX_PERIOD_DAYS):
        errors[f"{path}.period_days"] = [f"Whole days, 1 to {MAX_PERIOD_DAYS}."]
    if "value" not in leaf:
        errors[f"{path}.value"] = ["Missing."]
        return
    values = leaf["value"] if leaf["op"] == "in" else [leaf["value"]]
    if leaf["op"] == "in" and (not isinstance(leaf["value"], list) or not 1 <= len(values) <= MAX_IN_VALUES):
        errors[f"{path}.value"] = [f"A list of 1 to {MAX_IN_VALUES} values."]
        return
    for value in values:
        if (problem := _value_problem(field.kind, value)) is not None:
            errors[f"{path}.value"] = [problem]
            return


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _value_problem(kind: str, value: Any) -> str | None:
    if kind == "number" and not _is_int(value, -MAX_NUMBER, MAX_NUMBER):
        return "A whole number."
    if kind == "id" and not _is_int(value, 1, 2**63 - 1):
        return "An id (a positive whole number)."
    if kind == "bool" and not isinstance(value, bool):
        return "true or false."
    if kind in ("text", "tag") and not (isinstance(value, str) and 0 < len(value) <= 128 and value.isprintable()):
        return "Text of 1 to 128 printable characters."
    if kind == "consent" and value not in CONSENT_STATES:
        return f"One of {', '.join(CONSENT_STATES)}."
    if kind == "time" and _parse_time(value) is None:
        return "A time in ISO 8601 with its zone (2026-10-01T00:00:00+08:00)."
    return None


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


# --- compiling ---------------------------------------------------------------------------------


def condition(rule: dict, now: datetime, within: Select | None = None) -> ColumnElement[bool]:
    """The rule (checked) as a condition on ``members``. ``within`` (the members some cheaper conditions
    the result is ANDed with leave) narrows the sets over orders: whatever holds outside it is dropped."""
    if "all" in rule:
        cheap = [child for child in rule["all"] if not _reads_orders(child)]
        if within is None and cheap and len(cheap) < len(rule["all"]):
            # Group only the orders of the members the cheap conditions leave (35k of 1M in the bench).
            left = and_(true(), *(condition(child, now) for child in cheap))
            within = select(Member.id).where(left)
            return and_(left, *(condition(child, now, within) for child in rule["all"] if _reads_orders(child)))
        return and_(true(), *(condition(child, now, within) for child in rule["all"]))
    if "any" in rule:
        return or_(false(), *(condition(child, now, within) for child in rule["any"]))
    if "not" in rule:
        return not_(condition(rule["not"], now, within))
    return _leaf(rule, now, within)


def _reads_orders(rule: dict) -> bool:
    if "all" in rule or "any" in rule:
        return any(_reads_orders(child) for child in rule.get("all", rule.get("any")))
    if "not" in rule:
        return _reads_orders(rule["not"])
    return rule["field"] in ORDER_FIELDS


def members_of(rule: dict, now: datetime):
    """select(Member.id) of the members the rule holds."""
    return select(Member.id).where(condition(rule, now))


def _leaf(leaf: dict, now: datetime, within: Select | None) -> ColumnElement[bool]:
    name, op, value = leaf["field"], leaf["op"], leaf["value"]
    if name == "tag":
        names = value if op == "in" else [value]
        return Member.id.in_(select(MemberTag.member_id).join(Tag, Tag.id == MemberTag.tag_id)
                             .where(Tag.name.in_(names)))
    if name == "following":
        followed = Member.id.in_(select(OfficialAccountFollower.member_id).where(
            OfficialAccountFollower.subscribed.is_(True), OfficialAccountFollower.member_id.is_not(None)))
        return followed if (op == "=") == value else not_(followed)
    if FIELDS[name].kind == "time":
        value = _parse_time(value)
    if name in ORDER_FIELDS:
        return _orders_leaf(name, op, value, leaf.get("period_days"), now, within)
    if name == "city":
        in_city = Member.home_store_id.in_(select(Store.id).where(_compare(Store.city, "=" if op == "!=" else op,
                                                                           value, False)))
        guarded = and_(Member.home_store_id.is_not(None), in_city)
        return not_(guarded) if op == "!=" else guarded
    if name in ("regular_store_id", "tier"):
        return _lookup(MemberProfile.member_id, getattr(MemberProfile, name), op, value)
    if name in ZERO_WHEN_MISSING:
        figure, owner = ZERO_WHEN_MISSING[name]()
        return _figure(owner, figure, op, value, select(owner).where(owner.is_not(None)))
    column = {"marketing_consent": Member.marketing_consent, "registered_at": Member.created_at,
              "arrival_scene": Member.arrival_scene, "home_store_id": Member.home_store_id}[name]
    return _compare(column, op, value, name in ("arrival_scene", "home_store_id"))


# Per-member figures kept in a row of their own: a member without the row counts as 0.
ZERO_WHEN_MISSING = {"points_balance": lambda: (PointsAccount.balance, PointsAccount.member_id),
                     "referral_depth": lambda: (ReferralNode.depth, ReferralNode.member_id),
                     "downline_size": lambda: (ReferralNode.descendants, ReferralNode.member_id)}
PYTHON_OPS = {"=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}


def _orders_leaf(name: str, op: str, value: Any, period_days: int | None, now: datetime,
                 within: Select | None) -> ColumnElement[bool]:
    """A figure over a member's paid orders, as one grouped pass over the orders (a semi-join), not a
    subquery per member: spend and count are 0 for members without orders, the last order time NULL."""
    paid = select(Order.member_id).where(is_paid_order())
    if period_days is not None:
        paid = paid.where(Order.paid_at >= now - timedelta(days=period_days))
    if within is not None:
        paid = paid.where(Order.member_id.in_(within))
    paid = paid.group_by(Order.member_id)
    if name == "last_order_at":
        last = func.max(Order.paid_at)
        if op == "!=":  # members without a paid order hold too
            return not_(Member.id.in_(paid.having(last == value)))
        return Member.id.in_(paid.having(_compare(last, op, value, False)))
    figure = func.sum(net_paid()) if name == "spend_fen" else func.count()
    return _figure(Order.member_id, figure, op, value, paid, aggregate=True)


def _figure(owner: ColumnElement, figure: ColumnElement, op: str, value: Any, rows: Select,
            aggregate: bool = False) -> ColumnElement[bool]:
    """``coalesce(figure, 0) op value`` per member, where ``rows`` selects the owners that have a figure:
    the members whose figure holds, or (when 0 holds, so members without a row hold) the complement of
    those whose figure fails."""
    zero_holds = PYTHON_OPS[op](0, value)
    figure = func.coalesce(figure, 0)
    compared = _compare(figure, op, value, False)
    held = not_(compared) if zero_holds else compared
    owners = rows.having(held) if aggregate else rows.where(held)
    return not_(Member.id.in_(owners)) if zero_holds else Member.id.in_(owners)


def _lookup(owner: ColumnElement, column: ColumnElement, op: str, value: Any) -> ColumnElement[bool]:
    """A nullable column of a row keyed by member: false for members without the row (or a NULL there),
    except with ``!=``."""
    if op == "!=":
        return not_(Member.id.in_(select(owner).where(column == value)))
    return Member.id.in_(select(owner).where(_compare(column, op, value, True)))


def _compare(column: ColumnElement, op: str, value: Any, nullable: bool) -> ColumnElement[bool]:
    if op == "!=":
        return or_(column.is_(None), column != value) if nullable else column != value
    compared = {"=": lambda: column == value, "<": lambda: column < value, "<=": lambda: column <= value,
                ">": lambda: column > value, ">=": lambda: column >= value, "in": lambda: column.in_(value)}[op]()
    return and_(column.is_not(None), compared) if nullable else compared
