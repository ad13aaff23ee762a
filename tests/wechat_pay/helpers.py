"""Signing and encrypting as WeChat Pay does (and as a forger would), for notify tests."""

from __future__ import annotations

import base64
import functools
import json
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.conftest import WECHATPAY_APIV3_KEY, WECHATPAY_PUBLIC_KEY_ID, wechatpay_keys


def platform_key() -> rsa.RSAPrivateKey:
    """WeChat Pay's private key in this session (the stub's)."""
    return serialization.load_pem_private_key(wechatpay_keys().platform_private_key.encode(), None)


@functools.cache
def other_key() -> rsa.RSAPrivateKey:
    """A key that is nobody's: a forger's, or a merchant's that WeChat Pay never saw."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def public_pem(key: rsa.RSAPrivateKey) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def signed_headers(body: bytes, *, key: rsa.RSAPrivateKey | None = None, timestamp: int | None = None,
                   serial: str = WECHATPAY_PUBLIC_KEY_ID) -> dict[str, str]:
    """Wechatpay-* headers over `body`, by WeChat Pay's key unless another is given."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    nonce = secrets.token_hex(16)
    message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
    signature = (key or platform_key()).sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {"Wechatpay-Timestamp": str(timestamp), "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(), "Wechatpay-Serial": serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048"}


def notify_body(resource: dict[str, Any], *, apiv3_key: str = WECHATPAY_APIV3_KEY,
                event_type: str = "TRANSACTION.SUCCESS") -> bytes:
    """A notify body with `resource` encrypted under `apiv3_key`."""
    nonce = secrets.token_hex(6)
    ciphertext = AESGCM(apiv3_key.encode()).encrypt(nonce.encode(), json.dumps(resource).encode(), b"transaction")
    return json.dumps({
        "id": "EV-test", "create_time": "2025-01-01T10:00:00+08:00", "resource_type": "encrypt-resource",
        "event_type": event_type, "summary": "支付成功",
        "resource": {"original_type": "transaction", "algorithm": "AEAD_AES_256_GCM",
                     "ciphertext": base64.b64encode(ciphertext).decode(), "associated_data": "transaction",
                     "nonce": nonce},
    }).encode()


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until `condition()` is truthy (background deliveries); its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


def new_trade_no() -> str:
    return f"T{secrets.token_hex(10)}"


def in_15_minutes() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=15)
