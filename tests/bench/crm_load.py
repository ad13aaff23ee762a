"""A year of CRM traffic generated inside PostgreSQL (``INSERT ... SELECT`` over ``generate_series``).

Shape, for ``members`` members and about ``events`` journey events over the year before ``now``:

- stores (one per 2,000 members, at least 20) in ten cities; members join faster as the year goes on
  (joined at ``start + year * sqrt(id / members)``, so ids grow with time), 70% with a home store
  (popular stores more often), arrival scenes of WeChat, consent 55% granted, 10% withdrawn, the rest
  unknown; 30% follow the official account (15% of them left again);
- shares (one per 200 events), mostly by early members, a third carrying the campaign of their month
  (``m-YYYYMM``); 15% of members arrived through a share opened before they joined and are bound under
  its sharer (the tree's depth and closure computed by a recursive CTE); other members open shares too;
- coupon batches per month (a campaign's public and targeted batch) and welcome batches, coupons
  claimed (40% used, in an order or at a store's counter, with their redemptions);
- orders (4% of events): pickup, delivery and till sales (``in_store``, with their till sale rows), 8%
  cancelled, 3% refunded, amounts 10-410 yuan; 40% of bound friends buy within five days of binding;
  points earned per paid order and each member's account; the tree's paid counters;
- one hot business day (``hot_day``, default yesterday) carrying ``day_events`` events: a campaign day
  whose shoppers claim its coupon and buy within hours, and a crowd of logins and client events;
- journey events as the app records them: ``registered``, ``followed``/``unfollowed``,
  ``share_created``, ``share_opened``, ``bound``, ``coupon_claimed`` (with the batch's campaign),
  ``coupon_redeemed``, ``order_placed`` (attributed, by the app's rule, to the latest share opened or
  campaign coupon claimed within 7 days: share, campaign, ``attributed_to``, ``touched_at``),
  ``order_paid``, ``order_cancelled``, ``order_refunded``, ``picked_up``, ``till_sale``; the rest up
  to ``events`` are logins (35%) and client events (view_product, view_store, add_to_cart, search,
  open_poster), into the monthly partitions the app's job would have made.

Rows are written by SQL only (foreign-key triggers off for the session: the rows are consistent by
construction); nothing goes through Python row by row, so 10M events load in minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import psycopg
from sqlalchemy import create_engine

from crm.journey.partitions import ensure_months
from crm.rollups.service import business_day, day_bounds
from tests.bench.loading import libpq_url

CITIES = ("上海", "北京", "广州", "深圳", "杭州", "成都", "武汉", "南京", "重庆", "西安")
HOT_CAMPAIGN = "hot-day"
ATTRIBUTION_DAYS = 7  # JOURNEY_ATTRIBUTION_DAYS' default: the rule recorded on order_placed


@dataclass(frozen=True)
class Size:
    """How much to generate: members, journey events over the year, and events on the hot day."""

    events: int
    members: int
    day_events: int

    @classmethod
    def of(cls, events: int, members: int | None = None, day_events: int | None = None) -> Size:
        return cls(events, members or max(events // 10, 100), day_events if day_events is not None
                   else min(300_000, events * 3 // 10))

    @property
    def stores(self) -> int:
        return max(20, self.members // 2000)

    @property
    def shares(self) -> int:
        return max(10, self.events // 200)

    @property
    def orders(self) -> int:
        return max(20, self.events // 25)

    @property
    def coupons(self) -> int:
        return max(20, self.events * 3 // 100)

    @property
    def hot_orders(self) -> int:
        return self.day_events // 25

    @property
    def extra_opens(self) -> int:
        return self.events // 100


@dataclass
class Generated:
    size: Size
    now: datetime
    hot_day: date
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def generate(database_url: str, size: Size, now: datetime, hot_day: date | None = None,
             progress: Callable[[str], None] = lambda message: None) -> Generated:
    """Fill the (migrated, empty) database with a year of traffic ending at ``now``; what was made."""
    hot_day = hot_day or business_day(now) - timedelta(days=1)
    hot_start, hot_end = day_bounds(hot_day)
    start = now - timedelta(days=365)
    made = Generated(size, now, hot_day)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        ensure_months(connection, start, now)
    engine.dispose()
    params = {"m": size.members, "stores": size.stores, "shares": size.shares, "orders": size.orders,
              "hot_orders": size.hot_orders, "coupons": size.coupons, "extra_opens": size.extra_opens,
              "start": start, "now": now, "span": now - start, "hot_start": hot_start, "hot_end": hot_end,
              "hot_campaign": HOT_CAMPAIGN, "cities": list(CITIES), "window": timedelta(days=ATTRIBUTION_DAYS)}
    with psycopg.connect(libpq_url(database_url)) as connection:
        connection.execute("SET session_replication_role = replica")
        connection.execute("SET work_mem = '256MB'")
        for name, statements in STEPS:
            began = time.perf_counter()
            progress(f"generating {name}")
            for statement in statements:
                connection.execute(statement, params)
            made.seconds[name] = round(time.perf_counter() - began, 2)
        filler = size.events - connection.execute("SELECT count(*) FROM journey_events").fetchone()[0]
        hot_so_far = connection.execute("SELECT count(*) FROM journey_events WHERE occurred_at >= %(hot_start)s "
                                        "AND occurred_at < %(hot_end)s", params).fetchone()[0]
        params["hot_filler"] = max(0, min(filler, size.day_events - hot_so_far))
        params["filler"] = max(0, filler - params["hot_filler"])
        began = time.perf_counter()
        progress(f"generating {params['filler'] + params['hot_filler']} logins and client events")
        connection.execute(FILLER, params)
        made.seconds["logins and client events"] = round(time.perf_counter() - began, 2)
        for table in ("members", "stores", "referral_shares", "orders", "coupons"):
            connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")
        connection.commit()
    began = time.perf_counter()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        for table in ("members", "journey_events", "orders", "coupons", "referral_shares", "referral_share_opens",
                      "referral_nodes", "referral_closure", "till_sales", "coupon_redemptions", "oa_followers"):
            made.counts[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        made.counts["journey_events_on_hot_day"] = connection.execute(
            "SELECT count(*) FROM journey_events WHERE occurred_at >= %s AND occurred_at < %s",
            (hot_start, hot_end)).fetchone()[0]
    made.seconds["vacuum analyze"] = round(time.perf_counter() - began, 2)
    return made


# A member's join time, as a function of its id (ids grow with time; more join late in the year).
JOINED = "(%(start)s::timestamptz + %(span)s::interval * sqrt({id}::float8 / %(m)s))"

STORES_AND_MEMBERS = [
    """INSERT INTO staff_accounts (id, username, password_hash, role, active, created_at)
       VALUES (1, 'bench-clerk', '-', 'staff', true, %(start)s)""",
    """INSERT INTO stores (id, code, name, address, city, lat, lng, timezone, services, status, weekly_hours,
                           created_at, updated_at)
       SELECT g, 'bench-' || g, 'Store ' || g, 'Road ' || g, (%(cities)s::text[])[1 + mod(g, 10)],
              31 + random(), 121 + random(), 'Asia/Shanghai', '[]', 'open', '{}', %(start)s, %(start)s
       FROM generate_series(1, %(stores)s) g""",
    f"""INSERT INTO members (id, openid, nickname, arrival_scene, created_at, last_login_at, home_store_id,
                            home_store_source, home_store_set_at, marketing_consent, marketing_consent_at)
       SELECT g, 'bench-' || g, 'm' || g,
              (ARRAY['1001', '1007', '1008', '1011', '1047', '1089', '1053'])[1 + floor(power(random(), 1.5) * 7)],
              {JOINED.format(id="g")}, %(now)s,
              CASE WHEN r < 0.7 THEN 1 + floor(power(random(), 2) * %(stores)s) END,
              CASE WHEN r < 0.7 THEN 'nearest' END, CASE WHEN r < 0.7 THEN {JOINED.format(id="g")} END,
              CASE WHEN c < 0.55 THEN 'granted' WHEN c < 0.65 THEN 'withdrawn' ELSE 'unknown' END,
              CASE WHEN c < 0.65 THEN {JOINED.format(id="g")} END
       FROM (SELECT g, random() AS r, random() AS c FROM generate_series(1, %(m)s) g) AS drawn""",
    """INSERT INTO oa_followers (oa_openid, member_id, subscribed, source_scene, first_subscribed_at, subscribed_at,
                                 unsubscribed_at)
       SELECT 'oa-' || id, id, s >= 0.15, 'qrscene_1', followed, followed,
              CASE WHEN s < 0.15 THEN followed + (%(now)s - followed) * random() END
       FROM (SELECT id, random() AS s, created_at + (%(now)s - created_at) * power(random(), 3) AS followed
             FROM members WHERE random() < 0.3) AS f""",
]

SHARES_AND_TREE = [
    # Shares in time order (ids follow created_at), by early members mostly.
    f"""INSERT INTO referral_shares (id, scene, sharer_id, campaign, channel, created_at)
       SELECT row_number() OVER (ORDER BY created), 'b' || row_number() OVER (ORDER BY created), sharer,
              CASE WHEN random() < 0.35 THEN 'm-' || to_char(created AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') END,
              (ARRAY['poster', 'chat', 'moments'])[1 + floor(random() * 3)], created
       FROM (SELECT sharer, joined + (%(now)s - joined) * random() AS created
             FROM (SELECT sharer, {JOINED.format(id="sharer")} AS joined
                   FROM (SELECT 1 + floor(power(random(), 3) * %(m)s)::bigint AS sharer
                         FROM generate_series(1, %(shares)s)) AS s) AS j) AS c""",
    # 15% of members arrived through a share made before they joined (so the sharer's id is lower).
    """CREATE TEMP TABLE binds AS
       SELECT m.id AS member_id, s.id AS share_id, s.sharer_id, m.created_at AS bound_at, s.campaign
       FROM (SELECT id, created_at, 1 + floor(random() * last_share)::bigint AS share_id
             FROM (SELECT id, created_at,
                          (SELECT id FROM referral_shares WHERE created_at < members.created_at
                           ORDER BY created_at DESC LIMIT 1) AS last_share
                   FROM members WHERE random() < 0.15) AS drawn
             WHERE last_share IS NOT NULL OFFSET 0) AS m
       JOIN referral_shares s ON s.id = m.share_id
       WHERE s.sharer_id <> m.id""",
    """INSERT INTO referral_nodes (member_id, parent_id, depth, share_id, bound_at, descendants, subtree_orders,
                                   subtree_gmv, own_orders, own_gmv, created_at)
       SELECT m.id, b.sharer_id, 0, b.share_id, b.bound_at, 0, 0, 0, 0, 0, m.created_at
       FROM members m LEFT JOIN binds b ON b.member_id = m.id""",
    """INSERT INTO referral_closure (ancestor_id, descendant_id, distance)
       WITH RECURSIVE up (ancestor_id, descendant_id, distance) AS (
           SELECT sharer_id, member_id, 1 FROM binds
           UNION ALL
           SELECT b.sharer_id, up.descendant_id, up.distance + 1 FROM up JOIN binds b ON b.member_id = up.ancestor_id
       ) SELECT ancestor_id, descendant_id, distance FROM up""",
    """UPDATE referral_nodes n SET depth = d.depth
       FROM (SELECT descendant_id, max(distance) AS depth FROM referral_closure GROUP BY descendant_id) d
       WHERE n.member_id = d.descendant_id""",
    """UPDATE referral_nodes n SET descendants = d.descendants
       FROM (SELECT ancestor_id, count(*) AS descendants FROM referral_closure GROUP BY ancestor_id) d
       WHERE n.member_id = d.ancestor_id""",
    """INSERT INTO referral_share_opens (share_id, member_id, new_member, outcome, opened_at)
       SELECT share_id, member_id, true, 'bound', bound_at FROM binds""",
    """INSERT INTO referral_share_opens (share_id, member_id, new_member, outcome, opened_at)
       SELECT s.id, o.member_id, false, 'already_bound',
              least(%(now)s, greatest(s.created_at, m.created_at) + interval '3 days' * random())
       FROM (SELECT 1 + floor(random() * %(shares)s)::bigint AS share_id,
                    1 + floor(random() * %(m)s)::bigint AS member_id
             FROM generate_series(1, %(extra_opens)s)) AS o
       JOIN referral_shares s ON s.id = o.share_id JOIN members m ON m.id = o.member_id
       WHERE s.sharer_id <> o.member_id
       ON CONFLICT (share_id, member_id) DO NOTHING""",
]

COUPONS = [
    # Per month of the year: a campaign's public and targeted batch; two welcome batches without campaign.
    """INSERT INTO coupon_batches (id, name, kind, amount_off, min_spend, valid_days, total, per_member_limit,
                                   channel, status, created_at, updated_at, usage, gate_generation, campaign)
       SELECT row_number() OVER (ORDER BY month, channel), 'm-' || month || ' ' || channel, 'amount_off',
              CASE channel WHEN 'public' THEN 500 ELSE 1000 END, 3000, 30, 10000000, 5, channel, 'active',
              %(start)s, %(start)s, 'both', 0, 'm-' || month
       FROM (SELECT DISTINCT to_char(d AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') AS month
             FROM generate_series(%(start)s::timestamptz, %(now)s::timestamptz, interval '1 day') d) AS months,
            (VALUES ('public'), ('targeted')) AS c (channel)""",
    """INSERT INTO coupon_batches (id, name, kind, amount_off, min_spend, valid_days, total, per_member_limit,
                                   channel, status, created_at, updated_at, usage, gate_generation, campaign)
       SELECT (SELECT max(id) FROM coupon_batches) + n, name, 'amount_off', off, 0, 30, 10000000, 5, channel,
              'active', %(start)s, %(start)s, 'both', 0, campaign
       FROM (VALUES (1, 'welcome', 800, 'new_member', NULL), (2, 'follower', 300, 'follower', NULL),
                    (3, 'hot day', 2000, 'public', %(hot_campaign)s)) AS w (n, name, off, channel, campaign)""",
    # Claims through the year: 60% from the batch of the month (its campaign), 40% welcome/follower.
    f"""CREATE TEMP TABLE claims AS
       SELECT member_id, claimed_at,
              CASE WHEN k < 0.6 THEN (SELECT id FROM coupon_batches
                                      WHERE campaign = 'm-' || to_char(claimed_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')
                                      ORDER BY id LIMIT 1 OFFSET floor(random() * 2)::int)
                   WHEN k < 0.85 THEN (SELECT id FROM coupon_batches WHERE channel = 'new_member')
                   ELSE (SELECT id FROM coupon_batches WHERE channel = 'follower') END AS batch_id
       FROM (SELECT member_id, joined + (%(now)s - joined) * random() AS claimed_at, random() AS k
             FROM (SELECT g AS member_id, {JOINED.format(id="g")} AS joined
                   FROM (SELECT 1 + floor(random() * %(m)s)::bigint AS g
                         FROM generate_series(1, %(coupons)s)) AS r) AS j) AS c""",
    # The hot day: its shoppers claim the hot batch an hour or two before they buy (orders made below).
    """CREATE TEMP TABLE hot_buyers AS
       SELECT g AS n, 1 + floor(random() * (SELECT count(*) FROM members WHERE created_at < %(hot_start)s))::bigint
                  AS member_id,
              %(hot_start)s::timestamptz + (%(hot_end)s::timestamptz - %(hot_start)s::timestamptz) * random()
                  AS bought_at
       FROM generate_series(1, %(hot_orders)s) g""",
    """INSERT INTO claims (member_id, claimed_at, batch_id)
       SELECT member_id, greatest(%(hot_start)s::timestamptz, bought_at - interval '2 hours' * random()),
              (SELECT id FROM coupon_batches WHERE campaign = %(hot_campaign)s)
       FROM hot_buyers""",
    """INSERT INTO coupons (id, batch_id, member_id, sequence, status, valid_from, expires_at, claimed_at, used_at,
                            source, used_in, discount_amount, secret, issue_number, claim_day)
       SELECT row_number() OVER (ORDER BY claimed_at), c.batch_id, c.member_id,
              row_number() OVER (PARTITION BY c.batch_id, c.member_id ORDER BY claimed_at),
              CASE WHEN u < 0.4 THEN 'used' WHEN c.claimed_at + interval '30 days' < %(now)s THEN 'expired'
                   ELSE 'available' END,
              c.claimed_at, c.claimed_at + interval '30 days', c.claimed_at,
              CASE WHEN u < 0.4 THEN least(%(now)s, c.claimed_at + interval '10 days' * random()) END,
              b.channel, CASE WHEN u < 0.25 THEN 'order' WHEN u < 0.4 THEN 'store' END,
              CASE WHEN u < 0.4 THEN b.amount_off END, md5(random()::text),
              row_number() OVER (PARTITION BY c.batch_id ORDER BY claimed_at),
              (c.claimed_at AT TIME ZONE 'Asia/Shanghai')::date
       FROM (SELECT *, random() AS u FROM claims) AS c JOIN coupon_batches b ON b.id = c.batch_id""",
    """INSERT INTO coupon_redemptions (coupon_id, store_id, staff_id, redeemed_at)
       SELECT c.id, coalesce(m.home_store_id, 1 + mod(c.id, %(stores)s)), 1, c.used_at
       FROM coupons c JOIN members m ON m.id = c.member_id WHERE c.used_in = 'store'""",
]

ORDERS = [
    # Regular orders (heavier buyers among early members), bound friends' first orders, the hot day's.
    f"""CREATE TEMP TABLE order_draws AS
       SELECT member_id, joined + (%(now)s - joined) * random() AS placed_at
       FROM (SELECT g AS member_id, {JOINED.format(id="g")} AS joined
             FROM (SELECT 1 + floor(power(random(), 1.5) * %(m)s)::bigint AS g
                   FROM generate_series(1, %(orders)s)) AS r) AS j
       UNION ALL
       SELECT member_id, least(%(now)s - interval '1 minute', bound_at + interval '5 days' * random())
       FROM binds WHERE random() < 0.4
       UNION ALL
       SELECT member_id, bought_at FROM hot_buyers""",
    """INSERT INTO orders (id, number, member_id, idempotency_key, request_fingerprint, status, fulfilment, store_id,
                           items_total, discount_total, shipping_fee, amount_payable, amount_paid, refunded_total,
                           discounts, created_at, expires_at, paid_at, completed_at, cancelled_at, pickup_code)
       SELECT id, 'B' || lpad(id::text, 12, '0'), member_id, 'bench-' || id, 'x', status, fulfilment,
              CASE WHEN fulfilment <> 'delivery' THEN coalesce(home, 1 + mod(id, %(stores)s)) END,
              amount, 0, 0, amount, CASE WHEN status <> 'cancelled' THEN amount ELSE 0 END,
              CASE WHEN status = 'refunded' THEN amount ELSE 0 END, '[]', placed_at,
              placed_at + interval '15 minutes',
              CASE WHEN status <> 'cancelled' THEN placed_at + interval '2 minutes' END,
              CASE WHEN status = 'completed' THEN least(%(now)s, placed_at + interval '1 hour') END,
              CASE WHEN status = 'cancelled' THEN placed_at + interval '15 minutes' END,
              CASE WHEN fulfilment = 'pickup' THEN lpad(id::text, 12, '0') END
       FROM (SELECT row_number() OVER (ORDER BY placed_at) AS id, d.member_id, d.placed_at, m.home_store_id AS home,
                    1000 + floor(power(random(), 2) * 40000)::bigint AS amount,
                    CASE WHEN s < 0.08 THEN 'cancelled' WHEN s < 0.11 THEN 'refunded' ELSE 'completed' END AS status,
                    CASE WHEN f < 0.45 THEN 'pickup' WHEN f < 0.75 THEN 'delivery' ELSE 'in_store' END AS fulfilment
             FROM (SELECT *, random() AS s, random() AS f FROM order_draws) AS d
             JOIN members m ON m.id = d.member_id) AS o""",
    # A till sale is paid at the till: never cancelled.
    """UPDATE orders SET status = 'completed', amount_paid = amount_payable, paid_at = created_at,
                         completed_at = created_at, cancelled_at = NULL
       WHERE fulfilment = 'in_store' AND status = 'cancelled'""",
    """INSERT INTO till_sales (order_id, store_id, receipt_no, staff_id, member_id, request_fingerprint, created_at)
       SELECT id, store_id, 'R' || id, 1, member_id, 'x', paid_at FROM orders WHERE fulfilment = 'in_store'""",
    """INSERT INTO points_ledger (member_id, reason, source, source_id, order_id, points, delta, owed_delta,
                                  balance_after, created_at)
       SELECT member_id, 'earn', 'order', id::text, id, amount_paid / 100, amount_paid / 100, 0, amount_paid / 100,
              paid_at
       FROM orders WHERE paid_at IS NOT NULL""",
    """INSERT INTO points_accounts (member_id, balance, owed, updated_at, earned)
       SELECT member_id, sum(points), 0, max(created_at), sum(points) FROM points_ledger GROUP BY member_id""",
    """UPDATE referral_nodes n SET own_orders = o.orders, own_gmv = o.gmv, first_paid_at = o.first_paid
       FROM (SELECT member_id, count(*) AS orders, sum(amount_paid - refunded_total) AS gmv,
                    min(paid_at) AS first_paid
             FROM orders WHERE paid_at IS NOT NULL AND status <> 'refunded' GROUP BY member_id) o
       WHERE n.member_id = o.member_id""",
    """UPDATE referral_nodes n SET subtree_orders = s.orders, subtree_gmv = s.gmv
       FROM (SELECT c.ancestor_id, sum(d.own_orders) AS orders, sum(d.own_gmv) AS gmv
             FROM referral_closure c JOIN referral_nodes d ON d.member_id = c.descendant_id
             GROUP BY c.ancestor_id) s
       WHERE n.member_id = s.ancestor_id""",
]

_EVENT = "INSERT INTO journey_events (member_id, kind, occurred_at, store_id, share_id, campaign, attributes) "
SERVER_EVENTS = [
    _EVENT + """SELECT id, 'registered', created_at, NULL, NULL, NULL, json_build_object('scene', arrival_scene)
                FROM members""",
    _EVENT + """SELECT member_id, 'followed', first_subscribed_at, NULL, NULL, NULL,
                       json_build_object('scene', source_scene) FROM oa_followers""",
    _EVENT + """SELECT member_id, 'unfollowed', unsubscribed_at, NULL, NULL, NULL, '{}'::json
                FROM oa_followers WHERE unsubscribed_at IS NOT NULL""",
    _EVENT + """SELECT sharer_id, 'share_created', created_at, NULL, id, campaign,
                       json_build_object('product_id', NULL, 'channel', channel) FROM referral_shares""",
    _EVENT + """SELECT o.member_id, 'share_opened', o.opened_at, NULL, o.share_id, s.campaign,
                       json_build_object('outcome', o.outcome)
                FROM referral_share_opens o JOIN referral_shares s ON s.id = o.share_id""",
    _EVENT + """SELECT member_id, 'bound', bound_at, NULL, share_id, campaign,
                       json_build_object('sharer_id', sharer_id, 'rebound', false) FROM binds""",
    _EVENT + """SELECT c.member_id, 'coupon_claimed', c.claimed_at, NULL, NULL, b.campaign,
                       json_build_object('coupon_id', c.id, 'batch_id', c.batch_id, 'channel', b.channel)
                FROM coupons c JOIN coupon_batches b ON b.id = c.batch_id""",
    _EVENT + """SELECT c.member_id, 'coupon_redeemed', r.redeemed_at, r.store_id, NULL, NULL,
                       json_build_object('coupon_id', c.id, 'redemption_id', r.id)
                FROM coupon_redemptions r JOIN coupons c ON c.id = r.coupon_id""",
    "ANALYZE journey_events",
    # order_placed carries the app's attribution: the latest share opened or campaign coupon claimed in the window.
    _EVENT + """SELECT o.member_id, 'order_placed', o.created_at, o.store_id, t.share_id, t.campaign,
                       CASE WHEN t.kind IS NULL
                            THEN json_build_object('order_id', o.id, 'amount_payable', o.amount_payable)
                            ELSE json_build_object('order_id', o.id, 'amount_payable', o.amount_payable,
                                                   'attributed_to', t.kind, 'touched_at', t.occurred_at) END
                FROM orders o LEFT JOIN LATERAL (
                    SELECT e.kind, e.share_id, e.campaign, e.occurred_at FROM journey_events e
                    WHERE e.member_id = o.member_id AND e.occurred_at >= o.created_at - %(window)s
                      AND e.occurred_at <= o.created_at
                      AND (e.kind IN ('share_opened', 'store_share_opened')
                           OR (e.kind = 'coupon_claimed' AND e.campaign IS NOT NULL))
                    ORDER BY e.occurred_at DESC, e.id DESC LIMIT 1) t ON true""",
    _EVENT + """SELECT member_id, 'order_paid', paid_at, store_id, NULL, NULL, json_build_object('order_id', id)
                FROM orders WHERE paid_at IS NOT NULL""",
    _EVENT + """SELECT member_id, 'order_cancelled', cancelled_at, store_id, NULL, NULL,
                       json_build_object('order_id', id) FROM orders WHERE status = 'cancelled'""",
    _EVENT + """SELECT member_id, 'order_refunded', least(%(now)s, paid_at + interval '2 days'), store_id, NULL, NULL,
                       json_build_object('order_id', id) FROM orders WHERE status = 'refunded'""",
    _EVENT + """SELECT member_id, 'picked_up', completed_at, store_id, NULL, NULL, json_build_object('order_id', id)
                FROM orders WHERE fulfilment = 'pickup' AND status = 'completed'""",
    _EVENT + """SELECT t.member_id, 'till_sale', t.created_at, t.store_id, NULL, NULL,
                       json_build_object('order_id', t.order_id, 'till_sale_id', t.id, 'receipt_no', t.receipt_no,
                                         'amount', o.amount_paid, 'staff_id', 1)
                FROM till_sales t JOIN orders o ON o.id = t.order_id""",
]

# Logins and client events: ``filler`` through the year after each member joined, ``hot_filler`` on the hot day.
FILLER = _EVENT + f"""
    SELECT member_id, kind, at, CASE WHEN kind = 'view_store' THEN 1 + mod(member_id, %(stores)s) END, NULL, NULL,
           CASE kind WHEN 'view_product' THEN json_build_object('product_id', 1 + mod(member_id, 500))
                     WHEN 'search' THEN json_build_object('q', 'latte')
                     WHEN 'logged_in' THEN json_build_object('scene', '1001')
                     ELSE '{{}}'::json END
    FROM (SELECT member_id, at,
                 CASE WHEN k < 0.35 THEN 'logged_in' WHEN k < 0.65 THEN 'view_product' WHEN k < 0.77 THEN 'view_store'
                      WHEN k < 0.85 THEN 'add_to_cart' WHEN k < 0.95 THEN 'search' ELSE 'open_poster' END AS kind
          FROM (SELECT g AS member_id, joined + (%(now)s - joined) * random() AS at, random() AS k
                FROM (SELECT 1 + floor(random() * %(m)s)::bigint AS g
                      FROM generate_series(1, %(filler)s)) AS r,
                     LATERAL (SELECT {JOINED.format(id="r.g")} AS joined) AS j
                UNION ALL
                SELECT 1 + floor(random() * (SELECT count(*) FROM members WHERE created_at < %(hot_start)s))::bigint,
                       %(hot_start)s::timestamptz + (%(hot_end)s::timestamptz - %(hot_start)s::timestamptz) * random(),
                       random()
                FROM generate_series(1, %(hot_filler)s)) AS drawn) AS kinds"""

STEPS: list[tuple[str, list[str]]] = [
    ("stores, members and followers", STORES_AND_MEMBERS),
    ("shares, opens and the referral tree", SHARES_AND_TREE),
    ("coupon batches, claims and redemptions", COUPONS),
    ("orders, till sales and points", ORDERS),
    ("server-side journey events", SERVER_EVENTS),
]
