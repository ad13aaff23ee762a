"""WeChat Pay (API v3, public-key mode) through wechatpayv3, with its failures turned into our codes.

- Requests are signed with the merchant API key (``WECHATPAY_PRIVATE_KEY``); answers are verified
  by wechatpayv3 with the WeChat Pay public key (``WECHATPAY_PUBLIC_KEY``/``_ID``). Its
  hard-coded host is replaced by ``WECHATPAY_API_BASE`` (the stub in development).
- Money is integer fen. Arguments that only a bug of ours gets wrong (an out_trade_no WeChat Pay
  would refuse, a float amount, a description over 127 characters) raise ValueError.
- WeChat Pay's refusals and the network map to ``WeChatPayError`` codes in a
  ``WeChatPayAPIError`` (an AppError that also carries WeChat's own code and status).
- ``parse_notify`` checks a notify ourselves rather than with wechatpayv3's ``callback()``: that
  one cannot tell a forgery from a bad key (both give None), ignores the timestamp, and on an
  unknown Wechatpay-Serial goes off to download platform certificates.

Answering a notify: 200 or 204 with no body means "received"; any other status makes WeChat Pay
deliver it again later (15s, 15s, 30s, 3m, ... over about a day). So a forged or stale notify
(401) or a malformed one (400) is refused and, when genuine, retried; fix the key and it arrives.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Flask, current_app
from wechatpayv3 import SignType, WeChatPay, WeChatPayType
from wechatpayv3 import core as wechatpayv3_core

from shop.config import PRODUCTION, WECHAT_PAY_ZONE, WECHATPAY_DEV_DIR, ConfigError
from shop.errors import AppError
from shop.wechat.errors import WeChatPayError
from shop.wechat.stub.pay import PayConfig

log = logging.getLogger(__name__)

NOTIFY_MAX_SKEW = timedelta(minutes=5)
SIGNATURE_TYPE = "WECHATPAY2-SHA256-RSA2048"
OUT_TRADE_NO_RE = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")  # WeChat Pay's rule for out_trade_no
OUT_REFUND_NO_RE = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
OUT_BILL_NO_RE = re.compile(r"[0-9A-Za-z]{5,32}")  # a merchant transfer's out_bill_no
TRANSFER_NAME_REQUIRED_FEN = 200_000  # from 2,000 yuan WeChat Pay wants the payee's real name
BUSY_CODES = {"SYSTEM_ERROR", "FREQUENCY_LIMITED"}  # WeChat Pay asks to try again later
RETRY_AFTER_SECONDS = 10  # what a 503 for WeChat Pay being unreachable or busy tells the client
# wechatpayv3 raises a bare Exception with these words when an answer's signature does not verify.
UNVERIFIED_ANSWER = ("failed to verify the signature", "does not support this algorithm")

MERCHANT_PRIVATE = "merchant_private_key.pem"
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"  # a Wechatpay-Serial naming a public key, not a platform certificate
MERCHANT_PUBLIC = "merchant_public_key.pem"
PLATFORM_PRIVATE = "platform_private_key.pem"
PLATFORM_PUBLIC = "platform_public_key.pem"


class WeChatPayAPIError(AppError):
    """WeChat Pay refused a call: our code, plus WeChat's own (e.g. ORDERPAID) for callers to branch on."""

    def __init__(self, code: WeChatPayError, message: str, *, wechat_code: str | None = None,
                 http_status: int | None = None) -> None:
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)} if code == WeChatPayError.UNAVAILABLE else None
        super().__init__(code, message, headers=retry)
        self.wechat_code = wechat_code
        self.http_status = http_status


# -- keys ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatPayKeys:
    """A merchant key pair and a platform (WeChat Pay) key pair, as PEM text."""

    merchant_private_key: str
    merchant_public_key: str
    platform_private_key: str
    platform_public_key: str


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def generate_keys() -> WeChatPayKeys:
    """A fresh throwaway key set (2048-bit RSA, as WeChat Pay's): for the stub and tests only."""
    merchant = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    platform = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return WeChatPayKeys(_private_pem(merchant), _public_pem(merchant.public_key()),
                         _private_pem(platform), _public_pem(platform.public_key()))


