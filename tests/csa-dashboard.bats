#!/usr/bin/env bats
# csa-dashboard: the live view driven through tmux (a real terminal), the
# plain snapshot against golden output and against jq, and bad input.

load helpers/common

# events FEED: event lines of a bundled USGS feed, through csa-usgs-fetch.
events() {
	csa-usgs-fetch --all --url "file://$1"
}

setup() {
	SOCK="csa-dash-$$-$BATS_TEST_NUMBER"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	tmux -L "${SOCK%-b}" kill-server 2>/dev/null || true
}

# in_tmux W H CMD [STATUS]: run the shell command CMD in a detached W x H
# tmux pane on $SOCK; its exit status goes to STATUS (a file name in the
# test's directory, default "status").
in_tmux() {
	tmux -L "$SOCK" -f /dev/null new-session -d -s dash -x "$1" -y "$2" \
		"$3; echo \$? > '$BATS_TEST_TMPDIR/${4:-status}'; sleep 30" 3>&-
}

# pane: what the tmux pane shows now.
pane() {
	tmux -L "$SOCK" capture-pane -p -t dash
}

# The figures jq computes from an event file: "lt1 1to3 3to4 4to5 ge5 max".
jq_figures() {
	jq -rs 'map(.magnitude | numbers) as $m |
		[($m | map(select(. < 1)) | length),
		 ($m | map(select(. >= 1 and . < 3)) | length),
		 ($m | map(select(. >= 3 and . < 4)) | length),
		 ($m | map(select(. >= 4 and . < 5)) | length),
		 ($m | map(select(. >= 5)) | length),
		 ($m | max)] | map(tostring) | join(" ")' "$1"
}

# The top location by jq: the part of place after the last comma, with the
# state codes this feed uses spelled out; "NAME COUNT".
jq_top_location() {
	jq -rs '{"CA":"California","NV":"Nevada","MX":"Mexico"} as $codes |
		map(.place | strings | split(",") | last | gsub("^\\s+|\\s+$"; "") |
			($codes[.] // .)) |
		group_by(.) | map([.[0], length]) | sort_by(-.[1], .[0]) | .[0] |
		"\(.[0]) \(.[1])"' "$1"
}

# A magnitude bucket's count as the screen shows it.
bucket() {
	printf '%s\n' "$1" | awk -v label="$2" 'index($0, label) == 1 {
		split(substr($0, length(label) + 1), f, " "); print f[1]; exit }'
}

@test "--help, --version, and bad options exit 2 with the Try line" {
	run csa-dashboard --help
	assert_success
	assert_output --partial "Usage: csa-dashboard"
	run csa-dashboard --version
	assert_success
	assert_output --partial "csa-dashboard (csa-streaming)"
	assert_output --partial "ncurses"
	for args in "--bogus" "--interval 0" "--interval soon" "--alert-magnitude big" \
		"--now yesterday" "a b"; do
		run --separate-stderr csa-dashboard $args
		assert_failure 2
		[[ "$stderr" == *"Try 'csa-dashboard --help'"* ]] || { echo "$args: $stderr"; return 1; }
	done
}

@test "the plain snapshot of a real feed matches its golden output" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	LC_ALL=C csa-dashboard --once --now 2014-04-01T12:00:00Z "$BATS_TEST_TMPDIR/ev" \
		> "$BATS_TEST_TMPDIR/out"
	diff -u "$DATA/dashboard/utero_20140401.txt" "$BATS_TEST_TMPDIR/out"
	# Standard input, not a terminal: the same snapshot without --once.
	LC_ALL=C csa-dashboard --now 2014-04-01T12:00:00Z < "$BATS_TEST_TMPDIR/ev" \
		> "$BATS_TEST_TMPDIR/out2"
	cmp "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/out2"
}

