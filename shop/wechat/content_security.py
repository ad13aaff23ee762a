"""WeChat's content security check of text (``wxa/msg_sec_check``, version 2), through the mini-program's client.

Not in wechatpy 1.8.18 (its ``wxa.check_content`` is version 1, without openid or scene): the generic
post on the documented endpoint, under the same token handling.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import IntEnum

from shop.errors import AppError
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import MiniProgramGateway, wechat_errors

log = logging.getLogger(__name__)

SUGGESTIONS = ("pass", "review", "risky")


class CheckScene(IntEnum):
    """WeChat's scene of a text: it tunes the check to where the text is shown."""

    PROFILE = 1  # nickname, signature
    COMMENT = 2  # comments, and text shown to friends on a share card
    FORUM = 3
    SOCIAL_LOG = 4


@dataclass(frozen=True)
class TextVerdict:
    suggest: str  # pass, review or risky
    label: int | None  # WeChat's label: 100 normal, 20001 politics, 20006 illegal, 21000 other...
    trace_id: str | None


def check_text(gateway: MiniProgramGateway, *, openid: str, content: str, scene: CheckScene) -> TextVerdict:
    """WeChat's verdict on ``content`` written by ``openid``; its failures as our AppErrors (503 when down)."""
    with wechat_errors("msg_sec_check"):
        data = gateway.client.post("wxa/msg_sec_check", data={
            "content": content, "version": 2, "scene": int(scene), "openid": openid,
        }, api_base_url=gateway.client.api_base)
    result = data.get("result") if isinstance(data, dict) else None
    suggest = result.get("suggest") if isinstance(result, dict) else None
    if suggest not in SUGGESTIONS:
        log.warning("WeChat answered msg_sec_check without a known result.suggest: %r", result)
        raise AppError(WeChatError.BAD_ANSWER, "WeChat's content check answered without a verdict; try again shortly.")
    label = result.get("label")
    return TextVerdict(suggest, label if isinstance(label, int) else None, data.get("trace_id"))
