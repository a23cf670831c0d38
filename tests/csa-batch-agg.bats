#!/usr/bin/env bats
# csa-batch-agg: dedupe with revisions, merges and deletions; views equal to
# jq's; idempotent, incremental and atomic output; bad input.

load helpers/common

# The dedupe rule, in jq: per event_id the greatest `updated` wins (ties: the
# later line), deleted winners go.
JQ_DEDUPE='to_entries | map(.value + {seq: .key}) | group_by(.event_id) | map(max_by([.updated, .seq]))
	| map(select((.status // "" | ascii_downcase) != "deleted"))'

utero() {
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140321.geojson" > "$BATS_TEST_TMPDIR/a"
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/b"
	cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" > "$BATS_TEST_TMPDIR/ab"
}

# hourly_jq FILE: hourly counts and mean magnitudes by region, from jq.
hourly_jq() {
	jq -c -s "$JQ_DEDUPE"' | map(. + {e: (((.time + 3599999) / 3600000 | floor) * 3600000)})
		| group_by([.e, .region]) | .[] | [(.[0].e / 1000 | todate | sub("Z$"; ".000Z")), .[0].region,
		length, ((map(.magnitude | select(. != null)) | if length > 0 then add / length else null end) // 0 | . * 1e6 | round)]' "$1" | sort
}

hourly_ours() {
	jq -c 'select(.view == "hourly") | [.window_end, .region, .event_count, ((.avg_magnitude // 0) * 1e6 | round)]' | sort
}

@test "bad options exit 2 naming the option" {
	for args in "" "--preset quakes" "--preset earthquake --tumbling 1h" "--tumbling 7m" "--tumbling 0" \
		"--tumbling 1h --agg x=mode(m)" "--tumbling 1h --partition-by net" "--preset earthquake --memory-limit 10" \
		"--tumbling 1h --view ../x" "--tumbling 1h --having nope>1"; do
		run --separate-stderr csa-batch-agg $args < /dev/null
		assert_failure 2
		[[ "$stderr" == *"Try 'csa-batch-agg --help'"* ]] || { echo "$args: $stderr"; return 1; }
	done
	run --separate-stderr csa-batch-agg --tumbling 7m < /dev/null
	[[ "$stderr" == *"--tumbling: '7m' is not a duration that divides a day"* ]]
	run --separate-stderr csa-batch-agg --tumbling 1h --by '' < /dev/null
	assert_failure 2
	[[ "$stderr" == *"--by: an empty expression"* ]]
}

@test "two real snapshots of one feed: revisions win, counts and means equal jq's with the same rule" {
	utero
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/ab"
	assert_success
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/rows"
	diff <(hourly_ours < "$BATS_TEST_TMPDIR/rows") <(hourly_jq "$BATS_TEST_TMPDIR/ab")
	# The 13 events whose magnitude changed between the snapshots count with the newer one.
	jq -r -s 'group_by(.event_id) | map(select(length == 2 and .[0].magnitude != .[1].magnitude)) | .[] | max_by(.updated)
		| "\(.event_id) \(.magnitude) \(.region) \((((.time + 3599999) / 3600000 | floor) * 3600000) / 1000 | todate)"' \
		"$BATS_TEST_TMPDIR/ab" > "$BATS_TEST_TMPDIR/changed"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/changed")" -eq 13 ]
	while read -r id mag region end; do
		# a one-event hour shows the newer magnitude; every hour holds it between min and max
		jq -e -s --arg r "$region" --arg e "${end%Z}.000Z" --argjson m "$mag" 'map(select(.view == "hourly"
			and .region == $r and .window_end == $e)) | length == 1 and (.[0] | .min_magnitude <= $m
			and .max_magnitude >= $m and (.event_count > 1 or .avg_magnitude == $m))' \
			"$BATS_TEST_TMPDIR/rows" > /dev/null || { echo "$id"; return 1; }
	done < "$BATS_TEST_TMPDIR/changed"
	# Daily events: each event once.
	[ "$(jq -s 'map(select(.view == "daily") | .event_count) | add' "$BATS_TEST_TMPDIR/rows")" = \
		"$(jq -s "$JQ_DEDUPE"' | length' "$BATS_TEST_TMPDIR/ab")" ]
}

@test "hourly counts by region on a whole real week equal jq's" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/ev"
	assert_success
	diff <(printf '%s\n' "$output" | hourly_ours) <(hourly_jq "$BATS_TEST_TMPDIR/ev")
}

@test "merged ids are one event, deleted events go, repeated lines count once" {
	{
		echo '{"event_id":"x","ids":",x,","updated":1,"time":1767261601000,"region":"r","magnitude":1}'
		echo '{"event_id":"y","ids":",x,y,","updated":2,"time":1767261602000,"region":"r","magnitude":3}'
		echo '{"event_id":"x","ids":",x,","updated":1,"time":1767261601000,"region":"r","magnitude":1}'
		echo '{"event_id":"z","ids":",z,","updated":1,"time":1767261603000,"region":"r","magnitude":5}'
		echo '{"event_id":"z","ids":",z,","updated":2,"time":1767261603000,"region":"r","status":"DELETED"}'
		echo '{"event_id":"w","ids":",w,","updated":5,"time":1767261604000,"region":"r","magnitude":2}'
		echo '{"event_id":"w","ids":",w,","updated":5,"time":1767261604000,"region":"r","magnitude":4}'
		echo '{"event_id":"w","ids":",w,","updated":4,"time":1767261604000,"region":"r","magnitude":9}'
	} > "$BATS_TEST_TMPDIR/in"
	run csa-batch-agg --tumbling 1h --by region --agg 'n=count,s=sum(magnitude)' --ids-field ids \
		--deleted-when '(.status // "" | ascii_downcase) == "deleted"' "$BATS_TEST_TMPDIR/in"
	assert_success
	# x and y are one event (y's version is newer: 3); z is deleted; w's tie goes to the later line (4).
	[ "$(printf '%s\n' "$output" | jq -r '"\(.view) \(.n) \(.s)"')" = "view 2 7" ]
	# The preset's rules are the same: its daily view counts the same 2 events.
	run -0 --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.view == "daily") | "\(.event_count) \(.max_magnitude)"')" = "2 4" ]
	# A view of one's own has no such rules unless asked: x, y, z and w are four events.
	run -0 csa-batch-agg --tumbling 1h --by region --agg 'n=count' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .n)" = 4 ]
	# Only the ids list merges; only what --deleted-when says deletes (jq's truth).
	run -0 csa-batch-agg --tumbling 1h --agg 'n=count' --ids-field ids "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .n)" = 3 ]
	run -0 csa-batch-agg --tumbling 1h --agg 'n=count' --deleted-when '.magnitude == null' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .n)" = 3 ]
	run -0 csa-batch-agg --tumbling 1h --agg 'n=count' --deleted-when '.status' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .n)" = 3 ]
	# Under the preset, the options replace its rules.
	run -0 --separate-stderr csa-batch-agg --preset earthquake --ids-field event_id --deleted-when '.status == "gone"' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.view == "daily") | .event_count')" = 4 ]
}

