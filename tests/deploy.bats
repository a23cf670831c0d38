#!/usr/bin/env bats
# examples/crontab and examples/systemd/: their commands run as cron and
# systemd would run them, on the bundled real feeds served on 127.0.0.1.

load helpers/common

setup() {
	export CSA_DIR="$BATS_TEST_TMPDIR/state"
	export CSA_HUB="$CSA_DIR/hub"
	# node_exporter's textfile directory, here.
	export METRICS_DIR="$BATS_TEST_TMPDIR/metrics"
	mkdir -p "$CSA_DIR" "$METRICS_DIR"
	start_usgs_server "$DATA/usgs"
}

teardown() {
	[ -z "${UNIT_PGID:-}" ] || kill -KILL -- "-$UNIT_PGID" 2>/dev/null || true
	kill_bg
	stop_usgs_server
}

# check_metrics_files NAME...: METRICS_DIR/NAME.prom of each, and
# promtool finds nothing wrong in it where it is installed.
check_metrics_files() {
	local n
	for n; do
		[ -s "$METRICS_DIR/$n.prom" ] || { echo "no $n.prom"; return 1; }
		if command -v promtool > /dev/null; then
			promtool check metrics < "$METRICS_DIR/$n.prom" || return 1
		fi
	done
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
	command -v systemd-analyze > /dev/null || skip "no systemd-analyze (Debian: apt-get install systemd)"
	# --man=no: the pages their Documentation= names are not installed yet
	# (package.bats checks them where make install put them).
	run systemd-analyze verify --man=no "$CSA_SRCDIR/examples/systemd/csa-ingest.service" \
		"$CSA_SRCDIR/examples/systemd/csa-speed.service"
	assert_success
	[ -z "$output" ]
	grep -qx 'Restart=always' "$CSA_SRCDIR/examples/systemd/csa-ingest.service"
	grep -qx 'Restart=on-failure' "$CSA_SRCDIR/examples/systemd/csa-speed.service"
}

@test "the systemd units run as a user of their own, hardened, writing only the hub's and the metrics' directories" {
	command -v systemd-analyze > /dev/null || skip "no systemd-analyze (Debian: apt-get install systemd)"
	for u in csa-ingest csa-speed; do
		f="$CSA_SRCDIR/examples/systemd/$u.service"
		for key in DynamicUser=yes User=csa ProtectSystem=strict NoNewPrivileges=yes \
			PrivateTmp=yes StateDirectory=csa \
			'ReadWritePaths=/var/lib/csa /var/lib/prometheus/node-exporter'; do
			grep -qx "$key" "$f" || { echo "$u lacks $key"; return 1; }
		done
		# The hub the commands use is the directory they may write.
		grep -qx 'Environment=CSA_HUB=/var/lib/csa/hub' "$f"
		# systemd's own measure of what a unit can reach, from 0 to 10 (a
		# unit without these settings scores 9.6, "UNSAFE"): 3.0 at most.
		run systemd-analyze security --offline=yes --threshold=30 "$f"
		echo "$output" | tail -n 1
		assert_success
	done
}

@test "the ingest and speed units' commands run and stop as systemd runs them" {
	export USGS_FEED="$SERVER_URL/utero_4.5_month_20140401.geojson"
	want=$(csa-usgs-fetch --url "$USGS_FEED" | wc -l)
	start_unit csa-ingest.service
	wait_for 20 '[ "$(hub_events)" = "$want" ]'
	# The poll is committed (its pending state moved) once the hub has it.
	wait_for 20 '[ -s "$CSA_DIR/usgs.state" ] && [ ! -e "$CSA_DIR/usgs.state.pending" ]'
	stop_unit
	start_unit csa-speed.service
	wait_for 40 '[ -s "$CSA_DIR/speed.ndjson" ]'
	sleep 1
	stop_unit
	# Every event is read: the state holds each partition's last one (the
	# group's checkpoint follows the state, at the next start).
	[ "$(sed -n 2p "$CSA_DIR/speed.state" | jq -c '.positions | map_values(. + 1) | add')" \
		= "$(hub_events)" ]
	rows=$(wc -l < "$CSA_DIR/speed.ndjson")
	jq -e 'has("window_start") and has("event_count") and .region != null' \
		"$CSA_DIR/speed.ndjson" > /dev/null
	# Started again (Restart=), it resumes from its checkpoint and state:
	# nothing new came, so nothing is written twice.
	start_unit csa-speed.service
	sleep 2
	stop_unit
	[ "$(wc -l < "$CSA_DIR/speed.ndjson")" -eq "$rows" ]
	# Each command wrote its metrics where node_exporter reads them.
	check_metrics_files csa-usgs-fetch csa-eh-send csa-eh-recv csa-window
}

# load_crontab: cron's view of examples/crontab: its variables exported
# (with this test's paths), and its five jobs' commands in JOB0..JOB4.
load_crontab() {
	local line jobs
	while IFS= read -r line; do
		case "$line" in
		CSA_DIR=* | CSA_HUB=* | USGS_FEED=* | METRICS_DIR=*) ;;
		[A-Z]*=*) export "${line?}" ;;
		esac
	done < "$CSA_SRCDIR/examples/crontab"
	mapfile -t jobs < <(grep -E '^[^#A-Z[:space:]]' "$CSA_SRCDIR/examples/crontab")
	[ "${#jobs[@]}" -eq 5 ]
	[[ "${jobs[0]}" == '* * * * *'* && "${jobs[1]}" == '*/5 * * * *'* && "${jobs[2]}" == '0 */6 * * *'* ]]
	[[ "${jobs[3]}" == '30 */6 * * *'* && "${jobs[4]}" == '35 */6 * * *'* ]]
	for line in 0 1 2 3 4; do
		export "JOB$line=$(printf '%s\n' "${jobs[$line]}" | cut -f2-)"
	done
}

