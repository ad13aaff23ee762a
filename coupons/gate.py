"""The claim gate: an atomic Redis Lua script in front of the coupon rows.

Per batch, two keys (one hash tag, so they live on one Redis Cluster slot):
``coupons:{b<id>}:remaining`` (coupons left) and ``coupons:{b<id>}:members`` (a hash: member id ->
coupons taken). ``take`` checks both and takes one in a single script, so two app instances can
never both take the last coupon or a member's last allowed one. The database stays the record:
a gate that is missing (a flushed or new Redis) is built from the coupon rows on first use
(only if still absent), and `flask coupons rebuild-gates` rebuilds every gate from them.
"""

from __future__ import annotations

from collections.abc import Mapping

import redis

OUT_OF_STOCK = -1
LIMIT_REACHED = -2
MISSING = -3

_TAKE = """
local remaining = redis.call('GET', KEYS[1])
if not remaining then return -3 end
if tonumber(remaining) <= 0 then return -1 end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held >= tonumber(ARGV[2]) then return -2 end
redis.call('DECR', KEYS[1])
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
"""

_GIVE_BACK = """
if not redis.call('GET', KEYS[1]) then return 0 end
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held <= 0 then return 0 end
redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
return 1
"""

# ARGV: only_if_absent (0/1), remaining, then member, count pairs.
_BUILD = """
if ARGV[1] == '1' and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""


def keys(batch_id: int) -> list[str]:
    return [f"coupons:{{b{batch_id}}}:remaining", f"coupons:{{b{batch_id}}}:members"]


def take(client: redis.Redis, batch_id: int, member_id: int, limit: int) -> int:
    """The member's new count of this batch (their coupon's sequence), or OUT_OF_STOCK,
    LIMIT_REACHED or MISSING (no gate yet: build it and call again)."""
    return int(client.eval(_TAKE, 2, *keys(batch_id), member_id, limit))


def give_back(client: redis.Redis, batch_id: int, member_id: int) -> None:
    """Undo a ``take`` whose coupon row was not written."""
    client.eval(_GIVE_BACK, 2, *keys(batch_id), member_id)


def build(client: redis.Redis, batch_id: int, *, remaining: int, held: Mapping[int, int],
          only_if_absent: bool) -> bool:
    """Set the gate to ``remaining`` and the members' counts; False if it existed and ``only_if_absent``."""
    pairs = [str(value) for member, count in held.items() for value in (member, count)]
    return bool(client.eval(_BUILD, 2, *keys(batch_id), int(only_if_absent), max(remaining, 0), *pairs))
