#!/usr/bin/env bats
# The README's examples, as a user pastes them on a fresh machine: each
# one that needs no network (no USGS, Kafka or Azure) runs here, in order,
# in one directory, with HOME there (so the default hub is new) and
# CSA_HUB unset, as on a machine where nobody set anything up.

load helpers/common

# The commands of the README's Examples section, one a line: comments
# (whole lines, and after a command) dropped, continued lines (ending in
# |, && or \) joined.
examples() {
	awk '/^## Examples/ { on = 1; next } /^## / { on = 0 }
		on && /^    / { print substr($0, 5) }' "$CSA_SRCDIR/README.md" |
		grep -v '^#' | grep -v '^[[:space:]]*$' |
		awk '{ sub(/[[:space:]]+#[^"]*$/, ""); line = line $0 }
			/(\||&&|\\)[[:space:]]*$/ { sub(/\\[[:space:]]*$/, "", line); line = line " "; next }
			{ print line; line = "" }'
}

# Why a command cannot run here, or nothing when it can.  Needing a server
# counts as needing the network.
needs_network() {
	case "$1" in
	*kafka://* | *EVENTHUB_CONNECTION_STRING* | *--transport\ https*) echo "a Kafka cluster or Azure" ;;
	*load-postgres*) echo "a PostgreSQL server (tests/load.bats starts one)" ;;
	*csa-usgs-fetch*--url*) ;;
	*csa-usgs-fetch*) echo "the USGS" ;;
	*) ;;
	esac
}

@test "the README has examples, and each parses as bash" {
	examples > "$BATS_TEST_TMPDIR/ex"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/ex")" -ge 20 ]
	while IFS= read -r cmd; do
		bash -n -c "$cmd" || { echo "does not parse: $cmd"; return 1; }
	done < "$BATS_TEST_TMPDIR/ex"
}

@test "every README example that needs no network works as pasted" {
	home="$BATS_TEST_TMPDIR/home"
	mkdir -p "$home/work"
	cd "$home/work"
	# The examples' scripts are run from the clone, as its README is read there.
	ln -s "$CSA_SRCDIR/examples" examples
	# What a user has at hand: the real USGS events of a day in the default
	# hub (sent the way the README's own ingest line does, from a saved
	# feed), a clickstream, and toll booth readings.
	export HOME="$home"
	unset CSA_HUB
	bash -c 'csa-usgs-fetch -s usgs.state --pending \
		--url "file://$0" | csa-eh-send -k region && mv usgs.state.pending usgs.state' \
		"$(bryn_json)"
	# ... and Capture files of it, as the cron line of csa(7) closes them
	# once their window has passed.
	csa-eh-send --close-all-windows
	"$PY" "$CSA_SRCDIR/examples/clickstream-gen.py" 500 > clicks.ndjson
	"$PY" - > tolls.ndjson <<-'PY'
	import json
	for i in range(200):
	    print(json.dumps({"TollId": i % 3 + 1, "time": "2026-04-22T08:%02d:%02dZ" % (i // 60, i % 60)}))
	PY
	ran=0 skipped=0
	while IFS= read -r cmd; do
		why=$(needs_network "$cmd")
		if [ -n "$why" ]; then
			echo "# not run (needs $why): $cmd" >&3
			skipped=$((skipped + 1))
			continue
		fi
		# A follower (a reader without -e) runs until stopped: it must still
		# be running after five seconds, and end cleanly on SIGTERM.  Each
		# command runs in a process group of its own, so that the signal
		# reaches the whole pipeline.
		setsid bash -o pipefail -c "$cmd" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" \
			< /dev/null &
		pid=$!
		for _ in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		rc=0
		if kill -0 "$pid" 2>/dev/null; then
			if [[ "$cmd" == *csa-eh-recv* ]] && [[ "$cmd" != *" -e"* ]] &&
				[[ "$cmd" != *--exit-at-end* ]]; then
				# jq, say, dies of the signal (143); our commands end with 0.
				kill -TERM -- -"$pid"
				wait "$pid" || rc=$?
				[ "$rc" -ne 143 ] || rc=0
			else
				kill -KILL -- -"$pid"
				echo "still running after 5 s: $cmd"
				return 1
			fi
		else
			wait "$pid" || rc=$?
		fi
		if [ "$rc" -ne 0 ]; then
			echo "exit $rc: $cmd"
			cat "$BATS_TEST_TMPDIR/err"
			return 1
		fi
		ran=$((ran + 1))
	done < <(examples)
	echo "# $ran examples ran, $skipped need the network" >&3
	[ "$ran" -ge 12 ]
	# What they made is real: the batch views hold the week's events,
	# counted as jq counts the feed, and the README's CSV has a header.
	want=$(jq '.features | length' "$(bryn_json)")
	[ "$(cat gold/daily/*/*.ndjson | jq -s 'map(.event_count) | add')" -eq "$want" ]
	head -n 1 hourly.csv | grep -q '^window_start,window_end,region,event_count'
}
