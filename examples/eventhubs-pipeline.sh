#!/bin/bash
# eventhubs-pipeline.sh DIR: the Lambda pipeline with Azure Event Hubs as
# the hub.  It needs only the two variables of the reference deployment:
#
#   EVENTHUB_CONNECTION_STRING  the namespace's (or the event hub's) string,
#                               "Endpoint=sb://NS.servicebus.windows.net/;
#                               SharedAccessKeyName=...;SharedAccessKey=..."
#   EVENTHUB_NAME               the event hub (or EntityPath in the string)
#
# Keep the string out of command lines, where ps(1) shows it: export it
# from a file readable by you alone, e.g.
#   export EVENTHUB_CONNECTION_STRING="$(cat ~/.config/csa/eventhub)"
#
# Steps, each a command cron or systemd would run on its own:
#   1. poll the USGS feed once into the event hub, keyed by region
#   2. speed layer: group "speed" through 5-minute windows by region
#   3. batch layer: deduplicated hourly and daily views, from what Event
#      Hubs Capture wrote when CAPTURE_URL names where (its container, e.g.
#      abfss://bronze@ACCOUNT.dfs.core.windows.net/NAMESPACE/EVENTHUB, with
#      AZURE_STORAGE_CONNECTION_STRING or another credential csa-capture-read(1)
#      takes; only the blobs new since the last run are read), else from a
#      consumer group "batch"
#   4. serving layer: both views merged, totals by region
#
# For a try without Azure, USGS_FEED_URL and KAFKA_OPTIONS (extra -X
# settings for both commands) point it elsewhere; tests/eventhubs.bats runs
# it against librdkafka's mock cluster that way.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
if [ -z "${EVENTHUB_CONNECTION_STRING:-}" ]; then
	echo "$0: set EVENTHUB_CONNECTION_STRING to the Event Hubs connection string" >&2
	exit 2
fi
if [ -z "${EVENTHUB_NAME:-}" ] && [[ "$EVENTHUB_CONNECTION_STRING" != *EntityPath=* ]]; then
	echo "$0: set EVENTHUB_NAME, or use a connection string with EntityPath" >&2
	exit 2
fi
feed=${USGS_FEED_URL:-https://earthquake.usgs.gov/earthquakes/feed/v1.0/summary/all_hour.geojson}
read -r -a kafka <<< "${KAFKA_OPTIONS:-}"
mkdir -p "$1"
work=$(cd "$1" && pwd)

step() { printf '\n== %s\n' "$*"; }
say() { printf '   %s\n' "$*"; }

step "1. Ingest: $feed -> Event Hubs, keyed by region"
csa-usgs-fetch --state "$work/usgs.state" --pending --url "$feed" |
	tee -a "$work/sent.ndjson" | csa-eh-send -v -k region "${kafka[@]}"
mv "$work/usgs.state.pending" "$work/usgs.state"
say "$(wc -l < "$work/sent.ndjson") events sent so far"

step "2. Speed layer: consumer group 'speed', 5-minute windows by region"
csa-eh-recv -g speed -e "${kafka[@]}" |
	csa-window --preset earthquake --max-delay 45d --dedupe event_id \
		--state "$work/speed.state" >> "$work/speed.ndjson"
say "$(wc -l < "$work/speed.ndjson") window rows"

if [ -n "${CAPTURE_URL:-}" ]; then
	# Named without a SAS the URL may carry.
	step "3. Batch layer: Capture at ${CAPTURE_URL%%\?*}, deduplicated hourly and daily views"
	csa-capture-read --state "$work/capture.state" --pending "$CAPTURE_URL" |
		csa-batch-agg --preset earthquake --state "$work/gold.state" --out "$work/gold"
	mv "$work/capture.state.pending" "$work/capture.state"
else
	step "3. Batch layer: consumer group 'batch', deduplicated hourly and daily views"
	csa-eh-recv -g batch -e "${kafka[@]}" >> "$work/raw.ndjson"
	csa-batch-agg --preset earthquake --out "$work/gold" < "$work/raw.ndjson"
fi
say "$(find "$work/gold/hourly" -name '*.ndjson' | wc -l) hourly partitions"

step "4. Serving layer: batch up to its high-water mark, speed after it"
csa-merge --batch "$work/gold/hourly" --speed "$work/speed.ndjson" --total --by region --table
