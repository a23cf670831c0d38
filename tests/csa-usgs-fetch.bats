#!/usr/bin/env bats
# csa-usgs-fetch: real USGS files over file: URLs and a real HTTP(S) server.

load helpers/common

setup() {
	FETCH="csa-usgs-fetch --retry-delay 0.05"
}

teardown() {
	kill_bg
	stop_usgs_server
}

# Our events, without ingested_at, sorted, and jq's projection of the source.
ours_sorted() { jq -S -s 'map(del(.ingested_at)) | sort_by(.event_id)'; }
jq_expected() {
	jq -S -s -L "$HELPERS" 'include "usgs"; [.[].features[] | select(.id != null and .geometry != null) | event] | sort_by(.event_id)' "$@"
}

@test "--help prints usage on stdout and exits 0" {
	run --separate-stderr csa-usgs-fetch --help
	assert_success
	assert_line --index 0 --partial "Usage: csa-usgs-fetch"
	assert_output --partial "--interval"
	[ -z "$stderr" ]
}

@test "--version names the program and libcurl" {
	run csa-usgs-fetch --version
	assert_success
	assert_line --index 0 --regexp '^csa-usgs-fetch \(csa-streaming\) [0-9]+\.[0-9]+'
	assert_output --partial "libcurl"
}

@test "a bad option exits 2 with the Try line" {
	run --separate-stderr csa-usgs-fetch --no-such-option
	assert_failure 2
	[ -z "$output" ]
	[[ "$stderr" == *"Try 'csa-usgs-fetch --help' for more information."* ]]
}

@test "bad option values exit 2 naming the option" {
	run --separate-stderr csa-usgs-fetch --interval 0
	assert_failure 2
	[[ "$stderr" == *"--interval"* ]]
	run --separate-stderr csa-usgs-fetch --feed '../etc'
	assert_failure 2
	[[ "$stderr" == *"--feed"* ]]
	# A typo of a feed name is caught before any request.
	for feed in all_dya 2.5 2.5_ _day ALL_day 3.0_day all_day_; do
		run --separate-stderr csa-usgs-fetch --feed "$feed"
		assert_failure 2
		[[ "$stderr" == *"--feed: no USGS feed '$feed' (MAG_PERIOD"* ]]
	done
	for feed in significant_hour 4.5_week 2.5_day 1.0_month all_day; do
		run csa-usgs-fetch --feed "$feed" --help
		assert_success
	done
	run --separate-stderr csa-usgs-fetch --from tomorrow
	assert_failure 2
	[[ "$stderr" == *"--from: 'tomorrow' is not a time"* ]]
	run --separate-stderr csa-usgs-fetch --state-days -3
	assert_failure 2
	run --separate-stderr csa-usgs-fetch --feed all_day --url file:///dev/null
	assert_failure 2
	run --separate-stderr csa-usgs-fetch --from 2020-02-01 --to 2020-01-01
	assert_failure 2
	[[ "$stderr" == *"--from is after --to"* ]]
}

@test "a bad --where expression exits 2 with libjq's message" {
	run --separate-stderr csa-usgs-fetch --where '.magnitude >=' --url "file://$DATA/usgs/abruzzi_all_day.geojson"
	assert_failure 2
	[[ "$stderr" == *"--where"* ]]
	[[ "$stderr" == *"syntax error"* ]]
	[ -z "$output" ]
	# One line for the message, one for the Try line.
	[ "$(wc -l <<<"$stderr")" -eq 2 ]
	run --separate-stderr csa-usgs-fetch --where '' --url "file://$DATA/usgs/abruzzi_all_day.geojson"
	assert_failure 2
	[[ "$stderr" == *"--where: an empty expression"* ]]
	[ -z "$output" ]
}

@test "every field of all 3236 events equals jq's projection of the source" {
	src=$(bryn_json)
	run --separate-stderr $FETCH --url "file://$src"
	assert_success
	[ "${#lines[@]}" -eq 3236 ]
	diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$src")
}

@test "a gzip-compressed saved feed reads as the plain one; a damaged one is named" {
	src=$(bryn_json)
	gzip -c "$src" > "$BATS_TEST_TMPDIR/feed.geojson.gz"
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/feed.geojson.gz"
	assert_success
	[ "${#lines[@]}" -eq 3236 ]
	diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$src")
	head -c 100000 "$BATS_TEST_TMPDIR/feed.geojson.gz" > "$BATS_TEST_TMPDIR/cut.gz"
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/cut.gz"
	assert_failure
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/cut.gz: damaged gzip data at byte 100000"* ]]
	[ -z "$output" ]
}

@test "events come out in ascending event time, with ingested_at in RFC 3339" {
	run $FETCH --url "file://$(bryn_json)"
	assert_success
	printf '%s\n' "$output" | jq -s -e 'map(.time) as $t | $t == ($t | sort)'
	printf '%s\n' "$output" | jq -e -r '.ingested_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")' >/dev/null
	printf '%s\n' "$output" | jq -s -e 'map(.ingested_at) | unique | length == 1'
}

