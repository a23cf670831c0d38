#!/usr/bin/env bats
# count_distinct, percentile and median: their sketches (common/hll,
# common/tdigest) against exact answers that python3 computes
# (helpers/sketch_ref.py), on real USGS events and on synthetic streams of
# 1e5 and 1e7 values, in one pass, merged from 32 partials, through the
# batch layer and through saved window state.

load helpers/common

REF="$CSA_SRCDIR/tests/helpers/sketch_ref.py"
AGGS='n=count,ids=count_distinct(event_id),mags=count_distinct(magnitude),places=count_distinct(place),p01=percentile(magnitude, 0.01),p25=percentile(magnitude,0.25),med=median(magnitude),p95=percentile(depth_km, 0.95),p99=percentile(depth_km,0.99)'
CHECKS=(--distinct ids=event_id --distinct mags=magnitude --distinct places=place
	--quantile p01=magnitude:0.01 --quantile p25=magnitude:0.25 --quantile med=magnitude:0.5
	--quantile p95=depth_km:0.95 --quantile p99=depth_km:0.99)

setup_file() {
	csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_FILE_TMPDIR/ev"
}

@test "real USGS week by region: distinct counts exact to 1024, estimates and quantiles within their bounds" {
	# One window over the whole week (epoch-aligned 365-day windows).
	csa-window --tumbling 365d --time time --by region --agg "$AGGS" \
		< "$BATS_FILE_TMPDIR/ev" > "$BATS_TEST_TMPDIR/rows"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/rows")" -eq 5 ]
	run "$PY" "$REF" check "$BATS_TEST_TMPDIR/rows" "$BATS_FILE_TMPDIR/ev" --by region "${CHECKS[@]}"
	echo "$output"
	assert_success
	# Four regions have fewer than 1024 events, equal to len(set()); us-west
	# (1957 ids) is past the set, an estimate.
	[ "$(grep -c 'must be equal' <<< "$output")" -ge 13 ]
	grep -q '^ok us-west ids: .*bound' <<< "$output"
	# Hawaii's 116 magnitudes are few enough to be one value a centroid:
	# the median is PERCENTILE_CONT exactly.
	[ "$(jq -r 'select(.region == "hawaii") | .med' "$BATS_TEST_TMPDIR/rows")" = \
		"$(jq -s '[.[] | select(.region == "hawaii") | .magnitude | numbers] | sort |
			(.[57] + .[58]) / 2' "$BATS_FILE_TMPDIR/ev")" ]
}

@test "the whole week in one group: 3236 events" {
	csa-window --tumbling 365d --time time --agg "$AGGS" < "$BATS_FILE_TMPDIR/ev" > "$BATS_TEST_TMPDIR/rows"
	run "$PY" "$REF" check "$BATS_TEST_TMPDIR/rows" "$BATS_FILE_TMPDIR/ev" "${CHECKS[@]}"
	echo "$output"
	assert_success
	[ "$(jq .n "$BATS_TEST_TMPDIR/rows")" -eq 3236 ]
}

@test "32 partials merged by csa-merge: distinct counts equal one pass, quantiles within the bound" {
	local d="$BATS_TEST_TMPDIR"
	for k in $(seq 0 31); do
		awk -v k="$k" 'NR % 32 == k' "$BATS_FILE_TMPDIR/ev" |
			csa-window --tumbling 365d --time time --by region --agg "$AGGS"
	done > "$d/parts"
	[ "$(wc -l < "$d/parts")" -ge 150 ]
	csa-merge --speed "$d/parts" --total --by region > "$d/merged"
	csa-window --tumbling 365d --time time --by region --agg "$AGGS" < "$BATS_FILE_TMPDIR/ev" > "$d/one"
	run "$PY" "$REF" check "$d/merged" "$BATS_FILE_TMPDIR/ev" --by region "${CHECKS[@]}"
	echo "$output"
	assert_success
	# A distinct count is a function of the set of hashes: merged or not,
	# the same number.
	diff <(jq -c '[.region, .n, .ids, .mags, .places]' "$d/one") \
		<(jq -c '[.region, .n, .ids, .mags, .places]' "$d/merged")
	# csa-merge's rows carry the merged sketches: the halves merged, then
	# merged again, give the same answer within the bounds.
	{
		head -n 80 "$d/parts" | csa-merge --speed - --total --by region
		tail -n +81 "$d/parts" | csa-merge --speed - --total --by region
	} | csa-merge --speed - --total --by region > "$d/twice"
	diff <(jq -c '[.region, .n, .ids, .mags, .places]' "$d/one") \
		<(jq -c '[.region, .n, .ids, .mags, .places]' "$d/twice")
	run "$PY" "$REF" check "$d/twice" "$BATS_FILE_TMPDIR/ev" --by region "${CHECKS[@]}"
	assert_success
}

