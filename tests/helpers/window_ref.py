#!/usr/bin/python3
"""window_ref.py COUNT SEED: run csa-window on COUNT random streams (out of
order, late events, two groups, values with nulls) with random window
settings, and compare every row with a plain reference written here from
the semantics in csa-window(1).  Prints each mismatch; exits 1 on any."""
import json, random, subprocess, sys, tempfile

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
        snapshot = rnd.random() < 0.15
        if snapshot:
            end_incl, offset = True, 0
        t, events = 1767261600000, []
        for i in range(rnd.randint(1, 150)):
            t += rnd.choice([0, 0, 100, 250, 999, 1000, 4000])
            jitter = rnd.choice([0, 0, 0, -200, -1500, -7000])
            v = rnd.choice([None, round(rnd.uniform(-3, 9), 2)]) if i % 7 == 0 else round(rnd.uniform(-3, 9), 2)
            events.append((t + jitter, rnd.choice("ab"), v))
        with tempfile.NamedTemporaryFile("w", suffix=".ndjson", delete=False) as f:
            for (et, g, v) in events:
                f.write(json.dumps({"t": et, "g": g, "v": v}) + "\n")
            path = f.name
        args = ["csa-window", "-t", "t", "--by", "g", "--agg", "n=count,s=sum(v)",
                "--offset", "%dms" % offset, "--max-delay", "%dms" % delay,
                "--late", "drop" if drop else "adjust",
                "--boundary", "end-inclusive" if end_incl else "start-inclusive"]
        if snapshot:
            args += ["--snapshot"]
        elif hop == size:
            args += ["--tumbling", "%dms" % size]
        else:
            args += ["--hopping", "%dms/%dms" % (size, hop)]
        out = subprocess.run(args + [path], capture_output=True, text=True)
        got = []
        for line in out.stdout.splitlines():
            r = json.loads(line)
            end = r["window_end"]
            import datetime
            ms = int(datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp() * 1000)
            got.append((ms, r["g"], r["n"], round(r["s"], 6)))
        want = reference(events, size, hop, offset, delay, end_incl, drop, snapshot)
        if out.returncode != 0 or got != want:
            bad += 1
            print("case %d: %s\n  events %s\n  got  %s\n  want %s\n  stderr %s" % (
                case, " ".join(args), events[:20], got[:8], want[:8], out.stderr[:300]))
            if bad >= 5:
                break
    print("%d streams, %d mismatches" % (count, bad))
    sys.exit(1 if bad else 0)

main()
