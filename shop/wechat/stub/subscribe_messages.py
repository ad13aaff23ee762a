"""Subscribe messages (``cgi-bin/message/subscribe/send``), checked as WeChat checks them.

The stub's template library holds the development template ids of ``shop.messages.templates`` (the
templates a brand would have picked in its admin console), each keyword with its kind; a send must
name a known template, fill exactly its keywords, each within its kind's limit (47003 otherwise), and
open a page of the mini-program (41030). People named ``refuse...`` have no subscription (43101).
``POST /stub/subscribe/answers {"errcodes": [43101, 47003]}`` makes the next sends answer those codes.
"""

from __future__ import annotations

import re

from flask import Blueprint, g, request

from shop.messages.templates import LAYOUTS

from .protocol import ErrCode, WeChatError, current_stub, json_body, requires_token

bp = Blueprint("wechat_stub_subscribe_messages", __name__)

LIBRARY = {layout.dev_template_id: dict(layout.keywords) for layout in LAYOUTS.values()}
PAGE_RE = re.compile(r"[A-Za-z0-9_\-/]+(\?[\x21-\x7e]*)?")
_CHINESE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_CLOCK = r"\d{1,2}:\d{2}"
_DAY = r"\d{4}年\d{1,2}月\d{1,2}日"
# WeChat's limits per kind (订阅消息参数值内容限制): a check, not a trim.
KIND_CHECKS = {
    "thing": lambda v: len(v) <= 20,
    "phrase": lambda v: len(v) <= 5 and bool(_CHINESE.fullmatch(v)),
    "name": lambda v: len(v) <= (10 if _CHINESE.search(v) else 20),
    "character_string": lambda v: bool(re.fullmatch(r"[\x21-\x7e]{1,32}", v)),
    "number": lambda v: bool(re.fullmatch(r"\d{1,32}(\.\d+)?", v)),
    "amount": lambda v: bool(re.fullmatch(r"[￥¥$]?\d{1,10}(\.\d{1,2})?元?", v)),
    "time": lambda v: bool(re.fullmatch(rf"(({_DAY} )?{_CLOCK})(~({_DAY} )?{_CLOCK})?", v)),
    "date": lambda v: bool(re.fullmatch(rf"({_DAY}( {_CLOCK})?)(~{_DAY}( {_CLOCK})?)?", v)),
}


@bp.post("/cgi-bin/message/subscribe/send")
@requires_token
def subscribe_send() -> dict:
    """Send a subscribe message to a person of this app."""
    body = json_body()
    for field in ("touser", "template_id", "data"):
        if not body.get(field):
            raise WeChatError(ErrCode.ARGUMENT_INVALID, f"{field} is empty")
    forced = _forced_answer()
    if forced is not None:
        raise WeChatError(forced)
    keywords = LIBRARY.get(body["template_id"])
    if keywords is None:
        raise WeChatError(ErrCode.INVALID_TEMPLATE_ID)
    _check_data(body["data"], keywords)
    for field, allowed in (
        ("miniprogram_state", ("developer", "trial", "formal")),
        ("lang", ("zh_CN", "en_US", "zh_HK", "zh_TW")),
    ):
        if field in body and body[field] not in allowed:
            raise WeChatError(ErrCode.ARGUMENT_INVALID, f"{field} is invalid")
    page = body.get("page")
    if page is not None and (not isinstance(page, str) or not PAGE_RE.fullmatch(page)):
        raise WeChatError(ErrCode.INVALID_PAGE)
    identity = current_stub().identity_of(body["touser"])
    # An openid only means something in the app it was issued for.
    if identity is None or identity.appid != g.appid:
        raise WeChatError(ErrCode.INVALID_OPENID)
    if identity.name.startswith("refuse"):
        raise WeChatError(ErrCode.USER_REFUSED)
    return {"errcode": 0, "errmsg": "ok", "msgid": current_stub().next_msgid()}


def _forced_answer() -> ErrCode | None:
    answers = current_stub().subscribe_answers
    return ErrCode(answers.pop(0)) if answers else None


def _check_data(data: object, keywords: dict[str, str]) -> None:
    """Each keyword of the template as {"value": text} within its kind's limit, and no other."""
    if not isinstance(data, dict) or set(data) != set(keywords):
        raise WeChatError(ErrCode.ARGUMENT_INVALID, "data does not match the template's keywords")
    for key, item in data.items():
        value = item.get("value") if isinstance(item, dict) else None
        if not isinstance(value, str) or not value or not KIND_CHECKS[keywords[key]](value):
            raise WeChatError(ErrCode.ARGUMENT_INVALID, f"data.{key}.value invalid")


control_bp = Blueprint("wechat_stub_subscribe_control", __name__, url_prefix="/stub/subscribe")


@control_bp.post("/answers")
def answers() -> tuple[dict, int] | dict:
    """The next sends answer these errcodes (43101, 47003, 41030, -1, ...), one each, before the real check."""
    errcodes = (request.get_json(silent=True) or {}).get("errcodes")
    if not isinstance(errcodes, list) or not all(isinstance(c, int) and c in ErrCode.__members__.values()
                                                 for c in errcodes):
        return {"errcode": 40097, "errmsg": "errcodes: a list of codes the stub knows"}, 400
    current_stub().subscribe_answers.extend(errcodes)
    return {"ok": True}
