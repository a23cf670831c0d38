#!/usr/bin/env bats
# csa-merge: the cutoff and the overlap, gaps and partial buckets, exact
# re-aggregation, anomalies, views that do not fit, and the whole real path
# (capture -> batch, window -> speed) against jq.

load helpers/common

# ev TIME REGION MAGNITUDE: one event line.
ev() {
	printf '{"event_id":"e%s%s","time":"%s","region":"%s","magnitude":%s}\n' "$1" "$2" "$1" "$2" "$3"
}

AGGS='event_count=count,avg_magnitude=avg(magnitude),max_magnitude=max(magnitude),sd=stddev(magnitude)'

# batch FILE: hourly rows of the events in FILE (csa-batch-agg, one view).
batch() {
	csa-batch-agg --tumbling 1h --view hourly --by region --agg "$AGGS" "$1"
}

# speed FILE: 5-minute rows of the events in FILE (csa-window).
speed() {
	csa-window --tumbling 5m --by region --agg "$AGGS" < "$1"
}

# The small hand-made case: batch through 12:00, speed around the cutoff.
small_case() {
	{
		ev 2026-04-22T10:10:00Z a 1
		ev 2026-04-22T10:20:00Z a 3
		ev 2026-04-22T11:30:00Z b 2
	} > "$BATS_TEST_TMPDIR/old"
	{
		ev 2026-04-22T10:12:00Z a 9	# long before the cutoff: batch has the time
		ev 2026-04-22T11:47:00Z a 4	# in the overlap, batch has no a-window there
		ev 2026-04-22T11:52:00Z b 5	# in the overlap, inside batch's b-window
		ev 2026-04-22T12:03:00Z c 6	# after the cutoff
	} > "$BATS_TEST_TMPDIR/new"
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	speed "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed.ndjson"
}

summary() {
	jq -c '[.window_start[11:16], .window_end[11:16], .region, .event_count, .data_freshness] +
		(if .partial then ["partial"] else [] end)'
}

# merged [ARGS...]: csa-merge of small_case's gold.ndjson and speed.ndjson
# with ARGS exits 0; $output is then its rows as summary lines.
merged() {
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" "$@"
	run summary <<< "$output"
}

@test "--help, --version, and bad options exit 2 with the Try line" {
	run csa-merge --help
	assert_success
	assert_output --partial "Usage: csa-merge"
	run csa-merge --version
	assert_success
	assert_output --partial "csa-merge (csa-streaming)"
	for args in "" "--batch x --every 5q" "--batch x --every 1h --total" "--batch x --cutoff tomorrow" \
		"--speed x --anomalies 3" "--batch x --speed y --anomalies lots" "--batch x --overlap -5m" \
		"--batch x extra" "--batch x --by ,"; do
		run --separate-stderr csa-merge $args
		assert_failure 2
		[[ "$stderr" == *"Try 'csa-merge --help'"* ]] || { echo "$args: $stderr"; return 1; }
	done
}

@test "the cutoff is batch's high-water mark; the overlap keeps only what batch lacks" {
	small_case
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson"
	assert_success
	[ -z "$stderr" ]
	run summary <<< "$output"
	assert_output - <<-'EOF'
	["10:00","11:00","a",2,"batch-only"]
	["11:00","12:00","b",1,"batch-only"]
	["11:45","11:50","a",1,"realtime-only"]
	["12:00","12:05","c",1,"realtime-only"]
	EOF
	# No overlap: the a-window before the cutoff goes too.
	merged --overlap 0
	refute_output --partial '"11:45"'
	assert_output --partial '["12:00","12:05","c",1,"realtime-only"]'
	# A cutoff relative to now (long after these windows): batch all, speed
	# nothing, as every speed window ends before the overlap.
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --cutoff -1h
	echo "$output" | jq -e -s 'map(.data_freshness) == ["batch-only", "batch-only"]'
	# An earlier cutoff: batch only up to 11:00, speed from there.
	merged --cutoff 2026-04-22T11:00:00Z
	assert_output - <<-'EOF'
	["10:00","11:00","a",2,"batch-only"]
	["11:45","11:50","a",1,"realtime-only"]
	["11:50","11:55","b",1,"realtime-only"]
	["12:00","12:05","c",1,"realtime-only"]
	EOF
}

@test "re-aggregation by hour merges batch and speed exactly and marks partial buckets" {
	small_case
	merged --every 1h
	assert_output - <<-'EOF'
	["10:00","11:00","a",2,"batch-only"]
	["11:00","12:00","a",1,"realtime-only"]
	["11:00","12:00","b",1,"batch-only"]
	["12:00","13:00","c",1,"realtime-only","partial"]
	EOF
	# One row over all time: 1, 3 and 2 from batch, 4 and 6 from speed.
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --total --by ''
	echo "$output" | jq -e -s 'length == 1 and .[0].event_count == 5
		and (.[0].avg_magnitude - 3.2 | fabs) < 1e-12 and .[0].max_magnitude == 6
		and .[0].data_freshness == "batch+realtime" and .[0].sources == ["batch", "realtime"]
		and (.[0].partial | not) and (.[0] | has("region") | not)'
	# The sample standard deviation (as STDEV) of 1, 3, 2, 4, 6 from merged states.
	echo "$output" | jq -e '(.sd - (3.7 | sqrt) | fabs) < 1e-12'
	# The merged row can be merged again: its state is the same shape.
	echo "$output" | jq -e '._state.sd.f == "stddev" and ._state.sd.n == 5'
}

@test "a gap between batch and speed shows as partial" {
	ev 2026-04-22T10:10:00Z a 1 > "$BATS_TEST_TMPDIR/old"
	ev 2026-04-22T13:02:00Z a 2 > "$BATS_TEST_TMPDIR/new"
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	speed "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed.ndjson"
	merged --every 1h
	assert_output - <<-'EOF'
	["10:00","11:00","a",1,"batch-only"]
	["13:00","14:00","a",1,"realtime-only","partial"]
	EOF
	merged --total
	assert_output '["10:00","13:05","a",2,"batch+realtime","partial"]'
}

