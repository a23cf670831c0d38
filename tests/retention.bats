#!/usr/bin/env bats
# Retention and compaction: csa-merge --compact drops the speed rows the
# batch view covers without changing any answer, csa-batch-agg --retention
# drops old date= partitions; both while readers read, and across kill -9.

load helpers/common

# real_layers: the real USGS month, the speed layer over all of it (as a
# deployed one sees everything), the batch layer over the part up to
# 2014-03-25 (gold/hourly and gold/daily); the events in "all".
real_layers() {
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140321.geojson" > "$BATS_TEST_TMPDIR/a"
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" > "$BATS_TEST_TMPDIR/b"
	jq -c -s 'group_by(.event_id) | map(max_by(.updated)) | sort_by(.time) | .[]' \
		"$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b" > "$BATS_TEST_TMPDIR/all"
	cut=$(date -d 2014-03-25T00:00:00Z +%s)000
	jq -c "select(.time <= $cut)" "$BATS_TEST_TMPDIR/all" |
		csa-batch-agg --preset earthquake --out "$BATS_TEST_TMPDIR/gold"
	csa-window --preset earthquake < "$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/speed.ndjson"
	cp "$BATS_TEST_TMPDIR/speed.ndjson" "$BATS_TEST_TMPDIR/speed.orig"
}

# answers [SPEED]: every kind of answer csa-merge gives on the real layers.
answers() {
	local s=${1:-$BATS_TEST_TMPDIR/speed.ndjson} g=$BATS_TEST_TMPDIR/gold/hourly
	csa-merge --batch "$g" --speed "$s"
	csa-merge --batch "$g" --speed "$s" --every 1h
	csa-merge --batch "$g" --speed "$s" --every 1d --by region
	csa-merge --batch "$g" --speed "$s" --total
	csa-merge --batch "$g" --speed "$s" --total --by ''
	csa-merge --batch "$g" --speed "$s" --table
	csa-merge --batch "$g" --speed "$s" --from 2014-03-24T00:00:00Z --every 6h
	csa-merge --batch "$g" --speed "$s" --anomalies 2
	csa-merge --batch "$g" --speed "$s" --overlap 2h --total
}

