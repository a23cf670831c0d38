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

# screen_at_end WIDTH HEIGHT COMMAND: in_tmux, wait until the dashboard says
# its input ended, and print and keep in $screen what the pane shows.
screen_at_end() {
	in_tmux "$1" "$2" "$3"
	wait_for 20 'pane | grep -q "input ended"'
	screen=$(pane)
	printf '%s\n' "$screen"
}

# pane: what the tmux pane shows now.
pane() {
	tmux -L "$SOCK" capture-pane -p -t dash
}

# press KEY PATTERN: send a key to the dashboard, then wait until a line of
# the pane matches the grep PATTERN (with a leading !, until none does).
press() {
	tmux -L "$SOCK" send-keys -t dash "$1"
	if [ "${2:0:1}" = '!' ]; then
		wait_for 10 "! pane | grep -q -- '${2:1}'"
	else
		wait_for 10 "pane | grep -q -- '$2'"
	fi
}

# quit: press q and wait for the dashboard's exit status.
quit() {
	tmux -L "$SOCK" send-keys -t dash q
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/status" ]'
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
		"--now yesterday" "a b" "--chart 2h" "--map mars" "--map 10,0,5,1" "--map 1,2,3"; do
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

@test "the snapshot's figures are jq's, and the alert list is the feed's" {
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
	first=$(printf '%s\n' "$output" | grep -A1 '^Alerts' | tail -n1)
	want=$(jq -rs 'map(select(.magnitude >= 6.5 or .tsunami_flag == 1)) |
		max_by(.time) | .place' "$BATS_TEST_TMPDIR/ev")
	[[ "$first" == *"$want" ]] || { echo "$first / $want"; return 1; }
	assert_output --partial \
		"(magnitude 6.5 or more, or tsunami): $(jq -s 'map(select(.magnitude >= 6.5 or .tsunami_flag == 1)) | length' "$BATS_TEST_TMPDIR/ev")"
}

@test "a revision below the alert magnitude leaves the alert list" {
	{
		echo '{"event_id":"a","magnitude":6.4,"place":"x, Chile","time":1000,"tsunami_flag":0}'
		echo '{"event_id":"b","magnitude":7.0,"place":"y, Peru","time":2000,"tsunami_flag":0}'
		echo '{"event_id":"a","magnitude":5.9,"place":"x, Chile","time":1000,"tsunami_flag":0}'
	} > "$BATS_TEST_TMPDIR/ev"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/ev"
	assert_success
	assert_output --partial "or tsunami): 1"
	local alerts
	alerts=$(printf '%s\n' "$output" | sed -n '/^Alerts/,$p')
	[[ "$alerts" == *"y, Peru"* ]]
	[[ "$alerts" != *"x, Chile"* ]]
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
	[[ "$stderr" == *"more of these follow (over the line limit); only their count is reported"* ]]
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
		"Active windows" "Map world" "Latest events" "Alerts" "q quit"; do
		[[ "$screen" == *"$panel"* ]] || { echo "missing: $panel"; return 1; }
	done
	# The end of input leaves the last state on screen until q.
	exec 8>&-
	wait_for 10 'pane | grep -q "input ended"'
	pane | grep -q "^events $(wc -l < "$BATS_TEST_TMPDIR/ev")  "
	quit
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
	press p 'paused'
	tail -n +401 "$BATS_TEST_TMPDIR/ev" >&8
	sleep 0.5
	pane | grep -q "^events 400  "
	press p '^events 465  '
	press r '^events 0  '
	pane | grep -q "no event yet"
	echo '{"event_id":"z","magnitude":7.1,"place":"z, Tonga","time":1}' >&8
	wait_for 10 'pane | grep -q "^events 1  "'
	pane | grep -q "z, Tonga"
	exec 8>&-
	quit
	[ "$(cat "$BATS_TEST_TMPDIR/status")" = 0 ]
}

@test "tmux: NO_COLOR, a tiny terminal, and stdin being the terminal" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	in_tmux 30 6 "TERM=screen NO_COLOR=1 csa-dashboard < /dev/null"
	wait_for 10 'pane | grep -q "too small"'
	quit
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
	stdout_faults "csa-dashboard --once '$BATS_TEST_TMPDIR/ev'"
	run --separate-stderr csa-dashboard --once "$BATS_TEST_TMPDIR/missing"
	assert_failure 3
	[[ "$stderr" == *"missing"* ]]
}

# The new panels, each against a count made apart from the dashboard (jq
# over the same events), on the real week feed.

NOW=2020-07-08T21:00:00Z
NOW_MS=1594242000000

# week: the events of the bundled USGS week feed, once per test file.
week() {
	[ -s "$BATS_FILE_TMPDIR/week" ] || events "$(bryn_json)" > "$BATS_FILE_TMPDIR/week"
	echo "$BATS_FILE_TMPDIR/week"
}

# jq_hourly FILE REF_MS N: events in each of the N hours up to the one
# that holds REF_MS, oldest first.
jq_hourly() {
	jq -rs --argjson ref "$2" --argjson n "$3" '($ref / 3600000 | floor) as $last |
		map(.time / 3600000 | floor) as $h |
		[range($last - $n + 1; $last + 1) as $k | $h | map(select(. == $k)) | length] |
		map(tostring) | join(" ")' "$1"
}

# jq_max24 FILE REF_MS: the largest magnitude of the minutes after the
# one 24 hours before REF_MS's, up to REF_MS's own.
jq_max24() {
	jq -rs --argjson ref "$2" '($ref / 60000 | floor) as $last |
		map(select((.time / 60000 | floor) as $m | $m > $last - 1440 and $m <= $last) |
			.magnitude | numbers) | max' "$1"
}

# jq_latest FILE N: the ids of the N newest events by event time (the last
# version of each; equal times in the order they came), newest first.
jq_latest() {
	jq -rs --argjson n "$2" 'to_entries | group_by(.value.event_id) | map(last) |
		sort_by(-.value.time, .key) | .[:$n] | map(.value.event_id) | join(" ")' "$1"
}

# jq_cells FILE W,S,E,N ROWS COLS: "row col char" of every map cell with
# epicentres in the box: the whole part of the largest magnitude (0 to 9,
# ? without one), * for the newest event of all.
jq_cells() {
	jq -rs --argjson e "[$2]" --argjson R "$3" --argjson C "$4" '
		(max_by(.time) | .event_id) as $newest |
		map(select(.longitude >= $e[0] and .longitude <= $e[2] and
			.latitude >= $e[1] and .latitude <= $e[3]) |
			. + {col: ([((.longitude - $e[0]) / ($e[2] - $e[0]) * $C | floor), $C - 1] | min),
			     row: ([(($e[3] - .latitude) / ($e[3] - $e[1]) * $R | floor), $R - 1] | min)}) |
		group_by([.row, .col]) | map(
			(if any(.[]; .event_id == $newest) then "*"
			 else (map(.magnitude | numbers) |
				if length == 0 then "?" else (max | floor | [[., 0] | max, 9] | min | tostring) end)
			 end) as $ch | "\(.[0].row) \(.[0].col) \($ch)") | .[]' "$1" | sort
}

# screen_cells ROWS COLS: "row col char" of the cells of the map under the
# first line that starts with "Map " on standard input that show an
# epicentre (a digit, ? or *).
screen_cells() {
	PYTHONIOENCODING=utf-8 /usr/bin/python3 -c '
import sys
rows, cols = int(sys.argv[1]), int(sys.argv[2])
lines = sys.stdin.read().split("\n")
top = next(i for i, l in enumerate(lines) if l.startswith("Map "))
out = []
for r in range(rows):
    line = lines[top + 1 + r] if top + 1 + r < len(lines) else ""
    for c, ch in enumerate(line[:cols]):
        if ch.isdigit() or ch in "?*":
            out.append("%d %d %s" % (r, c, ch))
print("\n".join(sorted(out)))' "$@"
}

@test "--once on the real week feed: golden output in UTF-8 and in the C locale" {
	LC_ALL=C.UTF-8 csa-dashboard --once --now "$NOW" "$(week)" > "$BATS_TEST_TMPDIR/utf8"
	diff -u "$DATA/dashboard/brynnabridges_week_utf8.txt" "$BATS_TEST_TMPDIR/utf8"
	LC_ALL=C csa-dashboard --once --now "$NOW" --map=-125,32,-113,42 --chart 7d "$(week)" \
		> "$BATS_TEST_TMPDIR/c"
	diff -u "$DATA/dashboard/brynnabridges_week_c.txt" "$BATS_TEST_TMPDIR/c"
	# The UTF-8 map is braille; the C locale's map and chart are ASCII.
	grep -q '⣿' "$BATS_TEST_TMPDIR/utf8"
	! sed -n '/^Events per hour/,/^Latest events/p' "$BATS_TEST_TMPDIR/c" | LC_ALL=C grep -q '[^ -~]'
}

@test "the 24-hour max is jq's, to --now or to the newest event, beside the all-time max" {
	local all newest
	all=$(jq -s 'map(.magnitude | numbers) | max' "$(week)")
	newest=$(jq -s 'map(.time) | max' "$(week)")
	run csa-dashboard --once --now "$NOW" "$(week)"
	assert_success
	assert_output --partial "max magnitude 24h $(jq_max24 "$(week)" "$NOW_MS")  all time $all "
	# Not the same figure: the week's largest is days old.
	[ "$(jq_max24 "$(week)" "$NOW_MS")" != "$all" ]
	run csa-dashboard --once "$(week)"
	assert_output --partial "max magnitude 24h $(jq_max24 "$(week)" "$newest")  all time $all "
	# Two days later nothing is left in the 24 hours.
	run csa-dashboard --once --now 2020-07-10T21:00:00Z "$(week)"
	assert_output --partial "max magnitude 24h -  all time $all "
}

@test "the time chart's counts are jq's hourly counts: 24h and 7d, from events and from merged rows" {
	run csa-dashboard --once --now "$NOW" "$(week)"
	assert_success
	local counts
	counts=$(printf '%s\n' "$output" | grep -B1 '^Active windows' | head -n1 | tr -s ' ' | sed 's/ $//')
	[ "$counts" = "$(jq_hourly "$(week)" "$NOW_MS" 24)" ] || { echo "$counts"; return 1; }
	assert_output --partial "Events per hour, 24h to 2020-07-08 22:00 UTC of event time: $(jq_hourly "$(week)" "$NOW_MS" 24 | tr ' ' '\n' | jq -s add), "
	# 7d: 168 bins on 80 columns; the title's total is jq's for the week.
	run csa-dashboard --once --now "$NOW" --chart 7d "$(week)"
	assert_output --partial "7d to 2020-07-08 22:00 UTC of event time: $(jq_hourly "$(week)" "$NOW_MS" 168 | tr ' ' '\n' | jq -s add), "
	# The merged view's rows (csa-batch-agg, csa-merge): their event_count
	# summed by the hour they start.
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold" < "$(week)"
	csa-merge --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed /dev/null 2>/dev/null \
		> "$BATS_TEST_TMPDIR/merged"
	run csa-dashboard --once --now "$NOW" "$BATS_TEST_TMPDIR/merged"
	assert_success
	assert_output --partial "of event time" && return 1
	assert_output --partial "from the merged view"
	local want
	want=$(jq -rs --argjson ref "$NOW_MS" '($ref / 3600000 | floor) as $last |
		map({h: (.window_start | sub("\\.000Z$"; "Z") | fromdate / 3600 | floor), n: .event_count}) as $r |
		[range($last - 23; $last + 1) as $k | $r | map(select(.h == $k) | .n) | add // 0] |
		map(tostring) | join(" ")' "$BATS_TEST_TMPDIR/merged")
	counts=$(printf '%s\n' "$output" | grep -B1 '^Active windows' | head -n1 | tr -s ' ' | sed 's/ $//')
	[ "$counts" = "$want" ] || { echo "$counts / $want"; return 1; }
	# And they agree with the events' own count (the batch layer dedupes).
	[ "$want" = "$(jq_hourly "$(week)" "$NOW_MS" 24)" ]
}

@test "the latest events are jq's 20 newest, in order; a revision replaces its event" {
	run csa-dashboard --once "$(week)"
	assert_success
	local ids
	ids=$(printf '%s\n' "$output" | sed -n '/^Latest events/,/^Alerts/p' |
		sed '1,2d;$d' | awk '{ print $3 }' | paste -sd' ')
	[ "$ids" = "$(jq_latest "$(week)" 20)" ] || { echo "$ids"; return 1; }
	# The newest event revised to be older, and an event sent again: still
	# one line each, where their event time puts them.
	{ cat "$(week)"; jq -c 'select(.event_id == "nc73423506") | .time -= 3600000' "$(week)";
	  grep -m1 '"ci39284863"' "$(week)"; } > "$BATS_TEST_TMPDIR/rev"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/rev"
	ids=$(printf '%s\n' "$output" | sed -n '/^Latest events/,/^Alerts/p' |
		sed '1,2d;$d' | awk '{ print $3 }' | paste -sd' ')
	[ "$ids" = "$(jq_latest "$BATS_TEST_TMPDIR/rev" 20)" ] || { echo "$ids"; return 1; }
	[ "$(grep -c ci39284863 <<< "$output")" -eq 1 ]
}

@test "the map's epicentres are in the cells jq puts them in, for a box and for the world" {
	# The C locale: land is '.' and ':', so every digit is an epicentre.
	run env LC_ALL=C csa-dashboard --once --map=-125,32,-113,42 "$(week)"
	assert_success
	assert_output --partial "Map box -125,32,-113,42: $(jq -s 'map(select(.longitude >= -125 and
		.longitude <= -113 and .latitude >= 32 and .latitude <= 42)) | length' "$(week)") of 3236"
	# 80 columns, and rows for the box's shape: 80 * 10 / 12 / 2.
	screen_cells 33 80 <<< "$output" > "$BATS_TEST_TMPDIR/screen"
	jq_cells "$(week)" -125,32,-113,42 33 80 > "$BATS_TEST_TMPDIR/want"
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/screen"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -gt 50 ]
	grep -q ' \*$' "$BATS_TEST_TMPDIR/want"
	# The world, 80x20, in UTF-8 (land in braille).
	run env LC_ALL=C.UTF-8 csa-dashboard --once "$(week)"
	screen_cells 20 80 <<< "$output" > "$BATS_TEST_TMPDIR/screen"
	jq_cells "$(week)" -180,-90,180,90 20 80 > "$BATS_TEST_TMPDIR/want"
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/screen"
	# Known events by hand, 4.5 degrees a column and 9 a row: the week's
	# M6.6 north of Batang, Indonesia (110.68E 5.64S: column 64, row 10),
	# and the newest, at The Geysers, California (122.80W 38.82N: column
	# 12, row 5).
	grep -qx '10 64 6' "$BATS_TEST_TMPDIR/screen"
	grep -qx '5 12 \*' "$BATS_TEST_TMPDIR/screen"
}

# sgr_cells ROWS COLS: from a capture with colours (tmux -e) on standard
# input, "char foreground reverse" of each epicentre cell of the map under
# the first line that starts with "Map ".
sgr_cells() {
	PYTHONIOENCODING=utf-8 /usr/bin/python3 -c '
import re, sys
rows, cols = int(sys.argv[1]), int(sys.argv[2])
lines = sys.stdin.read().split("\n")
plain = [re.sub(r"\x1b\[[0-9;]*m", "", l) for l in lines]
top = next(i for i, l in enumerate(plain) if l.startswith("Map "))
fg, rev = "39", False
for r in range(rows):
    col = 0
    for tok in re.findall(r"\x1b\[[0-9;]*m|.", lines[top + 1 + r]):
        if tok.startswith("\x1b["):
            for p in (tok[2:-1] or "0").split(";"):
                if p in ("0", ""):
                    fg, rev = "39", False
                elif p == "7":
                    rev = True
                elif p == "27":
                    rev = False
                elif len(p) == 2 and p[0] == "3":
                    fg = p
            continue
        if col < cols and (tok.isdigit() or tok in "?*"):
            print(tok, fg, "reverse" if rev else "-")
        col += 1' "$@"
}

# cut_cols FROM: each line of standard input from character FROM (0 the
# first) on; cut -c counts bytes, and the map is braille.
cut_cols() {
	PYTHONIOENCODING=utf-8 /usr/bin/python3 -c '
import sys
for line in sys.stdin.read().splitlines():
    print(line[int(sys.argv[1]):])' "$@"
}

# display_widths: the width of each line of standard input on a terminal.
display_widths() {
	PYTHONIOENCODING=utf-8 /usr/bin/python3 -c '
import sys, unicodedata
for line in sys.stdin.read().splitlines():
    print(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line))'
}

