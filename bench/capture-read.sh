#!/bin/bash
# bench/capture-read.sh [EVENTS]: csa-capture-read against avrocat (avro-bin)
# and python3-avro on the same Capture files: EVENTS real USGS events
# (default 1,000,000) captured by the embedded hub.  python3-avro reads a
# tenth of the files (it is slow); its rate is per record all the same.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}

repeat_events "$n" "$tmp/events"
csa-eh-send -H "$tmp/hub" -k region --capture-interval 1h "$tmp/events"
csa-eh-send -H "$tmp/hub" --close-all-windows
rm "$tmp/events"
find "$tmp/hub/capture" -name '*.avro' | sort > "$tmp/files"
nfiles=$(wc -l < "$tmp/files")
bytes=$(xargs cat < "$tmp/files" | wc -c)

got=$(csa-capture-read "$tmp/hub/capture" | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: read $got of $n" >&2; exit 1; }

t_csa=$(secs csa-capture-read "$tmp/hub/capture")
t_meta=$(secs csa-capture-read -m "$tmp/hub/capture")
t_avrocat=$(secs sh -c "xargs -n 1 avrocat < '$tmp/files'")
head -n $(( (nfiles + 9) / 10 )) "$tmp/files" > "$tmp/some"
py_n=$(/usr/bin/python3 "$top/tests/helpers/dump_capture.py" $(cat "$tmp/some") | wc -l)
t_py=$(secs /usr/bin/python3 "$top/tests/helpers/dump_capture.py" $(cat "$tmp/some"))

rate() { echo "scale=0; $1 / $2" | bc; }
printf 'records: %d in %d files, %.0f MB\n' "$n" "$nfiles" "$(echo "$bytes / 1000000" | bc)"
printf 'csa-capture-read         %6.2f s  %9d records/s\n' "$t_csa" "$(rate "$n" "$t_csa")"
printf 'csa-capture-read --meta  %6.2f s  %9d records/s\n' "$t_meta" "$(rate "$n" "$t_meta")"
printf 'avrocat                  %6.2f s  %9d records/s   ratio %.1fx\n' "$t_avrocat" \
	"$(rate "$n" "$t_avrocat")" "$(echo "scale=3; $t_avrocat / $t_csa" | bc)"
py_rate=$(rate "$py_n" "$t_py")
printf 'python3-avro (%d rec)    %6.2f s  %9d records/s   ratio %.1fx\n' "$py_n" "$t_py" \
	"$py_rate" "$(echo "scale=3; $(rate "$n" "$t_csa") / $py_rate" | bc)"
