#!/bin/bash
# examples/local-pipeline.sh DIR: the whole Lambda pipeline on one machine,
# offline, on the real USGS feeds bundled in tests/data: ingest through the
# embedded hub, speed layer, Capture files, batch layer, serving layer and
# dashboard, saying what happens at each step.  Everything it makes stays
# in DIR (the hub, the views, the polls); the csa commands come from PATH.
# scripts/demo runs it after building.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
data="$top/tests/data/usgs"
mkdir -p "$1"
work=$(cd "$1" && pwd)
server=
stop_server() {
	if [ -n "$server" ]; then
		kill "$server" 2>/dev/null || true
		wait "$server" 2>/dev/null || true
	fi
}
trap stop_server EXIT
hub=$work/hub
export CSA_HUB=$hub

step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }
indent() { sed 's/^/   /'; }

step "0. A local HTTP server replays two real snapshots of the USGS 'M4.5+ past month' feed"
/usr/bin/python3 "$top/tests/helpers/usgs_server.py" "$data" "$work/port" "$work/http.log" \
	2> "$work/http.err" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$work/port")"
say "serving $data at $url"

step "1. Ingest: the feed as of 2014-03-21, polled into the embedded hub (4 partitions, keyed by region)"
csa-usgs-fetch --state "$work/usgs.state" --pending --url "$url/utero_4.5_month_20140321.geojson" |
	tee "$work/poll1.ndjson" | csa-eh-send -k region
# The state moves on only once the hub has the events (csa(7)).
mv "$work/usgs.state.pending" "$work/usgs.state"
say "$(wc -l < "$work/poll1.ndjson") events sent; the hub now holds:"
csa-eh-recv --list | indent

step "2. Capture: close the open capture windows into Avro files (cron runs this)"
csa-eh-send --close-all-windows
say "$(find "$hub/capture" -name '*.avro' | wc -l) capture files, e.g."
find "$hub/capture" -name '*.avro' | sort | head -n 2 | sed "s|^$hub/||" | indent

step "3. Batch layer (cron, every 6 hours): capture files -> deduplicated hourly and daily views"
csa-capture-read --state "$work/capture.state" --pending "$hub/capture" |
	csa-batch-agg --preset earthquake --state "$work/gold.state" --out "$work/gold"
mv "$work/capture.state.pending" "$work/capture.state"
say "$(find "$work/gold/hourly" -name '*.ndjson' | wc -l) hourly and $(find "$work/gold/daily" -name '*.ndjson' | wc -l) daily partitions;" \
	"high-water mark $(cat "$work"/gold/hourly/*/*.ndjson | jq -rs 'map(.window_end) | max')"

step "4. Ingest: eleven days later (2014-04-01); the state file lets only new and revised events through"
csa-usgs-fetch --state "$work/usgs.state" --pending --url "$url/utero_4.5_month_20140401.geojson" |
	tee "$work/poll2.ndjson" | csa-eh-send -k region
mv "$work/usgs.state.pending" "$work/usgs.state"
say "$(wc -l < "$work/poll2.ndjson") events sent, of which $(jq -s --slurpfile old "$work/poll1.ndjson" \
	'($old | map(.event_id)) as $ids | map(select(.event_id | IN($ids[]))) | length' "$work/poll2.ndjson") revise events already sent"

step "5. Speed layer: consumer group 'speed' through 5-minute windows by region (the reference query)"
say "event time is kept per partition (csa-eh-recv adds each event's partition); within one"
say "partition the second poll reaches back up to 19 days, as a month-long feed may: 31 days of"
say "disorder are tolerated, and a revision delivered again is counted once (--dedupe event_id)"
csa-eh-recv --group speed --exit-at-end |
	csa-window --preset earthquake --max-delay 31d --dedupe event_id > "$work/speed.ndjson"
say "$(wc -l < "$work/speed.ndjson") window rows; the last one:"
tail -n 1 "$work/speed.ndjson" | jq -c 'del(._state)' | indent

step "6. Serving layer: batch up to its high-water mark, speed after it, totals by region"
say "(the columns a reader needs first; csa-merge --table shows them all)"
csa-merge --batch "$work/gold/hourly" --speed "$work/speed.ndjson" --total --by region |
	jq -r '[.region, .event_count, .max_magnitude, .avg_magnitude, .significant_count,
	        .data_freshness] | @tsv' |
	{ printf 'region\tevents\tmax_mag\tavg_mag\tM5+\tfrom\n'; cat; } |
	column -t -s "$(printf '\t')" | indent
late=$(jq -s --slurpfile old "$work/poll1.ndjson" --arg hw "$(cat "$work"/gold/hourly/*/*.ndjson | jq -rs 'map(.window_end) | max')" \
	'($old | map(.event_id)) as $ids | ($hw | sub("\\.000Z$"; "Z") | fromdate * 1000) as $cut |
	 map(select((.event_id | IN($ids[])) | not) | select(.time <= $cut)) | length' "$work/poll2.ndjson")
say "Not in these totals: $late events USGS published after the first poll that happened before the"
say "batch high-water mark.  The speed layer saw them, but before the cutoff the batch view is"
say "authoritative, and it has not run since: the next batch run (step 8) takes them in."

step "7. Dashboard: consumer group 'dash' and the speed rows, a plain snapshot as of the second poll"
now=$(jq -r '.metadata.generated / 1000 | todate' "$data/utero_4.5_month_20140401.geojson")
{ csa-eh-recv --group dash --exit-at-end; cat "$work/speed.ndjson"; } |
	csa-dashboard --once --now "$now" | indent

step "8. The next batch run reads only the new capture files; the totals are complete, from batch alone"
csa-eh-send --close-all-windows
csa-capture-read --state "$work/capture.state" --pending "$hub/capture" |
	csa-batch-agg --preset earthquake --state "$work/gold.state" --out "$work/gold"
mv "$work/capture.state.pending" "$work/capture.state"
csa-merge --batch "$work/gold/hourly" --speed "$work/speed.ndjson" --total --by region |
	jq -r '"\(.region)\t\(.event_count) events\t\(.data_freshness)"' | column -t -s "$(printf '\t')" | indent

step "Done.  Next: csa(7), and examples/."
