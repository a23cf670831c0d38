#!/usr/bin/env bats
# csa-window: tumbling and hopping windows, watermark and late events,
# grouping and aggregates, on hand-made streams and real USGS events.

load helpers/common

teardown() {
	kill_bg
}

# ev SECONDS [MORE JSON]: an event at 2026-01-01T10:00:00Z + SECONDS
ev() {
	printf '{"t":"%s"%s}\n' "$(date -u -d "@$(( 1767261600 + $1 ))" +%FT%TZ)" "${2:+,$2}"
}

# rows: the window bounds and count of each output row, one per line
rows() {
	jq -r '"\(.window_start[11:19])-\(.window_end[11:19]) \(.count // .n)"'
}

@test "bad option values exit 2 naming the option" {
	for args in "--tumbling 0" "--hopping 5m/7m" "--hopping 5m" "--tumbling 5m --agg x=mode(m)" \
		"--tumbling 5m --agg x=count_if(m)" "--tumbling 5m --agg x=count_if(m >= )" \
		"--tumbling 5m --agg avg(m)" "--tumbling 5m --having nope>1" "--preset quakes" \
		"--tumbling 5m --boundary middle" "--tumbling 5m --late maybe" "--tumbling 1m --hopping 2m/1m" \
		"--sliding 0" "--session 0" "--session 5m/0" "--session 5m/x" "--tumbling 5m --emit early:0" \
		"--tumbling 5m --emit late" "--snapshot --emit early:1m" "--tumbling 5m --max-groups 0" \
		"--tumbling 5m --max-groups many" "--sliding 5m --boundary start-inclusive" \
		"--sliding 5m --offset 1m" "--tumbling 5m --keep-open" "--tumbling 5m --state-every 1m" \
		"--tumbling 5m --dedupe-horizon 0" "--tumbling 5m --dedupe '.[oops'"; do
		run --separate-stderr csa-window $args < /dev/null
		assert_failure 2
		[[ "$stderr" == *"Try 'csa-window --help'"* ]] || { echo "$args: $stderr"; return 1; }
	done
	run --separate-stderr csa-window < /dev/null
	assert_failure 2
	[[ "$stderr" == *"no window"* ]]
	run --separate-stderr csa-window --hopping 5m/7m < /dev/null
	[[ "$stderr" == *"hop 7m is longer than the window 5m"* ]]
	run --separate-stderr csa-window --tumbling 5m --agg 'x=mode(m)' < /dev/null
	[[ "$stderr" == *"unknown function 'mode'"* ]]
	run --separate-stderr csa-window --sliding 5m --boundary start-inclusive < /dev/null
	[[ "$stderr" == *"--boundary start-inclusive: only for tumbling and hopping"* ]]
	run --separate-stderr csa-window --tumbling 5m --max-groups 0 < /dev/null
	[[ "$stderr" == *"--max-groups: '0' is not a number from 1"* ]]
	# An empty expression would be jq's '.', the whole event; never meant.
	for args in "--by=" "--by=region," "--by=r=" "--time=" "--where= " "--dedupe="; do
		run --separate-stderr csa-window --tumbling 5m "$args" < /dev/null
		assert_failure 2
		[[ "$stderr" == *"${args%%=*}: an empty expression"* ]] || { echo "$args: $stderr"; return 1; }
	done
	run --separate-stderr csa-window --tumbling 5m --keep-open < /dev/null
	[[ "$stderr" == *"--keep-open: needs --state FILE"* ]]
}

@test "tumbling: (start, end] by default, [start, end) with --boundary start-inclusive" {
	{ ev 0; ev 1; ev 299; ev 300; ev 301; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window --tumbling 5m -t t < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_start[11:19])-\(.window_end[11:19]) \(.count)\"'"
	assert_success
	assert_output "$(printf '%s\n' '09:55:00-10:00:00 1' '10:00:00-10:05:00 3' '10:05:00-10:10:00 1')"
	run bash -c "csa-window --tumbling 5m -t t --boundary start-inclusive < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_start[11:19])-\(.window_end[11:19]) \(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:00-10:05:00 3' '10:05:00-10:10:00 2')"
}

@test "hopping: every window that holds an event counts it; --offset shifts them" {
	{ ev 2; ev 6; ev 11; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window --hopping 10s/5s -t t < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[11:19]) \(.count) \(.window_type)\"'"
	assert_output "$(printf '%s\n' '10:00:05 1 hopping' '10:00:10 2 hopping' '10:00:15 2 hopping' '10:00:20 1 hopping')"
	run bash -c "csa-window --tumbling 10s --offset 3s -t t < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[11:19]) \(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:03 1' '10:00:13 2')"
}

@test "aggregates equal python's statistics, per group, skipping nulls and non-numbers" {
	"$PY" - > "$BATS_TEST_TMPDIR/in" <<'PYEOF'
import json, random
random.seed(7)
for i in range(3000):
    v = random.choice([random.uniform(-5, 9), None, "x"]) if i % 10 == 0 else random.uniform(-5, 9)
    print(json.dumps({"t": 1767261600001 + i * 100, "g": "abc"[i % 3], "v": v, "k": i % 4}))
PYEOF
	csa-window --tumbling 1h -t t --by g --agg 'n=count,s=sum(v),a=avg(v),lo=min(v),hi=max(v),sd=stddev(v),c=count_if(k == 2),big=count_if(v > 5)' \
		"$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/out"
	"$PY" - "$BATS_TEST_TMPDIR/in" "$BATS_TEST_TMPDIR/out" <<'PYEOF'
import json, statistics, sys
rows = {r["g"]: r for r in map(json.loads, open(sys.argv[2]))}
events = [json.loads(l) for l in open(sys.argv[1])]
assert sorted(rows) == ["a", "b", "c"], rows.keys()
for g in "abc":
    ev = [e for e in events if e["g"] == g]
    vals = [e["v"] for e in ev if isinstance(e["v"], float)]
    r = rows[g]
    close = lambda x, y: abs(x - y) <= 1e-9 * max(1, abs(y))
    assert r["n"] == len(ev)
    assert close(r["s"], sum(vals)) and close(r["a"], statistics.mean(vals))
    assert r["lo"] == min(vals) and r["hi"] == max(vals)
    assert close(r["sd"], statistics.stdev(vals)), (r["sd"], statistics.stdev(vals))
    assert r["c"] == sum(1 for e in ev if e["k"] == 2)
    assert r["big"] == sum(1 for v in vals if v > 5)
    assert r["_state"]["a"]["skipped"] == len(ev) - len(vals)
    assert r["_state"]["sd"]["n"] == len(vals)
PYEOF
}

@test "--preset earthquake on real events: counts equal jq's by region and 5-minute bucket" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	run --separate-stderr csa-window --preset earthquake "$BATS_TEST_TMPDIR/ev"
	assert_success
	printf '%s\n' "$output" | jq -c '[(.window_end | sub("\\.000Z$"; "Z") | fromdateiso8601 * 1000), .region, .event_count, (.avg_magnitude * 1e6 | round)]' | sort > "$BATS_TEST_TMPDIR/ours"
	jq -c -s 'map(. + {e: (((.time + 299999) / 300000 | floor) * 300000)}) | group_by([.e, .region]) | .[]
		| [.[0].e, .[0].region, length, ((map(.magnitude | select(. != null)) | add / length) * 1e6 | round)]' \
		"$BATS_TEST_TMPDIR/ev" | sort > "$BATS_TEST_TMPDIR/jq"
	diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/jq"
	printf '%s\n' "$output" | jq -e -s 'all(.window_type == "tumbling" and has("significant_count")
		and has("tsunami_alerts") and has("avg_depth_km") and has("_state"))' >/dev/null
}

