"""Fixtures: a running WeChat stub and real wechatpy clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from shop.wechat.stub import WeChatStub

from .client import MP_APPID, MP_SECRET, OA_APPID, OA_SECRET, StubClient


@pytest.fixture(scope="session")
def running_stub() -> Iterator[WeChatStub]:
    """One stub server for the whole session."""
    with WeChatStub({MP_APPID: MP_SECRET, OA_APPID: OA_SECRET}) as stub:
        yield stub


@pytest.fixture
def stub(running_stub: WeChatStub) -> WeChatStub:
    """The running stub, with no records, used codes or tokens from earlier tests."""
    running_stub.reset()
    return running_stub


@pytest.fixture
def make_client(stub: WeChatStub) -> Callable[..., StubClient]:
    """Build a wechatpy client for an app of the stub."""

    def make(appid: str = MP_APPID, secret: str = MP_SECRET) -> StubClient:
        return StubClient(appid, secret, stub.url, timeout=5)

    return make


@pytest.fixture
def mp(make_client: Callable[..., StubClient]) -> StubClient:
    """A client of the mini-program."""
    return make_client(MP_APPID, MP_SECRET)


@pytest.fixture
def oa(make_client: Callable[..., StubClient]) -> StubClient:
    """A client of the official account."""
    return make_client(OA_APPID, OA_SECRET)
