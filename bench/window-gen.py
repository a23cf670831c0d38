#!/usr/bin/python3
"""window-gen.py EVENTS WEEKS OUT < events.ndjson: EVENTS events whose
fields come from the real events in turn and whose times are spread evenly,
in order, over WEEKS weeks (1 week: a dense stream, many events per
window; more: sparser).  Streams: memory does not grow with EVENTS."""
import json, sys

n, weeks, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
src = [json.loads(l) for l in sys.stdin]
t0 = min(e["time"] for e in src)
step = weeks * 7 * 86400000 / n
with open(out, "w") as f:
    for i in range(n):
        d = src[i % len(src)]
        d["time"] = t0 + int(i * step)
        f.write(json.dumps(d, separators=(",", ":")) + "\n")