@test "lines simdjson reads and lines jsmn reads give the same rows" {
	# A backslash anywhere sends a line to jsmn: the same events with an
	# escaped member added must give byte-identical output, for plain
	# paths, nested and missing ones, a path to an array, and jq (but for
	# the _id, whose lines differ).
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	jq -c '. + {deep: {ids: [.event_id], m: .magnitude}}' "$BATS_TEST_TMPDIR/ev" > "$BATS_TEST_TMPDIR/fast"
	jq -c '. + {deep: {ids: [.event_id], m: .magnitude}, note: "a\\b"}' "$BATS_TEST_TMPDIR/ev" |
		jq -c 'del(.note) + {note: .note}' > "$BATS_TEST_TMPDIR/slow"
	grep -q '\\' "$BATS_TEST_TMPDIR/slow"
	! grep -q '\\' "$BATS_TEST_TMPDIR/fast" || false
	both() {
		csa-window "$@" "$BATS_TEST_TMPDIR/fast" > "$BATS_TEST_TMPDIR/out.fast"
		csa-window "$@" "$BATS_TEST_TMPDIR/slow" > "$BATS_TEST_TMPDIR/out.slow"
		[ -s "$BATS_TEST_TMPDIR/out.fast" ]
		diff <(no_ids "$BATS_TEST_TMPDIR/out.fast") <(no_ids "$BATS_TEST_TMPDIR/out.slow")
	}
	both --preset earthquake
	both --tumbling 1h --by region,status \
		--agg 'n=count,m=avg(deep.m),x=max(deep.nothing),s=stddev(depth_km)'
	both --hopping 1h/15m --by deep.ids --agg 'n=count,big=count_if(magnitude>=4.5)'
	both --tumbling 6h --by 'kind=(.event_type | ascii_upcase)' --where '.magnitude > 1' --agg n=count
}

@test "late events: adjusted into the open window by default, or dropped, and written to --late-output" {
	{ ev 1; ev 7; ev 3; ev 8; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window --tumbling 5s -t t < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[11:19]) \(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:05 1' '10:00:10 3')"
	run bash -c "csa-window --tumbling 5s -t t --late drop --late-output '$BATS_TEST_TMPDIR/late' < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[11:19]) \(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:05 1' '10:00:10 2')"
	[ "$(cat "$BATS_TEST_TMPDIR/late")" = "$(ev 3)" ]
	# With an out-of-order tolerance the same event is on time.
	run bash -c "csa-window --tumbling 5s -t t --max-delay 5s < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[11:19]) \(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:05 2' '10:00:10 2')"
}

@test "a window is written as soon as the watermark passes it, not at the end of input" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	bg sh -c 'exec csa-window --tumbling 5s -t t < "$0" > "$1"' "$BATS_TEST_TMPDIR/fifo" "$BATS_TEST_TMPDIR/out"
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	{ ev 1; ev 2; ev 6; } >&7
	wait_for 5 '[ -s "$BATS_TEST_TMPDIR/out" ]'
	[ "$(jq -r .count "$BATS_TEST_TMPDIR/out")" = 2 ]
	ev 11 >&7
	exec 7>&-
	wait_for 5 '[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq 3 ]'
}

@test "bad lines and missing or unparsable times: file:line, skipped, exit 1, the rest right" {
	{ ev 1; echo 'not json'; echo '{"t": null}'; echo '[1]'; echo '{"t": "yesterday"}'; ev 2; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window --tumbling 5s -t t "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:2: invalid JSON"* ]]
	[[ "$stderr" == *"in:3: missing time (t), skipped"* ]]
	[[ "$stderr" == *"in:4: not a JSON object, skipped"* ]]
	[[ "$stderr" == *"in:5: unparsable time"* ]]
	# A line over the 1 MiB limit is one more skipped line, in -v's count too.
	{ ev 1; head -c 1100000 /dev/zero | tr '\0' 'a'; echo; ev 2; } > "$BATS_TEST_TMPDIR/long"
	run --separate-stderr csa-window --tumbling 5s -t t -v "$BATS_TEST_TMPDIR/long"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	[[ "$stderr" == *"long:2: line longer than 1048576 bytes"* ]]
	[[ "$stderr" == *", 1 lines skipped"* ]]
}

@test "a line nested 500,000 deep is one bad line, rejected at once; the rest counted" {
	{ ev 1; cat "$(deep_line)"; ev 2; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr timeout -k 5 60 csa-window --tumbling 5s -t t "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:2: $DEEP_MSG, skipped"* ]]
}

@test "--where, --by with names and jq expressions, several keys, and --having" {
	csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/ev"
	run csa-window --tumbling 1d --where '.magnitude >= 2' \
		--by 'state=.place | split(", ") | last' --by net --agg n=count --having 'n>2' "$BATS_TEST_TMPDIR/ev"
	assert_success
	want=$(jq -r -s 'map(select(.magnitude >= 2) | . + {day: (((.time + 86399999) / 86400000) | floor), state: (.place | split(", ") | last)})
		| group_by([.day, .state, .net]) | map(select(length > 2)) | .[] | "\(.[0].state) \(.[0].net) \(length)"' "$BATS_TEST_TMPDIR/ev" | sort)
	[ -n "$want" ]
	[ "$(printf '%s\n' "$output" | jq -r '"\(.state) \(.net) \(.n)"' | sort)" = "$want" ]
}

@test "times as epoch seconds, RFC 3339 strings and _eh.enqueued_time" {
	printf '{"s":%d}\n{"s":%d}\n' 1767261601 1767261602 | csa-window --tumbling 5s -t s > "$BATS_TEST_TMPDIR/a"
	[ "$(jq -r '"\(.window_end) \(.count)"' "$BATS_TEST_TMPDIR/a")" = "2026-01-01T10:00:05.000Z 2" ]
	printf '{"_eh":{"enqueued_time":"2026-01-01T10:00:01.500Z"}}\n' | csa-window --tumbling 5s -t _eh.enqueued_time > "$BATS_TEST_TMPDIR/b"
	[ "$(jq -r .window_end "$BATS_TEST_TMPDIR/b")" = "2026-01-01T10:00:05.000Z" ]
}

@test "stdout to /dev/full exits 3; | head -n1 leaves stderr empty" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	stdout_faults "csa-window --preset earthquake '$BATS_TEST_TMPDIR/ev'"
}

@test "property: 400 random streams (out of order, late, every window option) match a plain reference" {
	run "$PY" "$HELPERS/window_ref.py" 400 "$RANDOM"
	echo "$output" | tail -n 20
	assert_success
	assert_line --partial "400 streams, 0 mismatches"
}

@test "snapshot: one window per timestamp, holding the events with exactly that time" {
	{ ev 1 '"g":"a"'; ev 1 '"g":"b"'; ev 1 '"g":"a"'; ev 2 '"g":"a"'; ev 4 '"g":"a"'; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window --snapshot -t t --by g < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_type) \(.window_start[11:19]) \(.window_end[11:19]) \(.g) \(.count)\"'"
	assert_success
	assert_output "$(printf '%s\n' 'snapshot 10:00:01 10:00:01 a 2' 'snapshot 10:00:01 10:00:01 b 1' \
		'snapshot 10:00:02 10:00:02 a 1' 'snapshot 10:00:04 10:00:04 a 1')"
}

@test "--idle-timeout closes a window of a quiet stream without more input" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	bg sh -c 'exec csa-window --tumbling 5s -t t --idle-timeout 200ms < "$0" > "$1"' "$BATS_TEST_TMPDIR/fifo" "$BATS_TEST_TMPDIR/out"
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	{ ev 1; ev 4; } >&7
	# Event time 4 s; after about a second of quiet the window (0, 5] is due.
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/out" ]'
	[ "$(jq -r '"\(.window_end[11:19]) \(.count)"' "$BATS_TEST_TMPDIR/out")" = "10:00:05 2" ]
	exec 7>&-
	# Without it, the same quiet stream writes nothing until more input.
	mkfifo "$BATS_TEST_TMPDIR/fifo2"
	bg sh -c 'exec csa-window --tumbling 5s -t t < "$0" > "$1"' "$BATS_TEST_TMPDIR/fifo2" "$BATS_TEST_TMPDIR/out2"
	exec 8> "$BATS_TEST_TMPDIR/fifo2"
	{ ev 1; ev 4; } >&8
	sleep 1.5
	[ ! -s "$BATS_TEST_TMPDIR/out2" ]
	exec 8>&-
}

