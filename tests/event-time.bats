#!/usr/bin/env bats
# Event time per partition: the speed layer as users type it, fed from the
# embedded hub, from Kafka and from a Capture replay, writes the rows of
# the same events sorted in one file, and counts no event late.  The real
# week feed (3236 events), sent keyed by region, arrives in chunks of one
# partition after another: with one watermark for the merged stream about
# a third of it was late.

load helpers/common

FAST_GROUP="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"

setup_file() {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_FILE_TMPDIR/week.ndjson"
	jq -s -c 'sort_by(.time) | .[]' "$BATS_FILE_TMPDIR/week.ndjson" |
		csa-window --preset earthquake > "$BATS_FILE_TMPDIR/sorted.out"
}

setup() {
	WEEK=$BATS_FILE_TMPDIR/week.ndjson
	SORTED=$BATS_FILE_TMPDIR/sorted.out
	T=$BATS_TEST_TMPDIR
}

teardown() {
	kill_bg
}

# check_rows OUT ERR: the rows are the sorted run's, byte for byte but for
# their _id (the lines through a hub carry its _eh), and the report counts
# every event and none late.
check_rows() {
	[ "$(wc -l < "$SORTED")" -eq 2324 ]
	cmp <(no_ids "$SORTED") <(no_ids "$1")
	grep -q "3236 events, 2324 rows, 0 early rows, 0 late" "$2"
}

# partitions FILE: how many partitions the events of FILE came from.
partitions() {
	jq -r '._eh.partition' "$1" | sort -u | wc -l
}

@test "embedded hub, 4 partitions keyed by region: csa-eh-recv | csa-window writes the sorted run's rows" {
	csa-eh-send -H "$T/hub" -k region < "$WEEK"
	csa-eh-recv -H "$T/hub" -g speed -e | csa-window --preset earthquake -v > "$T/out" 2> "$T/err"
	check_rows "$T/out" "$T/err"
	# The clock runs while the stream goes on (it starts once every
	# partition has been seen): still exact.
	csa-eh-recv -H "$T/hub" -g again -e > "$T/recv"
	[ "$(partitions "$T/recv")" -ge 2 ]
	csa-window --preset earthquake -v --partition-count "$(partitions "$T/recv")" \
		< "$T/recv" > "$T/out2" 2> "$T/err2"
	check_rows "$T/out2" "$T/err2"
	# The same lines, so the same _id too.
	cmp "$T/out" "$T/out2"
	# The delivery really is in chunks: without the partitions, events are late.
	csa-eh-recv -H "$T/hub" -g bare -e --bare | csa-window --preset earthquake -v \
		> /dev/null 2> "$T/err3"
	! grep -q " 0 late" "$T/err3"
}

@test "Kafka, 32 partitions keyed by region: csa-eh-recv | csa-window writes the sorted run's rows" {
	start_kafka_mock "$T" week:32
	hub="kafka://$MOCK_BROKERS"
	csa-eh-send -H "$hub" -n week -k region < "$WEEK"
	csa-eh-recv -H "$hub" -n week -g speed $FAST_GROUP -e |
		csa-window --preset earthquake -v > "$T/out" 2> "$T/err"
	check_rows "$T/out" "$T/err"
	csa-eh-recv -H "$hub" -n week -g again $FAST_GROUP -e > "$T/recv"
	[ "$(partitions "$T/recv")" -ge 2 ]
	csa-window --preset earthquake -v --partition-count "$(partitions "$T/recv")" \
		< "$T/recv" > "$T/out2" 2> "$T/err2"
	check_rows "$T/out2" "$T/err2"
}

@test "Capture replay: csa-capture-read | csa-window writes the sorted run's rows" {
	export CSA_HUB="$T/hub"
	csa-eh-send -k region < "$WEEK"
	csa-eh-send --close-all-windows
	csa-capture-read "$CSA_HUB/capture" | csa-window --preset earthquake -v > "$T/out" 2> "$T/err"
	check_rows "$T/out" "$T/err"
	csa-capture-read "$CSA_HUB/capture" > "$T/replay"
	csa-window --preset earthquake -v --partition-count "$(partitions "$T/replay")" \
		< "$T/replay" > "$T/out2" 2> "$T/err2"
	check_rows "$T/out2" "$T/err2"
}

@test "the time of each partition is kept in --state: two runs write the rows of one" {
	csa-eh-send -H "$T/hub" -k region < "$WEEK"
	csa-eh-recv -H "$T/hub" -e > "$T/recv"
	n=$(partitions "$T/recv")
	head -n 1700 "$T/recv" > "$T/a"
	tail -n +1701 "$T/recv" > "$T/b"
	csa-window --preset earthquake --partition-count "$n" --state "$T/st" --keep-open \
		< "$T/a" > "$T/out"
	grep -q '"part"' "$T/st"
	csa-window --preset earthquake --partition-count "$n" --state "$T/st" -v \
		< "$T/b" >> "$T/out" 2> "$T/err"
	cmp <(no_ids "$SORTED") <(no_ids "$T/out")
	grep -q " 0 late" "$T/err"
	# The windows open across the stop keep their _id: the state holds the
	# digests of the lines they took.
	csa-window --preset earthquake --partition-count "$n" < "$T/recv" | cmp - "$T/out"
}

