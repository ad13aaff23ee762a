"""Access tokens: cgi-bin/token and cgi-bin/stable_token, shared by every WeChat product."""

from __future__ import annotations

from flask import Blueprint, request

from .protocol import ErrCode, WeChatError, current_stub, json_body

bp = Blueprint("wechat_stub_access_token", __name__)


def _check_grant_type(grant_type: object) -> None:
    """Only client_credential is a valid grant for access tokens."""
    if grant_type != "client_credential":
        raise WeChatError(ErrCode.INVALID_GRANT_TYPE)


@bp.get("/cgi-bin/token")
def token() -> dict:
    """The classic token endpoint: every call issues a new token."""
    _check_grant_type(request.args.get("grant_type"))
    appid = request.args.get("appid")
    current_stub().authenticate(appid, request.args.get("secret"))
    access_token, expires_in = current_stub().issue_token(appid)
    return {"access_token": access_token, "expires_in": expires_in}


@bp.post("/cgi-bin/stable_token")
def stable_token() -> dict:
    """The stable token endpoint: the same token while valid unless force_refresh."""
    body = json_body()
    _check_grant_type(body.get("grant_type"))
    appid = body.get("appid")
    current_stub().authenticate(appid, body.get("secret"))
    force_refresh = body.get("force_refresh", False) is True
    access_token, expires_in = current_stub().stable_token(appid, force_refresh)
    return {"access_token": access_token, "expires_in": expires_in}