# The worked examples of "Common query patterns in Azure Stream Analytics"
# (learn.microsoft.com), with their documented outputs.
@test "golden, Stream Analytics docs: TumblingWindow(second, 10) by Make, and HAVING COUNT >= 3" {
	printf '%s\n' '{"Make":"Make1","Time":"2015-01-01T00:00:01.0000000Z","Weight":1000}' \
		'{"Make":"Make1","Time":"2015-01-01T00:00:02.0000000Z","Weight":2000}' \
		'{"Make":"Make2","Time":"2015-01-01T00:00:04.0000000Z","Weight":1500}' > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t Time --tumbling 10s --by Make --agg Count=count < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.Make) \(.Count)\"'"
	assert_output "$(printf '%s\n' 'Make1 2' 'Make2 1')"
	# "Send data to multiple outputs": the alert query.
	printf '%s\n' Make1:01 Make1:02 Make2:01 Make2:02 Make2:03 | while IFS=: read -r m s; do
		printf '{"Make":"%s","Time":"2015-01-01T00:00:%s.0000000Z"}\n' "$m" "$s"; done > "$BATS_TEST_TMPDIR/in2"
	run bash -c "csa-window -t Time --tumbling 10s --by Make --agg Count=count --having 'Count>=3' < '$BATS_TEST_TMPDIR/in2' | jq -r '\"\(.Make) \(.window_end) \(.Count)\"'"
	assert_output "Make2 2015-01-01T00:00:10.000Z 3"
}

@test "golden, Stream Analytics docs: TUMBLINGWINDOW(second, 5) by TollId on skewed clocks" {
	# "Process events with independent time": six rows, (TollId, Count) 1 2, 2 2, 1 1, 3 1,
	# 2 1, 3 1.  Stream Analytics keeps a clock per TollId (TIMESTAMP BY OVER); one
	# clock with a 10 s out-of-order tolerance gives the same windows.
	for r in 1:01 1:05 2:01 2:04 1:10 3:03 2:11 3:07; do
		printf '{"TollId":%s,"Time":"2015-07-27T00:00:%s.0000000Z"}\n' "${r%%:*}" "${r#*:}"
	done > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t Time --tumbling 5s --max-delay 10s --by TollId --agg Count=count < '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_end[17:19]) \(.TollId) \(.Count)\"'"
	assert_output "$(printf '%s\n' '05 1 2' '05 2 2' '05 3 1' '10 1 1' '10 3 1' '15 2 1')"
}

@test "golden, Stream Analytics docs: HOPPINGWINDOW(second, 300, 5), the first ten rows" {
	# "Periodically output values": the last value every 5 s (here max, as values rise).
	for r in 00:1 05:2 10:3 15:4 30:5 35:6; do
		printf '{"Time":"2014-01-01T06:01:%s","Value":%s}\n' "${r%%:*}" "${r#*:}"
	done > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t Time --hopping 300s/5s --agg 'Last=max(Value)' < '$BATS_TEST_TMPDIR/in' | head -n 10 | jq -r '\"\(.window_end[11:19]) \(.Last)\"'"
	assert_output "$(printf '%s\n' '06:01:00 1' '06:01:05 2' '06:01:10 3' '06:01:15 4' '06:01:20 4' \
		'06:01:25 4' '06:01:30 5' '06:01:35 6' '06:01:40 6' '06:01:45 6')"
}

@test "golden, Stream Analytics docs: SessionWindow(minute, 1, 60) OVER (PARTITION BY user_id)" {
	for r in 0:00:00:a 0:00:20:b 1:00:55:c 0:01:10:d 1:01:15:e; do
		IFS=: read -r u m s p <<<"$r"
		printf '{"user_id":%s,"time":"2017-01-26T00:%s:%s.0000000Z","url":"www.example.com/%s.html"}\n' "$u" "$m" "$s" "$p"
	done > "$BATS_TEST_TMPDIR/in"
	epoch='.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601'
	run bash -c "csa-window --session 1m/60m --by user_id --agg 'StartTime=min($epoch),EndTime=max($epoch)' '$BATS_TEST_TMPDIR/in' \
		| jq -r '\"\(.user_id) \(.StartTime | todate) \(.EndTime | todate) \(.EndTime - .StartTime) \(.window_end[11:19])\"'"
	assert_success
	# Documented: user 0 from 00:00:00 to 00:01:10, 70 s; user 1 from 00:00:55 to 00:01:15, 20 s.
	# Each session ends one timeout after its last event.
	assert_output "$(printf '%s\n' '0 2017-01-26T00:00:00Z 2017-01-26T00:01:10Z 70 00:02:10' \
		'1 2017-01-26T00:00:55Z 2017-01-26T00:01:15Z 20 00:02:15')"
}

@test "session: cut at the max-duration checks, so one can last up to twice MAX" {
	# An event every 2 minutes for 30 minutes, timeout 5m, max 10m: the checks at
	# :10, :20 and :30 find the session longer than 10m and cut it there.
	for m in $(seq 0 2 30); do printf '{"t":"2026-01-01T00:%02d:00Z"}\n' "$m"; done > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t t --session 5m/10m '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_type) \(.window_start[11:16])-\(.window_end[11:16]) \(.count)\"'"
	assert_output "$(printf '%s\n' 'session 00:00-00:10 6' 'session 00:10-00:20 5' 'session 00:20-00:30 5')"
	# Starting at 00:01, the first check at or past 00:11 is 00:20: 19 minutes.
	for m in $(seq 1 2 29); do printf '{"t":"2026-01-01T00:%02d:00Z"}\n' "$m"; done > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t t --session 5m/10m '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_start[11:16])-\(.window_end[11:16]) \(.count)\"'"
	assert_output "$(printf '%s\n' '00:01-00:20 10' '00:20-00:30 5')"
	# Without a max duration, one session; a gap over the timeout starts another.
	{ ev 0; ev 200; ev 400; ev 1000; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t t --session 5m '$BATS_TEST_TMPDIR/in' | jq -r '\"\\(.window_start[11:19])-\\(.window_end[11:19]) \\(.count)\"'"
	assert_output "$(printf '%s\n' '10:00:00-10:11:40 3' '10:16:40-10:21:40 1')"
}

@test "sliding on the real week, 1 h and 10 m: every row equals a brute-force count of its window" {
	csa-usgs-fetch --url "file://$(bryn_json)" | jq -c -s 'sort_by(.time) | .[]' > "$BATS_TEST_TMPDIR/ev"
	for size in 1h 10m; do
		csa-window --sliding "$size" --by region \
			--agg 'n=count,m=avg(magnitude),x=max(magnitude),lo=min(depth_km),sd=stddev(magnitude),s=sum(depth_km)' \
			"$BATS_TEST_TMPDIR/ev" > "$BATS_TEST_TMPDIR/rows"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/rows")" -gt 4000 ]
		"$PY" - "$BATS_TEST_TMPDIR/ev" "$BATS_TEST_TMPDIR/rows" <<'PYEOF'
import json, sys, math, bisect, datetime
def ms(s):
    return round(datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
ev = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    ev.setdefault(e["region"], []).append(e)
times = {g: [e["time"] for e in v] for g, v in ev.items()}
def close(a, b):
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))
rows = 0
for line in open(sys.argv[2]):
    r = json.loads(line)
    lo, hi, g = ms(r["window_start"]), ms(r["window_end"]), r["region"]
    w = ev[g][bisect.bisect_right(times[g], lo):bisect.bisect_right(times[g], hi)]
    mags = [e["magnitude"] for e in w if e["magnitude"] is not None]
    deps = [e["depth_km"] for e in w if e["depth_km"] is not None]
    mean = sum(mags) / len(mags) if mags else None
    sd = math.sqrt(sum((x - mean) ** 2 for x in mags) / (len(mags) - 1)) if len(mags) > 1 else None
    want = {"n": len(w), "x": max(mags) if mags else None, "lo": min(deps) if deps else None}
    assert all(r[k] == v for k, v in want.items()), (line, want)
    assert close(r["m"], mean) and close(r["sd"], sd) and close(r["s"], sum(deps) if deps else None), (line, mean, sd)
    rows += 1
assert rows > 4000
PYEOF
	done
}