@test "negative magnitudes and depths, and raw UTF-8 places, come out as they are" {
	src=$(bryn_json)
	run $FETCH --url "file://$src"
	neg_src=$(jq '[.features[] | select(.properties.mag < 0)] | length' "$src")
	[ "$neg_src" -gt 0 ]
	neg_out=$(printf '%s\n' "$output" | jq -s '[.[] | select(.magnitude < 0)] | length')
	[ "$neg_out" -eq "$neg_src" ]
	deep_src=$(jq '[.features[] | select(.geometry.coordinates[2] < 0)] | length' "$src")
	[ "$deep_src" -gt 0 ]
	[ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.depth_km < 0)] | length')" -eq "$deep_src" ]
	# A non-ASCII place survives byte for byte.
	utf=$(jq -r '[.features[].properties.place | select(test("[^\\u0000-\\u007f]"))][0]' "$src")
	[ -n "$utf" ] && [ "$utf" != null ]
	printf '%s\n' "$output" | grep -F -- "$utf" >/dev/null
}

@test "the 2013 format (no title, tsunami null, status REVIEWED) is emitted as it is" {
	src="$DATA/usgs/ernestocd_significant_month.geojson"
	run --separate-stderr $FETCH --url "file://$src"
	assert_success
	diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$src")
	printf '%s\n' "$output" | jq -e -s 'map(.status) | unique == ["REVIEWED"]' >/dev/null
	printf '%s\n' "$output" | jq -e -s 'any(.tsunami_flag == null)' >/dev/null
}

@test "mixed-case status, quarry blasts and null places are valid" {
	for f in abruzzi_all_day valeriovolpati_query; do
		src="$DATA/usgs/$f.geojson"
		run --separate-stderr $FETCH --url "file://$src"
		assert_success
		[ -z "$stderr" ]
		diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$src")
	done
	run $FETCH --url "file://$DATA/usgs/abruzzi_all_day.geojson"
	printf '%s\n' "$output" | jq -e -s 'map(.status) | (index("AUTOMATIC") != null and index("automatic") != null)' >/dev/null
	printf '%s\n' "$output" | jq -e -s 'any(.event_type == "quarry")' >/dev/null
	run $FETCH --url "file://$DATA/usgs/valeriovolpati_query.geojson"
	[ "$(printf '%s\n' "$output" | jq -s '[.[] | select(.place == null)] | length')" -eq 5 ]
}

@test "two snapshots polled in order emit exactly the new and revised events jq finds" {
	a="$DATA/usgs/utero_4.5_month_20140321.geojson"
	b="$DATA/usgs/utero_4.5_month_20140401.geojson"
	state="$BATS_TEST_TMPDIR/state"
	run $FETCH --state "$state" --url "file://$a"
	assert_success
	[ "${#lines[@]}" -eq 409 ]
	run --separate-stderr $FETCH -v --state "$state" --url "file://$b"
	assert_success
	got=$(printf '%s\n' "$output" | jq -r .event_id | sort)
	want=$(jq -n -r -L "$HELPERS" --slurpfile a "$a" --slurpfile b "$b" '
		include "usgs";
		([$a[0].features[] | {u: .properties.updated, id: all_ids[]}]
		  | group_by(.id) | map({key: .[0].id, value: (map(.u) | max)}) | from_entries) as $seen
		| $b[0].features[]
		| [all_ids[] | $seen[.] | select(. != null)] as $hits
		| select(($hits | length) == 0 or .properties.updated > ($hits | max))
		| .id' | sort)
	[ -n "$want" ]
	[ "$got" = "$want" ]
	new=$(jq -n -L "$HELPERS" --slurpfile a "$a" --slurpfile b "$b" '
		include "usgs";
		([$a[0].features[] | all_ids[]] | map({key: ., value: 1}) | from_entries) as $seen
		| [$b[0].features[] | select([all_ids[] | $seen[.]] | all(. == null))] | length')
	revised=$(( $(printf '%s\n' "$want" | wc -l) - new ))
	[ "$revised" -gt 0 ]
	[[ "$stderr" == *"($new new, $revised revised)"* ]]
	# A third poll of the same snapshot emits nothing.
	run $FETCH --state "$state" --url "file://$b"
	assert_success
	[ -z "$output" ]
}

@test "a feature without updated is versioned by its time: the same time given as updated is no revision" {
	# feed U: one feature, with properties.updated = U, or none when U is null
	feed() {
		jq -n --argjson u "$1" '{type: "FeatureCollection", features: [{type: "Feature", id: "nu1",
			properties: ({mag: 1, place: "p", time: 1767261600000, type: "earthquake"}
				+ (if $u == null then {} else {updated: $u} end)),
			geometry: {type: "Point", coordinates: [-120, 40, 5]}}]}'
	}
	feed null > "$BATS_TEST_TMPDIR/f1.json"
	feed 1767261600000 > "$BATS_TEST_TMPDIR/f2.json"
	feed 1767261600001 > "$BATS_TEST_TMPDIR/f3.json"
	state="$BATS_TEST_TMPDIR/state"
	run -0 $FETCH --state "$state" --url "file://$BATS_TEST_TMPDIR/f1.json"
	[ "$(printf '%s\n' "$output" | jq -c '[.event_id, .updated]')" = '["nu1",1767261600000]' ]
	run -0 $FETCH --state "$state" --url "file://$BATS_TEST_TMPDIR/f2.json"
	[ -z "$output" ]
	run -0 $FETCH --state "$state" --url "file://$BATS_TEST_TMPDIR/f3.json"
	[ "$(printf '%s\n' "$output" | jq -c '[.event_id, .updated]')" = '["nu1",1767261600001]' ]
}