@test "batch and speed that exactly touch (11:00-12:00, 12:00-12:05) are one interval: nothing partial" {
	ev 2026-04-22T11:30:00Z a 1 > "$BATS_TEST_TMPDIR/old"
	ev 2026-04-22T12:03:00Z a 2 > "$BATS_TEST_TMPDIR/new"
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	speed "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed.ndjson"
	merged
	assert_output - <<-'EOF'
	["11:00","12:00","a",1,"batch-only"]
	["12:00","12:05","a",1,"realtime-only"]
	EOF
	merged --total
	assert_output '["11:00","12:05","a",2,"batch+realtime"]'
}

@test "the edges of the cutoff and the overlap: a speed window ending at either, or starting with a batch window" {
	# Batch: hour 11:00-12:00 for a, b and z; the cutoff is 12:00.
	{
		ev 2026-04-22T11:00:00Z z 0
		ev 2026-04-22T11:02:00Z a 1
		ev 2026-04-22T11:57:00Z b 2
		ev 2026-04-22T11:59:00Z z 0
	} > "$BATS_TEST_TMPDIR/old"
	{
		ev 2026-04-22T11:02:00Z a 1	# 11:00-11:05 starts with batch's a-hour: batch has it
		ev 2026-04-22T11:43:00Z c 3	# 11:40-11:45: batch lacks c; ends at 12:00 - 15m
		ev 2026-04-22T11:57:00Z b 2	# 11:55-12:00 ends at the cutoff: batch has it
		ev 2026-04-22T12:03:00Z d 4	# after the cutoff
	} > "$BATS_TEST_TMPDIR/new"
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	speed "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed.ndjson"
	batch_rows='["10:00","11:00","z",1,"batch-only"]
["11:00","12:00","a",1,"batch-only"]
["11:00","12:00","b",1,"batch-only"]
["11:00","12:00","z",1,"batch-only"]'
	# The default overlap, 15m: (11:40, 11:45] lies before it.
	merged
	assert_output "$batch_rows
[\"12:00\",\"12:05\",\"d\",1,\"realtime-only\"]"
	# An overlap of 1h takes c, which batch lacks, and still not a or b.
	merged --overlap 1h
	assert_output "$batch_rows
[\"11:40\",\"11:45\",\"c\",1,\"realtime-only\"]
[\"12:00\",\"12:05\",\"d\",1,\"realtime-only\"]"
	# Without overlap, nothing before the cutoff comes from speed.
	merged --overlap 0
	assert_output "$batch_rows
[\"12:00\",\"12:05\",\"d\",1,\"realtime-only\"]"
}

@test "either layer alone: the answer says batch-only or realtime-only" {
	small_case
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson"
	assert_success
	echo "$output" | jq -e -s 'length == 2 and all(.data_freshness == "batch-only")'
	run --separate-stderr csa-merge --speed - < "$BATS_TEST_TMPDIR/speed.ndjson"
	assert_success
	echo "$output" | jq -e -s 'length == 4 and all(.data_freshness == "realtime-only")'
	: > "$BATS_TEST_TMPDIR/empty"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/empty" --speed "$BATS_TEST_TMPDIR/speed.ndjson"
	assert_success
	[[ "$stderr" == *"no batch rows in $BATS_TEST_TMPDIR/empty: the answer is realtime-only"* ]]
	echo "$output" | jq -e -s 'length == 4'
	# -q: the same rows without the warning; a bad row is still said, exit 1.
	{ cat "$BATS_TEST_TMPDIR/speed.ndjson"; echo '{"window_start":'; } > "$BATS_TEST_TMPDIR/bad.ndjson"
	quiet_silences "no batch rows in" \
		csa-merge --batch "$BATS_TEST_TMPDIR/empty" --speed "$BATS_TEST_TMPDIR/bad.ndjson"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"bad.ndjson:5: invalid JSON"* ]]
}

@test "--from and --to select windows; --table orders by events" {
	small_case
	merged --from 2026-04-22T11:00:00Z --to 2026-04-22T12:00:00Z
	assert_output - <<-'EOF'
	["11:00","12:00","b",1,"batch-only"]
	["11:45","11:50","a",1,"realtime-only"]
	EOF
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --total --table
	assert_line --index 0 --regexp '^window_start +window_end +region +event_count +avg_magnitude +max_magnitude +sd +data_freshness$'
	assert_line --index 1 --regexp '^2026-04-22T10:00:00.000Z +2026-04-22T11:50:00.000Z +a +3 +2.67 +4 +1.53 +batch\+realtime$'
	assert_line --index 3 --regexp ' c +1 +6.00 +6 +- +realtime-only$'
	[ "${#lines[@]}" -eq 4 ]
}

@test "rows of one window and group merge (partitions); a final row replaces early ones" {
	small_case
	# The same batch view from two partitions: every count doubles.
	mkdir -p "$BATS_TEST_TMPDIR/gold/p0" "$BATS_TEST_TMPDIR/gold/p1"
	cp "$BATS_TEST_TMPDIR/gold.ndjson" "$BATS_TEST_TMPDIR/gold/p0/part-0.ndjson"
	cp "$BATS_TEST_TMPDIR/gold.ndjson" "$BATS_TEST_TMPDIR/gold/p1/part-0.ndjson"
	echo 'not a view' > "$BATS_TEST_TMPDIR/gold/p1/.part-0.ndjson.tmp.1"	# a writer's temp file
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold"
	echo "$output" | jq -e -s 'map(.event_count) == [4, 2] and .[0].avg_magnitude == 2'
	# Early rows: the final row of the same window wins.
	{
		ev 2026-04-22T10:01:00Z a 1
		ev 2026-04-22T10:02:00Z a 2
		ev 2026-04-22T10:03:00Z a 3
		ev 2026-04-22T10:20:00Z a 3
	} | csa-window --tumbling 5m --by region --agg "$AGGS" --emit early:1m > "$BATS_TEST_TMPDIR/early.ndjson"
	grep -q '"early":true' "$BATS_TEST_TMPDIR/early.ndjson"
	run -0 csa-merge --speed "$BATS_TEST_TMPDIR/early.ndjson"
	echo "$output" | jq -e -s 'map(.event_count) == [3, 1] and all(.early | not)'
	# Early rows alone: the latest of each window, marked early.
	grep '"early":true' "$BATS_TEST_TMPDIR/early.ndjson" > "$BATS_TEST_TMPDIR/early-only"
	want=$(jq -s -c 'group_by(.window_start) | map(last.event_count)' "$BATS_TEST_TMPDIR/early-only")
	run -0 csa-merge --speed "$BATS_TEST_TMPDIR/early-only"
	echo "$output" | jq -e -s --argjson want "$want" 'map(.event_count) == $want and all(.early)'
}

@test "row identity: a repeated row counts once; parts of a window from different partitions add up" {
	cd "$BATS_TEST_TMPDIR"
	csa-usgs-fetch --url "file://$(bryn_json)" | jq -s -c 'sort_by(.time) | .[]' > week
	# Two partitions, each read by its own member with its own csa-window.
	awk 'NR % 2' week > p0
	awk 'NR % 2 == 0' week > p1
	csa-window --preset earthquake < p0 > r0
	csa-window --preset earthquake < p1 > r1
	# The same events give the same rows, _id and all, on every run.
	csa-window --preset earthquake < p0 | cmp - r0
	jq -e -s 'all(._id | test("^[0-9a-f]{16}$"))' r0
	# In another order (held open to the end), the same windows keep their _id.
	shuf --random-source=week p0 | csa-window --preset earthquake --max-delay 30d > shuffled
	cmp <(jq -r ._id r0 | sort) <(jq -r ._id shuffled | sort)
	# Windows both members wrote: same window and group, other events, other _id.
	jq -s -e --slurpfile b r1 '[.[] | {window_start, region, _id}] as $a |
		[$b[] | {window_start, region, _id}] as $b |
		[$a[] as $x | $b[] | select(.window_start == $x.window_start and .region == $x.region)
			| [., $x]] | length > 100 and all(.[0]._id != .[1]._id)' r0

	jq -c -s 'group_by(.region) | map({region: .[0].region, n: length}) | .[]' week > want
	merge_counts() {
		csa-merge -v --speed - --by region --total 2> "$1.err" |
			jq -c -s 'map({region, n: .event_count}) | sort_by(.region) | .[]' > "$1"
	}
	cat r0 r1 | merge_counts parts
	cmp want parts
	# A member that wrote its rows again (a restart without --out): once.
	cat r0 r1 r0 | merge_counts again
	cmp want again
	grep -Eq "csa-merge: [0-9:.]+Z $(wc -l < r0) speed rows repeated \(the same _id\) counted once" again.err
	# Also through jsmn (an escape in every row) and with --every.
	sed 's/"window_type":"tumbling"/"window_type":"tumb\\u006cing"/' r0 > r0.esc
	cat r0 r1 r0.esc | merge_counts escaped
	cmp want escaped
	cat r0 r1 | csa-merge --speed - --by region --every 1d > daily
	cat r0 r1 r1 r0 | csa-merge --speed - --by region --every 1d | cmp - daily
	# Rows without an _id (hand-made, or from before it) still add up.
	jq -c 'del(._id)' r0 r0 | merge_counts plain
	[ "$(jq -s 'map(.n) | add' plain)" -eq $((2 * $(wc -l < p0))) ]
	# An _id that is not 16 hex digits is a bad line.
	{ head -n 1 r0 | jq -c '._id = "xyz"'; cat r1; } > bad
	run --separate-stderr csa-merge --speed bad --total
	assert_failure 1
	[[ "$stderr" == *"bad:1: _id is not 16 hex digits"* ]]
}

@test "views that do not fit together exit 2 saying what differs" {
	small_case
	csa-window --tumbling 5m --by region --by net=.event_id --agg "$AGGS" < "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/by2"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/by2"
	assert_failure 2
	[ -z "$output" ]
	[[ "$stderr" == *"the batch rows are grouped by (region) but the speed rows by (region,net)"* ]]

	csa-window --tumbling 5m --by region --agg 'event_count=count,avg_magnitude=max(magnitude)' \
		< "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/agg2"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/agg2"
	assert_failure 2
	[[ "$stderr" == *"aggregate 'avg_magnitude' is not the same in the two views"* ]]
	# Within one layer the message lists both sets of aggregates.
	cat "$BATS_TEST_TMPDIR/speed.ndjson" "$BATS_TEST_TMPDIR/agg2" > "$BATS_TEST_TMPDIR/mixed"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/mixed"
	assert_failure 2
	[[ "$stderr" == *"mixed:5: its aggregates (event_count=count(), avg_magnitude=max(magnitude)) differ from those of $BATS_TEST_TMPDIR/mixed:1 (event_count=count(), avg_magnitude=avg(magnitude), max_magnitude=max(magnitude), sd=stddev(magnitude))"* ]]

	# Within one file: a row grouped otherwise, named by file and line.
	cat "$BATS_TEST_TMPDIR/speed.ndjson" "$BATS_TEST_TMPDIR/by2" > "$BATS_TEST_TMPDIR/mixed"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/mixed"
	assert_failure 2
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/mixed:5: grouped by (region,net), but $BATS_TEST_TMPDIR/mixed:1 by (region)"* ]]

	jq -c 'del(._state)' "$BATS_TEST_TMPDIR/speed.ndjson" > "$BATS_TEST_TMPDIR/nostate"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/nostate"
	assert_failure 2
	[[ "$stderr" == *"nostate:1: a row without \"_state\" cannot be merged exactly"* ]]

	# Two views in one directory, unless one is named.
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/old"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/out"
	assert_failure 2
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/out holds several views (daily), (hourly): name one with --view"* ]]
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/out" --view hourly
	echo "$output" | jq -e -s 'length == 2'

	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --by net
	assert_failure 2
	[[ "$stderr" == *"--by: the rows have no group column 'net' (they are grouped by region)"* ]]
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --every 5m
	assert_failure 2
	[[ "$stderr" == *"is longer than a bucket"* ]]
	csa-window --hopping 10m/5m --by region --agg "$AGGS" < "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/hop"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/hop" --every 1h
	assert_failure 2
	[[ "$stderr" == *"hopping and sliding windows overlap"* ]]
}

@test "empty strings as a group value and as a view name are values like any other" {
	{
		ev 2026-04-22T10:10:00Z '' 1
		ev 2026-04-22T10:20:00Z a 3
	} > "$BATS_TEST_TMPDIR/old"
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --table
	assert_success
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 3 ]
	[[ "${lines[1]}" =~ ^2026-04-22T10:00:00.000Z\ +2026-04-22T11:00:00.000Z\ +1\ +1\  ]]
	jq -c '.view = ""' "$BATS_TEST_TMPDIR/gold.ndjson" > "$BATS_TEST_TMPDIR/blank.ndjson"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/blank.ndjson"
	assert_success
	[ -z "$stderr" ]
	echo "$output" | jq -e -s 'map(.region) == ["", "a"]'
}

@test "a first row skipped as bad still sets the layout: the rows after it merge" {
	small_case
	# The first row names its aggregates, then fails on a number: skipped.
	{ head -n 1 "$BATS_TEST_TMPDIR/speed.ndjson" | jq -c '._state.event_count.n = "x"'
	  tail -n +2 "$BATS_TEST_TMPDIR/speed.ndjson"; } > "$BATS_TEST_TMPDIR/first-bad"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/first-bad" --total --by ''
	assert_failure 1
	[[ "$stderr" == *"first-bad:1: _state.event_count: no count \"n\", skipped"* ]]
	[ "$(jq .event_count <<<"$output")" -eq $(($(wc -l < "$BATS_TEST_TMPDIR/speed.ndjson") - 1)) ]
}

@test "malformed lines are reported with file:line and skipped, exit 1" {
	small_case
	{
		head -n 1 "$BATS_TEST_TMPDIR/speed.ndjson"
		echo '{"window_start": broken'
		head -n 2 "$BATS_TEST_TMPDIR/speed.ndjson" | tail -n 1 | jq -c '.window_end = "soon"'
		head -n 2 "$BATS_TEST_TMPDIR/speed.ndjson" | tail -n 1 | jq -c '._state.event_count.n = "x"'
		tail -n +2 "$BATS_TEST_TMPDIR/speed.ndjson"
	} > "$BATS_TEST_TMPDIR/bad"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/bad"
	assert_failure 1
	[[ "$stderr" == *"bad:2: "*"skipped"* ]]
	[[ "$stderr" == *"bad:3: no window_start and window_end times, skipped"* ]]
	[[ "$stderr" == *"bad:4: _state.event_count: no count \"n\", skipped"* ]]
	[[ "$stderr" == *"3 bad lines skipped"* ]]
	echo "$output" | jq -e -s 'map(.event_count) == [1, 1, 1, 1]'
}

@test "a line nested 500,000 deep is one bad line, skipped at once; the rest merged" {
	small_case
	{
		head -n 1 "$BATS_TEST_TMPDIR/speed.ndjson"
		cat "$(deep_line)"
		tail -n +2 "$BATS_TEST_TMPDIR/speed.ndjson"
	} > "$BATS_TEST_TMPDIR/deep"
	run --separate-stderr timeout -k 5 60 csa-merge --speed "$BATS_TEST_TMPDIR/deep"
	assert_failure 1
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/deep:2: $DEEP_MSG, skipped"* ]]
	[[ "$stderr" == *"1 bad line skipped"* ]]
	echo "$output" | jq -e -s 'length == 4'
}

@test "--anomalies: speed windows over the batch mean plus SIGMA deviations" {
	# Batch, ten hours: 20-28 events an hour in a; 12 in b in even hours and
	# none in odd ones (empty hours count as 0).  Speed: a 5-minute window
	# with 6 events in a (over 2 + 3 * 0.25), one with 2, and 1 event in b
	# (over b's mean of 0.5, under 0.5 + 3 * 0.53).
	"$PY" - "$BATS_TEST_TMPDIR" <<-'EOF'
	import sys
	d = sys.argv[1]
	with open(d + "/old", "w") as f:
	    for h in range(10):
	        n = [20, 28, 24, 22, 26][h % 5]
	        for i in range(n):
	            f.write('{"event_id":"a%d-%d","time":"2026-04-22T%02d:%02d:%02dZ","region":"a","magnitude":1}\n' % (h, i, h, i * 2 + 1, 7))
	        for i in range(12 if h % 2 == 0 else 0):
	            f.write('{"event_id":"b%d-%d","time":"2026-04-22T%02d:%02d:30Z","region":"b","magnitude":1}\n' % (h, i, h, i * 5))
	with open(d + "/new", "w") as f:
	    for i in range(40):
	        f.write('{"event_id":"n%d","time":"2026-04-22T10:%02d:%02dZ","region":"a","magnitude":2}\n' % (i, i + 1, i))
	    f.write('{"event_id":"k","time":"2026-04-22T10:12:00Z","region":"b","magnitude":2}\n')
	EOF
	batch "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold.ndjson"
	speed "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed.ndjson"
	# Like with like: the 5-minute rows of 10:00-11:00 make one hourly count
	# (40 in a, 1 in b), compared with the hourly batch counts: a's mean is
	# 24, its deviation sqrt(80/9); b's mean 6, its deviation sqrt(40).
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --anomalies 3
	echo "$output" | jq -e -s 'length == 1 and .[0].region == "a" and .[0].event_count == 40
		and .[0].window_start == "2026-04-22T10:00:00.000Z" and .[0].window_end == "2026-04-22T11:00:00.000Z"
		and .[0].is_anomaly and .[0].baseline_mean == 24 and .[0].partial
		and ((.[0].threshold - (24 + 3 * (80 / 9 | sqrt))) | fabs) < 1e-9'
	# No margin: a is over its mean, b's one event is not.
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --anomalies 0
	echo "$output" | jq -e -s 'map([.region, .event_count]) == [["a", 40]]'
	# --from selects the windows shown; the baseline stays the whole view.
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --anomalies 3 \
		--from 2026-04-22T10:00:00Z
	echo "$output" | jq -e -s 'length == 1 and .[0].baseline_mean == 24'
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --anomalies 3 \
		--from 2026-04-22T11:00:00Z
	[ -z "$output" ]
	# Hopping rows overlap: added into hours they would count events twice.
	csa-window --hopping 10m/5m --by region --agg "$AGGS" < "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/hop"
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/hop" --anomalies 2
	assert_failure 2
	[[ "$stderr" == *"--anomalies: hopping and sliding windows overlap"* ]]
}

@test "--anomalies on stationary Poisson counts: about the false-positive rate at 2 sigma; a burst is flagged" {
	# Four regions, 30 events an hour each at random moments: 20 days for
	# the batch view, then 5 days of 5-minute speed rows, with one burst
	# (twice the rate for an hour in region r2).  For Poisson(30) the
	# threshold mean + 2 sd is about 41, and P(X >= 41) = 3.2%.
	"$PY" - "$BATS_TEST_TMPDIR" <<-'EOF'
	import json, random, sys
	random.seed(7)
	d = sys.argv[1]
	t0 = 1767225600000
	def hour(f, h, region, n):
	    for i in range(n):
	        t = t0 + h * 3600000 + random.randrange(1, 3600000)
	        f.write(json.dumps({"event_id": "%s-%d-%d" % (region, h, i), "time": t, "region": region}) + "\n")
	def poisson(lam):
	    n, t = 0, random.expovariate(lam)
	    while t < 1:
	        n, t = n + 1, t + random.expovariate(lam)
	    return n
	with open(d + "/old", "w") as old, open(d + "/new", "w") as new:
	    for h in range(25 * 24):
	        for r in ("r0", "r1", "r2", "r3"):
	            n = poisson(30) + (poisson(30) if (h, r) == (22 * 24 + 7, "r2") else 0)
	            hour(old if h < 20 * 24 else new, h, r, n)
	EOF
	csa-batch-agg --tumbling 1h --view hourly --by region --agg n=count "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold"
	sort -t: -k3 "$BATS_TEST_TMPDIR/new" | jq -c -s 'sort_by(.time) | .[]' |
		csa-window --tumbling 5m --by region --agg n=count > "$BATS_TEST_TMPDIR/speed"
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold" --speed "$BATS_TEST_TMPDIR/speed" --anomalies 2
	flagged=$(printf '%s\n' "$output" | grep -c is_anomaly || true)
	echo "# $flagged of 480 hourly windows flagged at 2 sigma" >&3
	# 480 windows, 3.2% expected (15): between 1% and 6% with room to spare.
	[ "$flagged" -ge 5 ] && [ "$flagged" -le 29 ]
	# The burst, at 2 and at 4 sigma.
	printf '%s\n' "$output" | jq -e -s 'any(.region == "r2" and .window_start == "2026-01-23T07:00:00.000Z")'
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold" --speed "$BATS_TEST_TMPDIR/speed" --anomalies 4
	printf '%s\n' "$output" | jq -e -s 'length >= 1 and length <= 2 and
		any(.region == "r2" and .window_start == "2026-01-23T07:00:00.000Z")'
}

# real_views: two real USGS snapshots, the old part through the hub,
# capture and csa-batch-agg ($BATS_TEST_TMPDIR/gold/hourly), the recent
# part through csa-window (speed.ndjson); all the events in "all".
real_views() {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140321.geojson" > "$BATS_TEST_TMPDIR/a"
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/b"
	cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" > "$BATS_TEST_TMPDIR/all"
	# The split: events up to 2014-03-25 are old (revisions and all), the
	# rest are recent, seen once each by the speed layer.
	cut=$(date -d 2014-03-25T00:00:00Z +%s)000
	jq -c "select(.time <= $cut)" "$BATS_TEST_TMPDIR/all" | csa-eh-send
	csa-eh-send --close-all-windows
	csa-capture-read "$CSA_HUB/capture" | csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold"
	jq -c -s 'group_by(.event_id) | map(max_by(.updated)) | sort_by(.time) | .[]' "$BATS_TEST_TMPDIR/all" |
		jq -c "select(.time > $cut)" | csa-window --preset earthquake > "$BATS_TEST_TMPDIR/speed.ndjson"
	[ -s "$BATS_TEST_TMPDIR/speed.ndjson" ]
}

@test "real data: capture -> batch for the old part, window for the recent part, merged = jq" {
	real_views
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --total
	# Every column of the speed preset is in the answer: the batch preset
	# computes the same ones.
	echo "$output" | jq -c -s 'map({region, n: .event_count, avg: .avg_magnitude, max: .max_magnitude,
		sig: .significant_count, tsu: .tsunami_alerts}) | sort_by(.region)' \
		> "$BATS_TEST_TMPDIR/ours"
	jq -c -s 'group_by(.event_id) | map(max_by(.updated)) | map(select((.status // "") != "deleted"))
		| group_by(.region) | map({region: .[0].region, n: length,
		avg: (map(.magnitude) | add / length), max: (map(.magnitude) | max),
		sig: map(select(.magnitude >= 5)) | length,
		tsu: map(select(.tsunami_flag == 1)) | length}) | sort_by(.region)' \
		"$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/jq"
	jq -e -n --slurpfile a "$BATS_TEST_TMPDIR/ours" --slurpfile b "$BATS_TEST_TMPDIR/jq" '
		$a[0] as $x | $b[0] as $y | ($x | length) == ($y | length) and ($x | length) > 3 and
		all(range($x | length); $x[.].region == $y[.].region and $x[.].n == $y[.].n and
			$x[.].max == $y[.].max and (($x[.].avg - $y[.].avg) | fabs) < 1e-9 and
			$x[.].sig == $y[.].sig and $x[.].tsu == $y[.].tsu)'
	# The data has tsunami events, so the column is not all zeros.
	jq -e 'map(.tsu) | add > 0' "$BATS_TEST_TMPDIR/jq"
	# Both layers took part.
	echo "$output" | jq -e -s 'any(.data_freshness == "batch+realtime")'
}

