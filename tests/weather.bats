#!/usr/bin/env bats
# Weather alerts (the NWS GeoJSON shape) through the same hub, speed,
# batch and serving commands: examples/weather-alerts.py and
# examples/weather-pipeline.sh, checked against jq and python.

load helpers/common

POLLS=("$DATA/weather/nws_alerts_ca_poll1.geojson" "$DATA/weather/nws_alerts_ca_poll2.geojson")

@test "weather-alerts.py: one line per alert, the reference's fields, null places for alerts without geometry" {
	run -0 "$PY" "$CSA_SRCDIR/examples/weather-alerts.py" "${POLLS[1]}"
	[ "${#lines[@]}" -eq "$(jq '.features | length' "${POLLS[1]}")" ]
	# Each field as the document has it, by jq.
	jq -c '.features[] | .properties | [.id, .event, .severity, .headline, .areaDesc, .onset, .expires, .sent]' \
		"${POLLS[1]}" > "$BATS_TEST_TMPDIR/want"
	echo "$output" | jq -c '[.alert_id, .event, .severity, .headline, .area, .onset, .expires, .sent]' |
		diff "$BATS_TEST_TMPDIR/want" -
	nogeo=$(jq '[.features[] | select(.geometry == null)] | length' "${POLLS[1]}")
	[ "$nogeo" -ge 4 ]
	echo "$output" | jq -e -s --argjson k "$nogeo" 'all(has("ingested_at")) and
		([.[] | select(.latitude == null and .longitude == null)] | length) == $k and
		([.[] | select(.onset == null)] | length) == 1'
	# The centres: the mean of the outer rings' vertices, as python counts.
	"$PY" - "${POLLS[1]}" > "$BATS_TEST_TMPDIR/centres" <<-'PY'
	import json, sys
	for f in json.load(open(sys.argv[1]))["features"]:
	    g = f["geometry"]
	    if not g:
	        continue
	    rings = [g["coordinates"][0]] if g["type"] == "Polygon" else [p[0] for p in g["coordinates"]]
	    pts = [pt for r in rings for pt in r[:-1]]
	    print("%.6f %.6f" % (sum(p[1] for p in pts) / len(pts), sum(p[0] for p in pts) / len(pts)))
	PY
	echo "$output" | jq -r 'select(.latitude != null) | "\(.latitude) \(.longitude)"' |
		awk '{ printf "%.6f %.6f\n", $1, $2 }' | diff "$BATS_TEST_TMPDIR/centres" -
}

@test "weather-alerts.py: a feature without an id and a document that is not one are named, the rest go out, exit 1" {
	printf '%s\n' '{"type":"FeatureCollection","features":[{"type":"Feature","geometry":null,"properties":{"event":"Frost Advisory"}},' \
		'{"type":"Feature","geometry":null,"properties":{"id":"urn:oid:x","event":"Frost Advisory"}}]}' > "$BATS_TEST_TMPDIR/noid.json"
	echo '{"type":"Feature"}' > "$BATS_TEST_TMPDIR/feature.json"
	echo '{"type":' > "$BATS_TEST_TMPDIR/cut.json"
	run -1 --separate-stderr "$PY" "$CSA_SRCDIR/examples/weather-alerts.py" "$BATS_TEST_TMPDIR/noid.json" \
		"$BATS_TEST_TMPDIR/feature.json" "$BATS_TEST_TMPDIR/cut.json" "${POLLS[0]}"
	[ "${#lines[@]}" -eq $((1 + $(jq '.features | length' "${POLLS[0]}"))) ]
	[[ "$stderr" == *"noid.json: feature 1: no properties.id, skipped"* ]]
	[[ "$stderr" == *"feature.json: not a GeoJSON FeatureCollection, skipped"* ]]
	[[ "$stderr" == *"cut.json: not JSON: "* ]]
	run -3 "$PY" "$CSA_SRCDIR/examples/weather-alerts.py" "$BATS_TEST_TMPDIR/nonesuch"
	assert_output --partial "nonesuch: No such file or directory"
	# A closed pipe is quiet.
	run -0 --separate-stderr bash -c '"$0" "$1" "$2" | head -n 1' "$PY" "$CSA_SRCDIR/examples/weather-alerts.py" "${POLLS[1]}"
	[ -z "$stderr" ]
}

@test "weather alerts through hub, batch, speed and serving: alerts per event type equal jq's, each alert once" {
	run -0 "$CSA_SRCDIR/examples/weather-pipeline.sh" "$BATS_TEST_TMPDIR/w" "${POLLS[@]}"
	w=$BATS_TEST_TMPDIR/w
	# The second poll repeats alerts of the first: counted once.
	cat "$w"/poll*.ndjson | jq -s -e '(map(.alert_id) | unique | length) < length'
	jq -c '[.event, .alerts, .severe]' "$w/merged.ndjson" | sort > "$BATS_TEST_TMPDIR/ours"
	cat "$w"/poll*.ndjson | jq -c -s 'unique_by(.alert_id) | group_by(.event)
		| map([.[0].event, length, (map(select(.severity == "Severe")) | length)])[]' |
		sort > "$BATS_TEST_TMPDIR/jq"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/jq")" -ge 6 ]
	diff "$BATS_TEST_TMPDIR/jq" "$BATS_TEST_TMPDIR/ours"
	# Both layers answered: the first poll's from batch, the later alerts from speed.
	jq -e -s 'any(.data_freshness == "batch-only") and any(.data_freshness == "realtime-only")' "$w/merged.ndjson"
	# The batch view stops at the hour of the first poll's last alert (09:31 PDT).
	[ "$(cat "$w"/gold/by_event/*/*.ndjson | jq -rs 'map(.window_end) | max')" = 2026-04-22T17:00:00.000Z ]
	# The speed layer alone counts each alert once too.
	[ "$(csa-merge --speed "$w/speed.ndjson" --total --by '' | jq .alerts)" -eq \
		"$(cat "$w"/poll*.ndjson | jq -s 'unique_by(.alert_id) | length')" ]
}
