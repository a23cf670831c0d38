#!/bin/bash
# examples/weather-pipeline.sh DIR POLL.geojson...: the same hub, speed,
# batch and serving commands on National Weather Service alerts.  Each
# POLL is a saved answer of https://api.weather.gov/alerts/active (a
# GeoJSON FeatureCollection), in the order they were polled; each poll
# repeats the alerts still active.  weather-alerts.py makes event lines of
# them, keyed by alert id and timed by when the alert was sent.  The
# batch layer takes the first poll, the speed layer every poll, and the
# serving layer counts alerts per event type, each alert once.  State
# stays in DIR; the csa commands come from PATH.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 DIR POLL.geojson..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
shift
export CSA_HUB=$work/hub
AGGS='alerts=count,severe=count_if(severity=="Severe")'

i=0
for poll in "$@"; do
	i=$((i + 1))
	/usr/bin/python3 "$here/weather-alerts.py" "$poll" > "$work/poll$i.ndjson"
done

echo "== the first poll into the hub (event hub 'weather', keyed by event type), captured"
csa-eh-send --eventhub weather --partition-key event < "$work/poll1.ndjson"
csa-eh-send --eventhub weather --close-all-windows

echo "== the batch layer: hourly views by event type of when alerts were sent, one row per alert id"
csa-capture-read "$CSA_HUB/capture/local/weather" |
	csa-batch-agg --tumbling 1h --view by_event --time sent --id alert_id \
		--version-field sent --by event --agg "$AGGS" --out "$work/gold"

echo "== the later polls; the speed layer reads every poll, each alert once"
for k in $(seq 2 "$i"); do
	csa-eh-send --eventhub weather --partition-key event < "$work/poll$k.ndjson"
done
csa-eh-recv --eventhub weather --group speed --exit-at-end |
	csa-window --tumbling 1h --time sent --max-delay 1d --dedupe alert_id --by event \
		--agg "$AGGS" > "$work/speed.ndjson"

echo "== serving: batch up to its high-water mark, speed after, alerts by event type"
csa-merge --batch "$work/gold/by_event" --speed "$work/speed.ndjson" --total --by event \
	> "$work/merged.ndjson"
csa-merge --batch "$work/gold/by_event" --speed "$work/speed.ndjson" --total --by event --table
