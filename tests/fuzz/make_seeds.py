#!/usr/bin/env python3
"""Writes the raw seed inputs of every fuzz target from the project's real fixtures:
    python3 tests/fuzz/make_seeds.py OUT_DIR      (OUT_DIR/<target>/<name>)
tests/fuzz/run.sh --reseed merges them (libFuzzer -merge=1, which keeps only inputs that add
coverage) into the committed corpora tests/fuzz/corpus/<target>. Prefix bytes are the targets'
selector bytes (see each target's header comment)."""
import base64
import json
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RT = os.path.join(ROOT, 'tests', 'runtime', 'fixtures')


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), 'wb') as f:
        f.write(data)


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def main(out):
    for name in ('bundle_schema1.0.disco', 'bundle_prior_value_schema1.0.disco'):
        b = read(os.path.join(RT, name))
        write(out, 'bundle', name, b'\0' + b)               # checksum checked
        write(out, 'bundle', name + '.nochecksum', b'\1' + b)  # checksum skipped: mutations reach the model
    for v in (1, 2, 3):
        write(out, 'session_state', f'session_state{v}.bin', read(os.path.join(RT, f'session_state{v}.bin')))
        write(out, 'runtime_state', f'runtime_state{v}.bin', read(os.path.join(RT, f'runtime_state{v}.bin')))
    for name in ('bandit_export1.bin', 'fleet_stats1.dsbs'):
        b = read(os.path.join(RT, name))
        write(out, 'bandit_import', name + '.replace', b'\0' + b)
        write(out, 'bandit_import', name + '.merge', b'\1' + b)

    # Batches: hand-written seeds (the committed corpus keeps the first ones: json_full, fb_full, ...).
    dec = {"decision_id": "0123456789abcdef0123456789abcdef", "ts_ms": 1700000000000, "user_key": "42",
           "user_id": "shopper-7", "item_id": "sku-1", "arm": 0, "discount": 0, "propensity": 1,
           "model_version": "m1", "policy_version": "p1", "mode": "apprentice", "shown": False,
           "price": 20.5, "cost": 12, "holdout": True}
    write(out, 'json_batch', 'holdout_user_id', json.dumps({
        "sender_id": "edge-2", "seq": 18446744073709551615, "sent_at_ms": 1700000000000,
        "dropped_events": 1, "dropped_decisions": 2, "dropped_outcomes": 3, "pass_probability": 0.25,
        "decisions": [dec], "events": [{"user_key": "9", "ts_ms": 1, "type": "purchase", "item_id": "é",
                                        "price": 0, "quantity": 1}]}).encode())

    # Offer tokens (tests/checkout/sdk_tokens.json: made by the JS SDK; fuzz_offer_token uses its secret).
    tok = json.loads(read(os.path.join(ROOT, 'tests', 'checkout', 'sdk_tokens.json')))['tokens']
    for i, t in enumerate(tok):
        write(out, 'offer_token', f'token{i}', b'\0' + t['token'].encode())
        write(out, 'offer_token', f'claims{i}', b'\1' + b64url_decode(t['token'].split('.')[1]))
    body = {"order_id": "o-1", "lines": [
        {"item_id": tok[0]['offer']['itemId'], "quantity": 2, "price": 19.99, "token": tok[0]['token']},
        {"item_id": "plain", "quantity": 1, "price": 5}, {"item_id": "x", "quantity": 1, "price": 1, "token": None}]}
    write(out, 'offer_token', 'checkout_body', b'\2' + json.dumps(body).encode())
    # a cart offer's token as the order's cart_token, with the lines of its cart
    cart = next(t for t in tok if t['offer'].get('scope') == 'cart')
    body = {"lines": [{"item_id": l['itemId'], "quantity": l['quantity']} for l in cart['offer']['cart']],
            "cart_token": cart['token']}
    write(out, 'offer_token', 'checkout_cart_body', b'\2' + json.dumps(body).encode())


if __name__ == '__main__':
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
