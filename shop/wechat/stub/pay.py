"""WeChat Pay API v3 as a merchant in public-key mode sees it, and the shopper's side for tests.

Protocol (what the real wechatpayv3 client talks to):

- Every ``/v3/`` request must carry ``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",
  nonce_str="..",signature="..",timestamp="..",serial_no=".."``: an RSA-SHA256 signature of
  ``METHOD\\nURI\\nTIMESTAMP\\nNONCE\\nBODY\\n`` by the merchant's key, checked with the merchant
  public key the stub was given (401 SIGN_ERROR otherwise, also for a timestamp off by > 5 min).
- Every answer is signed with the platform private key: ``Wechatpay-Timestamp``, ``-Nonce``,
  ``-Signature`` (of ``TIMESTAMP\\nNONCE\\nBODY\\n``), ``-Serial`` (the public key id).
- Errors are ``{"code", "message"}`` with an HTTP status, as WeChat Pay answers them.
- Notifies are POSTed over real HTTP to the transaction's notify_url, signed the same way, the
  resource encrypted with AEAD_AES_256_GCM under the APIv3 key.

Endpoints: JSAPI prepay, query by out_trade_no or transaction_id, close, refund, refund query,
merchant transfer (商家转账, user-confirmation mode: ``POST /v3/fund-app/mch-transfer/transfer-bills``
answers WAIT_USER_CONFIRM with a package_info) and its query by out_bill_no.

Control (``/stub/pay/...``, JSON bodies or query parameters):

- ``POST /stub/pay/<prepay_id>/confirm``: the shopper pays. ``deliver`` once|twice|never,
  ``delay_seconds`` (deliver later, from a background thread), ``concurrent`` (the copies at
  once), ``ignore_expiry``. Answers the transaction and the notify with its deliveries.
- ``POST /stub/pay/<prepay_id>/fail``: the payment fails (``state`` NOTPAY, the default, or
  PAYERROR); no notify.
- ``POST /stub/pay/<prepay_id>/pay-on-close``: the shopper pays at the very moment the merchant
  closes the transaction: the next close of it pays it first (its notify delivered as the
  ``deliver`` options ask) and then answers ORDERPAID, as WeChat Pay does for a close that lost
  that race.
- ``POST /stub/pay/refunds/<out_refund_no>/succeed`` and ``.../abnormal``: settle a PROCESSING
  refund (with a REFUND.SUCCESS / REFUND.ABNORMAL notify; same delivery options).
- ``POST /stub/pay/transfers/<out_bill_no>/confirm``: the member confirms receipt in WeChat (SUCCESS);
  ``.../fail`` ``{"reason": "..."}``: the transfer fails (FAIL with that fail_reason, default
  PAYEE_ACCOUNT_ABNORMAL); ``GET /stub/pay/transfers/<out_bill_no>``: the bill.
- ``POST /stub/pay/settings``: ``{"refunds": "auto"|"manual"}``. Auto (the default): a refund
  answers SUCCESS at once and its notify follows from a background thread. Manual: it answers
  PROCESSING and waits for ``succeed`` or ``abnormal``.
- ``POST /stub/pay/faults``: ``{"status": 500, "code": "SYSTEM_ERROR", "times": 1, "path": "",
  "method": ""}``: the next ``times`` /v3/ calls whose path contains ``path`` (and whose method is
  ``method``, when given: ``GET`` fails queries only) answer that error. ``DELETE /stub/pay/faults``
  disarms every fault (WeChat Pay is back).
- ``GET /stub/pay/notifies?out_trade_no=&out_refund_no=&event_type=``: every notify built, with
  its body, the signed headers it was built with and each delivery's headers, HTTP status and answer.
- ``POST /stub/pay/notify/resend``: ``{"notify_id"|"out_trade_no"|"out_refund_no", "event_type"?,
  "same_headers": false, ...delivery options}``: deliver the latest matching notify again (same id
  and body; re-signed now unless ``same_headers``, a byte-for-byte replay).
- ``GET /stub/pay/transactions/<out_trade_no>``, ``GET /stub/pay/refunds/<out_refund_no>``.

Deviation: WeChat Pay only calls https notify URLs; the stub calls http ones too.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import Blueprint, Response, request

from shop.config import WECHAT_PAY_ZONE

from .protocol import current_stub

if TYPE_CHECKING:
    from .state import StubState

bp = Blueprint("wechat_stub_pay", __name__)

SCHEME = "WECHATPAY2-SHA256-RSA2048"
MAX_CLOCK_SKEW = 300
NOTIFY_TIMEOUT = 5
OUT_TRADE_NO_RE = re.compile(r"[0-9A-Za-z_\-|*]{6,32}")
OUT_REFUND_NO_RE = re.compile(r"[0-9A-Za-z_\-|*@]{1,64}")
AUTH_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')

STATE_DESC = {
    "NOTPAY": "订单未支付",
    "SUCCESS": "支付成功",
    "CLOSED": "订单已关闭",
    "REFUND": "转入退款",
    "PAYERROR": "支付失败，请重新下单支付",
}
PAYABLE = ("NOTPAY", "PAYERROR")
PAID = ("SUCCESS", "REFUND")


@dataclass(frozen=True)
class PayConfig:
    """The stub's WeChat Pay merchant: the keys it checks our requests with and signs with."""

    mchid: str
    appid: str
    merchant_public_key: str  # PEM: verifies our request signatures
    platform_private_key: str  # PEM: signs answers and notifies (WeChat Pay's own key)
    public_key_id: str  # PUB_KEY_ID_...: the Wechatpay-Serial of what the stub signs
    apiv3_key: str  # 32 characters: encrypts notify resources
    merchant_serial: str | None = None  # when set, the serial_no our requests must name


