#!/usr/bin/python3
"""window_ref.py COUNT SEED: run csa-window on COUNT random streams (out of
order, late events, duplicate ids, two groups, values with nulls) with
random window settings, and compare every row with a plain reference
written here from the semantics in csa-window(1).  Prints each mismatch;
exits 1 on any."""
import datetime, json, os, random, subprocess, sys, tempfile

def dedupe(events):
    seen, out = set(), []
    for e in events:
        if e[3] not in seen:
            seen.add(e[3])
            out.append(e)
    return out

def accepted(events, delay, drop):
    """Sliding and session: an event behind the watermark is late."""
    max_t, out = None, []
    for t, g, v, _ in events:
        if max_t is not None and t < max_t - delay:
            if drop:
                continue
            t = max_t - delay
        out.append((t, g, v))
        max_t = t if max_t is None else max(max_t, t)
    return out

def summary(end, g, vals):
    nums = [v for v in vals if v is not None]
    return (end, g, len(vals), round(sum(nums), 6) if nums else 0)

def reference_sliding(events, size, delay, drop):
    rows, by = [], {}
    for t, g, v in accepted(events, delay, drop):
        by.setdefault(g, []).append((t, v))
    for g, evs in by.items():
        for p in sorted({t for t, _ in evs} | {t + size for t, _ in evs}):
            inside = [v for t, v in evs if p - size < t <= p]
            if inside:
                rows.append(summary(p, g, inside))
    return sorted(rows)