@test "synthetic 1e5 values: python checks the construction, the sketches stay within the bound" {
	local d="$BATS_TEST_TMPDIR"
	"$PY" "$REF" gen 100000 > "$d/ev"
	A='n=count,u=count_distinct(u),p01=percentile(v,0.01),med=median(v),p90=percentile(v,0.9),p999=percentile(v,0.999)'
	Q=(--distinct u=u --quantile p01=v:0.01 --quantile med=v:0.5 --quantile p90=v:0.9
		--quantile p999=v:0.999)
	csa-window --tumbling 1d --time t --agg "$A" < "$d/ev" > "$d/one"
	# Against the events themselves (sorted, set()) ...
	run "$PY" "$REF" check "$d/one" "$d/ev" "${Q[@]}"
	echo "$output"
	assert_success
	# ... and against the construction, which the 1e7 test relies on.
	run "$PY" "$REF" check "$d/one" "${Q[@]}"
	assert_success
	# 32 partials of it, merged.
	for k in $(seq 0 31); do
		awk -v k="$k" 'NR % 32 == k' "$d/ev" | csa-window --tumbling 1d --time t --agg "$A"
	done > "$d/parts"
	csa-merge --speed "$d/parts" --total > "$d/merged"
	run "$PY" "$REF" check "$d/merged" "$d/ev" "${Q[@]}"
	echo "$output"
	assert_success
	[ "$(jq .u "$d/one")" = "$(jq .u "$d/merged")" ]
}

@test "synthetic 1e7 values, generated as the test runs: within the bound" {
	local d="$BATS_TEST_TMPDIR"
	"$PY" "$REF" gen 10000000 |
		csa-window --tumbling 1d --time t --agg 'n=count,u=count_distinct(u),p01=percentile(v,0.01),med=median(v),p99=percentile(v,0.99)' \
		> "$d/one"
	[ "$(jq .n "$d/one")" -eq 10000000 ]
	run "$PY" "$REF" check "$d/one" --distinct u=u --quantile p01=v:0.01 --quantile med=v:0.5 \
		--quantile p99=v:0.99
	echo "$output"
	assert_success
}

@test "the batch layer computes the same sketches as the speed layer" {
	local d="$BATS_TEST_TMPDIR"
	csa-batch-agg --tumbling 1d --time time --by region --agg "$AGGS" < "$BATS_FILE_TMPDIR/ev" |
		jq -c 'del(._id)' | sort > "$d/batch"
	csa-window --tumbling 1d --time time --by region --agg "$AGGS" < "$BATS_FILE_TMPDIR/ev" |
		jq -c 'del(._id, .window_type)' | sort > "$d/speed"
	[ "$(wc -l < "$d/batch")" -ge 40 ]
	diff <(jq -c '[.window_start, .region, .n, .ids, .med, .p95]' "$d/batch") \
		<(jq -c '[.window_start, .region, .n, .ids, .med, .p95]' "$d/speed")
}

@test "saved window state carries the sketches: two runs equal one" {
	local d="$BATS_TEST_TMPDIR"
	jq -s -c 'sort_by(.time) | .[]' "$BATS_FILE_TMPDIR/ev" > "$d/sorted"
	head -n 1600 "$d/sorted" |
		csa-window --tumbling 365d --time time --by region --agg "$AGGS" --state "$d/st" \
		--keep-open > "$d/a"
	[ ! -s "$d/a" ]
	grep -q '"sketch":' "$d/st"
	tail -n +1601 "$d/sorted" |
		csa-window --tumbling 365d --time time --by region --agg "$AGGS" --state "$d/st" > "$d/b"
	csa-window --tumbling 365d --time time --by region --agg "$AGGS" < "$d/sorted" > "$d/one"
	# Distinct counts are equal; a digest saved and read back was
	# compressed at another point than one pass's, so quantiles are
	# within the bound instead.
	diff <(jq -c '[.region, .n, .ids, .mags, .places]' "$d/one") \
		<(jq -c '[.region, .n, .ids, .mags, .places]' "$d/b")
	run "$PY" "$REF" check "$d/b" "$BATS_FILE_TMPDIR/ev" --by region "${CHECKS[@]}"
	echo "$output"
	assert_success
}

@test "bad aggregate arguments exit 2 with what to write" {
	for a in 'x=percentile(m)' 'x=percentile(m, 95)' 'x=percentile(m, -0.1)' 'x=percentile(, 0.5)' \
		'x=percentile(m, half)' 'x=count_distinct()' 'x=median()'; do
		run --separate-stderr csa-window --tumbling 1h --agg "$a" < /dev/null
		assert_failure 2
		[[ "$stderr" == *"aggregate 'x'"* ]] || { echo "$a: $stderr"; return 1; }
	done
	run --separate-stderr csa-window --tumbling 1h --agg 'x=percentile(m, 95)' < /dev/null
	[[ "$stderr" == *"P is a fraction from 0 to 1, not '95'"* ]]
}