@test "updated as RFC 3339 strings: the later instant wins, whatever the line order or offset" {
	# Each event twice; python picks the winner by the instant the strings name.
	{
		echo '{"event_id":"a","updated":"2026-01-01T10:00:05Z","time":1767261601000,"region":"r","magnitude":1}'
		echo '{"event_id":"a","updated":"2026-01-01T10:00:03Z","time":1767261601000,"region":"r","magnitude":10}'
		echo '{"event_id":"b","updated":"2026-01-01T10:00:05.250Z","time":1767261602000,"region":"r","magnitude":100}'
		echo '{"event_id":"b","updated":"2026-01-01T11:00:05.100+01:00","time":1767261602000,"region":"r","magnitude":1000}'
		echo '{"event_id":"c","updated":"2026-01-01T10:00:03Z","time":1767261603000,"region":"r","magnitude":10000}'
		echo '{"event_id":"c","updated":"2026-01-01T10:00:04Z","time":1767261603000,"region":"r","magnitude":100000}'
	} > "$BATS_TEST_TMPDIR/in"
	want=$("$PY" -c '
import json, sys
from datetime import datetime
best = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    u = datetime.fromisoformat(e["updated"].replace("Z", "+00:00"))
    if e["event_id"] not in best or u >= best[e["event_id"]][0]:
        best[e["event_id"]] = (u, e["magnitude"])
print(sum(m for u, m in best.values()))' "$BATS_TEST_TMPDIR/in")
	[ "$want" = 100101 ]
	run -0 csa-batch-agg --tumbling 1h --by region --agg 'n=count,s=sum(magnitude)' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r '"\(.n) \(.s)"')" = "3 $want" ]
}