@test "an event whose id changed but whose ids list holds a seen id is a revision" {
	state="$BATS_TEST_TMPDIR/state"
	feed() {
		jq -c --arg id "$1" --arg ids "$2" --argjson upd "$3" \
			'.features |= [.[0] | .id = $id | .properties.ids = $ids | .properties.updated = $upd]' \
			"$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/feed.json"
	}
	feed us100 ",us100,ci200," 1000
	run $FETCH --state "$state" --url "file://$BATS_TEST_TMPDIR/feed.json"
	[ "${#lines[@]}" -eq 1 ]
	feed ci200 ",ci200,us100," 1000
	run $FETCH --state "$state" --url "file://$BATS_TEST_TMPDIR/feed.json"
	assert_success
	[ -z "$output" ]
	feed ci200 ",ci200,us100," 2000
	run --separate-stderr $FETCH -v --state "$state" --url "file://$BATS_TEST_TMPDIR/feed.json"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .event_id)" = ci200 ]
	[[ "$stderr" == *"(0 new, 1 revised)"* ]]
}

@test "--all emits every feature even when all were seen" {
	state="$BATS_TEST_TMPDIR/state"
	src="$DATA/usgs/abruzzi_all_day.geojson"
	run $FETCH --state "$state" --url "file://$src"
	[ "${#lines[@]}" -eq 146 ]
	run $FETCH --state "$state" --all --url "file://$src"
	assert_success
	[ "${#lines[@]}" -eq 146 ]
}

@test "--where keeps the events jq keeps, with paths and full jq programs" {
	src=$(bryn_json)
	run $FETCH --where '.magnitude >= 4.5' --url "file://$src"
	assert_success
	want=$(jq '[.features[] | select(.properties.mag >= 4.5)] | length' "$src")
	[ "$want" -gt 0 ]
	[ "${#lines[@]}" -eq "$want" ]
	run $FETCH --where '.region == "alaska" and .depth_km > 100' --url "file://$src"
	want=$(jq -L "$HELPERS" 'include "usgs"; [.features[] | event | select(.region == "alaska" and .depth_km > 100)] | length' "$src")
	[ "$want" -gt 0 ]
	[ "${#lines[@]}" -eq "$want" ]
	run $FETCH --where tsunami_flag --url "file://$DATA/usgs/ernestocd_significant_month.geojson"
	[ "${#lines[@]}" -eq "$(jq '[.features[] | select(.properties.tsunami != null and .properties.tsunami != false)] | length' "$DATA/usgs/ernestocd_significant_month.geojson")" ]
}

@test "over HTTP: events equal the file's, and a second poll gets 304 and emits nothing" {
	start_usgs_server "$DATA/usgs"
	state="$BATS_TEST_TMPDIR/state"
	run --separate-stderr $FETCH --state "$state" --url "$SERVER_URL/abruzzi_all_day.geojson"
	assert_success
	diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$DATA/usgs/abruzzi_all_day.geojson")
	run --separate-stderr $FETCH --state "$state" -v --url "$SERVER_URL/abruzzi_all_day.geojson"
	assert_success
	[ -z "$output" ]
	[[ "$stderr" == *"not modified"* ]]
	run tail -n 1 "$SERVER_LOG"
	assert_output --partial " 304 /abruzzi_all_day.geojson"
}

