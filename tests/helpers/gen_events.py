#!/usr/bin/python3
"""gen_events.py SOURCE COUNT [KEYS] [DELAY_EVERY DELAY_S]: COUNT NDJSON events
{"src":..., "n":..., "key":"k<n % KEYS>", "pad":...}, optionally pausing
DELAY_S seconds after every DELAY_EVERY lines (flushing first)."""
import sys, time

src, count = sys.argv[1], int(sys.argv[2])
keys = int(sys.argv[3]) if len(sys.argv) > 3 else 16
every = int(sys.argv[4]) if len(sys.argv) > 4 else 0
delay = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
out = sys.stdout
for n in range(count):
    out.write('{"src":"%s","n":%d,"key":"k%d","pad":"%s"}\n' % (src, n, n % keys, "x" * (n % 50)))
    if every and (n + 1) % every == 0:
        out.flush()
        time.sleep(delay)
out.flush()
