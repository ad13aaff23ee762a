from shop.errors import ErrorCode


class MemberError(ErrorCode):
    MEMBER_NOT_FOUND = ("member_not_found", 404)
