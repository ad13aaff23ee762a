"""What must hold after the load, read from the database of the run (plain SQL over its DATABASE_URL).

Each check returns (figure name, number of violations, a few examples); zero violations is the target.
Rewards are recomputed with referral's own rule (``reward_amount``) from the settings in the database.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, create_engine, text

from referral.rewards.service import reward_amount

EXAMPLES = 5
Check = Callable[[Connection], tuple[int, list[Any]]]


def rows(connection: Connection, sql: str) -> list[Any]:
    return list(connection.execute(text(sql)))


def orders_paid_equal_payments_applied(connection: Connection) -> tuple[int, list[Any]]:
    """Each order paid in WeChat Pay has exactly one applied payment, of its own transaction and amount.

    Till sales (fulfilment in_store) are paid at the till, and the demo brand's orders were marked paid
    by its seed: neither has a WeChat Pay payment, so only orders with a prepay id count.
    """
    bad = rows(connection, """
        SELECT o.id, o.amount_paid, count(p.id) AS applied, min(p.amount) AS amount
        FROM orders o LEFT JOIN payments p ON p.order_id = o.id AND p.outcome = 'applied'
        WHERE o.paid_at IS NOT NULL AND o.fulfilment <> 'in_store' AND o.prepay_id IS NOT NULL
        GROUP BY o.id, o.amount_paid, o.transaction_id
        HAVING count(p.id) <> 1 OR min(p.amount) <> o.amount_paid
            OR min(p.transaction_id) <> o.transaction_id""")
    unpaid = rows(connection, """
        SELECT p.order_id FROM payments p JOIN orders o ON o.id = p.order_id
        WHERE p.outcome = 'applied' AND o.paid_at IS NULL""")
    return len(bad) + len(unpaid), [tuple(r) for r in (bad + unpaid)[:EXAMPLES]]


def coupons_within_totals(connection: Connection) -> tuple[int, list[Any]]:
    bad = rows(connection, """
        SELECT b.id, b.total, count(c.id) FROM coupon_batches b JOIN coupons c ON c.batch_id = b.id
        GROUP BY b.id, b.total HAVING count(c.id) > b.total""")
    return len(bad), [tuple(r) for r in bad[:EXAMPLES]]


def coupons_within_member_limits(connection: Connection) -> tuple[int, list[Any]]:
    bad = rows(connection, """
        SELECT b.id, c.member_id, b.per_member_limit, count(c.id)
        FROM coupon_batches b JOIN coupons c ON c.batch_id = b.id
        GROUP BY b.id, c.member_id, b.per_member_limit HAVING count(c.id) > b.per_member_limit""")
    return len(bad), [tuple(r) for r in bad[:EXAMPLES]]


def no_coupon_redeemed_twice(connection: Connection) -> tuple[int, list[Any]]:
    """At most one standing redemption per coupon, and none of a coupon also spent on an order."""
    twice = rows(connection, """
        SELECT coupon_id, count(*) FROM coupon_redemptions WHERE reverted_at IS NULL
        GROUP BY coupon_id HAVING count(*) > 1""")
    both = rows(connection, """
        SELECT r.coupon_id FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id
        WHERE r.reverted_at IS NULL AND c.used_in = 'online'""")
    return len(twice) + len(both), [tuple(r) for r in (twice + both)[:EXAMPLES]]


def points_ledger_sums_equal_balances(connection: Connection) -> tuple[int, list[Any]]:
    bad = rows(connection, """
        SELECT a.member_id, a.balance, a.owed, coalesce(sum(l.delta), 0), coalesce(sum(l.owed_delta), 0)
        FROM points_accounts a LEFT JOIN points_ledger l ON l.member_id = a.member_id
        GROUP BY a.member_id, a.balance, a.owed
        HAVING a.balance <> coalesce(sum(l.delta), 0) OR a.owed <> coalesce(sum(l.owed_delta), 0)""")
    orphans = rows(connection, """
        SELECT DISTINCT l.member_id FROM points_ledger l
        LEFT JOIN points_accounts a ON a.member_id = l.member_id WHERE a.member_id IS NULL""")
    return len(bad) + len(orphans), [tuple(r) for r in (bad + orphans)[:EXAMPLES]]


def rewards_equal_rates_of_paid_minus_refunded(connection: Connection) -> tuple[int, list[Any]]:
    """Per order line and level: the standing reward is the configured rate of what was paid less refunds.

    A refund's reversal is shared over the lines by fractions, so a refunded line may differ by one unit;
    an unrefunded line must match exactly. Orders of members bound under no one earn nothing.
    """
    settings_row = connection.execute(text(
        "SELECT reward_basis, percent_bp, fixed_per_sku, reward_levels, reward_till_sales, sharer_policy "
        "FROM referral_settings WHERE id = 1")).mappings().first()
    if settings_row is None:
        return 0, ["no referral settings row: defaults, no rewards expected to check"]
    settings = SimpleNamespace(**{key: json.loads(value) if key in ("percent_bp", "fixed_per_sku") and
                                  isinstance(value, str) else value for key, value in settings_row.items()})
    rewards: dict[tuple[int, int], list[Any]] = defaultdict(list)
    for reward in rows(connection, "SELECT order_line_id, level, beneficiary_id, amount, reversed_amount "
                                   "FROM referral_rewards"):
        rewards[(reward.order_line_id, reward.level)].append(reward)
    lines = rows(connection, """
        SELECT s.order_id, s.chain, o.fulfilment, l.id AS line_id, l.sku_id, l.quantity, l.amount_payable,
               l.refunded_amount
        FROM referral_order_snapshots s JOIN orders o ON o.id = s.order_id
        JOIN order_lines l ON l.order_id = s.order_id""")
    bad, seen = [], set()
    for line in lines:
        chain = json.loads(line.chain) if isinstance(line.chain, str) else (line.chain or [])  # SQLite: text
        rewarded = bool(chain) and (settings.reward_till_sales or line.fulfilment != "in_store")
        for level in range(1, 3):
            seen.add((line.line_id, level))
            found = rewards.get((line.line_id, level), [])
            if not rewarded or level > len(chain):
                if found:
                    bad.append(("unexpected", line.order_id, line.line_id, level))
                continue
            due = reward_amount(settings, level, line.sku_id, line.quantity, line.amount_payable)
            net_due = reward_amount(settings, level, line.sku_id, line.quantity,
                                    line.amount_payable - line.refunded_amount)
            if due <= 0:
                if found:
                    bad.append(("unexpected", line.order_id, line.line_id, level))
                continue
            if settings.sharer_policy != "everyone" and not found:
                continue  # the policy may exclude this sharer: only what was created is checked
            if len(found) != 1 or found[0].beneficiary_id != chain[level - 1] or found[0].amount != due:
                bad.append(("wrong", line.order_id, line.line_id, level, due, [tuple(r) for r in found]))
                continue
            standing = found[0].amount - found[0].reversed_amount
            if abs(standing - net_due) > (1 if line.refunded_amount else 0):
                bad.append(("net", line.order_id, line.line_id, level, net_due, standing))
    strays = [key for key in rewards if key not in seen]  # rewards of orders without a snapshot
    return len(bad) + len(strays), (bad + strays)[:EXAMPLES]


CHECKS: dict[str, Check] = {
    "orders_paid_equal_payments_applied": orders_paid_equal_payments_applied,
    "coupons_within_totals": coupons_within_totals,
    "coupons_within_member_limits": coupons_within_member_limits,
    "no_coupon_redeemed_twice": no_coupon_redeemed_twice,
    "points_ledger_sums_equal_balances": points_ledger_sums_equal_balances,
    "rewards_equal_rates_of_paid_minus_refunded": rewards_equal_rates_of_paid_minus_refunded,
}

COUNTS = {
    "orders_paid_in_wechat_pay": "SELECT count(*) FROM orders WHERE paid_at IS NOT NULL AND prepay_id IS NOT NULL "
                                 "AND fulfilment <> 'in_store'",
    "payments_applied": "SELECT count(*) FROM payments WHERE outcome = 'applied'",
    "coupons_claimed": "SELECT count(*) FROM coupons",
    "coupons_redeemed_in_store": "SELECT count(*) FROM coupon_redemptions WHERE reverted_at IS NULL",
    "till_sales": "SELECT count(*) FROM till_sales",
    "rewards": "SELECT count(*) FROM referral_rewards",
    "members": "SELECT count(*) FROM members",
}


def check_all(database_url: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Every invariant as a figure ({figure, violations, examples}), and what the run left in the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            figures = []
            for name, check in CHECKS.items():
                violations, examples = check(connection)
                figures.append({"figure": name, "violations": violations, "examples": [str(e) for e in examples]})
            counts = {}
            for name, sql in COUNTS.items():
                try:
                    counts[name] = connection.execute(text(sql)).scalar_one()
                except Exception:  # noqa: BLE001 - a count is context: a renamed table must not hide the checks
                    connection.rollback()
                    counts[name] = -1
            return figures, counts
    finally:
        engine.dispose()