@test "sliding and session windows: each row's sketches against python over the row's events" {
	local d="$BATS_TEST_TMPDIR"
	A='n=count,ids=count_distinct(event_id),med=median(magnitude),p90=percentile(depth_km,0.9)'
	jq -s -c 'sort_by(.time) | .[]' "$BATS_FILE_TMPDIR/ev" > "$d/sorted"
	# A day slides over up to 346 events of a region: past the exact
	# medians; an hour over at most 45.
	for w in "--sliding 1d" "--sliding 1h" "--session 30m/2h"; do
		csa-window $w --time time --by region --agg "$A" < "$d/sorted" > "$d/rows"
		[ "$(wc -l < "$d/rows")" -gt 400 ]
		run "$PY" "$REF" window-check "$d/sorted" "$d/rows" "${w:2:7}"
		echo "$w: $output" | tail -n 3
		assert_success
	done
	# Saved and restored in the middle, the sliding day gives the same
	# counts (a digest restored was compressed at another point: the
	# quantiles are checked against python instead).
	head -n 1600 "$d/sorted" | csa-window --sliding 1d --time time --by region --agg "$A" \
		--state "$d/st" --keep-open > "$d/a"
	tail -n +1601 "$d/sorted" | csa-window --sliding 1d --time time --by region --agg "$A" \
		--state "$d/st" > "$d/b"
	csa-window --sliding 1d --time time --by region --agg "$A" < "$d/sorted" > "$d/one"
	diff <(jq -c '[.window_end, .region, .n, .ids]' "$d/one") \
		<(cat "$d/a" "$d/b" | jq -c '[.window_end, .region, .n, .ids]')
	cat "$d/a" "$d/b" > "$d/ab"
	run "$PY" "$REF" window-check "$d/sorted" "$d/ab" sliding
	echo "$output" | tail -n 3
	assert_success
}

@test "a malformed sketch in a row is a bad line named by file:line; the other rows still merge" {
	local d="$BATS_TEST_TMPDIR" k=0
	csa-window --tumbling 1d --time time --by region --agg "$AGGS" < "$BATS_FILE_TMPDIR/ev" > "$d/rows"
	# Each case replaces (k: bats' run uses i) the sketch of one aggregate in row 3.
	while IFS='|' read -r agg expr why; do
		k=$((k + 1))
		{
			head -n 2 "$d/rows"
			sed -n 3p "$d/rows" | jq -c "._state.$agg.sketch |= ($expr)"
			tail -n +4 "$d/rows"
		} > "$d/bad$k"
		run --separate-stderr csa-merge --speed "$d/bad$k" --total --by region < /dev/null
		assert_failure 1
		[[ "$stderr" == *"bad$k:3: _state.$agg"*"$why"* ]] || { echo "case $k: $stderr"; return 1; }
		# Every row but the bad one was merged.
		[ "$(jq -s 'map(.n) | add' <<< "$output")" -eq \
			"$(sed 3d "$d/rows" | jq -s 'map(.n) | add')" ] || { echo "case $k"; return 1; }
	done <<-'EOF'
		med|"not base64!"|is not base64
		med|.[:-4]|t-digest
		med|"AQ=="|not a t-digest
		med|"AlQ="|not a t-digest of version 1
		ids|"AVM="|neither a set nor registers
		ids|"AlM="|not a distinct count of version 1
		ids|.[:8]|distinct count
		p95|1|no "sketch"
	EOF
	# A digest whose weight is not the row's n, and registers out of range,
	# written by python here.
	"$PY" - "$d/rows" > "$d/bad-n" <<-'EOF'
		import base64, json, struct, sys
		rows = [json.loads(l) for l in open(sys.argv[1])]
		c = struct.pack('<BBIIdd', 1, ord('T'), 200, 1, 1.0, 1.0) + struct.pack('<dQ', 1.0, 5)
		rows[2]['_state']['med']['sketch'] = base64.b64encode(c).decode()
		r = struct.pack('<BBB', 1, ord('R'), 12) + bytes([60] * 4096)
		rows[4]['_state']['ids']['sketch'] = base64.b64encode(r).decode()
		c = struct.pack('<BBIIdd', 1, ord('T'), 100, 1, 1.0, 1.0) + struct.pack('<dQ', 1.0, 1)
		rows[6]['_state']['p95']['sketch'] = base64.b64encode(c).decode()
		for r in rows:
		    print(json.dumps(r, separators=(',', ':')))
	EOF
	run --separate-stderr csa-merge --speed "$d/bad-n" --total --by region
	assert_failure 1
	[[ "$stderr" == *"bad-n:3: _state.med: the sketch holds 5 values"* ]]
	[[ "$stderr" == *"bad-n:5: _state.ids: distinct count: register 0 is 60, above 53"* ]]
	[[ "$stderr" == *"bad-n:7: _state.p95: t-digest of compression 100, not 200"* ]]
}

