"""What Ripple asks of WeChat, with WeChat's failures turned into our error codes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import requests
from flask import Flask, current_app
from wechatpy.exceptions import WeChatClientException

from shop.errors import AppError
from shop.wechat.client import RippleWeChatClient
from shop.wechat.errors import WeChatError

log = logging.getLogger(__name__)

CODE_INVALID = {40029, 40163, 40125}  # invalid code, code used, (phone) code invalid
RATE_LIMITED = {45009, 45011}
HIGH_RISK = {40226}
BUSY = {-1}


@contextmanager
def wechat_errors(action: str) -> Iterator[None]:
    """Translate what WeChat (or the network to it) did into an AppError."""
    try:
        yield
    except WeChatClientException as exc:
        raise _translate(exc, action) from exc
    except requests.RequestException as exc:
        log.warning("WeChat unreachable during %s: %s", action, exc)
        raise AppError(WeChatError.UNAVAILABLE, "WeChat cannot be reached right now; try again shortly.") from exc


def _translate(exc: WeChatClientException, action: str) -> AppError:
    code = exc.errcode
    if code is None:  # an HTTP-level failure: WeChat is down or overloaded
        return AppError(WeChatError.UNAVAILABLE, "WeChat cannot be reached right now; try again shortly.")
    if code in CODE_INVALID and action in ("login", "phone"):
        return AppError(WeChatError.CODE_INVALID, "The WeChat code is invalid, expired or already used; "
                                                  "get a new one from wx.login / getPhoneNumber.")
    if code in RATE_LIMITED:
        return AppError(WeChatError.RATE_LIMITED, "WeChat is rate limiting this request; try again shortly.")
    if code in HIGH_RISK:
        return AppError(WeChatError.USER_HIGH_RISK, "WeChat flagged this account as high risk.")
    if code in BUSY:
        return AppError(WeChatError.UNAVAILABLE, "WeChat is busy; try again shortly.")
    log.error("WeChat error %s during %s: %s", code, action, exc.errmsg)
    return AppError(WeChatError.FAILED, f"WeChat refused the request (errcode {code}).")


def _answered(data: Any, field: str, action: str) -> Any:
    """``data[field]`` of a successful WeChat answer; 502 ``wechat_bad_answer`` when WeChat left it out."""
    value = data.get(field) if isinstance(data, dict) else None
    if not value:
        log.warning("WeChat answered %s without %s", action, field)
        raise AppError(WeChatError.BAD_ANSWER, f"WeChat's answer lacked {field}; try again shortly.")
    return value


@dataclass(frozen=True)
class SessionInfo:
    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True)
class PhoneInfo:
    phone: str
    country_code: str


class MiniProgramGateway:
    """The mini-program's WeChat calls."""

    def __init__(self, client: RippleWeChatClient) -> None:
        self.client = client

    def code_to_session(self, code: str) -> SessionInfo:
        with wechat_errors("login"):
            data = self.client.wxa.code_to_session(code)
        openid = _answered(data, "openid", "login")
        return SessionInfo(openid, data.get("session_key", ""), data.get("unionid") or None)

    def phone_number(self, code: str) -> PhoneInfo:
        # Not in wechatpy 1.8.18: the generic post on the documented endpoint.
        with wechat_errors("phone"):
            data = self.client.post("wxa/business/getuserphonenumber", data={"code": code},
                                    api_base_url=self.client.api_base)
        info = _answered(data, "phone_info", "phone")
        return PhoneInfo(str(_answered(info, "purePhoneNumber", "phone")), str(info.get("countryCode", "86")))

    def wxa_code(self, scene: str, page: str | None = None) -> bytes:
        """A mini-program code (PNG) that opens ``page`` with ``scene``."""
        with wechat_errors("wxa_code"):
            response = self.client.wxa.get_wxa_code_unlimited(scene, page=page)
        return response.content


class OfficialAccountGateway:
    """The official account's WeChat calls."""

    def __init__(self, client: RippleWeChatClient) -> None:
        self.client = client

    def unionid_of(self, openid: str) -> str | None:
        """The unionid of a follower, or None when WeChat gives none."""
        with wechat_errors("user_info"):
            data = self.client.user.get(openid)
        return data.get("unionid") or None


@dataclass(frozen=True)
class WeChatGateways:
    miniprogram: MiniProgramGateway
    official_account: OfficialAccountGateway


def init_wechat(app: Flask, redis_client: redis.Redis) -> WeChatGateways:
    def client(appid: str, secret: str) -> RippleWeChatClient:
        return RippleWeChatClient(appid, secret, api_base=app.config["WECHAT_API_BASE"],
                                  redis_client=redis_client, timeout=app.config["WECHAT_TIMEOUT_SECONDS"])

    gateways = WeChatGateways(
        miniprogram=MiniProgramGateway(client(app.config["WECHAT_APPID"], app.config["WECHAT_SECRET"])),
        official_account=OfficialAccountGateway(
            client(app.config["WECHAT_OA_APPID"], app.config["WECHAT_OA_SECRET"])),
    )
    app.extensions["wechat"] = gateways
    return gateways


def wechat() -> WeChatGateways:
    """The current app's WeChat gateways."""
    return current_app.extensions["wechat"]


__all__ = ["MiniProgramGateway", "OfficialAccountGateway", "PhoneInfo", "SessionInfo",
           "WeChatGateways", "init_wechat", "wechat", "wechat_errors"]
