"""The claim gate: an atomic Redis Lua script in front of the coupon rows, which stay the record.

Per batch, keys sharing one hash tag (so they live on one Redis Cluster slot):

- ``coupons:{b<id>}:gate``: a hash of ``gen``, the generation the gate was built at (the batch row
  holds the current one, ``coupon_batches.gate_generation``), and ``next``, the lowest issue number
  never handed out;
- ``coupons:{b<id>}:holes``: a sorted set of free numbers below ``next`` (given back, or not in use
  when the gate was built), handed out lowest first once ``next`` has passed the total;
- ``coupons:{b<id>}:members``: a hash, member id -> coupons taken (the member's last sequence);
- for a batch with a daily limit, ``coupons:{b<id>}:daynext:<YYYY-MM-DD>`` and
  ``coupons:{b<id>}:dayholes:<YYYY-MM-DD>``: the same counter and holes for the numbers of the business
  day in Asia/Shanghai (1..daily_limit), expiring a few days later; absent means none taken that day
  (a rebuild writes today's with the gate);
- ``coupons:{b<id>}:version``: the batch's version token (coupons/claiming/batch_cache.py);
- ``coupons:{b<id>}:building``: held while the gate is rebuilt.

``take`` checks them all and hands out one coupon's numbers in a single script (one round trip): its
issue number (1..total), the member's sequence (1..per_member_limit) and the day's number. The
database refuses a number given twice (unique keys) or beyond its bound (the INSERT,
coupons/claiming/queries.py), so whatever state Redis is in, it cannot issue more than the batch allows.
What Redis can get wrong, and what follows:

- missing (a flushed Redis, a new batch), half built, or of another generation than the caller's copy
  of the batch (a snapshot from before the last rebuild): ``take`` answers REBUILD and serves nothing;
- behind the rows at the current generation (a snapshot taken after the last rebuild, a replica
  promoted while lagging): it hands out a number the rows hold; the INSERT is refused, and the gate is
  rebuilt at once (coupons/claiming/taking.py).

The gate never counts down: a rebuild (coupons/claiming/taking.py) sets the counter past the highest number
in use and makes holes of every number below it that no row holds, so a number lost between the gate
and a commit (a killed process) comes back, and a number in use is never handed out by the rebuilt
gate. A batch of a million coupons costs a counter and a few holes, not a million-element set.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple, TypeVar

import redis

from shop.config import BUSINESS_ZONE
from shop.redis_scripts import RedisScript

OUT_OF_STOCK = -1
LIMIT_REACHED = -2
REBUILD = -3  # no gate, a half-built one, or one of another generation: rebuild it (nothing was taken)
DAILY_LIMIT_REACHED = -4
STALE_COPY = -5  # the caller's copy of the batch is not the current one (its version token differs)
OUT_OF_STOCK_HELD = -6  # out of stock, and the member holds some already (perhaps retrying a claim that got one)

_DAY_KEY_SECONDS = 3 * 24 * 3600  # long enough for a late give-back of yesterday's take
_LOCK_MS = 30_000  # a builder that died frees the gate after this
_CHUNK = 5000  # members or holes per command while building
_T = TypeVar("_T")


class Grant(NamedTuple):
    """What ``take`` handed out: the member's sequence, the issue number, the day's number (None
    without a daily limit), under this generation of the gate; whether the numbers came from the holes."""

    sequence: int
    number: int
    day_number: int | None
    generation: int
    from_holes: bool = False
    day_from_holes: bool = False


@dataclass(frozen=True)
class State:
    """A whole gate, as built from the coupon rows."""

    generation: int
    next_number: int
    holes: list[int]
    held: dict[int, int]  # member id -> their highest sequence
    day: date | None = None
    day_next: int = 1
    day_holes: list[int] = field(default_factory=list)


# KEYS: gate, holes, members, version[, daynext, dayholes]. ARGV: member, per-member limit, version token
# ('' = not checked), generation, total[, daily limit, day key ttl]. Everything is checked before anything
# is taken, so a refusal changes nothing.
_TAKE = RedisScript("""
if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then return -5 end
local gate = redis.call('HMGET', KEYS[1], 'gen', 'next')
if gate[1] ~= ARGV[4] or not gate[2] then return -3 end
local nxt = tonumber(gate[2])
local from_holes = nxt > tonumber(ARGV[5])
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if from_holes and redis.call('ZCARD', KEYS[2]) == 0 then
  if held > 0 then return -6 end
  return -1
