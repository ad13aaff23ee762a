"""Admins manage staff accounts: list, change, disable, reset passwords, unlock; clerks change their own.

Tokens of an account end at once when it is disabled, its role changes or its password is reset;
wrong passwords lock the account (in the database) on top of the per-address limit; every action
is in the audit.
"""

from __future__ import annotations

import itertools
import threading
from datetime import timedelta

import pytest
import requests
from flask_jwt_extended import create_access_token
from sqlalchemy import select, update

from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db, redis_client
from shop.staff.models import StaffAccount, StaffAudit
from shop.staff.service import create_staff
from tests.conftest import bearer
from tests.factories import make_store

PASSWORD = "counter-password-1"
_addresses = (f"198.51.100.{n % 250 + 1}" for n in itertools.count())


def account(app, username: str, role: Role = Role.STAFF, store_ids: list[int] | None = None) -> int:
    """A staff-side account made from the shell; its id."""
    with app.app_context():
        made = create_staff(username=username, password=PASSWORD, role=role, store_ids=store_ids)
        db.session.commit()
        return made.id


def log_in(client, username: str, password: str = PASSWORD, address: str | None = None):
    """A login from its own address (unless given), so the per-address limit stays out of the way."""
    return client.post("/api/v1/auth/staff-login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address or next(_addresses)})


def token_of(client, username: str, password: str = PASSWORD) -> dict:
    response = log_in(client, username, password)
    assert response.status_code == 200, response.get_json()
    return bearer(response.get_json()["token"])


def row(app, staff_id: int) -> StaffAccount:
    with app.app_context():
        found = db.session.get(StaffAccount, staff_id)
        db.session.expunge(found)
        return found


def audit_actions(app, staff_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(StaffAudit.action).where(StaffAudit.staff_id == staff_id)
                                       .order_by(StaffAudit.id)))


@pytest.fixture
def store_id(app) -> int:
    with app.app_context():
        made = make_store().id
        db.session.commit()
        return made


@pytest.fixture
def admin(app, client) -> dict:
    account(app, "boss", Role.ADMIN)
    return token_of(client, "boss")


@pytest.fixture
def clerk_id(app, store_id) -> int:
    return account(app, "lily", Role.STAFF, [store_id])


# -- who may ---------------------------------------------------------------------------------------

ADMIN_CALLS = [("get", "/api/v1/admin/staff"), ("post", "/api/v1/admin/staff"),
               ("get", "/api/v1/admin/staff/{id}"), ("patch", "/api/v1/admin/staff/{id}"),
               ("post", "/api/v1/admin/staff/{id}/password-reset"), ("post", "/api/v1/admin/staff/{id}/unlock"),
               ("get", "/api/v1/admin/staff/{id}/audit"), ("get", "/api/v1/admin/staff/audit")]


@pytest.mark.parametrize(("method", "path"), ADMIN_CALLS)
def test_only_admins_manage_staff_accounts(app, client, login, admin, clerk_id, method, path):
    account(app, "mia", Role.MARKETING)
    url = path.format(id=clerk_id)
    before = row(app, clerk_id)
    for headers, status in ((token_of(client, "lily"), 403), (token_of(client, "mia"), 403),
                            (bearer(login("alice:1")["token"]), 403), ({}, 401)):
        response = getattr(client, method)(url, headers=headers, json={"active": False} if method == "patch" else None)
        assert response.status_code == status, (url, response.get_json())
    after = row(app, clerk_id)
    assert (after.active, after.password_hash, after.token_version) == (
        before.active, before.password_hash, before.token_version)
    body = {"username": "newbie", "password": "fresh-start-77", "role": "staff"} if path == "/api/v1/admin/staff" \
        and method == "post" else {}
    assert getattr(client, method)(url, headers=admin, json=body if method != "get" else None).status_code in (200, 201)


# -- listing ---------------------------------------------------------------------------------------

