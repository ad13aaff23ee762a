"""Subscribe messages (订阅消息): the templates Ripple sends, what each member accepted, and the sends.

A member's acceptance of a template (``wx.requestSubscribeMessage``) allows one send of it; the
database counts what is left per member and template. A message is queued in the transaction of
the change it reports, taking one of those sends there, and sent through the outbox after the
commit. Other packages (coupons, referral) call ``shop.messages.notices``; shop's own changes reach
it through shop.events (``shop.messages.handlers``).
"""
