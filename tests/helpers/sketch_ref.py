#!/usr/bin/python3
"""sketch_ref.py: exact answers for count_distinct, percentile and median,
and the check that csa's sketches stay within their stated bounds.

  sketch_ref.py gen N
      N synthetic events {"t":1,"v":V,"u":"uK"}: V runs over a permutation
      of 0..N-1 (so the value at fraction q of the ranks is exactly
      q (N-1)), and K over N/2 distinct users, each twice.
  sketch_ref.py check ROWS [EVENTS] --by COL --distinct NAME=FIELD ...
      --quantile NAME=FIELD:Q ...
      compare each row of ROWS (csa-window or csa-merge output) with the
      exact answer over the EVENTS of its group (all events when --by is
      not given); without EVENTS, the answers of `gen N` for the row's
      count column n.  Prints one line per check; exits 1 on any outside
      its bound.
  sketch_ref.py window-check EVENTS ROWS sliding|session
      each row of csa-window --sliding or --session (--by region, with
      n, ids=count_distinct(event_id), med=median(magnitude) and
      p90=percentile(depth_km, 0.9)) against the events of its window:
      exact up to 100 values, within the bounds past that.

Bounds, as csa-window(1) states them: a distinct count is exact up to 1024
values, and past that within 3 standard errors of HyperLogLog with 4096
registers (3 x 1.625%); a quantile's rank error is within
(2 pi / 200) sqrt(q (1 - q)) of the count, plus one rank.
"""
import bisect, datetime, json, math, sys

EXACT = 1024
HLL_BOUND = 3 * 1.04 / math.sqrt(4096)
DELTA = 200


def gen(n):
    a = 7919  # a prime that divides no N we use: i*a mod N is a permutation
    m = n // 2
    w = sys.stdout.write
    for s in range(0, n, 100000):
        w(''.join('{"t":1,"v":%d,"u":"u%d"}\n' % (i * a % n, i * a % m)
                  for i in range(s, min(n, s + 100000))))


def percentile_cont(xs, q):
    pos = q * (len(xs) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def rank_error(xs, q, est):
    """How far, as a fraction of n, the ranks of est are from q (n - 1)."""
    lo = bisect.bisect_left(xs, est)
    hi = bisect.bisect_right(xs, est)
    target = q * (len(xs) - 1)
    # est sits between ranks lo - 1 and hi (inclusive): between two values
    # it is as good as either neighbour.
    if lo - 1 <= target <= hi:
        return 0.0
    return min(abs(target - (lo - 1)), abs(target - hi)) / len(xs)


def ms(text):
    t = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")
    return round(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)


def window_check(events_path, rows_path, kind):
    """Each row of a sliding or session window against the events of its
    region in it: (start, end] for sliding, [start, end] for sessions."""
    evs = [json.loads(l) for l in open(events_path)]
    bad = rows = 0
    for line in open(rows_path):
        r = json.loads(line)
        a, b = ms(r['window_start']), ms(r['window_end'])
        sel = [e for e in evs if e['region'] == r['region'] and e['time'] <= b and
               (a <= e['time'] if kind == 'session' else a < e['time'])]
        rows += 1
        ids = len(set(e['event_id'] for e in sel))
        m = sorted(e['magnitude'] for e in sel if e['magnitude'] is not None)
        d = sorted(e['depth_km'] for e in sel if e['depth_km'] is not None)
        errs = []
        if len(sel) != r['n'] or ids != r['ids']:
            errs.append('n %d ids %d, python %d %d' % (r['n'], r['ids'], len(sel), ids))
        for name, xs, q in (('med', m, 0.5), ('p90', d, 0.9)):
            if not xs:
                continue
            bound = 2 * math.pi / DELTA * math.sqrt(q * (1 - q)) + 1.0 / len(xs)
            if len(xs) <= 100 and abs(r[name] - percentile_cont(xs, q)) > 1e-9 * max(1, abs(r[name])):
                errs.append('%s %s, exact %s' % (name, r[name], percentile_cont(xs, q)))
            elif rank_error(xs, q, r[name]) > bound:
                errs.append('%s %s: rank error %.4f' % (name, r[name], rank_error(xs, q, r[name])))
        if errs:
            bad += 1
            print('FAIL', r['region'], r['window_start'], r['window_end'], '; '.join(errs))
    print('%d rows, %d wrong' % (rows, bad))
    return 1 if bad or rows == 0 else 0


def main():
    args = sys.argv[1:]
    if args[0] == 'gen':
        gen(int(args[1]))
        return 0
    if args[0] == 'window-check':
        return window_check(args[1], args[2], args[3])
    assert args[0] == 'check'
    rows_path = args[1]
    events_path = args[2] if len(args) > 2 and not args[2].startswith('--') else None
    by, distinct, quant = None, [], []
    i = 2 if events_path is None else 3
    while i < len(args):
        opt, val = args[i], args[i + 1]
        i += 2
        if opt == '--by':
            by = val
            continue
        name, spec = val.split('=', 1)
        if opt == '--distinct':
            distinct.append((name, spec))
        elif opt == '--quantile':
            field, q = spec.rsplit(':', 1)
            quant.append((name, field, float(q)))
    groups = {}
    if events_path:
        for line in open(events_path):
            e = json.loads(line)
            groups.setdefault(e.get(by) if by else None, []).append(e)
    bad = 0
    checks = 0
    for line in open(rows_path):
        row = json.loads(line)
        g = row.get(by) if by else None
        evs = groups.get(g) if events_path else None
        n = row['n']
        for name, field in distinct:
            if evs is not None:
                # Values as Python compares them: 1 and 1.0 are one value,
                # as they are one number to csa.
                exact = len(set(json.dumps(v) if isinstance(v, (dict, list)) else v
                                for v in (e.get(field) for e in evs) if v is not None))
            else:
                exact = n // 2 if n > 1 else n
            est = row[name]
            err = abs(est - exact) / exact if exact else abs(est)
            ok = est == exact if exact <= EXACT else err <= HLL_BOUND
            checks += 1
            print('%s %s %s: %s, exact %s, error %.4f%% (%s)' % (
                'ok' if ok else 'FAIL', g, name, est, exact, 100 * err,
                'must be equal' if exact <= EXACT else 'bound %.2f%%' % (100 * HLL_BOUND)))
            bad += not ok
        for name, field, q in quant:
            if evs is not None:
                xs = sorted(e[field] for e in evs
                            if isinstance(e.get(field), (int, float))
                            and not isinstance(e.get(field), bool))
            else:
                xs = None
            est = row[name]
            if xs is not None:
                err = rank_error(xs, q, est)
                cnt = len(xs)
            else:
                # gen N: the values are the ranks themselves.
                cnt = n
                target = q * (n - 1)
                err = max(0.0, abs(est - target) - 1) / n
            bound = 2 * math.pi / DELTA * math.sqrt(q * (1 - q)) + 1.0 / cnt
            ok = err <= bound
            checks += 1
            print('%s %s %s: %s, rank error %.5f%% of %d (bound %.4f%%)' % (
                'ok' if ok else 'FAIL', g, name, est, 100 * err, cnt, 100 * bound))
            bad += not ok
    print('%d checks, %d outside their bound' % (checks, bad))
    return 1 if bad or checks == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