@test "the snapshot's figures are jq's, and the significant list is the feed's" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	run csa-dashboard --once --alert-magnitude 6.5 "$BATS_TEST_TMPDIR/ev"
	assert_success
	read -r lt1 a b c ge5 max <<< "$(jq_figures "$BATS_TEST_TMPDIR/ev")"
	[ "$(bucket "$output" "4.0-4.9")" = "$c" ]
	[ "$(bucket "$output" "5.0+")" = "$ge5" ]
	assert_output --partial "events $(jq -s length "$BATS_TEST_TMPDIR/ev")  "
	assert_output --partial "all time $max "
	# Newest first: the latest event of magnitude 6.5 or more, or with the
	# tsunami flag, heads the list.
	local first want
	first=$(printf '%s\n' "$output" | grep -A1 '^Significant events' | tail -n1)
	want=$(jq -rs 'map(select(.magnitude >= 6.5 or .tsunami_flag == 1)) |
		max_by(.time) | .place' "$BATS_TEST_TMPDIR/ev")
	[[ "$first" == *"$want" ]] || { echo "$first / $want"; return 1; }
	assert_output --partial \
		"(magnitude 6.5 or more, or tsunami): $(jq -s 'map(select(.magnitude >= 6.5 or .tsunami_flag == 1)) | length' "$BATS_TEST_TMPDIR/ev")"
}

@test "a revision below the alert magnitude leaves the significant list" {
	{
		echo '{"event_id":"a","magnitude":6.4,"place":"x, Chile","time":1000,"tsunami_flag":0}'
		echo '{"event_id":"b","magnitude":7.0,"place":"y, Peru","time":2000,"tsunami_flag":0}'
		echo '{"event_id":"a","magnitude":5.9,"place":"x, Chile","time":1000,"tsunami_flag":0}'
	} > "$BATS_TEST_TMPDIR/ev"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/ev"
	assert_success
	assert_output --partial "or tsunami): 1"
	local significant
	significant=$(printf '%s\n' "$output" | sed -n '/^Significant events/,$p')
	[[ "$significant" == *"y, Peru"* ]]
	[[ "$significant" != *"x, Chile"* ]]
	# The latest events keep the revision, once.
	[ "$(grep -c 'x, Chile' <<< "$output")" -eq 1 ]
}

@test "windows rows are told from events: active tumbling and hopping windows" {
	events "$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	csa-window --tumbling 5m --by region < "$BATS_TEST_TMPDIR/ev" > "$BATS_TEST_TMPDIR/rows"
	csa-window --hopping 5m/30s --by region < "$BATS_TEST_TMPDIR/ev" >> "$BATS_TEST_TMPDIR/rows"
	cat "$BATS_TEST_TMPDIR/ev" "$BATS_TEST_TMPDIR/rows" > "$BATS_TEST_TMPDIR/all"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/all"
	assert_success
	# Events are only the event lines; rows are all counted.
	assert_output --partial "events $(wc -l < "$BATS_TEST_TMPDIR/ev")  "
	assert_output --partial "($(wc -l < "$BATS_TEST_TMPDIR/rows") rows)"
	# Active: distinct windows whose span reaches past the newest end of
	# their kind less their length, as jq counts them.
	local kind want
	for kind in tumbling hopping; do
		want=$(jq -rs --arg k "$kind" 'map(select(.window_type == $k) |
			[(.window_start | sub("\\.000Z$"; "Z") | fromdate),
			 (.window_end | sub("\\.000Z$"; "Z") | fromdate)]) | unique |
			(map(.[1]) | max) as $e | map(select(.[1] - .[0] > $e - .[1])) | length' \
			"$BATS_TEST_TMPDIR/rows")
		assert_output --partial "$kind $want "
	done
	[ "$want" -eq 10 ]
}

@test "bad lines are counted and shown, never fatal; good lines still count" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" | head -n 20 > "$BATS_TEST_TMPDIR/ev"
	{
		head -n 10 "$BATS_TEST_TMPDIR/ev"
		echo 'not json'
		echo '[1,2]'
		echo '{"event_id":"x",'
		head -c 1100000 /dev/zero | tr '\0' 'a'; echo
		tail -n 10 "$BATS_TEST_TMPDIR/ev"
	} > "$BATS_TEST_TMPDIR/mixed"
	run --separate-stderr csa-dashboard --once "$BATS_TEST_TMPDIR/mixed"
	assert_failure 1
	assert_output --partial "events 20  "
	assert_output --partial "bad lines 4"
	[[ "$stderr" == *"mixed:11: "* ]]
	[[ "$stderr" == *"mixed:12: not a JSON object"* ]]
	[[ "$stderr" == *"mixed:13: "* ]]
	[[ "$stderr" == *"mixed:14: line longer than"* ]]
}

