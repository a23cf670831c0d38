#!/bin/bash
# bench/latency-trace.sh RATES RUNS [OUT]: bench/latency.py under perf record
# (scheduler switches and wake-ups, fsync, fdatasync and utimensat of every
# process, on the monotonic clock the harness stamps with), then
# bench/latency-classify.py on every run: where the stalls came from.
# Needs perf and root (or perf_event_paranoid -1); OUT (default
# latency-trace/) keeps perf.data and each run's events.
set -eu
. "$(dirname "$0")/common.sh"
rates=$1 runs=$2 out=${3:-latency-trace}
mkdir -p "$out/runs"
ev=sched:sched_switch,sched:sched_wakeup
for s in fsync fdatasync utimensat; do
	ev=$ev,syscalls:sys_enter_$s,syscalls:sys_exit_$s
done
perf record -q -k CLOCK_MONOTONIC -e "$ev" -a -o "$out/perf.data" 2>/dev/null &
pp=$!
sleep 1
csa-eh-send -H "$tmp/lat" --no-capture < /dev/null
/usr/bin/python3 "$top/bench/latency.py" -r "$runs" -d "$out/runs" "$rates" \
	"csa-eh-send -H $tmp/lat --linger-ms 1" "csa-eh-recv -H $tmp/lat -u --from latest -g lat"
kill -INT "$pp"
wait "$pp" || true
/usr/bin/python3 "$top/bench/latency-classify.py" "$out/perf.data" "$out/runs"
