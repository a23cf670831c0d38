#!/usr/bin/python3
"""window-gen.py EVENTS WEEKS OUT [PARTITIONS] < events.ndjson: EVENTS events
whose fields come from the real events in turn and whose times are spread
evenly, in order, over WEEKS weeks (1 week: a dense stream, many events per
window; more: sparser).  With PARTITIONS, event i says it came from
partition i mod PARTITIONS in "_eh", as csa-eh-recv writes it: the
partitions interleaved one event at a time, each in time order.  Streams:
memory does not grow with EVENTS."""
import json, sys

n, weeks, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
parts = int(sys.argv[4]) if len(sys.argv) > 4 else 0
src = [json.loads(l) for l in sys.stdin]
t0 = min(e["time"] for e in src)
step = weeks * 7 * 86400000 / n
with open(out, "w") as f:
    for i in range(n):
        d = src[i % len(src)]
        d["time"] = t0 + int(i * step)
        if parts:
            d["_eh"] = {"partition": i % parts}
        f.write(json.dumps(d, separators=(",", ":")) + "\n")
