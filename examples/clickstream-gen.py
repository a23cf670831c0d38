#!/usr/bin/python3
"""clickstream-gen.py [EVENTS [SEED]]: EVENTS (default 5000) clickstream
events on standard output, one JSON object a line, in time order: the
reference schema (session_id, user_id, page, action, duration_ms,
timestamp) and a click_id.  Users browse in sessions of a few pages; the
same SEED gives the same stream."""
import datetime, json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
pages = ["/", "/search", "/product", "/cart", "/checkout", "/help"]
weights = [30, 25, 25, 10, 5, 5]
actions = ["view", "click", "scroll", "add_to_cart", "purchase"]
t = datetime.datetime(2026, 4, 22, 8, 0, tzinfo=datetime.timezone.utc)
sessions = {}
for i in range(n):
    t += datetime.timedelta(milliseconds=rng.randint(50, 1500))
    user = "u%03d" % rng.randint(1, 200)
    if user not in sessions or rng.random() < 0.1:
        sessions[user] = "s%06d" % i
    page = rng.choices(pages, weights)[0]
    action = "purchase" if page == "/checkout" and rng.random() < 0.5 else rng.choice(actions[:4])
    print(json.dumps({
        "click_id": "c%07d" % i,
        "session_id": sessions[user],
        "user_id": user,
        "page": page,
        "action": action,
        "duration_ms": rng.randint(200, 60000),
        "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000),
    }, separators=(",", ":")))
