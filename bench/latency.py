#!/usr/bin/python3
"""latency.py RATE SECONDS SEND_CMD RECV_CMD: send events stamped with the
time they were written at RATE per second for SECONDS through SEND_CMD,
read them back from RECV_CMD, and print p50, p99 and max latency in ms,
and how many took over 100 ms.  The writer is a separate process, so
reading never waits on its pacing; neither side busy-waits."""
import json, os, shlex, subprocess, sys, time

rate, seconds = int(sys.argv[1]), float(sys.argv[2])
total = int(rate * seconds)
recv = subprocess.Popen(shlex.split(sys.argv[4]), stdout=subprocess.PIPE)
time.sleep(0.5)
send = subprocess.Popen(shlex.split(sys.argv[3]), stdin=subprocess.PIPE)

if os.fork() == 0:
    # Pace by sleeping until each event is due, never by spinning: the
    # cores are shared, and a spinning harness takes the time the sender
    # and the receiver need (it made the latency it measured).  Events that
    # fell due during one sleep go out together, each stamped as written.
    out = send.stdin
    time.sleep(0.5)     # csa-eh-send opens the hub meanwhile: not latency
    start = time.monotonic_ns()
    for i in range(total):
        due = start + i * 1000000000 // rate
        now = time.monotonic_ns()
        if now < due:
            out.flush()
            time.sleep((due - now) / 1e9)
        out.write(b'{"i":%d,"t":%d}\n' % (i, time.monotonic_ns()))
    out.flush()
    out.close()
    os._exit(0)

send.stdin.close()
lat = []
fd = recv.stdout.fileno()
pending = b""
deadline = time.monotonic() + seconds + 30
while len(lat) < total and time.monotonic() < deadline:
    chunk = os.read(fd, 65536)
    if not chunk:
        break
    now = time.monotonic_ns()
    pending += chunk
    *lines, pending = pending.split(b"\n")
    for line in lines:
        lat.append((now - json.loads(line)["t"]) / 1e6)
os.wait()
send.wait()
recv.terminate()
lat.sort()
if not lat:
    print("no events came back")
    sys.exit(1)
pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
print("rate %6d/s  events %7d  p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  over 100 ms %d" % (
    rate, len(lat), pick(0.50), pick(0.99), lat[-1], sum(1 for x in lat if x > 100)))
