#!/usr/bin/env bats
# csa-eh-send into the embedded hub: batches, keys, concurrency, crashes, Capture.

load helpers/common

setup() {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
}

teardown() {
	kill_bg
}

@test "a bad option exits 2 with the Try line; bad values name the option" {
	run --separate-stderr csa-eh-send --bogus
	assert_failure 2
	[[ "$stderr" == *"Try 'csa-eh-send --help'"* ]]
	for args in "--batch-size 0" "--partitions 0" "--capture-size lots" "--retention forever" \
		"--capture-format {Bogus}" "--linger-ms -1" "--partition x"; do
		run --separate-stderr csa-eh-send $args
		assert_failure 2
		[[ "$stderr" == *"${args%% *}"* ]] || { echo "$args: $stderr"; return 1; }
	done
	run --separate-stderr csa-eh-send --partition-key '.a |||' </dev/null
	assert_failure 2
	[[ "$stderr" == *"--partition-key"*"syntax error"* ]]
	run --separate-stderr csa-eh-send -k '' </dev/null
	assert_failure 2
	[[ "$stderr" == *"--partition-key: an empty expression"* ]]
}

@test "real events go in and come out byte for byte" {
	ev=$(usgs_events)
	run --separate-stderr csa-eh-send < "$ev"
	assert_success
	[ -z "$stderr" ]
	diff <(sort "$ev") <(csa-eh-recv -e --bare | sort)
}

@test "files named on the command line are sent in order, after each other" {
	ev=$(usgs_events)
	head -n 10 "$ev" > "$BATS_TEST_TMPDIR/a"
	tail -n 5 "$ev" > "$BATS_TEST_TMPDIR/b"
	run csa-eh-send -p 0 "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
	assert_success
	diff <(cat "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b") <(csa-eh-recv -e --bare)
}

@test "a bad line is reported with file:line and skipped; the good lines are sent; exit 1" {
	ev=$(usgs_events)
	{ head -n 3 "$ev"; echo '{"broken": '; echo '[1,2]'; sed -n 4,6p "$ev"; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-eh-send "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:4: invalid JSON"*"skipped"* ]]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:5: not a JSON object, skipped"* ]]
	[ "$(csa-eh-recv -e | wc -l)" -eq 6 ]
}

@test "a line nested 500,000 deep is one bad line, rejected at once; the good lines are sent" {
	ev=$(usgs_events)
	{ head -n 2 "$ev"; cat "$(deep_line)"; sed -n 3,4p "$ev"; } > "$BATS_TEST_TMPDIR/in"
	# timeout (then KILL, as a long parse may not see TERM): a regression
	# fails here instead of hanging the suite.
	run --separate-stderr timeout -k 5 60 csa-eh-send "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:3: $DEEP_MSG, skipped"* ]]
	[ "$(csa-eh-recv -e | wc -l)" -eq 4 ]
}