@test "--compact drops exactly the rows before the overlap but the last; every answer stays byte for byte" {
	real_layers
	answers > "$BATS_TEST_TMPDIR/before"
	run -0 csa-merge --compact -v --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/speed.ndjson"
	answers > "$BATS_TEST_TMPDIR/after"
	cmp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
	# What went, by jq: rows ending at or before the batch view's latest
	# window end less 15 minutes, all but the one ending last.
	mark=$(cat "$BATS_TEST_TMPDIR"/gold/hourly/*/part-0.ndjson | jq -s 'map(.window_end) | max')
	jq -c --argjson m "$mark" '(($m | sub("\\.000Z$"; "Z") | fromdate) - 900) as $d
		| select((.window_end | sub("\\.000Z$"; "Z") | fromdate) > $d)' \
		"$BATS_TEST_TMPDIR/speed.orig" > "$BATS_TEST_TMPDIR/kept"
	kept=$(wc -l < "$BATS_TEST_TMPDIR/kept")
	total=$(wc -l < "$BATS_TEST_TMPDIR/speed.orig")
	[ "$(wc -l < "$BATS_TEST_TMPDIR/speed.ndjson")" -eq $((kept + 1)) ]
	[ "$kept" -lt $((total / 2)) ]
	assert_output --partial "$((total - kept - 1)) rows dropped"
	# The kept rows are the original lines, in their order.
	grep -vxFf "$BATS_TEST_TMPDIR/speed.orig" "$BATS_TEST_TMPDIR/speed.ndjson" && false
	tail -n "$kept" "$BATS_TEST_TMPDIR/speed.ndjson" | cmp - "$BATS_TEST_TMPDIR/kept"
	# Again: nothing more to drop, the file is not rewritten.
	ino=$(stat -c %i "$BATS_TEST_TMPDIR/speed.ndjson")
	run -0 csa-merge --compact --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/speed.ndjson"
	[ "$(stat -c %i "$BATS_TEST_TMPDIR/speed.ndjson")" = "$ino" ]
	# A later --cutoff drops more; the answers with that cutoff do not change.
	cp "$BATS_TEST_TMPDIR/speed.orig" "$BATS_TEST_TMPDIR/s2"
	csa-merge --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/s2" --cutoff 2014-03-28T00:00:00Z --every 1d > "$BATS_TEST_TMPDIR/c1"
	run -0 csa-merge --compact --cutoff 2014-03-28T00:00:00Z --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/s2"
	csa-merge --batch "$BATS_TEST_TMPDIR/gold/hourly" --speed "$BATS_TEST_TMPDIR/s2" --cutoff 2014-03-28T00:00:00Z --every 1d > "$BATS_TEST_TMPDIR/c2"
	cmp "$BATS_TEST_TMPDIR/c1" "$BATS_TEST_TMPDIR/c2"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/s2")" -lt "$(wc -l < "$BATS_TEST_TMPDIR/speed.ndjson")" ]
}

@test "--compact while readers read: every csa-merge answer is the same, every cat is the old or the new file" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly s=$BATS_TEST_TMPDIR/speed.ndjson
	csa-merge --batch "$g" --speed "$s" --every 1h > "$BATS_TEST_TMPDIR/want"
	csa-merge --compact --batch "$g" --speed "$BATS_TEST_TMPDIR/speed.orig" --cutoff 2014-03-20T00:00:00Z
	cp "$BATS_TEST_TMPDIR/speed.orig" "$BATS_TEST_TMPDIR/mid"	# compacted less: a third version
	cp "$s" "$BATS_TEST_TMPDIR/full"
	csa-merge --compact --batch "$g" --speed "$BATS_TEST_TMPDIR/speed.orig"
	# Compact over and over, putting a longer version back (by rename) in between.
	# The reader loop ends when the writer does, even when it fails.
	(
		trap 'touch "$BATS_TEST_TMPDIR/done"' EXIT
		for i in $(seq 40); do
			cp "$BATS_TEST_TMPDIR/full" "$s.new" && mv "$s.new" "$s"
			csa-merge --compact --batch "$g" --speed "$s" --cutoff 2014-03-20T00:00:00Z
			csa-merge --compact --batch "$g" --speed "$s"
		done
	) &
	writer=$!
	n=0
	while [ ! -e "$BATS_TEST_TMPDIR/done" ]; do
		csa-merge --batch "$g" --speed "$s" --every 1h > "$BATS_TEST_TMPDIR/got"
		cmp "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
		cat "$s" > "$BATS_TEST_TMPDIR/cat"
		cmp -s "$BATS_TEST_TMPDIR/cat" "$BATS_TEST_TMPDIR/full" ||
			cmp -s "$BATS_TEST_TMPDIR/cat" "$BATS_TEST_TMPDIR/mid" ||
			cmp "$BATS_TEST_TMPDIR/cat" "$BATS_TEST_TMPDIR/speed.orig"
		n=$((n + 1))
	done
	# Not a bare wait: under BATS_TEST_TIMEOUT (make check) bats's watchdog
	# is a job of this shell too, and would be waited for.
	wait "$writer"
	echo "# $n reads during 80 compactions" >&3
	[ "$n" -gt 3 ]
	cmp "$s" "$BATS_TEST_TMPDIR/speed.orig"
}

@test "kill -9 during --compact leaves the old file or the new one, never a mix; the next run sweeps its leftovers" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly s=$BATS_TEST_TMPDIR/speed.ndjson
	# A large view (the month 30 times over, as other partitions' rows)
	# so that a compaction takes long enough to be killed in.
	for i in $(seq 30); do cat "$BATS_TEST_TMPDIR/speed.orig"; done > "$BATS_TEST_TMPDIR/big"
	cp "$BATS_TEST_TMPDIR/big" "$s"
	csa-merge --compact --batch "$g" --speed "$s"
	mv "$s" "$BATS_TEST_TMPDIR/small"
	old=0 new=0
	for i in $(seq 20); do
		cp "$BATS_TEST_TMPDIR/big" "$s"
		csa-merge --compact --batch "$g" --speed "$s" &
		sleep "0.$((RANDOM % 40))"
		kill -9 $! 2>/dev/null || true
		wait $! || true
		if cmp -s "$s" "$BATS_TEST_TMPDIR/big"; then
			old=$((old + 1))
		else
			cmp "$s" "$BATS_TEST_TMPDIR/small"
			new=$((new + 1))
		fi
	done
	echo "# after kill -9: $old times the old file, $new times the new one" >&3
	csa-merge --compact --batch "$g" --speed "$s"
	cmp "$s" "$BATS_TEST_TMPDIR/small"
	run ls -A "$BATS_TEST_TMPDIR"
	refute_output --partial ".speed.ndjson.tmp"
}

@test "a running csa-window --out holds the file: --compact refuses it, then works once the writer stopped" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly s=$BATS_TEST_TMPDIR/speed.ndjson
	mkfifo "$BATS_TEST_TMPDIR/in"
	# The writer opens the fifo itself: a shell that did would wait for us.
	bg bash -c 'exec csa-window --preset earthquake --out "$0" < "$1"' "$s" "$BATS_TEST_TMPDIR/in"
	exec 7> "$BATS_TEST_TMPDIR/in"
	wait_for 5 'ls -l /proc/$BG_PID/fd | grep -q speed.ndjson'
	run -3 csa-merge --compact --batch "$g" --speed "$s"
	assert_output --partial "speed.ndjson: in use by its writer (csa-window --out)"
	cmp "$s" "$BATS_TEST_TMPDIR/speed.orig"
	exec 7>&-
	wait "$BG_PID"
	run -0 csa-merge --compact --batch "$g" --speed "$s"
	[ "$(wc -l < "$s")" -lt "$(wc -l < "$BATS_TEST_TMPDIR/speed.orig")" ]
}

@test "a writer that starts during --compact waits for it and appends to the new file: no row lost" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly s=$BATS_TEST_TMPDIR/speed.ndjson t=$BATS_TEST_TMPDIR
	# A view large enough for a compaction to take a while, and rows that
	# no compaction drops (their windows end after the cutoff).
	for i in $(seq 60); do cat "$t/speed.orig"; done > "$t/big"
	cut=$(date -d 2014-03-27T00:00:00Z +%s)000
	jq -c "select(.time > $cut) | .copy = 1" "$t/all" > "$t/late"	# rows of their own
	csa-window --preset earthquake < "$t/late" > "$t/late.rows"
	[ "$(wc -l < "$t/late.rows")" -gt 20 ]
	for i in 1 2 3; do
		cp "$t/big" "$s"
		csa-merge --compact --batch "$g" --speed "$s" &
		pid=$!
		# The writer starts once the compaction holds the file (seen in
		# /proc/locks: a probe with flock(1) could make it refuse).
		wait_for 10 'grep -qE "FLOCK +ADVISORY +WRITE +$pid " /proc/locks'
		# It opens the file now and writes once the compaction is over.
		{ head -n 20 "$t/late"; sleep 1.5; tail -n +21 "$t/late"; } |
			csa-window --preset earthquake --out "$s"
		wait "$pid"
		[ "$(wc -l < "$s")" -lt "$(wc -l < "$t/big")" ]
		# Every row the writer wrote is in the new file, last.
		tail -n "$(wc -l < "$t/late.rows")" "$s" | cmp - "$t/late.rows"
	done
}

# speed_run HUB STATE OUT FILE: FILE's events into the hub, then the speed
# layer over what it has not taken yet, exactly once (csa(7)).
speed_run() {
	CSA_HUB=$1 csa-eh-send < "$4"
	CSA_HUB=$1 csa-eh-recv --group speed --positions "$2" --exit-at-end |
		csa-window --preset earthquake --partition-count 4 --state "$2" --out "$3"
}

@test "--writer-state: the stopped writer's state follows the compaction and its restart appends on, exactly" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly t=$BATS_TEST_TMPDIR
	n=$(wc -l < "$t/all")
	head -n $((n * 3 / 4)) "$t/all" > "$t/first"
	tail -n +$((n * 3 / 4 + 1)) "$t/all" > "$t/second"
	# Twice the same: once compacted between the runs, once not.
	for k in 1 2; do speed_run "$t/hub$k" "$t/w$k.state" "$t/v$k.ndjson" "$t/first"; done
	cmp "$t/v1.ndjson" "$t/v2.ndjson"
	# Rows of a killed run past what the state vouches for: cut off.
	echo '{"half a row' >> "$t/v1.ndjson"
	run -0 csa-merge --compact -v --batch "$g" --speed "$t/v1.ndjson" --writer-state "$t/w1.state"
	assert_output --partial "rows dropped"
	[ "$(sed -n 2p "$t/w1.state" | jq .out_length)" -eq "$(stat -c %s "$t/v1.ndjson")" ]
	[ "$(stat -c %s "$t/v1.ndjson")" -lt "$(stat -c %s "$t/v2.ndjson")" ]
	run ! grep -F 'half a row' "$t/v1.ndjson"
	# The restart takes the compacted file as it is and appends on.
	for k in 1 2; do speed_run "$t/hub$k" "$t/w$k.state" "$t/v$k.ndjson" "$t/second"; done
	for a in "" "--total" "--every 1d"; do
		csa-merge --batch "$g" --speed "$t/v2.ndjson" $a > "$t/want"
		run -0 csa-merge --batch "$g" --speed "$t/v1.ndjson" $a
		assert_output "$(cat "$t/want")"
	done
	# A state that vouches for more than the file holds: refused, nothing changed.
	head -n 2 "$t/speed.orig" > "$t/s.copy"
	cp "$t/s.copy" "$t/s.before"
	run -3 csa-merge --compact --batch "$g" --speed "$t/s.copy" --writer-state "$t/w1.state"
	assert_output --partial "is it the state of this file's writer?"
	cmp "$t/s.copy" "$t/s.before"
}

@test "--compact: lines that are not rows stay, named with file:line, exit 1; usage faults exit 2" {
	real_layers
	g=$BATS_TEST_TMPDIR/gold/hourly s=$BATS_TEST_TMPDIR/speed.ndjson
	{ head -n 3 "$BATS_TEST_TMPDIR/speed.orig"; echo 'not json'; tail -n +4 "$BATS_TEST_TMPDIR/speed.orig"; } > "$s"
	run -1 csa-merge --compact --batch "$g" --speed "$s"
	assert_output --partial "speed.ndjson:4:"
	grep -qx 'not json' "$s"
	run -2 csa-merge --compact --batch "$g"
	assert_output --partial "--compact: give the speed view's file with --speed FILE"
	run -2 csa-merge --compact --batch "$g" --speed -
	run -2 csa-merge --compact --speed "$s"
	assert_output --partial "give the batch view (--batch PATH) or --cutoff"
	run -2 csa-merge --compact --batch "$g" --speed "$s" --total
	run -2 csa-merge --batch "$g" --speed "$s" --writer-state x
	assert_output --partial "--writer-state: only with --compact"
	run -3 csa-merge --compact --batch "$g" --speed "$BATS_TEST_TMPDIR/nonesuch"
	assert_output --partial "nonesuch: No such file or directory"
	# No batch rows yet: nothing is covered, nothing goes.
	mkdir "$BATS_TEST_TMPDIR/empty"
	cp "$BATS_TEST_TMPDIR/speed.orig" "$s"
	run -0 csa-merge --compact --batch "$BATS_TEST_TMPDIR/empty" --speed "$s"
	assert_output --partial "nothing dropped"
	cmp "$s" "$BATS_TEST_TMPDIR/speed.orig"
}

# days DIR: the date= partitions of a view, one a line.
days() {
	ls "$1" | sed 's/^date=//'
}

@test "--retention keeps the days up to the newest one; the answer is jq's over those days" {
	real_layers
	gold=$BATS_TEST_TMPDIR/gold
	days "$gold/hourly" > "$BATS_TEST_TMPDIR/d0"
	newest=$(tail -n 1 "$BATS_TEST_TMPDIR/d0")
	# Nothing new, the views are old: only the retention runs.
	run -0 csa-batch-agg --preset earthquake --out "$gold" --retention 10d -v /dev/null
	assert_output --partial "partitions past --retention removed"
	first=$(date -u -d "$newest - 9 days" +%F)
	awk -v f="$first" '$0 >= f' "$BATS_TEST_TMPDIR/d0" > "$BATS_TEST_TMPDIR/want"
	days "$gold/hourly" | diff - "$BATS_TEST_TMPDIR/want"
	days "$gold/daily" | diff - "$BATS_TEST_TMPDIR/want"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -lt "$(wc -l < "$BATS_TEST_TMPDIR/d0")" ]
	# Counts by region over the kept days, as jq counts the events.
	csa-merge --batch "$gold/daily" --total --by region |
		jq -c -s 'map({region, n: .event_count}) | sort_by(.region)' > "$BATS_TEST_TMPDIR/ours"
	cut=$(date -d 2014-03-25T00:00:00Z +%s)000
	from=$(date -d "${first}T00:00:00Z" +%s)000
	jq -c -s "map(select(.time <= $cut and .time > $from and (.status // \"\") != \"deleted\"))
		| group_by(.region) | map({region: .[0].region, n: length}) | sort_by(.region)" \
		"$BATS_TEST_TMPDIR/all" > "$BATS_TEST_TMPDIR/jq"
	diff "$BATS_TEST_TMPDIR/ours" "$BATS_TEST_TMPDIR/jq"
	# Again: nothing more goes.
	run -0 csa-batch-agg --preset earthquake --out "$gold" --retention 10d -v /dev/null
	assert_output --partial " 0 partitions past --retention removed"
	run -2 csa-batch-agg --preset earthquake --retention 36h /dev/null
	assert_output --partial "--retention: '36h' is not a whole number of days"
	run -2 csa-batch-agg --preset earthquake --retention 7d /dev/null
	assert_output --partial "--retention: needs --out DIR"
}

# same_days VIEWS TREE: the path and checksum of every file under the days
# VIEWS lists (hourly and daily), read in TREE.
same_days() {
	local days
	days=$(cd "$1" && ls -d hourly/date=* daily/date=* 2> /dev/null)
	[ -n "$days" ] || return 0
	(cd "$2" && find $days -type f | LC_ALL=C sort | xargs md5sum)
}

@test "kill -9 during --retention: each day is whole or gone, and the next run sweeps what was hidden" {
	real_layers
	gold=$BATS_TEST_TMPDIR/gold
	# Many old days (copies of the first one, a year earlier), so that a
	# run takes long enough to be killed in the middle of; each with nine
	# more files, so that a day removed in place, file by file, is likely
	# to be caught half gone.
	"$PY" - "$gold" <<-'EOF'
	import datetime, os, shutil, sys
	for v in ("hourly", "daily"):
	    d = os.path.join(sys.argv[1], v)
	    first = sorted(os.listdir(d))[0]
	    for k in range(1, 151):
	        day = datetime.date(2013, 1, 1) + datetime.timedelta(days=k)
	        to = os.path.join(d, "date=%s" % day)
	        shutil.copytree(os.path.join(d, first), to)
	        for part in range(1, 10):
	            shutil.copy2(os.path.join(to, "part-0.ndjson"), os.path.join(to, "part-%d.ndjson" % part))
	EOF
	cp -a "$gold" "$BATS_TEST_TMPDIR/gold.all"
	# A whole run's time, in ms, scales the moments of the kills.
	t0=$(date +%s%N)
	csa-batch-agg --preset earthquake --out "$gold" --retention 5d /dev/null
	ms=$(( ($(date +%s%N) - t0) / 1000000 + 1 ))
	days "$gold/hourly" > "$BATS_TEST_TMPDIR/kept"
	partial=0
	for i in $(seq 10); do
		rm -rf "$gold" && cp -a "$BATS_TEST_TMPDIR/gold.all" "$gold"
		csa-batch-agg --preset earthquake --out "$gold" --retention 5d /dev/null &
		sleep "$(printf '0.%03d' $((RANDOM % ms % 1000)))"
		kill -9 $! 2>/dev/null || true
		wait $! || true
		# Every day still listed is the day as it was, file for file: the
		# checksums of the files under the days listed, in both trees.
		diff <(same_days "$gold" "$gold") <(same_days "$gold" "$BATS_TEST_TMPDIR/gold.all")
		days "$gold/hourly" | cmp -s - "$BATS_TEST_TMPDIR/kept" || partial=$((partial + 1))
		# The next run finishes the work and leaves nothing hidden.
		csa-batch-agg --preset earthquake --out "$gold" --retention 5d /dev/null
		days "$gold/hourly" | diff - "$BATS_TEST_TMPDIR/kept"
		days "$gold/daily" | diff - "$BATS_TEST_TMPDIR/kept"
		run ls -A "$gold/hourly" "$gold/daily"
		refute_output --partial ".expired."
	done
	echo "# $partial of 10 kills left days for the next run" >&3
}

@test "--retention while csa-merge reads the view: every read succeeds, between the kept days and all days" {
	real_layers
	gold=$BATS_TEST_TMPDIR/gold
	cp -a "$gold" "$BATS_TEST_TMPDIR/gold.all"
	csa-merge --batch "$gold/hourly" --total > "$BATS_TEST_TMPDIR/all.ans"
	csa-batch-agg --preset earthquake --out "$gold" --retention 5d /dev/null
	csa-merge --batch "$gold/hourly" --total > "$BATS_TEST_TMPDIR/kept.ans"
	! cmp -s "$BATS_TEST_TMPDIR/all.ans" "$BATS_TEST_TMPDIR/kept.ans" || false
	(
		trap 'touch "$BATS_TEST_TMPDIR/done"' EXIT
		for i in $(seq 30); do
			rm -rf "$gold.new" && cp -a "$BATS_TEST_TMPDIR/gold.all/hourly/." "$gold.new"
			for d in "$gold.new"/date=*; do
				[ -e "$gold/hourly/${d##*/}" ] || mv "$d" "$gold/hourly/"
			done
			csa-batch-agg --preset earthquake --out "$gold" --retention 5d /dev/null
		done
	) &
	writer=$!
	n=0 whole=0
	while [ ! -e "$BATS_TEST_TMPDIR/done" ]; do
		csa-merge --batch "$gold/hourly" --total > "$BATS_TEST_TMPDIR/got"
		# Days come back one by one (renames) and go by retention, each
		# whole or not at all: a read never fails, and each region's
		# count lies between the kept days' and all days'.
		jq -e -n --slurpfile g "$BATS_TEST_TMPDIR/got" --slurpfile k "$BATS_TEST_TMPDIR/kept.ans" \
			--slurpfile a "$BATS_TEST_TMPDIR/all.ans" '
			def n($x; $r): [$x[] | select(.region == $r) | .event_count] | add // 0;
			[$a[] | .region] | all(n($k; .) <= n($g; .) and n($g; .) <= n($a; .))' > /dev/null
		cmp -s "$BATS_TEST_TMPDIR/got" "$BATS_TEST_TMPDIR/kept.ans" && whole=$((whole + 1))
		n=$((n + 1))
	done
	# Not a bare wait: under BATS_TEST_TIMEOUT (make check) bats's watchdog
	# is a job of this shell too, and would be waited for.
	wait "$writer"
	echo "# $n reads during 30 retentions, $whole of them the kept days exactly" >&3
	run -0 csa-merge --batch "$gold/hourly" --total
	assert_output "$(cat "$BATS_TEST_TMPDIR/kept.ans")"
	run ls -A "$gold/hourly"
	refute_output --partial ".expired."
}