@test "rows read by simdjson and rows read by jsmn give the same answer, byte for byte" {
	real_views
	cd "$BATS_TEST_TMPDIR"
	# merge NAME BATCH SPEED: the answer in NAME, -v's report in NAME.err.
	merge() {
		csa-merge -v --batch "$2" --speed "$3" --by region --every 1h > "$1" 2> "$1.err"
	}
	find gold/hourly -type f -name "*.ndjson" | sort | xargs cat > gold.ndjson
	merge plain gold.ndjson speed.ndjson
	rows=$(($(wc -l < gold.ndjson) + $(wc -l < speed.ndjson)))
	[ "$rows" -gt 100 ]
	# All but the first row of each view took the fast way.
	grep -Eq "csa-merge: [0-9:.]+Z $((rows - 2)) rows read by simdjson" plain.err
	jq -e -s 'length > 50 and any(.data_freshness == "batch-only") and
		any(.data_freshness == "realtime-only")' plain

	# An escape anywhere sends a row to jsmn: the answer is the same.
	for f in gold.ndjson speed.ndjson; do
		sed 's/"window_type":"tumbling"/"window_type":"tumb\\u006cing"/' "$f" > "$f.esc"
	done
	grep -q 'tumb\\u006cing' speed.ndjson.esc
	merge escaped gold.ndjson.esc speed.ndjson.esc
	grep -Eq "csa-merge: [0-9:.]+Z 0 rows read by simdjson" escaped.err
	cmp plain escaped

	# Counts written as 21.0 are jsmn's to read; a threshold written 5.0
	# is the 5 of the first row, to both readers; _state moved first and
	# "early": false said makes another layout, which the fast way learns
	# from the first row.
	sed -E '2~2s/("n":[0-9]+)/\1.0/g; 3~3s/"v":5,/"v":5.0,/' gold.ndjson > gold.odd
	grep -q '"n":[0-9]*\.0' gold.odd
	grep -q '"v":5\.0,' gold.odd
	jq -c '{_state} + . + {early: false}' speed.ndjson > speed.moved
	merge odd gold.odd speed.moved
	cmp plain odd
	n=$(sed -n 's/^csa-merge: [0-9:.]*Z \([0-9]*\) rows read by simdjson.*/\1/p' odd.err)
	[ "$n" -gt 0 ] && [ "$n" -lt $((rows - 2)) ]
}

