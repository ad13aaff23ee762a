"""Content security: WeChat's check of text members write for others to see, before it is kept.

``screen`` asks WeChat (``msg_sec_check`` version 2): ``risky`` is refused (422 ``content_risky``) and
nothing is kept; ``review`` and ``pass`` are kept, and ``hold`` lists a ``review`` for an admin. When
WeChat cannot be reached, ``CONTENT_CHECK_WHEN_WECHAT_DOWN`` decides: ``refuse`` answers 503 with
Retry-After, ``accept`` keeps the text as ``unchecked`` and the outbox checks it again until WeChat
answers. A text rejected by an admin, or found risky by the recheck, is taken back through the
``content_rejected`` signal: the domain that keeps it restores the previous value or blanks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, select

from shop import events, jobs
from shop.content.errors import ContentError
from shop.content.models import OPEN_STATUSES, ContentReview, ContentSubject, ReviewStatus
from shop.database import storable_id, utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.models import Member
from shop.wechat.content_security import CheckScene, TextVerdict, check_text
from shop.wechat.errors import WeChatError
from shop.wechat.gateway import MiniProgramGateway, wechat

REFUSE, ACCEPT = "refuse", "accept"
WHEN_DOWN = (REFUSE, ACCEPT)
# WeChat's own avatar hosts: profile pictures of WeChat accounts (thirdwx/wx.qlogo.cn) and the default
# avatar of WeChat's chooseAvatar example (mmbiz.qpic.cn). chooseAvatar itself gives a temporary file
# the mini-program uploads to the brand's storage: that host is CONTENT_AVATAR_HOSTS.
WECHAT_AVATAR_HOSTS = frozenset({"thirdwx.qlogo.cn", "wx.qlogo.cn", "mmbiz.qpic.cn"})


@dataclass(frozen=True)
class TextCheck:
    """How this app checks text: WeChat's mini-program gateway, and what to do while it is down."""

    gateway: MiniProgramGateway
    when_down: str


@dataclass(frozen=True)
class Screening:
    """What became of a text's check: ``status`` None when it passed (nothing to hold)."""

    text: str
    scene: CheckScene
    status: ReviewStatus | None
    verdict: TextVerdict | None


def current_text_check() -> TextCheck:
    """The current app's text check."""
    return TextCheck(wechat().miniprogram, current_app.config["CONTENT_CHECK_WHEN_WECHAT_DOWN"])


def screen(check: TextCheck, *, openid: str, text: str, scene: CheckScene) -> Screening:
    """WeChat's check of a text before it is kept: 422 ``content_risky`` when risky; 503 while WeChat is
    down unless the app accepts unchecked text."""
    try:
        verdict = check_text(check.gateway, openid=openid, content=text, scene=scene)
    except AppError as exc:
        if exc.code is not WeChatError.UNAVAILABLE:
            raise
        if check.when_down != ACCEPT:
            raise AppError(WeChatError.UNAVAILABLE, "WeChat cannot check this text right now; try again shortly.") from exc
        return Screening(text, scene, ReviewStatus.UNCHECKED, None)
    if verdict.suggest == "risky":
        raise AppError(ContentError.CONTENT_RISKY, "WeChat's content check refused this text; write something else.",
                       details={"label": verdict.label})
    return Screening(text, scene, ReviewStatus.REVIEW if verdict.suggest == "review" else None, verdict)


def hold(screening: Screening, *, member_id: int, subject: ContentSubject, target_id: int,
         previous_text: str | None) -> ContentReview | None:
    """Once the text is kept: list a ``review`` for an admin, and have an ``unchecked`` text checked again."""
    if screening.status is None:
        return None
    verdict = screening.verdict
    review = ContentReview(member_id=member_id, subject=str(subject), target_id=target_id, text=screening.text,
                           previous_text=previous_text, scene=int(screening.scene), status=str(screening.status),
                           label=verdict.label if verdict else None, trace_id=verdict.trace_id if verdict else None,
                           created_at=utcnow(), checked_at=utcnow() if verdict else None)
    db.session.add(review)
    db.session.flush()
    if screening.status == ReviewStatus.UNCHECKED:
        jobs.enqueue(recheck, review.id, key=review.id)
    return review


def recheck(review_id: int) -> None:
    """The outbox job: check a text kept while WeChat was down (a 503 again: the outbox retries later)."""
    review = db.session.get(ContentReview, review_id, with_for_update=True)
    if review is None or review.status != ReviewStatus.UNCHECKED:
        return  # an admin decided it meanwhile
    openid = db.session.scalar(select(Member.openid).where(Member.id == review.member_id))
    verdict = check_text(wechat().miniprogram, openid=openid, content=review.text, scene=CheckScene(review.scene))
    review.label, review.trace_id, review.checked_at = verdict.label, verdict.trace_id, utcnow()
    if verdict.suggest == "risky":
        review.status = ReviewStatus.REMOVED
        _take_back(review)
    else:
        review.status = ReviewStatus.REVIEW if verdict.suggest == "review" else ReviewStatus.PASSED


def review_list(*, status: str | None) -> Select:
    """Reviews, newest first: those waiting for a decision unless a status is named (a statement, for paginate)."""
    statement = select(ContentReview).order_by(ContentReview.id.desc())
    wanted = [status] if status else [str(s) for s in OPEN_STATUSES]
    return statement.where(ContentReview.status.in_(wanted))


def decide(review_id: int, *, reject: bool, staff_id: int | None, now: datetime) -> ContentReview:
    """An admin's decision: clear (the text stands) or reject (taken back); 409 once decided."""
    review = db.session.get(ContentReview, review_id, with_for_update=True) if storable_id(review_id) else None
    if review is None:
        raise AppError(ContentError.REVIEW_NOT_FOUND, "No such content review.")
    if review.status not in OPEN_STATUSES:
        raise AppError(ContentError.REVIEW_DECIDED, f"This text was decided already ({review.status}).")
    review.status = ReviewStatus.REJECTED if reject else ReviewStatus.CLEARED
    review.decided_at, review.decided_by = now, staff_id
    if reject:
        _take_back(review)
    return review


def _take_back(review: ContentReview) -> None:
    events.content_rejected.send(None, subject=review.subject, target_id=review.target_id, text=review.text,
                                 previous_text=review.previous_text)


def check_avatar_url(url: str, *, extra_hosts: str) -> None:
    """An avatar must be on WeChat's avatar hosts (or the brand's upload host): 422 otherwise."""
    host = (urlsplit(url).hostname or "").lower()
    allowed = WECHAT_AVATAR_HOSTS | {h.strip().lower() for h in extra_hosts.split(",") if h.strip()}
    if host not in allowed:
        raise AppError(ContentError.AVATAR_HOST_NOT_ALLOWED, "An avatar must come from WeChat's avatar hosts.",
                       errors={"avatar_url": [f"Not one of: {', '.join(sorted(allowed))}."]})
