"""Rewards: the sharer's rewards and commission account."""

from flask_smorest import Blueprint

from referral.rewards import service as rewards
from referral.rewards.schemas import RewardArgs, RewardsOverviewSchema
from shop.auth import Role, current_member_id, roles_required

blp = Blueprint("referral_rewards", __name__, url_prefix="/api/v1", description=(
    "Rewards for friends' purchases. When a friend bound under you pays an order, each "
    "order line rewards you (level 1) and, when the brand pays two levels, the member above you (level 2): "
    "a percent of what the line cost, rounded down to the fen or point, or a fixed amount per unit of listed "
    "SKUs; as points or as commission (fen). Rewards start frozen and become available when the refund window "
    "has passed (a job); a friend whose binding is under review keeps them frozen until cleared. A refund "
    "takes rewards back in proportion (by line when it names lines; rounded down until the whole is "
    "refunded): a frozen reward shrinks, an available one is clawed back. Commission clawed back beyond your "
    "balance is a debt (a negative balance) that your next rewards pay first; points follow the points "
    "ledger's rule (what you no longer have is owed)."))


@blp.route("/me/rewards", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(RewardArgs, location="query")
@blp.response(200, RewardsOverviewSchema)
def my_rewards(args):
    """Your rewards: totals by kind and state, your commission balance and debt, and the rewards

    The list is paginated (`page`, `page_size`), newest first, filtered by `status`. Role: shopper.
    """
    return rewards.rewards_overview(current_member_id(), status=args.pop("status"), **args)
