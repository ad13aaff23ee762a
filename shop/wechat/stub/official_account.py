"""Official account endpoints: user info (follow status and unionid)."""

from __future__ import annotations

from flask import Blueprint, g, request

from .protocol import ErrCode, WeChatError, current_stub, requires_token
from .state import has_unionid

bp = Blueprint("wechat_stub_official_account", __name__)


@bp.get("/cgi-bin/user/info")
@requires_token
def user_info() -> dict:
    """A follower's basic info; names starting with 'unfollowed' have not followed."""
    openid = request.args.get("openid")
    if not openid:
        raise WeChatError(ErrCode.OPENID_MISSING)
    identity = current_stub().identity_of(openid)
    if identity is None or identity.appid != g.appid:
        raise WeChatError(ErrCode.INVALID_OPENID)
    info: dict = {"subscribe": 0, "openid": openid}
    if not identity.name.startswith("unfollowed"):
        info.update(
            subscribe=1,
            language=request.args.get("lang", "zh_CN"),
            subscribe_time=identity.first_seen,
            remark="",
            groupid=0,
            tagid_list=[],
            subscribe_scene="ADD_SCENE_QR_CODE",
            qr_scene=0,
            qr_scene_str="",
        )
    if has_unionid(identity.name):
        info["unionid"] = current_stub().unionid_for(identity.name)
    return info