@test "--lazy: keys read as far as they go equal the checked read's on real data; faults at the key or in the structure still named" {
	ev=$(usgs_events)
	t=$BATS_TEST_TMPDIR
	csa-eh-send -H "$t/whole" --partitions 5 -k event_id "$ev"
	csa-eh-send -H "$t/lazy" --partitions 5 -k event_id --lazy "$ev"
	# Every event, its key and its partition, as jq reads the lines.
	keyed() { csa-eh-recv -H "$1" -e --meta | jq -c '[._eh.partition, ._eh.partition_key, (del(._eh) | tojson)]' | sort; }
	keyed "$t/whole" > "$t/got_whole"
	[ "$(wc -l < "$t/got_whole")" -eq "$(wc -l < "$ev")" ]
	diff <(jq -c '[.event_id, tojson]' "$ev" | sort) <(jq -c '[.[1], .[2]]' "$t/got_whole" | sort)
	diff "$t/got_whole" <(keyed "$t/lazy")
	# A bad number or escape in a member the key does not reach, or a
	# missing comma after the key, goes through with --lazy only (without
	# it the key is read in the pass that checks every value); a fault at
	# the key, brackets that do not close, or text after the object is
	# named the same with and without it.
	printf '%s\n' '{"event_id":"a","x":01}' '{"event_id":tru,"y":1}' '{"event_id":"b","y":[1,2}' \
		'{"y":1,"event_id":"d"}' '{"event_id":"e","x":1} junk' '{"event_id":"f\u0067","n":-0}' \
		'{"event_id":"g","x":1 "y":2}' '{"event_id":"h","x":[1,{"y":2}' '{"event_id":"i","x":1]}' \
		'{"event_id":"j","x":"\q"}' '{"event_id":"k","x":"caf\u00e9","y":[{"z":"\n"}]}' > "$t/bad"
	for l in "" --lazy; do
		run --separate-stderr csa-eh-send -H "$t/b$l" -k event_id $l "$t/bad"
		assert_failure 1
		[[ "$stderr" == *"$t/bad:2: invalid JSON at byte 13, skipped"* ]]
		[[ "$stderr" == *"$t/bad:3: invalid JSON at byte 25, skipped"* ]]
		[[ "$stderr" == *"$t/bad:5: invalid JSON at byte 24, skipped"* ]]
		[[ "$stderr" == *"$t/bad:8: invalid JSON: truncated at byte 30, skipped"* ]]
		[[ "$stderr" == *"$t/bad:9: invalid JSON at byte 22, skipped"* ]]
		if [ -z "$l" ]; then
			[[ "$stderr" == *"$t/bad:1: invalid JSON at byte 21, skipped"* ]]
			[[ "$stderr" == *"$t/bad:7: invalid JSON at byte 17, skipped"* ]]
			[[ "$stderr" == *"$t/bad:10: invalid JSON at byte 21, skipped"* ]]
			[[ "$stderr" == *"csa-eh-send: 8 bad lines skipped" ]]
		else
			[[ "$stderr" != *"$t/bad:1:"* && "$stderr" != *"$t/bad:7:"* && "$stderr" != *"$t/bad:10:"* ]]
			[[ "$stderr" == *"csa-eh-send: 5 bad lines skipped" ]]
		fi
	done
	# The keys as sent (the lines sent lazily are not all JSON: no jq here).
	sent_keys() { csa-eh-recv -H "$1" -e --meta | grep -o '"partition_key":"[^"]*"' | cut -d'"' -f4 |
		sort | tr '\n' ' '; }
	[ "$(sent_keys "$t/b--lazy")" = "a d fg g j k " ]
	# (the run above without --lazy)
	[ "$(sent_keys "$t/b")" = "d fg k " ]
	# A key deep in objects left open is refused too (found by review: a
	# skip past the key at every level read beyond stage 1's tokens).
	printf '%s\n' ' {"a":{"b":{"c":{"d":{"e":1}' '{"a":{"b":{"c":{"d":{"e":2}}}},"z":1 "q":2}' > "$t/deep"
	run --separate-stderr csa-eh-send -H "$t/d" -k a.b.c.d.e --lazy "$t/deep"
	assert_failure 1
	[ "$stderr" = "csa-eh-send: $t/deep:1: invalid JSON: truncated at byte 28, skipped
csa-eh-send: 1 bad line skipped" ]
	[ "$(sent_keys "$t/d")" = "2 " ]
	# Without -k a field there is nothing to read lazily: lines are checked whole.
	run --separate-stderr csa-eh-send -H "$t/c" --lazy "$t/bad"
	[[ "$stderr" == *"$t/bad:1: invalid JSON at byte 21, skipped"* ]]
}

@test "a key always lands in the partition librdkafka's murmur2 partitioner picks" {
	ev=$(usgs_events)
	run csa-eh-send --partitions 5 -k region < "$ev"
	assert_success
	csa-eh-recv -e --meta | jq -r '"\(._eh.partition_key) \(._eh.partition)"' | sort -u > "$BATS_TEST_TMPDIR/got"
	# One partition per key ...
	[ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/got" | uniq -d | wc -l)" -eq 0 ]
	# ... and it is librdkafka's.
	keys=$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/got")
	paste -d' ' <(echo "$keys") <(csa-rdkafka-partition 5 $keys) > "$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
}

@test "a jq expression and a number can be the key; no key spreads events evenly" {
	ev=$(usgs_events)
	run csa-eh-send -k '.net + "/" + .region' < "$ev"
	assert_success
	csa-eh-recv -e --meta -g a | jq -e -s 'all(._eh.partition_key == "\(.net)/\(.region)")' >/dev/null
	rm -rf "$CSA_HUB"
	run csa-eh-send -k time < "$ev"
	csa-eh-recv -e --meta -g b | jq -e -s 'all(._eh.partition_key == (.time | tostring))' >/dev/null
	rm -rf "$CSA_HUB"
	run csa-eh-send < "$ev"
	counts=$(csa-eh-recv -e --meta -g c | jq -r ._eh.partition | sort | uniq -c | awk '{print $1}')
	[ "$(echo "$counts" | wc -l)" -eq 4 ]
	[ $(( $(echo "$counts" | sort -n | tail -1) - $(echo "$counts" | sort -n | head -1) )) -le 1 ]
}

@test "events inserted 32 to a statement and the rest one by one: each row as computed apart" {
	ev=$(usgs_events)
	# Batches of 40: one statement of 32 events, then 8 of one; no key:
	# event i goes to partition i mod 4, after the ones before it there.
	run csa-eh-send --batch-size 40 < "$ev"
	assert_success
	sqlite3 -separator ' ' "$CSA_HUB/hub.db" \
		"SELECT part, seq, offset, quote(pkey), hex(body) FROM events ORDER BY part, seq" > "$BATS_TEST_TMPDIR/got"
	"$PY" - "$ev" > "$BATS_TEST_TMPDIR/want" <<'PYEOF'
import sys
rows, seq, off = [], [0] * 4, [0] * 4
for i, line in enumerate(open(sys.argv[1], "rb").read().splitlines()):
    p = i % 4
    rows.append((p, seq[p], off[p], "NULL", line.hex().upper()))
    seq[p] += 1
    off[p] += len(line)
for r in sorted(rows):
    print(*r)
PYEOF
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -gt 100 ]
	diff "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/want"
	# Keyed, in batches of 100 (three statements of 32, four of one):
	# every key is its own event's, and each partition's sequence
	# numbers and offsets run on without a gap.
	rm -rf "$CSA_HUB"
	run csa-eh-send -k region --batch-size 100 < "$ev"
	assert_success
	[ "$(sqlite3 "$CSA_HUB/hub.db" "SELECT count(*) FROM events")" -eq "$(wc -l < "$ev")" ]
	[ "$(sqlite3 "$CSA_HUB/hub.db" "SELECT count(*) FROM events
		WHERE CAST(pkey AS TEXT) IS NOT json_extract(body, '\$.region')")" -eq 0 ]
	[ "$(sqlite3 "$CSA_HUB/hub.db" "SELECT count(*) FROM (SELECT seq, offset,
		row_number() OVER w - 1 AS n, coalesce(sum(length(body)) OVER (w ROWS BETWEEN
		UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS o FROM events WINDOW w AS
		(PARTITION BY part ORDER BY seq)) WHERE seq != n OR offset != o")" -eq 0 ]
}

@test "4 concurrent senders x 50,000 keyed events: each exactly once in the hub and in Capture, order per key kept" {
	for s in 1 2 3 4; do
		"$PY" "$HELPERS/gen_events.py" "s$s" 50000 16 > "$BATS_TEST_TMPDIR/in$s"
	done
	pids=()
	for s in 1 2 3 4; do
		csa-eh-send -k key --batch-size 500 "$BATS_TEST_TMPDIR/in$s" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p"; done
	csa-eh-recv -e --meta > "$BATS_TEST_TMPDIR/out"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq 200000 ]
	[ "$(jq -r '"\(.src) \(.n)"' "$BATS_TEST_TMPDIR/out" | sort -u | wc -l)" -eq 200000 ]
	# Per source and key, the sequence order is the send order.
	jq -r '"\(.src) \(.key) \(._eh.partition) \(._eh.sequence_number) \(.n)"' "$BATS_TEST_TMPDIR/out" |
		sort -k1,1 -k2,2 -k4,4n | awk '$1 == s && $2 == k && $5 < n { bad = 1 } { s = $1; k = $2; n = $5 } END { exit bad }'
	# Capture: every event in exactly one file.
	run csa-eh-send --close-all-windows
	assert_success
	find "$CSA_HUB/capture" -name '*.avro' -print0 | xargs -0 "$PY" "$HELPERS/dump_capture.py" |
		jq -r '.body | fromjson | "\(.src) \(.n)"' | sort > "$BATS_TEST_TMPDIR/captured"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/captured")" -eq 200000 ]
	[ "$(uniq -d "$BATS_TEST_TMPDIR/captured" | wc -l)" -eq 0 ]
}

