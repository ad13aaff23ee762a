#!/usr/bin/env bash
# The README's walk-through as one script: run it against `make run` (a fresh or an already used
# demo database: every shopper is new each run, every id comes from an answer).
#
#   bash docs/walkthrough.sh                     # API on http://127.0.0.1:5000, WeChat stub on :5001
#   API=http://127.0.0.1:8000 STUB=http://127.0.0.1:8001 bash docs/walkthrough.sh
#
# The README's snippets are lines of this file (tests/test_walkthrough.py checks it); the lines that
# only this file has stop it with a message when an answer is not what the journey should give.
set -euo pipefail
cd "$(dirname "$0")/.."  # the repository's folder, where the README's reader runs `make run` and `.venv/bin/flask`

# Only here, not in the README: an HTTP error stops the script with its answer, and each answer is kept
# so that `expect TEXT STEP` can stop the script when the last one lacks TEXT.
ANSWER=$(mktemp)
trap 'rm -f "$ANSWER"' EXIT
curl() { command curl --fail-with-body -w '\n' "$@" | tee "$ANSWER"; }
expect() {
  if grep -qF -- "$1" "$ANSWER"; then echo "ok: $2"; else
    printf 'walkthrough: %s: expected %s in:\n%s\n' "$2" "$1" "$(cat "$ANSWER")" >&2; exit 1; fi
}

