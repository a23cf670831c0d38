#!/bin/bash
# bench/dashboard.sh [EVENTS [RATE]]: csa-dashboard on EVENTS (default
# 1,000,000) real USGS events made into a dense stream.  First as fast as
# it reads (--once), against jq and Miller computing the same figures on a
# tenth; then live in a 100x30 tmux pane, redrawing at 1 Hz, fed RATE
# events/s (default 100,000) through a fifo: the rate reached and the CPU
# the dashboard used.  Needs scripts/build, tmux and GNU time.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}
rate=${2:-100000}
sock=csa-bench-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 1 "$tmp/dense" < "$tmp/src"
head -n $((n / 10)) "$tmp/dense" > "$tmp/tenth"

# The same figures: magnitude buckets, max, top locations, events a minute.
jqprog='reduce inputs as $e ({};
    .n += 1 | if ($e.event_type | ascii_downcase) == "earthquake" then .q += 1 else . end
    | if ($e.magnitude | type) == "number" then
        .b[if $e.magnitude < 1 then 0 elif $e.magnitude < 3 then 1 elif $e.magnitude < 4 then 2
           elif $e.magnitude < 5 then 3 else 4 end] += 1
        | .max = ([.max // $e.magnitude, $e.magnitude] | max) else . end
    | if ($e.place | type) == "string" then .p[$e.place | split(",") | last | ltrimstr(" ")] += 1 else . end
    | .m[($e.time / 60000 | floor | tostring)] += 1)
  | {n, q, b, max, top: (.p | to_entries | sort_by(-.value) | .[:5])}'
mlrprog='put -q '\''
  @n += 1;
  if (is_numeric($magnitude)) {
    @b[$magnitude < 1 ? 0 : $magnitude < 3 ? 1 : $magnitude < 4 ? 2 : $magnitude < 5 ? 3 : 4] += 1;
    @max = max(@max, $magnitude) }
  if (is_string($place)) { @p[sub($place, ".*, *", "")] += 1 }
  @m[int(floor($time / 60000))] += 1;
  end { emit @n; emit @b; emit @max; emit @p }'\'''

t_csa=$(secs csa-dashboard --once "$tmp/dense")
t_jq=$(secs jq -n -c "$jqprog" "$tmp/tenth")
t_mlr=$(secs sh -c "mlr --ijsonl --ojson $mlrprog '$tmp/tenth'")
rate_of() { echo "scale=0; ${2:-$n} / $1" | bc; }
ratio() { echo "scale=1; ($1 * 10) / $t_csa" | bc; }
printf 'events: %d\n' "$n"
printf 'csa-dashboard --once   %6.2f s  %8d events/s\n' "$t_csa" "$(rate_of "$t_csa")"
printf 'jq (a tenth)           %6.2f s  %8d events/s  %5sx csa per event\n' "$t_jq" "$(rate_of "$t_jq" $((n / 10)))" "$(ratio "$t_jq")"
printf 'Miller (a tenth)       %6.2f s  %8d events/s  %5sx csa per event\n' "$t_mlr" "$(rate_of "$t_mlr" $((n / 10)))" "$(ratio "$t_mlr")"

# Live: a real terminal (tmux), redrawing every second, fed at RATE.
mkfifo "$tmp/fifo"
tmux -L "$sock" -f /dev/null new-session -d -s b -x 100 -y 30 \
	"TERM=screen /usr/bin/time -f '%U %S %M' -o '$tmp/time' csa-dashboard -i 1s < '$tmp/fifo'"
/usr/bin/python3 "$top/bench/dashboard-pace.py" "$rate" "$tmp/dense" "$tmp/fifo" | tee "$tmp/pace"
sleep 1
tmux -L "$sock" capture-pane -p -t b | sed -n 2p
tmux -L "$sock" send-keys -t b q
for _ in $(seq 1 100); do [ -s "$tmp/time" ] && break; sleep 0.1; done
read -r user sys rss < "$tmp/time"
elapsed=$(sed -E 's/.* in ([0-9.]+) s.*/\1/' "$tmp/pace")
printf 'live at %d events/s: csa-dashboard used %.2f s of CPU in %.2f s (%.0f%% of one core), peak RSS %d KB\n' \
	"$rate" "$(echo "$user + $sys" | bc)" "$elapsed" "$(echo "($user + $sys) * 100 / $elapsed" | bc -l)" "$rss"
