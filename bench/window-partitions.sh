#!/bin/bash
# bench/window-partitions.sh [EVENTS] [RUNS]: what event time per partition
# costs csa-window.  EVENTS (default 1,000,000) real USGS events over one
# week as one stream, and the same events from 32 partitions interleaved one
# event at a time, each line ending in "_eh":{"partition":N} as csa-eh-recv
# writes it (the partition holding the clock back changes at every event:
# the worst case); and those same bytes as one stream ("_eh" renamed), to
# tell the partitions from the longer lines.  --partition-count 32 starts the clock once all are
# seen, so it runs through the whole stream as for a live consumer.  The
# two run in turn, once to warm up and then RUNS times (default 7); medians
# of wall and of CPU (user + system) seconds, CPU being steadier on a
# shared machine.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}
runs=${2:-7}

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 1 "$tmp/one" < "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 1 "$tmp/parts" 32 < "$tmp/src"
sed 's/"_eh":{/"_ex":{/' "$tmp/parts" > "$tmp/same"
one=(csa-window --preset earthquake "$tmp/one")
same=(csa-window --preset earthquake "$tmp/same")
parts=(csa-window --preset earthquake --partition-count 32 "$tmp/parts")

# Same rows either way: in-order partitions only change when windows close.
"${one[@]}" > "$tmp/rows.one"
"${parts[@]}" > "$tmp/rows.parts"
cmp -s "$tmp/rows.one" "$tmp/rows.parts" || { echo "rows differ" >&2; exit 1; }

# run NAME CMD...: one line "NAME wall cpu".
run() {
	local name=$1; shift
	/usr/bin/time -f "$name %e %U %S" "$@" 2>&1 > /dev/null | tail -n 1 |
		awk '{ printf "%s %.3f %.3f\n", $1, $2, $3 + $4 }'
}
for i in $(seq 0 "$runs"); do
	run one "${one[@]}"
	run same "${same[@]}"
	run parts "${parts[@]}"
done | tail -n +4 > "$tmp/times"
med() { awk -v k="$1" -v c="$2" '$1 == k { print $c }' "$tmp/times" | sort -n | sed -n "$(((runs + 1) / 2))p"; }
rate() { echo "scale=0; $n / $1" | bc; }
w1=$(med one 2) c1=$(med one 3) wp=$(med parts 2) cp=$(med parts 3)
ws=$(med same 2) cs=$(med same 3)
printf 'events: %d over one week; %d warm runs each, in turn; medians\n' "$n" "$runs"
printf 'one stream                   wall %6.3f s (%7d/s)  cpu %6.3f s (%7d/s)\n' "$w1" "$(rate "$w1")" "$c1" "$(rate "$c1")"
printf 'one stream, the same bytes   wall %6.3f s (%7d/s)  cpu %6.3f s (%7d/s)\n' "$ws" "$(rate "$ws")" "$cs" "$(rate "$cs")"
printf '32 partitions, per partition wall %6.3f s (%7d/s)  cpu %6.3f s (%7d/s)\n' "$wp" "$(rate "$wp")" "$cp" "$(rate "$cp")"
printf 'rate per partition / one stream: wall %.3f, cpu %.3f; on the same bytes: wall %.3f, cpu %.3f\n' \
	"$(echo "scale=4; $w1 / $wp" | bc)" "$(echo "scale=4; $c1 / $cp" | bc)" \
	"$(echo "scale=4; $ws / $wp" | bc)" "$(echo "scale=4; $cs / $cp" | bc)"
