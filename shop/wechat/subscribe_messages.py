"""Sending a subscribe message (``POST /cgi-bin/message/subscribe/send``) and reading WeChat's answer.

wechatpy 1.8.18's ``wxa.send_subscribe_message`` lacks ``miniprogram_state`` and ``lang``: the
client's generic ``post`` sends them under the same token handling. An answer WeChat will give
again however often it is asked (refused, or our request is wrong) comes back as a ``SendAnswer``;
what may pass later (busy, quota, network) raises a 503 ``AppError`` so the outbox tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException

from shop.errors import AppError
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import MiniProgramGateway

log = logging.getLogger(__name__)

USER_REFUSED = 43101
RETRYABLE = {-1, 45009, 45011, 45015}  # system busy; API quotas (minute, day)


@dataclass(frozen=True)
class SendAnswer:
    errcode: int  # 0: sent
    errmsg: str
    msgid: int | None = None

    @property
    def sent(self) -> bool:
        return self.errcode == 0


def send_subscribe_message(gateway: MiniProgramGateway, *, openid: str, template_id: str, data: dict[str, Any],
                           page: str | None, miniprogram_state: str, lang: str) -> SendAnswer:
    """Send one message; WeChat's final answer, or AppError 503 for what may pass by trying again."""
    body = {"touser": openid, "template_id": template_id, "data": data,
            "miniprogram_state": miniprogram_state, "lang": lang}
    if page:
        body["page"] = page
    try:
        answer = gateway.client.post("message/subscribe/send", data=body)
    except WeChatClientException as exc:
        if exc.errcode is None or exc.errcode in RETRYABLE:
            raise AppError(WeChatError.UNAVAILABLE, f"WeChat could not take the message now ({exc.errcode}).") from exc
        return SendAnswer(int(exc.errcode), str(exc.errmsg or "")[:256])
    except requests.RequestException as exc:
        raise AppError(WeChatError.UNAVAILABLE, "WeChat cannot be reached right now.") from exc
    msgid = answer.get("msgid") if isinstance(answer, dict) else None
    return SendAnswer(0, "ok", int(msgid) if msgid is not None else None)