@test "region: a point on each edge of the rule (lat 50, 18, 22; lon -162, -154, -115, -90) and just past it" {
	# lon lat region, as the reference producer's get_partition_key states
	# the rule: lat > 50 alaska; 18 < lat < 22 and -162 < lon < -154 hawaii;
	# lon < -115 us-west; lon < -90 us-central; else us-east.  The two
	# points where the older rule (18 <= lat <= 23, -161 <= lon <= -154)
	# and the reference's disagree are the last two of the box.
	cat > "$BATS_TEST_TMPDIR/edges" <<-'EOF'
	-150 50 us-west
	-150 50.0001 alaska
	-80 50 us-east
	-80 50.0001 alaska
	-157 18 us-west
	-157 18.0001 hawaii
	-157 22 us-west
	-157 21.9999 hawaii
	-162 20 us-west
	-161.9999 20 hawaii
	-154 20 us-west
	-154.0001 20 hawaii
	-161.9999 18.0001 hawaii
	-154.0001 21.9999 hawaii
	-161.5 19.5 hawaii
	-158 22.5 us-west
	-115 40 us-central
	-115.0001 40 us-west
	-90 40 us-east
	-90.0001 40 us-central
	EOF
	mkdir "$BATS_TEST_TMPDIR/feed"
	jq -R -s '{type: "FeatureCollection", features: [split("\n")[] | select(. != "") | split(" ") | {
		type: "Feature", id: "edge\(.[0])_\(.[1])",
		properties: {mag: 1, place: .[2], time: 1767261600000, updated: 1767261600000, type: "earthquake"},
		geometry: {type: "Point", coordinates: [(.[0] | tonumber), (.[1] | tonumber), 5]}}]}' \
		"$BATS_TEST_TMPDIR/edges" > "$BATS_TEST_TMPDIR/feed/edges.geojson"
	start_usgs_server "$BATS_TEST_TMPDIR/feed"
	run --separate-stderr $FETCH --url "$SERVER_URL/edges.geojson"
	assert_success
	[ "${#lines[@]}" -eq "$(wc -l < "$BATS_TEST_TMPDIR/edges")" ]
	# Each event's region is the one written next to its point (carried in place).
	printf '%s\n' "$output" | jq -r 'select(.region != .place) | "\(.longitude) \(.latitude): \(.region), want \(.place)"' > "$BATS_TEST_TMPDIR/wrong"
	[ ! -s "$BATS_TEST_TMPDIR/wrong" ] || { cat "$BATS_TEST_TMPDIR/wrong"; return 1; }
	# Every region of the rule was hit.
	[ "$(printf '%s\n' "$output" | jq -r .region | sort -u | tr '\n' ' ')" = "alaska hawaii us-central us-east us-west " ]
}

@test "a gzip-encoded feed over HTTP gives all 3236 events" {
	start_usgs_server "$DATA/usgs"
	run $FETCH --url "$SERVER_URL/brynnabridges_all_week.geojson"
	assert_success
	[ "${#lines[@]}" -eq 3236 ]
}

@test "HTTP 404 exits 4 naming the URL and the status" {
	start_usgs_server "$DATA/usgs"
	run --separate-stderr $FETCH --url "$SERVER_URL/no_such_feed.geojson"
	assert_failure 4
	[ -z "$output" ]
	[[ "$stderr" == *"$SERVER_URL/no_such_feed.geojson"* ]]
	[[ "$stderr" == *"404"* ]]
	# 404 is not retried.
	[ "$(grep -c no_such_feed "$SERVER_LOG")" -eq 1 ]
}

@test "503 then 200 is retried and succeeds" {
	start_usgs_server "$DATA/usgs"
	url="$SERVER_URL/abruzzi_all_day.geojson?fail=503&times=2"
	run --separate-stderr $FETCH --url "$url"
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	run cut -d' ' -f2 "$SERVER_LOG"
	assert_output "$(printf '503\n503\n200')"
}

@test "Retry-After from the server sets the wait before the retry" {
	start_usgs_server "$DATA/usgs"
	url="$SERVER_URL/abruzzi_all_day.geojson?fail=429&times=1&retry_after=2"
	run csa-usgs-fetch --retry-delay 0 --url "$url"
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	t1=$(sed -n 1p "$SERVER_LOG" | cut -d' ' -f1)
	t2=$(sed -n 2p "$SERVER_LOG" | cut -d' ' -f1)
	awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b - a >= 1.9) }'
}

@test "a server that keeps failing exits 4 after the retries" {
	start_usgs_server "$DATA/usgs"
	run --separate-stderr $FETCH --retries 2 --url "$SERVER_URL/abruzzi_all_day.geojson?fail=500"
	assert_failure 4
	[[ "$stderr" == *"HTTP 500"* ]]
	[ "$(wc -l < "$SERVER_LOG")" -eq 3 ]
}

@test "connection refused exits 4 after the retries" {
	port=$(free_port)
	run --separate-stderr $FETCH --retries 2 --url "http://127.0.0.1:$port/all_hour.geojson"
	assert_failure 4
	[ -z "$output" ]
	[[ "$stderr" == *"127.0.0.1:$port"* ]]
	[[ "$stderr" == *"3 attempts"* ]]
}

@test "a truncated body exits 1, emits nothing and leaves the state unchanged" {
	start_usgs_server "$DATA/usgs"
	state="$BATS_TEST_TMPDIR/state"
	run $FETCH --state "$state" --url "file://$DATA/usgs/utero_4.5_month_20140321.geojson"
	assert_success
	cp "$state" "$BATS_TEST_TMPDIR/state.before"
	run --separate-stderr $FETCH --state "$state" --url "$SERVER_URL/utero_4.5_month_20140401.geojson?truncate=20000"
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"invalid JSON"* ]]
	[[ "$stderr" == *"nothing emitted"* ]]
	cmp "$state" "$BATS_TEST_TMPDIR/state.before"
}

@test "invalid JSON documents exit 1 with a message naming where" {
	printf '{"type":"FeatureCollection","features":[{"id":"x",}]}' > "$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/bad.json"
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"bad.json: invalid JSON at byte 50"* ]]
	printf '{"type":"FeatureCollection","features":[]} x' > "$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/bad.json"
	assert_failure 1
	[[ "$stderr" == *"invalid JSON"* ]]
	printf '[1,2,3]' > "$BATS_TEST_TMPDIR/bad.json"
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/bad.json"
	assert_failure 1
	[[ "$stderr" == *"not a GeoJSON FeatureCollection"* ]]
}

