#!/usr/bin/env bats
# --metrics: each command's file passes promtool and counts what the run
# did; node_exporter serves it; the alert rules fire when they should; a
# full disk never stops a pipeline nor leaves half a file.

load helpers/common

setup() {
	command -v promtool > /dev/null ||
		skip "promtool is not installed (scripts/deps test: prometheus)"
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	M="$BATS_TEST_TMPDIR/m.prom"
}

teardown() {
	kill_bg
}

# mval FILE SERIES: the value of one series, written as the file writes it.
mval() {
	awk -v s="$2" '$1 == s { print $2 }' "$1"
}

# check_metrics FILE: promtool's lint finds nothing in FILE.
check_metrics() {
	run promtool check metrics < "$1"
	assert_success
	assert_output ""
}

@test "--metrics without a name is a usage error in every command that has it" {
	local c
	for c in csa-usgs-fetch csa-eh-send csa-eh-recv csa-window csa-capture-read \
		csa-batch-agg csa-merge csa-dashboard; do
		run --separate-stderr "$c" --metrics ''
		assert_failure 2
		[[ "$stderr" == "$c: --metrics: the file name is empty"* ]] ||
			{ echo "$c: $stderr"; return 1; }
	done
}

@test "csa-eh-recv: events, bytes and per-partition positions equal the output; no lag once caught up" {
	local ev out
	ev=$(usgs_events)
	csa-eh-send < "$ev"
	out="$BATS_TEST_TMPDIR/out"
	csa-eh-recv -e -m -g speed --metrics "$M" > "$out"
	check_metrics "$M"
	local l='command="csa-eh-recv",group="speed"'
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$ev")" ]
	[ "$(mval "$M" "csa_events_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_bytes_out_total{$l}")" -eq "$(wc -c < "$out")" ]
	# The bodies as sent: the input lines without their newlines.
	[ "$(mval "$M" "csa_bytes_in_total{$l}")" -eq $(( $(wc -c < "$ev") - $(wc -l < "$ev") )) ]
	[ "$(mval "$M" "csa_delivery_latency_seconds_count{$l}")" -eq "$(wc -l < "$out")" ]
	local p want
	for p in 0 1 2 3; do
		want=$(jq -s --argjson p "$p" \
			'map(select(._eh.partition == $p) | ._eh.sequence_number) | max' "$out")
		[ "$(mval "$M" "csa_hub_position{$l,partition=\"$p\"}")" -eq "$want" ]
		[ "$(mval "$M" "csa_hub_lag_events{$l,partition=\"$p\"}")" -eq 0 ]
		[ "$(mval "$M" "csa_hub_lag_seconds{$l,partition=\"$p\"}")" = 0 ]
		[ -n "$(mval "$M" "csa_checkpoint_age_seconds{$l,partition=\"$p\"}")" ]
	done
	# A second group that reads 10 of them: a partition it read from
	# lags by the events stored after the last one it wrote.
	local all="$BATS_TEST_TMPDIR/all"
	mv "$out" "$all"
	csa-eh-recv -e -m -g other -c 10 --metrics "$M" > "$out"
	check_metrics "$M"
	l='command="csa-eh-recv",group="other"'
	for p in $(jq ._eh.partition "$out" | sort -u); do
		want=$(jq -s --argjson p "$p" --slurpfile got "$out" '
			($got | map(select(._eh.partition == $p) | ._eh.sequence_number) | max) as $pos
			| map(select(._eh.partition == $p and ._eh.sequence_number > $pos)) | length' "$all")
		[ "$want" -gt 0 ]
		[ "$(mval "$M" "csa_hub_lag_events{$l,partition=\"$p\"}")" -eq "$want" ]
		[ "$(mval "$M" "csa_hub_lag_seconds{$l,partition=\"$p\"}")" != 0 ]
	done
}

@test "SIGTERM: csa-eh-recv and csa-window write their file a last time, counting all they took" {
	local ev out="$BATS_TEST_TMPDIR/out"
	ev=$(usgs_events)
	csa-eh-send < "$ev"
	# No rewrite while running: only the write at the start and the last.
	CSA_METRICS_INTERVAL=1h bg csa-eh-recv -g speed --metrics "$M" > "$out"
	wait_for 10 '[ "$(wc -l < "$out")" -eq "$(wc -l < "$ev")" ]'
	[ -z "$(mval "$M" 'csa_events_out_total{command="csa-eh-recv",group="speed"}')" ]
	kill -TERM "$BG_PID"
	wait "$BG_PID"
	check_metrics "$M"
	[ "$(mval "$M" 'csa_events_out_total{command="csa-eh-recv",group="speed"}')" -eq "$(wc -l < "$ev")" ]
	# csa-window, stopped while it waits for more input.
	mkfifo "$BATS_TEST_TMPDIR/in"
	CSA_METRICS_INTERVAL=1h bg csa-window --tumbling 1h --metrics "$M.w" "$BATS_TEST_TMPDIR/in" \
		> /dev/null
	exec 5> "$BATS_TEST_TMPDIR/in"
	cat "$ev" >&5
	sleep 1
	[ -z "$(mval "$M.w" 'csa_events_in_total{command="csa-window"}')" ]
	kill -TERM "$BG_PID"
	# It stops with its input still open (a signal is no end of input).
	wait_for 10 '! kill -0 "$BG_PID"'
	wait "$BG_PID"
	exec 5>&-
	check_metrics "$M.w"
	[ "$(mval "$M.w" 'csa_events_in_total{command="csa-window"}')" -eq "$(wc -l < "$ev")" ]
}

@test "csa-window: events, rows and bytes equal the run; dropped and counted events add up to the input" {
	local ev sh out
	ev=$(usgs_events)
	sh="$BATS_TEST_TMPDIR/shuffled"
	out="$BATS_TEST_TMPDIR/rows"
	# Out of order, so that some events come after their window closed.
	shuf --random-source=<(yes) "$ev" > "$sh"
	csa-window --tumbling 10m --late drop --metrics "$M" "$sh" > "$out"
	check_metrics "$M"
	local l='command="csa-window"'
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$sh")" ]
	[ "$(mval "$M" "csa_bytes_in_total{$l}")" -eq "$(wc -c < "$sh")" ]
	[ "$(mval "$M" "csa_rows_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_bytes_out_total{$l}")" -eq "$(wc -c < "$out")" ]
	local dropped counted
	dropped=$(mval "$M" "csa_late_events_total{$l,action=\"dropped\"}")
	counted=$(jq -s 'map(.count) | add' "$out")
	[ "$dropped" -gt 0 ]
	[ $(( dropped + counted )) -eq "$(wc -l < "$sh")" ]
	[ "$(mval "$M" "csa_late_events_total{$l,action=\"adjusted\"}")" -eq 0 ]
	[ "$(mval "$M" "csa_open_windows{$l}")" -eq 0 ]
	# With --late adjust, the same events are adjusted instead.
	csa-window --tumbling 10m --metrics "$M" "$sh" > "$out"
	check_metrics "$M"
	[ "$(mval "$M" "csa_late_events_total{$l,action=\"adjusted\"}")" -eq "$dropped" ]
	[ "$(mval "$M" "csa_late_events_total{$l,action=\"dropped\"}")" -eq 0 ]
	# Each partition's watermark is its newest event less the tolerance.
	csa-window --tumbling 10m --max-delay 1m --partition net --metrics "$M" "$sh" > "$out"
	check_metrics "$M"
	local net want
	for net in $(jq -r .net "$sh" | sort -u); do
		want=$(jq -s --arg n "$net" 'map(select(.net == $n) | .time) | max / 1000 - 60' "$sh")
		run mval "$M" "csa_watermark_seconds{$l,partition=\"$net\"}"
		"$PY" -c "import sys; sys.exit(abs(float('$output') - $want) > 1e-6)"
	done
}

@test "csa-window --select: events in, rows and bytes out equal the run and jq's count" {
	local ev out l='command="csa-window"'
	ev=$(usgs_events)
	out="$BATS_TEST_TMPDIR/rows"
	csa-window --select 'event_id,magnitude' --where '.magnitude >= 2' --metrics "$M" "$ev" > "$out"
	check_metrics "$M"
	[ "$(wc -l < "$out")" -eq "$(jq -s 'map(select(.magnitude >= 2)) | length' "$ev")" ]
	[ "$(wc -l < "$out")" -gt 0 ]
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$ev")" ]
	[ "$(mval "$M" "csa_rows_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_bytes_out_total{$l}")" -eq "$(wc -c < "$out")" ]
}

@test "csa-window: a quiet input still rewrites the file, with the event-time lag growing" {
	local ev
	ev=$(usgs_events)
	mkfifo "$BATS_TEST_TMPDIR/in"
	CSA_METRICS_INTERVAL=100ms bg csa-window --tumbling 1h --metrics "$M" "$BATS_TEST_TMPDIR/in"
	exec 5> "$BATS_TEST_TMPDIR/in"
	cat "$ev" >&5
	local l='command="csa-window"' first
	wait_for 10 '[ "$(mval "$M" "csa_events_in_total{$l}")" = "$(wc -l < "$ev")" ]'
	first=$(mval "$M" "csa_event_time_lag_seconds{$l}")
	sleep 0.5
	exec 5>&-
	wait "$BG_PID"
	run "$PY" -c "import sys; sys.exit(not float('$(mval "$M" "csa_event_time_lag_seconds{$l}")') > float('$first') + 0.3)"
	assert_success
}

@test "csa-usgs-fetch: polls and HTTP statuses equal the server's log; new and revised equal the output" {
	local root="$BATS_TEST_TMPDIR/www" out="$BATS_TEST_TMPDIR/out"
	mkdir -p "$root"
	cp "$DATA/usgs/utero_4.5_month_20140321.geojson" "$root/feed.geojson"
	start_usgs_server "$root"
	# The first poll is refused (503, no retries), then a document, then
	# not modified until stopped; then the revised document.
	bg csa-usgs-fetch --retries 0 -i 1s -s "$BATS_TEST_TMPDIR/state" --metrics "$M" \
		--url "$SERVER_URL/feed.geojson?fail=503&times=1" > "$out" 2> /dev/null
	wait_for 20 '[ "$(grep -c " 304 " "$SERVER_LOG")" -ge 2 ]'
	kill -TERM "$BG_PID"
	wait "$BG_PID" || true
	check_metrics "$M"
	local l='command="csa-usgs-fetch"' code
	[ "$(mval "$M" "csa_polls_total{$l}")" -eq "$(wc -l < "$SERVER_LOG")" ]
	for code in 200 304 503; do
		[ "$(mval "$M" "csa_http_responses_total{$l,code=\"$code\"}")" -eq \
			"$(awk -v c="$code" '$2 == c' "$SERVER_LOG" | wc -l)" ]
	done
	[ "$(mval "$M" "csa_feed_events_total{$l,change=\"new\"}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_events_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq \
		"$(jq '.features | length' "$root/feed.geojson")" ]
	# The last success is the last poll's time, after the server's last line.
	local last
	last=$(mval "$M" "csa_last_success_timestamp_seconds{$l}")
	"$PY" -c "import sys; sys.exit(not abs($last - $(tail -n1 "$SERVER_LOG" | cut -d' ' -f1)) < 2)"
	# The next month's feed: what is in both and changed is revised.
	cp "$DATA/usgs/utero_4.5_month_20140401.geojson" "$root/feed.geojson"
	csa-usgs-fetch -s "$BATS_TEST_TMPDIR/state" --metrics "$M" \
		--url "$SERVER_URL/feed.geojson" > "$out"
	check_metrics "$M"
	[ "$(mval "$M" "csa_feed_events_total{$l,change=\"revised\"}")" -gt 0 ]
	[ $(( $(mval "$M" "csa_feed_events_total{$l,change=\"new\"}") + \
		$(mval "$M" "csa_feed_events_total{$l,change=\"revised\"}") )) -eq "$(wc -l < "$out")" ]
	stop_usgs_server
}

@test "csa-usgs-fetch: a failed poll is counted and is no success" {
	start_usgs_server "$DATA/usgs"
	run csa-usgs-fetch --retries 0 --metrics "$M" --url "$SERVER_URL/missing.geojson"
	assert_failure 4
	check_metrics "$M"
	[ "$(mval "$M" 'csa_http_responses_total{command="csa-usgs-fetch",code="404"}')" -eq 1 ]
	[ -z "$(mval "$M" 'csa_last_success_timestamp_seconds{command="csa-usgs-fetch"}')" ]
	stop_usgs_server
}

@test "csa-eh-send: events, bytes, batches and commit latencies equal the run" {
	local ev
	ev=$(usgs_events)
	csa-eh-send --batch-size 40 --metrics "$M" < "$ev"
	check_metrics "$M"
	local l='command="csa-eh-send"' n
	n=$(wc -l < "$ev")
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$n" ]
	[ "$(mval "$M" "csa_events_out_total{$l}")" -eq "$n" ]
	[ "$(mval "$M" "csa_bytes_out_total{$l}")" -eq $(( $(wc -c < "$ev") - n )) ]
	[ "$(mval "$M" "csa_batches_total{$l}")" -eq $(( (n + 39) / 40 )) ]
	[ "$(mval "$M" "csa_commit_latency_seconds_count{$l}")" -eq $(( (n + 39) / 40 )) ]
	[ "$(mval "$M" "csa_commit_latency_seconds_bucket{$l,le=\"+Inf\"}")" -eq $(( (n + 39) / 40 )) ]
	[ "$(mval "$M" "csa_retries_total{$l}")" -eq 0 ]
	# What the hub holds agrees.
	[ "$(csa-eh-recv -e | wc -l)" -eq "$n" ]
}

@test "csa-batch-agg: events, rows, files, success and the views' newest event equal the run" {
	local ev gold="$BATS_TEST_TMPDIR/gold"
	ev=$(usgs_events)
	run csa-batch-agg --preset earthquake --out "$gold" --metrics "$M" "$ev"
	assert_success
	check_metrics "$M"
	local l='command="csa-batch-agg"'
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$ev")" ]
	[ "$(mval "$M" "csa_bytes_in_total{$l}")" -eq "$(wc -c < "$ev")" ]
	[ "$(mval "$M" "csa_rows_out_total{$l}")" -eq "$(find "$gold" -type f -exec cat {} + | wc -l)" ]
	[ "$(mval "$M" "csa_files_total{$l}")" -eq 1 ]
	[ "$(mval "$M" "csa_run_success{$l}")" -eq 1 ]
	[ -n "$(mval "$M" "csa_run_duration_seconds{$l}")" ]
	[ -n "$(mval "$M" "csa_last_success_timestamp_seconds{$l}")" ]
	run mval "$M" "csa_view_high_water_seconds{$l}"
	assert_output "$(jq -s 'map(.time) | max / 1000' "$ev")"
	# An incremental run with nothing new: the views are as fresh as before.
	csa-batch-agg --preset earthquake --out "$gold" --state "$BATS_TEST_TMPDIR/st" "$ev"
	csa-batch-agg --preset earthquake --out "$gold" --state "$BATS_TEST_TMPDIR/st" \
		--metrics "$M" < /dev/null
	check_metrics "$M"
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq 0 ]
	run mval "$M" "csa_view_high_water_seconds{$l}"
	assert_output "$(jq -s 'map(.time) | max / 1000' "$ev")"
	# A failed run says so.
	run csa-batch-agg --preset earthquake --metrics "$M" "$BATS_TEST_TMPDIR/missing"
	assert_failure 3
	[ "$(mval "$M" "csa_run_success{$l}")" -eq 0 ]
	[ -z "$(mval "$M" "csa_last_success_timestamp_seconds{$l}")" ]
}

@test "csa-capture-read: files, records and bytes equal the hub's Capture files; the newest window read" {
	local ev out="$BATS_TEST_TMPDIR/out"
	ev=$(usgs_events)
	csa-eh-send < "$ev"
	csa-eh-send --close-all-windows
	run csa-capture-read --metrics "$M"
	assert_success
	printf '%s\n' "$output" > "$out"
	check_metrics "$M"
	local l='command="csa-capture-read"' files
	files=$(find "$CSA_HUB/capture" -type f -name '*.avro')
	[ "$(mval "$M" "csa_files_total{$l}")" -eq "$(wc -l <<< "$files")" ]
	[ "$(mval "$M" "csa_events_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$ev")" ]
	[ "$(mval "$M" "csa_bytes_in_total{$l}")" -eq "$(cat $files | wc -c)" ]
	[ "$(mval "$M" "csa_run_success{$l}")" -eq 1 ]
	# The newest window: the greatest .../YYYY/MM/DD/HH/MM/SS.avro name.
	local want
	want=$(sed -E 's|.*/([0-9]{4})/([0-9]{2})/([0-9]{2})/([0-9]{2})/([0-9]{2})/([0-9]{2})\.avro$|\1-\2-\3T\4:\5:\6Z|' <<< "$files" |
		sort | tail -n1 | xargs -I{} date -u -d {} +%s)
	[ "$(mval "$M" "csa_view_high_water_seconds{$l}")" -eq "$want" ]
}

@test "csa-merge: rows by layer, rows out, the cutoff and partial buckets equal the run" {
	local ev gold="$BATS_TEST_TMPDIR/gold" speed="$BATS_TEST_TMPDIR/speed" out
	ev=$(usgs_events)
	csa-batch-agg --preset earthquake --out "$gold" "$ev"
	csa-window --preset earthquake "$ev" > "$speed" 2> /dev/null
	out="$BATS_TEST_TMPDIR/merged"
	csa-merge --batch "$gold/hourly" --speed "$speed" --every 1d \
		--cutoff 2014-04-14T06:00:00Z --metrics "$M" > "$out"
	check_metrics "$M"
	local l='command="csa-merge"'
	[ "$(mval "$M" "csa_rows_in_total{$l,layer=\"batch\"}")" -eq \
		"$(cat "$gold"/hourly/*/*.ndjson | wc -l)" ]
	[ "$(mval "$M" "csa_rows_in_total{$l,layer=\"realtime\"}")" -eq "$(wc -l < "$speed")" ]
	[ "$(mval "$M" "csa_rows_out_total{$l}")" -eq "$(wc -l < "$out")" ]
	[ "$(mval "$M" "csa_cutoff_seconds{$l}")" -eq "$(date -u -d 2014-04-14T06:00:00Z +%s)" ]
	[ "$(mval "$M" "csa_partial_buckets{$l}")" -eq "$(jq -s 'map(select(.partial)) | length' "$out")" ]
}

@test "csa-dashboard: lines read, bytes and bad lines by reason equal the input" {
	local ev in="$BATS_TEST_TMPDIR/in"
	ev=$(usgs_events)
	{ cat "$ev"; echo 'not json'; echo '[1]'; echo '{"a":'; } > "$in"
	run csa-dashboard --once --metrics "$M" "$in"
	assert_failure 1
	check_metrics "$M"
	local l='command="csa-dashboard"'
	[ "$(mval "$M" "csa_events_in_total{$l}")" -eq "$(wc -l < "$ev")" ]
	[ "$(mval "$M" "csa_bytes_in_total{$l}")" -eq "$(wc -c < "$in")" ]
	[ "$(mval "$M" "csa_bad_records_total{$l,reason=\"json\"}")" -eq 2 ]
	[ "$(mval "$M" "csa_bad_records_total{$l,reason=\"object\"}")" -eq 1 ]
}

@test "node_exporter serves csa-eh-recv's series while it runs, and the lag grows when sends outpace it" {
	command -v prometheus-node-exporter > /dev/null ||
		skip "prometheus-node-exporter is not installed (scripts/deps test)"
	local dir="$BATS_TEST_TMPDIR/textfile" port ev
	mkdir -p "$dir"
	ev=$(usgs_events)
	port=$(free_port)
	bg prometheus-node-exporter --web.listen-address="127.0.0.1:$port" \
		--collector.disable-defaults --collector.textfile \
		--collector.textfile.directory="$dir"
	wait_for 10 "curl -sf http://127.0.0.1:$port/metrics > /dev/null"
	csa-eh-send < "$ev"
	# A reader that takes 50 lines a second behind csa-eh-recv.
	CSA_METRICS_INTERVAL=200ms bg bash -c "csa-eh-recv -g speed --metrics '$dir/recv.prom' |
		$PY -c 'import sys, time
for line in sys.stdin: time.sleep(0.02)'"
	LAG='csa_hub_lag_events{command="csa-eh-recv",group="speed"'
	PORT=$port
	# lag_now: the group's lag over its partitions, as node_exporter serves it.
	lag_now() {
		curl -sf "http://127.0.0.1:$PORT/metrics" |
			awk -v s="$LAG" 'index($1, s) == 1 { n += $2 } END { print n + 0 }'
	}
	wait_for 10 "curl -sf http://127.0.0.1:$port/metrics | grep -q '^csa_events_in_total{command=\"csa-eh-recv\"'"
	# Send far more than it can take, several times, and watch the lag.  It
	# is looked at until it has grown (a slow machine takes longer to show
	# it); no time is asserted.
	local i before after n
	before=$(lag_now)
	n=$(wc -l < "$ev")
	for i in 1 2 3 4 5; do
		csa-eh-send < "$ev"
	done
	wait_for 60 '[ "$(lag_now)" -gt "$before" ] && [ "$(lag_now)" -gt "$n" ]' || true
	after=$(lag_now)
	echo "lag before $before, after $after" >&3
	[ "$after" -gt "$before" ]
	[ "$after" -gt "$n" ]
	# The collector found nothing wrong with the file.
	run bash -c "curl -sf http://127.0.0.1:$port/metrics | grep '^node_textfile_scrape_error'"
	assert_output "node_textfile_scrape_error 0"
}

@test "the alert rules pass promtool, and each fires on series that break it and not before" {
	run promtool check rules "$CSA_SRCDIR/examples/alerts.rules.yml"
	assert_success
	assert_output --partial "SUCCESS: 4 rules found"
	run promtool test rules "$DATA/metrics/alerts.test.yml"
	assert_success
	assert_output --partial "SUCCESS"
}

@test "a full disk: one warning, the pipeline goes on, the file is old or new but never half, then written again" {
	need_small_fs
	local d="$BATS_TEST_TMPDIR/small" ev
	mkdir -p "$d"
	ev=$(usgs_events)
	cp "$ev" "$BATS_TEST_TMPDIR/ev"
	run on_small_fs 64k "$d" '
		set -u
		d=$1 t=$2
		mkfifo "$t/fifo"
		CSA_METRICS_INTERVAL=50ms csa-window --tumbling 1h --metrics "$d/m.prom" "$t/fifo" \
			> "$t/rows" 2> "$t/err" &
		pid=$!
		exec 5> "$t/fifo"
		head -n 50 "$t/ev" >&5
		sleep 0.5
		fill_fs "$d" 0
		tail -n +51 "$t/ev" | head -n 50 >&5
		sleep 0.5
		# Full: what is there is a whole file, the last that could be
		# written, with the first 50 events in it at least.
		promtool check metrics < "$d/m.prom" || echo "half-written while full"
		n=$(awk "\$1 ~ /^csa_events_in_total/ { print \$2 }" "$d/m.prom")
		[ "${n:-0}" -ge 50 ] || echo "half-written while full: ${n:-no} events"
		rm "$d/.filler"
		tail -n +101 "$t/ev" >&5
		exec 5>&-
		wait "$pid"; echo "status $?"
		# No temporary file of a failed write is left.
		ls -A "$d" | grep -v -x m.prom && echo "left behind"
		# Written again once there was room: the last write counts it all.
		awk "\$1 ~ /^csa_events_in_total/ { print \"in\", \$2 }" "$d/m.prom"
	' _ "$d" "$BATS_TEST_TMPDIR"
	assert_success
	assert_output "status 0
in $(wc -l < "$ev")"
	# Once said, though the writes failed many times.
	run grep -c -- '--metrics:' "$BATS_TEST_TMPDIR/err"
	assert_output 1
	run cat "$BATS_TEST_TMPDIR/err"
	assert_output --partial "No space left on device"
	# Every row came out, as without --metrics.
	diff "$BATS_TEST_TMPDIR/rows" <(csa-window --tumbling 1h "$ev")
}

@test "a file that cannot be written is said once and the run goes on" {
	local ev
	ev=$(usgs_events)
	run --separate-stderr csa-window --tumbling 1h --metrics "$BATS_TEST_TMPDIR/no/such/dir/m.prom" "$ev"
	assert_success
	[ "${#lines[@]}" -gt 0 ]
	[[ "$stderr" == "csa-window: --metrics: "*"no/such/dir"* ]]
	[ "$(grep -c -- '--metrics' <<< "$stderr")" -eq 1 ]
}