def dev_keys_dir(config: Mapping[str, Any]) -> Path:
    return Path(config["RIPPLE_INSTANCE_PATH"]) / WECHATPAY_DEV_DIR


def ensure_dev_keys(directory: Path) -> WeChatPayKeys:
    """The development key set in `directory`, generated the first time (development only).

    Written to a temporary folder and renamed into place, so two processes starting at once end
    up sharing one set.
    """
    names = (MERCHANT_PRIVATE, MERCHANT_PUBLIC, PLATFORM_PRIVATE, PLATFORM_PUBLIC)
    if not directory.exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        keys = generate_keys()
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
        for name, pem in zip(names, (keys.merchant_private_key, keys.merchant_public_key,
                                     keys.platform_private_key, keys.platform_public_key), strict=True):
            (staging / name).write_text(pem)
            (staging / name).chmod(0o600 if "private" in name else 0o644)
        try:
            staging.rename(directory)
            log.info("generated development WeChat Pay keys in %s (never used in production)", directory)
        except OSError:  # another process was first: use its keys
            for name in names:
                (staging / name).unlink()
            staging.rmdir()
    missing = [name for name in names if not (directory / name).is_file()]
    if missing:
        raise ConfigError(f"{directory} lacks {', '.join(missing)}: delete the folder to generate a new set")
    return WeChatPayKeys(*((directory / name).read_text() for name in names))


def _pem_text(name: str, value: object) -> str:
    """A key setting's PEM: the value itself, or the file it names."""
    text = str(value or "").strip()
    if "-----BEGIN" in text:
        return text
    if text:
        path = Path(text).expanduser()
        if path.is_file():
            return path.read_text()
    raise ConfigError(f"{name} must be PEM text or the path of a readable PEM file")


def _load_private_key(name: str, value: object) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(_pem_text(name, value).encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{name} is not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"{name} must be an RSA key")
    return key


@dataclass(frozen=True)
class PlatformCertificate:
    """A WeChat Pay platform certificate: the key that signed notifies before the public key mode."""

    serial: int
    public_key: rsa.RSAPublicKey
    not_before: datetime
    not_after: datetime


def _load_platform_certificate(name: str, value: object) -> PlatformCertificate | None:
    """The optional platform certificate (PEM text or path); its serial is read from it, not configured."""
    if not value:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(_pem_text(name, value).encode())
    except ValueError as exc:
        raise ConfigError(f"{name} is not a PEM certificate ({exc})") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{name} must carry an RSA key")
    return PlatformCertificate(serial=certificate.serial_number, public_key=key,
                               not_before=certificate.not_valid_before_utc, not_after=certificate.not_valid_after_utc)