@test "sliding: a row when an event enters or leaves, none for an empty window" {
	{ ev 0 '"g":"a"'; ev 4 '"g":"a"'; ev 6 '"g":"b"'; ev 20 '"g":"a"'; } > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-window -t t --sliding 10s --by g '$BATS_TEST_TMPDIR/in' | jq -r '\"\(.window_type) \(.window_start[11:19])-\(.window_end[11:19]) \(.g) \(.count)\"'"
	assert_success
	# a: enters 0, 4; leaves 10 (4 still in), 14 (empty: no row); enters 20, leaves 30.
	assert_output "$(printf '%s\n' 'sliding 09:59:50-10:00:00 a 1' 'sliding 09:59:54-10:00:04 a 2' \
		'sliding 09:59:56-10:00:06 b 1' 'sliding 10:00:00-10:00:10 a 1' \
		'sliding 10:00:10-10:00:20 a 1')"
}

@test "--dedupe drops repeats of an id within the horizon, and counts them" {
	{ ev 1 '"id":"x"'; ev 2 '"id":"y"'; ev 1 '"id":"x"'; ev 3 '"id":"x"'; ev 4 '"id":7'; ev 4 '"id":7'; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window -v -t t --tumbling 10s --dedupe id "$BATS_TEST_TMPDIR/in"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 3 ]
	[[ "$stderr" == *"3 duplicates"* ]]
	# Past the horizon the same id is a new event.
	{ ev 1 '"id":"x"'; ev 100 '"id":"x"'; } > "$BATS_TEST_TMPDIR/in"
	run csa-window -t t --tumbling 10m --dedupe id --dedupe-horizon 1m "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	run csa-window -t t --tumbling 10m --dedupe id "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 1 ]
	# An event without the id is reported and skipped.
	{ ev 1 '"id":"x"'; ev 2; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window -t t --tumbling 10m --dedupe id "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[[ "$stderr" == *"in:2: --dedupe: no id (id), skipped"* ]]
}

@test "--max-groups: events of groups past the bound are left out, said, exit 1; the rest exact" {
	{ ev 1 '"g":"a"'; ev 2 '"g":"b"'; ev 3 '"g":"c"'; ev 4 '"g":"a"'; ev 5 '"g":"c"'; ev 12 '"g":"c"'; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window -t t --tumbling 10s --by g --max-groups 2 "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	# The first window holds a and b; c is left out while they are held.  Once
	# that window is written, c fits in the next one.
	[ "$(printf '%s\n' "$output" | jq -r '"\(.window_end[11:19]) \(.g) \(.count)"')" = "$(printf '%s\n' '10:00:10 a 2' '10:00:10 b 1' '10:00:20 c 1')" ]
	[[ "$stderr" == *"in:3: more than 2 groups (--max-groups)"* ]]
	[[ "$stderr" == *"2 events of groups past --max-groups 2 were left out"* ]]
	for w in "--sliding 10s" "--session 10s"; do
		run --separate-stderr csa-window -t t $w --by g --max-groups 2 "$BATS_TEST_TMPDIR/in"
		assert_failure 1
		[ -z "$(printf '%s\n' "$output" | jq -r 'select(.g == "c" and .window_start < "2026-01-01T10:00:05")')" ]
	done
}

@test "--emit early:D writes running rows marked early; the final rows are unchanged" {
	for s in 1 3 5 7 9 11 13 21; do ev "$s" '"v":1'; done > "$BATS_TEST_TMPDIR/in"
	csa-window -t t --tumbling 10s --agg n=count "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/plain"
	run bash -c "csa-window -t t --tumbling 10s --agg n=count --emit early:4s '$BATS_TEST_TMPDIR/in'"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -c 'select(.early | not)')" = "$(jq -c . "$BATS_TEST_TMPDIR/plain")" ]
	# Early rows as the watermark passes 4 s, 8 s and 12 s, for the open window
	# that changed, with the events up to that mark.
	[ "$(printf '%s\n' "$output" | jq -r 'select(.early) | "\(.window_end[11:19]) \(.n)"')" = \
		"$(printf '%s\n' '10:00:10 2' '10:00:10 4' '10:00:20 1')" ]
}

# run_split SPLIT ARGS...: the first SPLIT lines of $in, stopped with --keep-open,
# then the rest, resumed from the same --state; all rows to stdout.
run_split() {
	local split=$1
	shift
	rm -f "$BATS_TEST_TMPDIR/state"
	head -n "$split" "$BATS_TEST_TMPDIR/in" | csa-window "$@" --state "$BATS_TEST_TMPDIR/state" --keep-open
	tail -n "+$((split + 1))" "$BATS_TEST_TMPDIR/in" | csa-window "$@" --state "$BATS_TEST_TMPDIR/state"
}

@test "--state: stopped at any point and resumed, every window type gives the rows of one run" {
	"$PY" - > "$BATS_TEST_TMPDIR/in" <<'PYEOF'
import json, random
random.seed(11)
t = 1767261600000
for i in range(300):
    t += random.choice([0, 100, 700, 1500, 4000])
    ev = {"t": t + random.choice([0, 0, -900, -2500]), "g": random.choice("abc"),
          "v": random.choice([None, round(random.uniform(-5, 5), 3)]), "id": "e%d" % (i - (i % 17 == 0))}
    print(json.dumps(ev))
PYEOF
	for w in "--tumbling 5s" "--hopping 6s/2s" "--sliding 4s" "--session 2s/5s" "--snapshot"; do
		args="-t t --by g --agg n=count,s=sum(v),d=stddev(v),lo=min(v) --max-delay 2s --dedupe id $w"
		csa-window $args "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/one"
		[ -s "$BATS_TEST_TMPDIR/one" ]
		for split in 1 77 150 299; do
			run_split "$split" $args > "$BATS_TEST_TMPDIR/two"
			cmp "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/two" || { echo "$w split at $split"; return 1; }
		done
	done
}

@test "--state: a state of another format is refused, named, and left as it was" {
	printf '%s\n' '{"t":"2026-01-01T10:00:01Z","g":"a"}' '{"t":"2026-01-01T10:00:02Z","g":"b"}' > "$BATS_TEST_TMPDIR/in"
	csa-window -t t --tumbling 10s --by g --state "$BATS_TEST_TMPDIR/st" --keep-open "$BATS_TEST_TMPDIR/in"
	# Open windows are saved as rows write their states: one codec.
	grep -q '"s":{"count":{"f":"count","n":1}}' "$BATS_TEST_TMPDIR/st"
	sed -i '1s/"csa_window_state":2/"csa_window_state":1/' "$BATS_TEST_TMPDIR/st"
	cp "$BATS_TEST_TMPDIR/st" "$BATS_TEST_TMPDIR/st.before"
	run --separate-stderr csa-window -t t --tumbling 10s --by g --state "$BATS_TEST_TMPDIR/st" < /dev/null
	assert_failure 2
	[[ "$stderr" == *"st: a csa-window state of format 1, this csa-window reads format 2"* ]]
	cmp "$BATS_TEST_TMPDIR/st" "$BATS_TEST_TMPDIR/st.before"
}

@test "--state: SIGTERM saves open windows without writing them; another query's state is refused" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	bg sh -c 'exec csa-window -t t --tumbling 10s --state "$2" < "$0" > "$1"' "$BATS_TEST_TMPDIR/fifo" \
		"$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/state"
	pid=$!
	exec 7> "$BATS_TEST_TMPDIR/fifo"
	{ ev 1; ev 2; ev 11; } >&7
	wait_for 5 '[ -s "$BATS_TEST_TMPDIR/out" ]'
	kill -TERM "$pid"
	wait_for 5 '! kill -0 '"$pid"' 2>/dev/null'
	exec 7>&-
	# The window (0, 10] went out; (10, 20] with one event is in the state.
	[ "$(jq -r '"\(.window_end[11:19]) \(.count)"' "$BATS_TEST_TMPDIR/out")" = "10:00:10 2" ]
	grep -q '"w":\[' "$BATS_TEST_TMPDIR/state"
	run bash -c "{ printf '%s\n' '$(ev 12)'; } | csa-window -t t --tumbling 10s --state '$BATS_TEST_TMPDIR/state' | jq -r '\"\(.window_end[11:19]) \(.count)\"'"
	assert_output "10:00:20 2"
	run --separate-stderr csa-window -t t --tumbling 5s --state "$BATS_TEST_TMPDIR/state" < /dev/null
	assert_failure 2
	[[ "$stderr" == *"saved by another query"* ]]
	echo '{"csa_window_state":1' > "$BATS_TEST_TMPDIR/bad"
	run --separate-stderr csa-window -t t --tumbling 5s --state "$BATS_TEST_TMPDIR/bad" < /dev/null
	assert_failure 3
	[[ "$stderr" == *"bad:1: not a state line"* ]]
}

