#!/usr/bin/env bats
# One bad-record policy: every command that reads NDJSON says the same
# words for the same fault ("FILE:LINE: WHAT, skipped"), names the first
# ten of each kind, counts the rest ("more of these follow (KIND)"), ends
# with "N bad lines skipped", exits 1, and keeps the good lines.

load helpers/common

# The same bad input for every command: each kind of fault, then 12 lines
# that are not JSON, among real events.
setup_file() {
	local ev="$BATS_FILE_TMPDIR/ev" in="$BATS_FILE_TMPDIR/in"
	csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" | head -n 3 > "$ev"
	{
		sed -n 1p "$ev"
		echo '1'
		echo '[1,2]'
		echo '"text"'
		echo 'not json'
		echo '{"a":'
		head -c 1100000 /dev/zero | tr '\0' 'a'; echo
		sed -n 2p "$ev"
		for i in $(seq 1 12); do echo "nope $i"; done
		sed -n 3p "$ev"
	} > "$in"
}

# faults PROG: its bad-line messages with the program name and the
# directory taken off, one per line.
faults() {
	sed -n "s|^$1: $BATS_FILE_TMPDIR/||p" <<<"$stderr"
}

check() {
	local prog=$1
	shift
	run --separate-stderr "$@"
	assert_failure 1
	faults "$prog" > "$BATS_TEST_TMPDIR/$prog.faults"
	printf '%s\n' "in:2: not a JSON object, skipped" "in:3: not a JSON object, skipped" \
		"in:4: not a JSON object, skipped" > "$BATS_TEST_TMPDIR/want"
	head -n 3 "$BATS_TEST_TMPDIR/$prog.faults" | cmp - "$BATS_TEST_TMPDIR/want"
	grep -q "^in:5: invalid JSON at byte 5, skipped$" "$BATS_TEST_TMPDIR/$prog.faults"
	grep -q "^in:6: invalid JSON: truncated at byte 5, skipped$" "$BATS_TEST_TMPDIR/$prog.faults"
	grep -q "^in:7: line longer than 1048576 bytes, skipped$" "$BATS_TEST_TMPDIR/$prog.faults"
	# Ten of a kind: the two above and eight of the twelve; then a count.
	[ "$(grep -c '^in:[0-9]*: invalid JSON' "$BATS_TEST_TMPDIR/$prog.faults")" -eq 10 ]
	grep -q "^in:16: invalid JSON" "$BATS_TEST_TMPDIR/$prog.faults"
	! grep -q "^in:17:" "$BATS_TEST_TMPDIR/$prog.faults" || false
	[[ "$stderr" == *"$prog: more of these follow (not JSON); only their count is reported"* ]]
	[[ "$stderr" == *"$prog: 18 bad lines skipped"* ]]
}

@test "csa-window: the same words, ten of a kind, the count; the events taken" {
	check csa-window csa-window --tumbling 1d --agg n=count "$BATS_FILE_TMPDIR/in"
	[ "$(jq -s 'map(.n) | add' <<<"$output")" -eq 3 ]
}

@test "csa-eh-send: the same words, ten of a kind, the count; the events sent" {
	check csa-eh-send csa-eh-send -H "$BATS_TEST_TMPDIR/hub" "$BATS_FILE_TMPDIR/in"
	[ "$(csa-eh-recv -H "$BATS_TEST_TMPDIR/hub" -e | wc -l)" -eq 3 ]
	# With a key the lines are read as documents: the same words.
	check csa-eh-send csa-eh-send -H "$BATS_TEST_TMPDIR/hub" -k region "$BATS_FILE_TMPDIR/in"
}

@test "csa-batch-agg: the same words, ten of a kind, the count; the events kept" {
	check csa-batch-agg csa-batch-agg --tumbling 1d --agg n=count "$BATS_FILE_TMPDIR/in"
	[ "$(jq -s 'map(.n) | add' <<<"$output")" -eq 3 ]
}

@test "csa-merge: the same words for rows, ten of a kind, the count" {
	csa-window --tumbling 1d --agg n=count "$BATS_FILE_TMPDIR/ev" > "$BATS_TEST_TMPDIR/row"
	sed "1s|.*|$(cat "$BATS_TEST_TMPDIR/row" | sed 's/[&|]/\\&/g')|; 8s|.*|$(sed 's/[&|]/\\&/g' "$BATS_TEST_TMPDIR/row")|; 21s|.*|$(sed 's/[&|]/\\&/g' "$BATS_TEST_TMPDIR/row")|" \
		"$BATS_FILE_TMPDIR/in" > "$BATS_FILE_TMPDIR/rows"
	cp "$BATS_FILE_TMPDIR/rows" "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-merge --speed "$BATS_TEST_TMPDIR/in" --total
	assert_failure 1
	stderr=${stderr//$BATS_TEST_TMPDIR/$BATS_FILE_TMPDIR}
	faults csa-merge > "$BATS_TEST_TMPDIR/f"
	grep -q "^in:2: not a JSON object, skipped$" "$BATS_TEST_TMPDIR/f"
	grep -q "^in:7: line longer than 1048576 bytes, skipped$" "$BATS_TEST_TMPDIR/f"
	[ "$(grep -c '^in:[0-9]*: invalid JSON' "$BATS_TEST_TMPDIR/f")" -eq 10 ]
	[[ "$stderr" == *"csa-merge: more of these follow (not JSON); only their count is reported"* ]]
	[[ "$stderr" == *"csa-merge: 18 bad lines skipped"* ]]
	[ "$(jq .n <<<"$output")" -eq 3 ]
}

@test "csa-dashboard --once: the same words, ten of a kind, the count" {
	check csa-dashboard csa-dashboard --once "$BATS_FILE_TMPDIR/in"
	assert_output --partial "bad lines 18"
}
