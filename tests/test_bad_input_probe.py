"""A probe of the coupon, referral and checkout endpoints with bad input and the wrong callers.

It walks the OpenAPI spec for every operation under the probed prefixes and sends what a careless or
hostile client would: no token, a token of each wrong role, path ids that are 0, huge or another
member's, bodies that are not objects or have the wrong type in each documented field, missing and
unknown fields, malformed JSON, wrong content types and garbage query parameters. Every answer must
be below 500, JSON with a stable ``code`` (a PNG or CSV success aside), the right status for the
wrong caller, and a request that failed must leave the probed tables exactly as they were.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text

from shop.auth import Role
from shop.extensions import db, limiter
from tests.conftest import bearer
from tests.coupons.conftest import active_batch, batch_body, marketing  # noqa: F401 (fixtures)
from tests.orders.conftest import Shop, pickup_basket, shop  # noqa: F401 (fixture)

PREFIXES = ("/api/v1/admin/coupon-batches", "/api/v1/coupon-batches", "/api/v1/me/coupons",
            "/api/v1/staff/redemptions", "/api/v1/orders", "/api/v1/shares", "/api/v1/admin/referral",
            "/api/v1/me/rewards", "/api/v1/me/withdrawals", "/api/v1/me/referrals")
# What a failed request must not have touched: every row of these, compared before and after.
WATCHED = ("coupon_batches", "coupons", "coupon_redemptions", "coupon_exchange_codes", "coupon_issue_jobs",
           "referral_settings", "referral_shares", "referral_share_opens", "referral_nodes",
           "referral_bind_history", "orders", "order_lines")
BINARY = ("image/png", "text/csv")
HUGE = 2**63
LONG = "x" * 10_000
# Per JSON type of a field: values that must be refused (the wrong type, beyond any limit, not text a
# database keeps), and values that may be fine or not for a given field (null, 0, a blank string...).
BAD_INTS = (["12", "abc", 1.5, 2**70, -(2**70), HUGE, True, [], {}], [-1, 0, None])
BAD_STRINGS = ([1, 2.5, True, [], {"a": 1}, LONG, "\u0000", "a\u0000b", "\ud800"], [None, "", "😀" * 40, " "])
BAD_DATETIMES = (["not a date", "2026-13-45T00:00:00Z", 1700000000, *BAD_STRINGS[0]],
                 ["2026-01-01T00:00:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "2026-01-01",
                  *BAD_STRINGS[1]])
BAD_ARRAYS = (["x", 1, {}, [None], ["x"], [2**70], [-1], [HUGE], [[1]], [{"a": 1}]], [None, [0], list(range(1, 2002))])
BAD_OBJECTS = (["x", 1, []], [None, {"": []}, {"x": "y"}, {"1": [2**70]}, {"1": "x"}, {str(2**70): [1, 1]},
                              {"-1": [1, 1]}, {"0": [1, 1]}, {"1": [1, 1, 1]}, {"1": None}])
REFUSED = tuple(range(400, 430))  # any refusal of the client's input
GARBAGE_QUERY = ["0", "-1", str(2**70), "abc", "", "1.5", "\u0000", LONG, "null", "[]"]
BAD_BOOLEANS = ([1, 0, "true", "false", "yes", [], {"a": 1}], [None])
NOT_OBJECTS = [[], [1, 2], "text", 12, 1.5, None, True]
MALFORMED = [b'{"a":', b"{'single': 1}", b"\xff\xfe{}", b"[1,", b"NaN", b'{"a": 1} trailing', b'{"a": "\\ud800"}']


@dataclass
class World:
    """The rows the probe aims at: the caller's own, another member's, and the tokens of every role."""

    tokens: dict[Role, dict]
    ids: dict[str, int | str]  # path parameter -> alice's (or a real) id
    aimed: dict[str, dict[str, int]]  # a path's end -> ids that let a good request get past the checks
    others: dict[str, int]  # path parameter -> bob's id, which alice must not reach
    other_clerk: dict  # a clerk of the other store, who must not reach the redemption
    bodies: dict[str, dict] = field(default_factory=dict)  # request schema -> a plausible body
    more_bodies: dict[str, list[dict]] = field(default_factory=dict)  # other plausible bodies, to vary too


def _create(client, path: str, headers: dict, body: dict | None = None, expect: int = 201) -> dict:
    response = client.post(path, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code == expect, (path, response.get_json())
    return response.get_json()


@pytest.fixture
def world(client, login, staff_token, shop: Shop, marketing, active_batch) -> World:  # noqa: F811
    alice, bob = login("alice:1"), login("bob:1")
    as_alice, as_bob = bearer(alice["token"]), bearer(bob["token"])
    clerk = staff_token(Role.STAFF, store_ids=[shop.store_id])
    admin = staff_token(Role.ADMIN)
    public = active_batch(usage="both", total=100, per_member_limit=5)
    own_coupon = _create(client, f"/api/v1/coupon-batches/{public}/claim", as_alice)["id"]
    bobs_coupon = _create(client, f"/api/v1/coupon-batches/{public}/claim", as_bob)["id"]
    redeemed = _create(client, f"/api/v1/coupon-batches/{public}/claim", as_bob)["id"]
    code = client.get(f"/api/v1/me/coupons/{redeemed}/code", headers=as_bob).get_json()["code"]
    redemption = _create(client, "/api/v1/staff/redemptions", clerk, {"code": code})["id"]
    targeted = active_batch(channel="targeted", total=10)
    draft = _create(client, "/api/v1/admin/coupon-batches", marketing, batch_body())["id"]
    job = _create(client, f"/api/v1/admin/coupon-batches/{targeted}/issue", marketing,
                  {"member_ids": [alice["member"]["id"]]}, expect=202)["id"]
    exchange = active_batch(channel="exchange_code", total=10)
    _create(client, f"/api/v1/admin/coupon-batches/{exchange}/exchange-codes", marketing, {"count": 2})
    bobs_share = _create(client, "/api/v1/shares", as_bob, {"campaign": "probe"})
    own_share = _create(client, "/api/v1/shares", as_alice, {})["share_id"]
    opened = client.post("/api/v1/shares/open", json={"scene": bobs_share["scene"]}, headers=as_alice)
    assert opened.status_code in (200, 201), opened.get_json()
    own_order = _create(client, "/api/v1/orders", as_alice, pickup_basket(shop))["order"]["id"]
    bobs_order = _create(client, "/api/v1/orders", as_bob, pickup_basket(shop))["order"]["id"]
    ids = {"batch_id": public, "coupon_id": own_coupon, "redemption_id": redemption, "job_id": job,
           "share_id": own_share, "member_id": alice["member"]["id"], "order_id": own_order,
           "decision": "clear", "withdrawal_id": 1}
    others = {"coupon_id": bobs_coupon, "share_id": bobs_share["share_id"], "order_id": bobs_order}
    tokens = {Role.SHOPPER: as_alice, Role.STAFF: clerk, Role.MARKETING: marketing, Role.ADMIN: admin}
    basket = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "pickup",
              "store_id": shop.store_id, "coupon_id": own_coupon}
    delivery = {"items": [{"sku_id": shop.croissant, "quantity": 1}], "fulfilment": "delivery", "note": "ring twice",
                "address": {"name": "Li Lei", "phone": "13800138000", "region": "Shanghai Huangpu",
                            "detail": "1 Nanjing Road"}}
    bodies = {
        "CheckoutArgs": basket, "BatchArgs": batch_body(), "BatchChangesArgs": {"name": "renamed"},
        "IssueArgs": {"member_ids": [alice["member"]["id"]]}, "ExchangeCodesArgs": {"count": 1},
        "ExchangeArgs": {"code": "ABCD-EFGH-JKLM"}, "RedeemArgs": {"code": "123456789012", "store_id": shop.store_id},
        "ShareArgs": {"product_id": None, "campaign": "probe", "channel": "chat"},
        "OpenArgs": {"scene": bobs_share["scene"]}, "SettingsArgs": {"bind_mode": "first_touch"},
        "ApprovalArgs": {"reason": "ok"}, "RebindArgs": {"parent_id": bob["member"]["id"], "reason": "probe"},
        "ReasonArgs": {"reason": "probe"}, "RefundArgs": {"reason": "changed my mind"},
        "WithdrawalArgs": {"amount": 100}, "ApproveArgs": {"note": "ok"}, "RejectArgs": {"note": "no"},
    }
    aimed = {"/issue": {"batch_id": targeted}, "/issue-jobs": {"batch_id": targeted},
             "/exchange-codes": {"batch_id": exchange}, "/exchange-codes.csv": {"batch_id": exchange},
             "PATCH {batch_id}": {"batch_id": draft}}
    other_clerk = staff_token(Role.STAFF, store_ids=[shop.other_store_id])
    return World(tokens=tokens, ids=ids, aimed=aimed, others=others, other_clerk=other_clerk, bodies=bodies,
                 more_bodies={"CheckoutArgs": [delivery]})


@dataclass
class Operation:
    method: str
    template: str
    roles: frozenset[Role]
    query: dict[str, dict]  # name -> schema
    headers: list[str]
    body: str | None  # request schema name


def operations(spec: dict) -> list[Operation]:
    """Every documented operation under the probed prefixes."""
    found = []
    for template, item in spec["paths"].items():
        if not template.startswith(PREFIXES):
            continue
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = op.get("parameters", [])
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            found.append(Operation(
                method.upper(), template, frozenset(Role(r) for r in op.get("x-roles", [])),
                {p["name"]: p.get("schema", {}) for p in params if p["in"] == "query"},
                [p["name"] for p in params if p["in"] == "header"],
                content.get("schema", {}).get("$ref", "").rpartition("/")[2] or None))
    return found


def ids_for(op: Operation, world: World) -> dict:
    """The ids for this operation's path: a batch of the channel it needs (a draft to change)."""
    ids = dict(world.ids)
    for end, aimed in world.aimed.items():
        if op.template.endswith(end) or f"{op.method} {op.template.rpartition('/')[2]}" == end:
            ids.update(aimed)
    return ids