@test "--state: a write error keeps the previous state, so a rerun writes every row" {
	csa-usgs-fetch --url "file://$(bryn_json)" | jq -c -s 'sort_by(.time) | .[]' > "$BATS_TEST_TMPDIR/in"
	n=$(wc -l < "$BATS_TEST_TMPDIR/in")
	csa-window --preset earthquake < "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/whole"
	st=$BATS_TEST_TMPDIR/state
	head -n $((n / 2)) "$BATS_TEST_TMPDIR/in" | csa-window --preset earthquake --state "$st" --keep-open > "$BATS_TEST_TMPDIR/first"
	cp "$st" "$BATS_TEST_TMPDIR/state.before"
	# The second half to a full disk: exit 3, and the state is as it was.
	run --separate-stderr bash -c "tail -n +$((n / 2 + 1)) '$BATS_TEST_TMPDIR/in' |
		csa-window --preset earthquake --state '$st' --state-every 1ms > /dev/full"
	assert_failure 3
	[[ "$stderr" == *"write error"* ]]
	cmp "$st" "$BATS_TEST_TMPDIR/state.before"
	# Run again to a file: the two parts are the rows of one uninterrupted run.
	tail -n +$((n / 2 + 1)) "$BATS_TEST_TMPDIR/in" | csa-window --preset earthquake --state "$st" > "$BATS_TEST_TMPDIR/second"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/whole")" -gt 1000 ]
	cat "$BATS_TEST_TMPDIR/first" "$BATS_TEST_TMPDIR/second" | cmp - "$BATS_TEST_TMPDIR/whole"
}

@test "--state: its temporary file is new, unguessable and never a link; dead runs' leftovers go" {
	command -v strace >/dev/null || skip "strace is not installed"
	st=$BATS_TEST_TMPDIR/speed.state
	# Left by a killed run (no process 999999999 can exist), and by a live one.
	echo junk > "$BATS_TEST_TMPDIR/.speed.state.tmp.999999999.00000000deadbeef"
	echo junk > "$BATS_TEST_TMPDIR/.speed.state.tmp.$$.00000000deadbeef"
	# LeakSanitizer cannot run under strace (both use ptrace).
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		run --separate-stderr strace -f -e trace=openat -o "$BATS_TEST_TMPDIR/trace" \
		csa-window -t t --tumbling 10s --state "$st" --keep-open <<< '{"t":1}'
	assert_success
	grep -E '\.speed\.state\.tmp\.[0-9]+\.[0-9a-f]{16}", O_WRONLY\|O_CREAT\|O_EXCL\|O_NOFOLLOW' "$BATS_TEST_TMPDIR/trace"
	[ -s "$st" ]
	[ ! -e "$BATS_TEST_TMPDIR/.speed.state.tmp.999999999.00000000deadbeef" ]
	[ -e "$BATS_TEST_TMPDIR/.speed.state.tmp.$$.00000000deadbeef" ]
	[ "$(ls -A "$BATS_TEST_TMPDIR" | grep -c '^\.speed\.state\.tmp')" -eq 1 ]
}

@test "--by gives a key with backslashes and quotes back exactly, as jq reads it" {
	printf '%s\n' '{"k":"C:\\dir \"x\"","t":1767261601000}' '{"k":"a\\\\b\\n\t\u0001","t":1767261602000}' \
		'{"k":"two\nlines\r\b\f\t/","t":1767261603000}' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window --tumbling 5m -t t --by k "$BATS_TEST_TMPDIR/in"
	assert_success
	# Every row is JSON, and its k equals the input's k as jq decodes both.
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 3 ]
	diff <(printf '%s\n' "$output" | jq -c .k | sort) <(jq -c .k "$BATS_TEST_TMPDIR/in" | sort)
	[ "$(printf '%s\n' "$output" | jq -r 'select(.k | startswith("C:")) | .k')" = 'C:\dir "x"' ]
}

@test "--dedupe-horizon is inclusive: the same id exactly one horizon apart counts once" {
	# At t and t+60 s, in either order, 1m apart: one event; 61 s apart: two.
	for pair in "1 61" "61 1" "1 62" "62 1"; do
		set -- $pair
		{ ev "$1" '"id":"x"'; ev "$2" '"id":"x"'; } > "$BATS_TEST_TMPDIR/in"
		want=$(( ${1} - ${2} <= 60 && ${2} - ${1} <= 60 ? 1 : 2 ))
		run csa-window -t t --tumbling 10m --max-delay 5m --dedupe id --dedupe-horizon 1m "$BATS_TEST_TMPDIR/in"
		assert_success
		[ "$(printf '%s\n' "$output" | jq -r .count)" = "$want" ] || { echo "$pair: $output"; return 1; }
	done
}