@test "a full disk exits 3; a closed pipe is quiet" {
	small_case
	run --separate-stderr sh -c "csa-merge --batch '$BATS_TEST_TMPDIR/gold.ndjson' --table > /dev/full"
	assert_failure 3
	stdout_faults "csa-merge --batch '$BATS_TEST_TMPDIR/gold.ndjson' --speed '$BATS_TEST_TMPDIR/speed.ndjson'"
	[[ "$stderr" == *"csa-merge: "* ]]
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/nothing-here"
	assert_failure 3
	[[ "$stderr" == *"nothing-here"* ]]
}

@test "a line over the 1 MiB limit is named once, skipped, and the rest merged" {
	small_case
	{
		head -n 1 "$BATS_TEST_TMPDIR/speed.ndjson"
		head -c 1100000 /dev/zero | tr '\0' 'a'; echo
		tail -n +2 "$BATS_TEST_TMPDIR/speed.ndjson"
	} > "$BATS_TEST_TMPDIR/long"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/long"
	assert_failure 1
	[[ "$stderr" == *"long:2: line longer than 1048576 bytes"* ]]
	# The place is said once, as for every other bad line.
	[ "$(grep -o 'long:2:' <<< "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == *"1 bad line skipped"* ]]
	echo "$output" | jq -e -s 'length == 4'
}

