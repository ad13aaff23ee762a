"""The official account's server callback: URL verification and follow / unfollow / scan events.

WeChat signs every call with the configured token (plain mode) and, in encrypted ("safe") mode,
also encrypts the message with the EncodingAESKey. A forged signature gets 403 and changes nothing;
a body that is not WeChat's XML gets 400.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC
from xml.parsers.expat import ExpatError

from flask import Blueprint, Response, current_app, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members import following
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import wechat

log = logging.getLogger(__name__)

blp = Blueprint("official_account", __name__, url_prefix="/wechat")


def _check_signature(token: str, signature: str, *parts: str) -> None:
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a 500).
    if not hmac.compare_digest(signer.signature.encode(), signature.encode()):
        raise AppError(WeChatError.SIGNATURE_INVALID, "The signature does not match.")


@blp.route("/official-account", methods=["GET"])
def verify_url():
    """WeChat's URL verification: echo ``echostr`` when the signature is ours."""
    args = request.args
    _check_signature(current_app.config["WECHAT_OA_TOKEN"], args.get("signature", ""),
                     args.get("timestamp", ""), args.get("nonce", ""))
    return Response(args.get("echostr", ""), mimetype="text/plain")


@blp.route("/official-account", methods=["POST"])
def receive():
    """One message or event from WeChat; answers ``success`` or an XML reply."""
    args, config = request.args, current_app.config
    _check_signature(config["WECHAT_OA_TOKEN"], args.get("signature", ""),
                     args.get("timestamp", ""), args.get("nonce", ""))
    crypto = _crypto() if args.get("encrypt_type") == "aes" else None
    body = request.get_data()
    if crypto is not None:
        body = _decrypt(crypto, body)
    message = _parse(body)
    reply = _handle(message)
    db.session.commit()
    if reply is None:
        return Response("success", mimetype="text/plain")
    xml = reply.render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, args.get("nonce", ""), args.get("timestamp"))
    return Response(xml, mimetype="application/xml")


def _crypto() -> WeChatCrypto:
    config = current_app.config
    if not config["WECHAT_OA_AES_KEY"]:
        raise AppError(WeChatError.SIGNATURE_INVALID, "Encrypted mode is not configured (WECHAT_OA_AES_KEY).")
    return WeChatCrypto(config["WECHAT_OA_TOKEN"], config["WECHAT_OA_AES_KEY"], config["WECHAT_OA_APPID"])


def _decrypt(crypto: WeChatCrypto, body: bytes) -> str:
    args = request.args
    try:
        return crypto.decrypt_message(body, args.get("msg_signature", ""), args.get("timestamp", ""),
                                      args.get("nonce", ""))
    except (InvalidSignatureException, InvalidAppIdException):
        raise AppError(WeChatError.SIGNATURE_INVALID, "The message signature does not match.") from None
    except (ExpatError, KeyError, ValueError, TypeError, UnicodeDecodeError):
        raise AppError(WeChatError.MESSAGE_MALFORMED, "The encrypted message is malformed.") from None


def _parse(body: bytes | str):
    try:
        message = parse_message(body)
        if message is not None:
            message.create_time  # noqa: B018 -- converted on access; a bad CreateTime is bad input, not a 500
    except (ExpatError, KeyError, ValueError, TypeError, AttributeError, UnicodeDecodeError, OverflowError,
            OSError):
        message = None
    if message is None or not getattr(message, "source", None):
        raise AppError(WeChatError.MESSAGE_MALFORMED, "The body is not a WeChat message.")
    return message


def _handle(message) -> TextReply | None:
    """Apply a follow-related event; other messages are acknowledged and ignored."""
    at = message.create_time.astimezone(UTC) if message.create_time else utcnow()
    event = getattr(message, "event", None)
    openid = message.source
    if event in ("subscribe", "subscribe_scan"):
        scene = getattr(message, "scene_id", None) or None
        following.follow(wechat().official_account, oa_openid=openid, scene=scene, at=at)
        return _welcome(message)
    if event == "unsubscribe":
        following.unfollow(oa_openid=openid, at=at)
    elif event == "scan":
        following.scan(wechat().official_account, oa_openid=openid, scene=message.scene_id or None, at=at)
    return None


def _welcome(message) -> TextReply | None:
    text = current_app.config["WECHAT_OA_WELCOME"]
    return TextReply(content=text, message=message) if text else None
