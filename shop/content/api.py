"""Admin endpoints of content security: the texts waiting for a person, and the decisions on them."""

from flask_smorest import Blueprint

from shop.auth import Role, current_principal, roles_required
from shop.content import service
from shop.content.errors import ContentError
from shop.content.schemas import ContentReviewSchema, ReviewListArgs
from shop.database import utcnow
from shop.errors import raises
from shop.extensions import db
from shop.pagination import PageArgs, page_of, paginate

blp = Blueprint("content", __name__, url_prefix="/api/v1", description=(
    "Content security: nicknames and share titles are checked with WeChat (msg_sec_check) before they are "
    "kept; what WeChat wants a person to look at, and what was kept unchecked while WeChat was down, is "
    "listed here for an admin."))


@blp.route("/admin/content-reviews", methods=["GET"])
@roles_required(Role.ADMIN)
@blp.arguments(ReviewListArgs, location="query")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_of(ContentReviewSchema))
def list_reviews(filters, page):
    """Texts held for review, newest first (unset status: those waiting for a decision). Role: admin."""
    return paginate(service.review_list(**filters), **page)


@blp.route("/admin/content-reviews/<id:review_id>/<any(clear, reject):decision>", methods=["POST"])
@roles_required(Role.ADMIN)
@blp.response(200, ContentReviewSchema)
@raises(ContentError.REVIEW_NOT_FOUND, ContentError.REVIEW_DECIDED)
def decide_review(review_id, decision):
    """Decide a held text: `clear` (it stands) or `reject` (taken back)

    A rejected nickname goes back to the member's previous one; a rejected share title is blanked
    (the card shows the product or home page's own title). Only a field that still holds the text
    changes. 409 `content_review_decided` once cleared, rejected or settled by its recheck. Role: admin.
    """
    review = service.decide(review_id, reject=decision == "reject", staff_id=current_principal().staff_id,
                            now=utcnow())
    db.session.commit()
    return review