@test "a line nested 500,000 deep is one bad line, counted at once; good lines still count" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" | head -n 20 > "$BATS_TEST_TMPDIR/ev"
	{ head -n 10 "$BATS_TEST_TMPDIR/ev"; cat "$(deep_line)"; tail -n 10 "$BATS_TEST_TMPDIR/ev"; } \
		> "$BATS_TEST_TMPDIR/mixed"
	run --separate-stderr timeout -k 5 60 csa-dashboard --once "$BATS_TEST_TMPDIR/mixed"
	assert_failure 1
	assert_output --partial "events 20  "
	assert_output --partial "bad lines 1"
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/mixed:11: $DEEP_MSG"* ]]
}

@test "over-long lines are named as other bad lines are: the first ten, then counted" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" | head -n 5 > "$BATS_TEST_TMPDIR/ev"
	{
		for _ in $(seq 1 12); do head -c 1100000 /dev/zero | tr '\0' 'a'; echo; done
		cat "$BATS_TEST_TMPDIR/ev"
	} > "$BATS_TEST_TMPDIR/long"
	run --separate-stderr csa-dashboard --once "$BATS_TEST_TMPDIR/long"
	assert_failure 1
	assert_output --partial "events 5  "
	assert_output --partial "bad lines 12"
	[ "$(grep -c 'line longer than' <<< "$stderr")" -eq 10 ]
	[[ "$stderr" == *"long:10: line longer than"* && "$stderr" != *"long:11: "* ]]
	[[ "$stderr" == *"more bad lines follow; only their count is reported"* ]]
}

@test "with --interval and a file for output, a snapshot every interval" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	{ head -n 100 "$BATS_TEST_TMPDIR/ev"; sleep 1; tail -n +101 "$BATS_TEST_TMPDIR/ev"; sleep 1; } |
		csa-dashboard --interval 200ms > "$BATS_TEST_TMPDIR/out"
	# Several snapshots, parted by blank lines; the first ones saw part of
	# the input, the last one all of it.
	[ "$(grep -c '^ csa-dashboard' "$BATS_TEST_TMPDIR/out")" -ge 3 ]
	grep -q '^events 100  ' "$BATS_TEST_TMPDIR/out"
	[ "$(grep '^events' "$BATS_TEST_TMPDIR/out" | tail -n1 | cut -d' ' -f2)" = 465 ]
	[ "$(grep -c '^$' "$BATS_TEST_TMPDIR/out")" -eq "$(( $(grep -c '^ csa-dashboard' "$BATS_TEST_TMPDIR/out") - 1 ))" ]
}

@test "tmux: a 100x30 pane shows jq's figures; 80x24 keeps every panel; q exits 0" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	events "$(bryn_json)" > "$BATS_TEST_TMPDIR/ev"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	in_tmux 100 30 "TERM=screen LC_ALL=C.UTF-8 csa-dashboard < '$BATS_TEST_TMPDIR/fifo'"
	exec 8> "$BATS_TEST_TMPDIR/fifo"
	cat "$BATS_TEST_TMPDIR/ev" >&8
	wait_for 20 'pane | grep -q "^events $(wc -l < "$BATS_TEST_TMPDIR/ev")  "'
	local screen
	screen=$(pane)
	printf '%s\n' "$screen"
	read -r lt1 a b c ge5 max <<< "$(jq_figures "$BATS_TEST_TMPDIR/ev")"
	[ "$(bucket "$screen" "< 1.0")" = "$lt1" ]
	[ "$(bucket "$screen" "1.0-2.9")" = "$a" ]
	[ "$(bucket "$screen" "3.0-3.9")" = "$b" ]
	[ "$(bucket "$screen" "4.0-4.9")" = "$c" ]
	[ "$(bucket "$screen" "5.0+")" = "$ge5" ]
	[[ "$screen" == *"all time $max "* ]]
	local top
	top=$(jq_top_location "$BATS_TEST_TMPDIR/ev")
	printf '%s\n' "$screen" | grep -A1 'Top locations' | tail -n1 |
		awk -v n="${top% *}" -v c="${top##* }" '{ ok = index($0, n) && $NF == c } END { exit !ok }'
	[[ "$screen" == *"live"* ]]
	# Smaller: every panel still there.
	tmux -L "$SOCK" resize-window -t dash -x 80 -y 24
	wait_for 10 '[ "$(pane | wc -L)" -le 80 ] && pane | grep -q "q quit"'
	screen=$(pane)
	printf '%s\n' "$screen"
	local panel
	for panel in "events " "Input " "Magnitude" "5.0+" "Top locations" "Events per hour" \
		"Active windows" "Map world" "Latest events" "Significant events" "q quit"; do
		[[ "$screen" == *"$panel"* ]] || { echo "missing: $panel"; return 1; }
	done
	# The end of input leaves the last state on screen until q.
	exec 8>&-
	wait_for 10 'pane | grep -q "input ended"'
	pane | grep -q "^events $(wc -l < "$BATS_TEST_TMPDIR/ev")  "
	tmux -L "$SOCK" send-keys -t dash q
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/status" ]'
	[ "$(cat "$BATS_TEST_TMPDIR/status")" = 0 ]
}