@test "a feed with a feature nested 500,000 deep is invalid JSON, found at once" {
	"$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
d["features"][3]["properties"]["deep"] = "DEEP"
print(json.dumps(d).replace("\"DEEP\"", "[" * 500000 + "]" * 500000))' \
		"$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/deep.json"
	run --separate-stderr timeout -k 5 60 $FETCH --url "file://$BATS_TEST_TMPDIR/deep.json"
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"deep.json: invalid JSON: nested deeper than 512 levels at byte"* ]]
}

@test "the malformed real feed: every feature skipped with a warning naming it, exit 1" {
	run --separate-stderr $FETCH --url "file://$DATA/usgs/malformed/sudoivan_all_day.json"
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"feature 1 (M 0.8 - 5 km WNW of Cobb, CA): no id, skipped"* ]]
	[[ "$stderr" == *"feature 10 ("*"): no id, skipped"* ]]
	# The same policy as every command's: ten named, the rest counted.
	[ "$(grep -c 'no id, skipped' <<<"$stderr")" -eq 10 ]
	[[ "$stderr" == *"more of these follow (without what is needed); only their count is reported"* ]]
	[[ "$stderr" == *"198 bad features skipped"* ]]
}

@test "features without id or geometry are skipped, the others emitted, exit 1" {
	mixed="$BATS_TEST_TMPDIR/mixed.json"
	jq -c --slurpfile bad "$DATA/usgs/malformed/sudoivan_all_day.json" '
		.features = (.features[0:10] + $bad[0].features[0:2]
			+ [.features[10] | del(.geometry)] + [.features[11] | .geometry = null])' \
		"$DATA/usgs/abruzzi_all_day.geojson" > "$mixed"
	run --separate-stderr $FETCH --url "file://$mixed"
	assert_failure 1
	[ "${#lines[@]}" -eq 10 ]
	[ "$(grep -c 'no id, skipped' <<<"$stderr")" -eq 2 ]
	[ "$(grep -c 'no geometry, skipped' <<<"$stderr")" -eq 2 ]
	id10=$(jq -r '.features[10].id' "$DATA/usgs/abruzzi_all_day.geojson")
	[[ "$stderr" == *"($id10): no geometry"* ]]
}

@test "an empty id is no id: the feature is named by its title and skipped, exit 1" {
	src="$DATA/usgs/abruzzi_all_day.geojson"
	jq -c '.features[1].id = "" | .features[2].id = "" | .features[2].properties.title = ""' \
		"$src" > "$BATS_TEST_TMPDIR/blank.json"
	title=$(jq -r '.features[1].properties.title' "$src")
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/blank.json"
	assert_failure 1
	[ "${#lines[@]}" -eq 144 ]
	[[ "$stderr" == *"feature 2 ($title): no id, skipped"* ]]
	url=$(jq -r '.features[2].properties.url' "$src")
	[[ "$stderr" == *"feature 3 ($url): no id, skipped"* ]]
}

@test "an empty ETag is no validator: the next poll asks again and emits nothing new" {
	start_usgs_server "$DATA/usgs"
	state="$BATS_TEST_TMPDIR/state"
	url="$SERVER_URL/abruzzi_all_day.geojson?etag=empty"
	run --separate-stderr $FETCH --state "$state" --url "$url"
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	run --separate-stderr $FETCH --state "$state" --url "$url"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	[ "$(grep -c ' 200 /abruzzi_all_day.geojson?etag=empty' "$SERVER_LOG")" -eq 2 ]
	# A state file that holds an empty etag (as earlier versions wrote) reads as well.
	printf '{"url":"%s","etag":"","last_modified":""}\n' "$url" > "$state"
	run --separate-stderr $FETCH --state "$state" --url "$url"
	assert_success
	[ "${#lines[@]}" -eq 146 ] && [ -z "$stderr" ]
}

@test "HTTPS with --cacert verifies the server; without it the request fails" {
	d="$BATS_TEST_TMPDIR/tls"
	make_test_ca "$d"
	start_usgs_server "$DATA/usgs" --tls "$d/srv.pem" "$d/srv.key"
	run --separate-stderr $FETCH --cacert "$d/ca.pem" --url "$SERVER_URL/abruzzi_all_day.geojson"
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	run --separate-stderr $FETCH --retries 0 --url "$SERVER_URL/abruzzi_all_day.geojson"
	assert_failure 4
	[[ "$stderr" == *"certificate"* ]]
}

@test "--interval polls until SIGTERM, flushing each poll, then exits 0" {
	start_usgs_server "$DATA/usgs"
	out="$BATS_TEST_TMPDIR/out"
	bg sh -c 'exec csa-usgs-fetch --interval 1 --url "$0" > "$1" 2>"$2"' \
		"$SERVER_URL/abruzzi_all_day.geojson" "$out" "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	for i in $(seq 1 100); do
		[ "$(wc -l < "$SERVER_LOG")" -ge 2 ] && break
		sleep 0.1
	done
	# The first poll's events are out before the process ends.
	[ "$(wc -l < "$out")" -eq 146 ]
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(wc -l < "$out")" -eq 146 ]
	grep -q ' 304 ' "$SERVER_LOG"
}

