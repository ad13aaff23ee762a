"""The CRM's tests buy, claim and share as the other packages' tests do: their fixtures, reused."""

from tests.coupons.conftest import active_batch, marketing  # noqa: F401
from tests.orders.conftest import alice, shop  # noqa: F401
