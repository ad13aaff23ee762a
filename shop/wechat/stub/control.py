"""Control endpoints under /stub/, for tests and tools in another process."""

from __future__ import annotations

from flask import Blueprint, request

from .protocol import current_stub
from .state import has_unionid

bp = Blueprint("wechat_stub_control", __name__, url_prefix="/stub")


@bp.get("/received")
def received() -> dict:
    """The WeChat requests received so far, optionally only those on ?path=."""
    path = request.args.get("path")
    stub = current_stub()
    return {"received": stub.received_on(path) if path else stub.received}


@bp.post("/reset")
def reset() -> dict:
    """Forget received requests, used codes and issued tokens."""
    current_stub().reset()
    return {"ok": True}


@bp.get("/openid")
def openid() -> tuple[dict, int] | dict:
    """A person's openid in an app and their unionid (null where WeChat hides it)."""
    appid, name = request.args.get("appid", ""), request.args.get("name", "")
    stub = current_stub()
    if appid not in stub.apps or not name:
        return {"errcode": 40013, "errmsg": "unknown appid or missing name"}, 404
    unionid = stub.unionid_for(name) if has_unionid(name) else None
    return {"openid": stub.openid_for(name, appid), "unionid": unionid}


@bp.post("/expire-tokens")
def expire_tokens() -> dict:
    """Invalidate every issued access token."""
    current_stub().expire_tokens()
    return {"ok": True}
