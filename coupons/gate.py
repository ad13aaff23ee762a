"""The claim gate: an atomic Redis Lua script in front of the coupon rows.

Per batch, keys sharing one hash tag (so they live on one Redis Cluster slot):
``coupons:{b<id>}:remaining`` (coupons left), ``coupons:{b<id>}:members`` (a hash: member id ->
coupons taken) and, for a batch with a daily limit, ``coupons:{b<id>}:day:<YYYY-MM-DD>`` (coupons
taken on that business day in Asia/Shanghai; it expires a few days later). ``take`` checks them
all and takes one in a single script, so two app instances can never both take the last coupon,
a member's last allowed one or the day's last one. The database stays the record: a gate that is
missing (a flushed or new Redis) is built from the coupon rows on first use (only if still
absent), today's count from the rows claimed today, and `flask coupons rebuild-gates` rebuilds
every gate from them. A day's key that is absent while the gate exists means nothing was taken
that day: the gate is built with today's count, and every take since went through the script.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import redis

from shop.redis_scripts import RedisScript

OUT_OF_STOCK = -1
LIMIT_REACHED = -2
MISSING = -3
DAILY_LIMIT_REACHED = -4
STALE_COPY = -5  # the caller's copy of the batch is not the current one (its version token differs)
OUT_OF_STOCK_HELD = -6  # out of stock, and the member holds some already (perhaps retrying a claim that got one)

BUSINESS_ZONE = ZoneInfo("Asia/Shanghai")  # daily limits count the brand's business day
_DAY_KEY_SECONDS = 3 * 24 * 3600  # long enough for a late give-back of yesterday's take

# KEYS: remaining, members, version[, day]. ARGV: member, limit, version token ('' = not checked)[, daily
# limit, day key ttl]. The version check and the member's holding are read here so that a claim is one round
# trip: a copy of the batch is acted on only if it is current at the moment of the take.
_TAKE = RedisScript("""
if ARGV[3] ~= '' and redis.call('GET', KEYS[3]) ~= ARGV[3] then return -5 end
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -3 end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(remaining) <= 0 then
  if held > 0 then return -6 end
  return -1
end
if held >= tonumber(ARGV[2]) then return -2 end
if KEYS[4] then
  if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[4]) then return -4 end
  if redis.call('INCR', KEYS[4]) == 1 then redis.call('EXPIRE', KEYS[4], ARGV[5]) end
end
redis.call('DECR', KEYS[1])
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
""")

_GIVE_BACK = """
if not redis.call('GET', KEYS[1]) then return 0 end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held <= 0 then return 0 end
redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if KEYS[3] and tonumber(redis.call('GET', KEYS[3]) or '0') > 0 then redis.call('DECR', KEYS[3]) end
return 1
"""

# KEYS: remaining, members[, day]. ARGV: only_if_absent (0/1), remaining, today's count, day key
# ttl, then member, count pairs.
_BUILD = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[3] then redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[4]) end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""


def keys(batch_id: int) -> list[str]:
    return [f"coupons:{{b{batch_id}}}:remaining", f"coupons:{{b{batch_id}}}:members"]


def day_key(batch_id: int, day: date) -> str:
    return f"coupons:{{b{batch_id}}}:day:{day.isoformat()}"


def business_day(now: datetime) -> date:
    """The business day (Asia/Shanghai) an instant falls on."""
    return now.astimezone(BUSINESS_ZONE).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a business day, in UTC."""
    start = datetime.combine(day, time(), tzinfo=BUSINESS_ZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def _keys(batch_id: int, day: date | None) -> list[str]:
    return keys(batch_id) + ([day_key(batch_id, day)] if day is not None else [])


def version_key(batch_id: int) -> str:
    """The batch's version token (coupons/batch_cache.py), beside the gate's keys on the same slot."""
    return f"coupons:{{b{batch_id}}}:version"


def take(client: redis.Redis, batch_id: int, member_id: int, limit: int, *,
         daily_limit: int | None = None, day: date | None = None, version: bytes | None = None) -> int:
    """The member's new count of this batch (their coupon's sequence), or OUT_OF_STOCK,
    OUT_OF_STOCK_HELD, LIMIT_REACHED, DAILY_LIMIT_REACHED (with ``daily_limit`` on ``day``), MISSING
    (no gate yet: build it and call again) or, with ``version``, STALE_COPY (the batch's token is another:
    nothing was taken)."""
    names, args = [*keys(batch_id), version_key(batch_id)], [member_id, limit, version or b""]
    if daily_limit is not None and day is not None:
        names.append(day_key(batch_id, day))
        args += [daily_limit, _DAY_KEY_SECONDS]
    return int(_TAKE(client, names, args))


def give_back(client: redis.Redis, batch_id: int, member_id: int, *, day: date | None = None) -> None:
    """Undo a ``take`` whose coupon row was not written (``day``: the one it was taken on, if counted)."""
    names = _keys(batch_id, day)
    client.eval(_GIVE_BACK, len(names), *names, member_id)


def taken_on(client: redis.Redis, batch_ids: list[int], day: date) -> list[int]:
    """How many coupons of each batch the gates counted on ``day`` (0 where none or not counted)."""
    pipe = client.pipeline(transaction=False)  # the keys live on several cluster slots
    for batch_id in batch_ids:
        pipe.get(day_key(batch_id, day))
    return [int(count or 0) for count in pipe.execute()]


def build(client: redis.Redis, batch_id: int, *, remaining: int, held: Mapping[int, int],
          only_if_absent: bool, day: date | None = None, today: int = 0) -> bool:
    """Set the gate to ``remaining``, the members' counts and (``day`` given) the day's count;
    False if it existed and ``only_if_absent``."""
    pairs = [str(value) for member, count in held.items() for value in (member, count)]
    names = _keys(batch_id, day)
    return bool(client.eval(_BUILD, len(names), *names, int(only_if_absent), max(remaining, 0), today,
                            _DAY_KEY_SECONDS, *pairs))
