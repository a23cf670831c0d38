#!/bin/bash
# examples/iot-pipeline.sh DIR: the reference's IoT device daily metrics
# through hub, speed, batch and serving.  iot-gen.py makes two days of
# telemetry from ten devices (about 0.1% of it sent twice, with the same
# eventId); the batch layer runs after the first day, the speed layer
# sees both, and the serving layer answers per device and day, and in
# total per device.  Both layers drop the repeated events by eventId.
# State stays in DIR; the csa commands come from PATH.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
work=$(cd "$1" && pwd)
export CSA_HUB=$work/hub
# The device daily metrics: the reference computes them per device and
# day from temperature and energy readings; a jq expression picks the
# readings of one type (the others give no value and are left out).
temp='select(.type == "temperature") | .value'
METRICS="events=count,avg_temperature=avg($temp),max_temperature=max($temp)"
METRICS+=",min_temperature=min($temp),stddev_temperature=stddev($temp)"
METRICS+=",median_temperature=median($temp)"
METRICS+=',total_energy=sum(select(.type == "energy") | .value)'
METRICS+=',distinct_users=count_distinct(complexData.userId)'

/usr/bin/python3 "$here/iot-gen.py" 20000 > "$work/iot.ndjson"
echo "== the first day's telemetry into the hub (event hub 'iot', keyed by device), captured"
jq -c 'select(.createdAt < "2026-04-22")' "$work/iot.ndjson" |
	csa-eh-send --eventhub iot --partition-key deviceId
csa-eh-send --eventhub iot --close-all-windows

echo "== the batch layer after the first day: daily views by device, deduplicated by eventId"
csa-capture-read "$CSA_HUB/capture/local/iot" |
	csa-batch-agg --tumbling 1d --view device_daily --time createdAt --id eventId \
		--by deviceId --agg "$METRICS" --out "$work/gold"

echo "== the second day; the speed layer reads both days, dropping repeated eventIds"
jq -c 'select(.createdAt >= "2026-04-22")' "$work/iot.ndjson" |
	csa-eh-send --eventhub iot --partition-key deviceId
csa-eh-recv --eventhub iot --group speed --exit-at-end |
	csa-window --tumbling 1d --time createdAt --max-delay 1h --dedupe eventId \
		--by deviceId --agg "$METRICS" > "$work/speed.ndjson"

echo "== serving: batch for the first day, speed for the second, per device and day"
csa-merge --batch "$work/gold/device_daily" --speed "$work/speed.ndjson" --by deviceId \
	> "$work/daily.ndjson"
echo "== and per device over both days: the sketches of both layers merged"
csa-merge --batch "$work/gold/device_daily" --speed "$work/speed.ndjson" --total --by deviceId \
	> "$work/total.ndjson"
csa-merge --batch "$work/gold/device_daily" --speed "$work/speed.ndjson" --total --by deviceId --table
