"""The member code a shopper shows at the till: rotates every minute, the last step still accepted."""

from datetime import UTC, datetime, timedelta

import pytest

from shop.auth import Role
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.till import member_code
from tests.till.conftest import sell

T = datetime(2026, 11, 23, 12, 0, 30, tzinfo=UTC)


def test_the_shopper_sees_a_code_that_changes_every_minute_with_a_qr(client, alice):
    shown = client.get("/api/v1/me/member-code", headers=alice)
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    body = shown.get_json()
    assert body["qr_payload"] == f"ripple:member:{body['code']}" and body["step_seconds"] == 60
    assert body["display"].replace(" ", "") == body["code"] and 1 <= body["seconds_left"] <= 60
    qr = client.get("/api/v1/me/member-code/qr.png", headers=alice)
    assert qr.status_code == 200 and qr.mimetype == "image/png" and qr.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert qr.headers["X-Member-Code"].startswith(str(body["member_id"]))  # this minute's, or the next one's


def test_the_code_of_this_minute_and_the_last_are_accepted_older_ones_are_stale(app, alice_id):
    with app.app_context():
        now, last, older = (member_code.shown_code(alice_id, T - timedelta(minutes=m)).code for m in (0, 1, 2))
        assert len({now, last, older}) == 3  # it rotates
        assert member_code.member_showing(now, now=T) == alice_id
        assert member_code.member_showing(last, now=T) == alice_id
        with pytest.raises(AppError) as stale:
            member_code.member_showing(older, now=T)
        assert stale.value.code == "member_code_stale"


@pytest.mark.parametrize("forged", ["not a code", "12345678", "ripple:member:x", "99999912345678"])
def test_a_forged_or_mistyped_code_names_no_member(app, alice_id, forged):
    with app.app_context():
        real = member_code.shown_code(alice_id, T).code
        wrong_digits = real[:-1] + str((int(real[-1]) + 1) % 10)
        for raw in (forged, wrong_digits):
            with pytest.raises(AppError) as invalid:
                member_code.member_showing(raw, now=T)
            assert invalid.value.code == "member_code_invalid"


def test_a_code_keyed_for_one_member_does_not_name_another(app, alice_id, login):
    bob_id = login("bob:1")["member"]["id"]
    with app.app_context():
        alices = member_code.shown_code(alice_id, T).code
        as_bob = f"{bob_id}{alices[-8:]}"
        with pytest.raises(AppError) as invalid:
            member_code.member_showing(as_bob, now=T)
        assert invalid.value.code == "member_code_invalid"
        assert db.session.get(Member, bob_id) is not None


def test_the_scanned_qr_payload_and_typed_groups_both_work_at_the_till(app, client, clerk, alice, alice_id):
    body = client.get("/api/v1/me/member-code", headers=alice).get_json()
    assert sell(client, clerk, body["qr_payload"]).status_code == 201
    assert sell(client, clerk, body["display"]).status_code == 201


def test_roles_only_a_shopper_has_a_member_code(client, staff_token, clerk):
    assert client.get("/api/v1/me/member-code").status_code == 401
    assert client.get("/api/v1/me/member-code", headers=clerk).status_code == 403
    assert client.get("/api/v1/me/member-code/qr.png", headers=staff_token(Role.ADMIN)).status_code == 403