@test "past ten bad lines, only their count is reported" {
	small_case
	{ for i in $(seq 1 13); do echo "bad $i"; done; cat "$BATS_TEST_TMPDIR/speed.ndjson"; } > "$BATS_TEST_TMPDIR/bad"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/bad"
	assert_failure 1
	[ "$(grep -c ', skipped$' <<< "$stderr")" -eq 10 ]
	[[ "$stderr" == *"bad:10: "* && "$stderr" != *"bad:11: "* ]]
	[[ "$stderr" == *"more of these follow (not JSON); only their count is reported"* ]]
	[[ "$stderr" == *"13 bad lines skipped"* ]]
	echo "$output" | jq -e -s 'length == 4'
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-merge --speed /dev/null <<-'EOF'
	--bogus|unknown option '--bogus'
	-Q|unknown option '-Q'
	-vQ|unknown option '-Q'
	--batch|option '--batch' needs a value
	-e|option '-e' needs a value
	--table=yes|option '--table' takes no value
	--t|option '--t' is ambiguous
	--every 0|--every: '0' is not a duration of 1ms or more
	--every hourly|--every: 'hourly' is not a duration of 1ms or more
	--overlap -1h|--overlap: '-1h' is not a duration of 0s or more
	EOF
	usage_faults csa-merge --batch /dev/null --speed /dev/null <<-'EOF'
	--anomalies -1|--anomalies: '-1' is not a number from 0 to 1e+06
	--anomalies x|--anomalies: 'x' is not a number from 0 to 1e+06
	EOF
}