end
if held >= tonumber(ARGV[2]) then return -2 end
local day_number, day_hole = 0, 0
if KEYS[5] then
  local day_next = tonumber(redis.call('GET', KEYS[5]) or '1')
  if day_next <= tonumber(ARGV[6]) then
    day_number = day_next
    redis.call('SET', KEYS[5], day_next + 1, 'EX', ARGV[7])
  else
    local hole = redis.call('ZPOPMIN', KEYS[6])
    if not hole[1] then return -4 end
    day_number, day_hole = tonumber(hole[1]), 1
  end
end
local number
if from_holes then
  number = tonumber(redis.call('ZPOPMIN', KEYS[2])[1])
else
  number = nxt
  redis.call('HSET', KEYS[1], 'next', nxt + 1)
end
return {redis.call('HINCRBY', KEYS[3], ARGV[1], 1), number, from_holes and 1 or 0, day_number, day_hole}
""")

# KEYS: gate, holes, members[, daynext, dayholes]. ARGV: member, generation, number, day number (0: not given
# back), day key ttl, the member's least count (the rows': 0 if not known). A gate rebuilt since the take was
# built from the rows: it is left alone.
_GIVE_BACK = RedisScript("""
local gate = redis.call('HMGET', KEYS[1], 'gen', 'next')
if gate[1] ~= ARGV[2] or not gate[2] then return 0 end
local number = tonumber(ARGV[3])
if number > 0 and number < tonumber(gate[2]) then redis.call('ZADD', KEYS[2], number, number) end
local held = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
if held > 0 then held = redis.call('HINCRBY', KEYS[3], ARGV[1], -1) end
if tonumber(ARGV[6]) > held then redis.call('HSET', KEYS[3], ARGV[1], ARGV[6]) end
if KEYS[4] then
  local day_number = tonumber(ARGV[4])
  if day_number > 0 and day_number < tonumber(redis.call('GET', KEYS[4]) or '1') then
    redis.call('ZADD', KEYS[5], ARGV[4], ARGV[4])
    redis.call('EXPIRE', KEYS[5], ARGV[5])
  end