class PayError(Exception):
    """An error WeChat Pay answers with an HTTP status and {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status, code, message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Transaction:
    out_trade_no: str
    description: str
    total: int
    openid: str
    notify_url: str
    attach: str | None
    time_expire: datetime | None
    prepay_id: str
    state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: str | None = None
    refunded: int = 0


@dataclass
class Refund:
    out_refund_no: str
    refund_id: str
    out_trade_no: str
    transaction_id: str
    refund: int
    total: int
    reason: str | None
    notify_url: str | None
    create_time: str
    status: str = "PROCESSING"
    success_time: str | None = None


@dataclass
class Transfer:
    out_bill_no: str
    transfer_bill_no: str
    openid: str
    amount: int
    remark: str
    scene_id: str
    create_time: str
    package_info: str
    state: str = "WAIT_USER_CONFIRM"
    fail_reason: str | None = None
    update_time: str | None = None


TRANSFER_OPEN = ("ACCEPTED", "PROCESSING", "WAIT_USER_CONFIRM", "TRANSFERING")
OUT_BILL_NO_RE = re.compile(r"[0-9A-Za-z]{5,32}")


@dataclass
class Fault:
    status: int
    code: str
    message: str
    times: int
    path: str = ""
    method: str = ""  # empty: any method

    def matches(self, method: str, path: str) -> bool:
        return self.path in path and self.method.upper() in ("", method.upper())


@dataclass
class Notify:
    id: str
    event_type: str
    url: str | None
    out_trade_no: str
    out_refund_no: str | None
    body: bytes
    headers: dict[str, str]
    deliveries: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "event_type": self.event_type, "url": self.url,
                "out_trade_no": self.out_trade_no, "out_refund_no": self.out_refund_no,
                "body": self.body.decode(), "headers": dict(self.headers),
                "deliveries": copy.deepcopy(self.deliveries)}


def rfc3339(moment: datetime) -> str:
    """WeChat Pay's time format: 2018-06-08T10:34:56+08:00."""
    return moment.astimezone(WECHAT_PAY_ZONE).isoformat(timespec="seconds")


def _now() -> str:
    return rfc3339(datetime.now(WECHAT_PAY_ZONE))


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