def test_the_staff_list_pages_filters_and_says_its_total(app, client, admin, store_id):
    other_store = None
    with app.app_context():
        other_store = make_store().id
        db.session.commit()
    for n in range(5):
        account(app, f"clerk{n}", Role.STAFF, [store_id] if n % 2 == 0 else [other_store])
    account(app, "mia", Role.MARKETING)
    gone = account(app, "gone", Role.STAFF)
    client.patch(f"/api/v1/admin/staff/{gone}", headers=admin, json={"active": False})

    def names(**query) -> list[str]:
        response = client.get("/api/v1/admin/staff", headers=admin, query_string=query)
        assert response.status_code == 200, response.get_json()
        return [item["username"] for item in response.get_json()["items"]]

    page = client.get("/api/v1/admin/staff?page_size=3", headers=admin).get_json()
    assert page["total"] == 8 and len(page["items"]) == 3 and page["items"][0]["username"] == "boss"
    assert names(role="staff", active="true") == ["clerk0", "clerk1", "clerk2", "clerk3", "clerk4"]
    assert names(active="false") == ["gone"]
    assert names(store_id=store_id) == ["clerk0", "clerk2", "clerk4"]
    assert names(q="MIA".lower()) == ["mia"]
    assert names(role="marketing") == ["mia"]
    first = page["items"][0]
    assert {"created_at", "last_login_at", "locked", "locked_until", "must_change_password",
            "failed_logins", "store_ids"} <= set(first)
    assert "password_hash" not in first and "password" not in first
    for bad in ({"role": "shopper"}, {"page_size": 101}, {"q": "a\x00b"}, {"store_id": 2**70}):
        assert client.get("/api/v1/admin/staff", headers=admin, query_string=bad).status_code == 422


def test_an_admin_creates_a_marketing_account_that_must_choose_its_own_password(app, client, admin):
    response = client.post("/api/v1/admin/staff", headers=admin,
                           json={"username": "mia", "password": "given-by-admin-1", "role": "marketing"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["role"] == "marketing" and response.get_json()["must_change_password"] is True
    login = log_in(client, "mia", "given-by-admin-1").get_json()
    assert login["must_change_password"] is True
    refused = client.get("/api/v1/admin/stores", headers=bearer(login["token"]))
    assert refused.status_code == 403 and refused.get_json()["code"] == "staff_password_change_required"


# -- changes that end tokens at once ---------------------------------------------------------------

def test_a_disabled_clerk_s_tokens_end_at_once_and_they_cannot_log_in(app, client, admin, clerk_id, store_id):
    clerk = token_of(client, "lily")
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 200
    response = client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin, json={"active": False})
    assert response.status_code == 200 and response.get_json()["active"] is False
    ended = client.get("/api/v1/staff/redemptions", headers=clerk)
    assert ended.status_code == 401 and ended.get_json()["code"] == "token_invalid"
    assert log_in(client, "lily").status_code == 401
    client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin, json={"active": True})
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 401  # ended for good
    assert client.get("/api/v1/staff/redemptions", headers=token_of(client, "lily")).status_code == 200


def test_a_role_change_ends_the_account_s_tokens_at_once(app, client, admin):
    mia = account(app, "mia", Role.MARKETING)
    marketing = token_of(client, "mia")
    assert client.get("/api/v1/admin/stores", headers=marketing).status_code == 200
    assert client.patch(f"/api/v1/admin/staff/{mia}", headers=admin, json={"role": "admin"}).status_code == 200
    # Even a promotion: the old token's role is no longer the account's.
    assert client.get("/api/v1/admin/stores", headers=marketing).status_code == 401
    promoted = log_in(client, "mia").get_json()
    assert promoted["role"] == "admin"
    assert client.get("/api/v1/admin/staff", headers=bearer(promoted["token"])).status_code == 200


def test_a_role_change_and_back_still_ends_the_tokens_issued_before(app, client, admin):
    mia = account(app, "mia", Role.MARKETING)
    marketing = token_of(client, "mia")
    client.patch(f"/api/v1/admin/staff/{mia}", headers=admin, json={"role": "staff"})
    client.patch(f"/api/v1/admin/staff/{mia}", headers=admin, json={"role": "marketing"})
    assert client.get("/api/v1/admin/stores", headers=marketing).status_code == 401


def test_a_new_store_list_applies_to_the_clerk_s_next_request(app, client, admin, clerk_id):
    with app.app_context():
        elsewhere = make_store().id
        db.session.commit()
    clerk = token_of(client, "lily")
    url = f"/api/v1/staff/redemptions?store_id={elsewhere}"
    assert client.get(url, headers=clerk).status_code == 403
    response = client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin, json={"store_ids": [elsewhere]})
    assert response.status_code == 200 and response.get_json()["store_ids"] == [elsewhere]
    assert client.get(url, headers=clerk).status_code == 200


