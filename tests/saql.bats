#!/usr/bin/env bats
# csa-window --query: Stream Analytics queries compiled to csa-window's
# options (common/saql), checked against the flag form and against
# python3 on real USGS events and on IoT-shaped ones; each bad query
# named where it goes wrong.

load helpers/common

JOB="$CSA_SRCDIR/tests/data/saql/earthquake-speed.asaql"

# The real week of USGS events, oldest first, once for the file.
week() {
	local out="$BATS_FILE_TMPDIR/week"
	[ -s "$out" ] || csa-usgs-fetch --url "file://$(bryn_json)" | jq -c -s 'sort_by(.time) | .[]' > "$out"
	echo "$out"
}

# py ARGS <<SCRIPT: python3 running SCRIPT, with json and sys imported
# and ms(), an RFC 3339 time as the rows write it in epoch milliseconds.
py() {
	{
		cat <<'PYEOF'
import datetime, json, sys
def ms(s):
    return int(round(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")
                     .replace(tzinfo=datetime.timezone.utc).timestamp() * 1000))
PYEOF
		cat
	} | "$PY" - "$@"
}

# IoT events as the streaming-at-scale guide describes them (deviceId,
# value, type, createdAt as an RFC 3339 string), three devices, with
# gaps: a seeded generator, so every run sees the same stream.
iot() {
	py "$@" <<'PYEOF'
import datetime, json, random
rnd = random.Random(31)
t0 = datetime.datetime(2026, 3, 1, 8, 0, tzinfo=datetime.timezone.utc)
t, out = 0.0, []
for i in range(400):
    t += rnd.choice([7, 13, 29, 41, 61, 97, 400, 700])   # seconds; some gaps past 5 minutes
    at = t0 + datetime.timedelta(seconds=t, milliseconds=rnd.randrange(1000))
    out.append({"eventId": "e%d" % i, "deviceId": "dev-%d" % rnd.randrange(3),
                "value": round(rnd.uniform(10, 90), 2), "type": rnd.choice(["TEMP", "CO2"]),
                "userId": "u%d" % rnd.randrange(7),
                "createdAt": at.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at.microsecond // 1000)})
for e in out:
    print(json.dumps(e, separators=(",", ":")))
PYEOF
}

# python_speed EVENTS ROWS: the job file's 5-minute statement, in python:
# count, mean, max, min and the CASE WHEN sums of each region's windows.
python_speed() {
	py "$1" "$2" <<'PYEOF'
groups = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    end = -(-e["time"] // 300000) * 300000      # (start, end]: a time on the boundary ends a window
    groups.setdefault((end, e["region"]), []).append(e)
rows = [json.loads(l) for l in open(sys.argv[2])]
def close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9 * max(1, abs(b)))
assert len(rows) == len(groups), (len(rows), len(groups))
for r in rows:
    evs = groups[(ms(r["window_end"]), r["region"])]
    mags = [e["magnitude"] for e in evs if e["magnitude"] is not None]
    deps = [e["depth_km"] for e in evs if e["depth_km"] is not None]
    assert r["event_count"] == len(evs)
    assert close(r["avg_magnitude"], sum(mags) / len(mags) if mags else None), r
    assert r["max_magnitude"] == (max(mags) if mags else None), r
    assert r["min_magnitude"] == (min(mags) if mags else None), r
    assert close(r["avg_depth_km"], sum(deps) / len(deps) if deps else None), r
    assert r["significant_count"] == sum(1 for m in mags if m >= 5.0), r
    assert r["tsunami_alerts"] == sum(1 for e in evs if e["tsunami_flag"] == 1), r
print(len(rows), "rows")
PYEOF
}

# python_hour EVENTS ROWS: the job file's sliding hour with HAVING, in python.
python_hour() {
	py "$1" "$2" <<'PYEOF'
evs = [json.loads(l) for l in open(sys.argv[1])]
times = [e["time"] for e in evs]
H = 3600000
want = []
# A row whenever an event enters (at its time) or leaves (an hour later),
# holding the events of (p - 1h, p]; HAVING COUNT(*) > 0 drops empty ones.
for p in sorted(set(times) | {t + H for t in times}):
    inside = [e for e in evs if p - H < e["time"] <= p]
    if inside:
        mags = [e["magnitude"] for e in inside if e["magnitude"] is not None]
        want.append((p, len(inside), max(mags), sum(mags) / len(mags)))
got = []
for l in open(sys.argv[2]):
    r = json.loads(l)
    assert r["scope"] == "world" and r["window_type"] == "sliding"
    got.append((ms(r["window_end"]), r["hour_count"], r["hour_max_magnitude"], r["hour_avg_magnitude"]))
same = lambda a, b: a[:3] == b[:3] and abs(a[3] - b[3]) < 1e-9 * max(1, abs(b[3]))
assert len(got) == len(want) and all(map(same, got, want)), \
    [(a, b) for a, b in zip(got, want) if not same(a, b)][:3] or (len(got), len(want))
print(len(got), "rows")
PYEOF
}

# python_alerts EVENTS ROWS: the job file's alert statement, in python:
# exactly the M >= 6 events, in their order.
python_alerts() {
	py "$1" "$2" <<'PYEOF'
want = [e for e in map(json.loads, open(sys.argv[1]))
        if e["magnitude"] is not None and e["magnitude"] >= 6.0]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(want) > 0 and len(got) == len(want), (len(got), len(want))
for r, e in zip(got, want):
    assert (r["event_id"], r["magnitude"], r["place"], r["region"]) == \
        (e["event_id"], e["magnitude"], e["place"], e["region"]), (r, e)
    assert ms(r["detected_at"]) == e["time"] and r["alert_type"] == "STRONG_QUAKE", r
print(len(got), "alerts")
PYEOF
}

# at_once ARGS...: one strong event, then an input held open, into
# csa-window ARGS; the event's row must be out (and alone) while
# csa-window still waits for more.  The first line written is also on
# stdout; the whole output is left in $BATS_TEST_TMPDIR/early.
at_once() {
	jq -c 'select(.magnitude >= 6)' "$(week)" | head -n1 > "$BATS_TEST_TMPDIR/one"
	{ cat "$BATS_TEST_TMPDIR/one"; sleep 10; } |
		csa-window "$@" > "$BATS_TEST_TMPDIR/early" &
	local pid=$! i
	for i in $(seq 90); do
		[ -s "$BATS_TEST_TMPDIR/early" ] && break
		sleep 0.1
	done
	[ "$(wc -l < "$BATS_TEST_TMPDIR/early")" = 1 ]
	head -n1 "$BATS_TEST_TMPDIR/early"
	# ... while its input is still open.
	kill -0 "$pid"
	# Not a bare wait: under BATS_TEST_TIMEOUT (make check) bats's
	# watchdog is a job of this shell too.
	wait "$pid"
}

@test "the job file's 5-minute statement: its rows are --preset earthquake's and the flag form's, byte for byte" {
	ev=$(week)
	csa-window --query-file "$JOB" --into speed-view "$ev" > "$BATS_TEST_TMPDIR/query"
	csa-window --tumbling 5m --by region --time time --agg 'event_count=count,avg_magnitude=avg(magnitude),max_magnitude=max(magnitude),min_magnitude=min(magnitude),avg_depth_km=avg(depth_km),significant_count=count_if(magnitude >= 5.0),tsunami_alerts=count_if(tsunami_flag == 1)' \
		"$ev" > "$BATS_TEST_TMPDIR/flags"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/query")" -gt 1000 ]
	cmp "$BATS_TEST_TMPDIR/query" "$BATS_TEST_TMPDIR/flags"
	csa-window --preset earthquake "$ev" | cmp - "$BATS_TEST_TMPDIR/query"
}

@test "the job file's 5-minute statement equals python's count, mean, max, min and CASE WHEN sums" {
	ev=$(week)
	csa-window --query-file "$JOB" --into speed-view "$ev" > "$BATS_TEST_TMPDIR/query"
	python_speed "$ev" "$BATS_TEST_TMPDIR/query"
}

@test "the job file's sliding hour with HAVING: the flag form's rows, and python's" {
	ev=$(week)
	csa-window --query-file "$JOB" --into rolling-hour "$ev" > "$BATS_TEST_TMPDIR/query"
	csa-window --sliding 1h --by 'scope="world"' --time time --having 'hour_count > 0' \
		--agg 'hour_count=count,hour_avg_magnitude=avg(magnitude),hour_max_magnitude=max(magnitude)' \
		"$ev" | cmp - "$BATS_TEST_TMPDIR/query"
	python_hour "$ev" "$BATS_TEST_TMPDIR/query"
}

@test "the job file's alert statement: exactly the M >= 6 events, each at once, as the --select form writes them" {
	ev=$(week)
	csa-window --query-file "$JOB" --into strong-quakes "$ev" > "$BATS_TEST_TMPDIR/query"
	csa-window --where '.magnitude >= 6.0' --time time \
		--select 'event_id,magnitude,place,region,detected_at=System.Timestamp(),alert_type="STRONG_QUAKE"' \
		"$ev" | cmp - "$BATS_TEST_TMPDIR/query"
	python_alerts "$ev" "$BATS_TEST_TMPDIR/query"
	# each row is out before the next line is read
	at_once --query-file "$JOB" --into strong-quakes
}

@test "--explain: each statement's plan and a command line that gives the same rows" {
	run --separate-stderr csa-window --query-file "$JOB" --explain
	assert_success
	assert_line --partial "statement at 6:1: INTO speed-view FROM usgs-events"
	assert_line "  window:  tumbling (TumblingWindow(minute, 5))"
	assert_line "  time:    time (TIMESTAMP BY DATEADD(millisecond, [time], '1970-01-01T00:00:00Z'))"
	assert_line "  having:  hour_count > 0"
	ev=$(week)
	for into in speed-view rolling-hour; do
		cmd=$(printf '%s\n' "$output" | sed -n "/INTO $into /,/command:/s/^  command: //p")
		[ -n "$cmd" ]
		eval "$cmd" '"$ev"' > "$BATS_TEST_TMPDIR/flags"
		csa-window --query-file "$JOB" --into "$into" "$ev" | cmp - "$BATS_TEST_TMPDIR/flags"
	done
}

# rows_of NAME FILE: the rows a job marked "_into":"NAME", the mark taken
# off as text (the rest of each row is the statement's own, byte for byte).
rows_of() {
	sed -n "s/^{\"_into\":\"$1\",/{/p" "$2"
}

@test "the job file's three statements in one run: each one's rows are its own run's, and python's" {
	ev=$(week)
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr csa-window --query-file "$JOB" "$ev"
	assert_success
	[ -z "$stderr" ]
	printf '%s\n' "$output" > job
	# every row on the shared stream says its statement, first
	[ "$(grep -c '^{"_into":"[a-z-]*",' job)" = "$(wc -l < job)" ]
	for into in speed-view strong-quakes rolling-hour; do
		csa-window --query-file "$JOB" --into "$into" "$ev" > "alone-$into"
		[ -s "alone-$into" ]
		grep -vq '"_into"' "alone-$into"
		rows_of "$into" job > "job-$into"
		cmp "job-$into" "alone-$into"
	done
	python_speed "$ev" job-speed-view
	python_alerts "$ev" job-strong-quakes
	python_hour "$ev" job-rolling-hour
	# nothing else: the three statements' rows are all the lines
	[ "$(cat job-* | wc -l)" = "$(wc -l < job)" ]
	# --metrics counts each statement's rows under its name
	csa-window --query-file "$JOB" --metrics metrics.prom "$ev" | cmp - job
	for into in speed-view strong-quakes rolling-hour; do
		grep -qx "csa_rows_out_total{command=\"csa-window\",into=\"$into\"} $(wc -l < "job-$into")" metrics.prom
	done
	grep -qx "csa_events_in_total{command=\"csa-window\"} $(wc -l < "$ev")" metrics.prom
}

@test "a job's --into NAME=FILE: that statement's rows to FILE, unmarked; the rest to stdout or --out" {
	ev=$(week)
	cd "$BATS_TEST_TMPDIR"
	csa-window --preset earthquake "$ev" > preset
	csa-window --query-file "$JOB" --into rolling-hour "$ev" > hour
	csa-window --query-file "$JOB" --into strong-quakes "$ev" > alerts
	csa-window --query-file "$JOB" --into speed-view=view "$ev" > rest
	cmp preset view
	[ "$(grep -c '"_into":"speed-view"' rest)" = 0 ]
	rows_of rolling-hour rest | cmp - hour
	rows_of strong-quakes rest | cmp - alerts
	[ "$(wc -l < rest)" = "$(($(wc -l < hour) + $(wc -l < alerts)))" ]
	# two to files, one left on stdout: its rows need no mark
	csa-window --query-file "$JOB" --into speed-view=view2 --into rolling-hour=hour2 "$ev" |
		cmp - alerts
	cmp preset view2
	cmp hour hour2
	# --out takes the rest; FILE and --out are appended to
	csa-window --query-file "$JOB" --into "speed-view=$PWD/view3" --out "$PWD/rest3" "$ev" > stdout
	[ ! -s stdout ]
	cmp rest rest3
	cmp preset view3
	# a bare --into NAME still picks statements: only those run
	csa-window --query-file "$JOB" --into speed-view --into strong-quakes=alerts4 "$ev" | cmp - preset
	cmp alerts alerts4
	# a statement without INTO is alone on stdout when the others have files
	sed 's/^INTO \[strong-quakes\]$//' "$JOB" > unnamed.asaql
	! cmp -s unnamed.asaql "$JOB" || false
	csa-window --query-file unnamed.asaql --into speed-view=view5 --into rolling-hour=hour5 "$ev" |
		cmp - alerts
	cmp preset view5
	run --separate-stderr csa-window --query-file unnamed.asaql --into speed-view=view6 "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: unnamed.asaql:"*": a statement without INTO, in a job of 3: name its output with INTO [name]"* ]]
}

