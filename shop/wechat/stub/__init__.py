"""A stub of WeChat's HTTP API, so the real wechatpy client runs end to end offline.

Self-contained on purpose (flask, werkzeug, segno, cryptography, stdlib): nothing from the rest of
`shop`.
"""

from .pay import PayConfig
from .server import WeChatStub, create_app, run_forever

__all__ = ["PayConfig", "WeChatStub", "create_app", "run_forever"]