@test "tmux 120x40: jq's hourly counts and 24-hour max, the latest events, magnitude colours on the map" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	local screen
	screen_at_end 120 40 "TERM=screen LC_ALL=C.UTF-8 csa-dashboard --now $NOW < '$(week)'"
	[ "$(display_widths <<< "$screen" | sort -n | tail -n1)" -le 120 ]
	[[ "$screen" == *"max magnitude 24h $(jq_max24 "$(week)" "$NOW_MS")  all time 6.6 "* ]]
	# 24 bins of 5 columns: each count under its bin.
	local counts
	counts=$(printf '%s\n' "$screen" | grep -B1 '^Active windows' | head -n1 | tr -s ' ' | sed 's/ $//')
	[ "$counts" = "$(jq_hourly "$(week)" "$NOW_MS" 24)" ] || { echo "$counts"; return 1; }
	# The latest events beside the map: as many as fit, jq's newest in
	# order (the narrow table has the time, not the id).
	local shown want n
	shown=$(printf '%s\n' "$screen" | cut_cols 72 | sed -n '/^Latest events/,$p' |
		sed '1,2d' | cut -c1-14 | grep -m "$(wc -l <<< "$screen")" '^[0-9][0-9]-' | sed '/^$/q')
	n=$(wc -l <<< "$shown")
	[ "$n" -ge 10 ]
	want=$(jq -r --argjson n "$n" -s 'sort_by(-.time) | .[:$n][] | .time / 1000 | todate |
		.[5:10] + " " + .[11:19]' "$(week)")
	[ "$shown" = "$want" ] || { diff <(echo "$shown") <(echo "$want"); return 1; }
	# Colours, as a screenshot shows them: each epicentre in its band's
	# colour (cyan below 1, blue to 2.9, yellow 3, magenta 4, red 5 and
	# up), the newest in reverse video.
	tmux -L "$SOCK" capture-pane -e -p -t dash > "$BATS_TEST_TMPDIR/colours"
	local rows
	rows=$(printf '%s\n' "$screen" | awk '/^Map / { top = NR } /^Alerts/ { print NR - top - 1; exit }')
	sgr_cells "$rows" 71 < "$BATS_TEST_TMPDIR/colours" | sort | uniq -c > "$BATS_TEST_TMPDIR/bands"
	cat "$BATS_TEST_TMPDIR/bands"
	awk '{ ch = $2; fg = $3; rev = $4
		want = ch == "*" ? "31" : ch == "0" ? "36" : ch <= "2" ? "34" : ch == "3" ? "33" : ch == "4" ? "35" : "31"
		if (fg != want || (ch == "*") != (rev == "reverse")) { print "wrong: " $0; bad = 1 } }
		END { exit bad }' "$BATS_TEST_TMPDIR/bands"
	grep -q ' 4 35 -$' "$BATS_TEST_TMPDIR/bands"
	grep -q ' 6 31 -$' "$BATS_TEST_TMPDIR/bands"
	grep -q ' \* 31 reverse$' "$BATS_TEST_TMPDIR/bands"
}

