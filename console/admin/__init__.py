"""The admin's console pages: staff accounts, the outbox's failed work, the WeChat Pay reconciliation, withdrawals,
stores and their import, orders with their refunds,
products and their stock per store, their categories, the referral settings."""

from __future__ import annotations

from flask import Blueprint

from console.admin.categories.views import bp as categories_bp
from console.admin.orders.views import bp as orders_bp
from console.admin.outbox.views import bp as outbox_bp
from console.admin.products.views import bp as products_bp
from console.admin.reconciliation.views import bp as reconciliation_bp
from console.admin.referral.views import bp as referral_settings_bp
from console.admin.staff.views import bp as staff_bp
from console.admin.stores.views import bp as stores_bp
from console.admin.withdrawals.views import bp as withdrawals_bp

BLUEPRINTS: tuple[Blueprint, ...] = (staff_bp, outbox_bp, reconciliation_bp, withdrawals_bp, stores_bp, orders_bp, products_bp,
                                     categories_bp, referral_settings_bp)