@test "IoT device daily metrics (examples/iot-pipeline.sh): speed, batch and serving equal python's, duplicates dropped once" {
	local w="$BATS_TEST_TMPDIR/iot"
	"$CSA_SRCDIR/examples/iot-pipeline.sh" "$w" > "$BATS_TEST_TMPDIR/out"
	run "$PY" - "$w/iot.ndjson" "$w/daily.ndjson" "$w/total.ndjson" <<-'EOF'
		import bisect, datetime, json, math, statistics, sys
		lines = [json.loads(l) for l in open(sys.argv[1])]
		seen, events = set(), []
		for e in lines:
		    if e["eventId"] not in seen:
		        seen.add(e["eventId"])
		        events.append(e)
		dups = len(lines) - len(events)
		print("lines", len(lines), "events", len(events), "repeated", dups)
		assert 5 <= dups <= 60, dups
		def day(e):
		    # Windows are (start, end]: midnight belongs to the day before.
		    t = datetime.datetime.strptime(e["createdAt"], "%Y-%m-%dT%H:%M:%S.%fZ")
		    return (t - datetime.timedelta(milliseconds=1)).strftime("%Y-%m-%dT00:00:00.000Z")
		def metrics(evs):
		    temp = sorted(e["value"] for e in evs if e["type"] == "temperature")
		    pos = 0.5 * (len(temp) - 1)
		    lo = int(pos)
		    return {
		        "events": len(evs),
		        "avg_temperature": sum(temp) / len(temp),
		        "max_temperature": temp[-1], "min_temperature": temp[0],
		        "stddev_temperature": statistics.stdev(temp) if len(temp) > 1 else None,
		        "median_temperature": (temp, temp[lo] + (temp[min(lo + 1, len(temp) - 1)] - temp[lo]) * (pos - lo)),
		        "total_energy": sum(e["value"] for e in evs if e["type"] == "energy"),
		        "distinct_users": len(set(e["complexData"]["userId"] for e in evs)),
		    }
		def check(rows, key, groups):
		    assert sorted(key(r) for r in rows) == sorted(groups), (len(rows), len(groups))
		    for r in rows:
		        want = metrics(groups[key(r)])
		        for k, v in want.items():
		            if v is None:
		                assert r[k] is None, (key(r), k, r[k])
		            elif k == "median_temperature":
		                temp, exact = v
		                # Exact with few values, else within the t-digest's
		                # rank bound at the median (pi / 200 of the values).
		                lo = bisect.bisect_left(temp, r[k])
		                hi = bisect.bisect_right(temp, r[k])
		                err = 0 if lo - 1 <= 0.5 * (len(temp) - 1) <= hi else \
		                    min(abs(0.5 * (len(temp) - 1) - lo + 1), abs(0.5 * (len(temp) - 1) - hi)) / len(temp)
		                assert err <= math.pi / 200 + 1 / len(temp), (key(r), k, r[k], exact, err)
		            elif k == "distinct_users" and v > 1024:
		                # Past the exact set: HyperLogLog, 3 standard errors.
		                assert abs(r[k] - v) <= 3 * 0.01625 * v, (key(r), k, r[k], v)
		            elif isinstance(v, int):
		                assert r[k] == v, (key(r), k, r[k], v)
		            else:
		                assert abs(r[k] - v) <= 1e-9 * max(1, abs(v)), (key(r), k, r[k], v)
		daily = {}
		for e in events:
		    daily.setdefault((e["deviceId"], day(e)), []).append(e)
		rows = [json.loads(l) for l in open(sys.argv[2])]
		check(rows, lambda r: (r["deviceId"], r["window_start"]), daily)
		assert {r["data_freshness"] for r in rows} == {"batch-only", "realtime-only"}, {r["data_freshness"] for r in rows}
		total = {}
		for e in events:
		    total.setdefault(e["deviceId"], []).append(e)
		check([json.loads(l) for l in open(sys.argv[3])], lambda r: r["deviceId"], total)
		print("daily rows", len(rows), "devices", len(total))
	EOF
	echo "$output"
	assert_success
	# Each layer saw the repeated events and dropped them: the batch layer's
	# view and the speed layer's first day agree.
	diff <(cat "$w"/gold/device_daily/*/*.ndjson | jq -c '[.deviceId, .events, .distinct_users]' | sort) \
		<(jq -c 'select(.window_start == "2026-04-21T00:00:00.000Z") | [.deviceId, .events, .distinct_users]' \
			"$w/speed.ndjson" | sort)
}