@test "tmux 200x50: the latest events with their ids, and a box's epicentres in jq's cells" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	local screen ids n rows
	screen_at_end 200 50 "TERM=screen LC_ALL=C.UTF-8 csa-dashboard --map=-125,32,-113,42 < '$(week)'"
	[ "$(display_widths <<< "$screen" | sort -n | tail -n1)" -le 200 ]
	# 80 columns for the latest events: the wide table, with ids.
	ids=$(printf '%s\n' "$screen" | cut_cols 120 | sed -n '/^Latest events/,/^ *$/p' |
		awk 'NR > 2 && $3 != "" { print $3 }')
	n=$(wc -l <<< "$ids")
	[ "$n" -ge 20 ] || { echo "$n ids"; return 1; }
	[ "$(paste -sd' ' <<< "$ids")" = "$(jq_latest "$(week)" 20)" ]
	# The map: 119 columns, the rows down to the alerts.
	rows=$(printf '%s\n' "$screen" | awk '/^Map / { top = NR } /^Alerts/ { print NR - top - 1; exit }')
	[ "$rows" -ge 20 ]
	[[ "$screen" == *"Map box -125,32,-113,42: "* ]]
	screen_cells "$rows" 119 <<< "$screen" > "$BATS_TEST_TMPDIR/screen"
	jq_cells "$(week)" -125,32,-113,42 "$rows" 119 > "$BATS_TEST_TMPDIR/want"
	diff -u "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/screen"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -gt 100 ]
}