end
return 1
""")

# KEYS: the gate's keys, then the lock. ARGV: the lock's token. The gate is gone until _FINISH: takes answer
# REBUILD and wait for the builder.
_BEGIN = RedisScript("""
if redis.call('GET', KEYS[#KEYS]) ~= ARGV[1] then return 0 end
redis.call('UNLINK', unpack(KEYS, 1, #KEYS - 1))
return 1
""")

# KEYS: gate, version, lock[, daynext, dayholes]. ARGV: lock token, generation, next, version token[, day next,
# day key ttl].
_FINISH = RedisScript("""
if redis.call('GET', KEYS[3]) ~= ARGV[1] then return 0 end
if KEYS[4] then
  redis.call('SET', KEYS[4], ARGV[5], 'EX', ARGV[6])
  redis.call('EXPIRE', KEYS[5], ARGV[6])
end
redis.call('HSET', KEYS[1], 'gen', ARGV[2], 'next', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4])
return 1
""")

_UNLOCK = RedisScript("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")


def _key(batch_id: int, name: str) -> str:
    return f"coupons:{{b{batch_id}}}:{name}"


def keys(batch_id: int) -> list[str]:
    """The gate's own keys: the counter and generation, the holes, the members."""
    return [_key(batch_id, "gate"), _key(batch_id, "holes"), _key(batch_id, "members")]


def day_keys(batch_id: int, day: date) -> list[str]:
    """The day's counter (and generation) and holes."""
    return [_key(batch_id, f"daynext:{day.isoformat()}"), _key(batch_id, f"dayholes:{day.isoformat()}")]


def version_key(batch_id: int) -> str:
    """The batch's version token (coupons/claiming/batch_cache.py), beside the gate's keys on the same slot."""
    return _key(batch_id, "version")


def lock_key(batch_id: int) -> str:
    return _key(batch_id, "building")


def business_day(now: datetime) -> date:
    """The business day (Asia/Shanghai) an instant falls on."""
    return now.astimezone(BUSINESS_ZONE).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a business day, in UTC."""
    start = datetime(day.year, day.month, day.day, tzinfo=BUSINESS_ZONE)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def take(client: redis.Redis, batch_id: int, member_id: int, *, limit: int, total: int, generation: int,
         daily_limit: int | None = None, day: date | None = None, version: bytes | None = None) -> Grant | int:
    """The coupon's numbers (a Grant), or OUT_OF_STOCK, OUT_OF_STOCK_HELD, LIMIT_REACHED,
    DAILY_LIMIT_REACHED (with ``daily_limit`` on ``day``), REBUILD (the gate is not one of ``generation``:
    rebuild it and call again) or, with ``version``, STALE_COPY (the batch's token is another). Nothing is
    taken unless a Grant is returned."""
    names = [*keys(batch_id), version_key(batch_id)]
    args: list = [member_id, limit, version or b"", generation, total]
    if daily_limit is not None and day is not None:
        names += day_keys(batch_id, day)
        args += [daily_limit, _DAY_KEY_SECONDS]
    answer = _TAKE(client, names, args)
    if isinstance(answer, int):
        return answer
    sequence, number, from_holes, day_number, day_from_holes = (int(value) for value in answer)
    return Grant(sequence, number, day_number or None, generation, bool(from_holes), bool(day_from_holes))


def give_back(client: redis.Redis, batch_id: int, member_id: int, grant: Grant, *, day: date | None = None,
              in_use: frozenset[str] = frozenset(), held: int = 0) -> None:
    """Undo a ``take`` whose coupon row was not written (``day``: the one it was taken on, if counted),
    but for the numbers ``in_use`` ("issue_number", "day_number": rows hold them, they are not free);
    ``held``: the member's count is at least this (what the rows say), whatever the gate thought."""
    names = keys(batch_id) + (day_keys(batch_id, day) if day is not None and grant.day_number else [])
    number = 0 if "issue_number" in in_use else grant.number
    day_number = 0 if "day_number" in in_use else grant.day_number or 0
    _GIVE_BACK(client, names, [member_id, grant.generation, number, day_number, _DAY_KEY_SECONDS, held])


def generation(client: redis.Redis, batch_id: int) -> int | None:
    """The generation of the batch's gate; None if it has none (missing or half built)."""
    found = client.hget(keys(batch_id)[0], "gen")
    return int(found) if found is not None else None


def left(client: redis.Redis, batch_id: int, total: int) -> int | None:
    """Coupons the gate would still hand out; None without a gate."""
    pipe = client.pipeline(transaction=False)
    pipe.hget(keys(batch_id)[0], "next")
    pipe.zcard(keys(batch_id)[1])
    next_number, holes = pipe.execute()
    return None if next_number is None else max(total + 1 - int(next_number), 0) + holes


def taken_on(client: redis.Redis, batch_ids: list[int], day: date) -> list[int]:
    """How many coupons of each batch the gates counted on ``day`` (0 where none or not counted)."""
    pipe = client.pipeline(transaction=False)  # the keys live on several cluster slots
    for batch_id in batch_ids:
        day_next, day_holes = day_keys(batch_id, day)
        pipe.get(day_next)
        pipe.zcard(day_holes)
    answers = pipe.execute()
    return [max(int(answers[i] or 1) - 1 - answers[i + 1], 0) for i in range(0, len(answers), 2)]


def lock(client: redis.Redis, batch_id: int) -> str | None:
    """The token of the rebuild lock, or None if another process is rebuilding the gate."""
    token = secrets.token_hex(8)
    return token if client.set(lock_key(batch_id), token, nx=True, px=_LOCK_MS) else None


def unlock(client: redis.Redis, batch_id: int, token: str) -> None:
    _UNLOCK(client, [lock_key(batch_id)], [token])


def wait_unlocked(client: redis.Redis, batch_id: int, seconds: float) -> bool:
    """Wait until no one rebuilds the gate; False if someone still does after ``seconds``."""
    deadline = time.monotonic() + seconds
    while client.exists(lock_key(batch_id)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def build(client: redis.Redis, batch_id: int, state: State, *, lock_token: str) -> bool:
    """Replace the gate with ``state`` and give the batch a new version token (every process reloads
    its copy, and with it the generation); False if the lock was lost meanwhile (nothing finished).

    The gate is absent while its members and holes are written, a chunk at a time (a batch may have a
    million holders), and appears whole at the end.
    """
    gate_key, holes_key, members_key = keys(batch_id)
    days = day_keys(batch_id, state.day) if state.day is not None else []
    if not _BEGIN(client, [gate_key, holes_key, members_key, *days, lock_key(batch_id)], [lock_token]):
        return False
    pipe = client.pipeline(transaction=False)
    for chunk in _chunks(list(state.held.items())):
        pipe.hset(members_key, mapping=dict(chunk))
    for name, numbers in ((holes_key, state.holes), (days[1] if days else None, state.day_holes)):
        for chunk in _chunks(numbers if name else []):
            pipe.zadd(name, {number: number for number in chunk})
    pipe.execute()
    finish_keys = [gate_key, version_key(batch_id), lock_key(batch_id), *days]
    finish_args: list = [lock_token, state.generation, state.next_number, secrets.token_hex(8)]
    if days:
        finish_args += [state.day_next, _DAY_KEY_SECONDS]
    return bool(_FINISH(client, finish_keys, finish_args))


def _chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start:start + _CHUNK]
