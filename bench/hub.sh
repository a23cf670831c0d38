#!/bin/bash
# bench/hub.sh [EVENTS]: the embedded hub.  csa-eh-send and csa-eh-recv
# throughput on real USGS events (repeated to EVENTS, default 1,000,000),
# side by side with the SQLite shell importing the same lines and with cat
# (a plain file, the floor); then end-to-end latency at 1,000 and 10,000
# events/s.  Needs the build in build/ (scripts/build).
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}

repeat_events "$n" "$tmp/in"
bytes=$(stat -c %s "$tmp/in")

t_send=$(secs csa-eh-send -H "$tmp/hub" --no-capture -k region < "$tmp/in")
t_send_cap=$(secs csa-eh-send -H "$tmp/hub2" -k region --capture-interval 1h < "$tmp/in")
t_recv=$(secs sh -c "csa-eh-recv -H '$tmp/hub' -e > /dev/null")
t_meta=$(secs sh -c "csa-eh-recv -H '$tmp/hub' -e -g meta --meta > /dev/null")
got=$(csa-eh-recv -H "$tmp/hub" -e -g count | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: received $got of $n" >&2; exit 1; }
sqlite_import() {
	sqlite3 "$tmp/plain.db" "PRAGMA journal_mode=WAL;" "CREATE TABLE t(body);" \
		".mode ascii" '.separator "\037" "\n"' ".import $tmp/in t" >/dev/null
}
t_sqlite=$(secs sqlite_import)
t_cat=$(secs sh -c "cat '$tmp/in' > '$tmp/copy'")

rate() { echo "scale=0; $n / $1" | bc; }
printf 'events: %d (%.0f MB of the event schema)\n' "$n" "$(echo "$bytes / 1000000" | bc)"
printf 'csa-eh-send (no capture)      %6.2f s  %8d events/s\n' "$t_send" "$(rate "$t_send")"
printf 'csa-eh-send (capture on)      %6.2f s  %8d events/s\n' "$t_send_cap" "$(rate "$t_send_cap")"
printf 'sqlite3 .import, same lines   %6.2f s  %8d events/s   ratio send/sqlite3 %.2fx\n' \
	"$t_sqlite" "$(rate "$t_sqlite")" "$(echo "scale=3; $t_sqlite / $t_send" | bc)"
printf 'cat to a file (floor)         %6.2f s  %8d events/s\n' "$t_cat" "$(rate "$t_cat")"
printf 'csa-eh-recv > /dev/null       %6.2f s  %8d events/s\n' "$t_recv" "$(rate "$t_recv")"
printf 'csa-eh-recv --meta            %6.2f s  %8d events/s\n' "$t_meta" "$(rate "$t_meta")"

echo "end-to-end latency, send to recv's stdout (recv -u, send -l 1), medians of 5 runs:"
csa-eh-send -H "$tmp/lat" --no-capture < /dev/null
/usr/bin/python3 "$top/bench/latency.py" -r 5 -s 5 1000,10000 \
	"csa-eh-send -H $tmp/lat -l 1" "csa-eh-recv -H $tmp/lat -u --from latest -g lat"
