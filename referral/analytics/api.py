"""Referral analytics endpoints: a shopper's downline and shares; figures for marketing and admins."""

from flask_smorest import Blueprint

from referral.analytics import service as analytics
from referral.analytics.schemas import (
    MAX_PERIOD_DAYS,
    CampaignFigureArgs,
    CampaignFiguresSchema,
    DownlineArgs,
    DownlineSchema,
    PeriodArgs,
    RippleSchema,
    ShareFigureArgs,
    ShareFiguresSchema,
    SharerSchema,
    SubtreeArgs,
    SubtreeSchema,
    TopSharerArgs,
    ViralCoefficientSchema,
)
from referral.errors import ReferralError
from shop.auth import Role, current_member_id, roles_required
from shop.errors import raises
from shop.pagination import PageArgs, page_of
from shop.replica import documented_replica_report

blp = Blueprint("referral_analytics", __name__, url_prefix="/api/v1", description=(
    "How sharing spreads. A shopper sees their own downline and shares; marketing and admins see figures "
    "over a period `[from, to)` (ISO 8601 with a zone, `to` after `from`, at most "
    f"{MAX_PERIOD_DAYS} days; 422 otherwise). In a period, a bind counts when it was recorded, an open "
    "when the share was opened, an order when it was paid, a reward when it was created. GMV is integer "
    "fen paid less fen refunded. Member counts and GMV of a subtree come from counters kept on each node, "
    "so they cost one row read at any tree size."))
ADMIN_ROLES = (Role.MARKETING, Role.ADMIN)


@blp.route("/me/referrals", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(DownlineArgs, location="query")
@blp.response(200, DownlineSchema)
def my_referrals(args):
    """Your downline: who you brought, by level

    Members, paid orders and GMV at level 1 (friends you brought) and level 2 (friends they brought),
    the size, orders and GMV of everyone below you, and a page of one level (`level`, `page`,
    `page_size`), most recently bound first, each with their own orders and GMV. A member with no
    downline gets zeros. Role: shopper (only your own).
    """
    return analytics.my_downline(current_member_id(), **args)


@blp.route("/me/referrals/shares", methods=["GET"])
@roles_required(Role.SHOPPER)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ShareFiguresSchema))
def my_shares(args):
    """Your shares, newest first, with what came of each

    Opens, unique openers, members bound through the share, their paid orders and GMV, and the
    conversions `bind_rate` (binds / unique openers) and `order_rate` (orders / binds), all time.
    Role: shopper (only your own).
    """
    return analytics.my_shares(current_member_id(), **args)


@blp.route("/admin/referral/stats/top-sharers", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(TopSharerArgs, location="query")
@blp.response(200, page_of(SharerSchema))
@documented_replica_report()
def top_sharers(args):
    """Top sharers in a period

    Every member who, in the period, created a share, had a member bound (or re-bound) under them
    through a share, had a level-1 friend pay an order, or received a reward; ranked by `sort`
    (default `gmv`: GMV of their level-1 friends' orders paid in the period). Rewards are split by
    kind (points, commission in fen) and are net of reversals. Role: marketing, admin.
    """
    return analytics.top_sharers(**args)


@blp.route("/admin/referral/stats/shares", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(ShareFigureArgs, location="query")
@blp.response(200, page_of(ShareFiguresSchema))
@documented_replica_report()
def share_figures(args):
    """Figures per share in a period

    Shares created in the period or opened, bound through or bought through in it, optionally of one
    `campaign` or `sharer_id`: opens, unique openers (for one share the same: an open is recorded once
    per member), binds (distinct members bound or re-bound through it), orders and GMV of members bound
    through it (attributed by the share on the order's snapshot), `bind_rate` = binds / unique openers,
    `order_rate` = orders / binds (null when the denominator is 0; 4 decimals). Role: marketing, admin.
    """
    return analytics.share_figures(**args)


@blp.route("/admin/referral/stats/campaigns", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(CampaignFigureArgs, location="query")
@blp.response(200, page_of(CampaignFiguresSchema))
@documented_replica_report()
def campaign_figures(args):
    """Figures per campaign in a period

    As per share, summed over the campaign's shares (shares without a campaign together, as
    `campaign: null`), with distinct openers and bound members across the campaign, and the shares
    created in the period and their distinct sharers. By GMV, largest first. Role: marketing, admin.
    """
    return analytics.campaign_figures(**args)


@blp.route("/admin/referral/stats/k-factor", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, ViralCoefficientSchema)
@documented_replica_report()
def k_factor(args):
    """The viral coefficient K of a period

    K = (N / S) x (S / M) = N / M, reported as its two factors and their product, where
    - N (`new_members`): members who registered in the period and whose first bind, through a share,
      was recorded in the period (new members brought by shares);
    - S (`sharers`): distinct members who created a share in the period or whose share brought one of
      those N (so every new member counted has a sharer counted);
    - M (`members`): members registered before the end of the period.
    `new_members_per_sharer` = N / S is how many new members a sharing member brought; `sharer_rate` =
    S / M is the share of members who shared. K above 1 means each member brings more than one new
    member in the period: the base grows by sharing alone. Role: marketing, admin.
    """
    return analytics.viral_coefficient(**args)


@blp.route("/admin/referral/stats/ripple", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(PeriodArgs, location="query")
@blp.response(200, RippleSchema)
@documented_replica_report()
def ripple(args):
    """How far shares ripple: the depth of the members bound in a period

    Members whose current bind was made in the period, counted by their depth in the tree now (1: bound
    under a root member; a member moved later counts at the new depth), with the deepest and the mean.
    Role: marketing, admin.
    """
    return analytics.ripple(**args)


@blp.route("/admin/referral/members/<id:member_id>/subtree", methods=["GET"])
@roles_required(*ADMIN_ROLES)
@blp.arguments(SubtreeArgs, location="query")
@blp.response(200, SubtreeSchema)
@raises(ReferralError.REFERRAL_MEMBER_NOT_FOUND)
@documented_replica_report()
def subtree(args, member_id):
    """Any member's subtree, to draw

    Its size, how many levels it reaches, the orders and GMV of the members below and the member's
    own, and a page of the nodes below (by level, then member id), each with its parent, depth, bind
    time, own orders and GMV; `max_level` cuts the listing. 404 `referral_member_not_found` if the
    member is not in the tree. Role: marketing, admin.
    """
    return analytics.subtree(member_id, **args)
