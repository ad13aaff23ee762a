"""The catalog's Redis side: cached reads, and the set of stores selling each product.

Invalidation by version tokens. ``catalog:ver`` turns over on every catalog change and
``catalog:product:<id>:ver`` on every change to that product (its SKUs, availability, sale status,
stock running out or coming back); cache keys embed the tokens they were built under, so a change
makes every older entry unreachable at once, on every app instance. A token turns over only after
the change commits, and a reader takes the token before it reads the database, so an entry is
never stored under a token newer than the data in it. Tokens are random rather than counters: a
token lost from Redis (a flush, an eviction) is replaced by a new one, which can never bring back
an old entry. Entries expire (``READ_TTL``) in case Redis missed a turnover.

Redis is never the only copy: each entry is rebuilt from the database when missing, and
``flask catalog rebuild-cache`` rebuilds everything. When Redis is down, reads go to the database.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import orjson
import redis
from redis.cluster import RedisCluster
from sqlalchemy import select

from shop.catalog.models import Product, ProductStatus, Sku, StoreSku
from shop.extensions import db, redis_client
from shop.redis_connections import REDIS_ERRORS
from shop.transactions import after_commit

log = logging.getLogger(__name__)

CATALOG_TOKEN = "catalog:ver"  # noqa: S105 - a Redis key (the catalog's version token), not a secret
READ_TTL = 300  # seconds: the longest a missed turnover can serve stale data
SET_TTL = 24 * 3600
# Tokens expire too (a lost token only costs a rebuild), so ids that clients make up cannot pile up.
TOKEN_TTL = 7 * 24 * 3600
EMPTY = b"-"  # Redis keeps no empty sets: this member marks "built, and no store sells it"


def product_token_key(product_id: int) -> str:
    return f"catalog:product:{product_id}:ver"


def stores_key(product_id: int, token: str) -> str:
    return f"catalog:product:{product_id}:stores:{token}"


def _new_token() -> str:
    return secrets.token_hex(6)


def _tokens(client: redis.Redis, keys: list[str]) -> list[str]:
    """The current tokens under these keys, creating any that are missing."""
    values = _get_each(client, keys)
    if any(value is None for value in values):
        pipe = client.pipeline(transaction=False)
        for key, value in zip(keys, values, strict=True):
            if value is None:
                pipe.set(key, _new_token(), nx=True, ex=TOKEN_TTL)  # NX: a concurrent reader's wins
        pipe.execute()
        values = _get_each(client, keys)
    return [value.decode() for value in values]


def _get_each(client: redis.Redis, keys: list[str]) -> list[bytes | None]:
    """The values of keys that need not be read together: on a Redis Cluster they live on several slots."""
    if len(keys) == 1:
        return [client.get(keys[0])]
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
    return pipe.execute()


# --- invalidation -----------------------------------------------------------------------------

def catalog_changed(*, product_ids: Iterable[int] = (), everything: bool = True) -> None:
    """Turn the caches over once the current transaction commits.

    ``everything``: lists, the category tree and every product page; ``product_ids``: those
    products' pages and store sets only (what stock running out changes).
    """
    if everything:
        after_commit(_turn_over_catalog, key="catalog:everything")
    for product_id in set(product_ids):
        after_commit(_turn_over_product, key=("catalog:product", product_id), prepare=lambda p=product_id: p)


def _turn_over_catalog() -> None:
    redis_client().set(CATALOG_TOKEN, _new_token(), ex=TOKEN_TTL)


def _turn_over_product(product_id: int) -> None:
    """A new token for the product, and its store set rebuilt from what has just been committed."""
    client, token = redis_client(), _new_token()
    client.set(product_token_key(product_id), token, ex=TOKEN_TTL)
    _write_set(client, product_id, token, _committed_stores([product_id]).get(product_id, set()))


# --- cached reads -----------------------------------------------------------------------------

def cached_json(name: str, params: Any, build: Callable[[], Any], *, product_id: int | None = None) -> bytes:
    """The JSON of ``build()``, from Redis when built under the current tokens."""
    try:
        client = redis_client()
        keys = [CATALOG_TOKEN] + ([product_token_key(product_id)] if product_id is not None else [])
        # stdlib json: orjson refuses integers beyond 64 bits, which a client can send.
        digest = hashlib.sha1(json.dumps(params, sort_keys=True, default=str).encode(),
                              usedforsecurity=False).hexdigest()[:24]
        key = f"catalog:cache:{name}:{':'.join(_tokens(client, keys))}:{digest}"
        hit = client.get(key)
    except REDIS_ERRORS as exc:
        log.warning("catalog cache unavailable, reading the database: %s", exc)
        return orjson.dumps(build())
    if hit is not None:
        return hit
    body = orjson.dumps(build())
    try:
        client.set(key, body, ex=READ_TTL)
    except REDIS_ERRORS as exc:
        log.warning("catalog cache not written: %s", exc)
    return body


# --- stores selling a product -----------------------------------------------------------------

def store_ids_selling(product_id: int) -> set[int]:
    """Ids of the stores where one of the product's active SKUs is available (while on sale)."""
    try:
        client = redis_client()
        token = _tokens(client, [product_token_key(product_id)])[0]
        members = client.smembers(stores_key(product_id, token))
    except REDIS_ERRORS as exc:
        log.warning("catalog store sets unavailable, reading the database: %s", exc)
        return _committed_stores([product_id]).get(product_id, set())
    if members:
        return {int(member) for member in members if member != EMPTY}
    store_ids = _committed_stores([product_id]).get(product_id, set())
    try:
        _write_set(client, product_id, token, store_ids)
    except REDIS_ERRORS as exc:
        log.warning("catalog store set not written: %s", exc)
    return store_ids