@test "count_if with a string != counts what jq's != counts, case and nulls included" {
	csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/ev"
	run --separate-stderr csa-window --tumbling 1d --agg 'n=count,nr=count_if(status != "reviewed"),nq=count_if(event_type != earthquake),eq=count_if(status == "reviewed")' "$BATS_TEST_TMPDIR/ev"
	assert_success
	want=$(jq -r -s 'group_by(((.time + 86399999) / 86400000) | floor) | .[]
		| "\(length) \(map(select(.status != "reviewed")) | length) \(map(select(.event_type != "earthquake")) | length) \(map(select(.status == "reviewed")) | length)"' \
		"$BATS_TEST_TMPDIR/ev")
	[ "$(printf '%s\n' "$output" | jq -r '"\(.n) \(.nr) \(.nq) \(.eq)"')" = "$want" ]
	# The real feed mixes cases, so != "reviewed" is neither 0 nor all.
	printf '%s\n' "$want" | awk '$2 == 0 || $2 == $1 { exit 1 }'
}

@test "times before 1970 fall in the windows python's floor division gives" {
	printf '%s\n' '{"t":"1969-12-31T23:30:00Z"}' '{"t":"1969-12-31T23:00:00Z"}' '{"t":"1960-06-15T12:34:56.789Z"}' \
		'{"t":"1969-12-31T23:59:59.999Z"}' > "$BATS_TEST_TMPDIR/in"
	for boundary in end-inclusive start-inclusive; do
		run -0 csa-window --tumbling 1h -t t --max-delay 20000d --boundary "$boundary" "$BATS_TEST_TMPDIR/in"
		got=$(printf '%s\n' "$output" | jq -r '"\(.window_start) \(.count)"' | sort)
		want=$("$PY" - "$BATS_TEST_TMPDIR/in" "$boundary" <<-'PYEOF'
		import collections, json, sys
		from datetime import datetime, timezone, timedelta
		e, h = datetime(1970, 1, 1, tzinfo=timezone.utc), 3600000
		n = collections.Counter()
		for line in open(sys.argv[1]):
		    ms = (datetime.fromisoformat(json.loads(line)["t"].replace("Z", "+00:00")) - e) // timedelta(milliseconds=1)
		    n[-(-ms // h) * h - h if sys.argv[2] == "end-inclusive" else ms // h * h] += 1
		for start, c in sorted(n.items()):
		    print((e + timedelta(milliseconds=start)).strftime("%Y-%m-%dT%H:%M:%S.000Z"), c)
		PYEOF
		)
		[ "$got" = "$(printf '%s\n' "$want" | sort)" ] || { echo "$boundary: got $got, want $want"; return 1; }
	done
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-window --tumbling 5m <<-'EOF'
	--tumble 5m|unknown option '--tumble'
	-Q|unknown option '-Q'
	-uQ|unknown option '-Q'
	--by|option '--by' needs a value
	-a|option '-a' needs a value
	--snapshot=1|option '--snapshot' takes no value
	--s 1|option '--s' is ambiguous
	--max-delay soon|--max-delay: 'soon' is not a duration of 0s or more
	--max-delay -1m|--max-delay: '-1m' is not a duration of 0s or more
	--offset 1x|--offset: '1x' is not a duration of 0s or more
	--dedupe-horizon 0|--dedupe-horizon: '0' is not a duration of 1ms or more
	--emit early:0|--emit: '0' is not a duration of 1ms or more
	--idle-timeout 0s|--idle-timeout: '0s' is not a duration of 1ms or more
	--max-groups 0|--max-groups: '0' is not a number from 1 to 2147483647
	--partition-count x|--partition-count: 'x' is not a number from 1 to 2147483647
	EOF
	usage_faults csa-window <<-'EOF'
	--tumbling 0|--tumbling: '0' is not a duration of 1ms or more
	--sliding -5m|--sliding: '-5m' is not a duration of 1ms or more
	--hopping 5m/0|--hopping: '0' is not a duration of 1ms or more
	--session 5m/x|--session: 'x' is not a duration of 1ms or more
	EOF
	# A leading + was and is a duration's sign; only negatives are out of range.
	run -0 csa-window --tumbling +5m --max-delay +0 < /dev/null
}

@test "a --by column or aggregate field that no event has is named at the end; -v counts the partial ones" {
	missing_fields csa-window
	# A field present but null in every event is a value, not a typo.
	jq -c '.depth_km = null' "$BATS_TEST_TMPDIR/ev.ndjson" > "$BATS_TEST_TMPDIR/null.ndjson"
	run --separate-stderr csa-window --tumbling 1h --by region --agg 'd=max(depth_km)' \
		"$BATS_TEST_TMPDIR/null.ndjson"
	assert_success
	[ -z "$stderr" ]
	# Without -v the partial ones are not said.
	run --separate-stderr csa-window --tumbling 1h --by region --agg 'd=max(depth_km)' \
		"$BATS_TEST_TMPDIR/some.ndjson"
	[ -z "$stderr" ]
}

# The reference alert query (issue 30), column for column.
ALERT_SELECT='event_id,magnitude,place,region,detected_at=System.Timestamp(),alert_type="MAGNITUDE_SPIKE"'

@test "--select on the real week: the rows are exactly the events jq selects, with detected_at and the constant" {
	# jq alone, from the USGS features: the region rule of usgs.jq, the
	# time (TIMESTAMP BY time) as RFC 3339 with milliseconds, in the order
	# csa-usgs-fetch writes them (oldest first).
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/week"
	for min in 6.0 4.5; do
		jq -c --argjson min "$min" -L "$HELPERS" 'include "usgs";
			def ms: "\(. / 1000 | floor | strftime("%Y-%m-%dT%H:%M:%S")).\(1000 + . % 1000 | tostring | .[1:])Z";
			.features | sort_by(.properties.time) | .[] | select(.properties.mag >= $min) | event as $e |
			{event_id: $e.event_id, magnitude: $e.magnitude, place: $e.place, region: $e.region,
			 detected_at: (.properties.time | ms), alert_type: "MAGNITUDE_SPIKE"}' "$(bryn_json)" \
			> "$BATS_TEST_TMPDIR/want"
		run --separate-stderr csa-window --where ".magnitude >= $min" --select "$ALERT_SELECT" "$BATS_TEST_TMPDIR/week"
		assert_success
		[ -z "$stderr" ]
		[ "$output" = "$(cat "$BATS_TEST_TMPDIR/want")" ]
		echo "# M >= $min: ${#lines[@]} rows" >&3
	done
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -gt 20 ]
	# 6.0: the two events of the week, both "us-east" by the reference rule.
	run -0 csa-window --where '.magnitude >= 6.0' --select "$ALERT_SELECT" "$BATS_TEST_TMPDIR/week"
	[ "${#lines[@]}" -eq 2 ]
}

@test "--select: each row is written and flushed before the next line is read" {
	# The input stays open and nothing more comes: a row that waited for a
	# later event, or sat in a buffer, never arrives within the timeout.
	local in out pid row
	coproc W { exec csa-window -t t --where '.m >= 6' --select "id,at=System.Timestamp(),kind=\"spike\""; }
	pid=$W_PID
	exec {in}>&"${W[1]}" {out}<&"${W[0]}"
	ev 0 '"id":"a","m":6.5' >&"$in"
	read -t 10 -r row <&"$out"
	[ "$row" = '{"id":"a","at":"2026-01-01T10:00:00.000Z","kind":"spike"}' ]
	ev 5 '"id":"b","m":2' >&"$in"
	ev 9 '"id":"c","m":7' >&"$in"
	read -t 10 -r row <&"$out"
	[ "$row" = '{"id":"c","at":"2026-01-01T10:00:09.000Z","kind":"spike"}' ]
	# An event earlier than the last: no window, nothing late; out at once.
	ev -60 '"id":"d","m":6' >&"$in"
	read -t 10 -r row <&"$out"
	[ "$row" = '{"id":"d","at":"2026-01-01T09:59:00.000Z","kind":"spike"}' ]
	# The end of input: nothing more, and a clean exit.
	exec {in}>&- {W[1]}>&-
	if read -t 10 -r row <&"$out"; then
		echo "a row after the end of input: $row"
		return 1
	fi
	wait "$pid"
}

@test "--select: columns as --by names them, missing fields null, jq values; no time needed without System.Timestamp()" {
	printf '%s\n' '{"a":{"b":1},"s":"x\"y","n":null,"l":[1,2]}' > "$BATS_TEST_TMPDIR/in"
	run -0 csa-window --select '.a.b,s,n,gone,l,two=(.l | length),k=(true),c=1.5,sum=(.l | add)' "$BATS_TEST_TMPDIR/in"
	assert_output '{"b":1,"s":"x\"y","n":null,"gone":null,"l":[1,2],"two":2,"k":true,"c":1.5,"sum":3}'
	# Constants are written as jq writes them (JSON string and number
	# literals without libjq; the rest through it).
	cols='k="MAG\u0041\"x",n=1.50,e="",m=-2e3,j="\(.s)!",t=(true),z=null'
	run -0 csa-window --select "$cols" "$BATS_TEST_TMPDIR/in"
	assert_output "$(jq -c "{${cols//=/: }}" "$BATS_TEST_TMPDIR/in")"
	# --select twice adds columns, blanks around them are left out; -t
	# names the time; --arrival-time is now.
	printf '%s\n' '{"id":1,"when":"2026-04-22T14:25:00+02:00"}' > "$BATS_TEST_TMPDIR/in"
	run -0 csa-window --select id --select '
		ts=system.timestamp() ' -t when "$BATS_TEST_TMPDIR/in"
	assert_output '{"id":1,"ts":"2026-04-22T12:25:00.000Z"}'
	run -0 csa-window --select 'ts=System.Timestamp()' --arrival-time "$BATS_TEST_TMPDIR/in"
	echo "$output" | jq -e '(.ts | sub("\\.[0-9]+Z$"; "Z") | fromdate) - now | fabs < 60'
	# --out appends; -v counts the events read and the rows written.
	printf '%s\n' '{"id":2}' '{"id":3}' > "$BATS_TEST_TMPDIR/more"
	csa-window --select id --out "$BATS_TEST_TMPDIR/rows" "$BATS_TEST_TMPDIR/in"
	run -0 --separate-stderr csa-window --select id --where '.id > 2' -v --out "$BATS_TEST_TMPDIR/rows" "$BATS_TEST_TMPDIR/more"
	[[ "$stderr" == *"2 events, 1 rows, 0 lines skipped"* ]]
	[ "$(jq -c .id "$BATS_TEST_TMPDIR/rows" | tr '\n' ' ')" = "1 3 " ]
}

@test "--select: a line without a time or with a failing column is said and skipped; the rest go out" {
	{ ev 0 '"id":"a"'; echo '{"id":"b"}'; echo 'not json'; ev 2 '"id":"c","x":"s"'; ev 3 '"id":"d","x":[]'; } \
		> "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-window -t t --select 'id,at=System.Timestamp(),y=(.x | ascii_downcase)' "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .id | tr '\n' ' ')" = "c " ]
	[[ "$stderr" == *"in:2: "* ]]
	[[ "$stderr" == *"in:3: "* ]]
	[[ "$stderr" == *"in:1: --select y: "* ]]
	[[ "$stderr" == *"in:5: --select y: "* ]]
	[[ "$stderr" == *"4 bad lines skipped"* ]]
}

@test "--select: stdout to /dev/full exits 3; | head -n1 leaves stderr empty" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/week"
	stdout_faults "csa-window --select event_id '$BATS_TEST_TMPDIR/week'"
	[[ "$stderr" == *"write error: No space left on device"* ]]
}

@test "--select: options of windows are refused, not ignored; columns are named once" {
	usage_faults csa-window <<-'EOF'
	--select id --tumbling 5m|more than one window: give --tumbling, --hopping, --sliding, --session, --snapshot, --preset or --select
	--select id --by region|--by: only for windows, not with --select
	--select id --agg n=count|--agg: only for windows, not with --select
	--select id --state s|--state: only for windows, not with --select
	--select id --dedupe id|--dedupe: only for windows, not with --select
	--select id --max-delay 1m|--max-delay: only for windows, not with --select
	--select id --late drop|--late: only for windows, not with --select
	--select id --partition p|--partition: only for windows, not with --select
	--select System.Timestamp()|--select: System.Timestamp() needs a name, e.g. detected_at=System.Timestamp()
	--select id,id|--select: the column 'id' is named twice
	--select a=id,a=System.Timestamp()|--select: the column 'a' is named twice
	--select id,|--select: an empty expression: name a field (region, ._eh.partition) or write a jq expression
	EOF
}

@test "--by and --agg: a column is named once, and not as a member the rows have (csa-merge would not read it as a column)" {
	usage_faults csa-window --tumbling 5m <<-'EOF'
	--by region --by region|--by: the column 'region' is named twice; give one another name: --by NAME=...
	--by n=region --agg n=count|--agg: the column 'n' is named twice; give one another name: --agg NAME=...
	--agg n=count,n=max(mag)|--agg: aggregate 'n' is named twice
	--by window_end=region|--by: 'window_end' is a member every row has or csa-merge adds; give the column another name: --by NAME=...
	--by _into|--by: '_into' is a member every row has or csa-merge adds; give the column another name: --by NAME=...
	--by _id|--by: '_id' is a member every row has or csa-merge adds; give the column another name: --by NAME=...
	--agg threshold=max(mag)|--agg: 'threshold' is a member every row has or csa-merge adds; give the column another name: --agg NAME=...
	--agg early=count|--agg: 'early' is a member every row has or csa-merge adds; give the column another name: --agg NAME=...
	EOF
	# A query says where (tests/saql.bats has more).
	run --separate-stderr csa-window --query "SELECT region AS view, COUNT(*) AS n FROM i GROUP BY region, TumblingWindow(minute, 5)" < /dev/null
	assert_failure 2
	[[ "$stderr" == "csa-window: query:1:8: a column named 'view', a member every row has or csa-merge adds: select it AS another name"* ]]
}

@test "-q: no warning of a field no event has; a bad line and the count still said, exit 1" {
	cp "$(usgs_events)" "$BATS_TEST_TMPDIR/ev.ndjson"
	echo '{"time": ' >> "$BATS_TEST_TMPDIR/ev.ndjson"
	quiet_silences "--by regoin: none of the" \
		csa-window --tumbling 1h --by regoin "$BATS_TEST_TMPDIR/ev.ndjson"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"ev.ndjson:$(wc -l < "$BATS_TEST_TMPDIR/ev.ndjson"): invalid JSON"* ]]
	[[ "$stderr" == *"1 bad line skipped"* ]]
	# Before the options it names, and spelled long, the same.
	run --separate-stderr csa-window --quiet --tumbling 1h --by regoin "$BATS_TEST_TMPDIR/ev.ndjson"
	[[ "$stderr" != *"none of the"* ]]
}