@test "tmux 50x12: the map and the chart fit, and keys do what ? says" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	mkfifo "$BATS_TEST_TMPDIR/fifo"
	in_tmux 50 12 "TERM=screen LC_ALL=C.UTF-8 csa-dashboard -i 100ms --now $NOW --map=-125,32,-113,42 < '$BATS_TEST_TMPDIR/fifo'"
	exec 8> "$BATS_TEST_TMPDIR/fifo"
	cat "$(week)" >&8
	wait_for 20 'pane | grep -q "^events 3236 "'
	local screen
	screen=$(pane)
	printf '%s\n' "$screen"
	[ "$(display_widths <<< "$screen" | sort -n | tail -n1)" -le 50 ]
	for panel in "Events per hour, 24h" "Map box" "? keys"; do
		[[ "$screen" == *"$panel"* ]] || { echo "missing: $panel"; return 1; }
	done
	printf '%s\n' "$screen" | sed -n '/^Map /,$p' | sed 1d | grep -q '[0-9*]'
	# What ? says the keys do.
	tmux -L "$SOCK" resize-window -t dash -x 80 -y 24
	wait_for 10 'pane | grep -q "^Latest events\|Latest events"'
	press '?' 'Keys (any key closes)'
	screen=$(pane)
	printf '%s\n' "$screen"
	local key
	for key in "q        quit" "p        pause" "r        reset" "c        chart range: 1h, 24h, 7d" \
		"m        map: world, extent" "Ctrl-L   repaint" "?        show or hide"; do
		[[ "$screen" == *"$key"* ]] || { echo "missing: $key"; return 1; }
	done
	press x '!Keys (any key'
	# c: 24h, 7d, 1h; m: the box, the world, the events' extent.
	press c '^Events per hour, 7d to 2020-07-08 22:00'
	press c '^Events per minute, 1h to 2020-07-08 21:01'
	press c '^Events per hour, 24h'
	press m '^Map world -180,-90,180,90'
	press m '^Map extent '
	press m '^Map box '
	# r resets, p pauses (the figures stay while input is counted).
	press r '^events 0 '
	press p 'paused'
	head -n 5 "$(week)" >&8
	press p '^events 5 '
	exec 8>&-
	quit
	[ "$(cat "$BATS_TEST_TMPDIR/status")" = 0 ]
}