@test "a sender killed with SIGKILL mid-stream leaves no partial event, and what it reported is there" {
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	bg sh -c '"$0" "$1" k 100000 8 500 0.02 > "$2" 2>/dev/null' \
		"$PY" "$HELPERS/gen_events.py" "$BATS_TEST_TMPDIR/fifo"
	bg sh -c 'exec csa-eh-send -v --batch-size 200 < "$0" 2> "$1"' "$BATS_TEST_TMPDIR/fifo" "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	wait_for 20 'grep -q "in all" "$BATS_TEST_TMPDIR/err"'
	sleep 0.3
	kill -KILL "$pid"
	wait "$pid" || true
	! kill -0 "$pid" 2>/dev/null || false
	reported=$(grep -o '([0-9]* in all)' "$BATS_TEST_TMPDIR/err" | tail -1 | tr -dc 0-9)
	[ "$reported" -gt 0 ]
	csa-eh-recv -e > "$BATS_TEST_TMPDIR/out"
	got=$(wc -l < "$BATS_TEST_TMPDIR/out")
	[ "$got" -ge "$reported" ]
	[ "$got" -lt 100000 ]
	# Every stored event is whole and the stored ones are a prefix of the input.
	jq -e -s 'map(.n) | sort == [range(0; length)]' "$BATS_TEST_TMPDIR/out" >/dev/null
}