@test "a job's alert statement: each strong event is out before the next line is read" {
	at_once --query-file "$JOB" > "$BATS_TEST_TMPDIR/early.now"
	# the alert came alone: nothing of the windows still open
	grep -q '^{"_into":"strong-quakes","event_id":' "$BATS_TEST_TMPDIR/early.now"
	# at the end of input the windows' rows follow
	rows_of speed-view "$BATS_TEST_TMPDIR/early" |
		cmp - <(csa-window --query-file "$JOB" --into speed-view "$BATS_TEST_TMPDIR/one")
	rows_of rolling-hour "$BATS_TEST_TMPDIR/early" |
		cmp - <(csa-window --query-file "$JOB" --into rolling-hour "$BATS_TEST_TMPDIR/one")
	[ "$(wc -l < "$BATS_TEST_TMPDIR/early")" = 3 ]
}

@test "a job's window options are its windowed statements'; its rows merge as the statement's own" {
	ev=$(week)
	cd "$BATS_TEST_TMPDIR"
	# shuffled by at most a minute: --max-delay puts the windows right,
	# and the per-event statement takes each event as it comes
	jq -c '.time += ((input_line_number * 7919) % 60000)' "$ev" > late
	csa-window --query-file "$JOB" --max-delay 1m late > job
	csa-window --query-file "$JOB" --into speed-view --max-delay 1m late > alone
	rows_of speed-view job | cmp - alone
	rows_of strong-quakes job | cmp - <(csa-window --query-file "$JOB" --into strong-quakes late)
	# csa-merge reads the marked rows as the unmarked ones
	grep '"_into":"speed-view"' job > marked
	csa-merge --speed marked --every 1h > merged
	[ -s merged ]
	csa-merge --speed alone --every 1h | cmp - merged
	{ head -n 100 alone; tail -n +101 marked; } | csa-merge --speed - --total |
		cmp - <(csa-merge --speed alone --total)
	# two statements' rows in one input are not added up together
	grep -v '"_into":"strong-quakes"' job > two
	grep -q '"_into":"rolling-hour"' two
	run --separate-stderr csa-merge --speed two --total
	assert_failure 2
	[[ "$stderr" == "csa-merge: two:"*": a row of statement [rolling-hour] among rows of [speed-view]: give each statement's rows a file of their own (csa-window --into NAME=FILE)"* ]]
	# a bad row skipped does not name the input's statement
	{ echo '{"_into":"other","window_start":"x","window_end":"y","_state":{}}'; cat marked; } > badfirst
	run --separate-stderr csa-merge --speed badfirst --total
	assert_failure 1
	[[ "$stderr" == "csa-merge: badfirst:1: "* ]]
	cmp - <(csa-merge --speed marked --total) <<<"$output"
}

