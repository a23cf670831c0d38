#!/bin/bash
# bench/window.sh [EVENTS]: csa-window --preset earthquake against jq,
# Miller and DuckDB (single-threaded, from npm: @duckdb/node-api) doing the
# same aggregation, on EVENTS (default 1,000,000) real USGS events made
# into a dense stream (one week), and again on 4 x EVENTS: csa-window and
# DuckDB warmed once, then the median of 5 runs, of the wall clock and of
# the CPU time (user + system: on a shared machine the wall clock mostly
# measures the other users).  DuckDB once more on one event, which is its
# start; from the two sizes, what a million events cost each past the
# start (the start counts for more at the smaller size).  Beside them, the
# floors (json-floor.cc, CPU time, median of 3): simdjson alone parsing
# each line whole (DOM), which csa-window's default (On-Demand, every
# value checked) does the work of; On-Demand with every value checked and
# each line hashed (XXH3, as for the row ids), which csa-window's default
# cannot go below; the same with the preset's five fields read in that
# walk and its sums kept in a hash table, the least a program that checks
# what csa-window checks does for this query; stage 1 and every key of the
# root object, which csa-window --lazy (only the fields its query uses)
# cannot go below; and a program that parses each line whole and keeps the
# preset's sums in a hash table.  jq and Miller, far slower, run once on
# the first tenth and are compared by rate.  Then peak memory for EVENTS
# and 10 x EVENTS over a ten times longer span.
# Needs scripts/build, GNU time; DuckDB is skipped when npm cannot
# install it.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-1000000}

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 1 "$tmp/dense" < "$tmp/src"

