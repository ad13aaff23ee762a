"""Binding on open: each bind mode, never to oneself or into a cycle, once however many opens race."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from referral.policy import service as policy
from referral.sharing.models import Share
from referral.tree.models import ReferralNode
from shop.auth import Role
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member
from tests.conftest import bearer
from tests.referral.share_steps import history, node, open_share, opens, parent, set_policy, share


@pytest.fixture
def people(login):
    """Alice, Bob, Carol and Dave logged in: name -> (member id, bearer headers)."""
    return {name: (body["member"]["id"], bearer(body["token"]))
            for name in ("alice", "bob", "carol", "dave") for body in [login(f"{name}:1")]}


def _age_bind(app, member_id: int, days: int) -> None:
    with app.app_context():
        bound_at = db.session.get(ReferralNode, member_id).bound_at
        db.session.execute(update(ReferralNode).where(ReferralNode.member_id == member_id)
                           .values(bound_at=bound_at - timedelta(days=days)))
        db.session.commit()


def test_a_friend_who_logs_in_with_the_scene_is_bound_under_the_sharer(app, client, login, people):
    alice_id, alice = people["alice"]
    scene = share(client, alice)["scene"]

    eve = login("eve:1", scene=scene)

    eve_id = eve["member"]["id"]
    assert eve["is_new"] and parent(app, eve_id) == alice_id
    assert history(app, eve_id) == [("bind", None, alice_id, False)]
    # The mini-program may call open as well: it answers what the login did.
    repeat = open_share(client, bearer(eve["token"]), scene)
    assert repeat.status_code == 200
    assert repeat.get_json() | {"opened_at": None} == {
        "share_id": repeat.get_json()["share_id"], "product_id": None, "campaign": None, "outcome": "bound",
        "bound": True, "repeat": True, "opened_at": None}
    assert len(opens(app)) == 1


def test_an_existing_member_who_opens_a_share_is_bound_and_every_member_is_a_node(app, client, people):
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    scene = share(client, alice, campaign="launch")["scene"]

    response = open_share(client, bob, scene)

    assert response.status_code == 201
    assert (response.get_json()["outcome"], response.get_json()["bound"], response.get_json()["campaign"]) == (
        "bound", True, "launch")
    assert parent(app, bob_id) == alice_id and node(app, bob_id).depth == 1
    assert node(app, people["dave"][0]).parent_id is None  # registered without a scene: a root


def test_first_touch_keeps_the_first_sharer_forever(app, client, people):
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    open_share(client, bob, share(client, alice)["scene"])
    _age_bind(app, bob_id, days=3650)

    later = open_share(client, bob, share(client, people["carol"][1])["scene"])

    assert later.status_code == 201 and later.get_json()["outcome"] == "already_bound"
    assert later.get_json()["bound"] is False
    assert parent(app, bob_id) == alice_id
    assert history(app, bob_id) == [("bind", None, alice_id, False)]


def test_protected_mode_rebinds_to_a_newer_share_only_after_the_protection_period(app, client, people):
    set_policy(app, bind_mode="protected", protection_days=7)
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    carol_id, carol = people["carol"]
    open_share(client, bob, share(client, alice)["scene"])

    inside = open_share(client, bob, share(client, carol)["scene"])
    _age_bind(app, bob_id, days=8)
    after = open_share(client, bob, share(client, carol)["scene"])

    assert inside.get_json()["outcome"] == "protected" and after.get_json()["outcome"] == "rebound"
    assert parent(app, bob_id) == carol_id
    assert history(app, bob_id) == [("bind", None, alice_id, False), ("rebind", alice_id, carol_id, False)]
    # The new bind starts a new protection period.
    assert open_share(client, bob, share(client, alice)["scene"]).get_json()["outcome"] == "protected"


def test_registration_only_binds_new_members_only(app, client, login, people):
    set_policy(app, bind_mode="registration_only")
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    scene = share(client, alice)["scene"]

    existing = open_share(client, bob, scene)
    newcomer = login("eve:1", scene=scene)

    assert existing.get_json()["outcome"] == "registration_only" and parent(app, bob_id) is None
    assert parent(app, newcomer["member"]["id"]) == alice_id


@pytest.mark.parametrize("scene", ["r.has space", "r." + "a" * 31, "r.\u4e2d\u6587", "", "r.<script>"])
def test_a_malformed_scene_is_422_and_binds_nothing(app, client, people, scene):
    response = open_share(client, people["bob"][1], scene)

    assert response.status_code == 422 and response.get_json()["code"] == "scene_invalid"
    assert opens(app) == [] and history(app, people["bob"][0]) == []


def test_an_unknown_scene_is_404_and_binds_nothing_also_at_login(app, client, login, people):
    share(client, people["alice"][1])
    response = open_share(client, people["bob"][1], "r.0000000000")
    eve = login("eve:1", scene="r.0000000000")
    frank = login("frank:1", scene="r." + "x" * 60)  # a scene no share has, too long for one

    assert response.status_code == 404 and response.get_json()["code"] == "share_not_found"
    assert opens(app) == []
    for member_id in (people["bob"][0], eve["member"]["id"], frank["member"]["id"]):
        assert parent(app, member_id) is None and history(app, member_id) == []


def test_a_login_with_another_kind_of_scene_binds_nothing(app, login):
    eve = login("eve:1", scene="store-42")
    assert eve["is_new"] and parent(app, eve["member"]["id"]) is None and opens(app) == []


def test_nobody_is_bound_to_their_own_share(app, client, people):
    alice_id, alice = people["alice"]
    response = open_share(client, alice, share(client, alice)["scene"])

    assert response.get_json()["outcome"] == "self" and response.get_json()["bound"] is False
    assert parent(app, alice_id) is None


def test_the_same_person_under_another_openid_is_the_same_member_so_opens_their_own_share(app, client, login, stub):
    with app.app_context():
        carol = Member(openid="carol-openid-of-the-old-appid", unionid=stub.unionid_for("carol"))
        db.session.add(carol)
        db.session.commit()
        carol_id = carol.id
    carol_share = Share(scene="r.carolshare", sharer_id=carol_id)
    with app.app_context():
        db.session.add(carol_share)
        db.session.commit()

    logged_in = login("carol:1", scene="r.carolshare")
    response = open_share(client, bearer(logged_in["token"]), "r.carolshare")

    assert logged_in["member"]["id"] == carol_id and not logged_in["is_new"]
    assert response.get_json()["outcome"] == "self" and parent(app, carol_id) is None


def test_a_member_with_the_sharers_phone_number_is_the_sharer(app, client, people):
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    for headers, code in ((alice, "13800138000:1"), (bob, "13800138000:2")):
        assert client.post("/api/v1/me/phone", json={"code": code}, headers=headers).status_code == 200

    response = open_share(client, bob, share(client, alice)["scene"])

    assert response.get_json()["outcome"] == "self" and parent(app, bob_id) is None


def test_a_share_from_ones_own_downline_never_closes_a_loop(app, client, people):
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    carol_id, carol = people["carol"]
    open_share(client, bob, share(client, alice)["scene"])
    open_share(client, carol, share(client, bob)["scene"])

    responses = [open_share(client, alice, share(client, sharer)["scene"]) for sharer in (bob, carol)]

    assert [r.get_json()["outcome"] for r in responses] == ["cycle", "cycle"]
    assert (parent(app, alice_id), parent(app, bob_id), parent(app, carol_id)) == (None, alice_id, bob_id)
    assert node(app, carol_id).depth == 2


def test_a_sharer_who_does_not_earn_still_brings_friends_and_earns_once_approved(app, client, people, staff_token):
    set_policy(app, sharer_policy="approved")
    alice_id, alice = people["alice"]
    bob_id, bob = people["bob"]
    body = share(client, alice)

    assert body["earns_rewards"] is False
    assert open_share(client, bob, body["scene"]).get_json()["outcome"] == "bound"
    assert parent(app, bob_id) == alice_id
    with app.app_context():
        policy.set_approval(alice_id, approved=True, staff_id=None, reason="store manager", now=utcnow())
        db.session.commit()
    assert share(client, alice)["earns_rewards"] is True


def test_only_shoppers_open_shares(client, staff_token):
    assert client.post("/api/v1/shares/open", json={"scene": "r.0000000000"}).status_code == 401
    assert client.post("/api/v1/shares/open", json={"scene": "r.0000000000"},
                       headers=staff_token(Role.MARKETING)).status_code == 403


def _race(live_server: str, requests_to_send: list[tuple[dict, str]]) -> list[dict]:
    """Send the opens at the same moment from threads; their answers, in order."""
    barrier = threading.Barrier(len(requests_to_send))
    answers: list[dict] = [{}] * len(requests_to_send)

    def send(index: int, headers: dict, scene: str) -> None:
        barrier.wait()
        response = requests.post(f"{live_server}/api/v1/shares/open", json={"scene": scene}, headers=headers,
                                 timeout=30)
        answers[index] = {"status": response.status_code, **response.json()}

    threads = [threading.Thread(target=send, args=(i, *item)) for i, item in enumerate(requests_to_send)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_two_shares_opened_at_the_same_moment_bind_once(app, client, login, live_server, people):
    alice_id, alice = people["alice"]
    carol_id, carol = people["carol"]
    sharers = {alice_id: share(client, alice)["scene"], carol_id: share(client, carol)["scene"]}
    friends = [login(f"friend{i}:1") for i in range(4)]

    for friend in friends:
        headers, friend_id = bearer(friend["token"]), friend["member"]["id"]
        answers = _race(live_server, [(headers, sharers[alice_id]), (headers, sharers[carol_id])])

        assert sorted(a["outcome"] for a in answers) == ["already_bound", "bound"], answers
        winner = [sharer for sharer, answer in zip(sharers, answers, strict=True) if answer["outcome"] == "bound"]
        assert parent(app, friend_id) == winner[0]
        assert [entry[0] for entry in history(app, friend_id)] == ["bind"]
    with app.app_context():
        assert {alice_id, carol_id} >= {m.parent_id for m in db.session.query(ReferralNode).filter(
            ReferralNode.parent_id.is_not(None))}


def test_the_same_share_opened_twice_at_once_is_one_open(app, client, login, live_server, people):
    alice_id, alice = people["alice"]
    scene = share(client, alice)["scene"]
    bob_id, bob = people["bob"]

    answers = _race(live_server, [(bob, scene), (bob, scene), (bob, scene)])

    assert sorted(a["status"] for a in answers) == [200, 200, 201]
    assert {a["outcome"] for a in answers} == {"bound"}
    assert len(opens(app)) == 1 and history(app, bob_id) == [("bind", None, alice_id, False)]
