#!/usr/bin/python3
"""batch-gen.py EVENTS OUT < events.ndjson: EVENTS lines for the batch
bench: fields from the real events in turn, unique ids, times spread over
90 days; 1% of the events come again later with a newer `updated` and a
revised magnitude (a revision), and 0.1% of the lines are sent twice
(at-least-once duplicates).  Streams: memory does not grow with EVENTS."""
import json, random, sys

n, out = int(sys.argv[1]), sys.argv[2]
src = [json.loads(l) for l in sys.stdin]
t0 = min(e["time"] for e in src)
step = 90 * 86400000 / n
rnd = random.Random(11)
held = []   # revisions waiting to be sent
written = 0
with open(out, "w") as f:
    i = 0
    while written < n:
        if held and (rnd.random() < 0.01 or i >= n):
            line = held.pop(0)
        else:
            d = dict(src[i % len(src)])
            d["event_id"] = "ev%08d" % i
            d["ids"] = ",ev%08d," % i
            d["time"] = t0 + int(i * step)
            d["updated"] = d["time"] + 60000
            line = json.dumps(d, separators=(",", ":"))
            if rnd.random() < 0.01 / 1.01:
                r = dict(d)
                r["updated"] = d["updated"] + 3600000
                r["magnitude"] = round((d.get("magnitude") or 0) + 0.1, 2)
                held.append(json.dumps(r, separators=(",", ":")))
            i += 1
        f.write(line + "\n")
        written += 1
        if rnd.random() < 0.001 and written < n:
            f.write(line + "\n")
            written += 1