# quiet_feed N DIR/NAME: the real feed's metadata (generated moved on by N
# seconds, as each USGS poll sees it) with no features, as the hour feeds
# are most of the time.
quiet_feed() {
	jq -c --argjson n "$1" '.metadata.generated += $n * 1000 | .metadata.count = 0 |
		.features = [] | del(.bbox)' "$DATA/usgs/abruzzi_all_day.geojson" > "$2.tmp"
	mv "$2.tmp" "$2"
}

@test "a feed with no features emits nothing and exits 0, over file: and HTTP" {
	feed="$BATS_TEST_TMPDIR/feed"
	mkdir -p "$feed"
	quiet_feed 0 "$feed/significant_hour.geojson"
	run --separate-stderr $FETCH --url "file://$feed/significant_hour.geojson"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	start_usgs_server "$feed"
	run --separate-stderr $FETCH --state "$BATS_TEST_TMPDIR/state" -v \
		--url "$SERVER_URL/significant_hour.geojson"
	assert_success
	[ -z "$output" ]
	[[ "$stderr" == *"0 features polled, 0 emitted"* ]]
}

@test "--interval: a poller survives quiet polls and emits the events that come later" {
	feed="$BATS_TEST_TMPDIR/feed"
	mkdir -p "$feed"
	quiet_feed 0 "$feed/all_hour.geojson"
	start_usgs_server "$feed"
	out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err"
	bg sh -c 'exec csa-usgs-fetch --interval 1 --url "$0" > "$1" 2>"$2"' \
		"$SERVER_URL/all_hour.geojson" "$out" "$err"
	pid=$BG_PID
	# Three quiet polls, each a new document (200, not 304), as USGS sends.
	for n in 1 2 3; do
		wait_for 10 '[ "$(grep -c " 200 " "$SERVER_LOG")" -ge $n ]'
		quiet_feed "$n" "$feed/all_hour.geojson"
	done
	wait_for 10 '[ "$(grep -c " 200 " "$SERVER_LOG")" -ge 4 ]'
	kill -0 "$pid"
	[ ! -s "$out" ]
	cp "$DATA/usgs/abruzzi_all_day.geojson" "$feed/all_hour.geojson"
	wait_for 10 '[ "$(wc -l < "$out")" -eq 146 ]'
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s "$err" ]
	diff <(ours_sorted < "$out") <(jq_expected "$DATA/usgs/abruzzi_all_day.geojson")
}

@test "FDSN backfill splits a range over the limit and emits each event once, in time order" {
	src="$DATA/usgs/valeriovolpati_query.geojson"
	start_usgs_server "$DATA/usgs" --fdsn "$src" --max-allowed 300
	first=$(jq '[.features[].properties.time] | min' "$src")
	last=$(jq '[.features[].properties.time] | max' "$src")
	run --separate-stderr $FETCH --url "$SERVER_URL/fdsnws/event/1/query" \
		--from "$(date -u -d "@$((first / 1000))" +%FT%TZ)" \
		--to "$(date -u -d "@$((last / 1000 + 1))" +%FT%TZ)"
	assert_success
	[ "${#lines[@]}" -eq "$(jq '.features | length' "$src")" ]
	diff <(printf '%s\n' "$output" | ours_sorted) <(jq_expected "$src")
	printf '%s\n' "$output" | jq -s -e 'map(.time) as $t | $t == ($t | sort)' >/dev/null
	# More than one query was needed, none was refused, and they were paced.
	[ "$(grep -c ' 200 /fdsnws/event/1/query' "$SERVER_LOG")" -ge 3 ]
	! grep -q ' 400 ' "$SERVER_LOG" || false
	awk 'NR > 1 && $1 - prev < 0.59 { bad = 1 } { prev = $1 } END { exit bad }' "$SERVER_LOG"
}

@test "FDSN backfill on a terminal: a progress line of the range done and the events; none with -v" {
	command -v script >/dev/null || skip "no script(1) to give a terminal"
	src="$DATA/usgs/valeriovolpati_query.geojson"
	start_usgs_server "$DATA/usgs" --fdsn "$src" --max-allowed 300
	first=$(jq '[.features[].properties.time] | min' "$src")
	last=$(jq '[.features[].properties.time] | max' "$src")
	args="--url $SERVER_URL/fdsnws/event/1/query --from $(date -u -d "@$((first / 1000))" +%FT%TZ)"
	args="$args --to $(date -u -d "@$((last / 1000 + 1))" +%FT%TZ)"
	script -qec "$FETCH $args > '$BATS_TEST_TMPDIR/out'" /dev/null | tr '\r' '\n' > "$BATS_TEST_TMPDIR/tty"
	n=$(jq '.features | length' "$src")
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq "$n" ]
	# Lines while it ran, and the last one: all the events, the whole range.
	[ "$(grep -c 'csa-usgs-fetch: .*done, [0-9]* events' "$BATS_TEST_TMPDIR/tty")" -ge 2 ]
	grep -Eq "csa-usgs-fetch: [-0-9T:]+\.\.[-0-9T:]+ done, $n events \(100%\)$" "$BATS_TEST_TMPDIR/tty"
	script -qec "$FETCH -v $args > /dev/null" /dev/null > "$BATS_TEST_TMPDIR/tty-v"
	! grep -q " done, " "$BATS_TEST_TMPDIR/tty-v"
}