@test "a quiet partition stops holding the clock back, with no more input; its next event is late" {
	mkfifo "$T/in"
	bg sh -c "exec csa-window --tumbling 1m --partition p -v < '$T/in' > '$T/out' 2> '$T/err'" 3>&-
	pid=$BG_PID
	exec 7> "$T/in"
	printf '%s\n' '{"p":0,"time":"2026-01-01T00:00:10Z"}' '{"p":"b","time":"2026-01-01T00:00:20Z"}' \
		'{"p":0,"time":"2026-01-01T00:03:00Z"}' >&7
	# Partition b says nothing more: after the idle time (5 s) the clock is
	# partition 0's, and the first window is written while input stays open.
	wait_for 30 '[ -s "$T/out" ]'
	jq -e '.window_end == "2026-01-01T00:01:00.000Z" and .count == 2' "$T/out" > /dev/null
	printf '%s\n' '{"p":"b","time":"2026-01-01T00:00:30Z"}' >&7
	exec 7>&-
	wait_for 30 '! kill -0 $pid'
	grep -q "4 events, 2 rows, 0 early rows, 1 late .*, 2 input partitions" "$T/err"
	[ "$(wc -l < "$T/out")" -eq 2 ]
}

@test "SIGTERM while csa-window waits on quiet partitions or --idle-timeout ends the run at once" {
	# The waits poll for input with a timeout; a signal during one must not
	# go on into a blocking read (or a second 60 s wait) before exiting.
	for opts in "--partition p" "--partition p --idle-timeout 60s" "--idle-timeout 60s"; do
		rm -f "$T/in"
		mkfifo "$T/in"
		bg sh -c "exec csa-window --tumbling 1m $opts -v < '$T/in' > '$T/out' 2> '$T/err'" 3>&-
		pid=$BG_PID
		exec 7> "$T/in"
		printf '%s\n' '{"p":0,"time":"2026-01-01T00:00:10Z"}' '{"p":1,"time":"2026-01-01T00:00:20Z"}' >&7
		sleep 1	# it has read both and waits, the pipe open and quiet
		kill -TERM "$pid"
		wait_for 10 '! kill -0 $pid' || { echo "$opts: still running 10 s after SIGTERM"; exec 7>&-; return 1; }
		exec 7>&-
	done
}

@test "a csa-window held up mid-backlog for longer than the idle time counts nothing late" {
	# Idleness is wall time spent waiting for input: a partition whose
	# events are already in the input is not idle however long csa-window
	# is held up, by its reader, the CPU, SIGSTOP or a suspend (it was:
	# 98,878 of 100,000 events late after a 6 s SIGSTOP).
	# 30 weeks: the real week feed, each copy a week later with new ids.
	for k in $(seq 0 29); do
		jq -c --argjson k "$k" '.time += $k * 604800000 | .event_id += "w\($k)"' "$WEEK"
	done > "$T/big"
	csa-eh-send -k region < "$T/big"
	csa-eh-recv -e > "$T/in"
	parts=$(partitions "$T/in")
	[ "$parts" -ge 2 ]
	csa-window -v --preset earthquake < "$T/in" > "$T/ref" 2> "$T/ref.err"
	grep -q "97080 events, .* 0 late" "$T/ref.err"
	# Its reader stops for 3 s after 100 rows: csa-window, blocked writing
	# with its input all there, waits for no input, so nothing goes idle.
	csa-window -v -u --idle-timeout 1s --partition-count "$parts" --preset earthquake \
		"$T/in" 2> "$T/err" | "$PY" -c 'import sys, time
out = open(sys.argv[1], "w")
for i, line in enumerate(sys.stdin):
    out.write(line)
    if i == 100:
        out.flush()
        time.sleep(3)' "$T/out"
	cmp "$T/ref" "$T/out"
	grep -q "97080 events, .* 0 late" "$T/err"
}

@test "input without partitions is one stream, as before" {
	csa-window --preset earthquake -v < "$WEEK" > "$T/out" 2> "$T/err"
	cmp "$SORTED" "$T/out"
	grep -q ", 0 input partitions" "$T/err"
}

@test "an _eh brought from an earlier hub is replaced, not repeated; --bare sends bodies on as they were" {
	head -n 20 "$WEEK" | csa-eh-send -H "$T/one" -k region
	csa-eh-recv -H "$T/one" -e | csa-eh-send -H "$T/two" -p 3
	csa-eh-recv -H "$T/two" -e > "$T/got"
	[ "$(wc -l < "$T/got")" -eq 20 ]
	[ "$(grep -o '"_eh"' "$T/got" | wc -l)" -eq 20 ]
	jq -s -e 'all(._eh == {"partition":3})' "$T/got" > /dev/null
	diff <(head -n 20 "$WEEK" | sort) <(csa-eh-recv -H "$T/one" -g bare -e --bare | sort)
	run csa-eh-recv -H "$T/one" --bare -m
	assert_failure 2
}
