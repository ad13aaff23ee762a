from shop.errors import ErrorCode


class ContentError(ErrorCode):
    CONTENT_RISKY = ("content_risky", 422)  # WeChat's content check judged the text risky: not kept
    AVATAR_HOST_NOT_ALLOWED = ("avatar_host_not_allowed", 422)
    REVIEW_NOT_FOUND = ("content_review_not_found", 404)
    REVIEW_DECIDED = ("content_review_decided", 409)  # cleared, rejected or settled by a recheck already