def test_a_patch_that_fails_changes_nothing(app, client, admin, clerk_id, store_id):
    before = row(app, clerk_id)
    actions = audit_actions(app, clerk_id)
    for body, status in (({"role": "shopper"}, 422), ({"active": "maybe"}, 422), ({"store_ids": [store_id, 99999]}, 404),
                         ({"store_ids": list(range(1, 300))}, 422), ({"password": "x"}, 422),
                         ({"active": False, "store_ids": [99999]}, 404)):
        response = client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin, json=body)
        assert response.status_code == status, (body, response.get_json())
    after = row(app, clerk_id)
    assert (after.active, after.role, after.token_version) == (before.active, before.role, before.token_version)
    assert audit_actions(app, clerk_id) == actions
    assert client.patch(f"/api/v1/admin/staff/{2**70}", headers=admin, json={}).status_code == 404
    assert client.patch("/api/v1/admin/staff/424242", headers=admin, json={}).get_json()["code"] == "staff_not_found"


def test_a_staff_token_without_the_account_s_version_opens_nothing(app, client, clerk_id):
    with app.app_context():
        legacy = create_access_token(identity=f"staff:{clerk_id}", additional_claims={"role": "staff"})
    response = client.get("/api/v1/staff/redemptions", headers=bearer(legacy))
    assert response.status_code == 401 and response.get_json()["code"] == "token_invalid"


# -- passwords -------------------------------------------------------------------------------------