# same_rows FORMAT NDJSON OTHER: python's csv module reads OTHER (csv or
# tsv) back to the rows of NDJSON: a header of every member in the order
# first seen, each number the shortest text that reads back to the same
# double (python's repr), null and missing empty, arrays and objects JSON.
same_rows() {
	/usr/bin/python3 - "$@" <<-'PY'
	import csv, json, sys
	fmt, nd, other = sys.argv[1:]
	rows = [json.loads(l) for l in open(nd)]
	names = []
	for r in rows:
	    names += [k for k in r if k not in names]
	def untsv(s):
	    out, i = [], 0
	    while i < len(s):
	        if s[i] == "\\":
	            out.append({"t": "\t", "n": "\n", "r": "\r", "\\": "\\"}[s[i + 1]]); i += 2
	        else:
	            out.append(s[i]); i += 1
	    return "".join(out)
	if fmt == "csv":
	    got = list(csv.reader(open(other, newline="")))
	else:
	    got = [[untsv(f) for f in l.rstrip("\n").split("\t")] for l in open(other)]
	assert got[0] == names, (got[0], names)
	assert len(got) == len(rows) + 1, (len(got), len(rows))
	digits = lambda s: s.lstrip("-").replace(".", "").lstrip("0").split("e")[0].split("E")[0].rstrip("0")
	nums = 0
	for r, g in zip(rows, got[1:]):
	    assert len(g) == len(names), g
	    for k, cell in zip(names, g):
	        v = r.get(k)
	        if v is None:
	            assert cell == "", (k, cell)
	        elif isinstance(v, bool):
	            assert cell == ("true" if v else "false"), (k, cell)
	        elif isinstance(v, (int, float)):
	            assert float(cell) == v, (k, cell, v)
	            if isinstance(v, float):
	                assert len(digits(cell)) <= len(digits(repr(v))), (k, cell, repr(v))
	                nums += 1
	        elif isinstance(v, str):
	            assert cell == v, (k, cell, v)
	        else:
	            assert json.loads(cell) == v, (k, cell)
	print(nums)
	PY
}