def _write_set(client: redis.Redis | redis.client.Pipeline, product_id: int, token: str,
               store_ids: Iterable[int]) -> None:
    key = stores_key(product_id, token)
    pipe = client.pipeline(transaction=True) if isinstance(client, (redis.Redis, RedisCluster)) else client
    pipe.delete(key)  # in one MULTI: readers see the old set or the whole new one
    pipe.sadd(key, EMPTY, *store_ids)
    pipe.expire(key, SET_TTL)
    if pipe is not client:
        pipe.execute()


def _committed_stores(product_ids: list[int] | None) -> dict[int, set[int]]:
    """{product id: store ids selling it}, every product when ``product_ids`` is None.

    On a connection of its own: only committed data may reach Redis (the caller's transaction
    could still roll back), and after a commit the session cannot run SQL.
    """
    statement = (select(Sku.product_id, StoreSku.store_id).distinct()
                 .join(StoreSku, StoreSku.sku_id == Sku.id).join(Product, Product.id == Sku.product_id)
                 .where(Sku.active.is_(True), StoreSku.available.is_(True),
                        Product.status == ProductStatus.ON_SALE.value))
    if product_ids is not None:
        statement = statement.where(Sku.product_id.in_(product_ids))
    selling: dict[int, set[int]] = defaultdict(set)
    with db.engine.connect() as connection:
        for product_id, store_id in connection.execute(statement):
            selling[product_id].add(store_id)
    return selling


def rebuild_all(batch: int = 1000) -> int:
    """Drop every cached read and rebuild every product's store set; the number of products."""
    client = redis_client()
    client.set(CATALOG_TOKEN, _new_token(), ex=TOKEN_TTL)
    product_ids = list(db.session.scalars(select(Product.id).order_by(Product.id)))
    tokens = {product_id: _new_token() for product_id in product_ids}
    # Tokens first, then the read: a change committed meanwhile turns its product over again.
    for chunk in _chunks(product_ids, batch):
        pipe = client.pipeline(transaction=False)
        for product_id in chunk:
            pipe.set(product_token_key(product_id), tokens[product_id], ex=TOKEN_TTL)
        pipe.execute()
    selling = _committed_stores(None)
    for chunk in _chunks(product_ids, batch):
        pipe = client.pipeline(transaction=False)
        for product_id in chunk:
            _write_set(pipe, product_id, tokens[product_id], selling.get(product_id, ()))
        pipe.execute()
    return len(product_ids)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    return (items[start:start + size] for start in range(0, len(items), size))
