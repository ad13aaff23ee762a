"""Staff accounts when Redis comes back empty, from an older snapshot, or is gone: the database decides.

An ended token stays ended and a lock stays locked whatever Redis holds, because neither is kept
there: the token version and the lockout are columns of the account, read on every request.
"""

from __future__ import annotations

import requests

from shop.auth import Role
from shop.extensions import db
from shop.staff.service import create_staff

PASSWORD = "counter-password-1"


def _accounts(target) -> None:
    with target.app.app_context():
        for username, role in (("boss", Role.ADMIN), ("lily", Role.STAFF), ("tom", Role.STAFF)):
            create_staff(username=username, password=PASSWORD, role=role)
        db.session.commit()


def _login(target, username: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{target.base_url}/api/v1/auth/staff-login",
                         json={"username": username, "password": password}, timeout=30)


def _bearer(response: requests.Response) -> dict:
    return {"Authorization": f"Bearer {response.json()['token']}"}


def _staff_id(target, admin: dict, username: str) -> int:
    listed = requests.get(f"{target.base_url}/api/v1/admin/staff", params={"q": username}, headers=admin, timeout=30)
    return next(item["id"] for item in listed.json()["items"] if item["username"] == username)


def test_an_ended_token_and_a_lock_outlive_redis_restored_from_before_them_or_emptied(target):
    _accounts(target)
    admin, lily = _bearer(_login(target, "boss")), _bearer(_login(target, "lily"))
    before = target.redis.snapshot()  # Redis as it was while lily's token worked and tom was unlocked
    reset = requests.post(f"{target.base_url}/api/v1/admin/staff/{_staff_id(target, admin, 'lily')}/password-reset",
                          json={}, headers=admin, timeout=30)
    assert reset.status_code == 200
    for n in range(5):
        _login(target, "tom", f"guess-{n}-wrong")

    for restore in (lambda: target.redis.restart_from(before), target.redis.restart_empty):
        restore()
        ended = requests.get(f"{target.base_url}/api/v1/staff/redemptions", headers=lily, timeout=30)
        assert ended.status_code == 401 and ended.json()["code"] == "token_invalid"
        locked = _login(target, "tom")
        assert locked.status_code == 429 and locked.json()["code"] == "staff_login_locked"


def test_with_redis_down_the_account_check_still_answers_from_the_database(target):
    _accounts(target)
    admin, lily = _bearer(_login(target, "boss")), _bearer(_login(target, "lily"))
    lily_id = _staff_id(target, admin, "lily")
    assert requests.patch(f"{target.base_url}/api/v1/admin/staff/{lily_id}", json={"active": False},
                          headers=admin, timeout=30).status_code == 200
    target.redis.kill()
    ended = requests.get(f"{target.base_url}/api/v1/staff/redemptions", headers=lily, timeout=30)
    assert ended.status_code == 401 and ended.json()["code"] == "token_invalid"
    listed = requests.get(f"{target.base_url}/api/v1/admin/staff", params={"active": "false"}, headers=admin,
                          timeout=30)
    assert listed.status_code == 200 and [item["username"] for item in listed.json()["items"]] == ["lily"]
    unlocked = requests.post(f"{target.base_url}/api/v1/admin/staff/{lily_id}/unlock", headers=admin, timeout=30)
    assert unlocked.status_code == 200