@test "a job: a bad line is skipped once and the good ones still go to every statement; a full disk exits 3" {
	ev=$(week)
	cd "$BATS_TEST_TMPDIR"
	{ head -n 100 "$ev"; echo 'not json'; tail -n +101 "$ev"; } > bad.ndjson
	run --separate-stderr csa-window --query-file "$JOB" bad.ndjson
	assert_failure 1
	[[ "$stderr" == *"bad.ndjson:101: invalid JSON"*"1 bad line skipped"* ]]
	printf '%s\n' "$output" | cmp - <(csa-window --query-file "$JOB" "$ev")
	run --separate-stderr csa-window --query-file "$JOB" "$ev" --out /dev/full
	assert_failure 3
	[[ "$stderr" == *"/dev/full: write error"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --into "speed-view=/dev/full" "$ev"
	assert_failure 3
	[[ "$stderr" == *"/dev/full: write error"* ]]
}

@test "a bad job: an unknown, repeated or empty --into, one file for two, --state, a statement without INTO" {
	ev=$(week)
	cd "$BATS_TEST_TMPDIR"
	run --separate-stderr csa-window --query-file "$JOB" --into nowhere "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --into: no statement INTO [nowhere] in the query ([speed-view], [strong-quakes], [rolling-hour])"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --into speed-view --into speed-view=x "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --into: [speed-view] given twice"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --into speed-view= "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --into speed-view=: no FILE after '='"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --into speed-view=x --into rolling-hour=x "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --into rolling-hour=x: [speed-view] goes to x already: a file holds the rows of one statement"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --into speed-view=x --out x "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --into speed-view=x: --out x is for the other statements' rows"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --state "$BATS_TEST_TMPDIR/st" "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: --state: a job of 3 statements keeps no state; give each its own run: --into NAME --state FILE"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/st" ]
	# one statement picked keeps its state as before
	csa-window --query-file "$JOB" --into speed-view --state "$BATS_TEST_TMPDIR/st" "$ev" |
		cmp - <(csa-window --preset earthquake "$ev")
	[ -s "$BATS_TEST_TMPDIR/st" ]
	run --separate-stderr csa-window --query $'SELECT COUNT(*) AS n INTO [a] FROM i GROUP BY TumblingWindow(s, 1)\n  SELECT x FROM i' "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: query:2:3: a statement without INTO, in a job of 2: name its output with INTO [name]"* ]]
	run --separate-stderr csa-window --query $'SELECT x INTO [a] FROM i\nSELECT y INTO [a] FROM i' "$ev"
	assert_failure 2
	[[ "$stderr" == "csa-window: query:2:1: a second statement INTO [a]"* ]]
	# the one-statement rules stand: --out and --into NAME=FILE, the query's options
	run --separate-stderr csa-window --query-file "$JOB" --into speed-view --into "rolling-hour=x" --out y "$ev"
	assert_success
	run --separate-stderr csa-window --query "SELECT x INTO [a] FROM i" --into "a=x" --out y "$ev"
	assert_failure 2
	[[ "$stderr" == *"--into a=x and --out: give one file"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --tumbling 1h "$ev"
	assert_failure 2
	[[ "$stderr" == *"leave out the options that say them"* ]]
	run --separate-stderr csa-window --explain
	assert_failure 2
	[[ "$stderr" == *"--explain: needs --query or --query-file"* ]]
	run --separate-stderr csa-window --query-file "$JOB" --query "SELECT 1 AS x FROM i"
	assert_failure 2
	[[ "$stderr" == *"--query and --query-file: give one"* ]]
}

@test "WITH: the guides' DeviceMetrics step read by two statements, in one run: the pipe's rows, and python's" {
	local q="$CSA_SRCDIR/tests/data/saql/device-anomalies.asaql"
	cd "$BATS_TEST_TMPDIR"
	iot > iot.ndjson
	run --separate-stderr csa-window --query-file "$q" -v iot.ndjson
	assert_success
	printf '%s\n' "$output" > job
	[[ "$stderr" == *"WITH [DeviceMetrics]: 400 events"* ]]
	# the step writes nothing of its own
	[ "$(grep -c '"_into":"anomalies"' job)" -gt 10 ]
	[ "$(($(grep -c '"_into":"anomalies"' job) + $(grep -c '"_into":"hot-hours"' job)))" = "$(wc -l < job)" ]
	# each statement is the step's command piped into its own, as --explain prints them
	csa-window --query-file "$q" --explain > plan
	grep -q '^  input:   the rows of WITH step \[DeviceMetrics\]' plan
	cmd() { sed -n "/$1/,/command:/s/^  command: //p" plan; }
	step=$(cmd "WITH DeviceMetrics")
	for into in anomalies hot-hours; do
		eval "$step iot.ndjson" | eval "$(cmd "INTO $into")" > "pipe-$into"
		[ -s "pipe-$into" ]
		rows_of "$into" job | cmp - "pipe-$into"
	done
	# a statement alone still runs its step; its rows then need no mark
	csa-window --query-file "$q" --into anomalies iot.ndjson | cmp - pipe-anomalies
	py iot.ndjson pipe-anomalies pipe-hot-hours <<'PYEOF'
groups = {}
for e in map(json.loads, open(sys.argv[1])):
    end = -(-ms(e["createdAt"]) // 300000) * 300000
    groups.setdefault((end, e["deviceId"]), []).append(e["value"])
avg = {k: sum(v) / len(v) for k, v in groups.items()}
# the step's rows come out window by window; within one, in no promised order
want = sorted((k[0], k[1], a) for k, a in avg.items() if a > 60)
got = sorted((ms(r["window_end"]), r["deviceId"], r["avg_value"])
             for r in map(json.loads, open(sys.argv[2])))
assert len(got) == len(want) and all(g[:2] == w[:2] and abs(g[2] - w[2]) < 1e-9 for g, w in zip(got, want)), (got[:3], want[:3])
for r in map(json.loads, open(sys.argv[2])):
    assert r["alert_type"] == "HIGH_AVERAGE"
hours = {}
for (end, dev), a in avg.items():
    if a > 50:
        # a step row's time is its window end; (start, end] hours
        hours.setdefault(-(-end // 3600000) * 3600000, []).append(a)
rows = [json.loads(l) for l in open(sys.argv[3])]
assert len(rows) == len(hours), (len(rows), len(hours))
for r in rows:
    h = hours[ms(r["window_end"])]
    assert r["hot_windows"] == len(h) and abs(r["hottest"] - max(h)) < 1e-9, (r, h)
print(len(got), "anomalies,", len(rows), "hours")
PYEOF
}

@test "WITH with --emit early and --dedupe: a step passes on final rows of deduplicated events; the readers' final rows are unchanged" {
	local q="$CSA_SRCDIR/tests/data/saql/device-anomalies.asaql"
	cd "$BATS_TEST_TMPDIR"
	iot > iot.ndjson
	csa-window --query-file "$q" iot.ndjson > plain
	[ "$(grep -c '"_into":"hot-hours"' plain)" -gt 5 ]
	# The readers write their own early rows; the step's never reach them.
	csa-window --query-file "$q" --emit early:1m iot.ndjson > early
	grep -q '"_into":"hot-hours".*"early":true' early
	grep -v '"early":true' early | cmp - plain
	# Each event twice in a row: the step drops the copies (the readers'
	# events are its rows, which have no eventId).
	sed p iot.ndjson > twice
	run --separate-stderr csa-window --query-file "$q" --dedupe eventId -v twice
	assert_success
	[[ "$stderr" == *"WITH [DeviceMetrics]: 400 events, "*", 400 duplicates,"* ]]
	cmp - plain <<<"$output"
}

@test "WITH with --idle-timeout: a quiet input closes the readers' windows too, as far as the step's time has gone" {
	local q="$CSA_SRCDIR/tests/data/saql/device-anomalies.asaql"
	cd "$BATS_TEST_TMPDIR"
	# Hot readings up to a second before 10:00; then the input is quiet.
	for m in 10 30 50 59; do
		printf '{"eventId":"e%s","deviceId":"d","value":80,"createdAt":"2026-03-01T09:%s:59.000Z"}\n' "$m" "$m"
	done > hot.ndjson
	mkfifo fifo
	bg sh -c 'exec csa-window -u --query-file "$0" --idle-timeout 300ms < fifo > out' "$q"
	exec 7> fifo
	cat hot.ndjson >&7
	# About a second of quiet closes the step's (09:55, 10:00]; the reader's
	# hour (09:00, 10:00] is closed once its time follows the step's past 10:00.
	wait_for 15 'grep -q "\"_into\":\"hot-hours\"" out'
	[ "$(jq -sc 'map(select(._into == "hot-hours")) | map([.window_end, .hot_windows, .hottest])' out)" = \
	    '[["2026-03-01T10:00:00.000Z",4,80]]' ]
	[ "$(grep -c '"_into":"anomalies"' out)" -eq 4 ]
	exec 7>&-
}

@test "WITH with --idle-timeout and --max-delay: a reader's watermark follows the step's, not held back by the delay twice" {
	cd "$BATS_TEST_TMPDIR"
	q=$'WITH s AS (SELECT COUNT(*) AS n FROM i TIMESTAMP BY t GROUP BY TumblingWindow(second, 1))\n'
	q+=$'SELECT System.Timestamp() AS at, n INTO [rows] FROM s\n'
	q+=$'SELECT COUNT(*) AS windows, SUM(n) AS events INTO [three] FROM s GROUP BY TumblingWindow(second, 3)'
	mkfifo fifo
	bg sh -c 'exec csa-window -u --query "$0" --idle-timeout 200ms --max-delay 3s < fifo > out' "$q"
	exec 7> fifo
	for t in 00.5 01.5 02.5; do printf '{"t":"2026-01-01T00:00:%sZ"}\n' "$t"; done >&7
	# The step's (2, 3] closes after 3.5 s of quiet (its watermark past 3 s);
	# the reader's (0, 3] closes with it: its watermark is the step's.  Held
	# back by its own --max-delay as well, it would take 3 s more.
	wait_for 20 'grep -q "\"at\":\"2026-01-01T00:00:03.000Z\"" out'
	sleep 1
	[ "$(jq -sc 'map(select(._into == "three")) | map([.window_end, .windows, .events])' out)" = \
	    '[["2026-01-01T00:00:03.000Z",3,3]]' ]
	exec 7>&-
	# --emit early is the readers': a step of any window may be read
	printf '{"t":"2026-01-01T00:00:%sZ"}\n' 00.5 01.5 02.5 07.0 > ev
	s=$'WITH s AS (SELECT COUNT(*) AS n FROM i TIMESTAMP BY t GROUP BY SessionWindow(second, 1, 5))\n'
	s+=$'SELECT COUNT(*) AS c, SUM(n) AS events INTO [r] FROM s GROUP BY TumblingWindow(second, 3)'
	csa-window --query "$s" ev > plain
	[ "$(jq -c '[.window_end, .c, .events]' plain | tr '\n' ' ')" = '["2026-01-01T00:00:06.000Z",1,3] ["2026-01-01T00:00:09.000Z",1,1] ' ]
	csa-window --query "$s" --emit early:1s ev > early
	grep -v '"early":true' early | cmp - plain
}

@test "WITH: what a step cannot be, named with its line and column" {
	bad $'WITH s AS (SELECT x FROM i WHERE x > 1)\nSELECT x INTO [o] FROM s' 1:12 "a WITH step without a window is not supported"
	bad $'WITH s AS (SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(s, 1))\nSELECT n INTO [o] FROM s TIMESTAMP BY t' 2:26 "TIMESTAMP BY on the rows of WITH step [s]: their time is the step's System.Timestamp()"
	bad $'WITH s AS (SELECT COUNT(*) AS n INTO [x] FROM i GROUP BY TumblingWindow(s, 1))\nSELECT n INTO [o] FROM s' 1:33 "INTO in a WITH step"
	bad $'WITH s AS (SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(s, 1)),\n  S AS (SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(s, 2))\nSELECT n INTO [o] FROM s' 2:3 "a second WITH step [S]"
	bad 'WITH s AS (SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(s, 1)' 1:69 "expected ')' to end the WITH step, found the end of the query"
	bad 'WITH s AS (SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(s, 1))' 1:70 "expected SELECT after the WITH steps"
	bad 'WITH s (SELECT 1 AS x FROM i) SELECT x FROM s' 1:8 "expected 'AS' after the step's name"
	run --separate-stderr csa-window --query-file "$CSA_SRCDIR/tests/data/saql/device-anomalies.asaql" --into anomalies --state "$BATS_TEST_TMPDIR/st"
	assert_failure 2
	[[ "$stderr" == "csa-window: --state: a job with WITH steps keeps no state"* ]]
	run --separate-stderr csa-window --query-file "$CSA_SRCDIR/tests/data/saql/device-anomalies.asaql" --into DeviceMetrics
	assert_failure 2
	[[ "$stderr" == "csa-window: --into: no statement INTO [DeviceMetrics] in the query ([anomalies], [hot-hours])"* ]]
}

@test "the guides' hopping window (5 minutes, hop 1) on IoT events: the flag form's rows, and python's" {
	iot > "$BATS_TEST_TMPDIR/in"
	q='SELECT deviceId, System.Timestamp() AS WindowEnd, AVG(value) AS avgValue, COUNT(*) AS n
	   FROM Input TIMESTAMP BY createdAt
	   GROUP BY deviceId, HoppingWindow(minute, 5, 1)'
	csa-window --query "$q" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/query"
	csa-window --hopping 5m/1m --by deviceId --agg 'avgValue=avg(value),n=count' -t createdAt \
		"$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/query"
	py "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/query" <<'PYEOF'
want = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    t = ms(e["createdAt"])
    first = -(-t // 60000) * 60000        # the first window end at or after t
    for end in range(first, t + 300000, 60000):   # every window (end - 5m, end] that holds t
        if end - 300000 < t <= end:
            want.setdefault((end, e["deviceId"]), []).append(e["value"])
got = {}
for l in open(sys.argv[2]):
    r = json.loads(l)
    got[(ms(r["window_end"]), r["deviceId"])] = (r["n"], round(r["avgValue"], 9))
want = {k: (len(v), round(sum(v) / len(v), 9)) for k, v in want.items()}
assert got == want, sorted(set(got.items()) ^ set(want.items()))[:4]
print(len(got), "rows")
PYEOF
}

@test "the guides' session window (timeout 5, at most 10 minutes) on IoT events: the flag form's rows, and python's" {
	iot > "$BATS_TEST_TMPDIR/in"
	q='SELECT deviceId, System.Timestamp() AS window_end, COUNT(*) AS eventCount
	   FROM Input TIMESTAMP BY createdAt
	   GROUP BY deviceId, SessionWindow(Timeout(minute, 5), MaxDuration(minute, 10))'
	csa-window --query "$q" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/query"
	q2='SELECT deviceId, COUNT(*) AS eventCount FROM Input TIMESTAMP BY createdAt
	    GROUP BY deviceId, SessionWindow(mi, 5, 10)'
	csa-window --query "$q2" "$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/query"
	csa-window --session 5m/10m --by deviceId --agg eventCount=count -t createdAt \
		"$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/query"
	py "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/query" <<'PYEOF'
T, M = 300000, 600000
by = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    by.setdefault(e["deviceId"], []).append(ms(e["createdAt"]))
want = []
# A session ends 5 minutes after its last event, or at a check: the
# multiples of 10 minutes, the first at or after its start + 10 minutes,
# where it is cut and the next one opens (Stream Analytics' rule).
for dev, ts in by.items():
    ts.sort()
    i = 0
    while i < len(ts):
        last = ts[i]
        cut = -(-(ts[i] + M) // M) * M
        n = 0
        while True:
            while i < len(ts) and ts[i] <= last + T and ts[i] <= cut:
                last, n, i = ts[i], n + 1, i + 1
            end = min(last + T, cut)
            want.append((end, dev, n))
            if end == cut and i < len(ts) and ts[i] <= last + T:
                cut, n = cut + M, 0
                continue
            break
got = sorted((ms(r["window_end"]), r["deviceId"], r["eventCount"]) for r in map(json.loads, open(sys.argv[2])))
assert got == sorted(want), sorted(set(got) ^ set(want))[:4]
assert any(n > 1 for _, _, n in got)
print(len(got), "sessions")
PYEOF
}

@test "the speed layer's 1-minute tumbling by device with COUNT(DISTINCT userId): compiled to count_distinct, and python's counts" {
	iot > "$BATS_TEST_TMPDIR/in"
	q='SELECT deviceId, System.Timestamp() AS WindowEnd, COUNT(*) AS EventCount,
	          AVG(value) AS AvgValue, MAX(value) AS MaxValue, COUNT(DISTINCT userId) AS UniqueUsers
	   FROM EventHubInput TIMESTAMP BY createdAt
	   GROUP BY deviceId, TumblingWindow(minute, 1)'
	run --separate-stderr csa-window --query "$q" --explain
	assert_success
	assert_line "  aggs:    EventCount=count,AvgValue=avg(value),MaxValue=max(value),UniqueUsers=count_distinct(userId)"
	if ! csa-window --tumbling 1m --agg 'u=count_distinct(userId)' < /dev/null 2>/dev/null; then
		skip "csa-window has no count_distinct aggregate in this build"
	fi
	csa-window --query "$q" "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/query"
	py "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/query" <<'PYEOF'
want = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    want.setdefault((-(-ms(e["createdAt"]) // 60000) * 60000, e["deviceId"]), []).append(e)
got = {(ms(r["window_end"]), r["deviceId"]): (r["EventCount"], r["UniqueUsers"], r["MaxValue"])
       for r in map(json.loads, open(sys.argv[2]))}
want = {k: (len(v), len({e["userId"] for e in v}), max(e["value"] for e in v)) for k, v in want.items()}
assert got == want, sorted(set(got.items()) ^ set(want.items()))[:4]
print(len(got), "rows")
PYEOF
}

@test "HAVING on an aggregate the SELECT list does not have: it becomes a column, and python agrees" {
	iot > "$BATS_TEST_TMPDIR/in"
	csa-window --query 'SELECT deviceId, COUNT(*) AS n FROM i TIMESTAMP BY createdAt
		GROUP BY deviceId, TumblingWindow(minute, 10) HAVING AVG(value) > 50' \
		"$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/query"
	csa-window --tumbling 10m --by deviceId --agg 'n=count,avg_value=avg(value)' \
		--having 'avg_value > 50' -t createdAt "$BATS_TEST_TMPDIR/in" | cmp - "$BATS_TEST_TMPDIR/query"
	py "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/query" <<'PYEOF'
groups = {}
for e in map(json.loads, open(sys.argv[1])):
    groups.setdefault((-(-ms(e["createdAt"]) // 600000) * 600000, e["deviceId"]), []).append(e["value"])
want = {k: len(v) for k, v in groups.items() if sum(v) / len(v) > 50}
got = {(ms(r["window_end"]), r["deviceId"]): r["n"] for r in map(json.loads, open(sys.argv[2]))}
assert got == want and 0 < len(want) < len(groups), (len(got), len(want), len(groups))
PYEOF
}

@test "WHERE in SQL's sense: a comparison with a missing field is not true, strings and NOT as written" {
	printf '%s\n' '{"t":1,"a":1,"s":"x"}' '{"t":2,"s":"it'"'"'s"}' '{"t":3,"a":5,"s":"y"}' '{"t":4,"a":null}' > "$BATS_TEST_TMPDIR/in"
	one() {
		csa-window --query "SELECT COUNT(*) AS n FROM i TIMESTAMP BY DATEADD(second, t, '2026-01-01T00:00:00Z') WHERE $1 GROUP BY TumblingWindow(hour, 1)" \
			"$BATS_TEST_TMPDIR/in" | jq -r .n
	}
	[ "$(one 'a < 3')" = 1 ]
	[ "$(one 'a <> 1')" = 1 ]
	[ "$(one 'NOT a = 1')" = 1 ]
	[ "$(one 'a IS NULL')" = 2 ]
	[ "$(one "s = 'it''s' OR a >= 5")" = 2 ]
	[ "$(one "s = 'y'")" = 1 ]
	[ "$(one "[s] <> 'x' AND NOT (a > 4)")" = "" ]
	[ "$(one "a >= 1 AND a <= 5")" = 2 ]
}

@test "property: 200 random WHERE conditions count what SQL's three-valued logic lets through" {
	py "$BATS_TEST_TMPDIR" "$RANDOM" <<'PYEOF'
import os, random, subprocess
rnd = random.Random(int(sys.argv[2]))
events = []
for t in range(60):
    e = {"t": t * 60}
    a = rnd.choice(["missing", None, 0, 1, 2, 3, 4, 5])
    s = rnd.choice(["missing", None, "x", "y", "it's"])
    if a != "missing":
        e["a"] = a
    if s != "missing":
        e["s"] = s
    events.append(e)
path = os.path.join(sys.argv[1], "ev")
with open(path, "w") as f:
    for e in events:
        f.write(json.dumps(e) + "\n")
OPS = {"=": lambda x, y: x == y, "<>": lambda x, y: x != y, "<": lambda x, y: x < y,
       "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}
def atom():
    k = rnd.randrange(5)
    if k == 0:
        op, n = rnd.choice(list(OPS)), rnd.randrange(6)
        return "a %s %d" % (op, n), lambda e: None if e.get("a") is None else OPS[op](e["a"], n)
    if k == 1:
        op, n = rnd.choice(list(OPS)), rnd.randrange(6)
        return "%d %s [a]" % (n, op), lambda e: None if e.get("a") is None else OPS[op](n, e["a"])
    if k == 2:
        op, v = rnd.choice(["=", "<>"]), rnd.choice(["x", "y", "it's"])
        return "s %s '%s'" % (op, v.replace("'", "''")), \
            lambda e: None if e.get("s") is None else OPS[op](e["s"], v)
    if k == 3:
        neg = rnd.random() < 0.5
        return "a IS %sNULL" % ("NOT " if neg else ""), lambda e: (e.get("a") is None) != neg
    text, f = atom()
    if " IS " in text:
        return text, f
    return "NOT (%s)" % text, lambda e: None if f(e) is None else not f(e)
def cond(depth):
    if depth == 0 or rnd.random() < 0.3:
        return atom()
    (lt, lf), (rt, rf) = cond(depth - 1), cond(depth - 1)
    if rnd.random() < 0.2:
        return "NOT (%s AND %s)" % (lt, rt), lambda e: (True if lf(e) is False or rf(e) is False
            else None if lf(e) is None or rf(e) is None else False)
    if rnd.random() < 0.5:
        return "(%s AND %s)" % (lt, rt), lambda e: (False if lf(e) is False or rf(e) is False
            else None if lf(e) is None or rf(e) is None else True)
    return "(%s OR %s)" % (lt, rt), lambda e: (True if lf(e) is True or rf(e) is True
        else None if lf(e) is None or rf(e) is None else False)
bad = 0
for i in range(200):
    text, f = cond(3)
    want = sum(1 for e in events if f(e) is True)
    q = ("SELECT COUNT(*) AS n FROM i TIMESTAMP BY DATEADD(second, t, '2026-01-01T00:00:00Z') "
         "WHERE %s GROUP BY TumblingWindow(day, 1)" % text)
    out = subprocess.run(["csa-window", "--query", q, path], capture_output=True, text=True)
    got = sum(json.loads(l)["n"] for l in out.stdout.splitlines())
    if out.returncode != 0 or got != want:
        bad += 1
        print("mismatch:", text, "got", got, "want", want, out.stderr.strip())
print("200 conditions,", bad, "mismatches")
sys.exit(1 if bad else 0)
PYEOF
}

@test "arithmetic on a missing or null field is null, as in SQL: left out of the aggregate, no error" {
	printf '%s\n' '{"t":1,"v":1,"w":10}' '{"t":2,"w":20}' '{"t":3,"v":null,"w":30}' '{"t":4,"v":4,"w":40}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window --query "SELECT AVG(v * 2) AS a, SUM(v + w) AS s, MIN(-v) AS m, COUNT(*) AS n
		FROM i TIMESTAMP BY DATEADD(second, t, '2026-01-01T00:00:00Z')
		WHERE w - 1 > 0 GROUP BY TumblingWindow(hour, 1)" "$BATS_TEST_TMPDIR/in"
	assert_success
	[ -z "$stderr" ]
	[ "$(printf '%s\n' "$output" | jq -c '[.a, .s, .m, .n]')" = "[5,55,-4,4]" ]
}

@test "units as Stream Analytics spells them; DATEADD from another base; the same window each way" {
	printf '{"t":%d,"d":"a"}\n' 10 70 130 650 > "$BATS_TEST_TMPDIR/in"
	for w in 'minute, 10' 'mi, 10' 'n, 10' 'second, 600' 'ss, 600' 's, 600' \
		'millisecond, 600000' 'ms, 600000' 'microsecond, 600000000' 'mcs, 600000000' \
		'Duration(minute, 10)'; do
		csa-window --query "SELECT COUNT(*) AS n FROM i TIMESTAMP BY DATEADD(second, t, '2026-01-01T10:00:00Z') GROUP BY TumblingWindow($w)" \
			"$BATS_TEST_TMPDIR/in" | jq -r '"\(.window_end) \(.n)"' > "$BATS_TEST_TMPDIR/$w"
		printf '%s\n' '2026-01-01T10:10:00.000Z 3' '2026-01-01T10:20:00.000Z 1' | diff - "$BATS_TEST_TMPDIR/$w"
	done
	for w in 'hour, 1' 'hh, 1' 'day, 1' 'dd, 1' 'd, 1'; do
		csa-window --query "SELECT COUNT(*) AS n FROM i TIMESTAMP BY DATEADD(second, t, '2026-01-01T10:00:00Z') GROUP BY TumblingWindow($w)" \
			"$BATS_TEST_TMPDIR/in" | jq -r .n | grep -qx 4
	done
}

# bad QUERY WHERE MESSAGE: csa-window exits 2 naming the place and the fault.
bad() {
	run --separate-stderr csa-window --query "$1"
	assert_failure 2
	[[ "$stderr" == "csa-window: query:$2: $3"* ]] || { echo "stderr: $stderr"; return 1; }
	[[ "$stderr" == *"Try 'csa-window --help'"* ]]
}

@test "a bad query: two columns of one name, or a column named as a row's own member" {
	bad $'SELECT COUNT(*) AS n\nFROM i\nGROUP BY a.region, b.region, TumblingWindow(minute, 5)' 3:20 "a second column named 'region' (a GROUP BY column not selected is named after its path's last part): select it AS another name"
	bad $'SELECT COUNT(*) AS region\nFROM i\nGROUP BY p.region, TumblingWindow(minute, 5)' 3:10 "a second column named 'region'"
	bad $'SELECT COUNT(*) AS n\nFROM i\nGROUP BY props.view, TumblingWindow(minute, 5)' 3:10 "a column named 'view', a member every row has or csa-merge adds: select it AS another name"
	bad $'SELECT region, MAX(mag) AS _id\nFROM i\nGROUP BY region, TumblingWindow(minute, 5)' 1:16 "a column named '_id'"
	bad $'SELECT region AS early, COUNT(*) AS n\nFROM i\nGROUP BY region, TumblingWindow(minute, 5)' 1:8 "a column named 'early'"
	# System.Timestamp() AS window_end is the row's own window_end
	run -0 csa-window --query $'SELECT System.Timestamp() AS window_end, COUNT(*) AS n\nFROM i\nGROUP BY TumblingWindow(minute, 5)' < /dev/null
}

@test "a bad query: an unknown function, named with its line and column" {
	bad $'SELECT region, COUNT(*) AS n\nFROM i\nGROUP BY region, TumblingWindow(minute, 5)\nHAVING FOO(n) > 1' 4:8 "unknown function FOO"
	bad $'SELECT region, COUNT(*) AS n\nFROM i\nGROUP BY region, TumblingWindow(minute, 5)\nHAVING n > 1' 4:8 "HAVING: only AGGREGATE OP NUMBER"
	bad $'SELECT\n  MEDIAN2(x) AS m\nFROM i' 2:3 "unknown function MEDIAN2"
	bad "SELECT COUNT(*) AS n FROM i TIMESTAMP BY TODATE(t) GROUP BY TumblingWindow(s, 1)" 1:42 "unknown function TODATE"
}

@test "a bad query: an aggregate without GROUP BY a window, and GROUP BY without one" {
	bad "SELECT region, COUNT(*) AS n FROM i" 1:16 "COUNT needs a window"
	bad $'SELECT region, AVG(m) AS a\nFROM i\nGROUP BY region' 1:16 "AVG needs a window"
	bad $'SELECT region FROM i\nGROUP BY region' 2:1 "GROUP BY without a window"
}

@test "a bad query: a column neither grouped nor aggregated" {
	bad $'SELECT region,\n       place,\n       COUNT(*) AS n\nFROM i\nGROUP BY region, TumblingWindow(minute, 5)' 2:8 \
		"column 'place' is neither in GROUP BY nor inside an aggregate"
}

@test "a bad query: unbalanced brackets and parentheses" {
	bad "SELECT [region AS r FROM i" 1:8 "unbalanced '['"
	bad "SELECT region] FROM i" 1:14 "unbalanced ']'"
	bad $'SELECT COUNT(*) AS n FROM i\nGROUP BY TumblingWindow(minute, 5' 2:34 "unbalanced '(' at 2:24"
	bad "SELECT a AS x FROM i WHERE (a > 1 AND (b < 2)" 1:46 "unbalanced '(' at 1:28"
	bad "SELECT a AS x FROM i WHERE a > 1)" 1:33 "unbalanced ')'"
	bad "SELECT 'abc AS x FROM i" 1:8 "a string that never ends"
}

@test "a bad query: a time unit Stream Analytics does not know, a window past its 7 days" {
	bad "SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(minutes, 5)" 1:53 "'minutes' is not a time unit Stream Analytics knows"
	bad "SELECT COUNT(*) AS n FROM i GROUP BY HoppingWindow(m, 5, 1)" 1:52 "'m' is not a time unit"
	bad "SELECT COUNT(*) AS n FROM i GROUP BY SessionWindow(Timeout(week, 1), MaxDuration(day, 1))" 1:60 "'week' is not a time unit"
	bad "SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(day, 8)" 1:38 "a window longer than 7 days"
	bad "SELECT COUNT(*) AS n FROM i GROUP BY TumblingWindow(mcs, 1500)" 1:58 "1500: not a whole number of milliseconds"
}

@test "a bad query: constructs not supported are named (JOIN, LAG, WITH, SELECT *, COUNT(x))" {
	bad "SELECT a.x AS x FROM i JOIN j ON i.k = j.k" 1:24 "joining streams is not supported"
	bad "SELECT LAG(x) OVER (LIMIT DURATION(hour, 1)) AS p FROM i" 1:8 "LAG is not supported"
	bad $'WITH s AS (WITH t AS (SELECT x FROM i) SELECT x FROM t)\nSELECT x FROM s' 1:12 "WITH inside a WITH step is not supported"
	bad "SELECT * FROM i" 1:8 "SELECT * is not supported"
	bad "SELECT COUNT(x) AS n FROM i GROUP BY TumblingWindow(s, 1)" 1:8 "COUNT(x) is not supported"
	bad "SELECT x AS n FROM i WHERE x IN (1, 2)" 1:30 "IN (...) is not supported"
}

@test "--query-file: a fault is named FILE:LINE:COLUMN; a missing file exits 3" {
	printf 'SELECT COUNT(*) AS n\nFROM i\nGROUP BY TumblingWindow(fortnight, 1)\n' > "$BATS_TEST_TMPDIR/q.asaql"
	run --separate-stderr csa-window --query-file "$BATS_TEST_TMPDIR/q.asaql"
	assert_failure 2
	[[ "$stderr" == "csa-window: $BATS_TEST_TMPDIR/q.asaql:3:25: 'fortnight' is not a time unit"* ]]
	run --separate-stderr csa-window --query-file "$BATS_TEST_TMPDIR/nothere"
	assert_failure 3
	[[ "$stderr" == *"nothere: no such file"* ]]
}
