"""Member endpoints: WeChat login, the shopper's own profile, and the admin member list."""

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from shop import rate_limits
from shop.auth import Role, current_member_id, issue_shopper_token, roles_required
from shop.content.errors import ContentError
from shop.content.service import current_text_check
from shop.database import utcnow
from shop.errors import CommonError, raises
from shop.extensions import db
from shop.members import privacy, service
from shop.members.errors import MemberError
from shop.members.schemas import (
    LoginSchema,
    MemberSchema,
    PhoneArgs,
    ProfilePatchArgs,
    WeChatLoginArgs,
)
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import wechat

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="Log in with WeChat; your profile.")


@blp.route("/auth/wechat-login", methods=["POST"])
@rate_limits.per_address_limit("RATE_LIMIT_LOGIN_PER_ADDRESS")
@blp.arguments(WeChatLoginArgs)
@blp.response(200, LoginSchema)
@raises(WeChatError.CODE_INVALID, WeChatError.RATE_LIMITED, WeChatError.USER_HIGH_RISK, WeChatError.UNAVAILABLE,
        WeChatError.FAILED, WeChatError.BAD_ANSWER, CommonError.RATE_LIMITED)
def wechat_login(args):
    """Log in with a wx.login() code

    Creates the member on first login (`is_new`). The optional `scene` is what the mini-program was
    opened with; it is kept as the member's arrival source. Rate limited per shopper (their openid,
    `RATE_LIMIT_LOGIN_PER_OPENID`, 10 a minute) and, as a high ceiling against floods, per client
    address (`RATE_LIMIT_LOGIN_PER_ADDRESS`, 600 a minute: a mall's Wi-Fi is one address); then 429
    `rate_limited` with `Retry-After`. Role: anyone.
    """
    session = wechat().miniprogram.code_to_session(args["code"])
    rate_limits.count_login(session.openid)
    result = service.log_in(session, scene=args["scene"])
    db.session.commit()
    return {"token": issue_shopper_token(result.member.id), "member": result.member,
            "is_new": result.is_new}


@blp.route("/me")
class Me(MethodView):
    @roles_required(Role.SHOPPER)
    @blp.response(200, MemberSchema)
    @raises(MemberError.MEMBER_NOT_FOUND)
    def get(self):
        """Your profile. Role: shopper."""
        return service.get_member(current_member_id())

    @roles_required(Role.SHOPPER)
    @blp.arguments(ProfilePatchArgs)
    @blp.response(200, MemberSchema)
    @raises(MemberError.MEMBER_NOT_FOUND, ContentError.CONTENT_RISKY, ContentError.AVATAR_HOST_NOT_ALLOWED,
            WeChatError.UNAVAILABLE, WeChatError.RATE_LIMITED, WeChatError.FAILED, WeChatError.BAD_ANSWER)
    def patch(self, args):
        """Change your nickname or avatar URL (null clears), or your marketing consent

        A new nickname is checked with WeChat's content security first (scene 1, profile): 422
        `content_risky` when WeChat judges it risky, nothing changed; one WeChat wants a person to look
        at is kept and listed for an admin, who may put the previous one back. While WeChat cannot be
        reached: 503 `wechat_unavailable` with Retry-After, or kept and checked later
        (`CONTENT_CHECK_WHEN_WECHAT_DOWN`). An avatar URL must be on WeChat's avatar hosts
        (thirdwx.qlogo.cn, wx.qlogo.cn, mmbiz.qpic.cn) or `CONTENT_AVATAR_HOSTS`: 422
        `avatar_host_not_allowed` otherwise. `marketing_consent` true grants, false withdraws consent to
        personalised marketing (targeted coupons, segments used for targeting); each is recorded with its
        time and the version of the consent text (`PRIVACY_CONSENT_VERSION`). Role: shopper.
        """
        consent = args.pop("marketing_consent", None)
        member = service.update_profile(current_member_id(), fields=set(args), **args,
                                        check=current_text_check(),
                                        avatar_hosts=current_app.config["CONTENT_AVATAR_HOSTS"])
        if consent is not None:
            member = privacy.set_marketing_consent(member.id, granted=consent, now=utcnow(),
                                                   text_version=current_app.config["PRIVACY_CONSENT_VERSION"])
        db.session.commit()
        return member


@blp.route("/me/phone", methods=["POST"])
@roles_required(Role.SHOPPER)
@rate_limits.per_member_under_ceiling("RATE_LIMIT_PHONE_PER_MEMBER")
@blp.arguments(PhoneArgs)
@blp.response(200, MemberSchema)
@raises(MemberError.MEMBER_NOT_FOUND, WeChatError.CODE_INVALID, WeChatError.RATE_LIMITED, WeChatError.USER_HIGH_RISK, WeChatError.UNAVAILABLE,
        WeChatError.FAILED, WeChatError.BAD_ANSWER, CommonError.RATE_LIMITED)
def bind_phone(args):
    """Bind your phone number from a getPhoneNumber code

    Rate limited per member (`RATE_LIMIT_PHONE_PER_MEMBER`, 10 a minute). Role: shopper.
    """
    member = service.bind_phone(wechat().miniprogram, current_member_id(), code=args["code"])
    db.session.commit()
    return member