@test "Capture files: byte-identical schema, read the same by avrocat and python3-avro" {
	ev=$(usgs_events)
	run csa-eh-send -k region < "$ev"
	run csa-eh-send --close-all-windows -v
	assert_success
	[[ "$output" == *"wrote "*" capture file"* ]]
	files=$(find "$CSA_HUB/capture" -name '*.avro' | sort)
	[ -n "$files" ]
	# The schema text equals a real Capture file's, byte for byte.
	"$PY" "$HELPERS/dump_capture.py" --schema "$DATA/capture/cosh_54.avro" 2> "$BATS_TEST_TMPDIR/ref" >/dev/null
	for f in $files; do
		"$PY" "$HELPERS/dump_capture.py" --schema "$f" 2> "$BATS_TEST_TMPDIR/sch" >/dev/null
		cmp "$BATS_TEST_TMPDIR/ref" "$BATS_TEST_TMPDIR/sch"
	done
	# Both readers see the events that were sent.
	"$PY" "$HELPERS/dump_capture.py" $files | jq -r .body | sort > "$BATS_TEST_TMPDIR/py"
	for f in $files; do avrocat "$f"; done | jq -r '.Body.bytes' | sort > "$BATS_TEST_TMPDIR/avrocat"
	diff "$BATS_TEST_TMPDIR/py" <(sort "$ev")
	diff "$BATS_TEST_TMPDIR/avrocat" <(sort "$ev")
	# System properties as Event Hubs writes them.
	"$PY" "$HELPERS/dump_capture.py" $files | jq -e -s 'all(
		(.sys["x-opt-sequence-number"] == .seq) and (.sys["x-opt-offset"] == .offset)
		and (.sys["x-opt-enqueued-time"] | type == "number")
		and (.sys["x-opt-partition-key"] == (.body | fromjson | .region))
		and (.enqueued | test("^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4} [0-9]{1,2}:[0-9]{2}:[0-9]{2} [AP]M$")))' >/dev/null
	# The default path layout: {Namespace}/{EventHub}/{PartitionId}/Y/M/D/h/m/s.avro
	for f in $files; do
		[[ "${f#$CSA_HUB/capture/}" =~ ^local/events/[0-3]/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{2}/[0-9]{2}/[0-9]{2}\.avro$ ]]
	done
}

@test "Capture windows close by size, and a custom path format names the files" {
	ev=$(usgs_events)
	run csa-eh-send -p 0 --capture-size 8K \
		--capture-format 'p{PartitionId}--{Year}-{Month}-{Day}--{Hour}-{Minute}-{Second}' < "$ev"
	assert_success
	run csa-eh-send --close-all-windows
	files=$(find "$CSA_HUB/capture" -name '*.avro' | sort)
	[ "$(echo "$files" | wc -l)" -gt 3 ]
	for f in $files; do
		[[ "$(basename "$f")" =~ ^p0--[0-9]{4}-[0-9]{2}-[0-9]{2}--[0-9]{2}-[0-9]{2}-[0-9]{2}\.avro$ ]]
		# Under the size limit, unless a single event is larger.
		"$PY" "$HELPERS/dump_capture.py" "$f" | jq -e -s 'map(.body | length) | (add <= 8192 or length == 1)' >/dev/null
	done
	"$PY" "$HELPERS/dump_capture.py" $files | jq -r .seq | sort -n > "$BATS_TEST_TMPDIR/seqs"
	diff "$BATS_TEST_TMPDIR/seqs" <(seq 0 $(( $(wc -l < "$ev") - 1 )))
}

