#!/bin/bash
# bench/capture-read.sh [EVENTS [RUNS]]: csa-capture-read on the Capture
# files of EVENTS real USGS events (default 1,000,000) captured by the
# embedded hub, in two comparisons that are kept apart:
#   - like for like: csa-capture-read --meta, which decodes every field of
#     every record (the property maps too) and writes it as JSON, against
#     avrocat (avro-bin) and python3-avro (tests/helpers/dump_capture.py),
#     which do the same;
#   - the plain body copy (what a batch pipeline runs): csa-capture-read
#     without --meta skips the property maps and writes each body with its
#     partition.  No peer does only that: its rate is shown alone.
# Each command runs once to warm the page cache, then RUNS times (default
# 3): medians of wall and CPU (user + sys) seconds.  Then what the two
# libraries that do most of the work take alone, each the median of RUNS
# runs: avro-c walking every record (bench/avro-floor.c) and simdjson
# parsing every body, as it checks them (json-floor.cc lines, on the
# bodies written by --bare).  python3-avro reads a
# tenth of the files (it is slow), once warm and once timed; its rate is
# per record all the same.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}
runs=${2:-3}

repeat_events "$n" "$tmp/events"
csa-eh-send -H "$tmp/hub" -k region --capture-interval 1h "$tmp/events"
csa-eh-send -H "$tmp/hub" --close-all-windows
rm "$tmp/events"
find "$tmp/hub/capture" -name '*.avro' | sort > "$tmp/files"
nfiles=$(wc -l < "$tmp/files")
bytes=$(xargs cat < "$tmp/files" | wc -c)

got=$(csa-capture-read "$tmp/hub/capture" | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: read $got of $n" >&2; exit 1; }
got=$(xargs -n 1 avrocat < "$tmp/files" | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: avrocat read $got of $n" >&2; exit 1; }

read -r w_plain c_plain < <(median_times "$runs" csa-capture-read "$tmp/hub/capture")
read -r w_meta c_meta < <(median_times "$runs" csa-capture-read -m "$tmp/hub/capture")
read -r w_avrocat c_avrocat < <(median_times "$runs" sh -c "xargs -n 1 avrocat < '$tmp/files'")
head -n $(( (nfiles + 9) / 10 )) "$tmp/files" > "$tmp/some"
py_n=$(/usr/bin/python3 "$top/tests/helpers/dump_capture.py" $(cat "$tmp/some") | wc -l)
read -r w_py c_py < <(median_times 1 /usr/bin/python3 "$top/tests/helpers/dump_capture.py" $(cat "$tmp/some"))

rate() { echo "scale=0; $1 / $2" | bc; }
line() {	# name records wall cpu [ratio against --meta, by CPU]
	printf '%-34s %6.2f s wall %6.2f s CPU %9d records/s (CPU)' "$1" "$3" "$4" "$(rate "$2" "$4")"
	[ $# -eq 5 ] && printf '   --meta is %.1fx faster' "$5"
	printf '\n'
}
printf 'records: %d in %d files, %d MB; medians of %d warm runs; load %s\n' "$n" "$nfiles" \
	"$(( bytes / 1000000 ))" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
echo 'like for like (every field of every record decoded and written as JSON):'
line 'csa-capture-read --meta' "$n" "$w_meta" "$c_meta"
line 'avrocat' "$n" "$w_avrocat" "$c_avrocat" "$(echo "scale=3; $c_avrocat / $c_meta" | bc)"
line "python3-avro ($py_n records, 1 run)" "$py_n" "$w_py" "$c_py" \
	"$(echo "scale=3; $(rate "$n" "$c_meta") / $(rate "$py_n" "$c_py")" | bc)"
echo 'the body copy (property maps skipped; no peer does only this):'
line 'csa-capture-read' "$n" "$w_plain" "$c_plain"

# floor_median RUNS CMD...: the median of the last field CMD prints (seconds).
floor_median() {
	local runs=$1 i
	shift
	for i in $(seq "$runs"); do "$@" | awk '{ print $NF }'; done | sort -n |
		sed -n "$(( (runs + 1) / 2 ))p"
}
if cc -O2 -o "$tmp/avro-floor" "$top/bench/avro-floor.c" -lavro 2> /dev/null; then
	csa-capture-read --bare "$tmp/hub/capture" > "$tmp/bodies"
	xargs "$tmp/avro-floor" < "$tmp/files" > /dev/null	# warm
	f_avro=$(floor_median "$runs" sh -c "xargs '$tmp/avro-floor' < '$tmp/files'")
	f_json=$(floor_median "$runs" json_floor lines "$tmp/bodies")
	printf 'alone: avro-c walking every record %.2f s; simdjson parsing every body' "$f_avro"
	printf ' %.2f s; the two %.2f s\n' "${f_json:-0}" \
		"$(echo "$f_avro + ${f_json:-0}" | bc)"
fi
