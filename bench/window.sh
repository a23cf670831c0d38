#!/bin/bash
# bench/window.sh [EVENTS]: csa-window --preset earthquake against jq,
# Miller and DuckDB (single-threaded, from npm: @duckdb/node-api) doing the
# same aggregation, on EVENTS (default 1,000,000) real USGS events made
# into a dense stream (one week); jq and Miller, some 50 times slower, run
# on the first tenth and are compared by rate.  Then peak memory for
# EVENTS and 10 x EVENTS over a ten times longer span.  Needs scripts/build, hyperfine, GNU time;
# DuckDB is skipped when npm cannot install it.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 1 "$tmp/dense" < "$tmp/src"

jqprog='def bucket: (((.time + 299999) / 300000) | floor) * 300000;
  reduce inputs as $e ({}; ($e | "\(bucket)/\(.region)") as $k
    | .[$k].n += 1
    | if $e.magnitude != null then .[$k].sm += $e.magnitude | .[$k].nm += 1
        | .[$k].mx = ([.[$k].mx // $e.magnitude, $e.magnitude] | max)
        | .[$k].mn = ([.[$k].mn // $e.magnitude, $e.magnitude] | min) else . end
    | if $e.depth_km != null then .[$k].sd += $e.depth_km | .[$k].nd += 1 else . end
    | .[$k].sig += (if ($e.magnitude // -99) >= 5 then 1 else 0 end)
    | .[$k].ts += (if $e.tsunami_flag == 1 then 1 else 0 end))
  | to_entries[] | {key, n: .value.n, avg_magnitude: (.value.sm / .value.nm)}'
mlrprog='put -q '\''
  @b = int(ceil($time / 300000)) * 300000;
  @n[@b][$region] += 1;
  if (is_numeric($magnitude)) { @sm[@b][$region] += $magnitude; @nm[@b][$region] += 1;
    @mx[@b][$region] = max(@mx[@b][$region], $magnitude); @mn[@b][$region] = min(@mn[@b][$region], $magnitude);
    if ($magnitude >= 5) { @sig[@b][$region] += 1 } }
  if (is_numeric($depth_km)) { @sd[@b][$region] += $depth_km; @nd[@b][$region] += 1 }
  if ($tsunami_flag == 1) { @ts[@b][$region] += 1 }
  end { emit (@n, @sm, @nm, @mx, @mn, @sd, @nd, @sig, @ts), "b", "region" }'\'''

t_csa=$(secs csa-window --preset earthquake "$tmp/dense")
head -n $((n / 10)) "$tmp/dense" > "$tmp/tenth"
t_jq=$(secs jq -n -c "$jqprog" "$tmp/tenth")
t_mlr=$(secs sh -c "mlr --ijsonl --ojsonl $mlrprog '$tmp/tenth'")
t_duck=
if command -v npm > /dev/null && (cd "$tmp" && npm install --silent --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1); then
	cat > "$tmp/q.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
await con.runAndReadAll(`SELECT region, ceil(time / 300000.0) AS w, count(*), avg(magnitude),
  max(magnitude), min(magnitude), avg(depth_km), count_if(magnitude >= 5.0),
  count_if(tsunami_flag = 1) FROM read_json('${process.argv[2]}', format='newline_delimited')
  GROUP BY ALL`);
JS
	t_duck=$(secs node "$tmp/q.mjs" "$tmp/dense")
fi

rate() { echo "scale=0; ${2:-$n} / $1" | bc; }
ratio() { echo "scale=2; ($1 * ${2:-1}) / $t_csa" | bc; }
printf 'events: %d, one week of time (dense)\n' "$n"
printf 'csa-window --preset earthquake  %6.2f s  %8d events/s\n' "$t_csa" "$(rate "$t_csa")"
printf 'jq (a tenth)                    %6.2f s  %8d events/s  %5sx csa per event\n' "$t_jq" "$(rate "$t_jq" $((n / 10)))" "$(ratio "$t_jq" 10)"
printf 'Miller (a tenth)                %6.2f s  %8d events/s  %5sx csa per event\n' "$t_mlr" "$(rate "$t_mlr" $((n / 10)))" "$(ratio "$t_mlr" 10)"
[ -n "$t_duck" ] && printf 'DuckDB (1 thread)               %6.2f s  %8d events/s  %5sx csa time\n' "$t_duck" "$(rate "$t_duck")" "$(ratio "$t_duck")"

# Memory must not grow with the stream: 1M and 10M events, 10x the span.
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 10 "$tmp/m1" < "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" $((n * 10)) 100 "$tmp/m10" < "$tmp/src"
p1=$(peak csa-window --preset earthquake "$tmp/m1")
p10=$(peak csa-window --preset earthquake "$tmp/m10")
t_sparse=$(secs csa-window --preset earthquake "$tmp/m1")
printf 'sparse stream (1M events over 10 weeks): %6.2f s  %8d events/s\n' "$t_sparse" "$(rate "$t_sparse")"
printf 'peak RSS: %d KB for %d events, %d KB for %d events over 10x the span (%.2fx)\n' \
	"$p1" "$n" "$p10" $((n * 10)) "$(echo "scale=3; $p10 / $p1" | bc)"

# A row within 1 ms of the event that completes its window.
CSA_WINDOW="$build/csa-window" /usr/bin/python3 "$top/bench/window-latency.py" 3000
