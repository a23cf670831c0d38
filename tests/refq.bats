#!/usr/bin/env bats
# csa(7), THE REFERENCE QUERIES: each command of the section runs, in
# order, in one directory that holds the source's tests/ and examples/,
# and prints exactly the lines the page shows after it, so that the page
# cannot go stale.  The five-minute query is also checked against jq.

load helpers/common

# The section's literal blocks as records: "$ " starts a command, an
# indented line continues it, any other line is what it prints.  Written
# to DIR as cmd.N and want.N; prints the number of commands.
extract() {
	awk -v dir="$1" '
		function unescape(s) {
			gsub(/\\e/, "\\", s); gsub(/\\&/, "", s); gsub(/\\-/, "-", s)
			return s
		}
		/^\.Sh THE REFERENCE QUERIES/ { on = 1; next }
		/^\.Sh / { on = 0 }
		!on { next }
		/^\.Bd -literal/ { lit = 1; next }
		/^\.Ed/ { lit = 0; next }
		!lit { next }
		/^\$ / { n++; printf "%s\n", unescape(substr($0, 3)) > (dir "/cmd." n)
			printf "" > (dir "/want." n); next }
		/^[[:space:]]/ && n { printf "%s\n", unescape($0) >> (dir "/cmd." n); next }
		n { printf "%s\n", unescape($0) >> (dir "/want." n) }
		END { print n + 0 }' "$CSA_SRCDIR/man/csa.7"
}

@test "csa(7) THE REFERENCE QUERIES: every command prints what the page shows" {
	mkdir -p "$BATS_TEST_TMPDIR/page" "$BATS_TEST_TMPDIR/run"
	n=$(extract "$BATS_TEST_TMPDIR/page")
	[ "$n" -ge 30 ]
	cd "$BATS_TEST_TMPDIR/run"
	ln -s "$CSA_SRCDIR/tests" tests
	ln -s "$CSA_SRCDIR/examples" examples
	shown=0
	for i in $(seq 1 "$n"); do
		cmd=$(cat "$BATS_TEST_TMPDIR/page/cmd.$i")
		bash -n -c "$cmd" || { echo "does not parse: $cmd"; return 1; }
		rc=0
		bash -o pipefail -c "$cmd" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err" \
			< /dev/null || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "exit $rc: $cmd"
			cat "$BATS_TEST_TMPDIR/err"
			return 1
		fi
		if ! diff -u "$BATS_TEST_TMPDIR/page/want.$i" "$BATS_TEST_TMPDIR/out"; then
			echo "prints other than the page shows: $cmd"
			return 1
		fi
		[ ! -s "$BATS_TEST_TMPDIR/out" ] || shown=$((shown + 1))
	done
	echo "# $n commands ran, $shown with output the page shows" >&3
	[ "$shown" -ge 15 ]

	# The five-minute query, computed by jq alone from the events: each
	# event in the window (end - 5 min, end] of its epoch milliseconds,
	# per region.  Every column of every window, to 1e-9.
	jq -s -c 'map(. + {end: ((((.time + 299999) / 300000) | floor) * 300000)})
		| group_by([.end, .region]) | .[] | {
			end: ((.[0].end / 1000) | todate),
			region: .[0].region,
			n: length,
			avg: (map(.magnitude) | add / length),
			max: (map(.magnitude) | max),
			min: (map(.magnitude) | min),
			depth: (map(.depth_km) | add / length),
			sig: (map(select(.magnitude >= 5.0)) | length),
			tsu: (map(select(.tsunami_flag == 1)) | length) }' week |
		jq -c '.end |= sub("Z$"; ".000Z")' > want.5min
	jq -c '{end: .window_end, region, n: .event_count, avg: .avg_magnitude,
		max: .max_magnitude, min: .min_magnitude, depth: .avg_depth_km,
		sig: .significant_count, tsu: .tsunami_alerts}' 5min.ndjson > got.5min
	[ "$(wc -l < want.5min)" -eq "$(wc -l < got.5min)" ]
	"$PY" -c 'import json, sys
a = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda r: (r["end"], r["region"]))
b = sorted((json.loads(l) for l in open(sys.argv[2])), key=lambda r: (r["end"], r["region"]))
for x, y in zip(a, b):
    for k in x:
        if isinstance(x[k], float) or isinstance(y[k], float):
            assert abs(x[k] - y[k]) < 1e-9, (x, y)
        else:
            assert x[k] == y[k], (x, y)' want.5min got.5min
	# ... and the figures the page quotes for it are jq's too.
	summary=$(grep -l "{windows: length, events: (map(.event_count)" "$BATS_TEST_TMPDIR"/page/cmd.*)
	[ "$(jq -s -c '{windows: length, events: (map(.n) | add)}' want.5min)" = \
		"$(cat "${summary/cmd./want.}")" ]
}