class PayState:
    """Transactions, refunds and notifies of the stub's one merchant (thread-safe)."""

    def __init__(self, config: PayConfig, stub: StubState) -> None:
        if len(config.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key must be 32 bytes")
        self.config = config
        self._stub = stub
        merchant_key = serialization.load_pem_public_key(config.merchant_public_key.encode())
        platform_key = serialization.load_pem_private_key(config.platform_private_key.encode(), None)
        if not isinstance(merchant_key, rsa.RSAPublicKey) or not isinstance(platform_key, rsa.RSAPrivateKey):
            raise ValueError("WeChat Pay keys are RSA keys")
        self._merchant_key = merchant_key
        self._platform_key = platform_key
        self._lock = threading.RLock()  # re-entered when a JSON snapshot is taken under it
        self._generation = 0
        self._transactions: dict[str, Transaction] = {}
        self._prepay: dict[str, str] = {}
        self._refunds: dict[str, Refund] = {}
        self._transfers: dict[str, Transfer] = {}
        self._notifies: list[Notify] = []
        self._faults: list[Fault] = []
        self._pay_on_close: dict[str, dict[str, Any]] = {}  # out_trade_no -> delivery options
        self.auto_refunds = True

    def reset(self) -> None:
        """Forget everything; deliveries still waiting in background threads are dropped."""
        with self._lock:
            self._generation += 1
            self._transactions.clear()
            self._prepay.clear()
            self._refunds.clear()
            self._transfers.clear()
            self._notifies.clear()
            self._faults.clear()
            self._pay_on_close.clear()
            self.auto_refunds = True

    # -- signatures ----------------------------------------------------------

    def check_request(self, method: str, uri: str, body: bytes, authorization: str) -> None:
        """Verify our request's Authorization as WeChat Pay does; 401 SIGN_ERROR when it fails."""
        scheme, _, rest = authorization.partition(" ")
        if scheme != SCHEME:
            raise PayError(401, "SIGN_ERROR", f"Authorization scheme must be {SCHEME}")
        params = dict(AUTH_PARAM_RE.findall(rest))
        missing = [k for k in ("mchid", "nonce_str", "signature", "timestamp", "serial_no") if not params.get(k)]
        if missing:
            raise PayError(401, "SIGN_ERROR", f"Authorization lacks {', '.join(missing)}")
        if params["mchid"] != self.config.mchid:
            raise PayError(401, "SIGN_ERROR", f"商户号 {params['mchid']} 不存在")
        if self.config.merchant_serial and params["serial_no"].upper() != self.config.merchant_serial.upper():
            raise PayError(401, "SIGN_ERROR", "商户证书序列号有误")
        if not params["timestamp"].isdigit() or abs(time.time() - int(params["timestamp"])) > MAX_CLOCK_SKEW:
            raise PayError(401, "SIGN_ERROR", "请求的时间戳已过期")
        message = f"{method}\n{uri}\n{params['timestamp']}\n{params['nonce_str']}\n".encode() + body + b"\n"
        try:
            signature = base64.b64decode(params["signature"], validate=True)
            self._merchant_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        except (ValueError, InvalidSignature):
            raise PayError(401, "SIGN_ERROR", "签名错误") from None

    def signed_headers(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """The headers WeChat Pay signs an answer or a notify with."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16).upper()
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = self._platform_key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return {
            "Wechatpay-Timestamp": str(timestamp),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": base64.b64encode(signature).decode(),
            "Wechatpay-Serial": self.config.public_key_id,
            "Wechatpay-Signature-Type": SCHEME,
        }

    def take_fault(self, method: str, path: str) -> Fault | None:
        """The error the next `method` call on `path` must answer, if one was armed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def add_fault(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- transactions --------------------------------------------------------

    def prepay(self, body: dict[str, Any]) -> str:
        """A JSAPI order: its prepay_id (the same one again for an identical retry)."""
        if body.get("mchid") != self.config.mchid:
            raise PayError(400, "PARAM_ERROR", "mchid 与请求的商户号不一致")
        if body.get("appid") != self.config.appid:
            raise PayError(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
        description = body.get("description")
        if not isinstance(description, str) or not 1 <= len(description) <= 127:
            raise PayError(400, "PARAM_ERROR", "description 长度须为1-127个字符")
        out_trade_no = _out_trade_no(body.get("out_trade_no"))
        notify_url = body.get("notify_url")
        if not isinstance(notify_url, str) or not notify_url.startswith(("https://", "http://")) or "?" in notify_url:
            raise PayError(400, "PARAM_ERROR", "notify_url 格式错误")
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
        total = _fen(amount.get("total"))
        if amount.get("currency", "CNY") != "CNY":
            raise PayError(400, "PARAM_ERROR", "currency 只支持 CNY")
        payer = body.get("payer")
        openid = payer.get("openid") if isinstance(payer, dict) else None
        identity = self._stub.identity_of(openid) if isinstance(openid, str) else None
        if identity is None or identity.appid != self.config.appid:
            raise PayError(400, "PARAM_ERROR", "openid和appid不匹配")
        attach = body.get("attach")
        if attach is not None and (not isinstance(attach, str) or len(attach) > 128):
            raise PayError(400, "PARAM_ERROR", "attach 长度不能超过128个字符")
        time_expire = _time_expire(body.get("time_expire"))
        with self._lock:
            existing = self._transactions.get(out_trade_no)
            if existing is not None:
                return _repeat_prepay(existing, description, total, openid, attach)
            prepay_id = f"wx{datetime.now(WECHAT_PAY_ZONE):%d%H%M%S}{secrets.token_hex(13)}"
            self._transactions[out_trade_no] = Transaction(
                out_trade_no, description, total, openid, notify_url, attach, time_expire, prepay_id)
            self._prepay[prepay_id] = out_trade_no
            return prepay_id

    def transaction(self, out_trade_no: str | None = None, *, transaction_id: str | None = None,
                    prepay_id: str | None = None) -> Transaction:
        """A transaction by any of its ids; 404 ORDER_NOT_EXIST when there is none."""
        with self._lock:
            if prepay_id is not None:
                out_trade_no = self._prepay.get(prepay_id)
            elif transaction_id is not None:
                out_trade_no = next((t.out_trade_no for t in self._transactions.values()
                                     if t.transaction_id == transaction_id), None)
            found = self._transactions.get(out_trade_no or "")
        if found is None:
            raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")
        return found

    def transaction_json(self, t: Transaction) -> dict[str, Any]:
        """A transaction as the query answers it (and the payment notify carries it)."""
        with self._lock:
            return self._transaction_json(t)

    def _transaction_json(self, t: Transaction) -> dict[str, Any]:
        data: dict[str, Any] = {"appid": self.config.appid, "mchid": self.config.mchid,
                                "out_trade_no": t.out_trade_no}
        if t.transaction_id:
            data["transaction_id"] = t.transaction_id
        data.update(trade_type="JSAPI", trade_state=t.state, trade_state_desc=STATE_DESC[t.state])
        if t.success_time:
            data.update(bank_type="OTHERS", success_time=t.success_time)
        data["attach"] = t.attach or ""
        data["payer"] = {"openid": t.openid}
        amount: dict[str, Any] = {"total": t.total, "currency": "CNY", "payer_currency": "CNY"}
        if t.success_time:
            amount["payer_total"] = t.total
        data["amount"] = amount
        return data

    def close(self, out_trade_no: str) -> tuple[Notify, dict[str, Any]] | None:
        """Close an unpaid transaction. A close armed by ``arm_pay_on_close`` pays it first: then the
        payment's notify and its delivery options (for the caller to deliver, then answer ORDERPAID)."""
        with self._lock:
            t = self._transactions.get(out_trade_no)
            if t is None:
                raise PayError(404, "ORDER_NOT_EXIST", "订单不存在")
            racing = self._pay_on_close.pop(out_trade_no, None)
            if racing is not None and t.state in PAYABLE:
                return self.pay(t.prepay_id, ignore_expiry=True), racing
            if t.state in PAID:
                raise PayError(400, "ORDERPAID", "该订单已支付")
            t.state = "CLOSED"
            return None

    def arm_pay_on_close(self, prepay_id: str, options: dict[str, Any]) -> Transaction:
        """The next close of this transaction finds the shopper paying it at that moment."""
        t = self.transaction(prepay_id=prepay_id)
        with self._lock:
            if t.state not in PAYABLE:
                raise PayError(409, "ORDERPAID" if t.state in PAID else "ORDER_CLOSED",
                               f"the transaction is {t.state}")
            self._pay_on_close[t.out_trade_no] = dict(options)
        return t

    def pay(self, prepay_id: str, *, ignore_expiry: bool = False) -> Notify:
        """The shopper pays: the transaction succeeds and its notify is built (not yet delivered)."""
        t = self.transaction(prepay_id=prepay_id)
        with self._lock:
            if t.state not in PAYABLE:
                raise PayError(409, "ORDERPAID" if t.state in PAID else "ORDER_CLOSED",
                               f"the transaction is {t.state}")
            if not ignore_expiry and t.time_expire and t.time_expire <= datetime.now(WECHAT_PAY_ZONE):
                raise PayError(409, "ORDER_EXPIRED", "the transaction's time_expire has passed")
            t.state = "SUCCESS"
            t.transaction_id = "42000" + _digits(23)
            t.success_time = _now()
            resource = self._transaction_json(t)
        return self._notify("TRANSACTION.SUCCESS", "支付成功", "transaction", resource, t.notify_url,
                            t.out_trade_no, None)

    def fail(self, prepay_id: str, state: str) -> Transaction:
        """The payment fails: no money moves, no notify; the transaction can still be paid."""
        if state not in PAYABLE:
            raise PayError(400, "PARAM_ERROR", f"state must be one of {', '.join(PAYABLE)}")
        t = self.transaction(prepay_id=prepay_id)
        with self._lock:
            if t.state not in PAYABLE:
                raise PayError(409, "ORDERPAID" if t.state in PAID else "ORDER_CLOSED",
                               f"the transaction is {t.state}")
            t.state = state
        return t

    # -- refunds -------------------------------------------------------------

    def refund(self, body: dict[str, Any]) -> tuple[Refund, Notify | None]:
        """Create a refund (or answer the same one again); auto mode settles it at once."""
        out_refund_no = body.get("out_refund_no")
        if not isinstance(out_refund_no, str) or not OUT_REFUND_NO_RE.fullmatch(out_refund_no):
            raise PayError(400, "PARAM_ERROR", "out_refund_no 格式错误")
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
        refund, total = _fen(amount.get("refund")), _fen(amount.get("total"))
        reason = body.get("reason")
        if reason is not None and (not isinstance(reason, str) or len(reason) > 80):
            raise PayError(400, "PARAM_ERROR", "reason 长度不能超过80个字符")
        notify_url = body.get("notify_url")
        if body.get("transaction_id"):
            t = self.transaction(transaction_id=str(body["transaction_id"]))
        elif body.get("out_trade_no"):
            t = self.transaction(_out_trade_no(body["out_trade_no"]))
        else:
            raise PayError(400, "PARAM_ERROR", "transaction_id 和 out_trade_no 必须二选一")
        with self._lock:
            existing = self._refunds.get(out_refund_no)
            if existing is not None:
                if (existing.out_trade_no, existing.refund, existing.total) != (t.out_trade_no, refund, total):
                    raise PayError(400, "INVALID_REQUEST", "退款单号重复，请求参数与原退款单不一致")
                return existing, None
            if t.state not in PAID:
                raise PayError(400, "INVALID_REQUEST", "订单未支付，不能退款")
            if total != t.total:
                raise PayError(400, "PARAM_ERROR", "订单金额 total 与原订单金额不一致")
            if t.refunded + refund > t.total:
                raise PayError(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            record = Refund(out_refund_no, "50" + _digits(27), t.out_trade_no, t.transaction_id or "",
                            refund, total, reason, notify_url if isinstance(notify_url, str) else None, _now())
            self._refunds[out_refund_no] = record
            t.refunded += refund
            t.state = "REFUND"
            auto = self.auto_refunds
        notify = self.settle_refund(out_refund_no, "SUCCESS") if auto else None
        return record, notify

    def refund_record(self, out_refund_no: str) -> Refund:
        with self._lock:
            found = self._refunds.get(out_refund_no)
        if found is None:
            raise PayError(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
        return found

    def settle_refund(self, out_refund_no: str, status: str) -> Notify:
        """A PROCESSING refund ends SUCCESS or ABNORMAL; its notify is built (not yet delivered)."""
        refund = self.refund_record(out_refund_no)
        with self._lock:
            if refund.status != "PROCESSING":
                raise PayError(409, "INVALID_REQUEST", f"the refund is {refund.status}")
            refund.status = status
            if status == "SUCCESS":
                refund.success_time = _now()
            else:  # the money did not reach the payer: it can be refunded again
                self._transactions[refund.out_trade_no].refunded -= refund.refund
            resource = {"mchid": self.config.mchid, "out_trade_no": refund.out_trade_no,
                        "transaction_id": refund.transaction_id, "out_refund_no": refund.out_refund_no,
                        "refund_id": refund.refund_id, "refund_status": status,
                        "user_received_account": "支付用户零钱",
                        "amount": {"total": refund.total, "refund": refund.refund,
                                   "payer_total": refund.total, "payer_refund": refund.refund}}
            if refund.success_time:
                resource["success_time"] = refund.success_time
        summary = "退款成功" if status == "SUCCESS" else "退款异常"
        return self._notify(f"REFUND.{status}", summary, "refund", resource, refund.notify_url,
                            refund.out_trade_no, refund.out_refund_no)

    def refund_json(self, r: Refund) -> dict[str, Any]:
        with self._lock:
            return self._refund_json(r)

    def _refund_json(self, r: Refund) -> dict[str, Any]:
        data: dict[str, Any] = {
            "refund_id": r.refund_id, "out_refund_no": r.out_refund_no, "transaction_id": r.transaction_id,
            "out_trade_no": r.out_trade_no, "channel": "ORIGINAL", "user_received_account": "支付用户零钱",
            "create_time": r.create_time, "status": r.status, "funds_account": "AVAILABLE",
            "amount": {"total": r.total, "refund": r.refund, "payer_total": r.total, "payer_refund": r.refund,
                       "settlement_total": r.total, "settlement_refund": r.refund, "discount_refund": 0,
                       "currency": "CNY", "refund_fee": 0},
        }
        if r.success_time:
            data["success_time"] = r.success_time
        return data

    # -- merchant transfers --------------------------------------------------

    def transfer(self, body: dict[str, Any]) -> Transfer:
        """A transfer bill to a user's change (the same one again for an identical retry)."""
        if body.get("appid") != self.config.appid:
            raise PayError(400, "PARAM_ERROR", "appid 与商户号不匹配")
        out_bill_no = body.get("out_bill_no")
        if not isinstance(out_bill_no, str) or not OUT_BILL_NO_RE.fullmatch(out_bill_no):
            raise PayError(400, "PARAM_ERROR", "out_bill_no 须为5-32位数字或大小写字母")
        scene_id = body.get("transfer_scene_id")
        if not isinstance(scene_id, str) or not scene_id:
            raise PayError(400, "PARAM_ERROR", "transfer_scene_id 不能为空")
        reports = body.get("transfer_scene_report_infos")
        if not isinstance(reports, list) or not reports or not all(
                isinstance(r, dict) and r.get("info_type") and r.get("info_content") for r in reports):
            raise PayError(400, "PARAM_ERROR", "transfer_scene_report_infos 须按转账场景报备")
        openid = body.get("openid")
        identity = self._stub.identity_of(openid) if isinstance(openid, str) else None
        if identity is None or identity.appid != self.config.appid:
            raise PayError(400, "PARAM_ERROR", "openid 与 appid 不匹配")
        amount = _fen(body.get("transfer_amount"))
        if amount < 10:
            raise PayError(400, "PARAM_ERROR", "转账金额不能低于0.1元")
        if amount >= 200_000 and not body.get("user_name"):
            raise PayError(400, "PARAM_ERROR", "转账金额>=2000元时，user_name 必填")
        remark = body.get("transfer_remark")
        if not isinstance(remark, str) or not 1 <= len(remark) <= 32:
            raise PayError(400, "PARAM_ERROR", "transfer_remark 长度须为1-32个字符")
        with self._lock:
            existing = self._transfers.get(out_bill_no)
            if existing is not None:
                if (existing.openid, existing.amount) != (openid, amount):
                    raise PayError(400, "INVALID_REQUEST", "商户单号重复，请求参数与原单不一致")
                return existing
            bill = Transfer(out_bill_no, "1330" + _digits(36), openid, amount, remark, scene_id, _now(),
                            "ABBQO+oYAAABAAAAAAB" + base64.b64encode(secrets.token_bytes(24)).decode())
            self._transfers[out_bill_no] = bill
            return bill

    def transfer_record(self, out_bill_no: str) -> Transfer:
        with self._lock:
            found = self._transfers.get(out_bill_no)
        if found is None:
            raise PayError(404, "NOT_FOUND", "记录不存在")
        return found

    def settle_transfer(self, out_bill_no: str, state: str, fail_reason: str | None = None) -> Transfer:
        """An open bill ends SUCCESS (the user confirmed receipt) or FAIL (with a fail_reason)."""
        bill = self.transfer_record(out_bill_no)
        with self._lock:
            if bill.state not in TRANSFER_OPEN:
                raise PayError(409, "INVALID_REQUEST", f"the transfer is {bill.state}")
            bill.state, bill.update_time = state, _now()
            bill.fail_reason = fail_reason if state == "FAIL" else None
        return bill

    def transfer_json(self, bill: Transfer, *, created: bool = False) -> dict[str, Any]:
        """The bill as the transfer call (``created``) or the query answers it."""
        with self._lock:
            if created:
                data = {"out_bill_no": bill.out_bill_no, "transfer_bill_no": bill.transfer_bill_no,
                        "create_time": bill.create_time, "state": bill.state}
                if bill.state == "WAIT_USER_CONFIRM":
                    data["package_info"] = bill.package_info
                return data
            data = {"mch_id": self.config.mchid, "out_bill_no": bill.out_bill_no,
                    "transfer_bill_no": bill.transfer_bill_no, "appid": self.config.appid, "state": bill.state,
                    "transfer_amount": bill.amount, "transfer_remark": bill.remark, "openid": bill.openid,
                    "create_time": bill.create_time, "update_time": bill.update_time or bill.create_time}
            if bill.fail_reason:
                data["fail_reason"] = bill.fail_reason
            return data

    # -- notifies ------------------------------------------------------------

    def _notify(self, event_type: str, summary: str, original_type: str, resource: dict[str, Any],
                url: str | None, out_trade_no: str, out_refund_no: str | None) -> Notify:
        """Encrypt the resource, sign the body: a notify ready to deliver, kept for tests."""
        nonce = secrets.token_hex(6)  # 12 characters, used as the GCM nonce's bytes
        plaintext = json.dumps(resource, ensure_ascii=False).encode()
        ciphertext = AESGCM(self.config.apiv3_key.encode()).encrypt(nonce.encode(), plaintext,
                                                                     original_type.encode())
        envelope = {
            "id": str(uuid.uuid4()), "create_time": _now(), "resource_type": "encrypt-resource",
            "event_type": event_type, "summary": summary,
            "resource": {"original_type": original_type, "algorithm": "AEAD_AES_256_GCM",
                         "ciphertext": base64.b64encode(ciphertext).decode(),
                         "associated_data": original_type, "nonce": nonce},
        }
        body = json.dumps(envelope, ensure_ascii=False).encode()
        notify = Notify(envelope["id"], event_type, url, out_trade_no, out_refund_no, body,
                        self.signed_headers(body))
        with self._lock:
            self._notifies.append(notify)
        return notify

    def notifies(self, **match: str | None) -> list[dict[str, Any]]:
        """The notifies built so far (oldest first), filtered on their fields."""
        with self._lock:
            return [n.as_json() for n in self._notifies
                    if all(value is None or getattr(n, key) == value for key, value in match.items())]

    def find_notify(self, **match: str | None) -> Notify:
        """The latest notify matching every given field; 404 when none does."""
        with self._lock:
            for notify in reversed(self._notifies):
                if all(value is None or getattr(notify, key) == value for key, value in match.items()):
                    return notify
        raise PayError(404, "RESOURCE_NOT_EXISTS", "no such notify")

    def notify_json(self, notify: Notify) -> dict[str, Any]:
        with self._lock:
            return notify.as_json()

    def deliver(self, notify: Notify, copies: int, *, delay: float = 0, concurrent: bool = False,
                same_headers: bool = False) -> None:
        """POST the notify `copies` times: now (waiting for the answers) or after `delay` seconds.

        Each delivery is signed when it is sent, as WeChat Pay's retries are; ``same_headers``
        sends the headers the notify was built with instead (a byte-for-byte replay).
        """
        if copies <= 0:
            return
        with self._lock:
            generation = self._generation

        def send_all() -> None:
            if delay:
                time.sleep(delay)
            sends = [threading.Thread(target=self._post, args=(notify, same_headers, generation), daemon=True)
                     for _ in range(copies)]
            for send in sends:
                if concurrent:
                    send.start()
                else:
                    send.run()
            if concurrent:
                for send in sends:
                    send.join()

        if delay:
            threading.Thread(target=send_all, name="wechat-stub-pay-notify", daemon=True).start()
        else:
            send_all()

    def _post(self, notify: Notify, same_headers: bool, generation: int) -> None:
        """One delivery, recorded with our app's answer (WeChat Pay wants 200 or 204 for success)."""
        with self._lock:
            if generation != self._generation:
                return  # the stub was reset since this delivery was asked for
        headers = dict(notify.headers) if same_headers else self.signed_headers(notify.body)
        delivery: dict[str, Any] = {"headers": headers, "status": None, "answer": None, "error": None,
                                    "at": _now()}
        if not notify.url:
            delivery["error"] = "no notify_url"
        else:
            # The test double posts to the notify_url the app under test gave it, as WeChat Pay does.
            send = urllib.request.Request(notify.url, data=notify.body, method="POST", headers={  # noqa: S310
                **headers, "Content-Type": "application/json", "User-Agent": "Mozilla/4.0"})
            try:
                with urllib.request.urlopen(send, timeout=NOTIFY_TIMEOUT) as answer:  # noqa: S310
                    delivery.update(status=answer.status, answer=answer.read().decode(errors="replace"))
            except urllib.error.HTTPError as error:
                delivery.update(status=error.code, answer=error.read().decode(errors="replace"))
            except (urllib.error.URLError, OSError) as error:
                delivery["error"] = str(getattr(error, "reason", error))
        with self._lock:
            if generation == self._generation:
                notify.deliveries.append(delivery)


def _out_trade_no(value: object) -> str:
    if not isinstance(value, str) or not OUT_TRADE_NO_RE.fullmatch(value):
        raise PayError(400, "PARAM_ERROR", "out_trade_no 须为6-32位数字、大小写字母或_-|*")
    return value


def _fen(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise PayError(400, "PARAM_ERROR", "金额须为正整数（分）")
    return value


def _time_expire(value: object) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise PayError(400, "PARAM_ERROR", "time_expire 须为 rfc3339 格式，如 2018-06-08T10:34:56+08:00")
    if moment <= datetime.now(WECHAT_PAY_ZONE):
        raise PayError(400, "INVALID_REQUEST", "time_expire 已过期")
    return moment


def _repeat_prepay(existing: Transaction, description: str, total: int, openid: str,
                   attach: str | None) -> str:
    """A second prepay of the same out_trade_no: the same prepay_id if nothing changed."""
    if existing.state in PAID:
        raise PayError(400, "ORDERPAID", "该订单已支付")
    if existing.state == "CLOSED":
        raise PayError(400, "ORDER_CLOSED", "订单已关闭")
    if (existing.description, existing.total, existing.openid, existing.attach) != (
            description, total, openid, attach):
        raise PayError(400, "INVALID_REQUEST", "201 商户订单号重复")
    return existing.prepay_id


# -- HTTP --------------------------------------------------------------------------------------


def _pay() -> PayState:
    state = current_stub().pay
    if state is None:
        raise PayError(404, "NOT_FOUND", "this stub was started without a WeChat Pay merchant (pay=...)")
    return state


def _answer(payload: dict[str, Any] | None, status: int = 200) -> Response:
    if payload is None:
        return Response(status=status)
    return Response(json.dumps(payload, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def _json_body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"null")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise PayError(400, "PARAM_ERROR", "请求体须为 JSON 对象")
    return body


def _options() -> dict[str, Any]:
    """A control call's options: the JSON body, else the query string."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else request.args.to_dict()


@bp.before_request
def _authenticate() -> Response | None:
    if not request.path.startswith("/v3/"):
        return None
    pay = _pay()
    uri = request.environ.get("RAW_URI") or request.full_path.rstrip("?")
    pay.check_request(request.method, uri, request.get_data(), request.headers.get("Authorization", ""))
    fault = pay.take_fault(request.method, request.path)
    if fault is not None:
        raise PayError(fault.status, fault.code, fault.message)
    return None


@bp.after_request
def _sign(response: Response) -> Response:
    pay = current_stub().pay
    if request.path.startswith("/v3/") and pay is not None:
        response.headers.update(pay.signed_headers(response.get_data()))
        response.headers["Request-ID"] = secrets.token_hex(16)
    return response


@bp.errorhandler(PayError)
def _pay_error(error: PayError) -> Response:
    return _answer({"code": error.code, "message": error.message}, error.status)


def _check_mchid(value: object) -> None:
    if value != _pay().config.mchid:
        raise PayError(400, "PARAM_ERROR", "mchid 与请求的商户号不一致")


@bp.post("/v3/pay/transactions/jsapi")
def jsapi() -> Response:
    return _answer({"prepay_id": _pay().prepay(_json_body())})


@bp.get("/v3/pay/transactions/out-trade-no/<out_trade_no>")
def query_by_out_trade_no(out_trade_no: str) -> Response:
    _check_mchid(request.args.get("mchid"))
    pay = _pay()
    return _answer(pay.transaction_json(pay.transaction(out_trade_no)))


@bp.get("/v3/pay/transactions/id/<transaction_id>")
def query_by_transaction_id(transaction_id: str) -> Response:
    _check_mchid(request.args.get("mchid"))
    pay = _pay()
    return _answer(pay.transaction_json(pay.transaction(transaction_id=transaction_id)))


@bp.post("/v3/pay/transactions/out-trade-no/<out_trade_no>/close")
def close(out_trade_no: str) -> Response:
    _check_mchid(_json_body().get("mchid"))
    pay = _pay()
    racing = pay.close(out_trade_no)
    if racing is not None:  # the shopper paid just before this close reached WeChat Pay
        notify, options = racing
        _deliver_as_asked(pay, notify, options)
        raise PayError(400, "ORDERPAID", "该订单已支付")
    return _answer(None, 204)


@bp.post("/v3/refund/domestic/refunds")
def refund() -> Response:
    pay = _pay()
    record, notify = pay.refund(_json_body())
    if notify is not None:  # settled at once (auto mode): the notify follows this answer
        pay.deliver(notify, 1, delay=0.05)
    return _answer(pay.refund_json(record))


@bp.get("/v3/refund/domestic/refunds/<out_refund_no>")
def query_refund(out_refund_no: str) -> Response:
    pay = _pay()
    return _answer(pay.refund_json(pay.refund_record(out_refund_no)))


@bp.post("/v3/fund-app/mch-transfer/transfer-bills")
def transfer_bills() -> Response:
    pay = _pay()
    return _answer(pay.transfer_json(pay.transfer(_json_body()), created=True))


@bp.get("/v3/fund-app/mch-transfer/transfer-bills/out-bill-no/<out_bill_no>")
def query_transfer(out_bill_no: str) -> Response:
    pay = _pay()
    return _answer(pay.transfer_json(pay.transfer_record(out_bill_no)))


# -- control -----------------------------------------------------------------------------------

COPIES = {"once": 1, "twice": 2, "never": 0}


def _deliver_as_asked(pay: PayState, notify: Notify, options: dict[str, Any]) -> dict[str, Any]:
    deliver = options.get("deliver", "once")
    if deliver not in COPIES:
        raise PayError(400, "PARAM_ERROR", "deliver must be once, twice or never")
    try:
        delay = float(options.get("delay_seconds", 0) or 0)
    except (TypeError, ValueError):
        delay = -1
    if not 0 <= delay <= 600:
        raise PayError(400, "PARAM_ERROR", "delay_seconds must be a number from 0 to 600")
    pay.deliver(notify, COPIES[deliver], delay=delay, concurrent=_flag(options.get("concurrent")),
                same_headers=_flag(options.get("same_headers")))
    return pay.notify_json(notify)


def _flag(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true", "yes"))


@bp.post("/stub/pay/<prepay_id>/confirm")
def confirm(prepay_id: str) -> Response:
    pay, options = _pay(), _options()
    notify = pay.pay(prepay_id, ignore_expiry=_flag(options.get("ignore_expiry")))
    sent = _deliver_as_asked(pay, notify, options)
    return _answer({"transaction": pay.transaction_json(pay.transaction(prepay_id=prepay_id)), "notify": sent})


@bp.post("/stub/pay/<prepay_id>/fail")
def fail(prepay_id: str) -> Response:
    pay = _pay()
    return _answer({"transaction": pay.transaction_json(
        pay.fail(prepay_id, str(_options().get("state", "NOTPAY"))))})


@bp.post("/stub/pay/<prepay_id>/pay-on-close")
def pay_on_close(prepay_id: str) -> Response:
    pay, options = _pay(), _options()
    if options.get("deliver", "once") not in COPIES:
        raise PayError(400, "PARAM_ERROR", "deliver must be once, twice or never")
    return _answer({"transaction": pay.transaction_json(pay.arm_pay_on_close(prepay_id, options))})


@bp.post("/stub/pay/refunds/<out_refund_no>/succeed")
def refund_succeed(out_refund_no: str) -> Response:
    return _settle(out_refund_no, "SUCCESS")


@bp.post("/stub/pay/refunds/<out_refund_no>/abnormal")
def refund_abnormal(out_refund_no: str) -> Response:
    return _settle(out_refund_no, "ABNORMAL")


def _settle(out_refund_no: str, status: str) -> Response:
    pay = _pay()
    notify = pay.settle_refund(out_refund_no, status)
    sent = _deliver_as_asked(pay, notify, _options())
    return _answer({"refund": pay.refund_json(pay.refund_record(out_refund_no)), "notify": sent})


@bp.post("/stub/pay/settings")
def settings() -> Response:
    pay, options = _pay(), _options()
    if "refunds" in options:
        if options["refunds"] not in ("auto", "manual"):
            raise PayError(400, "PARAM_ERROR", "refunds must be auto or manual")
        pay.auto_refunds = options["refunds"] == "auto"
    return _answer({"refunds": "auto" if pay.auto_refunds else "manual"})


@bp.post("/stub/pay/faults")
def faults() -> Response:
    options = _options()
    try:
        fault = Fault(int(options.get("status", 500)), str(options.get("code", "SYSTEM_ERROR")),
                      str(options.get("message", "系统错误")), int(options.get("times", 1)),
                      str(options.get("path", "")), str(options.get("method", "")))
    except (TypeError, ValueError):
        raise PayError(400, "PARAM_ERROR", "status and times must be whole numbers") from None
    _pay().add_fault(fault)
    return _answer({"ok": True})


@bp.delete("/stub/pay/faults")
def clear_faults() -> Response:
    _pay().clear_faults()
    return _answer({"ok": True})


@bp.get("/stub/pay/notifies")
def notifies() -> Response:
    match = {key: request.args.get(key) for key in ("out_trade_no", "out_refund_no", "event_type")}
    return _answer({"notifies": _pay().notifies(**match)})


@bp.post("/stub/pay/notify/resend")
def resend() -> Response:
    pay, options = _pay(), _options()
    match = {"id": options.get("notify_id"), "out_trade_no": options.get("out_trade_no"),
             "out_refund_no": options.get("out_refund_no"), "event_type": options.get("event_type")}
    if not any(match.values()):
        raise PayError(400, "PARAM_ERROR", "name notify_id, out_trade_no or out_refund_no")
    return _answer({"notify": _deliver_as_asked(pay, pay.find_notify(**match), options)})


@bp.get("/stub/pay/transactions/<out_trade_no>")
def stub_transaction(out_trade_no: str) -> Response:
    pay = _pay()
    t = pay.transaction(out_trade_no)
    return _answer({**pay.transaction_json(t), "prepay_id": t.prepay_id, "notify_url": t.notify_url,
                    "time_expire": rfc3339(t.time_expire) if t.time_expire else None,
                    "description": t.description, "refunded": t.refunded})


@bp.get("/stub/pay/refunds/<out_refund_no>")
def stub_refund(out_refund_no: str) -> Response:
    pay = _pay()
    return _answer(pay.refund_json(pay.refund_record(out_refund_no)))


@bp.post("/stub/pay/transfers/<out_bill_no>/confirm")
def transfer_confirm(out_bill_no: str) -> Response:
    pay = _pay()
    return _answer(pay.transfer_json(pay.settle_transfer(out_bill_no, "SUCCESS")))


@bp.post("/stub/pay/transfers/<out_bill_no>/fail")
def transfer_fail(out_bill_no: str) -> Response:
    pay = _pay()
    reason = str(_options().get("reason") or "PAYEE_ACCOUNT_ABNORMAL")
    return _answer(pay.transfer_json(pay.settle_transfer(out_bill_no, "FAIL", reason)))


@bp.get("/stub/pay/transfers/<out_bill_no>")
def stub_transfer(out_bill_no: str) -> Response:
    pay = _pay()
    return _answer(pay.transfer_json(pay.transfer_record(out_bill_no)))