# A real event cut down to the fields --preset earthquake reads, and one it
# does not (place), for the faults below.
lazy_event='{"event_id":"ak11225695","magnitude":1.2,"place":"32km ESE of Anchorage, Alaska","time":1397389976000,"depth_km":28.2,"tsunami_flag":null,"region":"alaska"}'

@test "--lazy reads only where the query looks: the real day's rows as when each line is read whole, and jq's counts" {
	local ev lazy="$BATS_TEST_TMPDIR/lazy" whole="$BATS_TEST_TMPDIR/whole"
	ev=$(usgs_events)
	csa-window --lazy --preset earthquake "$ev" > "$lazy"
	# Without --lazy every line is checked whole.
	csa-window --preset earthquake "$ev" > "$whole"
	cmp "$lazy" "$whole"
	[ "$(wc -l < "$lazy")" -gt 50 ]
	diff <(jq -r '"\(.region) \(.event_count) \(.max_magnitude)"' "$lazy" |
		awk '{ n[$1] += $2; if (!($1 in m) || $3 > m[$1]) m[$1] = $3 }
		END { for (r in n) print r, n[r], m[r] }' | sort) \
		<(jq -s -r 'group_by(.region)[] | "\(.[0].region) \(length) \(map(.magnitude) | max)"' "$ev" | sort)
	# A nested path, a key written twice (the first counts) and a key
	# with an escape (matched as written) read alike both ways.
	jq -c '. + {"_eh": {"partition": (.time % 3)}}' "$ev" |
		sed -e 's/"net":/"net":"first","net":/' -e 's/"status"/"stat\\u0075s"/' > "$BATS_TEST_TMPDIR/ev2"
	csa-window --lazy --tumbling 1h --by _eh.partition,net,status --agg 'n=count,m=max(magnitude)' \
		"$BATS_TEST_TMPDIR/ev2" > "$lazy"
	csa-window --tumbling 1h --by _eh.partition,net,status --agg 'n=count,m=max(magnitude)' \
		"$BATS_TEST_TMPDIR/ev2" > "$whole"
	cmp "$lazy" "$whole"
	[ "$(jq -s 'map(select(.net == "first" and .status == null)) | map(.n) | add' "$lazy")" -eq 146 ]
	[ "$(jq -s 'map(.partition) | unique | length' "$lazy")" -eq 3 ]
}

@test "--lazy: faults in the fields it reads are refused with the same words, faults elsewhere are not its concern; by default all are" {
	local in="$BATS_TEST_TMPDIR/in" t=$lazy_event
	{
		head -n 1 "$(usgs_events)"
		echo "${t%\}}"
		sed 's/"magnitude":1.2/"magnitude":1.2.3/' <<<"$t"
		sed 's/"depth_km":28.2/"depth_km":28.2,"latitude":61.0.659/' <<<"$t"
		sed 's/"alaska"/"al\xffaska"/' <<<"$t"
		sed 's/Anchorage/Anch\xe9rage/' <<<"$t"
		sed 's/"region"/"x":[1,{"a":2]},"region"/' <<<"$t"
		sed 's/"region":"alaska"}/"region":"alaska","x":[1,2}/' <<<"$t"
		sed 's/}$/} {}/' <<<"$t"
	} > "$in"
	run --separate-stderr csa-window --lazy --preset earthquake "$in"
	assert_failure 1
	diff <(printf '%s\n' "$stderr") - <<-EOF
	csa-window: $in:2: invalid JSON: truncated at byte 155, skipped
	csa-window: $in:3: invalid JSON at byte 38, skipped
	csa-window: $in:8: invalid JSON at byte 165, skipped
	csa-window: $in:9: invalid JSON: trailing data at byte 158, skipped
	csa-window: 4 bad lines skipped
	EOF
	# Taken: the real event, a bad number and unbalanced brackets where
	# nothing is read, and bytes that are not UTF-8 (as json_parse takes
	# them, read whole or not).
	[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 5 ]
	[ "$(jq -s 'map(select(.region == "alaska")) | map(.event_count) | add' <<<"$output")" -eq 4 ]
	# Checked whole, the two faults where nothing is read are refused too:
	# by default, and with --lazy when --late-output writes lines whole.
	for opts in "" "--lazy --late-output $BATS_TEST_TMPDIR/late"; do
		run --separate-stderr csa-window --preset earthquake $opts "$in"
		assert_failure 1
		diff <(printf '%s\n' "$stderr") - <<-EOF
		csa-window: $in:2: invalid JSON: truncated at byte 155, skipped
		csa-window: $in:3: invalid JSON at byte 38, skipped
		csa-window: $in:4: invalid JSON at byte 130, skipped
		csa-window: $in:7: invalid JSON at byte 152, skipped
		csa-window: $in:8: invalid JSON at byte 165, skipped
		csa-window: $in:9: invalid JSON: trailing data at byte 158, skipped
		csa-window: 6 bad lines skipped
		EOF
		[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 3 ]
	done
	# A jq --where reads the line whole as well.
	run --separate-stderr csa-window --lazy --preset earthquake --where '.time > 0' "$in"
	[[ "$stderr" == *"csa-window: 6 bad lines skipped" ]]
}

@test "--lazy: past the last field it reads, only the brackets and the end of the object are looked at" {
	local in="$BATS_TEST_TMPDIR/in"
	# Every field --preset earthquake reads (_eh.partition among them)
	# before the last member: a missing comma after it is taken; brackets
	# that do not close, or close the object early, and text after the
	# object are not.
	t='{"_eh":{"partition":0,"sequence_number":5},"event_id":"ak11225695","updated":1397389977000,"magnitude":1.2,"place":"32km ESE of Anchorage, Alaska","time":1397389976000,"depth_km":28.2,"tsunami_flag":null,"region":"alaska"}'
	{
		echo "$t"
		sed 's/"alaska"}$/"alaska","x":1 "y":2}/' <<<"$t"
		sed 's/"alaska"}$/"alaska","x":[1,{"y":2}/' <<<"$t"
		sed 's/"alaska"}$/"alaska","x":1]}/' <<<"$t"
		sed 's/"alaska"}$/"alaska","x":1}}/' <<<"$t"
	} > "$in"
	run --separate-stderr csa-window --lazy --preset earthquake "$in"
	assert_failure 1
	diff <(printf '%s\n' "$stderr") - <<-EOF
	csa-window: $in:3: invalid JSON: truncated at byte 236, skipped
	csa-window: $in:4: invalid JSON at byte 228, skipped
	csa-window: $in:5: invalid JSON at byte 229, skipped
	csa-window: 3 bad lines skipped
	EOF
	[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 2 ]
	run --separate-stderr csa-window --preset earthquake "$in"
	assert_failure 1
	[[ "$stderr" == *"$in:2: invalid JSON at byte 223, skipped"* ]]
	[[ "$stderr" == *"csa-window: 4 bad lines skipped" ]]
	[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 1 ]
}

@test "by default every member is checked on the way: a fault where the query does not look is refused with the words of the whole read" {
	local in="$BATS_TEST_TMPDIR/in" t=$lazy_event r
	x() { sed "s/\"region\"/\"x\":$1,\"region\"/" <<<"$t"; }
	nest() { printf '[%.0s' $(seq "$1"); printf ']%.0s' $(seq "$1"); }
	# A bad number, literal, missing comma or colon, trailing comma,
	# unbalanced bracket, in a member --preset earthquake does not read.
	{
		x '-01'; x '1.5e'; x 'nul'; x 'truex'; x '[1 2]'; x '{"a" 1}'
		x '{"a":1 "b":2}'; x '[1,]'; x '{"a":1,}'; x '[1,2}'
	} > "$in.a"
	# Garbage after a value or after the object, a raw control character
	# in a string; then what is taken as it is today: bytes that are not
	# UTF-8 (json_parse takes them), 300 levels of nesting (json_parse's
	# limit is 512), a good nested value, a real event.
	{
		x '1x'; x '"a"b'; sed 's/}$/}}/' <<<"$t"; sed 's/Anchorage/Anch\x01rage/' <<<"$t"
		x "$(nest 600)"
		sed 's/Anchorage/Anch\xffrage/' <<<"$t"; x "$(nest 300)"
		x '{"y":[1,{"z":[true,null,-2.5e-3,"s",{}]}],"w":false}'
		head -n 1 "$(usgs_events)"
	} > "$in.b"
	run --separate-stderr csa-window --preset earthquake "$in.a"
	assert_failure 1
	[ -z "$output" ]
	diff <(printf '%s\n' "$stderr") - <<-EOF
	csa-window: $in.a:1: invalid JSON at byte 143, skipped
	csa-window: $in.a:2: invalid JSON at byte 143, skipped
	csa-window: $in.a:3: invalid JSON at byte 143, skipped
	csa-window: $in.a:4: invalid JSON at byte 143, skipped
	csa-window: $in.a:5: invalid JSON at byte 146, skipped
	csa-window: $in.a:6: invalid JSON at byte 148, skipped
	csa-window: $in.a:7: invalid JSON at byte 144, skipped
	csa-window: $in.a:8: invalid JSON at byte 145, skipped
	csa-window: $in.a:9: invalid JSON at byte 149, skipped
	csa-window: $in.a:10: invalid JSON at byte 147, skipped
	csa-window: 10 bad lines skipped
	EOF
	run --separate-stderr csa-window --preset earthquake "$in.b"
	assert_failure 1
	diff <(printf '%s\n' "$stderr") - <<-EOF
	csa-window: $in.b:1: invalid JSON at byte 143, skipped
	csa-window: $in.b:2: invalid JSON at byte 146, skipped
	csa-window: $in.b:3: invalid JSON at byte 157, skipped
	csa-window: $in.b:4: invalid JSON at byte 67, skipped
	csa-window: $in.b:5: invalid JSON: nested deeper than 512 levels at byte 654, skipped
	csa-window: 5 bad lines skipped
	EOF
	[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 4 ]
	# Three of them in alaska, the real event where it is.
	r=$(head -n 1 "$(usgs_events)" | jq -r .region)
	[ "$(jq -s --arg r "$r" 'map(select(.region == "alaska" or .region == $r)) |
	    map(.event_count) | add' <<<"$output")" -eq 4 ]
	[ "$(jq -s 'map(select(.region == "alaska")) | map(.event_count) | add' <<<"$output")" -eq \
	    "$(if [ "$r" = alaska ]; then echo 4; else echo 3; fi)" ]
	# The same rows and words with --lazy when --late-output writes
	# lines whole (then nothing is skipped unchecked either), and as a
	# jq --where, which reads each line whole (but libjq refuses 300
	# levels: the second file's words are main's, above).
	for f in "$in.a" "$in.b"; do
		csa-window --preset earthquake "$f" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" || :
		for opts in "--lazy --late-output $BATS_TEST_TMPDIR/late" "--where .time>0"; do
			[ "$f" = "$in.a" ] || [ "$opts" != "--where .time>0" ] || continue
			csa-window --preset earthquake $opts "$f" 2>&1 > "$BATS_TEST_TMPDIR/out2" |
				cmp - "$BATS_TEST_TMPDIR/err"
			cmp "$BATS_TEST_TMPDIR/out2" "$BATS_TEST_TMPDIR/out"
		done
	done
	# --lazy takes every line whose fault is in a member it does not read
	# but for what stage 1 or the object's own structure shows: a value
	# run into the next token, text after the object, a control character.
	run --separate-stderr csa-window --lazy --preset earthquake "$in.a"
	assert_success
	[ "$(jq -s 'map(.event_count) | add' <<<"$output")" -eq 10 ]
	run --separate-stderr csa-window --lazy --preset earthquake "$in.b"
	assert_failure 1
	diff <(printf '%s\n' "$stderr") - <<-EOF
	csa-window: $in.b:2: invalid JSON at byte 146, skipped
	csa-window: $in.b:3: invalid JSON at byte 157, skipped
	csa-window: $in.b:4: invalid JSON at byte 67, skipped
	csa-window: 3 bad lines skipped
	EOF
}

@test "--lazy: the line's keys have their escapes checked as when it is read whole, those of members it does not read too" {
	local in="$BATS_TEST_TMPDIR/in" t=$lazy_event
	{
		sed 's/"place"/"\\q"/' <<<"$t"
		sed 's/"place"/"k\\u12"/' <<<"$t"
		sed 's/"place"/"pl\\u0061ce"/' <<<"$t"
		sed 's/"region"/"re\\u0067ion"/' <<<"$t"
	} > "$in"
	for opts in "" "--lazy"; do
		run --separate-stderr csa-window $opts --preset earthquake "$in"
		assert_failure 1
		diff <(printf '%s\n' "$stderr") - <<-EOF
		csa-window: $in:1: invalid JSON at byte 42, skipped
		csa-window: $in:2: invalid JSON at byte 42, skipped
		csa-window: 2 bad lines skipped
		EOF
		# A good escape is taken; keys match as written, so the
		# escaped "region" is not the group column.
		[ "$(jq -sc 'map([.region, .event_count])' <<<"$output")" = '[["alaska",1],[null,1]]' ]
	done
}