@test "idempotent, and incremental runs equal one full run, even with a revision of an earlier day" {
	utero
	# A revision, in a third run, of an event two weeks back: a new magnitude and a new hour.
	head -n 1 "$BATS_TEST_TMPDIR/a" | jq -c '.updated += 10000000000 | .magnitude = 6.5 | .time += 7200000' \
		> "$BATS_TEST_TMPDIR/c"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/c")" -eq 1 ]
	cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/c" > "$BATS_TEST_TMPDIR/all"
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/all"
	cp -r "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/full0"
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/all"
	diff -r "$BATS_TEST_TMPDIR/full0" "$BATS_TEST_TMPDIR/full"
	for f in a b c; do
		run --separate-stderr csa-batch-agg -v --preset earthquake --incremental "$BATS_TEST_TMPDIR/state" \
			--out "$BATS_TEST_TMPDIR/inc" "$BATS_TEST_TMPDIR/$f"
		assert_success
	done
	# The third run wrote only the days the revision touched.
	[[ "$stderr" == *"2 days written"* || "$stderr" == *"1 days written"* ]]
	diff -r "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/inc"
	# -v counts the events the state holds: those the daily views count.
	n=$(cat "$BATS_TEST_TMPDIR"/inc/daily/*/part-0.ndjson | jq -s 'map(.event_count) | add')
	[ "$n" -gt 100 ]
	[[ "$stderr" == *" lines, 0 skipped, $n events after dedupe (0 deleted)"* ]]
	ls "$BATS_TEST_TMPDIR/full/hourly" | grep -q '^date=2014-0[23]-[0-9][0-9]$'
	# Another query's state is refused.
	run --separate-stderr csa-batch-agg --tumbling 1h --incremental "$BATS_TEST_TMPDIR/state" < /dev/null
	assert_failure 2
	[[ "$stderr" == *"saved by another query"* ]]
	# -q: no word of the old spelling; the error is still said.
	quiet_silences "--incremental is deprecated" \
		csa-batch-agg --tumbling 1h --incremental "$BATS_TEST_TMPDIR/state" /dev/null
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"saved by another query"* ]]
}

@test "--partition-by: values cannot escape the directory; emptied partitions go" {
	{
		echo '{"event_id":"a","updated":1,"time":1767261601000,"event_type":"../../etc","region":"r"}'
		echo '{"event_id":"b","updated":1,"time":1767261602000,"event_type":"a/b","region":"r"}'
		echo '{"event_id":"c","updated":1,"time":1767261603000,"event_type":"quake","region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	csa-batch-agg --tumbling 1d --by region --partition-by event_type --incremental "$BATS_TEST_TMPDIR/st" \
		--out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	(cd "$BATS_TEST_TMPDIR/out" && find . -name 'part-*' | sort) > "$BATS_TEST_TMPDIR/files"
	[ "$(cat "$BATS_TEST_TMPDIR/files")" = "$(printf '%s\n' './view/date=2026-01-01/event_type=%2E%2E%2F%2E%2E%2Fetc/part-0.ndjson' \
		'./view/date=2026-01-01/event_type=a%2Fb/part-0.ndjson' './view/date=2026-01-01/event_type=quake/part-0.ndjson')" ]
	[ "$(find "$BATS_TEST_TMPDIR" -name 'part-*' | grep -vc "/out/")" -eq 0 ]
	# c becomes an earthquake of type "a/b": its old partition is removed.
	echo '{"event_id":"c","updated":2,"time":1767261603000,"event_type":"a/b","region":"r"}' |
		csa-batch-agg --tumbling 1d --by region --partition-by event_type --incremental "$BATS_TEST_TMPDIR/st" --out "$BATS_TEST_TMPDIR/out"
	[ ! -e "$BATS_TEST_TMPDIR/out/view/date=2026-01-01/event_type=quake" ]
	[ "$(jq .count "$BATS_TEST_TMPDIR/out/view/date=2026-01-01/event_type=a%2Fb/part-0.ndjson")" = 2 ]
}

@test "--partition-by: a value too long for a directory name is shortened, still one partition per value" {
	long=$(printf 'é%.0s' $(seq 300))
	{
		printf '{"event_id":"a","updated":1,"time":1767261601000,"event_type":"%sA","region":"r"}\n' "$long"
		printf '{"event_id":"b","updated":1,"time":1767261602000,"event_type":"%sB","region":"r"}\n' "$long"
		printf '{"event_id":"c","updated":1,"time":1767261603000,"event_type":"%sB","region":"r"}\n' "$long"
		echo '{"event_id":"d","updated":1,"time":1767261604000,"event_type":"x~y","region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-batch-agg --tumbling 1d --by region --partition-by event_type \
		--out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	assert_success
	[ -z "$stderr" ]
	cd "$BATS_TEST_TMPDIR/out/view/date=2026-01-01"
	ls > "$BATS_TEST_TMPDIR/dirs"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/dirs")" -eq 3 ]
	# Every name fits in 255 bytes; the two long ones differ only in their hash.
	[ "$(awk '{ print length($0) }' "$BATS_TEST_TMPDIR/dirs" | sort -n | tail -n 1)" -le 255 ]
	[ "$(grep -c '^event_type=\(%C3\|%A9\)*~[0-9a-f]\{16\}$' "$BATS_TEST_TMPDIR/dirs")" -eq 2 ]
	grep -qx 'event_type=x%7Ey' "$BATS_TEST_TMPDIR/dirs"
	# Each partition holds the rows of its own value, counted as jq counts them.
	for f in */part-0.ndjson; do jq -c '[.event_type, .count]' "$f"; done | sort > "$BATS_TEST_TMPDIR/got"
	jq -c -s 'group_by(.event_type) | .[] | [.[0].event_type, length]' "$BATS_TEST_TMPDIR/in" | sort |
		diff - "$BATS_TEST_TMPDIR/got"
	# A field name that cannot name a directory is a usage error.
	run --separate-stderr csa-batch-agg --tumbling 1d --by region --partition-by "$(printf 'f%.0s' $(seq 65))" < /dev/null
	assert_failure 2
	[[ "$stderr" == *"--partition-by: 'fff"*"cannot name a directory"* ]]
}

