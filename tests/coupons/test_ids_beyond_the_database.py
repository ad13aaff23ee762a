"""Ids and codes no row can have (beyond BIGINT, or with a NUL) are not found or invalid, never a database error."""

import pytest
from sqlalchemy import func, select

from coupons.models import CouponBatch
from shop.auth import Role
from shop.extensions import db
from tests.coupons.conftest import batch_body

TOO_BIG = (2**63, 2**64, 10**30)


@pytest.mark.parametrize("too_big", TOO_BIG)
def test_a_batch_coupon_or_redemption_id_beyond_any_row_is_a_404_before_any_view(
        client, login, staff_token, marketing, stores, too_big):
    shopper = {"Authorization": f"Bearer {login('alice:1')['token']}", "Idempotency-Key": "probe-key-0001"}
    clerk = staff_token(Role.STAFF, store_ids=[stores[0]])
    asked = [
        ("GET", f"/api/v1/admin/coupon-batches/{too_big}", marketing, "not_found"),
        ("POST", f"/api/v1/admin/coupon-batches/{too_big}/activate", marketing, "not_found"),
        ("GET", f"/api/v1/admin/coupon-batches/{too_big}/issue-jobs", marketing, "not_found"),
        ("GET", f"/api/v1/admin/coupon-batches/{too_big}/exchange-codes.csv", marketing, "not_found"),
        ("POST", f"/api/v1/coupon-batches/{too_big}/claim", shopper, "not_found"),
        ("GET", f"/api/v1/me/coupons/{too_big}", shopper, "not_found"),
        ("GET", f"/api/v1/me/coupons/{too_big}/code", shopper, "not_found"),
        ("GET", f"/api/v1/me/coupons/{too_big}/code/qr.png", shopper, "not_found"),
        ("POST", f"/api/v1/staff/redemptions/{too_big}/revert", clerk, "not_found"),
    ]
    for method, path, headers, code in asked:
        response = client.open(path, method=method, headers=headers)
        assert (response.status_code, response.get_json()["code"]) == (404, code), path


def test_scope_ids_beyond_any_row_are_a_422_naming_the_field_and_create_nothing(app, client, marketing):
    for field in ("scope_product_ids", "scope_category_ids", "scope_store_ids"):
        response = client.post("/api/v1/admin/coupon-batches", json=batch_body(**{field: [2**63]}), headers=marketing)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CouponBatch)) == 0


def test_an_exchange_code_with_a_nul_is_refused_and_an_issue_job_id_with_one_not_found(client, login, marketing,
                                                                                        active_batch):
    shopper = {"Authorization": f"Bearer {login('alice:1')['token']}"}
    batch_id = active_batch(channel="targeted")
    for typed in ("\x00", "ABCD\x00EFGH2345"):  # text refuses control characters (shop.fields)
        response = client.post("/api/v1/me/coupons/exchange", json={"code": typed}, headers=shopper)
        assert (response.status_code, response.get_json()["code"]) == (422, "validation_error")
    for job_id in ("%00", "a" * 31 + "%00", "A" * 32):
        response = client.get(f"/api/v1/admin/coupon-batches/{batch_id}/issue-jobs/{job_id}", headers=marketing)
        assert (response.status_code, response.get_json()["code"]) == (404, "coupon_issue_job_not_found")
