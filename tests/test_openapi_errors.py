"""The error responses in the OpenAPI spec come from the error enums, so the docs cannot drift from the codes."""

import pytest

from shop.errors import ErrorCode

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def _every_error_code() -> dict[str, ErrorCode]:
    found, families = {}, list(ErrorCode.__subclasses__())
    while families:
        family = families.pop()
        families.extend(family.__subclasses__())
        found.update({member.value: member for member in family})
    return found


def _operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _documented_codes(operation) -> dict[str, set[str]]:
    return {status: set(response.get("x-codes", ())) for status, response in operation["responses"].items()
            if status != "default" and int(status) >= 400}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def test_every_documented_error_code_is_a_code_of_ours_with_that_status(spec):
    codes = _every_error_code()
    for path, method, operation in _operations(spec):
        for status, documented in _documented_codes(operation).items():
            response = operation["responses"][status]
            assert documented, f"{method} {path} {status} names no code"
            assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            for code in documented:
                assert code in codes, f"{method} {path}: {code} is in no ErrorCode enum"
                assert codes[code].status == int(status), f"{method} {path}: {code} is not {status}"
                assert f"`{code}`" in response["description"]


def test_every_role_protected_endpoint_documents_401_and_403(spec):
    protected = [(path, method, operation) for path, method, operation in _operations(spec) if "x-roles" in operation]
    assert protected
    for path, method, operation in protected:
        documented = _documented_codes(operation)
        assert {"token_missing", "token_invalid", "token_expired"} <= documented.get("401", set()), (method, path)
        assert "forbidden" in documented.get("403", set()), (method, path)


def test_an_account_that_must_change_its_password_is_documented_on_staff_side_endpoints(spec):
    stores = _documented_codes(spec["paths"]["/api/v1/admin/stores"]["post"])
    change_password = _documented_codes(spec["paths"]["/api/v1/staff/password"]["post"])
    assert "staff_password_change_required" in stores["403"]
    assert "staff_password_change_required" not in change_password["403"]


def test_every_endpoint_with_arguments_documents_validation_error_in_our_shape(spec):
    refund = _documented_codes(spec["paths"]["/api/v1/orders/{order_id}/refund"]["post"])
    assert "validation_error" in refund["422"]
    for path, method, operation in _operations(spec):
        validated = operation.get("requestBody") or any(p.get("in") == "query" for p in operation.get("parameters", ()))
        if validated:
            assert "validation_error" in operation["responses"]["422"]["x-codes"], (method, path)


def test_every_endpoint_reading_a_json_body_documents_the_400_of_a_body_that_does_not_parse(spec, client):
    # Found by the fuzz (tests/fuzz): a body that is not JSON is answered 400 before any validation.
    answer = client.post("/api/v1/auth/staff-login", data=b"\x00", content_type="application/json")
    assert (answer.status_code, answer.get_json()["code"]) == (400, "bad_request")
    for path, method, operation in _operations(spec):
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert "bad_request" in _documented_codes(operation).get("400", set()), (method, path)


def test_a_decimal_sent_as_a_string_is_a_string_in_the_spec(spec, client, login):
    # Found by the fuzz: apispec called the tier's multiplier a number while the answer carries "1.0".
    assert spec["components"]["schemas"]["Tier"]["properties"]["multiplier"]["type"] == "string"
    token = login("points:1")["token"]
    tier = client.get("/api/v1/me/points", headers={"Authorization": f"Bearer {token}"}).get_json()["tier"]
    assert isinstance(tier["multiplier"], str)


@pytest.mark.parametrize(("method", "path", "status", "codes"), [
    # Found by the fuzz: an unknown category filter, a malformed optional Idempotency-Key.
    ("get", "/api/v1/admin/products", "404", {"category_not_found"}),
    ("post", "/api/v1/admin/coupon-batches/{batch_id}/issue", "400", {"idempotency_key_required"}),
    ("post", "/api/v1/orders/{order_id}/refund", "409", {"refund_in_progress", "order_not_refundable",
                                                          "refund_exceeds_paid"}),
    ("post", "/api/v1/orders/{order_id}/refund", "404", {"order_not_found"}),
    ("post", "/api/v1/orders/{order_id}/cancel", "409", {"order_not_cancellable"}),
    ("post", "/api/v1/staff/pickups", "409", {"pickup_already_completed", "pickup_blocked_by_refund"}),
    ("post", "/api/v1/staff/pickups", "403", {"pickup_wrong_store"}),
    ("post", "/api/v1/staff/pickups", "404", {"pickup_code_invalid"}),
    ("post", "/api/v1/auth/staff-login", "401", {"staff_login_failed"}),
    ("post", "/api/v1/admin/stores", "409", {"store_code_taken"}),
    ("delete", "/api/v1/admin/stores/{store_id}", "409", {"store_has_history"}),
    ("post", "/api/v1/me/withdrawals", "409", {"commission_insufficient", "withdrawal_already_open"}),
    ("post", "/api/v1/me/withdrawals", "400", {"idempotency_key_required"}),
    ("post", "/api/v1/admin/referral/members/{member_id}/rebind", "409", {"referral_cycle"}),
    ("post", "/api/v1/shares/open", "404", {"share_not_found"}),
    ("post", "/api/v1/coupon-batches/{batch_id}/claim", "409", {"coupon_out_of_stock", "coupon_limit_reached"}),
    ("post", "/api/v1/coupon-batches/{batch_id}/claim", "503", {"coupon_gate_rebuilding"}),
    ("post", "/api/v1/staff/redemptions", "409", {"coupon_used", "coupon_code_stale"}),
    ("post", "/api/v1/staff/redemptions", "404", {"coupon_code_invalid"}),
    ("post", "/api/v1/admin/coupon-batches/{batch_id}/pause", "409", {"coupon_batch_state_conflict"}),
    ("post", "/api/v1/me/coupons/exchange", "409", {"exchange_code_used"}),
])
def test_an_endpoint_documents_the_codes_its_service_answers(spec, method, path, status, codes):
    assert codes <= _documented_codes(spec["paths"][path][method]).get(status, set())