def _load_public_key(name: str, value: object) -> rsa.RSAPublicKey:
    try:
        key = serialization.load_pem_public_key(_pem_text(name, value).encode())
    except ValueError as exc:
        raise ConfigError(f"{name} is not a PEM public key ({exc})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise ConfigError(f"{name} must be an RSA key")
    return key


def _serial_number(serial: str) -> int | None:
    """A certificate serial as WeChat Pay writes it (hexadecimal), as a number; None if it is not one."""
    try:
        return int(serial, 16) if len(serial) <= 64 else None
    except ValueError:
        return None


# -- connections ---------------------------------------------------------------------------------

_session: ContextVar[requests.Session | None] = ContextVar("wechatpay_session", default=None)


class _RequestsWithKeepAlive:
    """What wechatpayv3's core module sees as ``requests``: inside a gateway call, that gateway's session.

    wechatpayv3 2.0.4 calls the module-level ``requests.post`` (and get, ...), which opens a new
    connection (a TLS handshake in production) for every call and takes no session. Its calls look
    ``requests`` up in its module at call time, so this stand-in hands them the calling gateway's
    pooled, keep-alive session; outside a gateway call it is plain ``requests``.
    """

    def __getattr__(self, name: str) -> Any:
        session = _session.get()
        if session is not None and name in ("get", "post", "put", "patch", "delete"):
            return getattr(session, name)
        return getattr(requests, name)


wechatpayv3_core.requests = _RequestsWithKeepAlive()


def _new_session(api_base: str) -> requests.Session:
    """A keep-alive session that reads the proxy and CA settings of the environment once, not per call."""
    session = requests.Session()
    session.trust_env = False  # else every call re-reads os.environ for proxies (a quarter of a call's CPU)
    session.proxies.update(requests.utils.get_environ_proxies(api_base))
    session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return session


# -- the gateway ---------------------------------------------------------------------------------


class WeChatPayGateway:
    """The merchant's WeChat Pay calls, in plain data."""

    def __init__(self, *, mchid: str, appid: str, private_key: rsa.RSAPrivateKey, cert_serial: str,
                 apiv3_key: str, public_key: rsa.RSAPublicKey, public_key_id: str, api_base: str,
                 notify_url: str, timeout: float, platform_certificate: PlatformCertificate | None = None) -> None:
        if len(apiv3_key.encode()) != 32:
            raise ConfigError("WECHATPAY_APIV3_KEY must be 32 characters (as set in the merchant platform)")
        self.mchid, self.appid, self.notify_url = mchid, appid, notify_url
        self.public_key_id = public_key_id
        self._public_key = public_key
        self._platform_certificate = platform_certificate
        self._apiv3_key = apiv3_key.encode()
        self._client = WeChatPay(
            wechatpay_type=WeChatPayType.MINIPROG, mchid=mchid, private_key=_private_pem(private_key),
            cert_serial_no=cert_serial, appid=appid, apiv3_key=apiv3_key, notify_url=notify_url,
            timeout=timeout, public_key=_public_pem(public_key), public_key_id=public_key_id)
        # wechatpayv3 2.0.4 hard-codes https://api.mch.weixin.qq.com as the host.
        self._client._core._gate_way = api_base.rstrip("/")
        self._api_base = api_base
        self._sessions = threading.local()  # a session per thread: requests.Session is not thread-safe

    @contextmanager
    def _keep_alive(self) -> Iterator[None]:
        """wechatpayv3's HTTP calls in here go over this thread's pooled session."""
        session = getattr(self._sessions, "session", None)
        if session is None:
            session = self._sessions.session = _new_session(self._api_base)
        token = _session.set(session)
        try:
            yield
        finally:
            _session.reset(token)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WeChatPayGateway:
        return cls(
            mchid=config["WECHATPAY_MCHID"], appid=config["WECHAT_APPID"],
            private_key=_load_private_key("WECHATPAY_PRIVATE_KEY", config["WECHATPAY_PRIVATE_KEY"]),
            cert_serial=config["WECHATPAY_CERT_SERIAL"], apiv3_key=config["WECHATPAY_APIV3_KEY"],
            public_key=_load_public_key("WECHATPAY_PUBLIC_KEY", config["WECHATPAY_PUBLIC_KEY"]),
            public_key_id=config["WECHATPAY_PUBLIC_KEY_ID"], api_base=config["WECHATPAY_API_BASE"],
            notify_url=config["WECHATPAY_NOTIFY_URL"], timeout=config["WECHAT_TIMEOUT_SECONDS"],
            platform_certificate=_load_platform_certificate("WECHATPAY_PLATFORM_CERT",
                                                            config.get("WECHATPAY_PLATFORM_CERT")))

    # -- payments ----------------------------------------------------------

    def prepay_jsapi(self, out_trade_no: str, description: str, amount_fen: int, payer_openid: str,
                     time_expire: datetime, attach: str | None = None) -> str:
        """A JSAPI (mini-program) transaction; its prepay_id. A naive time_expire is taken as UTC."""
        _check_out_trade_no(out_trade_no)
        _check_fen("amount_fen", amount_fen)
        if not isinstance(description, str) or not 1 <= len(description) <= 127:
            raise ValueError("description must be 1 to 127 characters")
        if not isinstance(payer_openid, str) or not payer_openid:
            raise ValueError("payer_openid is required")
        if attach is not None and len(attach) > 128:
            raise ValueError("attach must be at most 128 characters")
        if not isinstance(time_expire, datetime):
            raise ValueError("time_expire must be a datetime")
        if time_expire.tzinfo is None:
            time_expire = time_expire.replace(tzinfo=UTC)  # our storage is UTC; SQLite drops the zone
        data = self._call("prepay", lambda: self._client.pay(
            description=description, out_trade_no=out_trade_no,
            amount={"total": amount_fen, "currency": "CNY"}, payer={"openid": payer_openid},
            time_expire=time_expire.astimezone(WECHAT_PAY_ZONE).isoformat(timespec="seconds"),
            attach=attach, notify_url=self.notify_url, pay_type=WeChatPayType.JSAPI))
        prepay_id = data.get("prepay_id") if data else None
        if not isinstance(prepay_id, str) or not prepay_id:
            raise WeChatPayAPIError(WeChatPayError.FAILED, "WeChat Pay answered the prepay without a prepay_id.")
        return prepay_id

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        """What the mini-program passes to wx.requestPayment, signed with the merchant key."""
        if not isinstance(prepay_id, str) or not prepay_id:
            raise ValueError("prepay_id is required")
        params = {"appId": self.appid, "timeStamp": str(int(time.time())), "nonceStr": secrets.token_hex(16),
                  "package": f"prepay_id={prepay_id}", "signType": "RSA"}
        # RSA-SHA256 of "appId\ntimeStamp\nnonceStr\npackage\n", base64.
        params["paySign"] = self._client.sign(
            [params["appId"], params["timeStamp"], params["nonceStr"], params["package"]], SignType.RSA_SHA256)
        return params

    def query_by_out_trade_no(self, out_trade_no: str) -> dict[str, Any] | None:
        """The transaction as WeChat Pay knows it (trade_state, amount, ...); None if it has none."""
        _check_out_trade_no(out_trade_no)
        return self._call("query", lambda: self._client.query(out_trade_no=out_trade_no),
                          not_found={"ORDER_NOT_EXIST"})

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid transaction so it can no longer be paid.

        Closing a closed or unknown transaction is fine; a paid one raises ``wechatpay_order_paid``.
        """
        _check_out_trade_no(out_trade_no)
        self._call("close", lambda: self._client.close(out_trade_no=out_trade_no),
                   not_found={"ORDER_NOT_EXIST"})

    # -- refunds -----------------------------------------------------------

    def refund(self, out_trade_no: str, out_refund_no: str, refund_fen: int, total_fen: int,
               reason: str | None) -> dict[str, Any]:
        """Ask for a refund (the same out_refund_no again answers the same refund).

        The answer's ``status`` is usually PROCESSING; REFUND.SUCCESS (or REFUND.ABNORMAL) comes by
        notify to WECHATPAY_NOTIFY_URL, and ``query_refund`` tells too.
        """
        _check_out_trade_no(out_trade_no)
        if not isinstance(out_refund_no, str) or not OUT_REFUND_NO_RE.fullmatch(out_refund_no):
            raise ValueError("out_refund_no must be 1-64 of 0-9 A-Z a-z _ - | * @")
        _check_fen("refund_fen", refund_fen)
        _check_fen("total_fen", total_fen)
        if refund_fen > total_fen:
            raise ValueError("refund_fen cannot exceed total_fen")
        if reason is not None and len(reason) > 80:
            raise ValueError("reason must be at most 80 characters")
        return self._call("refund", lambda: self._client.refund(
            out_refund_no=out_refund_no, out_trade_no=out_trade_no,
            amount={"refund": refund_fen, "total": total_fen, "currency": "CNY"},
            reason=reason or None, notify_url=self.notify_url)) or {}

    def query_refund(self, out_refund_no: str) -> dict[str, Any] | None:
        """The refund as WeChat Pay knows it (status SUCCESS/PROCESSING/ABNORMAL/CLOSED); None if none."""
        if not isinstance(out_refund_no, str) or not OUT_REFUND_NO_RE.fullmatch(out_refund_no):
            raise ValueError("out_refund_no must be 1-64 of 0-9 A-Z a-z _ - | * @")
        return self._call("refund query", lambda: self._client.query_refund(out_refund_no=out_refund_no),
                          not_found={"RESOURCE_NOT_EXISTS", "ORDER_NOT_EXIST"})

    # -- merchant transfers (商家转账, user-confirmation mode) -----------------

    def transfer_to_change(self, out_bill_no: str, openid: str, amount_fen: int, remark: str, *,
                           scene_id: str, scene_report: list[dict[str, str]],
                           perception: str | None = None) -> dict[str, Any]:
        """Send money to a member's WeChat change (``POST /v3/fund-app/mch-transfer/transfer-bills``).

        The same out_bill_no again answers the same bill. The answer's ``state`` is usually
        WAIT_USER_CONFIRM with a ``package_info`` the mini-program passes to
        ``wx.requestMerchantTransfer`` so the member confirms receipt; then SUCCESS (or FAIL with
        ``fail_reason``, CANCELLED) by ``query_transfer``. Amounts from 2,000 yuan need the payee's
        real name, which we do not hold: refused here (ValueError).
        """
        if not isinstance(out_bill_no, str) or not OUT_BILL_NO_RE.fullmatch(out_bill_no):
            raise ValueError("out_bill_no must be 5-32 of 0-9 A-Z a-z")
        _check_fen("amount_fen", amount_fen)
        if amount_fen >= TRANSFER_NAME_REQUIRED_FEN:
            raise ValueError("a transfer of 2,000 yuan or more needs the payee's real name")
        if not isinstance(openid, str) or not openid:
            raise ValueError("openid is required")
        if not isinstance(remark, str) or not 1 <= len(remark) <= 32:
            raise ValueError("remark must be 1 to 32 characters")
        if not scene_id or not scene_report:
            raise ValueError("a transfer names its scene and the scene's report")
        return self._call("transfer", lambda: self._client.mch_transfer_bills(
            out_bill_no=out_bill_no, transfer_scene_id=scene_id, openid=openid, transfer_amount=amount_fen,
            transfer_remark=remark, user_recv_perception=perception, transfer_scene_report_infos=scene_report,
            notify_url=self.notify_url)) or {}

    def query_transfer(self, out_bill_no: str) -> dict[str, Any] | None:
        """A transfer bill as WeChat Pay knows it (state, fail_reason, ...); None if it has none."""
        if not isinstance(out_bill_no, str) or not OUT_BILL_NO_RE.fullmatch(out_bill_no):
            raise ValueError("out_bill_no must be 5-32 of 0-9 A-Z a-z")
        return self._call("transfer query", lambda: self._client.mch_transfer_bills_query(out_bill_no=out_bill_no),
                          not_found={"NOT_FOUND", "RESOURCE_NOT_EXISTS"})

    # -- notifies ----------------------------------------------------------

    def parse_notify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """A verified, decrypted notify: ``{id, event_type, create_time, summary, resource}``.

        ``resource`` is the decrypted object (the transaction for TRANSACTION.SUCCESS, the refund
        for REFUND.*). Raises ``wechatpay_signature_invalid`` (401) unless WeChat Pay's key signed
        exactly this body within 5 minutes of now; ``wechatpay_notify_malformed`` (400) for a
        signed body that is not a notify; ``wechatpay_notify_undecryptable`` (400) when the
        resource does not decrypt (a wrong WECHATPAY_APIV3_KEY).
        """
        if isinstance(body, str):
            body = body.encode()
        self._verify_notify_signature({str(k).lower(): str(v) for k, v in headers.items()}, body)
        try:
            envelope = json.loads(body)
        except ValueError:
            envelope = None
        if not isinstance(envelope, dict):
            raise _malformed("the body is not a JSON object")
        resource = envelope.get("resource")
        if not isinstance(resource, dict) or envelope.get("resource_type") != "encrypt-resource":
            raise _malformed("there is no encrypted resource")
        if resource.get("algorithm") != "AEAD_AES_256_GCM":
            raise _malformed(f"unknown algorithm {resource.get('algorithm')!r}")
        nonce, ciphertext = resource.get("nonce"), resource.get("ciphertext")
        associated = resource.get("associated_data") or ""
        if not all(isinstance(v, str) and v for v in (nonce, ciphertext)) or not isinstance(associated, str):
            raise _malformed("the resource lacks its nonce or ciphertext")
        if not isinstance(envelope.get("event_type"), str) or not isinstance(envelope.get("id"), str):
            raise _malformed("the notify lacks its id or event_type")
        try:
            plaintext = AESGCM(self._apiv3_key).decrypt(
                nonce.encode(), base64.b64decode(ciphertext, validate=True), associated.encode())
        except (InvalidTag, ValueError, binascii.Error):
            log.error("a signed WeChat Pay notify %s does not decrypt: check WECHATPAY_APIV3_KEY", envelope["id"])
            raise AppError(WeChatPayError.NOTIFY_UNDECRYPTABLE, "The notify's resource does not decrypt with "
                                                                "our APIv3 key.") from None
        try:
            decrypted = json.loads(plaintext)
        except ValueError:
            decrypted = None
        if not isinstance(decrypted, dict):
            raise _malformed("the decrypted resource is not a JSON object")
        return {"id": envelope["id"], "event_type": envelope["event_type"],
                "create_time": envelope.get("create_time"), "summary": envelope.get("summary"),
                "resource": decrypted}

    def _verify_notify_signature(self, headers: Mapping[str, str], body: bytes) -> None:
        serial = headers.get("wechatpay-serial", "")
        timestamp = headers.get("wechatpay-timestamp", "")
        nonce = headers.get("wechatpay-nonce", "")
        signature = headers.get("wechatpay-signature", "")
        if not (serial and timestamp and nonce and signature):
            raise _forged("it lacks the Wechatpay-Serial, -Timestamp, -Nonce or -Signature header")
        if headers.get("wechatpay-signature-type", SIGNATURE_TYPE) != SIGNATURE_TYPE:
            raise _forged("its signature type is not " + SIGNATURE_TYPE)
        key = self._notify_key(serial)
        if not timestamp.isdigit() or len(timestamp) > 12:
            raise _forged("its Wechatpay-Timestamp is not a Unix time")
        if abs(time.time() - int(timestamp)) > NOTIFY_MAX_SKEW.total_seconds():
            raise _forged("its Wechatpay-Timestamp is more than 5 minutes from now (a replay?)")
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        try:
            key.verify(base64.b64decode(signature, validate=True), message,
                                    padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError, binascii.Error):
            raise _forged("its signature does not match the body") from None

    def _notify_key(self, serial: str) -> rsa.RSAPublicKey:
        """The key a notify's Wechatpay-Serial names: the public key by its id, else the platform certificate.

        While WeChat Pay moves a merchant from platform certificates to the public key (about a week),
        each notify is signed by either, at random.
        """
        if serial == self.public_key_id:
            return self._public_key
        certificate = self._platform_certificate
        if (serial.startswith(PUBLIC_KEY_ID_PREFIX) or certificate is None
                or _serial_number(serial) != certificate.serial):
            raise _forged(f"it is signed by key {serial!r}, not our WeChat Pay public key or platform certificate")
        if not certificate.not_before <= datetime.now(UTC) <= certificate.not_after:
            raise _forged(f"it is signed by platform certificate {serial!r}, which is not valid now")
        return certificate.public_key

    # -- calling -----------------------------------------------------------

    def _call(self, action: str, call: Callable[[], tuple[int, Any]],
              not_found: Collection[str] = ()) -> dict[str, Any] | None:
        """Run a wechatpayv3 call: its JSON answer, None for a `not_found` code, else an error."""
        try:
            with self._keep_alive():
                status, body = call()
        except requests.RequestException as exc:
            log.warning("WeChat Pay unreachable during %s: %s", action, exc)
            raise WeChatPayAPIError(WeChatPayError.UNAVAILABLE,
                                    "WeChat Pay cannot be reached right now; try again shortly.") from exc
        except Exception as exc:
            if type(exc) is not Exception or not str(exc).startswith(UNVERIFIED_ANSWER):
                raise
            log.error("WeChat Pay's answer to %s failed verification: %s", action, exc)
            raise WeChatPayAPIError(WeChatPayError.FAILED, "WeChat Pay's answer did not verify with the "
                                                           "WeChat Pay public key.") from exc
        data = _json_object(body)
        if 200 <= status < 300:
            return data or {}
        code, message = str(data.get("code", "")), str(data.get("message", ""))
        if code in not_found:
            return None
        raise _translate(action, status, code, message)


def _translate(action: str, status: int, code: str, message: str) -> WeChatPayAPIError:
    if status >= 500 or code in BUSY_CODES:
        log.warning("WeChat Pay busy during %s: %s %s %s", action, status, code, message)
        return WeChatPayAPIError(WeChatPayError.UNAVAILABLE, f"WeChat Pay is busy ({code or status}); try "
                                 "again shortly.", wechat_code=code or None, http_status=status)
    if code == "ORDERPAID":
        return WeChatPayAPIError(WeChatPayError.ORDER_PAID, "WeChat Pay says this transaction is already paid.",
                                 wechat_code=code, http_status=status)
    if code == "ORDER_CLOSED":
        return WeChatPayAPIError(WeChatPayError.ORDER_CLOSED, "WeChat Pay says this transaction is closed.",
                                 wechat_code=code, http_status=status)
    log.error("WeChat Pay refused %s: %s %s %s", action, status, code, message)
    return WeChatPayAPIError(WeChatPayError.FAILED, f"WeChat Pay refused the {action} ({code or status}: "
                             f"{message}).", wechat_code=code or None, http_status=status)


def _json_object(body: Any) -> dict[str, Any]:
    try:
        data = json.loads(body) if body else None
    except (ValueError, TypeError):
        data = None
    return data if isinstance(data, dict) else {}


def _check_out_trade_no(value: object) -> None:
    if not isinstance(value, str) or not OUT_TRADE_NO_RE.fullmatch(value):
        raise ValueError("out_trade_no must be 6-32 of 0-9 A-Z a-z _ - | *")


def _check_fen(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive whole number of fen")


def _forged(reason: str) -> AppError:
    log.warning("refused a WeChat Pay notify: %s", reason)
    return AppError(WeChatPayError.SIGNATURE_INVALID, f"The notify is not signed by WeChat Pay: {reason}.")


def _malformed(reason: str) -> AppError:
    log.warning("refused a signed WeChat Pay notify: %s", reason)
    return AppError(WeChatPayError.NOTIFY_MALFORMED, f"The notify is not one WeChat Pay sends: {reason}.")


# -- wiring --------------------------------------------------------------------------------------


def prepare_dev_keys(config: Mapping[str, Any]) -> None:
    """Generate the development keys on first use, when the settings leave WeChat Pay's keys to them."""
    if config["RIPPLE_ENV"] != PRODUCTION and {"WECHATPAY_PRIVATE_KEY", "WECHATPAY_PUBLIC_KEY"} & set(
            config.get("EMBEDDED", ())):
        ensure_dev_keys(dev_keys_dir(config))


def init_wechat_pay(app: Flask) -> WeChatPayGateway:
    """Build the gateway from the settings (development keys generated on first use)."""
    config = app.config
    prepare_dev_keys(config)
    gateway = WeChatPayGateway.from_config(config)
    app.extensions["wechat_pay"] = gateway
    return gateway


def wechat_pay() -> WeChatPayGateway:
    """The current app's WeChat Pay gateway."""
    return current_app.extensions["wechat_pay"]


def stub_pay_config(config: Mapping[str, Any]) -> PayConfig | None:
    """The stub's merchant for these settings, when WeChat Pay's key is our development one.

    None (the stub then has no WeChat Pay) when WECHATPAY_PUBLIC_KEY is someone else's: only the
    holder of its private key can sign as WeChat Pay.
    """
    if config["RIPPLE_ENV"] == PRODUCTION:
        return None
    platform_file = dev_keys_dir(config) / PLATFORM_PRIVATE
    if not platform_file.is_file():
        return None
    platform = _load_private_key(str(platform_file), platform_file.read_text())
    configured = _load_public_key("WECHATPAY_PUBLIC_KEY", config["WECHATPAY_PUBLIC_KEY"])
    if platform.public_key().public_numbers() != configured.public_numbers():
        return None
    merchant = _load_private_key("WECHATPAY_PRIVATE_KEY", config["WECHATPAY_PRIVATE_KEY"])
    return PayConfig(mchid=config["WECHATPAY_MCHID"], appid=config["WECHAT_APPID"],
                     merchant_public_key=_public_pem(merchant.public_key()),
                     platform_private_key=_private_pem(platform), public_key_id=config["WECHATPAY_PUBLIC_KEY_ID"],
                     apiv3_key=config["WECHATPAY_APIV3_KEY"], merchant_serial=config["WECHATPAY_CERT_SERIAL"])


__all__ = ["WeChatPayAPIError", "WeChatPayGateway", "WeChatPayKeys", "ensure_dev_keys", "generate_keys",
           "init_wechat_pay", "stub_pay_config", "wechat_pay"]
