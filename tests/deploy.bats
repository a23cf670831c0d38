#!/usr/bin/env bats
# examples/crontab and examples/systemd/: their commands run as cron and
# systemd would run them, on the bundled real feeds served on 127.0.0.1.

load helpers/common

setup() {
	export CSA_DIR="$BATS_TEST_TMPDIR/state"
	export CSA_HUB="$CSA_DIR/hub"
	mkdir -p "$CSA_DIR"
	start_usgs_server "$DATA/usgs"
}

teardown() {
	[ -z "${UNIT_PGID:-}" ] || kill -KILL -- "-$UNIT_PGID" 2>/dev/null || true
	kill_bg
	stop_usgs_server
}

# unit_exec UNIT: its ExecStart line, with systemd's $$ made the shell's $.
unit_exec() {
	sed -n 's/^ExecStart=//p' "$CSA_SRCDIR/examples/systemd/$1" | sed 's/\$\$/$/g'
}

# start_unit UNIT: run its ExecStart in a process group of its own, as
# systemd runs a service in a cgroup; sets UNIT_PGID.  setsid makes the
# job a group leader only once it has run: until then the job is still in
# the test runner's group, which stop_unit must never signal.
start_unit() {
	UNIT_PGID=
	bg setsid /bin/bash -c "$(unit_exec "$1")"
	wait_for 5 '[ "$(ps -o pgid= "$BG_PID" | tr -d " ")" = "$BG_PID" ]'
	UNIT_PGID=$BG_PID
}

# stop_unit: SIGTERM to the unit's group (KillMode=control-group), and
# wait.  It signals only a group that start_unit saw the unit lead.
stop_unit() {
	[ -n "$UNIT_PGID" ] && [ "$UNIT_PGID" != "$(ps -o pgid= $$ | tr -d " ")" ]
	kill -TERM -- "-$UNIT_PGID"
	wait_for 30 '! pgrep -g "$UNIT_PGID" > /dev/null'
	UNIT_PGID=
}

hub_events() {
	csa-eh-recv -l | jq -s 'map(select(.group == null) | .last_seq + 1) | add'
}

@test "the systemd units are valid, restart on their own, and stop cleanly" {
	run systemd-analyze verify "$CSA_SRCDIR/examples/systemd/csa-ingest.service" \
		"$CSA_SRCDIR/examples/systemd/csa-speed.service"
	assert_success
	[ -z "$output" ]
	grep -qx 'Restart=always' "$CSA_SRCDIR/examples/systemd/csa-ingest.service"
	grep -qx 'Restart=on-failure' "$CSA_SRCDIR/examples/systemd/csa-speed.service"
}

@test "the ingest and speed units' commands run and stop as systemd runs them" {
	export USGS_FEED="$SERVER_URL/utero_4.5_month_20140401.geojson"
	want=$(csa-usgs-fetch --url "$USGS_FEED" | wc -l)
	start_unit csa-ingest.service
	wait_for 20 '[ "$(hub_events)" = "$want" ]'
	stop_unit
	[ -s "$CSA_DIR/usgs.state" ]
	start_unit csa-speed.service
	wait_for 20 '[ -s "$CSA_DIR/speed.ndjson" ]'
	# Every event is read: the group's lag reaches 0.
	wait_for 20 '[ "$(csa-eh-recv -l | jq -s "map(select(.group == \"speed\") | .lag) | add")" = 0 ]'
	sleep 1
	stop_unit
	[ -s "$CSA_DIR/speed.state" ]
	rows=$(wc -l < "$CSA_DIR/speed.ndjson")
	jq -e 'has("window_start") and has("event_count") and .region != null' \
		"$CSA_DIR/speed.ndjson" > /dev/null
	# Started again (Restart=), it resumes from its checkpoint and state:
	# nothing new came, so nothing is written twice.
	start_unit csa-speed.service
	sleep 2
	stop_unit
	[ "$(wc -l < "$CSA_DIR/speed.ndjson")" -eq "$rows" ]
}