@test "FDSN backfill passes --minmagnitude and --updatedafter to the service" {
	src="$DATA/usgs/valeriovolpati_query.geojson"
	start_usgs_server "$DATA/usgs" --fdsn "$src"
	run $FETCH --url "$SERVER_URL/fdsnws/event/1/query" --from 1900-01-01 --minmagnitude 5.5
	assert_success
	want=$(jq '[.features[] | select(.properties.mag >= 5.5)] | length' "$src")
	[ "$want" -gt 0 ]
	[ "${#lines[@]}" -eq "$want" ]
	grep -q 'minmagnitude=5.5' "$SERVER_LOG"
	grep -q 'orderby=time-asc' "$SERVER_LOG"
	upd=$(jq '[.features[].properties.updated] | sort | .[length / 2 | floor]' "$src")
	run $FETCH --url "$SERVER_URL/fdsnws/event/1/query" --from 1900-01-01 \
		--updatedafter "$(date -u -d "@$((upd / 1000))" +%FT%TZ)"
	assert_success
	want=$(jq --argjson u "$(( upd / 1000 * 1000 ))" '[.features[] | select(.properties.updated > $u)] | length' "$src")
	[ "${#lines[@]}" -eq "$want" ]
}

@test "--state-days forgets events not seen for that long" {
	state="$BATS_TEST_TMPDIR/state"
	printf '{"id":"old1","updated":1,"seen":1000}\n{"id":"new1","updated":1,"seen":%s}\n' \
		"$(( $(date +%s) * 1000 ))" > "$state"
	run $FETCH --state "$state" --state-days 5 --url "file://$DATA/usgs/ernestocd_significant_month.geojson"
	assert_success
	! grep -q '"old1"' "$state" || false
	grep -q '"new1"' "$state"
	grep -q '"usb000i4re"' "$state"
}

@test "a damaged state line is reported with file:line and the rest is used" {
	state="$BATS_TEST_TMPDIR/state"
	run $FETCH --state "$state" --url "file://$DATA/usgs/ernestocd_significant_month.geojson"
	[ "${#lines[@]}" -eq 6 ]
	printf 'garbage\n' >> "$state"
	run --separate-stderr $FETCH --state "$state" --url "file://$DATA/usgs/ernestocd_significant_month.geojson"
	assert_failure 1
	[ -z "$output" ]
	[[ "$stderr" == *"state:"*"invalid JSON"* ]]
}

@test "stdout to /dev/full exits 3 with a message" {
	run --separate-stderr bash -c "$FETCH --url 'file://$DATA/usgs/abruzzi_all_day.geojson' > /dev/full"
	assert_failure 3
	[[ "$stderr" == *"csa-usgs-fetch: write error"* ]]
}

@test "a closed pipe (| head -n1) leaves stderr empty" {
	run --separate-stderr bash -c "$FETCH --url 'file://$(bryn_json)' | head -n1"
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[ -z "$stderr" ]
}

@test "a missing file: URL exits 3" {
	run --separate-stderr $FETCH --url "file://$BATS_TEST_TMPDIR/nope.geojson"
	assert_failure 3
	[[ "$stderr" == *"nope.geojson"* ]]
}

@test "--pending: the new state goes beside the old one, always, and only with one poll a run" {
	state="$BATS_TEST_TMPDIR/state"
	url="file://$DATA/usgs/utero_4.5_month_20140321.geojson"
	$FETCH --state "$state" --url "$url" > /dev/null
	cp "$state" "$BATS_TEST_TMPDIR/before"
	# A later feed: its events come out, the state stays, the new one waits.
	run --separate-stderr $FETCH --state "$state" --pending --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson"
	assert_success
	[ "${#lines[@]}" -gt 0 ]
	cmp "$state" "$BATS_TEST_TMPDIR/before"
	[ -s "$state.pending" ]
	# Moved into place, it is the state a plain run would have saved.
	mv "$state.pending" "$state"
	cp "$BATS_TEST_TMPDIR/before" "$BATS_TEST_TMPDIR/plain"
	$FETCH --state "$BATS_TEST_TMPDIR/plain" --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" > /dev/null
	diff <(jq -c 'del(.seen)' "$state" | sort) <(jq -c 'del(.seen)' "$BATS_TEST_TMPDIR/plain" | sort)
	# Nothing new: the pending file is written all the same, for the mv.
	run $FETCH --state "$state" --pending --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson"
	assert_success
	[ -z "$output" ]
	[ -s "$state.pending" ]
	for args in "--pending" "--pending --interval 60 --state $state"; do
		run --separate-stderr $FETCH $args --url "$url"
		assert_failure 2
		[[ "$stderr" == *"--pending: "* ]] || { echo "$args: $stderr"; return 1; }
	done
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-usgs-fetch <<-'EOF'
	--bogus|unknown option '--bogus'
	-Q|unknown option '-Q'
	-aQ|unknown option '-Q'
	--url|option '--url' needs a value
	-f|option '-f' needs a value
	--all=1|option '--all' takes no value
	--u x|option '--u' is ambiguous
	--interval 500ms|--interval: '500ms' is not a duration of 1s or more
	--interval x|--interval: 'x' is not a duration of 1s or more
	--timeout 0|--timeout: '0' is not a duration from 1s to 1d
	--timeout 2d|--timeout: '2d' is not a duration from 1s to 1d
	--retry-delay 2h|--retry-delay: '2h' is not a duration from 0s to 1h
	--retry-delay -1|--retry-delay: '-1' is not a duration from 0s to 1h
	--state-days 0|--state-days: '0' is not a duration from 1d to 36500d (a bare number is days)
	--state-days 12h|--state-days: '12h' is not a duration from 1d to 36500d (a bare number is days)
	--state-days 36501|--state-days: '36501' is not a duration from 1d to 36500d (a bare number is days)
	--retries 101|--retries: '101' is not a number from 0 to 100
	--minmagnitude 13|--minmagnitude: '13' is not a number from -10 to 12
	--minmagnitude nan|--minmagnitude: 'nan' is not a number from -10 to 12
	--from tomorrow|--from: 'tomorrow' is not a time (2026-04-22T14:23:05Z, an epoch, now, today, yesterday, or -2h for two hours ago)
	EOF
}

