"""Request and response shapes of members."""

import marshmallow as ma
from marshmallow import validate

# Printable ASCII without spaces: what a mini-program scene or query value can carry.
SCENE = validate.Regexp(r"^[\x21-\x7e]{1,128}$", error="A scene is 1-128 printable ASCII characters.")
NO_CONTROL_CHARS = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Control characters are not allowed.")


class WeChatLoginArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128),
                            metadata={"description": "The code from wx.login()."})
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
    created_at = ma.fields.AwareDateTime()


class LoginSchema(ma.Schema):
    token = ma.fields.String(metadata={"description": "Send as 'Authorization: Bearer <token>'."})
    member = ma.fields.Nested(MemberSchema)
    is_new = ma.fields.Boolean(metadata={"description": "True on the member's first login."})


class ProfilePatchArgs(ma.Schema):
    nickname = ma.fields.String(allow_none=True, validate=[validate.Length(min=1, max=32), NO_CONTROL_CHARS])
    avatar_url = ma.fields.Url(allow_none=True, schemes={"https", "http"}, validate=validate.Length(max=512))

    @ma.pre_load
    def strip_nickname(self, data, **kwargs):
        if isinstance(data, dict) and isinstance(data.get("nickname"), str):
            data = {**data, "nickname": data["nickname"].strip()}
        return data


class PhoneArgs(ma.Schema):
    code = ma.fields.String(required=True, validate=validate.Length(min=1, max=128),
                            metadata={"description": "The code from the getPhoneNumber button."})


class MemberListArgs(ma.Schema):
    following = ma.fields.Boolean(load_default=None)
    has_phone = ma.fields.Boolean(load_default=None)
    q = ma.fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                         metadata={"description": "Part of a nickname, or a phone number prefix."})