@test "--format csv and tsv: a header row, every member, numbers exact and shortest (python reads them back)" {
	real_views
	cd "$BATS_TEST_TMPDIR"
	csa-merge --batch gold/hourly --speed speed.ndjson > merged.ndjson
	# A string that needs quoting or escaping, and an empty one.
	printf '%s\n' '{"window_start":"2014-03-01T00:00:00.000Z","window_end":"2014-03-01T01:00:00.000Z","region":"a, \"b\"\tc\\d","n":1,"_state":{"n":{"f":"count","n":1}}}' \
		'{"window_start":"2014-03-01T00:00:00.000Z","window_end":"2014-03-01T01:00:00.000Z","region":"","n":2,"_state":{"n":{"f":"count","n":2}}}' > odd.ndjson
	for f in csv tsv; do
		run -0 csa-merge --batch gold/hourly --speed speed.ndjson --format "$f"
		printf '%s\n' "$output" > "merged.$f"
		run -0 same_rows "$f" merged.ndjson "merged.$f"
		[ "$output" -gt 50 ]	# fractions checked
		csa-merge --speed odd.ndjson > odd.out
		csa-merge --speed odd.ndjson --format "$f" > "odd.$f"
		same_rows "$f" odd.out "odd.$f"
	done
	grep -q '^"a, ""b""	c\\d",' <(cut -d, -f3- odd.csv)
	grep -q ',"",' odd.csv
	# ndjson is the default; table is --table.
	csa-merge --batch gold/hourly --speed speed.ndjson --format ndjson | cmp - merged.ndjson
	cmp <(csa-merge --batch gold/hourly --speed speed.ndjson --table) \
		<(csa-merge --batch gold/hourly --speed speed.ndjson --format table)
	run -2 csa-merge --speed speed.ndjson --format xml
	assert_output --partial "--format: 'xml' is not ndjson, csv, tsv or table"
}

@test "--no-state leaves out _state and nothing else" {
	real_views
	cd "$BATS_TEST_TMPDIR"
	for args in "--every 1d" "--total" ""; do
		# shellcheck disable=SC2086
		csa-merge --batch gold/hourly --speed speed.ndjson $args > with
		# shellcheck disable=SC2086
		csa-merge --batch gold/hourly --speed speed.ndjson $args --no-state > without
		[ -s without ]
		! grep -q _state without || false
		jq -c 'del(._state)' with | cmp - without
	done
	csa-merge --batch gold/hourly --speed speed.ndjson --anomalies 0 --no-state > without
	! grep -q _state without
}

@test "the letters -b, -s and -e still work, each with a warning naming the long option" {
	printf '%s\n' '{"window_type":"tumbling","window_start":"2026-04-22T10:00:00.000Z","window_end":"2026-04-22T11:00:00.000Z","region":"a","event_count":2,"_state":{"event_count":{"f":"count","n":2}}}' > "$BATS_TEST_TMPDIR/gold.ndjson"
	printf '%s\n' '{"window_type":"tumbling","window_start":"2026-04-22T11:00:00.000Z","window_end":"2026-04-22T11:05:00.000Z","region":"a","event_count":1,"_state":{"event_count":{"f":"count","n":1}}}' > "$BATS_TEST_TMPDIR/speed.ndjson"
	run --separate-stderr csa-merge -b "$BATS_TEST_TMPDIR/gold.ndjson" -s "$BATS_TEST_TMPDIR/speed.ndjson" -e 1h
	assert_success
	old=$output
	[[ "$stderr" == *"-b is deprecated: write --batch"* ]]
	[[ "$stderr" == *"-s is deprecated: write --speed"* ]]
	[[ "$stderr" == *"-e is deprecated: write --every"* ]]
	run --separate-stderr csa-merge --batch "$BATS_TEST_TMPDIR/gold.ndjson" --speed "$BATS_TEST_TMPDIR/speed.ndjson" --every 1h
	assert_success
	[ -z "$stderr" ]
	[ "$output" = "$old" ]
	[ "$(jq -s 'map(.event_count) | add' <<< "$output")" -eq 3 ]
}