def fill(template: str, values: dict) -> str:
    path = template
    for name, value in values.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def bad_values(schema: dict) -> list[tuple[object, bool]]:
    """(value, must be refused) of the wrong type, size or range for a documented field."""
    kind = "object" if "$ref" in schema or "anyOf" in schema else schema.get("type")
    if kind == "string" and schema.get("format") == "date-time":
        kind = "date-time"
    refused, maybe = {"integer": BAD_INTS, "string": BAD_STRINGS, "date-time": BAD_DATETIMES, "array": BAD_ARRAYS,
                      "object": BAD_OBJECTS, "boolean": BAD_BOOLEANS}.get(kind, BAD_STRINGS)
    return [(value, True) for value in refused] + [(value, False) for value in maybe]


def body_variants(name: str, base: dict, components: dict) -> Iterator[tuple[str, object, bool]]:
    """(what, body, must be refused) for every field of a wrong type, size or value."""
    schema = components[name]
    for prop, prop_schema in schema["properties"].items():
        for value, refused in bad_values(prop_schema):
            yield f"{prop}={value!r:.40}", {**base, prop: value}, refused
        nested_ref = prop_schema.get("$ref") or next((a["$ref"] for a in prop_schema.get("anyOf", []) if "$ref" in a),
                                                     None)
        if nested_ref and isinstance(base.get(prop), dict):
            for nested_prop, nested_schema in components[nested_ref.rpartition("/")[2]]["properties"].items():
                for value, refused in bad_values(nested_schema):
                    yield (f"{prop}.{nested_prop}={value!r:.40}", {**base, prop: {**base[prop], nested_prop: value}},
                           refused)
        item_ref = prop_schema.get("items", {}).get("$ref")
        if item_ref and isinstance(base.get(prop), list) and base[prop]:
            item_schema = components[item_ref.rpartition("/")[2]]
            first = base[prop][0]
            for item_prop, item_prop_schema in item_schema["properties"].items():
                for value, refused in bad_values(item_prop_schema):
                    yield f"{prop}[0].{item_prop}={value!r:.40}", {**base, prop: [{**first, item_prop: value}]}, refused