@test "tmux: Ctrl-L repaints what upstream's stderr wrote over the screen" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	mkfifo "$BATS_TEST_TMPDIR/fifo" "$BATS_TEST_TMPDIR/go"
	# A stand-in for an upstream command that warns on the terminal.
	in_tmux 100 30 "{ read _ < '$BATS_TEST_TMPDIR/go'; echo UPSTREAM-WARNING-LINE >&2; } &
		TERM=screen csa-dashboard -i 100ms < '$BATS_TEST_TMPDIR/fifo'"
	exec 8> "$BATS_TEST_TMPDIR/fifo"
	head -n 10 "$(week)" >&8
	wait_for 10 'pane | grep -q "^events 10 "'
	echo go > "$BATS_TEST_TMPDIR/go"
	# The line scrolls the screen: the title bar leaves the top row.
	wait_for 10 '! pane | head -n1 | grep -q "^ csa-dashboard"'
	# Redraws send only the cells that changed, so it stays garbled while
	# input goes on; Ctrl-L draws it whole.
	head -n 20 "$(week)" | tail -n 10 >&8
	tmux -L "$SOCK" send-keys -t dash C-l
	wait_for 10 'pane | head -n1 | grep -q "^ csa-dashboard"'
	wait_for 10 'pane | sed -n 2p | grep -q "^events 20 "'
	! pane | grep -q UPSTREAM-WARNING-LINE || false
	pane | grep -q "^events 20 "
	exec 8>&-
	quit
}

