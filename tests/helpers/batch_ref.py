#!/usr/bin/python3
"""batch_ref.py: an independent model of csa-batch-agg --preset earthquake.

  batch_ref.py check EVENTS ROWS   compare ROWS (the command's stdout, rows
                                   with "view") with the views computed
                                   here from EVENTS; exit 1 on a difference
  batch_ref.py gen N SRC           N events made from the real events of
                                   SRC, with revisions, stale versions,
                                   deletions, merged ids and repeated
                                   lines, some soon after their event and
                                   some far later in the file

The dedupe rule as csa(7) states it: the ids an event names (its own and
its "ids" list) make one event with every event they reach; of all the
versions of that event, the greatest `updated` wins, ties going to the
later line; a winner whose status is "deleted" (any case) removes it.
"""
import json
import random
import sys
from datetime import datetime, timezone


def dedupe(lines):
    parent, best, root_of = {}, {}, {}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for seq, e in enumerate(lines):
        ids = [e["event_id"]] + [i for i in (e.get("ids") or "").split(",") if i]
        cand = (e.get("updated") or 0, seq, e)
        parent[seq] = seq
        for r in {find(root_of[i]) for i in ids if i in root_of}:
            if best[r][:2] > cand[:2]:
                cand = best[r]
            parent[r] = seq
            del best[r]
        best[seq] = cand
        for i in ids:
            root_of[i] = seq
    return [c[2] for c in best.values()
            if str(c[2].get("status") or "").lower() != "deleted"]


def nums(g, field):
    return [e[field] for e in g if isinstance(e.get(field), (int, float))
            and not isinstance(e.get(field), bool)]


def avg(v):
    return sum(v) / len(v) if v else None


def views(events):
    out = {}
    for name, size in (("hourly", 3600000), ("daily", 86400000)):
        groups = {}
        for e in events:
            end = -(-e["time"] // size) * size
            groups.setdefault((end, e.get("region")), []).append(e)
        for (end, region), g in groups.items():
            mags = nums(g, "magnitude")
            row = {
                "event_count": len(g),
                "avg_magnitude": avg(mags),
                "max_magnitude": max(mags) if mags else None,
            }
            if name == "hourly":
                row["min_magnitude"] = min(mags) if mags else None
                row["avg_depth_km"] = avg(nums(g, "depth_km"))
                row["significant_count"] = sum(1 for m in mags if m >= 5.0)
                row["tsunami_alerts"] = sum(1 for t in nums(g, "tsunami_flag") if t == 1)
            else:
                row["tsunami_events"] = sum(1 for t in nums(g, "tsunami_flag") if t == 1)
            stamp = datetime.fromtimestamp(end / 1000, timezone.utc)
            out[(name, stamp.strftime("%Y-%m-%dT%H:%M:%S.000Z"), region)] = row
    return out


def same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def check(events_path, rows_path):
    with open(events_path) as f:
        want = views(dedupe([json.loads(l) for l in f]))
    got = {}
    with open(rows_path) as f:
        for l in f:
            r = json.loads(l)
            got[(r["view"], r["window_end"], r.get("region"))] = r
    bad = 0
    for k in sorted(set(want) | set(got), key=str):
        if k not in got or k not in want:
            print("row %s: %s" % (k, "missing" if k in want else "not expected"))
            bad += 1
            continue
        for col, v in want[k].items():
            if not same(v, got[k].get(col)):
                print("row %s, %s: %r, expected %r" % (k, col, got[k].get(col), v))
                bad += 1
    print("%d rows checked, %d differences" % (len(want), bad))
    return 1 if bad else 0


def gen(n, src_path):
    with open(src_path) as f:
        src = [json.loads(l) for l in f]
    rnd = random.Random(7)
    t0 = min(e["time"] for e in src)
    later = []
    out = sys.stdout
    for i in range(n):
        d = dict(src[i % len(src)])
        d.update(event_id="e%06d" % i, ids=",e%06d," % i, time=t0 + i * 60000)
        d["updated"] = d["time"] + 1000
        out.write(json.dumps(d) + "\n")
        mag = d.get("magnitude") or 0
        x = rnd.random()
        if x < 0.02:        # a revision: new magnitude, two hours later
            later.append(dict(d, updated=d["updated"] + 5000, magnitude=round(mag + 0.3, 2),
                              time=d["time"] + 7200000))
        elif x < 0.03:      # deleted
            later.append(dict(d, updated=d["updated"] + 9000, status="DELETED"))
        elif x < 0.04:      # a stale version, older than the first: it loses
            later.append(dict(d, updated=d["updated"] - 100, magnitude=8.8))
        elif x < 0.05:      # another network's id, alone and then merged
            m = "m%06d" % i
            later.append(dict(d, event_id=m, ids=",%s," % m, updated=d["updated"] - 500,
                              magnitude=9.9))
            later.append(dict(d, event_id=m, ids=",e%06d,%s," % (i, m),
                              updated=d["updated"] + 3000, magnitude=round(mag + 1, 2)))
        elif x < 0.055 and i >= 3:  # two events found to be one
            later.append(dict(d, ids=",e%06d,e%06d," % (i, i - 3), updated=d["updated"] + 4000))
        elif x < 0.06 and i >= 3:   # the same, said by a version older than one of them
            later.append(dict(d, event_id="e%06d" % (i - 3), ids=",e%06d,e%06d," % (i - 3, i),
                              updated=d["updated"] - 100, magnitude=7.7, time=d["time"] + 600000))
        while later and rnd.random() < 0.04:
            out.write(json.dumps(later.pop(rnd.randrange(len(later)))) + "\n")
        if rnd.random() < 0.002:
            out.write(json.dumps(d) + "\n")
    for e in later:
        out.write(json.dumps(e) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 4 and sys.argv[1] == "gen":
        gen(int(sys.argv[2]), sys.argv[3])
        sys.exit(0)
    sys.exit(__doc__)
