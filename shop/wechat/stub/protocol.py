"""How WeChat speaks HTTP: errors as HTTP 200 JSON, the access_token check, JSON bodies."""

from __future__ import annotations

import functools
import json
import secrets
from collections.abc import Callable
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from flask import current_app, g, request

if TYPE_CHECKING:
    from .state import StubState


class ErrCode(IntEnum):
    """The WeChat error codes the stub answers with."""

    SYSTEM_ERROR = -1
    INVALID_CREDENTIAL = 40001
    INVALID_GRANT_TYPE = 40002
    INVALID_OPENID = 40003
    INVALID_APPID = 40013
    INVALID_CODE = 40029
    INVALID_TEMPLATE_ID = 40037
    INVALID_ARGS = 40097
    INVALID_APPSECRET = 40125
    CODE_BEEN_USED = 40163
    HIGH_RISK_USER = 40226
    ACCESS_TOKEN_MISSING = 41001
    APPID_MISSING = 41002
    APPSECRET_MISSING = 41004
    CODE_MISSING = 41008
    OPENID_MISSING = 41009
    INVALID_PAGE = 41030
    USER_REFUSED = 43101
    MINUTE_QUOTA = 45011
    DATA_FORMAT_ERROR = 47001
    ARGUMENT_INVALID = 47003
    # Shipping information (发货信息管理)
    PAYMENT_NOT_FOUND = 10060001
    RESHIP_USED = 10060003
    NOT_SHIPPABLE = 10060004
    UPLOAD_TIME_INVALID = 268485216


MESSAGES = {
    ErrCode.SYSTEM_ERROR: "system error",
    ErrCode.INVALID_CREDENTIAL: "invalid credential, access_token is invalid or not latest",
    ErrCode.INVALID_GRANT_TYPE: "invalid grant_type",
    ErrCode.INVALID_OPENID: "invalid openid",
    ErrCode.INVALID_APPID: "invalid appid",
    ErrCode.INVALID_CODE: "invalid code",
    ErrCode.INVALID_TEMPLATE_ID: "invalid template_id",
    ErrCode.INVALID_ARGS: "invalid args",
    ErrCode.INVALID_APPSECRET: "invalid appsecret",
    ErrCode.CODE_BEEN_USED: "code been used",
    ErrCode.HIGH_RISK_USER: "high risk user",
    ErrCode.ACCESS_TOKEN_MISSING: "access_token missing",
    ErrCode.APPID_MISSING: "appid missing",
    ErrCode.APPSECRET_MISSING: "appsecret missing",
    ErrCode.CODE_MISSING: "missing code",
    ErrCode.OPENID_MISSING: "missing openid",
    ErrCode.INVALID_PAGE: "invalid page",
    ErrCode.USER_REFUSED: "user refuse to accept the msg",
    ErrCode.MINUTE_QUOTA: "api minute-quota reach limit",
    ErrCode.DATA_FORMAT_ERROR: "data format error",
    ErrCode.ARGUMENT_INVALID: "argument invalid!",
    ErrCode.PAYMENT_NOT_FOUND: "支付单不存在",
    ErrCode.RESHIP_USED: "支付单已使用重新发货机会",
    ErrCode.NOT_SHIPPABLE: "支付单处于不可发货的状态",
    ErrCode.UPLOAD_TIME_INVALID: "上传时间非法，请按照 RFC 3339 格式填写",
}


class WeChatError(Exception):
    """An error WeChat reports in the body of an HTTP 200 answer."""

    def __init__(self, errcode: ErrCode, detail: str | None = None) -> None:
        super().__init__(errcode, detail)
        self.errcode = errcode
        self.detail = detail

    def body(self) -> dict[str, Any]:
        """The JSON body WeChat sends for this error."""
        message = MESSAGES[self.errcode]
        if self.detail:
            message = f"{message} {self.detail}"
        # WeChat appends a request id; callers must branch on errcode, never on errmsg.
        return {"errcode": int(self.errcode), "errmsg": f"{message}, rid: {secrets.token_hex(8)}"}


def current_stub() -> StubState:
    """The stub whose app is handling the current request."""
    return current_app.extensions["wechat_stub"]


def json_body() -> dict[str, Any]:
    """The request body as a JSON object, or 47001 as WeChat answers malformed bodies."""
    # wechatpy posts JSON bytes without a Content-Type, so parse whatever came.
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise WeChatError(ErrCode.DATA_FORMAT_ERROR)
    return body


def requires_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """Reject calls without a valid ?access_token=; expose the token's app as g.appid."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.appid = current_stub().appid_for_token(request.args.get("access_token", ""))
        return view(*args, **kwargs)

    return wrapper
