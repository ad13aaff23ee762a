"""Order making at the counter: at a store that prepares orders, a paid pickup order goes
paid -> preparing -> ready_for_pickup as its clerks mark it, in payment order (see docs/orders.md)."""