@test "tmux: p freezes the display while input is still read, r resets" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	in_tmux 100 30 "TERM=screen csa-dashboard -i 100ms < '$BATS_TEST_TMPDIR/fifo'"
	exec 8> "$BATS_TEST_TMPDIR/fifo"
	head -n 400 "$BATS_TEST_TMPDIR/ev" >&8
	wait_for 10 'pane | grep -q "^events 400  "'
	tmux -L "$SOCK" send-keys -t dash p
	wait_for 10 'pane | grep -q paused'
	tail -n +401 "$BATS_TEST_TMPDIR/ev" >&8
	sleep 0.5
	pane | grep -q "^events 400  "
	tmux -L "$SOCK" send-keys -t dash p
	wait_for 10 'pane | grep -q "^events 465  "'
	tmux -L "$SOCK" send-keys -t dash r
	wait_for 10 'pane | grep -q "^events 0  "'
	pane | grep -q "no event yet"
	echo '{"event_id":"z","magnitude":7.1,"place":"z, Tonga","time":1}' >&8
	wait_for 10 'pane | grep -q "^events 1  "'
	pane | grep -q "z, Tonga"
	exec 8>&-
	tmux -L "$SOCK" send-keys -t dash q
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/status" ]'
	[ "$(cat "$BATS_TEST_TMPDIR/status")" = 0 ]
}

@test "tmux: NO_COLOR, a tiny terminal, and stdin being the terminal" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	in_tmux 30 6 "TERM=screen NO_COLOR=1 csa-dashboard < /dev/null"
	wait_for 10 'pane | grep -q "too small"'
	tmux -L "$SOCK" send-keys -t dash q
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/status" ]'
	[ "$(cat "$BATS_TEST_TMPDIR/status")" = 0 ]
	# A second server: the first may still be on its way out.
	SOCK=$SOCK-b
	in_tmux 100 30 "TERM=screen csa-dashboard 2> '$BATS_TEST_TMPDIR/err'" status2
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/status2" ]'
	[ "$(cat "$BATS_TEST_TMPDIR/status2")" = 2 ]
	grep -q "standard input is the terminal" "$BATS_TEST_TMPDIR/err"
}

@test "UTF-8 terminals get block bars; a full disk exits 3; head -n1 is quiet" {
	events "$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	run env LC_ALL=C.UTF-8 csa-dashboard --once "$BATS_TEST_TMPDIR/ev"
	assert_success
	assert_output --partial "█"
	run bash -c "csa-dashboard --once '$BATS_TEST_TMPDIR/ev' > /dev/full"
	assert_failure 3
	run --separate-stderr bash -c "csa-dashboard --once '$BATS_TEST_TMPDIR/ev' | head -n1"
	assert_success
	[ -z "$stderr" ]
	run --separate-stderr csa-dashboard --once "$BATS_TEST_TMPDIR/missing"
	assert_failure 3
	[[ "$stderr" == *"missing"* ]]
}
