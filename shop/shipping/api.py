"""Shipping endpoints for admins: WeChat's carriers, whose codes the ship action takes."""

from __future__ import annotations

from flask_smorest import Blueprint

from shop.auth import Role, roles_required
from shop.errors import raises
from shop.shipping.carriers import delivery_list
from shop.shipping.schemas import CarrierSchema
from shop.wechat.errors import WeChatError

blp = Blueprint("shipping", __name__, url_prefix="/api/v1", description=(
    "Shipping information (发货信息管理): WeChat Pay holds a mini-program's money until WeChat is told the "
    "goods left. Ripple uploads it when an admin ships an order and when a clerk hands a pickup order over."))


@blp.route("/admin/shipping/carriers", methods=["GET"])
@roles_required(Role.ADMIN)
@raises(WeChatError.UNAVAILABLE, WeChatError.FAILED, WeChatError.RATE_LIMITED)
@blp.response(200, CarrierSchema(many=True))
def carriers():
    """WeChat's carriers (`get_delivery_list`, cached for `SHIPPING_DELIVERY_LIST_CACHE_SECONDS`): the
    `carrier` codes POST /admin/orders/{id}/ship accepts. Role: admin."""
    return delivery_list()
