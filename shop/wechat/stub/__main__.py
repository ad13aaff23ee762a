"""python -m shop.wechat.stub --port 5001 --app wxAPPID=SECRET ..."""

from .server import main

main()
