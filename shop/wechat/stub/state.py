"""What the stub remembers: its apps, people's ids, tokens, used codes and received requests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from .pay import PayConfig, PayState
from .protocol import ErrCode, WeChatError
from .shipping import ShippingState

TOKEN_TTL = 7200

# A fixed key, so every stub in every process derives the same ids for the same person.
_ID_KEY = b"ripple-wechat-stub"


@dataclass(frozen=True)
class Identity:
    """Who an openid belongs to."""

    appid: str
    name: str
    first_seen: int


@dataclass(frozen=True)
class _Token:
    appid: str
    expires_at: float


def person_of(code: str) -> str:
    """The person a stub code stands for: the part before the first ':'."""
    return code.split(":", 1)[0]


def has_unionid(name: str) -> bool:
    """Whether WeChat reveals this person's unionid (not for names starting with 'nounion')."""
    return not name.startswith("nounion")


def _derive_id(prefix: str, *parts: str) -> str:
    """A 28-character id like WeChat's, stable for the same parts."""
    digest = hmac.new(_ID_KEY, "\0".join(parts).encode(), hashlib.sha256).digest()
    return prefix + base64.urlsafe_b64encode(digest).decode()[:27]


class StubState:
    """Thread-safe state shared by the stub's blueprints."""

    def __init__(self, apps: dict[str, str], pay: PayConfig | None = None) -> None:
        self.apps = dict(apps)
        self._lock = threading.Lock()
        # WeChat Pay's merchant, transactions and notifies: only when given its keys.
        self.pay = PayState(pay, self) if pay is not None else None
        self.shipping = ShippingState()
        self._received: list[dict[str, Any]] = []
        self._identities: dict[str, Identity] = {}
        self._tokens: dict[str, _Token] = {}
        self._stable: dict[str, str] = {}
        self._used_codes: set[tuple[str, str, str]] = set()
        self._msgids = itertools.count(2_000_000_001)
        self.content_failure: str | None = None  # content_security's failure mode, None: working
        # Errcodes the next subscribe-message sends answer with, first first (shop/wechat/stub/subscribe_messages.py).
        self.subscribe_answers: list[int] = []

    # -- received requests -------------------------------------------------

    @property
    def received(self) -> list[dict[str, Any]]:
        """A snapshot of the WeChat requests received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def received_on(self, path: str) -> list[dict[str, Any]]:
        """The received requests for one endpoint, e.g. 'cgi-bin/message/subscribe/send'."""
        path = path.lstrip("/")
        return [entry for entry in self.received if entry["path"] == path]

    def record(self, entry: dict[str, Any]) -> None:
        """Remember one received request."""
        with self._lock:
            self._received.append(entry)

    def reset(self) -> None:
        """Forget received requests, used codes, issued tokens and payments (ids stay derivable)."""
        with self._lock:
            self._received.clear()
            self._used_codes.clear()
            self._tokens.clear()
            self._stable.clear()
            self.content_failure = None
            self.subscribe_answers.clear()
        if self.pay is not None:
            self.pay.reset()
        self.shipping.reset()

    # -- people ------------------------------------------------------------

    def openid_for(self, name: str, appid: str) -> str:
        """The openid of person `name` in app `appid`; the stub remembers it."""
        if appid not in self.apps:
            raise ValueError(f"unknown appid {appid!r}")
        openid = _derive_id("o", appid, name)
        with self._lock:
            self._identities.setdefault(openid, Identity(appid, name, int(time.time())))
        return openid

    def unionid_for(self, name: str) -> str:
        """The unionid of person `name`, the same in every app of the stub."""
        return _derive_id("u", name)

    def identity_of(self, openid: str) -> Identity | None:
        """Who an openid belongs to, if the stub handed it out."""
        with self._lock:
            return self._identities.get(openid)

    # -- credentials -------------------------------------------------------

    def authenticate(self, appid: str | None, secret: str | None) -> None:
        """Check an appid and secret as WeChat does, raising its error codes."""
        if not appid:
            raise WeChatError(ErrCode.APPID_MISSING)
        if appid not in self.apps:
            raise WeChatError(ErrCode.INVALID_APPID)
        if not secret:
            raise WeChatError(ErrCode.APPSECRET_MISSING)
        if not hmac.compare_digest(secret, self.apps[appid]):
            raise WeChatError(ErrCode.INVALID_APPSECRET)

    def issue_token(self, appid: str) -> tuple[str, int]:
        """A fresh access token for `appid` and its lifetime in seconds."""
        token = secrets.token_urlsafe(96)
        with self._lock:
            self._tokens[token] = _Token(appid, time.time() + TOKEN_TTL)
        return token, TOKEN_TTL

    def stable_token(self, appid: str, force_refresh: bool) -> tuple[str, int]:
        """The app's stable token, reused while valid; force_refresh replaces it."""
        with self._lock:
            current = self._stable.get(appid)
            record = self._tokens.get(current) if current else None
            if record and record.expires_at > time.time() and not force_refresh:
                return current, int(record.expires_at - time.time())
            if current:
                # Like WeChat, a forced refresh invalidates the previous stable token.
                self._tokens.pop(current, None)
            token = secrets.token_urlsafe(96)
            self._tokens[token] = _Token(appid, time.time() + TOKEN_TTL)
            self._stable[appid] = token
        return token, TOKEN_TTL

    def appid_for_token(self, token: str) -> str:
        """The app an access token was issued to; 41001 if missing, 40001 if not valid."""
        if not token:
            raise WeChatError(ErrCode.ACCESS_TOKEN_MISSING)
        with self._lock:
            record = self._tokens.get(token)
        if record is None or record.expires_at <= time.time():
            raise WeChatError(ErrCode.INVALID_CREDENTIAL)
        return record.appid

    def expire_tokens(self) -> None:
        """Invalidate every issued access token, so callers get 40001."""
        with self._lock:
            self._tokens.clear()
            self._stable.clear()

    # -- one-use codes and counters ----------------------------------------

    def consume_code(self, kind: str, appid: str, code: str) -> bool:
        """Mark a one-use code as used; False if it was used before."""
        key = (kind, appid, code)
        with self._lock:
            if key in self._used_codes:
                return False
            self._used_codes.add(key)
            return True

    def next_msgid(self) -> int:
        """A new message id, as subscribe/send returns."""
        with self._lock:
            return next(self._msgids)
