#!/usr/bin/python3
"""slow_cat.py OUT: copy stdin to OUT line by line, slowly (1 ms per 20 lines),
flushing each line, until end of input."""
import sys, time

with open(sys.argv[1], "w") as out:
    for i, line in enumerate(sys.stdin):
        out.write(line)
        out.flush()
        if i % 20 == 0:
            time.sleep(0.001)
