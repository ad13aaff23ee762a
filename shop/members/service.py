"""Members: WeChat login, profile and phone number."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from shop import events
from shop.content import service as content
from shop.content.models import ContentSubject
from shop.content.service import TextCheck
from shop.database import utcnow
from shop.errors import AppError
from shop.extensions import db
from shop.members.errors import MemberError
from shop.members.following import link_follower
from shop.members.journey import JourneyKind, record_event
from shop.members.models import Member, OfficialAccountFollower
from shop.wechat.content_security import CheckScene
from shop.wechat.gateway import MiniProgramGateway, SessionInfo


@dataclass(frozen=True)
class LoginResult:
    member: Member
    is_new: bool


def login_with_wechat(gateway: MiniProgramGateway, *, code: str, scene: str | None = None) -> LoginResult:
    """Exchange a wx.login code for a member, creating them on first arrival."""
    return log_in(gateway.code_to_session(code), scene=scene)


def log_in(session: SessionInfo, *, scene: str | None = None) -> LoginResult:
    """The member WeChat's session names, created on first arrival."""
    member, is_new = _find_member(session), False
    if member is None:
        member, is_new = _create_member(session, scene)
    if member.openid != session.openid:
        # Same person (unionid), new mini-program openid: e.g. the brand moved to another AppID.
        member.openid = session.openid
    member.unionid = session.unionid or member.unionid
    member.session_key = session.session_key
    member.last_login_at = utcnow()
    if is_new:
        record_event(member.id, JourneyKind.REGISTERED, scene=scene)
        events.member_registered.send(member_id=member.id, scene=scene)
    record_event(member.id, JourneyKind.LOGGED_IN, scene=scene)
    link_follower(member)
    return LoginResult(member=member, is_new=is_new)


def _find_member(session: SessionInfo) -> Member | None:
    member = db.session.scalar(select(Member).where(Member.openid == session.openid))
    if member is None and session.unionid:
        member = db.session.scalar(select(Member).where(Member.unionid == session.unionid))
    return member


def _create_member(session: SessionInfo, scene: str | None) -> tuple[Member, bool]:
    """Insert the member; if a concurrent first login won the race, use theirs (not new then)."""
    member = Member(openid=session.openid, unionid=session.unionid, arrival_scene=scene,
                    created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(member)
    except IntegrityError:
        existing = _find_member(session)
        if existing is None:
            raise
        return existing, False
    return member, True


def get_member(member_id: int) -> Member:
    member = db.session.get(Member, member_id)
    if member is None:
        raise AppError(MemberError.MEMBER_NOT_FOUND, "No such member.")
    return member


def update_profile(member_id: int, *, nickname: str | None = None, avatar_url: str | None = None,
                   fields: set[str], check: TextCheck, avatar_hosts: str) -> Member:
    """Change the given profile fields (None clears a field the client sent as null).

    An avatar only from WeChat's hosts (or ``avatar_hosts``); a new nickname checked with WeChat first:
    nothing is changed when either is refused.
    """
    member = get_member(member_id)
    if "avatar_url" in fields and avatar_url is not None:
        content.check_avatar_url(avatar_url, extra_hosts=avatar_hosts)
    screening = None
    if "nickname" in fields and nickname and nickname != member.nickname:
        screening = content.screen(check, openid=member.openid, text=nickname, scene=CheckScene.PROFILE)
    previous = member.nickname
    if "nickname" in fields:
        member.nickname = nickname
    if "avatar_url" in fields:
        member.avatar_url = avatar_url
    if screening is not None:
        content.hold(screening, member_id=member.id, subject=ContentSubject.NICKNAME, target_id=member.id,
                     previous_text=previous)
    return member


def take_back_nickname(member_id: int, *, text: str, previous: str | None) -> None:
    """A rejected nickname goes back to the previous one, unless the member has changed it since."""
    member = db.session.get(Member, member_id)
    if member is not None and member.nickname == text:
        member.nickname = previous


def bind_phone(gateway: MiniProgramGateway, member_id: int, *, code: str) -> Member:
    """Store the phone number behind a one-use getPhoneNumber code."""
    member = get_member(member_id)
    phone = gateway.phone_number(code)
    first_time = member.phone is None
    member.phone, member.phone_country_code = phone.phone, phone.country_code
    if first_time:
        record_event(member.id, JourneyKind.PHONE_BOUND)
    return member


def member_list(*, following: bool | None = None, has_phone: bool | None = None,
                q: str | None = None) -> Select:
    """Members matching the filters, newest first (a statement, for paginate)."""
    statement = select(Member).order_by(Member.id.desc())
    if following is not None:
        followers = select(OfficialAccountFollower.member_id).where(
            OfficialAccountFollower.subscribed.is_(True), OfficialAccountFollower.member_id.is_not(None))
        statement = statement.where(Member.id.in_(followers) if following else Member.id.not_in(followers))
    if has_phone is not None:
        statement = statement.where(Member.phone.is_not(None) if has_phone else Member.phone.is_(None))
    if q:
        statement = statement.where(Member.nickname.contains(q, autoescape=True)
                                    | Member.phone.startswith(q, autoescape=True))
    return statement
