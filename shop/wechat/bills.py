"""WeChat Pay's daily bills (API v3): ask for a bill, download it, check it is the file WeChat Pay hashed.

``GET /v3/bill/tradebill`` and ``/v3/bill/fundflowbill`` answer ``{hash_type, hash_value, download_url}``;
the download (signed like any call, but answered unsigned) is the GZIP file, whose *uncompressed*
SHA1 must equal ``hash_value``. A bill that is not made yet (WeChat Pay makes them from 09:00 Beijing
time the next day) answers 400 ``NO_STATEMENT_EXIST`` (or ``STATEMENT_CREATING``): None here.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
import logging
import zlib
from datetime import date
from enum import StrEnum
from typing import Any

import requests

from shop.wechat.errors import WeChatPayError
from shop.wechat.pay import WeChatPayAPIError, WeChatPayGateway

log = logging.getLogger(__name__)

NOT_MADE_YET = {"NO_STATEMENT_EXIST", "STATEMENT_CREATING"}
MAX_BILL_BYTES = 200 * 1024 * 1024  # a day's bill of a large merchant; more is not a bill


class BillKind(StrEnum):
    TRADE = "trade"
    FUNDFLOW = "fundflow"


def download_bill(gateway: WeChatPayGateway, kind: BillKind, bill_date: date) -> str | None:
    """The day's bill as text (UTF-8, uncompressed and hash-checked); None while WeChat Pay has not made it.

    Raises ``WeChatPayAPIError``: ``wechatpay_unavailable`` (try later), ``wechatpay_error``, and
    ``wechatpay_bill_corrupt`` when the file is not the one WeChat Pay hashed.
    """
    day = bill_date.isoformat()
    client = gateway._client  # noqa: SLF001 - the gateway's wechatpayv3 client, its calls and its errors
    if kind == BillKind.TRADE:
        ask = lambda: client.trade_bill(bill_date=day, bill_type="ALL", tar_type="GZIP")  # noqa: E731
    else:
        ask = lambda: client.fundflow_bill(bill_date=day, account_type="BASIC", tar_type="GZIP")  # noqa: E731
    answer = gateway._call(f"{kind} bill", ask, not_found=NOT_MADE_YET)  # noqa: SLF001
    if answer is None:
        return None
    url, hash_type, hash_value = (str(answer.get(k) or "") for k in ("download_url", "hash_type", "hash_value"))
    if not url or hash_type.upper() != "SHA1" or not hash_value:
        raise _corrupt(kind, bill_date, f"the answer lacks download_url or a SHA1 hash ({hash_type!r})")
    with gateway._keep_alive():  # noqa: SLF001
        status, body = _fetch(client, url)
    if not 200 <= status < 300:
        raise WeChatPayAPIError(WeChatPayError.UNAVAILABLE if status >= 500 else WeChatPayError.FAILED,
                                f"WeChat Pay refused the {kind} bill download ({status}).", http_status=status)
    raw = _gunzip(body if isinstance(body, bytes) else str(body).encode(), kind, bill_date)
    if not hmac.compare_digest(hashlib.sha1(raw).hexdigest(), hash_value.lower()):  # noqa: S324 - WeChat's choice
        raise _corrupt(kind, bill_date, "its SHA1 differs from WeChat Pay's hash_value")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _corrupt(kind, bill_date, "it is not UTF-8 text") from None


def _fetch(client: Any, url: str) -> tuple[int, object]:
    """The download through wechatpayv3 (it signs the request and skips the answer's signature)."""
    try:
        return client.download_bill(url)
    except requests.RequestException as exc:
        log.warning("WeChat Pay unreachable during a bill download: %s", exc)
        raise WeChatPayAPIError(WeChatPayError.UNAVAILABLE,
                                "WeChat Pay cannot be reached right now; try again shortly.") from exc


def _gunzip(body: bytes, kind: BillKind, bill_date: date) -> bytes:
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        raw = inflater.decompress(body, MAX_BILL_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile, EOFError):
        raise _corrupt(kind, bill_date, "it is not a GZIP file") from None
    if len(raw) > MAX_BILL_BYTES or inflater.unconsumed_tail:
        raise _corrupt(kind, bill_date, f"it is larger than {MAX_BILL_BYTES} bytes uncompressed")
    return raw


def _corrupt(kind: BillKind, bill_date: date, reason: str) -> WeChatPayAPIError:
    log.error("refused WeChat Pay's %s bill of %s: %s", kind, bill_date, reason)
    return WeChatPayAPIError(WeChatPayError.BILL_CORRUPT,
                             f"WeChat Pay's {kind} bill of {bill_date} is refused: {reason}.")
