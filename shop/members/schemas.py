"""Request and response shapes of members."""

import marshmallow as ma
from marshmallow import validate

from shop.fields import strict_bool, text
from shop.members.models import MarketingConsent

# Printable ASCII without spaces: what a mini-program scene or query value can carry.
SCENE = validate.Regexp(r"^[\x21-\x7e]{1,128}$", error="A scene is 1-128 printable ASCII characters.")


class WeChatLoginArgs(ma.Schema):
    code = text(128, required=True, metadata={"description": "The code from wx.login()."})
    scene = ma.fields.String(load_default=None, validate=SCENE, metadata={
        "description": "The scene the mini-program was opened with (a share, a QR code), if any."})


class MemberSchema(ma.Schema):
    id = ma.fields.Integer()
    nickname = ma.fields.String(allow_none=True)
    avatar_url = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    phone_country_code = ma.fields.String(allow_none=True)
    is_following = ma.fields.Boolean(metadata={"description": "Follows the official account."})
    arrival_scene = ma.fields.String(allow_none=True)
    home_store_id = ma.fields.Integer(allow_none=True, metadata={
        "description": "Your home store (GET /stores/{id}): the store whose share brought you, else the store of "
                       "your first store purchase; set once."})
    home_store_source = ma.fields.String(allow_none=True, metadata={"enum": ["store_share", "purchase"]})
    created_at = ma.fields.AwareDateTime()
    marketing_consent = ma.fields.String(metadata={
        "enum": [c.value for c in MarketingConsent],
        "description": "Consent to personalised marketing. `unknown`: never asked (ask at this login)."})
    marketing_consent_at = ma.fields.AwareDateTime(allow_none=True)
    marketing_consent_version = ma.fields.String(allow_none=True, metadata={
        "description": "The version of the consent text the latest grant or withdrawal was given on."})


class LoginSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Send as 'Authorization: Bearer <token>'."})
    member = ma.fields.Nested(MemberSchema)
    is_new = ma.fields.Boolean(metadata={"description": "True on the member's first login."})


class ProfilePatchArgs(ma.Schema):
    nickname = text(32, allow_none=True)
    avatar_url = ma.fields.Url(allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=512))
    marketing_consent = strict_bool(metadata={
        "description": "true grants, false withdraws consent to personalised marketing (recorded with the time "
                       "and the version of the consent text, `PRIVACY_CONSENT_VERSION`)."})

    @ma.pre_load
    def strip_nickname(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("nickname"), str):
            data = {**data, "nickname": data["nickname"].strip()}
        return data


class PhoneArgs(ma.Schema):
    code = text(128, required=True, metadata={"description": "The code from the getPhoneNumber button."})


class MemberListArgs(ma.Schema):
    following = ma.fields.Boolean(load_default=None)
    has_phone = ma.fields.Boolean(load_default=None)
    q = text(64, load_default=None, metadata={"description": "Part of a nickname, or a phone number prefix."})
