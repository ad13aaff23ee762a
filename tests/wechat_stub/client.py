"""A real wechatpy client pointed at the WeChat stub."""

from __future__ import annotations

import time
from typing import Any

from wechatpy import WeChatClient

MP_APPID, MP_SECRET = "wx00000000000000a1", "miniprogram-secret"
OA_APPID, OA_SECRET = "wx00000000000000b2", "official-account-secret"
WECHAT_BASE = "https://api.weixin.qq.com/"


class StubClient(WeChatClient):
    """wechatpy's client with api.weixin.qq.com rewritten to the stub and stable tokens."""

    def __init__(self, appid: str, secret: str, base_url: str, **kwargs: Any) -> None:
        super().__init__(appid, secret, auto_retry=False, **kwargs)
        self.base_url = base_url
        self.force_refresh = False

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        # wechatpy hard-codes its base URL in each API class; send those calls to the stub.
        url = url_or_endpoint
        if not url.startswith(("http://", "https://")):
            url = kwargs.pop("api_base_url", self.API_BASE_URL) + url
        if url.startswith(WECHAT_BASE):
            url = self.base_url + url[len(WECHAT_BASE) :]
        return super()._request(method, url, **kwargs)

    def fetch_access_token(self) -> dict:
        """Fetch from cgi-bin/stable_token, which several workers may call at once."""
        res = self._http.post(
            self.base_url + "cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": self.appid,
                "secret": self.secret,
                "force_refresh": self.force_refresh,
            },
            timeout=self.timeout,
        )
        res.raise_for_status()
        result = self._handle_result(res)
        self.session.set(self.access_token_key, result["access_token"], result["expires_in"])
        self.expires_at = int(time.time()) + result["expires_in"]
        return result

    def login(self, code: str) -> dict:
        """code2session without an access token (None makes requests drop the param)."""
        return self.get(
            WECHAT_BASE + "sns/jscode2session",
            params={
                "appid": self.appid,
                "secret": self.secret,
                "js_code": code,
                "grant_type": "authorization_code",
                "access_token": None,
            },
        )
