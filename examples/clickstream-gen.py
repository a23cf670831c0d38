#!/usr/bin/python3
"""clickstream-gen.py [EVENTS [SEED]]: EVENTS (default 5000) clickstream
events on standard output, one JSON object a line, in time order, shaped
as the reference deployment's clickstream simulator makes them: exactly
session_id (a fresh UUID for each event, so it is also the event's id),
user_id (user-1 to user-50), page (/map /dashboard /reports /alerts
/settings /api/earthquakes), action (view click search filter export
share), duration_ms (100 to 30000) and timestamp (Python's isoformat of
a UTC time: microseconds and +00:00).  The events are 50 to 1500 ms
apart from 2026-04-22 08:00 UTC; the same SEED gives the same stream."""
import datetime, json, random, sys, uuid

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
pages = ["/map", "/dashboard", "/reports", "/alerts", "/settings", "/api/earthquakes"]
actions = ["view", "click", "search", "filter", "export", "share"]
t = datetime.datetime(2026, 4, 22, 8, 0, tzinfo=datetime.timezone.utc)
for i in range(n):
    t += datetime.timedelta(milliseconds=rng.randint(50, 1500))
    print(json.dumps({
        "session_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "user_id": "user-%d" % rng.randint(1, 50),
        "page": rng.choice(pages),
        "action": rng.choice(actions),
        "duration_ms": rng.randint(100, 30000),
        "timestamp": t.isoformat(timespec="microseconds"),
    }))
