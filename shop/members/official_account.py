"""The official account's server callback: URL verification and follow / unfollow / scan events.

WeChat signs every call with the configured token (plain mode) and, in encrypted ("safe") mode,
also encrypts the message with the EncodingAESKey. A forged signature gets 403 and changes nothing;
a body that is not WeChat's XML gets 400.

The plain signature covers only the timestamp and nonce, not the body: anyone holding one old
callback URL could post any event under it. So with an EncodingAESKey configured only encrypted
messages are accepted (their msg_signature covers the body), and in every mode a call whose
timestamp is more than five minutes from now, or whose nonce was seen within that window, is refused.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from shop.extensions import db, redis_client
from shop.members import following
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import wechat

log = logging.getLogger(__name__)

blp = Blueprint("official_account", __name__, url_prefix="/wechat")
CALLBACK_MAX_SKEW_S = 300


def _check_signed_call(args) -> None:
    """The plain signature of a call from WeChat, made within the window."""
    timestamp = args.get("timestamp", "")
    _check_signature(current_app.config["WECHAT_OA_TOKEN"], args.get("signature", ""), timestamp,
                     args.get("nonce", ""))
    if not timestamp.isdigit() or len(timestamp) > 12 or abs(time.time() - int(timestamp)) > CALLBACK_MAX_SKEW_S:
        raise AppError(WeChatError.SIGNATURE_INVALID, "The call's timestamp is more than 5 minutes from now.")


@contextmanager
def _first_delivery(args) -> Iterator[None]:
    """Refuse a signed call seen before within the window (a replay); a call we failed may come again."""
    key = f"wechat:oa:nonce:{args.get('timestamp', '')}:{args.get('nonce', '')}"
    if not redis_client().set(key, 1, nx=True, ex=2 * CALLBACK_MAX_SKEW_S):
        raise AppError(WeChatError.REPLAYED, "This call was received before.")
    try:
        yield
    except BaseException:
        redis_client().delete(key)
        raise


def _check_signature(token: str, signature: str, *parts: str) -> None:
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError, so a 500).
    if not hmac.compare_digest(signer.signature.encode(), signature.encode()):
        raise AppError(WeChatError.SIGNATURE_INVALID, "The signature does not match.")


@blp.route("/official-account", methods=["GET"])
def verify_url():
    """WeChat's URL verification: echo ``echostr`` when the signature is ours."""
    _check_signed_call(request.args)
    return Response(request.args.get("echostr", ""), mimetype="text/plain")


@blp.route("/official-account", methods=["POST"])
def receive():
    """One message or event from WeChat; answers ``success`` or an XML reply."""
    args = request.args
    _check_signed_call(args)
    crypto = _crypto_for(args)
    body = request.get_data()
    if crypto is not None:
        body = _decrypt(crypto, body)
    message = _parse(body)
    with _first_delivery(args):
        reply = _handle(message)
        db.session.commit()
    if reply is None:
        return Response("success", mimetype="text/plain")
    xml = reply.render()
    if crypto is not None:
        xml = crypto.encrypt_message(xml, args.get("nonce", ""), args.get("timestamp"))
    return Response(xml, mimetype="application/xml")


def _crypto_for(args) -> WeChatCrypto | None:
    """Safe mode's crypto when a key is configured (plain calls then refused); None in plain mode."""
    config = current_app.config
    encrypted = args.get("encrypt_type") == "aes"
    if not config["WECHAT_OA_AES_KEY"]:
        if encrypted:
            raise AppError(WeChatError.SIGNATURE_INVALID, "Encrypted mode is not configured (WECHAT_OA_AES_KEY).")
        return None
    if not encrypted:
        raise AppError(WeChatError.SIGNATURE_INVALID, "Only encrypted (safe mode) messages are accepted.")
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
