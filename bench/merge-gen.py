#!/usr/bin/env python3
"""merge-gen.py BATCH_ROWS SPEED_ROWS DIR: view rows for bench/merge.sh.

Writes DIR/batch.ndjson (hourly rows by region, the shape of
csa-batch-agg --preset earthquake's hourly view) and DIR/speed.ndjson
(5-minute rows by region, the shape of csa-window --preset earthquake),
the speed rows starting where the batch rows end.  Numbers are random but
consistent: each row's values follow from its state.
"""
import datetime
import random
import sys

REGIONS = ["alaska", "us-west", "us-central", "us-east", "hawaii", "puerto-rico",
           "pacific", "global"]


def when(ms):
    t = datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def num(x):
    return repr(round(x, 6))


def row(out, kind, start, size, region, rnd, tsunami):
    n = rnd.randint(1, 40)
    mags = [round(rnd.uniform(-0.5, 7), 2) for _ in range(n)]
    depths = [round(rnd.uniform(0, 300), 2) for _ in range(n)]
    sig = sum(1 for m in mags if m >= 5)
    ts = sum(1 for _ in range(n) if rnd.random() < 0.01)
    sm, sd = sum(mags), sum(depths)
    head = '{"window_type":"tumbling",' if kind == "speed" else '{"view":"hourly","window_type":"tumbling",'
    vals = ('"event_count":%d,"avg_magnitude":%s,"max_magnitude":%s,"min_magnitude":%s,'
            '"avg_depth_km":%s,"significant_count":%d' % (n, num(sm / n), num(max(mags)),
                                                         num(min(mags)), num(sd / n), sig))
    state = ('"event_count":{"f":"count","n":%d},'
             '"avg_magnitude":{"f":"avg","x":"magnitude","n":%d,"sum":%s},'
             '"max_magnitude":{"f":"max","x":"magnitude","n":%d,"max":%s},'
             '"min_magnitude":{"f":"min","x":"magnitude","n":%d,"min":%s},'
             '"avg_depth_km":{"f":"avg","x":"depth_km","n":%d,"sum":%s},'
             '"significant_count":{"f":"count_if","x":"magnitude","op":">=","v":5,"n":%d}'
             % (n, n, num(sm), n, num(max(mags)), n, num(min(mags)), n, num(sd), sig))
    if tsunami:
        vals += ',"tsunami_alerts":%d' % ts
        state += ',"tsunami_alerts":{"f":"count_if","x":"tsunami_flag","op":"==","v":1,"n":%d}' % ts
    out.write('%s"window_start":"%s","window_end":"%s","region":"%s",%s,"_state":{%s}}\n'
              % (head, when(start), when(start + size), region, vals, state))


def main():
    nb, ns, d = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    rnd = random.Random(7)
    t0 = 1_500_000_000_000 // 3_600_000 * 3_600_000
    hours = nb // len(REGIONS)
    with open(d + "/batch.ndjson", "w") as out:
        for h in range(hours):
            for r in REGIONS:
                row(out, "batch", t0 + h * 3_600_000, 3_600_000, r, rnd, False)
    t1 = t0 + hours * 3_600_000
    with open(d + "/speed.ndjson", "w") as out:
        for w in range(ns // len(REGIONS)):
            for r in REGIONS:
                row(out, "speed", t1 + w * 300_000, 300_000, r, rnd, True)


main()