@test "--anomalies on the real week: the flagged hours are python's, at 0 to 3 sigma" {
	# The man page's case: batch views of 1 to 6 July 2020 (the reference
	# presets), five-minute speed rows from 7 July on.  Python alone: each
	# region's event count in every hour (start, end] of the batch span,
	# empty hours 0, gives the mean and the sample deviation; an hour of
	# the speed events is flagged when its count is above mean + s * sd.
	cd "$BATS_TEST_TMPDIR"
	csa-usgs-fetch --url "file://$(bryn_json)" > week
	jq -c 'select(.time < 1594080000000)' week > old
	jq -c 'select(.time >= 1594080000000)' week > new
	csa-batch-agg --preset earthquake --out gold < old
	csa-window --preset earthquake < new > speed.ndjson
	for s in 0 1 2 3; do
		"$PY" - old new "$s" > want <<-'PYEOF'
		import collections, json, math, sys
		H = 3600000
		def hour(t):            # the start of the hour (start, end] that holds t
		    return -((-t) // H) * H - H
		def counts(path):
		    c = collections.Counter()
		    for line in open(path):
		        e = json.loads(line)
		        c[(hour(e["time"]), e["region"])] += 1
		    return c
		old, new, sigma = counts(sys.argv[1]), counts(sys.argv[2]), float(sys.argv[3])
		lo, hi = min(h for h, _ in old), max(h for h, _ in old) + H
		k = (hi - lo) // H
		out = []
		for (h, region), n in sorted(new.items()):
		    xs = [old.get((lo + i * H, region), 0) for i in range(k)]
		    mean = sum(xs) / k
		    sd = math.sqrt(sum((x - mean) ** 2 for x in xs) / (k - 1))
		    if n > mean + sigma * sd:
		        out.append("%d %s %d %.9f %.9f" % (h // 1000, region, n, mean, sd))
		print("\n".join(out))
		PYEOF
		csa-merge --batch gold/hourly --speed speed.ndjson --anomalies "$s" |
			jq -r '"\(.window_start | sub("\\.000Z$"; "Z") | fromdate) \(.region) \(.event_count) \(.baseline_mean * 1e9 | round / 1e9) \(.baseline_stddev * 1e9 | round / 1e9)"' > got
		"$PY" -c 'import sys
a = [l.split() for l in open(sys.argv[1]) if l.strip()]
b = [l.split() for l in open(sys.argv[2]) if l.strip()]
assert len(a) == len(b), (len(a), len(b))
for x, y in zip(sorted(a), sorted(b)):
    assert x[:3] == y[:3] and abs(float(x[3]) - float(y[3])) < 1e-6 and abs(float(x[4]) - float(y[4])) < 1e-6, (x, y)' want got
		echo "# $s sigma: $(wc -l < got) hours flagged" >&3
	done
	# --from and --to choose rows of that list; the baselines stay those of
	# the whole batch view.
	csa-merge --batch gold/hourly --speed speed.ndjson --anomalies 1 > all
	run -0 csa-merge --batch gold/hourly --speed speed.ndjson --anomalies 1 \
		--from 2020-07-08T00:00:00Z --to 2020-07-08T06:00:00Z
	[ "${#lines[@]}" -eq 3 ]
	[ "$(printf '%s\n' "$output" | jq -c .)" = "$(jq -c 'select(.window_start >= "2020-07-08T00:00:00.000Z" and
		.window_end <= "2020-07-08T06:00:00.000Z")' all)" ]
	# The one hour the man page names at 2 sigma.
	run -0 csa-merge --batch gold/hourly --speed speed.ndjson --anomalies 2
	echo "$output" | jq -e -s 'length == 1 and .[0].region == "us-west" and .[0].event_count == 22
		and .[0].window_start == "2020-07-08T04:00:00.000Z" and (.[0].baseline_mean * 100 | round) == 1198'
}

@test "--anomalies per group: regions of 2 to 100 events an hour each flag their own 2-5% at 2 sigma" {
	# Stationary Poisson counts, a rate per region, 30 days of batch and
	# 30 of speed rows (python, fixed seed).  A baseline shared by the
	# regions would flag nearly every hour of the busy region and none of
	# the quiet ones; each region's own flags P(X > mean + 2 sd) of its
	# hours, for these rates 5.3%, 3.2%, 3.7%, 3.2% and 2.3%
	# (Poisson tails, csa-merge(1)).
	"$PY" - "$BATS_TEST_TMPDIR" <<-'EOF'
	import json, math, random, sys
	random.seed(30)
	d = sys.argv[1]
	t0 = 1767225600000
	rates = {"r2": 2, "r5": 5, "r12": 12, "r30": 30, "r100": 100}
	def poisson(lam):
	    # Knuth's product of uniforms, in pieces so exp(-lam) stays normal.
	    n = 0
	    while lam > 0:
	        step = min(lam, 30)
	        lam -= step
	        limit, p = math.exp(-step), random.random()
	        while p > limit:
	            n += 1
	            p *= random.random()
	    return n
	with open(d + "/old", "w") as old, open(d + "/new", "w") as new:
	    for h in range(60 * 24):
	        evs = []
	        for r, lam in rates.items():
	            evs += [(t0 + h * 3600000 + random.randrange(1, 3600001), r) for _ in range(poisson(lam))]
	        for i, (t, r) in enumerate(sorted(evs)):
	            (old if h < 30 * 24 else new).write('{"event_id":"%d-%d","time":%d,"region":"%s"}\n' % (h, i, t, r))
	EOF
	csa-batch-agg --tumbling 1h --view hourly --by region --agg n=count "$BATS_TEST_TMPDIR/old" > "$BATS_TEST_TMPDIR/gold"
	csa-window --tumbling 5m --by region --agg n=count < "$BATS_TEST_TMPDIR/new" > "$BATS_TEST_TMPDIR/speed"
	run -0 csa-merge --batch "$BATS_TEST_TMPDIR/gold" --speed "$BATS_TEST_TMPDIR/speed" --anomalies 2
	printf '%s\n' "$output" | jq -r '.region' | sort | uniq -c | sed 's/^/# /' >&3
	# 720 hours a region: each region's share is within 1% to 7%, and all
	# of them together within 2% to 5% of the 3600 hours.
	for r in r2 r5 r12 r30 r100; do
		n=$(printf '%s\n' "$output" | grep -c "\"region\":\"$r\"" || true)
		[ "$n" -ge 7 ] && [ "$n" -le 50 ] || { echo "$r: $n of 720 flagged"; return 1; }
	done
	total=$(printf '%s\n' "$output" | grep -c is_anomaly || true)
	[ "$total" -ge 72 ] && [ "$total" -le 180 ] || { echo "$total of 3600 flagged"; return 1; }
}