@test "windows that are not due stay open; --close-windows writes only due ones" {
	ev=$(usgs_events)
	run csa-eh-send --capture-interval 1h < "$ev"
	run csa-eh-send --close-windows
	assert_success
	[ -z "$(find "$CSA_HUB/capture" -name '*.avro')" ]
	run csa-eh-send --capture-interval 1s --close-windows
	sleep 1.1
	run csa-eh-send --close-windows
	assert_success
	[ -n "$(find "$CSA_HUB/capture" -name '*.avro')" ]
}

@test "retention purges old events, but never before they are captured" {
	ev=$(usgs_events)
	run csa-eh-send --retention 1s --capture-interval 1h < "$ev"
	sleep 1.2
	run csa-eh-send --close-windows
	[ "$(csa-eh-recv -e -g early | wc -l)" -eq "$(wc -l < "$ev")" ]
	run csa-eh-send --close-all-windows
	assert_success
	[ "$(csa-eh-recv -e -g late | wc -l)" -eq 0 ]
	"$PY" "$HELPERS/dump_capture.py" $(find "$CSA_HUB/capture" -name '*.avro') | jq -r .body | sort > "$BATS_TEST_TMPDIR/cap"
	diff "$BATS_TEST_TMPDIR/cap" <(sort "$ev")
}

@test "retention purges a partition's expired events in steps of 5000, each step its own transaction" {
	seq 12000 | jq -c '{i: .}' > "$BATS_TEST_TMPDIR/in"
	run csa-eh-send --retention 1s --no-capture -p 0 < "$BATS_TEST_TMPDIR/in"
	assert_success
	sleep 1.2
	# One look for due windows purges one step.
	run csa-eh-send --close-windows
	assert_success
	[ "$(csa-eh-recv -e -g one --bare | wc -l)" -eq 7000 ]
	[ "$(csa-eh-recv -e -g two --bare | head -n 1)" = '{"i":5001}' ]
	run csa-eh-send -p 1 <<< '{"i":"kept"}'
	assert_success
	run csa-eh-send --close-all-windows
	assert_success
	run csa-eh-recv -e -g all --bare
	assert_output '{"i":"kept"}'
}

@test "a purge reads a partition's expired events, not the whole hub" {
	command -v strace >/dev/null || skip "strace is not installed"
	# 40,000 events of 400 bytes that stay: some 1,000 pages of the database.
	"$PY" -c 'import sys
for i in range(40000): sys.stdout.write("{\"i\":%d,\"pad\":\"%s\"}\n" % (i, "x" * 380))' |
		csa-eh-send --no-capture
	# The first commit of a sender purges: it used to read them all.
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		run strace -f -e trace=pread64,read -o "$BATS_TEST_TMPDIR/trace" csa-eh-send <<< '{"i":"one more"}'
	assert_success
	reads=$(grep -c 'pread64(' "$BATS_TEST_TMPDIR/trace")
	echo "pread64 calls: $reads" >&3
	[ "$reads" -lt 200 ]
}

@test "events that trickle in are committed by the thread their arrival woke, not handed to another" {
	command -v strace >/dev/null || skip "strace is not installed"
	# A commit touches the WAL (utimensat), the readers' wake-up: see which
	# thread makes it.  A hand-over is a second wake-up on the events' way.
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		run strace -f -e trace=execve,utimensat -o "$BATS_TEST_TMPDIR/trace" \
		csa-eh-send < <(echo '{"a":1}'; sleep 0.3; echo '{"a":2}'; sleep 0.3; echo '{"a":3}')
	assert_success
	main=$(awk '/execve\(/ { print $1; exit }' "$BATS_TEST_TMPDIR/trace")
	[ "$(grep -c 'utimensat(' "$BATS_TEST_TMPDIR/trace")" -ge 3 ]
	[ -z "$(grep 'utimensat(' "$BATS_TEST_TMPDIR/trace" | awk -v m="$main" '$1 != m')" ]
	[ "$(csa-eh-recv -e | wc -l)" -eq 3 ]
}

