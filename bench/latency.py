#!/usr/bin/python3
"""latency.py [-r RUNS] [-s SECONDS] [-d DIR] RATES SEND_CMD RECV_CMD

Send-to-receive latency.  For each rate of RATES (comma separated, events
per second), RUNS times (default 5), send events stamped with the time
they were written through SEND_CMD for SECONDS (default 5), read them back
from RECV_CMD, and print each run's p50, p99 and maximum in ms with the
1-minute load average when it started; then, per rate, the medians over
the runs and the worst maximum.  The rates take turns run by run, so a
change of load falls on all of them alike.  With -d, each run's events go
to DIR/RATE.RUN (index, sent and received, monotonic ns, after a line
with the pids of the processes; for tracing).

The harness must not make the latency it measures on a shared core:
  - the writer is a process of its own and sleeps to pace itself, never
    spins; it wakes once a millisecond at most, and writes every event
    that fell due meanwhile in one write(2), each stamped just before it;
    nothing waits in a stdio buffer once stamped;
  - the reader stamps a chunk when read(2) returns it, and finds the
    stamps with one regular expression per chunk rather than a JSON
    parse per line."""
import getopt, os, re, shlex, statistics, subprocess, sys, time

TICK_NS = 1000000               # the writer wakes at most this often
STAMP = re.compile(rb'"i":(\d+),"t":(\d+)')


def writer(fd, rate, total):
    """Pace total events at rate into fd; runs in a child process."""
    time.sleep(0.5)             # the sender opens the hub meanwhile: not latency
    start = time.monotonic_ns()
    i = 0
    while i < total:
        now = time.monotonic_ns()
        due = min(total, (now - start) * rate // 1000000000 + 1)
        if due > i:
            out = b"".join(b'{"i":%d,"t":%d}\n' % (k, now) for k in range(i, due))
            os.write(fd, out)   # a pipe takes it whole or blocks: no buffer
            i = due
        if i < total:
            nxt = start + i * 1000000000 // rate
            time.sleep(max(nxt - time.monotonic_ns(), TICK_NS) / 1e9)
    os.close(fd)
    os._exit(0)


def one_run(rate, seconds, send_cmd, recv_cmd, dump):
    """Latencies in ms of one run, in the order received."""
    total = int(rate * seconds)
    recv = subprocess.Popen(shlex.split(recv_cmd), stdout=subprocess.PIPE)
    time.sleep(0.5)
    send = subprocess.Popen(shlex.split(send_cmd), stdin=subprocess.PIPE)
    pid = os.fork()
    if pid == 0:
        recv.stdout.close()
        writer(send.stdin.fileno(), rate, total)
    send.stdin.close()
    got = []
    fd = recv.stdout.fileno()
    pending = b""
    while len(got) < total:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        now = time.monotonic_ns()
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        for m in STAMP.finditer(pending, 0, cut):
            got.append((int(m.group(1)), int(m.group(2)), now))
        pending = pending[cut:]
    os.waitpid(pid, 0)
    send.wait()
    recv.terminate()
    recv.wait()
    if dump:
        with open(dump, "w") as f:
            f.write("# pids: harness %d writer %d send %d recv %d\n" % (
                os.getpid(), pid, send.pid, recv.pid))
            f.writelines("%d %d %d\n" % g for g in got)
    if len(got) < total:
        print("rate %d/s: %d of %d events came back" % (rate, len(got), total),
              file=sys.stderr)
    return [(r - t) / 1e6 for _, t, r in got]


def summary(lat):
    lat = sorted(lat)
    pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]
    return pick(0.50), pick(0.99), lat[-1], sum(1 for x in lat if x > 100)


def main():
    runs, seconds, ddir = 5, 5.0, None
    opts, args = getopt.getopt(sys.argv[1:], "d:r:s:")
    for o, v in opts:
        if o == "-r":
            runs = int(v)
        elif o == "-s":
            seconds = float(v)
        else:
            ddir = v
    if len(args) != 3:
        sys.exit(__doc__)
    rates = [int(r) for r in args[0].split(",")]
    res = {r: [] for r in rates}
    for k in range(1, runs + 1):
        for r in rates:
            load = os.getloadavg()[0]
            lat = one_run(r, seconds, args[1], args[2],
                          ddir and os.path.join(ddir, "%d.%d" % (r, k)))
            if not lat:
                sys.exit("rate %d/s: no events came back" % r)
            p50, p99, mx, over = summary(lat)
            res[r].append((load, p50, p99, mx, over))
            print("run %d  rate %6d/s  load %5.2f  p50 %7.2f  p99 %7.2f  max %7.2f ms"
                  "  over 100 ms %d" % (k, r, load, p50, p99, mx, over), flush=True)
    for r in rates:
        col = lambda j: [x[j] for x in res[r]]
        print("rate %6d/s  %d runs  load %.2f-%.2f  median p50 %.2f  p99 %.2f  max %.2f ms"
              "  worst max %.2f ms" % (
                  r, runs, min(col(0)), max(col(0)), statistics.median(col(1)),
                  statistics.median(col(2)), statistics.median(col(3)), max(col(3))))


main()