@test "the crontab's jobs, run in their order, give the serving layer every event once" {
	# cron's view: the variables of the crontab, with this test's paths.
	while IFS= read -r line; do
		case "$line" in
		CSA_DIR=* | CSA_HUB=* | USGS_FEED=*) ;;
		[A-Z]*=*) export "${line?}" ;;
		esac
	done < "$CSA_SRCDIR/examples/crontab"
	mapfile -t jobs < <(grep -E '^[^#A-Z[:space:]]' "$CSA_SRCDIR/examples/crontab")
	[ "${#jobs[@]}" -eq 3 ]
	[[ "${jobs[0]}" == '* * * * *'* && "${jobs[1]}" == '*/5 * * * *'* && "${jobs[2]}" == '0 */6 * * *'* ]]
	run_job() { "$SHELL" -c "$(printf '%s\n' "${jobs[$1]}" | cut -f2-)"; }
	# One-second capture windows, so that the five-minute job finds them due.
	csa-eh-send --capture-interval 1s < /dev/null
	USGS_FEED="$SERVER_URL/utero_4.5_month_20140321.geojson" run_job 0
	USGS_FEED="$SERVER_URL/utero_4.5_month_20140401.geojson" run_job 0
	sleep 1.1
	run_job 1
	[ -n "$(find "$CSA_HUB/capture" -name '*.avro')" ]
	# The speed layer is a service (csa-speed.service); here, once.
	csa-eh-recv -g speed -e | csa-window --preset earthquake --max-delay 45d --dedupe event_id \
		> "$CSA_DIR/speed.ndjson"
	run_job 2
	[ -s "$CSA_DIR/serving.ndjson" ]
	[ ! -e "$CSA_DIR/serving.tmp" ]
	want=$(for f in utero_4.5_month_20140321 utero_4.5_month_20140401; do
		csa-usgs-fetch --url "$SERVER_URL/$f.geojson"; done | jq -s 'map(.event_id) | unique | length')
	[ "$(jq -s 'map(.event_count) | add' "$CSA_DIR/serving.ndjson")" -eq "$want" ]
	[ ! -s "$CSA_DIR/batch.log" ]
}

@test "scaling out: batch views made per partition merge to the answer of one run" {
	csa-usgs-fetch --url "$SERVER_URL/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/ev"
	csa-eh-send -k event_id --partitions 4 < "$BATS_TEST_TMPDIR/ev"
	for p in 0 1 2 3; do
		csa-eh-recv -g batch -p "$p" -e > "$BATS_TEST_TMPDIR/p$p"
		[ -s "$BATS_TEST_TMPDIR/p$p" ]
		csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold/p$p" < "$BATS_TEST_TMPDIR/p$p"
	done
	csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/whole" < "$BATS_TEST_TMPDIR/ev"
	for view in hourly:1h daily:1d; do
		every=${view#*:} view=${view%:*}
		csa-merge --batch "$BATS_TEST_TMPDIR/gold" --view "$view" --every "$every" --by region |
			jq -c 'del(._state, .sources, .data_freshness)' | sort > "$BATS_TEST_TMPDIR/parts"
		csa-merge --batch "$BATS_TEST_TMPDIR/whole/$view" --every "$every" --by region |
			jq -c 'del(._state, .sources, .data_freshness)' | sort > "$BATS_TEST_TMPDIR/one"
		[ -s "$BATS_TEST_TMPDIR/one" ]
		# Counts, minimums and maximums equal; averages to rounding, as
		# sums taken in another order are.
		"$PY" - "$BATS_TEST_TMPDIR/one" "$BATS_TEST_TMPDIR/parts" <<'PY'
import json, math, sys
one, parts = ([json.loads(l) for l in open(f)] for f in sys.argv[1:3])
assert len(one) == len(parts) and len(one) > 20, (len(one), len(parts))
for a, b in zip(one, parts):
    assert a.keys() == b.keys(), (a, b)
    for k in a:
        if k.startswith("avg_"):
            assert math.isclose(a[k], b[k], rel_tol=1e-12), (k, a, b)
        else:
            assert a[k] == b[k], (k, a, b)
PY
	done
}