def reference_session(events, timeout, maxdur, offset, delay, drop):
    rows, by = [], {}
    for t, g, v in accepted(events, delay, drop):
        by.setdefault(g, []).append((t, v))
    for g, evs in by.items():
        evs.sort(key=lambda e: e[0])
        i = 0
        while i < len(evs):
            start = last = evs[i][0]
            # the first check offset + k*maxdur at or after start + maxdur
            cut = offset + -(-(start + maxdur - offset) // maxdur) * maxdur if maxdur else None
            vals = []
            while True:
                while i < len(evs) and evs[i][0] <= last + timeout and (cut is None or evs[i][0] <= cut):
                    last = max(last, evs[i][0])
                    vals.append(evs[i][1])
                    i += 1
                end = last + timeout if cut is None else min(last + timeout, cut)
                rows.append(summary(end, g, vals))
                # cut at a check while events went on: the next window opens there
                if cut is not None and end == cut and i < len(evs) and evs[i][0] <= last + timeout:
                    while evs[i][0] > cut + maxdur:
                        cut += maxdur
                    cut, vals = cut + maxdur, []
                    continue
                break
    return sorted(rows)

def reference(events, size, hop, offset, delay, end_incl, drop, snapshot=False):
    wins, closed, max_t, rows = {}, None, None, []

    def is_late(t):
        return closed is not None and (t <= closed if end_incl else t < closed)

    def flush(everything):
        nonlocal closed
        for end in sorted(wins):
            mark = max_t - delay
            if not (everything or (mark > end if end_incl else mark >= end)):
                break
            for g, vals in sorted(wins.pop(end).items()):
                nums = [v for v in vals if v is not None]
                rows.append((end, g, len(vals), round(sum(nums), 6) if nums else 0))
            closed = end

    for t, g, v in events:
        if is_late(t):
            if drop:
                continue
            t = max_t - delay
            if is_late(t):
                t = closed + (1 if end_incl else 0)
        if snapshot:	# the instant t is the window
            wins.setdefault(t, {}).setdefault(g, []).append(v)
        else:
            # every window end offset + k*hop whose window holds t
            k = (t - offset - 1) // hop + 1 if end_incl else (t - offset) // hop + 1
            end = offset + k * hop
            while (end < t + size) if end_incl else (end <= t + size):
                if closed is None or end > closed:
                    wins.setdefault(end, {}).setdefault(g, []).append(v)
                end += hop
        max_t = t if max_t is None else max(max_t, t)
        flush(False)
    flush(True)
    return rows

def main():
    count, seed = int(sys.argv[1]), int(sys.argv[2])
    rnd = random.Random(seed)
    bad = 0
    for case in range(count):
        size = rnd.choice([1000, 2000, 5000, 60000])
        hop = rnd.choice([size, size // 2, size // 5, size])
        offset = rnd.choice([0, 0, 300])
        delay = rnd.choice([0, 0, 500, 3000])
        end_incl = rnd.random() < 0.7
        drop = rnd.random() < 0.3
        kind = rnd.choice(["fixed"] * 5 + ["snapshot", "sliding", "sliding", "session", "session"])
        use_dedupe = rnd.random() < 0.3
        maxdur = rnd.choice([0, size, 3 * size])
        if kind != "fixed":
            end_incl = True
        if kind in ("snapshot", "sliding"):
            offset = 0
        t, events = 1767261600000, []
        for i in range(rnd.randint(1, 150)):
            t += rnd.choice([0, 0, 100, 250, 999, 1000, 4000])
            jitter = rnd.choice([0, 0, 0, -200, -1500, -7000])
            v = rnd.choice([None, round(rnd.uniform(-3, 9), 2)]) if i % 7 == 0 else round(rnd.uniform(-3, 9), 2)
            if events and rnd.random() < 0.05:	# at-least-once: the same event again
                events.append(events[rnd.randrange(len(events))])
            events.append((t + jitter, rnd.choice("ab"), v, "id%d" % i))
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
            for (et, g, v, ident) in events:
                f.write(json.dumps({"t": et, "g": g, "v": v, "id": ident}) + "\n")
            path = f.name
        args = ["csa-window", "-t", "t", "--by", "g", "--agg", "n=count,s=sum(v)",
                "--max-delay", "%dms" % delay, "--late", "drop" if drop else "adjust"]
        if kind != "sliding":
            args += ["--offset", "%dms" % offset]
        if kind == "fixed":
            args += ["--boundary", "end-inclusive" if end_incl else "start-inclusive"]
        if use_dedupe:
            args += ["--dedupe", "id"]
            events = dedupe(events)
        if kind == "snapshot":
            args += ["--snapshot"]
        elif kind == "sliding":
            args += ["--sliding", "%dms" % size]
        elif kind == "session":
            args += ["--session", "%dms" % size + ("/%dms" % maxdur if maxdur else "")]
        elif hop == size:
            args += ["--tumbling", "%dms" % size]
        else:
            args += ["--hopping", "%dms/%dms" % (size, hop)]
        out = subprocess.run(args + [path], capture_output=True, text=True)
        got = []
        for line in out.stdout.splitlines():
            r = json.loads(line)
            end = r["window_end"]
            ms = int(datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp() * 1000)
            got.append((ms, r["g"], r["n"], round(r["s"], 6)))
        if kind == "sliding":
            want = reference_sliding(events, size, delay, drop)
        elif kind == "session":
            want = reference_session(events, size, maxdur, offset, delay, drop)
        else:
            want = reference([e[:3] for e in events], size, hop, offset, delay, end_incl,
                             drop, kind == "snapshot")
        if kind in ("sliding", "session"):
            in_order = [g[0] for g in got] == sorted(g[0] for g in got)
            got = sorted(got)
        else:
            in_order = True
        if out.returncode != 0 or got != want or not in_order:
            bad += 1
            print("case %d: %s %s\n  events %s\n  only got  %s\n  only want %s\n"
                  "  in order %s\n  stderr %s" % (
                case, " ".join(args), path, events[:20], sorted(set(got) - set(want))[:8],
                sorted(set(want) - set(got))[:8], in_order, out.stderr[:300]))
            if bad >= 5:
                break
            continue
        os.unlink(path)
    print("%d streams, %d mismatches" % (count, bad))
    sys.exit(1 if bad else 0)

main()
