"""Content security (msg_sec_check, version 2): WeChat's verdict on text a person wrote.

The stub judges by marker words, so tests and demos can ask for each verdict:
text containing ``risky-word`` is ``risky``, text containing ``review-word`` is ``review``, anything
else ``pass``. ``POST /stub/content-security/fail {"mode": "unreachable" | "busy" | null}`` makes every
check fail until cleared (or the stub is reset): ``unreachable`` answers HTTP 503 as a load balancer
in front of a failing WeChat does, ``busy`` answers errcode -1 (system busy).
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Response, g, request

from .protocol import ErrCode, WeChatError, current_stub, json_body, requires_token

bp = Blueprint("wechat_stub_content_security", __name__)

RISKY_WORD = "risky-word"
REVIEW_WORD = "review-word"
MAX_CONTENT = 2500  # characters WeChat checks in one call
SCENES = (1, 2, 3, 4)  # profile, comment, forum, social log
FAILURE_MODES = ("unreachable", "busy")
LABEL_NORMAL = 100
LABEL_ILLEGAL = 20006  # WeChat's label for crime and illegal content
LABEL_OTHER = 21000


@bp.post("/wxa/msg_sec_check")
@requires_token
def msg_sec_check() -> Response | dict:
    """Judge one text for one person of this app, as version 2 of the API answers."""
    failure = current_stub().content_failure
    if failure == "unreachable":
        return Response("<html><body>503 Service Unavailable</body></html>", status=503, mimetype="text/html")
    if failure == "busy":
        raise WeChatError(ErrCode.SYSTEM_ERROR)
    body = json_body()
    content = body.get("content")
    if not isinstance(content, str) or not content or len(content) > MAX_CONTENT:
        raise WeChatError(ErrCode.DATA_FORMAT_ERROR, "content")
    if body.get("version") not in (2, "2"):
        raise WeChatError(ErrCode.INVALID_ARGS, "version")
    if body.get("scene") not in SCENES:
        raise WeChatError(ErrCode.INVALID_ARGS, "scene")
    identity = current_stub().identity_of(body.get("openid") or "")
    if identity is None or identity.appid != g.appid:
        raise WeChatError(ErrCode.INVALID_OPENID)
    suggest, label, keyword = judge(content)
    detail = [{"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}]
    if keyword:
        detail.append({"strategy": "keyword", "errcode": 0, "suggest": suggest, "label": label, "level": 20,
                       "keyword": keyword})
    return {"errcode": 0, "errmsg": "ok", "result": {"suggest": suggest, "label": label}, "detail": detail,
            "trace_id": f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"}


def judge(content: str) -> tuple[str, int, str | None]:
    """The stub's verdict: (suggest, label, the keyword that decided it)."""
    if RISKY_WORD in content:
        return "risky", LABEL_ILLEGAL, RISKY_WORD
    if REVIEW_WORD in content:
        return "review", LABEL_OTHER, REVIEW_WORD
    return "pass", LABEL_NORMAL, None


@bp.post("/stub/content-security/fail")
def fail() -> tuple[dict, int] | dict:
    """Make every content check fail (``unreachable``, ``busy``) or work again (null)."""
    mode = (request.get_json(silent=True) or {}).get("mode")
    if mode is not None and mode not in FAILURE_MODES:
        return {"errcode": 40097, "errmsg": f"mode is one of {FAILURE_MODES} or null"}, 400
    current_stub().content_failure = mode
    return {"ok": True, "mode": mode}