# -- Quick start --------------------------------------------------------------------------------
API=${API:-http://127.0.0.1:5000}    # `make run` (HOST, PORT)
STUB=${STUB:-http://127.0.0.1:5001}  # its WeChat stub (WECHAT_STUB_PORT)
# the value at a dotted path of the JSON answer on stdin: json_field token, json_field payment.package
json_field() { python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."): v = v[int(k)] if isinstance(v, list) else v[k]
print(v)' "$1"; }
# the stub knows a person by the part of the code before ":" and takes each code once: a new run, new people
RUN=$(python3 -c 'import uuid; print(uuid.uuid4().hex[:8])')

# a shopper logs in with the code from wx.login() ("alice-$RUN:1" and "alice-$RUN:2" are both this Alice)
TOKEN=$(curl -s -X POST "$API/api/v1/auth/wechat-login" -H 'Content-Type: application/json' \
  -d "{\"code\":\"alice-$RUN:1\"}" | json_field token)
ALICE_ID=$(curl -s "$API/api/v1/me" -H "Authorization: Bearer $TOKEN" | json_field id)
expect '"is_following":false' "Alice logged in, member $ALICE_ID"
curl -s -X PATCH "$API/api/v1/me" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"nickname":"Alice"}'
curl -s -X POST "$API/api/v1/me/phone" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"code\":\"13800138000:$RUN\"}"

# stores near People's Square, Shanghai (GCJ-02, as wx.getLocation({type: 'gcj02'}) gives); each says
# open_now with closes_at, or next_opens_at
curl -s "$API/api/v1/stores/nearby?lat=31.2304&lng=121.4737&limit=5"
curl -s "$API/api/v1/stores/nearby?lat=31.2304&lng=121.4737&service=pickup&product_id=2"
# open right now only: at any hour the demo's 24-hour store (before 7:30 in Shanghai, the only one)
curl -s "$API/api/v1/stores/nearby?lat=31.2304&lng=121.4737&open_now=true"
expect '"open_now":true' "a store is open now"
# browse
curl -s "$API/api/v1/categories"
curl -s "$API/api/v1/products?q=latte"
curl -s "$API/api/v1/products/2"     # the latte: its SKU 5 is a medium hot one

# staff, marketing and admins log in with a password
MKT=$(curl -s -X POST "$API/api/v1/auth/staff-login" -H 'Content-Type: application/json' \
  -d '{"username":"marketing","password":"ripple-demo"}' | json_field token)
CLERK=$(curl -s -X POST "$API/api/v1/auth/staff-login" -H 'Content-Type: application/json' \
  -d '{"username":"clerk","password":"ripple-demo"}' | json_field token)
ADMIN=$(curl -s -X POST "$API/api/v1/auth/staff-login" -H 'Content-Type: application/json' \
  -d '{"username":"admin","password":"ripple-demo"}' | json_field token)
curl -s "$API/readyz"
expect '"status":"ok"' "ready"

# -- Buy, pay and pick up -----------------------------------------------------------------------
# preview, then order two lattes for pickup at the demo flagship store (id 1, People's Square)
curl -s -X POST "$API/api/v1/orders/preview" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"items":[{"sku_id":5,"quantity":2}],"fulfilment":"pickup","store_id":1}'
PLACED=$(curl -s -X POST "$API/api/v1/orders" -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: order-$RUN" \
  -H 'Content-Type: application/json' -d '{"items":[{"sku_id":5,"quantity":2}],"fulfilment":"pickup","store_id":1}')
ORDER=$(echo "$PLACED" | json_field order.id)
# "payment" holds what wx.requestPayment needs; its package is "prepay_id=..."
PREPAY=$(echo "$PLACED" | json_field payment.package); PREPAY=${PREPAY#prepay_id=}
# "pay" as the shopper would, in the stub: it sends WeChat Pay's signed, encrypted notify to Ripple
curl -s -X POST "$STUB/stub/pay/$PREPAY/confirm"
PICKUP_CODE=$(curl -s "$API/api/v1/orders/$ORDER" -H "Authorization: Bearer $TOKEN" | json_field pickup_code)
expect '"status":"ready_for_pickup"' "order $ORDER paid, ready for pickup"
curl -s "$API/api/v1/me/points" -H "Authorization: Bearer $TOKEN"
expect '"balance":56,' "56 points earned (1 a yuan)"
# the clerk (logged in above) checks the code, then hands the order over
curl -s -X POST "$API/api/v1/staff/pickups" -H "Authorization: Bearer $CLERK" -H 'Content-Type: application/json' \
  -d "{\"pickup_code\":\"$PICKUP_CODE\"}"
curl -s -X POST "$API/api/v1/staff/pickups" -H "Authorization: Bearer $CLERK" -H 'Content-Type: application/json' \
  -d "{\"pickup_code\":\"$PICKUP_CODE\",\"confirm\":true}"
expect '"status":"completed"' "order $ORDER picked up"

# -- Coupons: claim, spend online, redeem in store ----------------------------------------------
# the claim center, then a claim of batch 1 (a retry with the same key answers 200 with the same coupon)
curl -s "$API/api/v1/coupon-batches" -H "Authorization: Bearer $TOKEN"
COUPON=$(curl -s -X POST "$API/api/v1/coupon-batches/1/claim" -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: claim-$RUN" | json_field id)
# the wallet: available (soonest to expire first; the welcome coupon too), locked, used, expired
curl -s "$API/api/v1/me/coupons?status=available" -H "Authorization: Bearer $TOKEN"
expect "\"id\":$COUPON," "coupon $COUPON claimed"

# preview without a coupon suggests the best one; with coupon_id it takes it off; the order locks it
curl -s -X POST "$API/api/v1/orders/preview" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"items":[{"sku_id":5,"quantity":2}],"fulfilment":"pickup","store_id":1}'
curl -s -X POST "$API/api/v1/orders/preview" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"items\":[{\"sku_id\":5,\"quantity\":2}],\"fulfilment\":\"pickup\",\"store_id\":1,\"coupon_id\":$COUPON}"
PLACED=$(curl -s -X POST "$API/api/v1/orders" -H "Authorization: Bearer $TOKEN" -H "Idempotency-Key: coupon-order-$RUN" \
  -H 'Content-Type: application/json' \
  -d "{\"items\":[{\"sku_id\":5,\"quantity\":2}],\"fulfilment\":\"pickup\",\"store_id\":1,\"coupon_id\":$COUPON}")
PREPAY=$(echo "$PLACED" | json_field payment.package); PREPAY=${PREPAY#prepay_id=}
curl -s -X POST "$STUB/stub/pay/$PREPAY/confirm"     # paying uses the coupon (cancelling would release it)
curl -s "$API/api/v1/me/coupons/$COUPON" -H "Authorization: Bearer $TOKEN"
expect '"status":"used"' "coupon $COUPON spent online"

# the second latte half price (batch 4): of two lattes, one is half off, and the discount sits on the latte's line
HALF=$(curl -s -X POST "$API/api/v1/coupon-batches/4/claim" -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: half-claim-$RUN" | json_field id)
curl -s -X POST "$API/api/v1/orders/preview" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d "{\"items\":[{\"sku_id\":5,\"quantity\":2}],\"fulfilment\":\"pickup\",\"store_id\":1,\"coupon_id\":$HALF}"
expect '"discount_total":1400' "second latte half price: 14 yuan off two lattes"

# in store: claim the in-store coupon of batch 3, show its rotating code (new every 60 s), the clerk redeems it
IN_STORE=$(curl -s -X POST "$API/api/v1/coupon-batches/3/claim" -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: store-claim-$RUN" | json_field id)
SHOWN_CODE=$(curl -s "$API/api/v1/me/coupons/$IN_STORE/code" -H "Authorization: Bearer $TOKEN" | json_field code)
curl -s -o code.png "$API/api/v1/me/coupons/$IN_STORE/code/qr.png" -H "Authorization: Bearer $TOKEN"  # the same as a PNG
# the demo clerk redeems it at their store (a clerk of several stores adds "store_id")
REDEMPTION=$(curl -s -X POST "$API/api/v1/staff/redemptions" -H "Authorization: Bearer $CLERK" \
  -H 'Content-Type: application/json' -d "{\"code\":\"$SHOWN_CODE\"}" | json_field id)
expect "\"coupon_id\":$IN_STORE," "coupon $IN_STORE redeemed at the counter"
curl -s "$API/api/v1/staff/redemptions" -H "Authorization: Bearer $CLERK"     # the store's list, newest first
# the wrong coupon? the clerk takes it back while the answer's "revertible_until" has not passed
curl -s -X POST "$API/api/v1/staff/redemptions/$REDEMPTION/revert" -H "Authorization: Bearer $CLERK"
expect '"reverted_at":"' "redemption $REDEMPTION reverted"
# at the till: the shopper shows the member code, the clerk records the sale once per receipt (docs/orders.md)
MEMBER_CODE=$(curl -s "$API/api/v1/me/member-code" -H "Authorization: Bearer $TOKEN" | json_field code)
curl -s -X POST "$API/api/v1/staff/sales" -H "Authorization: Bearer $CLERK" -H 'Content-Type: application/json' \
  -d "{\"member_code\":\"$MEMBER_CODE\",\"receipt_no\":\"T-$RUN\",\"amount\":3600}"   # -> an in_store order, points earned
grep -qF '"fulfilment":"in_store"' "$ANSWER"  # a till sale is an order paid at the till
# marketing reads a batch's results
curl -s "$API/api/v1/admin/coupon-batches/3/stats" -H "Authorization: Bearer $MKT"

# marketing creates a batch (a draft), then activates it: only an active batch can be claimed or issued
BATCH=$(curl -s -X POST "$API/api/v1/admin/coupon-batches" -H "Authorization: Bearer $MKT" -H 'Content-Type: application/json' \
  -d '{"name":"VIP list","kind":"amount_off","amount_off":500,"valid_days":3,"total":1000,"per_member_limit":1,
       "channel":"targeted","usage":"in_store","scope_store_ids":[1]}' | json_field id)
curl -s -X POST "$API/api/v1/admin/coupon-batches/$BATCH/activate" -H "Authorization: Bearer $MKT"
# and gives it to a list of members (a background job; on `make run` it has finished when it answers)
JOB=$(curl -s -X POST "$API/api/v1/admin/coupon-batches/$BATCH/issue" -H "Authorization: Bearer $MKT" \
  -H "Idempotency-Key: vip-list-$RUN" -H 'Content-Type: application/json' -d "{\"member_ids\":[$ALICE_ID]}" | json_field id)
curl -s "$API/api/v1/admin/coupon-batches/$BATCH/issue-jobs/$JOB" -H "Authorization: Bearer $MKT"
expect '"issued":1' "batch $BATCH issued to Alice"
curl -s "$API/api/v1/admin/coupon-batches/$BATCH/issue-jobs" -H "Authorization: Bearer $MKT"   # all jobs of the batch
# a coffee chain's own kinds: the second latte half price (a kind that needs the items is online unless
# marketing says otherwise: at a counter only a till sale that lists the items can honour it)
curl -s -X POST "$API/api/v1/admin/coupon-batches" -H "Authorization: Bearer $MKT" -H 'Content-Type: application/json' \
  -d '{"name":"Second latte half price","kind":"nth_item_percent","nth":2,"percent":50,
       "scope_product_ids":[2],"valid_days":7,"total":1000}'
expect '"description":"Second item half price"' "a second-latte-half-price batch (online)"

# exchange codes: a batch of channel exchange_code, activated; 5 codes, and the CSV to print
CODES_BATCH=$(curl -s -X POST "$API/api/v1/admin/coupon-batches" -H "Authorization: Bearer $MKT" -H 'Content-Type: application/json' \
  -d '{"name":"Printed flyer","kind":"amount_off","amount_off":300,"valid_days":7,"total":5,"channel":"exchange_code"}' | json_field id)
curl -s -X POST "$API/api/v1/admin/coupon-batches/$CODES_BATCH/activate" -H "Authorization: Bearer $MKT"
curl -s -X POST "$API/api/v1/admin/coupon-batches/$CODES_BATCH/exchange-codes" -H "Authorization: Bearer $MKT" \
  -H 'Content-Type: application/json' -d '{"count":5}'
curl -s -o codes.csv "$API/api/v1/admin/coupon-batches/$CODES_BATCH/exchange-codes.csv" -H "Authorization: Bearer $MKT"
EXCHANGE_CODE=$(sed -n 2p codes.csv | cut -d, -f1)
# a shopper types it (case, spaces and dashes do not matter)
curl -s -X POST "$API/api/v1/me/coupons/exchange" -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' -d "{\"code\":\"$EXCHANGE_CODE\"}"
expect "\"id\":$CODES_BATCH,\"name\":\"Printed flyer\"" "exchange code $EXCHANGE_CODE became a coupon"

# -- Share: Alice shares, Bob buys, Alice is rewarded -------------------------------------------
# Alice shares the latte's product page (or the home page: send {}); the scene goes into the poster's
# mini-program code, the path into onShareAppMessage
SHARED=$(curl -s -X POST "$API/api/v1/shares" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -H "X-Device-Id: alice-phone-$RUN" -d '{"product_id":2,"campaign":"spring","channel":"chat"}')
SHARE=$(echo "$SHARED" | json_field share_id)
SCENE=$(echo "$SHARED" | json_field scene)
# the poster: a PNG of the mini-program code carrying the scene (made by WeChat once, then served from Redis)
curl -s -o poster.png "$API/api/v1/shares/$SHARE/poster" -H "Authorization: Bearer $TOKEN"

# Bob opens the poster: his first login carries the scene and binds him under Alice
BOB=$(curl -s -X POST "$API/api/v1/auth/wechat-login" -H 'Content-Type: application/json' \
  -H "X-Device-Id: bob-phone-$RUN" -d "{\"code\":\"bob-$RUN:1\",\"scene\":\"$SCENE\"}" | json_field token)
# an existing member (or any client that simply always does it) opens the share after login: a repeat
# of the bind above answers 200 with the first outcome and "repeat": true
curl -s -X POST "$API/api/v1/shares/open" -H "Authorization: Bearer $BOB" -H 'Content-Type: application/json' \
  -H "X-Device-Id: bob-phone-$RUN" -d "{\"scene\":\"$SCENE\"}"
expect '"outcome":"bound"' "Bob bound under Alice through share $SHARE"
BOB_ID=$(curl -s "$API/api/v1/me" -H "Authorization: Bearer $BOB" | json_field id)
PLACED=$(curl -s -X POST "$API/api/v1/orders" -H "Authorization: Bearer $BOB" -H "Idempotency-Key: bob-order-$RUN" \
  -H 'Content-Type: application/json' -d '{"items":[{"sku_id":5,"quantity":1}],"fulfilment":"pickup","store_id":1}')
BOB_PREPAY=$(echo "$PLACED" | json_field payment.package); BOB_PREPAY=${BOB_PREPAY#prepay_id=}
curl -s -X POST "$STUB/stub/pay/$BOB_PREPAY/confirm"

# Alice's reward is there at once, frozen for the refund window (7 days); her downline shows Bob
curl -s "$API/api/v1/me/rewards" -H "Authorization: Bearer $TOKEN"
expect '"status":"frozen"' "Alice rewarded for Bob's order, frozen"
curl -s "$API/api/v1/me/referrals" -H "Authorization: Bearer $TOKEN"
curl -s "$API/api/v1/me/referrals/shares" -H "Authorization: Bearer $TOKEN"

# a bigger tree: Dora, the demo's four-level tree of 35 members with orders (any "dora:..." code is Dora)
DORA=$(curl -s -X POST "$API/api/v1/auth/wechat-login" -H 'Content-Type: application/json' \
  -d "{\"code\":\"dora:$RUN\"}" | json_field token)
DORA_ID=$(curl -s "$API/api/v1/me" -H "Authorization: Bearer $DORA" | json_field id)
# who she brought (level 1, 2), their orders and GMV, her whole subtree; then her shares
curl -s "$API/api/v1/me/referrals?level=1&page=1&page_size=20" -H "Authorization: Bearer $DORA"
curl -s "$API/api/v1/me/referrals?level=2" -H "Authorization: Bearer $DORA"
curl -s "$API/api/v1/me/referrals/shares" -H "Authorization: Bearer $DORA"
# marketing: figures over a period [from, to), at most 366 days (the demo's are in the last weeks)
P=$(python3 -c 'import datetime as d; t = d.date.today(); print(f"from={t - d.timedelta(90)}T00:00:00Z&to={t + d.timedelta(1)}T00:00:00Z")')
curl -s "$API/api/v1/admin/referral/stats/top-sharers?$P&sort=gmv" -H "Authorization: Bearer $MKT"
curl -s "$API/api/v1/admin/referral/stats/shares?$P&campaign=spring" -H "Authorization: Bearer $MKT"
curl -s "$API/api/v1/admin/referral/stats/campaigns?$P" -H "Authorization: Bearer $MKT"
curl -s "$API/api/v1/admin/referral/stats/k-factor?$P" -H "Authorization: Bearer $MKT"
curl -s "$API/api/v1/admin/referral/stats/ripple?$P" -H "Authorization: Bearer $MKT"
curl -s "$API/api/v1/admin/referral/members/$DORA_ID/subtree?page_size=50" -H "Authorization: Bearer $MKT"
expect '"items":[{' "Dora's subtree"

# -- Rewards and withdrawals -------------------------------------------------------------------
# (WALKTHROUGH_WITHDRAWALS=no skips this part: its `flask` commands take seconds to start.)
if [ "${WALKTHROUGH_WITHDRAWALS:-yes}" != no ]; then
# with commission as the reward kind (an admin's setting), Bob's next order earns Alice fen
curl -s -X PUT "$API/api/v1/admin/referral/settings" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"reward_kind":"commission"}'
PLACED=$(curl -s -X POST "$API/api/v1/orders" -H "Authorization: Bearer $BOB" -H "Idempotency-Key: bob-order-2-$RUN" \
  -H 'Content-Type: application/json' -d '{"items":[{"sku_id":5,"quantity":2}],"fulfilment":"pickup","store_id":1}')
BOB_PREPAY=$(echo "$PLACED" | json_field payment.package); BOB_PREPAY=${BOB_PREPAY#prepay_id=}
curl -s -X POST "$STUB/stub/pay/$BOB_PREPAY/confirm"
# the release job (it also runs every 30 s in `python app.py` and in `flask jobs sweep`), as if the refund
# window had passed (demo; without --now: what is due now)
.venv/bin/flask --app app referral release-rewards --now 2030-01-01T00:00:00
curl -s "$API/api/v1/me/rewards?status=available&page=1&page_size=20" -H "Authorization: Bearer $TOKEN"
expect '"kind":"commission"' "Alice's commission available"
# withdraw to WeChat change; an admin approves
WITHDRAWAL=$(curl -s -X POST "$API/api/v1/me/withdrawals" -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: withdrawal-$RUN" -H 'Content-Type: application/json' -d '{"amount":100}' | json_field id)
curl -s "$API/api/v1/admin/referral/withdrawals?status=requested" -H "Authorization: Bearer $ADMIN"
OUT_BILL_NO=$(curl -s -X POST "$API/api/v1/admin/referral/withdrawals/$WITHDRAWAL/approve" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{}' | json_field out_bill_no)
# "status": "paying"; Alice's withdrawals carry "transfer": {mch_id, app_id, package}, which the
# mini-program passes to wx.requestMerchantTransfer so she confirms receipt. In the stub:
curl -s "$API/api/v1/me/withdrawals" -H "Authorization: Bearer $TOKEN"
curl -s -X POST "$STUB/stub/pay/transfers/$OUT_BILL_NO/confirm"     # or .../fail -d '{"reason":"..."}'
.venv/bin/flask --app app referral sync-withdrawals                  # -> paid (the sweep does it every 30 s)
curl -s "$API/api/v1/me/withdrawals" -H "Authorization: Bearer $TOKEN"
expect '"status":"paid"' "withdrawal $WITHDRAWAL paid"
# an admin may reject a request instead
SECOND=$(curl -s -X POST "$API/api/v1/me/withdrawals" -H "Authorization: Bearer $TOKEN" \
  -H "Idempotency-Key: withdrawal-2-$RUN" -H 'Content-Type: application/json' -d '{"amount":100}' | json_field id)
curl -s -X POST "$API/api/v1/admin/referral/withdrawals/$SECOND/reject" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"note":"account under review"}'
expect '"status":"rejected"' "withdrawal $SECOND rejected"
# back to the demo's points
curl -s -X PUT "$API/api/v1/admin/referral/settings" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"reward_kind":"points"}'
fi

# disputes: an admin moves Bob (and his downline) under Dora, with the reason; marketing reads his history
curl -s -X POST "$API/api/v1/admin/referral/members/$BOB_ID/rebind" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d "{\"parent_id\":$DORA_ID,\"reason\":\"ticket 1182: Dora referred Bob\"}"
curl -s "$API/api/v1/admin/referral/members/$BOB_ID/history" -H "Authorization: Bearer $MKT"
expect '"admin_rebind"' "Bob re-bound under Dora"

# the referral policy: marketing reads it; an admin changes it (3 levels is refused: 422 names the field)
curl -s "$API/api/v1/admin/referral/settings" -H "Authorization: Bearer $MKT"
set +e  # the next answer is a refusal
curl -s -X PUT "$API/api/v1/admin/referral/settings" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"reward_levels":3}'
set -e
expect '"code":"referral_settings_invalid"' "3 reward levels refused"

echo "walk-through done (run $RUN: Alice $ALICE_ID, order $ORDER, coupon $COUPON, batch $BATCH, share $SHARE, Bob $BOB_ID)"
