"""wechatpy's client, pointed at a configurable base URL and safe to share among workers.

- Every URL wechatpy builds on ``https://api.weixin.qq.com/`` is sent to ``api_base`` instead
  (the stub in development), because wechatpy 1.8.18 hard-codes the host in each API class.
- The access token lives in Redis (``RedisStorage``) and comes from ``cgi-bin/stable_token``, so
  several workers refreshing at once all get the same valid token.
- ``auto_retry`` is off (with it a persistent 40001 recurses until RecursionError); instead an
  invalid-token answer forces one refresh and one retry, and no more.
"""

from __future__ import annotations

import logging

import redis
import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.redisstorage import RedisStorage

from shop.config import REAL_WECHAT_API_BASE
from shop.metrics import wechat_error, wechat_unreachable

log = logging.getLogger(__name__)

WECHAT_HOST = REAL_WECHAT_API_BASE  # what wechatpy builds its URLs on
# Calls that authenticate with appid + secret instead of an access token.
TOKENLESS_ENDPOINTS = ("sns/jscode2session",)
TOKEN_ERRORS = {40001, 40014, 42001}


class RippleWeChatClient(WeChatClient):
    def __init__(self, appid: str, secret: str, *, api_base: str, redis_client: redis.Redis,
                 timeout: float) -> None:
        storage = RedisStorage(redis_client, prefix="wechat")
        super().__init__(appid, secret, session=storage, timeout=timeout, auto_retry=False)
        self.api_base = api_base
        self.API_BASE_URL = api_base + "cgi-bin/"

    def _absolute(self, url_or_endpoint: str, api_base_url: str | None) -> str:
        if url_or_endpoint.startswith(("http://", "https://")):
            url = url_or_endpoint
        else:
            url = (api_base_url or self.API_BASE_URL) + url_or_endpoint
        if url.startswith(WECHAT_HOST):
            url = self.api_base + url[len(WECHAT_HOST):]
        return url

    def _request(self, method, url_or_endpoint, **kwargs):
        try:
            return self._request_with_fresh_token(method, url_or_endpoint, **kwargs)
        except WeChatClientException as exc:
            wechat_error(exc.errcode)
            raise
        except requests.RequestException:
            wechat_unreachable()
            raise

    def _request_with_fresh_token(self, method, url_or_endpoint, **kwargs):
        """The request; a token WeChat refused is fetched afresh and the request sent once more."""
        url = self._absolute(url_or_endpoint, kwargs.pop("api_base_url", None))
        params = kwargs.setdefault("params", {})
        if isinstance(params, dict) and url.endswith(TOKENLESS_ENDPOINTS):
            params["access_token"] = None  # requests drops None: no token fetched, none sent
        try:
            return super()._request(method, url, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
        log.info("WeChat refused the access token; fetching a fresh one and retrying once")
        kwargs["params"]["access_token"] = self.fetch_access_token(force_refresh=True)["access_token"]
        return super()._request(method, url, **kwargs)

    def fetch_access_token(self, force_refresh: bool = False) -> dict:
        """Fetch the token from the stable_token endpoint and keep it in Redis."""
        res = self._http.post(self.api_base + "cgi-bin/stable_token", timeout=self.timeout, json={
            "grant_type": "client_credential", "appid": self.appid, "secret": self.secret,
            "force_refresh": force_refresh,
        })
        result = self._handle_result(res)
        expires_in = int(result.get("expires_in", 7200))
        # Expire our copy a little early so no worker sends a token in its last minute.
        self.session.set(self.access_token_key, result["access_token"], max(expires_in - 120, 60))
        return result

    @property
    def access_token(self) -> str:
        return self.session.get(self.access_token_key) or self.fetch_access_token()["access_token"]
