"""Staff, marketing and admin accounts: created from the shell, logged in with a password."""

import pytest
from sqlalchemy import select

from shop.auth import Role
from shop.demo import seed_demo
from shop.errors import AppError
from shop.extensions import db
from shop.staff.models import StaffAccount
from shop.staff.service import create_staff
from tests.factories import make_store


def make_clerk(app, username="clerk1", password="counter-password-1", active=True):
    """A clerk at a new store; returns the store's id."""
    with app.app_context():
        store_id = make_store().id
        account = create_staff(username=username, password=password, role=Role.STAFF, store_ids=[store_id])
        account.active = active
        db.session.commit()
    return store_id


def test_a_clerk_logs_in_and_gets_a_staff_token_with_their_stores(app, client):
    store_id = make_clerk(app)
    response = client.post("/api/v1/auth/staff-login", json={"username": "clerk1", "password": "counter-password-1"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["role"] == "staff" and body["store_ids"] == [store_id] and body["token"]


def test_a_clerk_cannot_be_bound_to_a_store_that_does_not_exist(app):
    with app.app_context(), pytest.raises(AppError) as refused:
        create_staff(username="ghost", password="counter-password-1", role=Role.STAFF, store_ids=[999])
    assert refused.value.code == "store_not_found"


def test_wrong_password_unknown_user_and_disabled_account_fail_alike(app, client):
    make_clerk(app)
    make_clerk(app, username="gone", active=False)
    for username, password in (("clerk1", "wrong-password"), ("nobody", "counter-password-1"),
                               ("gone", "counter-password-1")):
        response = client.post("/api/v1/auth/staff-login", json={"username": username, "password": password})
        assert response.status_code == 401
        assert response.get_json()["code"] == "staff_login_failed"


def test_a_disabled_account_s_token_stops_working_at_once(app, client, staff_token):
    headers = staff_token(Role.ADMIN)
    assert client.get("/api/v1/admin/members", headers=headers).status_code == 200
    with app.app_context():
        account = db.session.scalar(select(StaffAccount).where(StaffAccount.role == "admin"))
        account.active = False
        db.session.commit()
    response = client.get("/api/v1/admin/members", headers=headers)
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


def test_guessing_passwords_from_one_address_is_rate_limited_across_usernames(app, client):
    make_clerk(app)
    statuses = [client.post("/api/v1/auth/staff-login", json={"username": f"guess-{i}", "password": "guess"}).status_code
                for i in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429
    limited = client.post("/api/v1/auth/staff-login", json={"username": "clerk1", "password": "counter-password-1"})
    assert limited.status_code == 429
    assert limited.get_json()["code"] == "rate_limited"
    assert "Retry-After" in limited.headers


def test_flask_staff_create_makes_an_account_that_can_log_in(app, client):
    result = app.test_cli_runner().invoke(args=["staff", "create", "mary", "--role", "marketing",
                                                "--password", "marketing-pass-1"])
    assert result.exit_code == 0, result.output
    assert "created marketing 'mary'" in result.output
    response = client.post("/api/v1/auth/staff-login", json={"username": "mary", "password": "marketing-pass-1"})
    assert response.status_code == 200 and response.get_json()["role"] == "marketing"


def test_flask_staff_create_refuses_a_short_password_and_a_taken_username(app):
    runner = app.test_cli_runner()
    short = runner.invoke(args=["staff", "create", "tim", "--password", "short"])
    assert short.exit_code != 0 and "at least 8" in short.output
    runner.invoke(args=["staff", "create", "tim", "--password", "long-enough-1"])
    taken = runner.invoke(args=["staff", "create", "tim", "--password", "long-enough-2"])
    assert taken.exit_code != 0 and "taken" in taken.output
    with app.app_context():
        assert db.session.scalars(select(StaffAccount.username)).all() == ["tim"]


def test_passwords_are_stored_hashed(app):
    make_clerk(app)
    with app.app_context():
        stored = db.session.scalar(select(StaffAccount.password_hash))
    assert "counter-password-1" not in stored and stored.startswith(("scrypt:", "pbkdf2:"))


def test_the_demo_accounts_are_created_once_and_can_log_in(app, client):
    with app.app_context():
        assert seed_demo("demo-password")
        assert seed_demo("demo-password") == []
        db.session.commit()
    for username in ("admin", "marketing", "clerk"):
        response = client.post("/api/v1/auth/staff-login", json={"username": username, "password": "demo-password"})
        assert response.status_code == 200
        assert response.get_json()["role"] == {"clerk": "staff"}.get(username, username)


def test_the_demo_brand_has_stores_products_and_a_clerk_at_people_s_square(app, client):
    with app.app_context():
        seed_demo("demo-password")
        db.session.commit()
    nearby = client.get("/api/v1/stores/nearby?lat=31.2304&lng=121.4737&limit=1").get_json()["items"]
    assert nearby[0]["name"] == "Ripple People's Square"
    clerk = client.post("/api/v1/auth/staff-login", json={"username": "clerk", "password": "demo-password"})
    assert clerk.get_json()["store_ids"] == [nearby[0]["id"]]
    assert client.get("/api/v1/products?page_size=100").get_json()["total"] >= 20
    assert len(client.get("/api/v1/stores/nearby?lat=39.9087&lng=116.3975&radius_m=50000&limit=50").get_json()["items"]) >= 10