class Prober:
    """Sends requests and records every answer that breaks the house rule."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.problems: list[str] = []
        self.sent = 0
        self.addresses = itertools.count(1)
        self.state = self.snapshot()

    def snapshot(self) -> dict[str, list]:
        with self.app.app_context():
            rows = {table: sorted(map(tuple, db.session.execute(text(f"SELECT * FROM {table}")).all()), key=repr)
                    for table in WATCHED}
            db.session.remove()
            return rows

    def send(self, op: Operation, path: str, what: str, *, headers: dict, expect: tuple[int, ...] | None = None,
             json_body=None, data=None, content_type=None, query=None) -> int:
        """One request; checks status, shape and (if it failed) that nothing changed."""
        kwargs = {"headers": {**headers}, "query_string": query,
                  "environ_base": {"REMOTE_ADDR": f"10.{next(self.addresses) % 250}.0.1"}}
        if "Idempotency-Key" in op.headers and "Idempotency-Key" not in headers:
            kwargs["headers"]["Idempotency-Key"] = uuid.uuid4().hex
        if data is not None:
            kwargs.update(data=data, content_type=content_type)
        elif json_body is not _NO_BODY:
            kwargs["data"], kwargs["content_type"] = json.dumps(json_body), "application/json"
        response = self.client.open(path, method=op.method, **kwargs)
        self.sent += 1
        self.check(op, path, what, response, expect)
        return response.status_code

    def check(self, op: Operation, path: str, what: str, response, expect) -> None:
        status, mimetype = response.status_code, response.mimetype
        payload = response.get_json(silent=True)
        trouble = []
        if status >= 500:
            trouble.append("5xx")
        if expect and status not in expect:
            trouble.append("expected a 4xx refusal" if expect == REFUSED else f"expected {expect}")
        binary_ok = status < 300 and mimetype in BINARY
        if not binary_ok and status != 204:
            if mimetype != "application/json":
                trouble.append(f"not JSON ({mimetype})")
            elif status >= 400 and not (isinstance(payload, dict) and isinstance(payload.get("code"), str)):
                trouble.append("no error code")
        after = self.snapshot()
        if status >= 400 and after != self.state:
            changed = [t for t in WATCHED if after[t] != self.state[t]]
            trouble.append(f"failed but changed {changed}")
        self.state = after
        if trouble:
            shown = json.dumps(payload)[:200] if payload is not None else response.get_data(as_text=True)[:120]
            self.problems.append(f"{op.method} {path[:90]} [{what}] -> {status} {', '.join(trouble)}: {shown}")


_NO_BODY = object()


def probe_callers(prober: Prober, op: Operation, world: World) -> None:
    """No token, a forged one, and every role the operation does not allow."""
    path = fill(op.template, ids_for(op, world))
    body = world.bodies.get(op.body, _NO_BODY) if op.body else _NO_BODY
    prober.send(op, path, "no token", headers={}, expect=(401,), json_body=body)
    prober.send(op, path, "forged token", headers=bearer("not.a.jwt"), expect=(401,), json_body=body)
    prober.send(op, path, "wrong scheme", headers={"Authorization": "Basic YTpi"}, expect=(401,), json_body=body)
    for role, headers in world.tokens.items():
        if role not in op.roles:
            prober.send(op, path, f"as {role.value}", headers=headers, expect=(403,), json_body=body)


def caller_for(op: Operation, world: World) -> dict:
    for role in (Role.SHOPPER, Role.STAFF, Role.ADMIN, Role.MARKETING):
        if role in op.roles:
            return world.tokens[role]
    raise AssertionError(f"{op.method} {op.template} states no role")


def probe_path_ids(prober: Prober, op: Operation, world: World, headers: dict) -> None:
    """Ids that are 0, huge, negative, not numbers, or another member's."""
    names = [n for n in world.ids if "{" + n + "}" in op.template]
    body = world.bodies.get(op.body, _NO_BODY) if op.body else _NO_BODY
    ids = ids_for(op, world)
    for name in names:
        for bad in (0, HUGE, 2**64, 2**53 + 1, -1, "abc", "1.5", "%00", "9" * 400):
            prober.send(op, fill(op.template, {**ids, name: bad}), f"{name}={bad!s:.20}", headers=headers,
                        expect=(400, 404, 405), json_body=body)
        if name in world.others and Role.SHOPPER in op.roles:
            prober.send(op, fill(op.template, {**ids, name: world.others[name]}), f"another member's {name}",
                        headers=headers, expect=(403, 404), json_body=body)


