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
	for args in "--tumbling 0" "--hopping 5m/7m" "--hopping 5m" "--tumbling 5m --agg x=median(m)" \
		"--tumbling 5m --agg x=count_if(m)" "--tumbling 5m --agg x=count_if(m >= )" \
		"--tumbling 5m --agg avg(m)" "--tumbling 5m --having nope>1" "--preset quakes" \
		"--tumbling 5m --boundary middle" "--tumbling 5m --late maybe" "--tumbling 1m --hopping 2m/1m"; do
		run --separate-stderr csa-window $args < /dev/null
		assert_failure 2
		[[ "$stderr" == *"Try 'csa-window --help'"* ]] || { echo "$args: $stderr"; return 1; }
	done
	run --separate-stderr csa-window < /dev/null
	assert_failure 2
	[[ "$stderr" == *"no window"* ]]
	run --separate-stderr csa-window --hopping 5m/7m < /dev/null
	[[ "$stderr" == *"hop 7m is longer than the window 5m"* ]]
	run --separate-stderr csa-window --tumbling 5m --agg 'x=median(m)' < /dev/null
	[[ "$stderr" == *"unknown function 'median'"* ]]
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
	run --separate-stderr bash -c "csa-window --preset earthquake '$BATS_TEST_TMPDIR/ev' > /dev/full"
	assert_failure 3
	run --separate-stderr bash -c "csa-window --preset earthquake '$BATS_TEST_TMPDIR/ev' | head -n1"
	assert_success
	[ -z "$stderr" ]
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
