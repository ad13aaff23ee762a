"""Referral rewards in points: the ledger credits them and claws them back itself, each once per key."""

from dateutil.relativedelta import relativedelta

from shop.database import utcnow
from shop.points.rules import rules
from shop.points.service import claw_back, credit_reward, spend_for_order


def test_a_referral_reward_is_credited_once_and_expires_as_earned_points_do(committed, member, book):
    alice = member()
    now = utcnow()
    committed(lambda: credit_reward(member_id=alice, reward_id=7, points=120, order_id=None, at=now))
    committed(lambda: credit_reward(member_id=alice, reward_id=7, points=120, order_id=None, at=now))  # a retry
    assert [(reason, delta) for reason, delta, _, _ in book.entries(alice)] == [("referral_reward", 120)]
    assert book.lots(alice) == [(120, 120, committed(lambda: rules().expires_at(now)))]
    assert book.account(alice) == (120, 0)
    assert book.consistent()


def test_a_clawback_takes_what_the_member_has_left_and_the_rest_is_owed_until_the_next_credit(
        committed, member, book):
    alice = member()
    now = utcnow()
    committed(lambda: credit_reward(member_id=alice, reward_id=1, points=100, order_id=None, at=now))
    committed(lambda: spend_for_order(member_id=alice, order_id=5, points=70))
    committed(lambda: claw_back(member_id=alice, key="1:9", points=100, order_id=None, at=now))
    committed(lambda: claw_back(member_id=alice, key="1:9", points=100, order_id=None, at=now))  # a retry
    assert book.account(alice) == (0, 70)
    later = now + relativedelta(days=1)
    committed(lambda: credit_reward(member_id=alice, reward_id=2, points=100, order_id=None, at=later))
    assert [(reason, delta, owed) for reason, delta, owed, _ in book.entries(alice)] == [
        ("referral_reward", 100, 0), ("spend", -70, 0), ("referral_reverse", -30, 70),
        ("referral_reward", 100, 0), ("debt_settled", -70, -70)]
    assert book.account(alice) == (30, 0)
    assert book.consistent()
