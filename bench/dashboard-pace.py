#!/usr/bin/python3
"""dashboard-pace.py RATE FILE OUT: write the lines of FILE to OUT at RATE
lines a second, in slices of 10 ms, and print how long it took and the
rate reached.  A reader that falls behind makes the writes block, so the
rate reached says whether the reader kept up."""
import os, sys, time

rate, path, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, "rb") as f:
    lines = f.readlines()
per_slice = max(1, rate // 100)
fd = os.open(out, os.O_WRONLY)
start = time.monotonic()
for i in range(0, len(lines), per_slice):
    os.write(fd, b"".join(lines[i:i + per_slice]))
    due = start + (i + per_slice) / rate
    wait = due - time.monotonic()
    if wait > 0:
        time.sleep(wait)
elapsed = time.monotonic() - start
os.close(fd)
print(f"{len(lines)} lines in {elapsed:.2f} s: {len(lines) / elapsed:.0f} lines/s "
      f"(asked {rate})")