# run_job N: the crontab's job N, as cron runs it.
run_job() {
	local job="JOB$1"
	"$SHELL" -c "${!job}"
}

@test "the crontab's jobs, run in their order, give the serving layer every event once" {
	load_crontab
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
	check_metrics_files csa-usgs-fetch csa-eh-send csa-capture-read csa-batch-agg csa-merge
	grep -qx 'csa_run_success{command="csa-batch-agg"} 1' "$METRICS_DIR/csa-batch-agg.prom"
	# Retention and compaction, with systemctl as a stand-in that notes
	# what it was asked (the speed layer ran above, and is not running):
	# the serving answer stays byte for byte.
	mkdir "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh
echo "$*" >> "%s"
' "$BATS_TEST_TMPDIR/systemctl.log" > "$BATS_TEST_TMPDIR/bin/systemctl"
	chmod +x "$BATS_TEST_TMPDIR/bin/systemctl"
	rows=$(wc -l < "$CSA_DIR/speed.ndjson")
	run_job 3
	PATH="$BATS_TEST_TMPDIR/bin:$PATH" run_job 4
	printf 'stop csa-speed\nstart csa-speed\n' | diff - "$BATS_TEST_TMPDIR/systemctl.log"
	[ "$(wc -l < "$CSA_DIR/speed.ndjson")" -lt "$rows" ]
	csa-merge --batch "$CSA_DIR/gold/hourly" --speed "$CSA_DIR/speed.ndjson" --total --by region |
		cmp - "$CSA_DIR/serving.ndjson"
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

@test "the crontab's jobs with the hub's and the views' disk full: nothing is lost, the next run takes it all" {
	load_crontab
	export -f run_job
	export SERVER_URL
	mkdir -p "$CSA_DIR/disk"
	# The hub and the views on a 4 MB disk of their own; the states beside.
	export CSA_HUB="$CSA_DIR/disk/hub"
	ln -s disk/gold "$CSA_DIR/gold"
	# Three real polls: a small one (it fits in a pipe, so the fetcher is
	# done before the sender fails), then a month's feed and its revision.
	feeds="ernestocd_significant_month utero_4.5_month_20140321 utero_4.5_month_20140401"
	sent=0
	for f in $feeds; do
		n=$(csa-usgs-fetch -s "$BATS_TEST_TMPDIR/ref.state" --url "$SERVER_URL/$f.geojson" | wc -l)
		sent=$((sent + n))
	done
	want=$(for f in $feeds; do csa-usgs-fetch --url "$SERVER_URL/$f.geojson"; done |
		jq -s 'map(.event_id) | unique | length')
	# A sender that starts late, so that the fetcher has finished and
	# saved whatever it saves before the sender finds the disk full.
	mkdir "$BATS_TEST_TMPDIR/slow"
	printf '#!/bin/sh\nsleep 0.5\nexec %s "$@"\n' "$(command -v csa-eh-send)" > "$BATS_TEST_TMPDIR/slow/csa-eh-send"
	chmod +x "$BATS_TEST_TMPDIR/slow/csa-eh-send"
	export feeds slow="$BATS_TEST_TMPDIR/slow"
	need_small_fs
	run on_small_fs 4m "$CSA_DIR/disk" '
		set -u
		mkdir "$CSA_DIR/disk/gold"
		: > "$CSA_DIR/speed.ndjson"	# the speed service has written nothing yet
		csa-eh-send --capture-interval 1s < /dev/null || exit 10
		set -- $feeds
		# Ingest onto a full hub: the sender fails, and the state stays.
		fill_fs "$CSA_DIR/disk" 0
		PATH="$slow:$PATH" USGS_FEED="$SERVER_URL/$1.geojson" run_job 0 && exit 11
		[ ! -e "$CSA_DIR/usgs.state" ] || exit 12
		rm "$CSA_DIR/disk/.filler"
		for f; do USGS_FEED="$SERVER_URL/$f.geojson" run_job 0 || exit 13; done
		echo "hub $(csa-eh-recv -g check -e | wc -l)"
		sleep 1.1
		run_job 1 || exit 15
		# The batch job with its views disk full: it fails, and the
		# capture checkpoint stays where it was.
		fill_fs "$CSA_DIR/disk" 0
		run_job 2 && exit 16
		[ ! -e "$CSA_DIR/capture.state" ] || exit 17
		rm "$CSA_DIR/disk/.filler"
		run_job 2 || exit 18
		echo "gold $(cat "$CSA_DIR"/gold/daily/*/*.ndjson | jq -s "map(.event_count) | add")"
		echo "serving $(jq -s "map(.event_count) | add" "$CSA_DIR/serving.ndjson")"'
	echo "$output"
	cat "$CSA_DIR/batch.log" 2>/dev/null || true
	assert_success
	assert_line "hub $sent"
	assert_line "gold $want"
	assert_line "serving $want"
}