def probe_body(prober: Prober, op: Operation, world: World, headers: dict, components: dict) -> None:
    path = fill(op.template, ids_for(op, world))
    base = world.bodies[op.body]
    for text_body in MALFORMED:
        prober.send(op, path, f"malformed {text_body!r}", headers=headers, data=text_body,
                    content_type="application/json", expect=(400, 422))
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                         "application/xml"):
        prober.send(op, path, f"as {content_type}", headers=headers, data=json.dumps(base), content_type=content_type,
                    expect=(415,))
    prober.send(op, path, "no body", headers=headers, json_body=_NO_BODY)
    for value in NOT_OBJECTS:
        prober.send(op, path, f"body {value!r:.30}", headers=headers, json_body=value, expect=(400, 422))
    prober.send(op, path, "unknown field", headers=headers, json_body={**base, "zzz_unknown": 1}, expect=(422,))
    for required in components[op.body].get("required", []):
        prober.send(op, path, f"missing {required}", headers=headers, expect=(422,),
                    json_body={k: v for k, v in base.items() if k != required})
    for another_base in [base, *world.more_bodies.get(op.body, [])]:
        for what, body, refused in body_variants(op.body, another_base, components):
            prober.send(op, path, what, headers=headers, json_body=body,
                        expect=REFUSED if refused else None)