# jq updates one group in place with |= (assigning path by path copies the
# whole object on every event, which made jq some 4x slower than it is).
jqprog='def bucket: (((.time + 299999) / 300000) | floor) * 300000;
  reduce inputs as $e ({}; ($e | "\(bucket)/\(.region)") as $k
    | .[$k] |= (.n += 1
      | if $e.magnitude != null then .sm += $e.magnitude | .nm += 1
          | .mx = ([.mx // $e.magnitude, $e.magnitude] | max)
          | .mn = ([.mn // $e.magnitude, $e.magnitude] | min) else . end
      | if $e.depth_km != null then .sd += $e.depth_km | .nd += 1 else . end
      | .sig += (if ($e.magnitude // -99) >= 5 then 1 else 0 end)
      | .ts += (if $e.tsunami_flag == 1 then 1 else 0 end)))
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

read -r t_csa c_csa < <(median_times 5 csa-window --preset earthquake "$tmp/dense")
read -r t_lazy c_lazy < <(median_times 5 csa-window --lazy --preset earthquake "$tmp/dense")
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
	read -r t_duck c_duck < <(median_times 5 node "$tmp/q.mjs" "$tmp/dense")
	# Its start: node, the library, the instance, a query on one event.
	head -n 1 "$tmp/dense" > "$tmp/one"
	read -r _ c_duck1 < <(median_times 5 node "$tmp/q.mjs" "$tmp/one")
fi
# floors FILE: the CPU seconds of json-floor's lines, window, keys, check
# and least passes over FILE (empty when it cannot be built).
floors() {
	[ -n "$(json_floor lines "$1")" ] || return 0
	echo "$(median_times 3 "$tmp/json-floor" lines "$1" | cut -d' ' -f2)" \
	    "$(median_times 3 "$tmp/json-floor" window "$1" | cut -d' ' -f2)" \
	    "$(median_times 3 "$tmp/json-floor" keys "$1" | cut -d' ' -f2)" \
	    "$(median_times 3 "$tmp/json-floor" check "$1" | cut -d' ' -f2)" \
	    "$(median_times 3 "$tmp/json-floor" least "$1" | cut -d' ' -f2)"
}
# print_floors LINES WINDOW KEYS CHECK LEAST [DUCK]: the floors, and
# against them the CPU time twice DuckDB's speed would allow.
print_floors() {
	printf 'floor: simdjson parsing each line, CPU %.2f s; and summing the groups, CPU %.2f s; On-Demand, the keys only, CPU %.2f s; every value checked and each line hashed, CPU %.2f s; and the fields read and summed, CPU %.2f s\n' \
		"$1" "$2" "$3" "$4" "$5"
	[ -n "${6:-}" ] && printf 'twice DuckDB'"'"'s speed would be CPU %.2f s: the default'"'"'s floor is %.0f%% of it, the least program for the query %.0f%%\n' \
		"$(echo "scale=3; $6 / 2" | bc)" "$(echo "scale=3; 200 * $4 / $6" | bc)" \
		"$(echo "scale=3; 200 * $5 / $6" | bc)"
	return 0
}
read -r f_lines f_win f_keys f_check f_least < <(floors "$tmp/dense") || true

rate() { echo "scale=0; ${2:-$n} / $1" | bc; }
ratio() { echo "scale=2; ($1 * ${2:-1}) / $t_csa" | bc; }
printf 'events: %d, one week of time (dense)\n' "$n"
printf 'csa-window --preset earthquake  %6.2f s  %8d events/s  CPU %6.2f s\n' "$t_csa" "$(rate "$t_csa")" "$c_csa"
printf 'csa-window --lazy               %6.2f s  %8d events/s  CPU %6.2f s\n' "$t_lazy" "$(rate "$t_lazy")" "$c_lazy"
printf 'jq (a tenth)                    %6.2f s  %8d events/s  %5sx csa per event\n' "$t_jq" "$(rate "$t_jq" $((n / 10)))" "$(ratio "$t_jq" 10)"
printf 'Miller (a tenth)                %6.2f s  %8d events/s  %5sx csa per event\n' "$t_mlr" "$(rate "$t_mlr" $((n / 10)))" "$(ratio "$t_mlr" 10)"
[ -n "$t_duck" ] && printf 'DuckDB (1 thread)               %6.2f s  %8d events/s  CPU %6.2f s  %5sx csa time, %sx csa CPU\n' \
	"$t_duck" "$(rate "$t_duck")" "$c_duck" "$(ratio "$t_duck")" "$(echo "scale=2; $c_duck / $c_csa" | bc)"
[ -n "$t_duck" ] && printf 'DuckDB against csa-window --lazy: %sx its CPU\n' "$(echo "scale=2; $c_duck / $c_lazy" | bc)"
[ -n "${f_lines:-}" ] && print_floors "$f_lines" "$f_win" "$f_keys" "$f_check" "$f_least" "${c_duck:-}"
echo '(csa-window and DuckDB: warmed once, then the median of 5 runs; jq and Miller: one run)'

# The same at four times the events.
/usr/bin/python3 "$top/bench/window-gen.py" $((n * 4)) 1 "$tmp/dense4" < "$tmp/src"
read -r t_csa4 c_csa4 < <(median_times 5 csa-window --preset earthquake "$tmp/dense4")
read -r t_lazy4 c_lazy4 < <(median_times 5 csa-window --lazy --preset earthquake "$tmp/dense4")
printf 'csa-window, %d events           %6.2f s  %8d events/s  CPU %6.2f s\n' $((n * 4)) "$t_csa4" \
	"$(rate "$t_csa4" $((n * 4)))" "$c_csa4"
printf 'csa-window --lazy, %d events    %6.2f s  %8d events/s  CPU %6.2f s\n' $((n * 4)) "$t_lazy4" \
	"$(rate "$t_lazy4" $((n * 4)))" "$c_lazy4"
if [ -n "$t_duck" ]; then
	read -r t_duck4 c_duck4 < <(median_times 5 node "$tmp/q.mjs" "$tmp/dense4")
	printf 'DuckDB, %d events               %6.2f s  %8d events/s  CPU %6.2f s  %5sx csa time, %sx csa CPU\n' \
		$((n * 4)) "$t_duck4" "$(rate "$t_duck4" $((n * 4)))" "$c_duck4" \
		"$(echo "scale=2; $t_duck4 / $t_csa4" | bc)" "$(echo "scale=2; $c_duck4 / $c_csa4" | bc)"
	printf 'DuckDB against csa-window --lazy: %sx its CPU\n' "$(echo "scale=2; $c_duck4 / $c_lazy4" | bc)"
	# What a million events cost past the start, from the two sizes: the
	# start is paid once, so at the smaller size it counts for more.
	printf 'DuckDB on one event (its start): CPU %.2f s; past it, CPU %.3f s per million events, twice its speed %.3f s; csa-window %.3f s\n' \
		"$c_duck1" "$(echo "scale=4; ($c_duck4 - $c_duck) * 1000000 / (3 * $n)" | bc)" \
		"$(echo "scale=4; ($c_duck4 - $c_duck) * 500000 / (3 * $n)" | bc)" \
		"$(echo "scale=4; ($c_csa4 - $c_csa) * 1000000 / (3 * $n)" | bc)"
fi
read -r f_lines4 f_win4 f_keys4 f_check4 f_least4 < <(floors "$tmp/dense4") || true
[ -n "${f_lines4:-}" ] && print_floors "$f_lines4" "$f_win4" "$f_keys4" "$f_check4" "$f_least4" "${c_duck4:-}"
[ -n "${f_lines4:-}" ] && [ -n "${f_lines:-}" ] &&
	printf 'per million events past the start: every value checked and each line hashed, CPU %.3f s; and the fields read and summed, CPU %.3f s\n' \
		"$(echo "scale=4; ($f_check4 - $f_check) * 1000000 / (3 * $n)" | bc)" \
		"$(echo "scale=4; ($f_least4 - $f_least) * 1000000 / (3 * $n)" | bc)"
rm -f "$tmp/dense4"

# Memory must not grow with the stream: 1M and 10M events, 10x the span.
/usr/bin/python3 "$top/bench/window-gen.py" "$n" 10 "$tmp/m1" < "$tmp/src"
/usr/bin/python3 "$top/bench/window-gen.py" $((n * 10)) 100 "$tmp/m10" < "$tmp/src"
p1=$(peak csa-window --preset earthquake "$tmp/m1")
p10=$(peak csa-window --preset earthquake "$tmp/m10")
t_sparse=$(secs csa-window --preset earthquake "$tmp/m1")
printf 'sparse stream (%d events over 10 weeks): %6.2f s  %8d events/s\n' "$n" "$t_sparse" "$(rate "$t_sparse")"
printf 'peak RSS: %d KB for %d events, %d KB for %d events over 10x the span (%.2fx)\n' \
	"$p1" "$n" "$p10" $((n * 10)) "$(echo "scale=3; $p10 / $p1" | bc)"

# A row within 1 ms of the event that completes its window.
CSA_WINDOW="$build/csa-window" /usr/bin/python3 "$top/bench/window-latency.py" 3000
