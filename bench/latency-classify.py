#!/usr/bin/python3
"""latency-classify.py PERF_DATA RUNS_DIR [N]: for each run that
bench/latency.py -d kept in RUNS_DIR, the N (default 3) longest waits of
the harness for the next event, and where the processes on the delivery
path (writer, csa-eh-send's threads, csa-eh-recv, the harness's reader)
were meanwhile, from a perf record of sched_switch and sched_wakeup on
CLOCK_MONOTONIC (bench/latency-trace.sh):
  R  runnable, waiting for a CPU (the scheduler: CPU contention)
  D  uninterruptible, mostly waiting for the disk (fsync)
with the fsync and fdatasync calls of csa-eh-send that overlap the wait.
Threads of csa-eh-send are named send+N by their tid's distance from the
process's: the committer calls utimensat after each commit; the thread
with many syncs and no utimensat is the WAL checkpointer.  A run's line
also counts the committer's syncs (a WAL restart syncs its header inside
the commit that restarts it) and the checkpointer's."""
import bisect, collections, glob, os, re, subprocess, sys

PAT = re.compile(r'^\s*(.+?)\s+(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+(\S+):\s*(.*)$')


def load(data):
    out = subprocess.run(["perf", "script", "-i", data, "-F",
                          "comm,pid,tid,cpu,time,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    evs = []
    for line in out.splitlines():
        m = PAT.match(line)
        if m:
            comm, pid, tid, cpu, t, ev, tr = m.groups()
            evs.append((float(t), int(pid), int(tid), ev, tr))
    return evs


def states(evs, a, b):
    """Seconds each tid spent in each state within [a, b]."""
    st, acc = {}, collections.defaultdict(float)

    def enter(x, s, t):
        if x in st:
            s0, t0 = st[x]
            acc[(x, s0)] += max(0.0, min(t, b) - max(t0, a))
        st[x] = (s, t)
    for t, pid, tid, ev, tr in evs:
        if ev == "sched:sched_switch":
            m = re.search(r"prev_pid=(\d+) .*prev_state=(\S+) ==> .* next_pid=(\d+)", tr)
            enter(int(m.group(1)), m.group(2)[0], t)
            enter(int(m.group(3)), "run", t)
        elif ev == "sched:sched_wakeup":
            enter(int(re.search(r"pid=(\d+)", tr).group(1)), "R", t)
    for x, (s0, t0) in st.items():
        acc[(x, s0)] += max(0.0, b - max(t0, a))
    return acc


def main():
    evs = load(sys.argv[1])
    times = [e[0] for e in evs]
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    for dump in sorted(glob.glob(os.path.join(sys.argv[2], "*"))):
        lines = open(dump).read().splitlines()
        f = lines[0].split()
        pids = dict(zip(f[2::2], map(int, f[3::2])))
        rows = [tuple(map(int, l.split())) for l in lines[1:]]
        role = {pids["send"]: "send", pids["recv"]: "recv",
                pids["writer"]: "writer", pids["harness"]: "harness"}
        name, committer, syncs, ent = {}, set(), [], {}
        for t, pid, tid, ev, tr in evs:
            if pid in role:
                name[tid] = role[pid] + ("" if tid == pid else "+%d" % (tid - pid))
            if pid == pids["send"] and "utimensat" in ev:
                committer.add(tid)
            if pid == pids["send"] and "sync" in ev:
                if "enter" in ev:
                    ent[tid] = t
                elif tid in ent:
                    syncs.append((tid, ent[tid], t))
        ck = [(t1 - t0) * 1e3 for tid, t0, t1 in syncs if tid in committer]
        other = [(t1 - t0) * 1e3 for tid, t0, t1 in syncs if tid not in committer]
        print("%s: committer syncs %d (longest %.1f ms), checkpointer syncs %d (longest %.1f ms)" % (
            os.path.basename(dump), len(ck), max(ck, default=0), len(other), max(other, default=0)))
        gaps = sorted(((rows[j + 1][2] - rows[j][2], j) for j in range(len(rows) - 1)),
                      reverse=True)[:n]
        for g, j in gaps:
            a, b = rows[j][2] / 1e9, rows[j + 1][2] / 1e9
            lo, hi = bisect.bisect_left(times, a - 1.0), bisect.bisect_right(times, b)
            acc = states(evs[lo:hi], a, b)
            parts = sorted(((v * 1e3, name[x], s) for (x, s), v in acc.items()
                            if x in name and s in ("R", "D") and v >= 0.001), reverse=True)
            ov = ["%s %.1f ms" % (name.get(tid, tid), (t1 - t0) * 1e3)
                  for tid, t0, t1 in syncs if t1 > a and t0 < b and t1 - t0 > 0.0005]
            print("  wait %6.1f ms (next event %6.1f ms late): %s%s" % (
                g / 1e6, (rows[j + 1][2] - rows[j + 1][1]) / 1e6,
                ", ".join("%s %s %.1f" % (nm, s, v) for v, nm, s in parts[:4]) or "-",
                "; syncs " + ", ".join(ov) if ov else ""))


main()
