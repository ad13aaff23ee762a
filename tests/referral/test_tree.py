"""The tree's closure table and subtree counters equal a walk of the parent links, whatever the binds."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from referral.tree import service as tree
from referral.tree.models import ReferralClosure, ReferralNode
from shop.database import utcnow
from shop.extensions import db
from shop.members.models import Member


def _members(count: int) -> list[int]:
    members = [Member(openid=f"tree-{i}") for i in range(count)]
    db.session.add_all(members)
    db.session.flush()
    for member in members:
        tree.ensure_node(member.id)
    return [member.id for member in members]


def _walk(parents: dict[int, int | None], member_id: int) -> list[int]:
    chain, current = [], parents[member_id]
    while current is not None:
        chain.append(current)
        current = parents[current]
    return chain


def _assert_tree_matches_parent_links(own: dict[int, tuple[int, int]]) -> None:
    rows = db.session.execute(select(ReferralNode)).scalars().all()
    parents = {node.member_id: node.parent_id for node in rows}
    expected_closure = {(ancestor, member, distance)
                        for member in parents
                        for distance, ancestor in enumerate(_walk(parents, member), start=1)}
    stored = {(c.ancestor_id, c.descendant_id, c.distance) for c in db.session.scalars(select(ReferralClosure))}
    assert stored == expected_closure
    for node in rows:
        below = [m for m in parents if node.member_id in _walk(parents, m)]
        assert node.depth == len(_walk(parents, node.member_id))
        assert node.descendants == len(below)
        assert node.subtree_orders == sum(own[m][0] for m in below)
        assert node.subtree_gmv == sum(own[m][1] for m in below)
        assert tree.ancestors(node.member_id) == _walk(parents, node.member_id)


def test_closure_and_counters_equal_a_walk_of_the_parent_links_after_random_binds_and_rebinds(app):
    rng = random.Random(20261123)
    with app.app_context():
        ids = _members(40)
        own = {member: (0, 0) for member in ids}
        for step in range(300):
            member, parent = rng.choice(ids), rng.choice(ids + [None])
            action = rng.random()
            if action < 0.3:
                amount = rng.randint(1, 50_000)
                tree.count_paid_order(member, orders=1, gmv=amount)
                own[member] = (own[member][0] + 1, own[member][1] + amount)
                continue
            try:
                tree.bind(member, parent, share_id=None, now=utcnow(), only_if_unbound=action < 0.6)
            except tree.CycleError:
                assert parent == member or tree.is_in_subtree(parent, member)
            if step % 50 == 0:
                _assert_tree_matches_parent_links(own)
        _assert_tree_matches_parent_links(own)
        db.session.rollback()


def test_a_member_is_never_bound_under_themselves_or_their_own_descendant(app):
    with app.app_context():
        a, b, c = _members(3)
        tree.bind(b, a, share_id=None, now=utcnow())
        tree.bind(c, b, share_id=None, now=utcnow())
        for parent in (a, c):
            with pytest.raises(tree.CycleError):
                tree.bind(a, parent, share_id=None, now=utcnow())
        assert tree.ancestors(c) == [b, a] and tree.parent_of(a) is None
        db.session.rollback()


def test_only_if_unbound_keeps_the_first_parent(app):
    with app.app_context():
        a, b, c = _members(3)
        assert tree.bind(c, a, share_id=None, now=utcnow(), only_if_unbound=True)
        assert not tree.bind(c, b, share_id=None, now=utcnow(), only_if_unbound=True)
        assert tree.parent_of(c) == a
        summary = tree.subtree_summary(a)
        assert (summary.size, summary.levels) == (1, 1)
        db.session.rollback()