@test "wide characters (CJK, accents) keep the columns aligned, in a snapshot and on screen" {
	{
		head -n 40 "$(week)"
		for i in $(seq 1 60); do
			printf '{"event_id":"jp%d","magnitude":4.%d,"place":"10 km N of 東京都, 日本国","time":%d,"longitude":139.7,"latitude":35.7,"depth_km":30}\n' \
				"$i" "$((i % 10))" "$((1594200000000 + i))"
		done
		for i in $(seq 1 45); do
			printf '{"event_id":"mx%d","magnitude":3.%d,"place":"5 km S of Ciudad Juárez, México","time":%d,"longitude":-106.4,"latitude":31.6}\n' \
				"$i" "$((i % 10))" "$((1594100000000 + i))"
		done
	} > "$BATS_TEST_TMPDIR/ev"
	run env LC_ALL=C.UTF-8 csa-dashboard --once "$BATS_TEST_TMPDIR/ev"
	assert_success
	printf '%s\n' "$output" | sed -n 1,12p
	# Top locations: the counts end in one column, wide names or not.
	local ends
	ends=$(printf '%s\n' "$output" | sed -n '/Top locations/,/^Events per/p' | sed '1d;$d' | display_widths | sort -u)
	[ "$ends" = 80 ] || { echo "line widths: $ends"; return 1; }
	printf '%s\n' "$output" | grep -q '日本国  *60$'
	printf '%s\n' "$output" | grep -q 'México  *45$'
	[ "$(display_widths <<< "$output" | sort -n | tail -n1)" -le 80 ]
	# On screen, the same.
	command -v tmux >/dev/null || skip "tmux is not installed"
	local screen
	screen_at_end 120 40 "TERM=screen LC_ALL=C.UTF-8 csa-dashboard < '$BATS_TEST_TMPDIR/ev'"
	ends=$(printf '%s\n' "$screen" | sed -n '/Top locations/,/^Events per/p' | sed '1d;$d' | display_widths | sort -u)
	[ "$ends" = 120 ] || { echo "line widths: $ends"; return 1; }
	[ "$(display_widths <<< "$screen" | sort -n | tail -n1)" -le 120 ]
	[[ "$screen" == *"10 km N of 東京都"* ]]
}