@test "bad lines: malformed, missing fields, absurd times, bad coordinates: reported, the rest processed, exit 1" {
	{
		echo '{"event_id":"ok1","updated":1,"time":1767261601000,"region":"r","latitude":10,"longitude":20}'
		echo 'not json'
		echo '[1,2]'
		echo '{"event_id":"t0","updated":1,"region":"r"}'
		echo '{"event_id":"t1","updated":1,"time":"soon","region":"r"}'
		echo '{"event_id":"t2","updated":1,"time":-3000000000000,"region":"r"}'
		echo '{"event_id":"t3","updated":1,"time":99999999999999,"region":"r"}'
		echo '{"event_id":"l1","updated":1,"time":1767261601000,"latitude":91,"region":"r"}'
		echo '{"event_id":"l2","updated":1,"time":1767261601000,"longitude":-180.5,"region":"r"}'
		echo '{"updated":1,"time":1767261601000,"region":"r"}'
		head -c 1100000 /dev/zero | tr '\0' 'a'; echo
		echo '{"event_id":"ok2","updated":1,"time":1767261602000,"region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-batch-agg --preset earthquake --max-future 1d "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r 'select(.view == "daily") | .event_count')" = 2 ]
	for want in "in:2: invalid JSON" "in:3: not a JSON object, skipped" "in:4: missing time (time), skipped" \
		"in:5: unparsable time (time), skipped" "in:6: absurd time: before 1900, skipped" \
		"in:7: time more than 1d ahead of the clock (--max-future), skipped" "in:8: latitude outside [-90, 90], skipped" \
		"in:9: longitude outside [-180, 180], skipped" "in:10: missing id, skipped" \
		"in:11: line longer than 1048576 bytes" "10 bad lines skipped"; do
		[[ "$stderr" == *"$want"* ]] || { echo "missing: $want"; echo "$stderr"; return 1; }
	done
	# Past ten, only the count.
	for i in $(seq 1 15); do echo 'nope'; done > "$BATS_TEST_TMPDIR/many"
	run --separate-stderr csa-batch-agg --tumbling 1h "$BATS_TEST_TMPDIR/many"
	assert_failure 1
	[ "$(printf '%s\n' "$stderr" | grep -c ', skipped$')" -eq 10 ]
	[[ "$stderr" == *"15 bad lines skipped"* ]]
}

@test "a line nested 500,000 deep is one bad line, rejected at once; the rest counted" {
	{
		echo '{"event_id":"ok1","updated":1,"time":1767261601000,"region":"r"}'
		cat "$(deep_line)"
		echo '{"event_id":"ok2","updated":1,"time":1767261602000,"region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr timeout -k 5 60 csa-batch-agg --tumbling 1h --by region "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:2: $DEEP_MSG, skipped"* ]]
}

@test "coordinates on the edges (latitude +-90, longitude +-180) are valid; just past them not" {
	{
		echo '{"event_id":"n","updated":1,"time":1767261601000,"latitude":90,"longitude":180,"region":"r"}'
		echo '{"event_id":"s","updated":1,"time":1767261601000,"latitude":-90,"longitude":-180,"region":"r"}'
		echo '{"event_id":"n2","updated":1,"time":1767261601000,"latitude":90.000001,"longitude":0,"region":"r"}'
		echo '{"event_id":"s2","updated":1,"time":1767261601000,"latitude":-90.000001,"longitude":0,"region":"r"}'
		echo '{"event_id":"e2","updated":1,"time":1767261601000,"latitude":0,"longitude":180.000001,"region":"r"}'
		echo '{"event_id":"w2","updated":1,"time":1767261601000,"latitude":0,"longitude":-180.000001,"region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r 'select(.view == "daily") | .event_count')" = 2 ]
	for want in "in:3: latitude outside" "in:4: latitude outside" "in:5: longitude outside" "in:6: longitude outside"; do
		[[ "$stderr" == *"$want"* ]] || { echo "missing: $want"; echo "$stderr"; return 1; }
	done
	[[ "$stderr" != *"in:1:"* && "$stderr" != *"in:2:"* ]]
}

@test "an unwritable --out exits 3 with the previous views untouched; no temporary file is visible" {
	utero
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold" "$BATS_TEST_TMPDIR/a"
	(cd "$BATS_TEST_TMPDIR/gold" && find . -type f | sort | xargs md5sum) > "$BATS_TEST_TMPDIR/before"
	# The first day's hourly directory is a file now: nothing can be written.
	first=$(ls "$BATS_TEST_TMPDIR/gold/daily" | sort | head -n 1)
	mv "$BATS_TEST_TMPDIR/gold/hourly/$first" "$BATS_TEST_TMPDIR/saved"
	touch "$BATS_TEST_TMPDIR/gold/hourly/$first"
	run --separate-stderr csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold" "$BATS_TEST_TMPDIR/ab"
	assert_failure 3
	rm "$BATS_TEST_TMPDIR/gold/hourly/$first"
	mv "$BATS_TEST_TMPDIR/saved" "$BATS_TEST_TMPDIR/gold/hourly/$first"
	(cd "$BATS_TEST_TMPDIR/gold" && find . -type f | sort | xargs md5sum) > "$BATS_TEST_TMPDIR/after"
	diff "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	# SIGKILL while writing: every visible part file is whole, from one run or the other.
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/week"
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/g2" "$BATS_TEST_TMPDIR/week"
	jq -c '.magnitude += 1' "$BATS_TEST_TMPDIR/week" > "$BATS_TEST_TMPDIR/week2"
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/g2" "$BATS_TEST_TMPDIR/week2" &
	sleep 0.1
	kill -KILL $! 2>/dev/null || true
	wait $! 2>/dev/null || true
	for f in $(find "$BATS_TEST_TMPDIR/g2" -name 'part-*'); do
		jq -e -s 'length > 0' "$f" > /dev/null || { echo "$f is not whole"; return 1; }
	done
	[ "$(find "$BATS_TEST_TMPDIR/g2" -type f ! -name 'part-0.ndjson' ! -name '.*' | wc -l)" -eq 0 ]
}

@test "stdout to /dev/full exits 3; | head -n1 leaves stderr empty" {
	utero
	stdout_faults "csa-batch-agg --preset earthquake '$BATS_TEST_TMPDIR/ab'"
}

@test "--memory-limit: the dedupe store spills to disk and the views stay exact" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/src"
	# 60,000 events, 1% revised later, 0.1% of lines twice: some 25 MB of store.
	"$PY" "$CSA_SRCDIR/bench/batch-gen.py" 60000 "$BATS_TEST_TMPDIR/events" < "$BATS_TEST_TMPDIR/src"
	csa-batch-agg -v --preset earthquake --out "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/events" \
		2> "$BATS_TEST_TMPDIR/err_full"
	csa-batch-agg -v --preset earthquake --memory-limit 1M --out "$BATS_TEST_TMPDIR/small" "$BATS_TEST_TMPDIR/events" \
		2> "$BATS_TEST_TMPDIR/err_small"
	# The default limit holds these events in memory; 1M does not.
	grep -q '(0 deleted), ' "$BATS_TEST_TMPDIR/err_full"
	grep -q '(0 deleted, spilled to disk at event [0-9]*), ' "$BATS_TEST_TMPDIR/err_small"
	diff -r "$BATS_TEST_TMPDIR/full" "$BATS_TEST_TMPDIR/small"
	# Exact: the hourly counts equal jq's with the same dedupe rule.
	diff <(hourly_jq "$BATS_TEST_TMPDIR/events") \
		<(cat "$BATS_TEST_TMPDIR"/small/hourly/*/part-0.ndjson | jq -c '. + {view: "hourly"}' | hourly_ours)
}

@test "a spill amid merges, revisions and deletions: the in-memory run's bytes, an independent model's views" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/src"
	"$PY" "$HELPERS/batch_ref.py" gen 30000 "$BATS_TEST_TMPDIR/src" > "$BATS_TEST_TMPDIR/events"
	csa-batch-agg -v --preset earthquake "$BATS_TEST_TMPDIR/events" > "$BATS_TEST_TMPDIR/mem" 2> "$BATS_TEST_TMPDIR/err_mem"
	csa-batch-agg -v --preset earthquake --memory-limit 1M "$BATS_TEST_TMPDIR/events" > "$BATS_TEST_TMPDIR/spill" \
		2> "$BATS_TEST_TMPDIR/err_spill"
	cat "$BATS_TEST_TMPDIR/err_mem" "$BATS_TEST_TMPDIR/err_spill"
	# The table went to disk part way, with merged and deleted events in it and after it.
	! grep -q spilled "$BATS_TEST_TMPDIR/err_mem" || false
	at=$(sed -n 's/.*spilled to disk at event \([0-9]*\).*/\1/p' "$BATS_TEST_TMPDIR/err_spill")
	[ "$at" -gt 1000 ] && [ "$at" -lt 25000 ]
	grep -q ' ([1-9][0-9]* deleted' "$BATS_TEST_TMPDIR/err_spill"
	cmp "$BATS_TEST_TMPDIR/mem" "$BATS_TEST_TMPDIR/spill"
	"$PY" "$HELPERS/batch_ref.py" check "$BATS_TEST_TMPDIR/events" "$BATS_TEST_TMPDIR/spill"
}

@test "every aggregate of the preset on real data with revisions and repeated lines equals an independent model's" {
	utero
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/week"
	# Every 40th line of the week again, at the end (at-least-once delivery).
	cat "$BATS_TEST_TMPDIR/ab" "$BATS_TEST_TMPDIR/week" > "$BATS_TEST_TMPDIR/all"
	awk 'NR % 40 == 0' "$BATS_TEST_TMPDIR/week" >> "$BATS_TEST_TMPDIR/all"
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/all"
	assert_success
	printf '%s\n' "$output" > "$BATS_TEST_TMPDIR/rows"
	"$PY" "$HELPERS/batch_ref.py" check "$BATS_TEST_TMPDIR/all" "$BATS_TEST_TMPDIR/rows"
}

@test "kill -9 at any moment of an incremental run leaves the views and the state of the run before" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/src"
	"$PY" "$CSA_SRCDIR/bench/batch-gen.py" 60000 "$BATS_TEST_TMPDIR/all" < "$BATS_TEST_TMPDIR/src"
	head -n 40000 "$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/one"
	tail -n +40001 "$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/two"
	t=$BATS_TEST_TMPDIR
	# What an undisturbed pair of runs writes.
	csa-batch-agg --preset earthquake --state "$t/ref.state" --out "$t/ref" "$t/one"
	cp -r "$t/ref" "$t/ref1"
	csa-batch-agg --preset earthquake --state "$t/ref.state" --out "$t/ref" "$t/two"
	sums() { (cd "$1" && find . -type f ! -name '.*' | sort | xargs md5sum); }
	for delay in 0.05 0.1 0.15 0.2 0.3 0.4; do
		rm -rf "$t/gold" "$t/state"*
		csa-batch-agg --preset earthquake --state "$t/state" --out "$t/gold" "$t/one"
		csa-batch-agg --preset earthquake --state "$t/state" --out "$t/gold" "$t/two" &
		sleep "$delay"
		kill -KILL $! 2>/dev/null || true
		wait $! 2>/dev/null || true
		# Nothing half written is visible (what was being written aside is
		# hidden: .NAME.tmp.*): each file is the first run's or the second's, whole.
		[ "$(find "$t/gold" -type f ! -name 'part-0.ndjson' ! -name '.*' | wc -l)" -eq 0 ]
		for f in $(cd "$t/gold" && find . -type f ! -name '.*'); do
			cmp -s "$t/gold/$f" "$t/ref1/$f" || cmp -s "$t/gold/$f" "$t/ref/$f" ||
				{ echo "after $delay s: $f is neither run's"; return 1; }
		done
		# The state did not move: the second run again gives the undisturbed views.
		csa-batch-agg --preset earthquake --state "$t/state" --out "$t/gold" "$t/two"
		diff <(sums "$t/ref") <(sums "$t/gold")
	done
}

@test "a new state is filled in memory and saved whole: held, spilled or made event by event, the same state" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/src"
	"$PY" "$HELPERS/batch_ref.py" gen 30000 "$BATS_TEST_TMPDIR/src" > "$BATS_TEST_TMPDIR/all"
	t=$BATS_TEST_TMPDIR
	head -n 20000 "$t/all" > "$t/one"
	tail -n +20001 "$t/all" > "$t/two"
	head -n 1 "$t/one" > "$t/first"
	tail -n +2 "$t/one" > "$t/rest"
	# a: a new state, in memory until the run commits; b: the same past
	# --memory-limit, spilled into the state part way; c: one event, then
	# the others put one by one into the state that holds it.
	csa-batch-agg -v --preset earthquake --state "$t/a" --out "$t/va" "$t/one" 2> "$t/err_a"
	csa-batch-agg -v --preset earthquake --memory-limit 1M --state "$t/b" --out "$t/vb" "$t/one" 2> "$t/err_b"
	csa-batch-agg --preset earthquake --state "$t/c" --out "$t/vc" "$t/first"
	csa-batch-agg --preset earthquake --state "$t/c" --out "$t/vc" "$t/rest"
	! grep -q spilled "$t/err_a" || false
	grep -q 'spilled to disk at event [0-9]*), ' "$t/err_b"
	# What each id leads to, read from the files by sqlite3.
	held() {
		sqlite3 "$1" "SELECT ids.id, version, seq, t, deleted, hex(line) FROM ids JOIN ev USING (root)
			ORDER BY ids.id; SELECT v FROM meta WHERE k = 'seq'; PRAGMA integrity_check"
	}
	held "$t/c" > "$t/held_c"
	[ "$(wc -l < "$t/held_c")" -gt 19000 ]
	diff "$t/held_c" <(held "$t/a")
	diff "$t/held_c" <(held "$t/b")
	# Later runs with revisions, merges and deletions of what they hold
	# give the views of one run over everything, which the model checks.
	csa-batch-agg --preset earthquake --out "$t/full" "$t/all"
	csa-batch-agg --preset earthquake "$t/all" > "$t/rows"
	"$PY" "$HELPERS/batch_ref.py" check "$t/all" "$t/rows"
	for s in a b c; do
		csa-batch-agg --preset earthquake --state "$t/$s" --out "$t/v$s" "$t/two"
		diff -r "$t/full" "$t/v$s"
	done
	# A new state's run killed at any moment, its saving included, leaves
	# no event in the state, or all of them: run again when it left none,
	# it gives the undisturbed run's state.
	held "$t/a" > "$t/want"
	for delay in 0.05 0.1 0.15 0.2 0.25 0.3; do
		rm -rf "$t/k" "$t/k-wal" "$t/k-shm" "$t/vk"
		csa-batch-agg --preset earthquake --state "$t/k" --out "$t/vk" "$t/all" &
		sleep "$delay"
		kill -KILL $! 2>/dev/null || true
		wait $! 2>/dev/null || true
		# (No file, or one killed before its tables were made, holds none.)
		if [ "$(sqlite3 "$t/k" 'SELECT count(*) FROM ev' 2> /dev/null || echo 0)" -eq 0 ]; then
			echo "killed after $delay s: nothing saved"
			csa-batch-agg --preset earthquake --state "$t/k" --out "$t/vk" "$t/all"
		fi
		diff "$t/want" <(held "$t/k")
	done
}

@test "a state that cannot grow (file size limit) fails the run and keeps nothing of it, spilled or not" {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/src"
	"$PY" "$HELPERS/batch_ref.py" gen 30000 "$BATS_TEST_TMPDIR/src" > "$BATS_TEST_TMPDIR/all"
	t=$BATS_TEST_TMPDIR
	# Writes past the limit fail (EFBIG); SQLite then rolls the run's
	# transaction back by itself, and no put may go on outside it.
	for kb in 600 1200 2000; do
		for mem in 1M 256M; do
			rm -f "$t/s" "$t/s-wal" "$t/s-shm"
			run --separate-stderr bash -c "trap '' XFSZ; ulimit -f $kb
				csa-batch-agg --memory-limit $mem --preset earthquake --state '$t/s' --out '$t/v' '$t/all'"
			[ "$status" -eq 3 ] || { echo "$kb KB, $mem: status $status"; return 1; }
			[[ "$stderr" == *"$t/s: "*"disk I/O error"* ]]
			[ "$(sqlite3 "$t/s" 'SELECT (SELECT count(*) FROM ev) + (SELECT count(*) FROM ids)')" -eq 0 ] ||
				{ echo "$kb KB, $mem: events saved"; return 1; }
		done
	done
	# The limit lifted, the same state takes the whole input.
	csa-batch-agg --preset earthquake --state "$t/s" --out "$t/v2" "$t/all"
	csa-batch-agg --preset earthquake --out "$t/full" "$t/all"
	diff -r "$t/full" "$t/v2"
}

@test "a state saved before records, holding lines, is refused with what to do" {
	utero
	csa-batch-agg --preset earthquake --state "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/a" > /dev/null
	sqlite3 "$BATS_TEST_TMPDIR/state" "DELETE FROM meta WHERE k = 'records'"
	run --separate-stderr csa-batch-agg --preset earthquake --state "$BATS_TEST_TMPDIR/state" "$BATS_TEST_TMPDIR/b"
	assert_failure 2
	[[ "$stderr" == *"saved by an older csa-batch-agg (format of lines, not 1); start a new state from the input"* ]]
}

@test "a disk that fills while views are written leaves every view and the state as they were" {
	csa-usgs-fetch --url "file://$(bryn_json)" | jq -c -s 'sort_by(.time) | .[]' > "$BATS_TEST_TMPDIR/in"
	n=$(wc -l < "$BATS_TEST_TMPDIR/in")
	head -n $((n / 2)) "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/one"
	tail -n +$((n / 2 + 1)) "$BATS_TEST_TMPDIR/in" > "$BATS_TEST_TMPDIR/two"
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/in"
	mkdir "$BATS_TEST_TMPDIR/disk"
	# The views on a 2 MB disk, the state beside it; the second run finds
	# 80 KB free, room for a few of the files it writes but not all.
	need_small_fs
	run on_small_fs 2m "$BATS_TEST_TMPDIR/disk" '
		set -u
		t=$0 gold=$0/disk/gold
		csa-batch-agg --preset earthquake --incremental "$t/state" --out "$gold" "$t/one" || exit 10
		cp -r "$gold" "$t/before" && cp "$t/state" "$t/state.before"
		fill_fs "$t/disk" 80
		csa-batch-agg --preset earthquake --incremental "$t/state" --out "$gold" "$t/two" 2> "$t/err"
		echo "status $?"
		diff -r "$t/before" "$gold" && echo "views unchanged"
		echo "leftovers $(find "$gold" -name ".*.tmp.*" | wc -l)"
		cmp "$t/state" "$t/state.before" && echo "state unchanged"
		rm "$t/disk/.filler"
		csa-batch-agg --preset earthquake --incremental "$t/state" --out "$gold" "$t/two" || exit 11
		diff -r "$t/want" "$gold" && echo "rerun complete"' "$BATS_TEST_TMPDIR"
	echo "$output"
	cat "$BATS_TEST_TMPDIR/err"
	assert_success
	assert_line "status 3"
	grep -q "No space left on device" "$BATS_TEST_TMPDIR/err"
	assert_line "views unchanged"
	assert_line "state unchanged"
	assert_line "rerun complete"
	assert_line "leftovers 0"
}

@test "--max-groups bounds the groups of a day's view; past it the run fails and writes nothing" {
	"$PY" -c '
import json
for i in range(3000):
    print(json.dumps({"event_id": "e%d" % i, "updated": 1, "time": 1767261601000 + i * 1000, "user": "u%d" % (i % 1500)}))
' > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-batch-agg --tumbling 1h --by user --max-groups 1000 --out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	assert_failure 3
	[[ "$stderr" == *"view view, 2026-01-01: more than 1000 groups (--max-groups"* ]]
	[ ! -e "$BATS_TEST_TMPDIR/out" ]
	# By default a group may take 2 KB of --memory-limit: 1M allows 512.
	run --separate-stderr csa-batch-agg --tumbling 1h --by user --memory-limit 1M --out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	assert_failure 3
	[[ "$stderr" == *"more than 512 groups"* ]]
	# Enough room: every group, counted as jq counts it.
	csa-batch-agg --tumbling 1h --by user --max-groups 1500 --out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	cat "$BATS_TEST_TMPDIR"/out/view/*/part-0.ndjson | jq -r '"\(.user) \(.count)"' | sort > "$BATS_TEST_TMPDIR/got"
	jq -r -s 'group_by(.user) | .[] | "\(.[0].user) \(length)"' "$BATS_TEST_TMPDIR/in" | sort | diff - "$BATS_TEST_TMPDIR/got"
	run --separate-stderr csa-batch-agg --tumbling 1h --max-groups 0 < /dev/null
	assert_failure 2
	# The same bounds and words as csa-window's --max-groups.
	for cmd in "csa-batch-agg --tumbling 1h" "csa-window --tumbling 1h"; do
		run --separate-stderr $cmd --max-groups 2147483648 < /dev/null
		assert_failure 2
		[[ "$stderr" == *"--max-groups: '2147483648' is not a number from 1 to 2147483647"* ]]
	done
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-batch-agg <<-'EOF'
	--tumbling 1h --nope|unknown option '--nope'
	--tumbling 1h --nope=1|unknown option '--nope'
	--tumbling 1h -x|unknown option '-x'
	--tumbling 1h -vx|unknown option '-x'
	--tumbling 1h --view|option '--view' needs a value
	--tumbling 1h -o|option '-o' needs a value
	--tumbling 1h --verbose=2|option '--verbose' takes no value
	--tumbling 1h --ver x|option '--ver' is ambiguous
	--tumbling 1h --max-future 0|--max-future: '0' is not a duration of 1ms or more
	--tumbling 1h --max-future soon|--max-future: 'soon' is not a duration of 1ms or more
	--tumbling 1h --max-future -1d|--max-future: '-1d' is not a duration of 1ms or more
	--tumbling 0|--tumbling: '0' is not a duration from 1ms to 1d
	--tumbling 2d|--tumbling: '2d' is not a duration from 1ms to 1d
	--tumbling 1h --memory-limit 10|--memory-limit: '10' is not a size of 1M or more
	--tumbling 1h --memory-limit 1Q|--memory-limit: '1Q' is not a size of 1M or more
	--tumbling 1h --max-groups 0|--max-groups: '0' is not a number from 1 to 2147483647
	--tumbling 1h --by view=region|--by: 'view' is a member every row has or csa-merge adds; give the column another name: --by NAME=...
	--tumbling 1h --by region --agg region=count|--agg: the column 'region' is named twice; give one another name: --agg NAME=...
	--tumbling 1h --max-groups 1.5|--max-groups: '1.5' is not a number from 1 to 2147483647
	--tumbling 1h --ids-field=|--ids-field: an empty expression: name a field (region, ._eh.partition) or write a jq expression
	EOF
	for opt in --validate --deleted-when; do
		run --separate-stderr csa-batch-agg --tumbling 1h "$opt" '.[' < /dev/null
		assert_failure 2
		[[ "$stderr" == "csa-batch-agg: $opt: invalid expression '.[': jq: error: "* ]]
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ]
		[ "$(printf '%s\n' "$stderr" | tail -n 1)" = "Try 'csa-batch-agg --help' for more information." ]
	done
}

@test "the usage line names --version-field, and every rule option, as the man page does" {
	run -0 csa-batch-agg --help
	[[ "$output" == *"[--version-field FIELD]"* ]]
	[[ "$output" != *"[--version FIELD]"* ]]
	for opt in "--ids-field FIELD" "--deleted-when EXPR" "--validate EXPR" "--max-future D"; do
		[[ "$output" == *"[$opt]"* ]] || { echo "usage lacks $opt"; return 1; }
		name=${opt%% *} arg=${opt#* }
		grep -qxF ".Op Fl \\-${name#--} Ar ${arg,,}" "$CSA_SRCDIR/man/csa-batch-agg.1" \
			|| { echo "SYNOPSIS lacks $opt"; return 1; }
	done
}

@test "nothing depends on the clock unless --max-future asks: events far ahead are kept" {
	{
		echo '{"event_id":"now","updated":1,"time":1767261601000,"region":"r"}'
		echo '{"event_id":"far","updated":1,"time":8000000000000,"region":"r"}'
	} > "$BATS_TEST_TMPDIR/in"
	for args in "--tumbling 1d" "--preset earthquake"; do
		run -0 --separate-stderr csa-batch-agg $args "$BATS_TEST_TMPDIR/in"
		[ "$(printf '%s\n' "$output" | jq -r '.window_end[:4]' | sort -u | tr '\n' ' ')" = "2026 2223 " ] \
			|| { echo "$args: $output"; return 1; }
	done
	# --max-future: a time further ahead than D of this clock is rejected.
	run --separate-stderr csa-batch-agg --tumbling 1d --max-future 36500d "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 1 ]
	[[ "$stderr" == *"in:2: time more than 36500d ahead of the clock (--max-future), skipped"* ]]
	run -0 csa-batch-agg --tumbling 1d --max-future 100000d "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | wc -l)" -eq 2 ]
}

@test "--validate EXPR rejects events for which it is not true; under the preset it replaces the coordinate rule" {
	{
		echo '{"event_id":"a","updated":1,"time":1767261601000,"region":"r","magnitude":3,"latitude":95}'
		echo '{"event_id":"b","updated":1,"time":1767261601000,"region":"r","magnitude":-1}'
		echo '{"event_id":"c","updated":1,"time":1767261601000,"region":"r"}'
		echo '{"event_id":"d","updated":1,"time":1767261601000,"region":"r","magnitude":"x"}'
	} > "$BATS_TEST_TMPDIR/in"
	# A view of one's own checks no coordinates.
	run -0 csa-batch-agg --tumbling 1d "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 4 ]
	run --separate-stderr csa-batch-agg --tumbling 1d --validate '.magnitude >= 0' "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | jq -r .count)" = 2 ]
	[[ "$stderr" == *"in:2: not valid by --validate, skipped"* ]]
	[[ "$stderr" == *"in:3: not valid by --validate, skipped"* ]]
	[[ "$stderr" != *"in:1:"* && "$stderr" != *"in:4:"* ]]
	# The preset rejects the latitude; with --validate, only what it says.
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[[ "$stderr" == *"in:1: latitude outside [-90, 90], skipped"* ]]
	run -0 --separate-stderr csa-batch-agg --preset earthquake --validate '.event_id != null' "$BATS_TEST_TMPDIR/in"
	[ "$(printf '%s\n' "$output" | jq -r 'select(.view == "daily") | .event_count')" = 4 ]
}

@test "--partition-by a dotted path: its directory holds the path's value" {
	printf '%s\n' '{"event_id":"x","updated":1,"time":1767261601000,"mag":3,"p":{"region":"north"}}' \
		'{"event_id":"y","updated":1,"time":1767261602000,"mag":4,"p":{"region":"south"}}' > "$BATS_TEST_TMPDIR/in"
	csa-batch-agg --tumbling 1h --view v --by mag --partition-by p.region --agg n=count \
		--out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	[ "$(cd "$BATS_TEST_TMPDIR/out" && find . -name '*.ndjson' | sort | tr '\n' ' ')" = \
		"./v/date=2026-01-01/p.region=north/part-0.ndjson ./v/date=2026-01-01/p.region=south/part-0.ndjson " ]
	jq -e '.region == "north" and .mag == 3' "$BATS_TEST_TMPDIR/out/v/date=2026-01-01/p.region=north/part-0.ndjson"
}

@test "--partition-by a field named as a row's own member: grouped under another name, it partitions; alone, refused" {
	printf '%s\n' '{"event_id":"x","updated":1,"time":1767261601000,"view":"north"}' \
		'{"event_id":"y","updated":1,"time":1767261602000,"view":"south"}' > "$BATS_TEST_TMPDIR/in"
	csa-batch-agg --tumbling 1h --view v --by side=view --partition-by view --agg n=count \
		--out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/in"
	jq -e '.side == "north" and .n == 1' "$BATS_TEST_TMPDIR/out/v/date=2026-01-01/view=north/part-0.ndjson"
	usage_faults csa-batch-agg --tumbling 1h --out "$BATS_TEST_TMPDIR/o2" <<-'EOF'
	--partition-by view|--partition-by: 'view' is a member every row has or csa-merge adds; group by it under another name as well: --by NAME=view
	--agg region=count --partition-by region|--agg: the column 'region' is named twice; give one another name: --agg NAME=...
	EOF
}

@test "--version with a value is a usage error that points to --version-field" {
	run --separate-stderr csa-batch-agg --version updated
	assert_failure 2
	[[ "$stderr" == *"--version takes no value ('updated'); the version field is --version-field"* ]]
	assert_output ""
	run -0 csa-batch-agg --version
	[[ "${lines[0]}" == "csa-batch-agg (csa-streaming) "* ]]
}

@test "a --by column or aggregate field that no event has is named at the end, as csa-window names it" {
	missing_fields csa-batch-agg
	# The preset's fields are all there: nothing is said.
	run --separate-stderr csa-batch-agg --preset earthquake "$BATS_TEST_TMPDIR/ev.ndjson"
	assert_success
	[ -z "$stderr" ]
	# -q: not a word of the mistyped field; a bad line and the count still, exit 1.
	echo '{"time": ' >> "$BATS_TEST_TMPDIR/ev.ndjson"
	quiet_silences "--by regoin: none of the" \
		csa-batch-agg --tumbling 1h --by regoin "$BATS_TEST_TMPDIR/ev.ndjson"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"1 bad line skipped"* ]]
}

@test "on a terminal: a progress line for reading and for the views; none in a pipe, with -v or -q" {
	command -v script >/dev/null || skip "no script(1) to give a terminal"
	in="$BATS_TEST_TMPDIR/in.ndjson"
	for i in 1 2 3 4 5 6 7 8; do cat "$(usgs_events)"; done > "$in"
	lines=$(wc -l < "$in")
	days=$(jq -r '.time / 86400000 | floor' "$in" | sort -u | wc -l)
	script -qec "csa-batch-agg --preset earthquake --out '$BATS_TEST_TMPDIR/gold' '$in'" /dev/null \
		| tr '\r' '\n' > "$BATS_TEST_TMPDIR/tty"
	# The last figures stay: every line read, all of the file, every day.
	grep -Eq "^(.\[K)?csa-batch-agg: reading: $lines lines, [0-9]+ MB, [0-9.]+ MB/s \(100%\)$" \
		"$BATS_TEST_TMPDIR/tty"
	grep -Eq "csa-batch-agg: views: day $days of $days \(100%\)$" "$BATS_TEST_TMPDIR/tty"
	# Not a terminal: nothing.
	run --separate-stderr csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/g2" "$in"
	assert_success
	[ -z "$stderr" ]
	# -v on a terminal: the -v lines, no progress line.
	script -qec "csa-batch-agg -v --preset earthquake --out '$BATS_TEST_TMPDIR/g3' '$in'" /dev/null \
		> "$BATS_TEST_TMPDIR/tty-v"
	grep -q "lines, 0 skipped" "$BATS_TEST_TMPDIR/tty-v"
	! grep -q "reading:" "$BATS_TEST_TMPDIR/tty-v" || false
	# -q on a terminal: nothing at all.
	script -qec "csa-batch-agg -q --preset earthquake --out '$BATS_TEST_TMPDIR/g4' '$in'" /dev/null \
		> "$BATS_TEST_TMPDIR/tty-q"
	[ ! -s "$BATS_TEST_TMPDIR/tty-q" ]
}
