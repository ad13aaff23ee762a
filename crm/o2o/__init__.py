"""A store's online-to-offline results: in-store coupons claimed online against redeemed there, pickup
orders, till sales by members, the members the store won, and its regulars; per business day in a
rollup, and ranked across stores."""