@test "a hub path that cannot be a directory: exit 3 with a message" {
	touch "$BATS_TEST_TMPDIR/file"
	run --separate-stderr csa-eh-send -H "$BATS_TEST_TMPDIR/file/hub" < "$(usgs_events)"
	assert_failure 3
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/file"*"Not a directory"* ]] || [[ "$stderr" == *"not a directory"* ]]
}

@test "an unwritable hub directory: exit 3, nothing changed" {
	[ "$(id -u)" -ne 0 ] || skip "root writes anywhere: permissions cannot be tested as root"
	mkdir -p "$CSA_HUB"
	chmod 555 "$CSA_HUB"
	run --separate-stderr csa-eh-send < "$(usgs_events)"
	chmod 755 "$CSA_HUB"
	assert_failure 3
}

@test "a file that is not a hub database: exit 3, the file untouched" {
	mkdir -p "$CSA_HUB"
	head -c 4096 /dev/urandom > "$CSA_HUB/hub.db"
	cp "$CSA_HUB/hub.db" "$BATS_TEST_TMPDIR/before"
	run --separate-stderr csa-eh-send < "$(usgs_events)"
	assert_failure 3
	[[ "$stderr" == *"not a"*"hub database"* ]]
	cmp "$CSA_HUB/hub.db" "$BATS_TEST_TMPDIR/before"
	rm "$CSA_HUB/hub.db"
	sqlite3 "$CSA_HUB/hub.db" 'CREATE TABLE other(x); INSERT INTO other VALUES(1);'
	run --separate-stderr csa-eh-recv -e
	assert_failure 3
	[[ "$stderr" == *"not a csa hub database"* ]]
	[ "$(sqlite3 "$CSA_HUB/hub.db" 'SELECT count(*) FROM other')" -eq 1 ]
}

@test "the number of partitions of an existing event hub cannot change" {
	run csa-eh-send --partitions 3 < "$(usgs_events)"
	assert_success
	run --separate-stderr csa-eh-send --partitions 5 < /dev/null
	assert_failure 2
	[[ "$stderr" == *"has 3 partitions"* ]]
}

@test "SIGTERM stops reading, commits what was read, and exits 0" {
	term_reader 20 "$(usgs_events)" csa-eh-send --linger-ms 10000 --batch-size 100000
	[ "$TERM_RC" -eq 0 ]
	[ "$(csa-eh-recv -e | wc -l)" -eq 20 ]
}

@test "event hub names follow Event Hubs' rule wherever they enter; v1..2 is a name and its Capture works" {
	csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/ev"
	n=$(wc -l < "$BATS_TEST_TMPDIR/ev")
	csa-eh-send -n v1..2 -k region < "$BATS_TEST_TMPDIR/ev"
	run --separate-stderr csa-eh-send -n v1..2 --close-all-windows
	assert_success
	ls "$CSA_HUB/capture/local/v1..2" > /dev/null
	csa-capture-read "$CSA_HUB/capture" | jq -r .event_id | sort > "$BATS_TEST_TMPDIR/got"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/got")" -eq "$n" ]
	jq -r .event_id "$BATS_TEST_TMPDIR/ev" | sort | diff - "$BATS_TEST_TMPDIR/got"
	# Names Event Hubs refuses are refused at once, by the sender, the
	# receiver, and for Event Hubs itself, before anything is written.
	long=$(printf 'a%.0s' $(seq 257))
	for name in a/b .. .x x. -x x- 'a b' 'ü' "$long"; do
		for cmd in "csa-eh-send -H $BATS_TEST_TMPDIR/hub2" "csa-eh-recv -H $BATS_TEST_TMPDIR/hub2 -e"; do
			run --separate-stderr $cmd --eventhub "$name" <<< '{"a":1}'
			assert_failure 2
			[[ "$stderr" == *"invalid event hub name '$name': Event Hubs takes 1 to 256"* ]] ||
				{ echo "$cmd $name: $stderr"; return 1; }
		done
	done
	[ ! -e "$BATS_TEST_TMPDIR/hub2" ]
	EVENTHUB_CONNECTION_STRING="Endpoint=sb://ns.example/;SharedAccessKeyName=a;SharedAccessKey=b" \
		run --separate-stderr csa-eh-send -n 'x/y' <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"invalid event hub name 'x/y'"* ]]
	# A Kafka topic follows Kafka's rule: _private is one, 'a b' is not.
	run --separate-stderr csa-eh-send -H kafka://127.0.0.1:9 -n 'a b' <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"invalid topic name 'a b'"* ]]
	# The longest name Event Hubs allows is taken.
	csa-eh-send -H "$BATS_TEST_TMPDIR/hub3" -n "$(printf 'b%.0s' $(seq 256))" <<< '{"a":1}'
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-eh-send <<-'EOF'
	--bogus|unknown option '--bogus'
	-Q|unknown option '-Q'
	-vQ|unknown option '-Q'
	--hub|option '--hub' needs a value
	-k|option '-k' needs a value
	--no-capture=1|option '--no-capture' takes no value
	--close 1|option '--close' is ambiguous
	--batch-size 0|--batch-size: '0' is not a number from 1 to 1000000
	--partitions 1025|--partitions: '1025' is not a number from 1 to 1024
	--partition -1|--partition: '-1' is not a number from 0 to 1023
	--linger-ms 61s|--linger-ms: '61s' is not a duration from 0s to 1m (a bare number is milliseconds)
	--linger-ms 60001|--linger-ms: '60001' is not a duration from 0s to 1m (a bare number is milliseconds)
	--linger-ms x|--linger-ms: 'x' is not a duration from 0s to 1m (a bare number is milliseconds)
	--capture-interval 5q|--capture-interval: '5q' is not a duration of 0s or more
	--capture-size 0|--capture-size: '0' is not a size of 1 or more
	--capture-size 10X|--capture-size: '10X' is not a size of 1 or more
	--retention -1d|--retention: '-1d' is not a duration of 0s or more
	--timeout 0s|--timeout: '0s' is not a duration of 1ms or more
	EOF
}