def probe_query(prober: Prober, op: Operation, world: World, headers: dict) -> None:
    path = fill(op.template, ids_for(op, world))
    for name in [*op.query, "zzz_unknown"]:  # unknown parameters are ignored, as HTTP caches expect
        for value in GARBAGE_QUERY:
            refused = name in op.query and value != ""
            prober.send(op, path, f"?{name}={value:.20}", headers=headers, query={name: value},
                        expect=REFUSED if refused else None)
    if op.query:
        prober.send(op, path, "every query param twice", headers=headers,
                    query=[(name, v) for name in op.query for v in ("1", "2")])


def probe_headers(prober: Prober, op: Operation, world: World, headers: dict) -> None:
    path = fill(op.template, ids_for(op, world))
    body = world.bodies.get(op.body, _NO_BODY) if op.body else _NO_BODY
    for value in ("", " ", LONG[:5000], "é\u0000"):
        prober.send(op, path, f"Idempotency-Key {value!r:.20}", headers={**headers, "Idempotency-Key": value},
                    json_body=body)


def probe_own_data(prober: Prober, world: World, found: list[Operation]) -> None:
    """Lists show a shopper their rows only, and a clerk their stores' redemptions only."""
    by_key = {(op.method, op.template): op for op in found}
    shopper = world.tokens[Role.SHOPPER]
    for template, other in (("/api/v1/me/coupons", "coupon_id"), ("/api/v1/orders", "order_id")):
        listed = prober.client.get(template, headers=shopper, query_string={"page_size": 100}).get_json()
        ids = {item["id"] for item in listed["items"]}
        if world.others[other] in ids or world.ids[other] not in ids:
            prober.problems.append(f"GET {template} shows {sorted(ids)}: not only the shopper's own")
    redemptions = by_key[("GET", "/api/v1/staff/redemptions")]
    listed = prober.client.get(redemptions.template, headers=world.other_clerk).get_json()
    if listed["total"] != 0:
        prober.problems.append(f"a clerk of another store lists {listed['items']}")
    revert = by_key[("POST", "/api/v1/staff/redemptions/{redemption_id}/revert")]
    prober.send(revert, fill(revert.template, world.ids), "clerk of another store", headers=world.other_clerk,
                expect=(404,), json_body=_NO_BODY)


# The walk in parts of similar size, so that the suite's workers share it (it is the suite's longest test).
PARTS = {"coupons": PREFIXES[:4], "orders": ("/api/v1/orders",), "referral": PREFIXES[5:]}


def test_the_probe_reaches_every_operation_under_its_prefixes(client):
    found = operations(client.get("/openapi.json").get_json())
    assert len(found) >= 40, [f"{op.method} {op.template}" for op in found]  # the walk reached them all
    assert sorted(itertools.chain(*PARTS.values())) == sorted(PREFIXES)  # the parts walk every prefix


@pytest.mark.parametrize("part", PARTS)
def test_every_coupon_referral_and_checkout_endpoint_refuses_bad_input_and_wrong_callers_cleanly(
        app, client, world, part):
    spec = client.get("/openapi.json").get_json()
    components = spec["components"]["schemas"]
    found = [op for op in operations(spec) if op.template.startswith(PARTS[part])]
    prober = Prober(app, client)
    # Our own limits would answer 429 to most of this long run and hide what the views do with it.
    enabled, limiter.enabled = limiter.enabled, False
    try:
        for op in found:
            probe_callers(prober, op, world)
            headers = caller_for(op, world)
            probe_path_ids(prober, op, world, headers)
            if op.body:
                probe_body(prober, op, world, headers, components)
            probe_query(prober, op, world, headers)
            if op.headers:
                probe_headers(prober, op, world, headers)
    finally:
        limiter.enabled = enabled
    assert prober.sent > 200
    assert not prober.problems, f"{len(prober.problems)} of {prober.sent} answers broke the rule:\n" + "\n".join(
        prober.problems)


def test_lists_show_a_shopper_and_a_clerk_only_their_own_rows(app, client, world):
    prober = Prober(app, client)
    probe_own_data(prober, world, operations(client.get("/openapi.json").get_json()))
    assert not prober.problems, "\n".join(prober.problems)
