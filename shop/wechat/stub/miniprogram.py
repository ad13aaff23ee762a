"""Mini-program endpoints: login, phone number, mini-program codes (subscribe messages: subscribe_messages.py)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
import time

import segno
from flask import Blueprint, Response, g, request

from .protocol import ErrCode, WeChatError, current_stub, json_body, requires_token
from .state import has_unionid, person_of

bp = Blueprint("wechat_stub_miniprogram", __name__)

# The characters and length WeChat accepts in a mini-program code's scene.
SCENE_RE = re.compile(r"[0-9A-Za-z!#$&'()*+,/:;=?@._~-]{1,32}")
DEFAULT_PAGE = "pages/index/index"

# A code prefix that makes WeChat answer errcode 0 without the data (as it has done under load).
HOLLOW = "hollow"

# Code prefixes that make WeChat refuse a login, whatever the person.
LOGIN_FAILURES = {
    "invalid": ErrCode.INVALID_CODE,
    "ratelimited": ErrCode.MINUTE_QUOTA,
    "risky": ErrCode.HIGH_RISK_USER,
}


@bp.get("/sns/jscode2session")
def jscode2session() -> dict:
    """Exchange a wx.login() code for openid, session_key and unionid (no access token)."""
    stub = current_stub()
    appid = request.args.get("appid")
    stub.authenticate(appid, request.args.get("secret"))
    if request.args.get("grant_type") != "authorization_code":
        raise WeChatError(ErrCode.INVALID_GRANT_TYPE)
    code = request.args.get("js_code", "")
    if not code:
        raise WeChatError(ErrCode.CODE_MISSING)
    _check_login_code(code)
    if code.startswith(HOLLOW):
        return {"errcode": 0, "errmsg": "ok"}
    if not stub.consume_code("login", appid, code):
        raise WeChatError(ErrCode.CODE_BEEN_USED)
    name = person_of(code)
    session = {
        "openid": stub.openid_for(name, appid),
        "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
    }
    if has_unionid(name):
        session["unionid"] = stub.unionid_for(name)
    return session


def _check_login_code(code: str) -> None:
    """Raise the error a special login code asks for."""
    for prefix, errcode in LOGIN_FAILURES.items():
        if code.startswith(prefix):
            raise WeChatError(errcode)
    if not person_of(code) and not code.startswith(HOLLOW):
        raise WeChatError(ErrCode.INVALID_CODE)


@bp.post("/wxa/business/getuserphonenumber")
@requires_token
def getuserphonenumber() -> dict:
    """Exchange a one-use getPhoneNumber code for the person's phone number."""
    code = json_body().get("code")
    if not code or not isinstance(code, str):
        raise WeChatError(ErrCode.CODE_MISSING)
    if code.startswith("invalid") or not current_stub().consume_code("phone", g.appid, code):
        raise WeChatError(ErrCode.INVALID_CODE)
    if code.startswith(HOLLOW):
        return {"errcode": 0, "errmsg": "ok"}
    phone = phone_for(person_of(code))
    return {
        "errcode": 0,
        "errmsg": "ok",
        "phone_info": {
            # Mainland numbers come without the +86: that is in countryCode.
            "phoneNumber": phone,
            "purePhoneNumber": phone,
            "countryCode": "86",
            "watermark": {"timestamp": int(time.time()), "appid": g.appid},
        },
    }


def phone_for(name: str) -> str:
    """The phone number of a phone code's person: itself if 11 digits, else a stable 13x number."""
    if re.fullmatch(r"\d{11}", name):
        return name
    number = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**9
    return f"13{number:09d}"


@bp.post("/wxa/getwxacodeunlimit")
@requires_token
def getwxacodeunlimit() -> Response:
    """A mini-program code as PNG bytes: a QR code of '<page>?scene=<scene>'."""
    body = json_body()
    scene = body.get("scene")
    if not isinstance(scene, str) or not SCENE_RE.fullmatch(scene):
        raise WeChatError(ErrCode.INVALID_ARGS, "scene")
    page = body.get("page") or DEFAULT_PAGE
    if not isinstance(page, str):
        raise WeChatError(ErrCode.INVALID_ARGS, "page")
    if body.get("env_version", "release") not in ("release", "trial", "develop"):
        raise WeChatError(ErrCode.INVALID_ARGS, "env_version")
    width = body.get("width", 430)
    if not isinstance(width, int) or isinstance(width, bool):
        raise WeChatError(ErrCode.INVALID_ARGS, "width")
    png = render_code(f"{page}?scene={scene}", width)
    return Response(png, mimetype="image/png")


def render_code(content: str, width: int) -> bytes:
    """A PNG QR code of `content`, about `width` pixels wide (WeChat clamps to 280..1280)."""
    # A real QR code rather than WeChat's round one, so tests and scanners can read it.
    qr = segno.make_qr(content)
    modules = qr.symbol_size(scale=1)[0]
    scale = max(1, min(max(width, 280), 1280) // modules)
    out = io.BytesIO()
    qr.save(out, kind="png", scale=scale)
    return out.getvalue()