@test "pipeline health: per hub partition the events read and the ingestion lag of the newest" {
	# Hub metadata as csa-eh-recv -m writes it, with lags of 1, 2 and 3 s.
	head -n 30 "$(week)" | jq -c '(input_line_number - 1) as $i | .time = (.time / 1000 | floor) * 1000 |
		._eh = {partition: ($i % 3),
		sequence_number: $i, enqueued_time: ((.time + 1000 * ($i % 3 + 1)) / 1000 | todate)}' \
		> "$BATS_TEST_TMPDIR/meta"
	run csa-dashboard --once --now "$NOW" "$BATS_TEST_TMPDIR/meta"
	assert_success
	local want
	want=$(jq -rs 'group_by(._eh.partition) | map(max_by(.time) as $n |
		"p\(.[0]._eh.partition) \(length) lag \(($n._eh.enqueued_time | fromdate) * 1000 - $n.time |
		. / 1000 | tostring | if test("\\.") then . else . + ".0" end)s") | join("  ")' \
		"$BATS_TEST_TMPDIR/meta")
	assert_output --partial "Input 30 lines  bad lines 0  newest event 6d 22h ago
Partitions  $want"
	[[ "$want" == "p0 10 lag 1.0s  p1 10 lag 2.0s  p2 10 lag 3.0s" ]]
	# From a real hub: the partitions csa-eh-recv names, and their counts.
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	csa-eh-send -k region < "$(week)"
	csa-eh-recv -e -m -g dash > "$BATS_TEST_TMPDIR/recv"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/recv"
	assert_success
	local p
	for p in $(jq -r '._eh.partition' "$BATS_TEST_TMPDIR/recv" | sort -u); do
		assert_output --partial "  p$p $(jq --argjson p "$p" 'select(._eh.partition == $p)' \
			"$BATS_TEST_TMPDIR/recv" | jq -s length) lag "
	done
}

@test "big counts: the header drops what does not fit whole; the input line keeps the bad lines" {
	for _ in $(seq 1 31); do cat "$(week)"; done | head -n 100000 > "$BATS_TEST_TMPDIR/big"
	run csa-dashboard --once "$BATS_TEST_TMPDIR/big"
	assert_success
	local header
	header=$(sed -n 2p <<< "$output")
	[[ "$header" == "events 100000  earthquakes "*"  all time 6.6" ]] || { echo "$header"; return 1; }
	assert_output --partial "Input 100000 lines  bad lines 0  "
}

@test "bad options: one line that names them, the Try line, exit 2" {
	usage_faults csa-dashboard <<-'EOF2'
	--bogus|unknown option '--bogus'
	-Q|unknown option '-Q'
	-i|option '-i' needs a value
	--once=1|option '--once' takes no value
	a b|one input at most: 'b'
	-q --map x|--map: 'x' is not world, extent or LON1,LAT1,LON2,LAT2 (west < east, south < north)
	EOF2
}
