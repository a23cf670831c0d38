#!/bin/bash
# bench/hub.sh [EVENTS [RUNS]]: the embedded hub.  csa-eh-send on real USGS
# events (repeated to EVENTS, default 1,000,000) side by side with the
# SQLite shell importing the same lines (.import into a one-column table,
# one transaction: no JSON check, no key, no partition or sequence), with
# the hub's storage settings (WAL, synchronous=NORMAL, 16 KiB pages: the
# shell's default synchronous=FULL would add a sync the hub does not
# make), and cat (a plain file, the floor).  Like for like: csa-eh-send with
# --no-capture, and with --batch-size 100000 (ten transactions) beside its default
# of 1000 (a commit every 1,000 events, what makes each batch durable and
# visible to readers).  Each run starts from an empty hub (or database);
# one warm-up run, then the medians of RUNS (default 5) of wall and CPU
# (user + sys) seconds.  Then csa-eh-recv once, and end-to-end latency at
# 1,000 and 10,000 events/s (latency.py, whose writer sleeps to pace
# itself).  Needs the build in build/ (scripts/build).
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}
runs=${2:-5}

repeat_events "$n" "$tmp/in"
bytes=$(stat -c %s "$tmp/in")

before_each="rm -rf '$tmp/hub'"
read -r w_send c_send < <(median_times "$runs" csa-eh-send -H "$tmp/hub" --no-capture -k region "$tmp/in")
read -r w_big c_big < <(median_times "$runs" csa-eh-send -H "$tmp/hub" --no-capture -k region \
	--batch-size 100000 "$tmp/in")
read -r w_cap c_cap < <(median_times "$runs" csa-eh-send -H "$tmp/hub" -k region \
	--capture-interval 1h "$tmp/in")
# The shell's .import, in a script of its own so that time(1) can run it.
printf '%s\n' "PRAGMA page_size=16384;" "PRAGMA journal_mode=WAL;" "PRAGMA synchronous=NORMAL;" \
	"CREATE TABLE t(body);" ".mode ascii" \
	'.separator "\037" "\n"' ".import $tmp/in t" > "$tmp/import.sql"
before_each="rm -f '$tmp/plain.db' '$tmp/plain.db-wal' '$tmp/plain.db-shm'"
read -r w_sqlite c_sqlite < <(median_times "$runs" sqlite3 -init "$tmp/import.sql" "$tmp/plain.db" .quit)
before_each="rm -f '$tmp/copy'"
read -r w_cat c_cat < <(median_times "$runs" sh -c "cat '$tmp/in' > '$tmp/copy'")
unset before_each

rm -rf "$tmp/hub"
csa-eh-send -H "$tmp/hub" --no-capture -k region "$tmp/in"
t_recv=$(secs sh -c "csa-eh-recv -H '$tmp/hub' -e > /dev/null")
t_meta=$(secs sh -c "csa-eh-recv -H '$tmp/hub' -e -g meta --meta > /dev/null")
got=$(csa-eh-recv -H "$tmp/hub" -e -g count | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: received $got of $n" >&2; exit 1; }

rate() { if [ "$(echo "$1 > 0" | bc)" = 1 ]; then echo "scale=0; $n / $1" | bc; else echo 0; fi; }
line() {	# label wall cpu
	printf '%-34s %6.2f s wall %8d/s   %6.2f s CPU %8d/s' "$1" "$2" "$(rate "$2")" "$3" "$(rate "$3")"
	[ $# -eq 4 ] && printf '   %s' "$4"
	printf '\n'
}
printf 'events: %d (%d MB of the event schema); medians of %d warm runs; load %s\n' "$n" \
	"$(( bytes / 1000000 ))" "$runs" "$(cut -d' ' -f1-3 /proc/loadavg)"
line 'csa-eh-send --no-capture' "$w_send" "$c_send" \
	"sqlite3/ours: wall $(echo "scale=2; $w_sqlite / $w_send" | bc)x, CPU $(echo "scale=2; $c_sqlite / $c_send" | bc)x"
line 'csa-eh-send --no-capture --batch-size 100000' "$w_big" "$c_big" \
	"sqlite3/ours: wall $(echo "scale=2; $w_sqlite / $w_big" | bc)x, CPU $(echo "scale=2; $c_sqlite / $c_big" | bc)x"
line 'csa-eh-send, capture on' "$w_cap" "$c_cap"
line 'sqlite3 .import, same lines' "$w_sqlite" "$c_sqlite"
line 'cat to a file (floor)' "$w_cat" "$c_cat"
printf 'csa-eh-recv > /dev/null            %6.2f s wall %8d/s (one run)\n' "$t_recv" "$(rate "$t_recv")"
printf 'csa-eh-recv --meta                 %6.2f s wall %8d/s (one run)\n' "$t_meta" "$(rate "$t_meta")"

echo "end-to-end latency, send to recv's stdout (recv -u, send -l 1), medians of 5 runs:"
csa-eh-send -H "$tmp/lat" --no-capture < /dev/null
/usr/bin/python3 "$top/bench/latency.py" -r 5 -s 5 1000,10000 \
	"csa-eh-send -H $tmp/lat --linger-ms 1" "csa-eh-recv -H $tmp/lat -u --from latest -g lat"