def test_a_generated_password_reset_ends_tokens_and_must_be_changed_before_anything_else(app, client, admin,
                                                                                         clerk_id):
    clerk = token_of(client, "lily")
    response = client.post(f"/api/v1/admin/staff/{clerk_id}/password-reset", headers=admin, json={})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    generated = response.get_json()["password"]
    assert len(generated) >= 16 and response.get_json()["staff"]["must_change_password"] is True
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 401
    assert log_in(client, "lily").status_code == 401  # the old password is gone
    first = log_in(client, "lily", generated).get_json()
    assert first["must_change_password"] is True
    pending = bearer(first["token"])
    refused = client.get("/api/v1/staff/redemptions", headers=pending)
    assert refused.status_code == 403 and refused.get_json()["code"] == "staff_password_change_required"
    changed = client.post("/api/v1/staff/password", headers=pending,
                          json={"current_password": generated, "new_password": "my-own-choice-22"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["must_change_password"] is False
    assert client.get("/api/v1/staff/redemptions", headers=bearer(changed.get_json()["token"])).status_code == 200
    assert client.get("/api/v1/staff/redemptions", headers=pending).status_code == 401
    assert log_in(client, "lily", "my-own-choice-22").get_json()["must_change_password"] is False


def test_an_admin_chosen_password_follows_the_policy_and_a_weak_one_changes_nothing(app, client, admin, clerk_id):
    clerk = token_of(client, "lily")
    before = row(app, clerk_id)
    for weak in ("short", "password123", "lily-password-1", "aaaaaaaaaaaa", "x" * 300):
        response = client.post(f"/api/v1/admin/staff/{clerk_id}/password-reset", headers=admin,
                               json={"password": weak})
        assert response.status_code == 422, weak
        assert response.get_json()["code"] in ("staff_password_weak", "validation_error")
        assert response.get_json()["errors"]["password"]
    assert row(app, clerk_id).password_hash == before.password_hash
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 200
    chosen = client.post(f"/api/v1/admin/staff/{clerk_id}/password-reset", headers=admin,
                         json={"password": "chosen-by-boss-9"})
    assert chosen.status_code == 200 and chosen.get_json()["password"] is None
    assert log_in(client, "lily", "chosen-by-boss-9").get_json()["must_change_password"] is True


def test_a_clerk_changes_their_own_password_and_their_other_sessions_end(app, client, clerk_id):
    tablet, phone = token_of(client, "lily"), token_of(client, "lily")
    change = {"current_password": PASSWORD, "new_password": "a-better-secret-7"}
    response = client.post("/api/v1/staff/password", headers=tablet, json=change)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    fresh = bearer(response.get_json()["token"])
    assert client.get("/api/v1/staff/redemptions", headers=fresh).status_code == 200
    for ended in (tablet, phone):
        assert client.get("/api/v1/staff/redemptions", headers=ended).status_code == 401
    assert log_in(client, "lily").status_code == 401
    assert log_in(client, "lily", "a-better-secret-7").status_code == 200
    assert "password_changed" in audit_actions(app, clerk_id)


def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(app, client, clerk_id):
    clerk = token_of(client, "lily")
    for body, status, code in (
            ({"current_password": "not-my-password", "new_password": "a-better-secret-7"}, 403,
             "staff_current_password_wrong"),
            ({"current_password": PASSWORD, "new_password": PASSWORD}, 422, "staff_password_weak"),
            ({"current_password": PASSWORD, "new_password": "12345678"}, 422, "staff_password_weak"),
            ({"current_password": PASSWORD}, 422, "validation_error")):
        response = client.post("/api/v1/staff/password", headers=clerk, json=body)
        assert (response.status_code, response.get_json()["code"]) == (status, code), body
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 200
    assert log_in(client, "lily").status_code == 200
    assert client.post("/api/v1/staff/password", json={}).status_code == 401


# -- the lockout -----------------------------------------------------------------------------------

def test_five_wrong_passwords_lock_the_account_whatever_the_next_password_until_an_admin_unlocks(
        app, client, admin, clerk_id):
    statuses = [log_in(client, "lily", f"guess-{n}-wrong").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429]
    locked = log_in(client, "lily")  # the right password, from yet another address
    assert locked.status_code == 429 and locked.get_json()["code"] == "staff_login_locked"
    assert 800 <= int(locked.headers["Retry-After"]) <= 900
    assert log_in(client, "lily", "guess-wrong-again").get_json()["code"] == "staff_login_locked"
    listed = client.get("/api/v1/admin/staff?locked=true", headers=admin).get_json()["items"]
    assert [item["username"] for item in listed] == ["lily"] and listed[0]["locked"] is True
    response = client.post(f"/api/v1/admin/staff/{clerk_id}/unlock", headers=admin)
    assert response.status_code == 200 and response.get_json()["locked"] is False
    assert log_in(client, "lily").status_code == 200


def test_the_lock_is_in_the_database_so_emptying_redis_does_not_lift_it(app, client, clerk_id):
    for n in range(5):
        log_in(client, "lily", f"guess-{n}-wrong")
    with app.app_context():
        redis_client().flushall()
    assert log_in(client, "lily").status_code == 429
    assert row(app, clerk_id).locked_until > utcnow()


def test_the_lock_ends_by_itself_and_old_failures_stop_counting(app, client, clerk_id):
    for n in range(5):
        log_in(client, "lily", f"guess-{n}-wrong")
    with app.app_context():  # the lock's 15 minutes have passed
        db.session.execute(update(StaffAccount).values(locked_until=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert log_in(client, "lily").status_code == 200
    for n in range(4):
        log_in(client, "lily", f"guess-{n}-wrong")
    with app.app_context():  # those four were 16 minutes ago: outside the window
        db.session.execute(update(StaffAccount).values(failed_since=utcnow() - timedelta(minutes=16)))
        db.session.commit()
    assert log_in(client, "lily", "one-more-wrong").status_code == 401
    assert row(app, clerk_id).failed_logins == 1
    assert log_in(client, "lily").status_code == 200


def test_a_right_password_clears_the_count_of_wrong_ones(app, client, clerk_id):
    for _ in range(2):
        for n in range(4):
            assert log_in(client, "lily", f"guess-{n}-wrong").status_code == 401
        assert log_in(client, "lily").status_code == 200
    assert row(app, clerk_id).failed_logins == 0


def test_wrong_current_passwords_count_toward_the_lockout(app, client, clerk_id):
    clerk = token_of(client, "lily")
    codes = [client.post("/api/v1/staff/password", headers=clerk,
                         json={"current_password": f"guess-{n}-wrong", "new_password": "a-better-secret-7"}
                         ).get_json()["code"] for n in range(5)]
    assert codes == ["staff_current_password_wrong"] * 4 + ["staff_login_locked"]
    assert log_in(client, "lily").status_code == 429
    # the session in hand is not ended by a lock: a guesser must not be able to log the clerk out
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 200


def test_guesses_from_many_addresses_still_lock_the_account(app, client, clerk_id):
    """The per-address limit (10 a minute) cannot stop a guesser with many addresses; the lock does."""
    addresses = [f"203.0.113.{n}" for n in range(1, 8)]
    statuses = [log_in(client, "lily", "wrong-password-1", address=where).status_code for where in addresses]
    assert statuses[:4] == [401] * 4 and set(statuses[4:]) == {429}


def test_unknown_usernames_and_disabled_accounts_never_lock_or_say_more(app, client, admin, clerk_id):
    client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin, json={"active": False})
    for n in range(7):
        assert log_in(client, "lily", f"guess-{n}-wrong").get_json()["code"] == "staff_login_failed"
        assert log_in(client, "nobody", f"guess-{n}-wrong").get_json()["code"] == "staff_login_failed"
    assert row(app, clerk_id).locked_until is None


def test_parallel_wrong_passwords_each_count(app, live_server, clerk_id):
    """Guesses at the same moment all count: none is lost to another's update of the counter."""
    barrier = threading.Barrier(4)

    def guess(n: int) -> None:
        barrier.wait()
        requests.post(f"{live_server}/api/v1/auth/staff-login",
                      json={"username": "lily", "password": f"parallel-{n}-wrong"}, timeout=30)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert row(app, clerk_id).failed_logins == 4
    with app.app_context():
        counted = db.session.scalars(select(StaffAudit.details).where(StaffAudit.action == "login_failed")).all()
    assert sorted(details["failures"] for details in counted) == [1, 2, 3, 4]


def test_a_client_connecting_directly_cannot_choose_its_address_with_x_forwarded_for(app, client, clerk_id):
    """Without TRUSTED_PROXIES (gunicorn on loopback behind nginx sets it), X-Forwarded-For is not believed."""
    statuses = [client.post("/api/v1/auth/staff-login", json={"username": f"nobody{n}", "password": "x"},
                            headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code for n in range(11)]
    assert statuses == [401] * 10 + [429]
    with app.app_context():
        addresses = set(db.session.scalars(select(StaffAudit.address).where(StaffAudit.action == "login_failed")))
    assert addresses == {"127.0.0.1"}


# -- the last admin --------------------------------------------------------------------------------

def test_the_last_active_admin_can_be_neither_disabled_nor_demoted(app, client, admin):
    with app.app_context():
        boss = db.session.scalar(select(StaffAccount.id).where(StaffAccount.username == "boss"))
    for change in ({"active": False}, {"role": "marketing"}):
        response = client.patch(f"/api/v1/admin/staff/{boss}", headers=admin, json=change)
        assert response.status_code == 409 and response.get_json()["code"] == "staff_last_admin"
    retired = account(app, "retired", Role.ADMIN)
    client.patch(f"/api/v1/admin/staff/{retired}", headers=admin, json={"active": False})
    assert client.patch(f"/api/v1/admin/staff/{boss}", headers=admin, json={"role": "staff"}).status_code == 409
    deputy = account(app, "deputy", Role.ADMIN)
    assert client.patch(f"/api/v1/admin/staff/{boss}", headers=admin, json={"role": "marketing"}).status_code == 200
    last = token_of(client, "deputy")
    assert client.patch(f"/api/v1/admin/staff/{deputy}", headers=last, json={"active": False}).status_code == 409
    assert client.patch(f"/api/v1/admin/staff/{deputy}", headers=last, json={"display_name": "D"}).status_code == 200


def test_two_admins_demoting_each_other_at_once_leave_one_admin(app, live_server):
    for attempt in range(3):
        names = (f"ann{attempt}", f"ben{attempt}")
        ids = [account(app, name, Role.ADMIN) for name in names]
        tokens = [requests.post(f"{live_server}/api/v1/auth/staff-login", json={"username": name, "password": PASSWORD},
                                timeout=30).json()["token"] for name in names]
        with app.app_context():  # only these two are admins
            db.session.execute(update(StaffAccount).where(StaffAccount.id.not_in(ids)).values(role="marketing"))
            db.session.commit()
        barrier = threading.Barrier(2)
        statuses = []

        def demote(token: str, other: int, barrier=barrier, statuses=statuses) -> None:
            barrier.wait()
            statuses.append(requests.patch(f"{live_server}/api/v1/admin/staff/{other}", json={"role": "staff"},
                                           headers=bearer(token), timeout=30).status_code)

        threads = [threading.Thread(target=demote, args=(tokens[0], ids[1])),
                   threading.Thread(target=demote, args=(tokens[1], ids[0]))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with app.app_context():
            admins = db.session.scalars(select(StaffAccount.id).where(StaffAccount.role == "admin",
                                                                      StaffAccount.active.is_(True))).all()
        assert len(admins) == 1, statuses
        assert sorted(statuses) in ([200, 401], [200, 409]), statuses


# -- the audit -------------------------------------------------------------------------------------

def test_every_action_on_an_account_is_in_its_audit_with_who_whom_and_from_where(app, client, store_id):
    boss_id = account(app, "boss", Role.ADMIN)
    admin = bearer(log_in(client, "boss", address="10.1.2.3").get_json()["token"])

    def as_admin(method: str, path: str, **body):
        response = getattr(client, method)(path, headers=admin, json=body, environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    clerk_id = as_admin("post", f"/api/v1/admin/stores/{store_id}/staff", username="lily",
                        password="first-password-1")["id"]
    as_admin("patch", f"/api/v1/admin/staff/{clerk_id}", display_name="Lily Chen")
    as_admin("patch", f"/api/v1/admin/staff/{clerk_id}", active=False)
    as_admin("patch", f"/api/v1/admin/staff/{clerk_id}", active=True)
    as_admin("patch", f"/api/v1/admin/staff/{clerk_id}", role="marketing")
    as_admin("patch", f"/api/v1/admin/staff/{clerk_id}", role="staff", store_ids=[])
    generated = as_admin("post", f"/api/v1/admin/staff/{clerk_id}/password-reset")["password"]
    for n in range(5):
        log_in(client, "lily", f"guess-{n}-wrong", address="172.16.0.9")
    as_admin("post", f"/api/v1/admin/staff/{clerk_id}/unlock")
    first = log_in(client, "lily", generated, address="172.16.0.10").get_json()
    client.post("/api/v1/staff/password", headers=bearer(first["token"]),
                json={"current_password": generated, "new_password": "my-own-choice-22"},
                environ_base={"REMOTE_ADDR": "172.16.0.10"})
    log_in(client, "nobody", "whatever-it-is", address="172.16.0.11")

    trail = client.get(f"/api/v1/admin/staff/{clerk_id}/audit?page_size=100", headers=admin).get_json()
    rows = list(reversed(trail["items"]))  # answered newest first
    assert [r["action"] for r in rows] == [
        "created", "updated", "disabled", "enabled", "role_changed", "role_changed", "stores_changed",
        "password_reset", "login_failed", "login_failed", "login_failed", "login_failed", "login_failed", "locked",
        "unlocked", "logged_in", "password_changed"]
    assert trail["total"] == len(rows)
    by_admin = [r for r in rows if r["actor_id"] == boss_id]
    assert len(by_admin) == 9 and {r["address"] for r in by_admin} == {"10.1.2.3"}
    assert {r["via"] for r in rows} == {"api"} and {r["staff_id"] for r in rows} == {clerk_id}
    assert rows[4]["details"] == {"from": "staff", "to": "marketing"}
    assert rows[6]["details"]["to"] == [] and rows[6]["details"]["from"] == [store_id]
    assert rows[7]["details"] == {"generated": True}
    failed = [r for r in rows if r["action"] in ("login_failed", "locked")]
    assert {r["address"] for r in failed} == {"172.16.0.9"} and {r["actor_id"] for r in failed} == {None}
    assert rows[-1]["actor_id"] == clerk_id and rows[-1]["address"] == "172.16.0.10"
    assert generated not in str(trail) and "my-own-choice-22" not in str(trail)

    unknown = client.get("/api/v1/admin/staff/audit?action=login_failed", headers=admin).get_json()["items"]
    assert unknown[0]["staff_id"] is None and unknown[0]["details"] == {"reason": "unknown_username",
                                                                         "username": "nobody"}
    since = client.get("/api/v1/admin/staff/audit", headers=admin,
                       query_string={"actor_id": boss_id, "since": (utcnow() - timedelta(minutes=5)).isoformat()})
    assert since.get_json()["total"] == 9
    assert client.get("/api/v1/admin/staff/audit?action=nonsense", headers=admin).status_code == 422
    assert client.get("/api/v1/admin/staff/424242/audit", headers=admin).status_code == 404


def test_a_change_that_changes_nothing_is_not_audited_and_ends_no_token(app, client, admin, clerk_id, store_id):
    clerk = token_of(client, "lily")
    before = audit_actions(app, clerk_id)
    response = client.patch(f"/api/v1/admin/staff/{clerk_id}", headers=admin,
                            json={"active": True, "role": "staff", "store_ids": [store_id]})
    assert response.status_code == 200
    assert audit_actions(app, clerk_id) == before
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 200


# -- the CLI ---------------------------------------------------------------------------------------

def test_flask_staff_list_shows_roles_states_and_stores(app, client, clerk_id, store_id):
    account(app, "boss", Role.ADMIN)
    for n in range(5):
        log_in(client, "lily", f"guess-{n}-wrong")
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["staff", "list"])
    assert listed.exit_code == 0, listed.output
    lily = next(line for line in listed.output.splitlines() if "lily" in line)
    assert "staff" in lily and "locked until" in lily and str(store_id) in lily
    assert "2 account(s)" in listed.output
    admins = runner.invoke(args=["staff", "list", "--role", "admin"])
    assert "boss" in admins.output and "lily" not in admins.output
    assert "lily" in runner.invoke(args=["staff", "list", "--locked"]).output
    assert "lily" not in runner.invoke(args=["staff", "list", "--disabled"]).output


def test_flask_staff_update_disables_at_once_and_refuses_the_last_admin(app, client, clerk_id, store_id):
    account(app, "boss", Role.ADMIN)
    clerk = token_of(client, "lily")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "update", "lily", "--disabled"])
    assert result.exit_code == 0, result.output
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 401
    moved = runner.invoke(args=["staff", "update", "lily", "--active", "--no-stores", "--role", "marketing"])
    assert moved.exit_code == 0 and row(app, clerk_id).role == "marketing"
    last = runner.invoke(args=["staff", "update", "boss", "--role", "staff"])
    assert last.exit_code != 0 and "last active admin" in last.output
    assert runner.invoke(args=["staff", "update", "nobody", "--disabled"]).exit_code != 0
    assert runner.invoke(args=["staff", "update", "lily"]).exit_code != 0  # nothing to change
    trail = audit_actions(app, clerk_id)
    assert trail[-4:] == ["disabled", "role_changed", "enabled", "stores_changed"]
    with app.app_context():
        via = set(db.session.scalars(select(StaffAudit.via).where(StaffAudit.action == "disabled")))
    assert via == {"cli"}


def test_flask_staff_reset_password_prints_a_generated_one_that_must_be_changed(app, client, clerk_id):
    clerk = token_of(client, "lily")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["staff", "reset-password", "lily"])
    assert result.exit_code == 0, result.output
    generated = result.output.split(": ", 1)[1].split()[0]
    assert client.get("/api/v1/staff/redemptions", headers=clerk).status_code == 401
    assert log_in(client, "lily", generated).get_json()["must_change_password"] is True
    chosen = runner.invoke(args=["staff", "reset-password", "lily", "--password", "12345678"])
    assert chosen.exit_code != 0 and "attacker would try" in chosen.output


def test_flask_staff_unlock_and_audit(app, client, clerk_id):
    for n in range(5):
        log_in(client, "lily", f"guess-{n}-wrong")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["staff", "unlock", "lily"]).exit_code == 0
    assert log_in(client, "lily").status_code == 200
    trail = runner.invoke(args=["staff", "audit", "lily"])
    assert trail.exit_code == 0
    lines = trail.output.splitlines()
    assert "logged_in" in lines[0] and "unlocked" in lines[1] and "by cli" in lines[1] and "locked" in lines[2]
    assert runner.invoke(args=["staff", "unlock", "nobody"]).exit_code != 0