@test "durations where seconds were: --timeout, --retry-delay and --state-days take both forms" {
	url="file://$DATA/usgs/abruzzi_all_day.geojson"
	run -0 csa-usgs-fetch --url "$url" --timeout 60
	want=$output
	for args in "--timeout 30s" "--timeout 1.5" "--retry-delay 0.5" "--retry-delay 250ms" \
		"--state-days 30 -s $BATS_TEST_TMPDIR/s1" "--state-days 2w -s $BATS_TEST_TMPDIR/s2" \
		"--state-days 36500 -s $BATS_TEST_TMPDIR/s3"; do
		run -0 csa-usgs-fetch --url "$url" $args
		[ "$(printf '%s\n' "$output" | jq -c 'del(.ingested_at)')" = "$(printf '%s\n' "$want" | jq -c 'del(.ingested_at)')" ] \
			|| { echo "$args"; return 1; }
	done
}

@test "--starttime and --endtime still work, with a warning that names --from and --to" {
	start_usgs_server "$DATA/usgs" --fdsn "$DATA/usgs/valeriovolpati_query.geojson"
	run --separate-stderr $FETCH --url "$SERVER_URL/fdsnws/event/1/query" --starttime 1900-01-01 \
		--endtime 2100-01-01 --minmagnitude 5.5
	assert_success
	new=$output
	[[ "$stderr" == *"--starttime is deprecated: write --from (the old spelling goes in the next release)"* ]]
	[[ "$stderr" == *"--endtime is deprecated: write --to"* ]]
	run --separate-stderr $FETCH --url "$SERVER_URL/fdsnws/event/1/query" --from 1900-01-01 \
		--to 2100-01-01 --minmagnitude 5.5
	assert_success
	[ -z "$stderr" ]
	[ "$(ours_sorted <<< "$output")" = "$(ours_sorted <<< "$new")" ]
	[ "${#lines[@]}" -gt 0 ]
	# -q: the old spellings without a word; a server fault is still said.
	run --separate-stderr $FETCH -q --url "$SERVER_URL/fdsnws/event/1/query" --starttime 1900-01-01 \
		--endtime 2100-01-01 --minmagnitude 5.5
	assert_success
	[ -z "$stderr" ]
	[ "$(ours_sorted <<< "$output")" = "$(ours_sorted <<< "$new")" ]
	run --separate-stderr $FETCH -q --retries 0 --url "$SERVER_URL/no/such/feed.geojson"
	[ "$status" -ne 0 ]
	[[ "$stderr" == *"404"* ]]
}

@test "a feed's events go to standard output 64 KiB at a time, to a file as to a pipe" {
	command -v strace >/dev/null || skip "strace is not installed"
	# glibc kept 4 KiB when asked for 64 KiB without a buffer of ours.
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -e trace=write -o "$BATS_TEST_TMPDIR/file" \
		csa-usgs-fetch --url "file://$(bryn_json)" > "$BATS_TEST_TMPDIR/week"
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -e trace=write -o "$BATS_TEST_TMPDIR/pipe" \
		csa-usgs-fetch --url "file://$(bryn_json)" | cat > "$BATS_TEST_TMPDIR/week2"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/week")" -eq 3236 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/week2")" -eq 3236 ]
	for t in file pipe; do
		# Every write of stdout but the last is a whole buffer.
		awk -F'= ' '/^write\(1,/ { print $NF }' "$BATS_TEST_TMPDIR/$t" > "$BATS_TEST_TMPDIR/sizes"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/sizes")" -ge 3 ]
		[ "$(head -n -1 "$BATS_TEST_TMPDIR/sizes" | sort -u)" = 65536 ]
	done
}
