#!/bin/bash
# examples/clickstream-pipeline.sh DIR: the same hub, speed, batch and
# serving commands on clickstream events instead of earthquakes, windowed
# by page: nothing in the layers knows what an earthquake is.  The
# generator (clickstream-gen.py, with the reference simulator's fields;
# each event has a session_id of its own, its id here) makes 5000 clicks
# from 08:00 to about 09:05; the batch layer runs at 08:30, the speed layer sees everything,
# and the serving layer answers per page.  State stays in DIR; the csa
# commands come from PATH.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
export CSA_HUB=$work/hub
AGGS='views=count,avg_duration_ms=avg(duration_ms),exports=count_if(action=="export")'

/usr/bin/python3 "$here/clickstream-gen.py" 5000 > "$work/clicks.ndjson"
echo "== clicks before 08:30 into the hub (event hub 'clicks', keyed by user), captured"
jq -c 'select(.timestamp < "2026-04-22T08:30")' "$work/clicks.ndjson" |
	csa-eh-send --eventhub clicks --partition-key user_id
csa-eh-send --eventhub clicks --close-all-windows

echo "== the batch layer at 08:30: 15-minute views by page, deduplicated by session_id"
csa-capture-read "$CSA_HUB/capture/local/clicks" |
	csa-batch-agg --tumbling 15m --view by_page --time timestamp --id session_id \
		--by page --agg "$AGGS" --out "$work/gold"

echo "== the rest of the clicks; the speed layer reads them all in 5-minute windows"
jq -c 'select(.timestamp >= "2026-04-22T08:30")' "$work/clicks.ndjson" |
	csa-eh-send --eventhub clicks --partition-key user_id
csa-eh-recv --eventhub clicks --group speed --exit-at-end |
	csa-window --tumbling 5m --time timestamp --max-delay 1h --by page --agg "$AGGS" \
		> "$work/speed.ndjson"

echo "== serving: batch to 08:30, speed after, totals by page"
csa-merge --batch "$work/gold/by_page" --speed "$work/speed.ndjson" --total --by page \
	> "$work/merged.ndjson"
csa-merge --batch "$work/gold/by_page" --speed "$work/speed.ndjson" --total --by page --table