@test "--linger-ms takes milliseconds as before, and a duration" {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	# 60000 is the most: a minute in milliseconds, not 60000 seconds.
	for l in 0 20 20ms 0.5s 60000; do
		printf '{"a":1}\n' | csa-eh-send --linger-ms "$l" || { echo "-l $l"; return 1; }
	done
	run -0 csa-eh-recv -e --bare
	[ "${#lines[@]}" -eq 5 ]
}

@test "a file that cannot be opened is named; the files after it are still sent; exit 3" {
	printf '{"a":1}\n' > "$BATS_TEST_TMPDIR/a"
	printf '{"c":3}\n' > "$BATS_TEST_TMPDIR/c"
	run --separate-stderr csa-eh-send -H "$BATS_TEST_TMPDIR/hub" "$BATS_TEST_TMPDIR/a" \
		"$BATS_TEST_TMPDIR/missing" "$BATS_TEST_TMPDIR/c"
	assert_failure 3
	[[ "$stderr" == *"missing: No such file or directory"* ]]
	[ "$(csa-eh-recv -H "$BATS_TEST_TMPDIR/hub" -e --bare | jq -c . | tr '\n' ' ')" = '{"a":1} {"c":3} ' ]
}

@test "the letters -b and -l still work, each with a warning naming the long option" {
	run --separate-stderr csa-eh-send -H "$BATS_TEST_TMPDIR/h" -b 2 -l 1 <<< $'{"a":1}\n{"a":2}\n{"a":3}'
	assert_success
	[[ "$stderr" == *"-b is deprecated: write --batch-size"* ]]
	[[ "$stderr" == *"-l is deprecated: write --linger-ms"* ]]
	run -0 csa-eh-recv -H "$BATS_TEST_TMPDIR/h" -e --bare
	[ "$(jq -s -c 'map(.a) | sort' <<< "$output")" = "[1,2,3]" ]
	run --separate-stderr csa-eh-send -H "$BATS_TEST_TMPDIR/h" --batch-size 2 --linger-ms 1 <<< '{"a":4}'
	assert_success
	[ -z "$stderr" ]
	# -q: no warning; a bad line is still said, and its count, exit 1.
	printf '{"a":5}\n{"a"\n' > "$BATS_TEST_TMPDIR/in"
	quiet_silences "-b is deprecated" csa-eh-send -H "$BATS_TEST_TMPDIR/h" -b 2 "$BATS_TEST_TMPDIR/in"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"in:2: invalid JSON"* ]]
	[[ "$stderr" == *"1 bad line skipped"* ]]
}
