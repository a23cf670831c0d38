#!/bin/bash
# bench/merge.sh [BATCH_ROWS [SPEED_ROWS]]: csa-merge re-aggregating
# BATCH_ROWS hourly batch rows (default 1,000,000) and SPEED_ROWS 5-minute
# speed rows (default 100,000) by region and hour, against DuckDB (one
# thread, from npm: @duckdb/node-api) and jq doing the same merge from the
# rows' state; jq runs on a tenth and is compared by rate.  csa-merge and
# DuckDB: the median of three runs.  Also the time with one row per region
# (--total), where reading is all the work, and peak memory.  Needs
# scripts/build and GNU time; DuckDB is skipped when npm cannot install it.
set -eu
. "$(dirname "$0")/common.sh"
nb=${1:-1000000}
ns=${2:-100000}

/usr/bin/python3 "$top/bench/merge-gen.py" "$nb" "$ns" "$tmp"
# The 717 MB just written go to disk first, not during the first timing;
# then every reader finds them in the page cache.
sync
cat "$tmp/batch.ndjson" "$tmp/speed.ndjson" > /dev/null

# The median of three runs: on a virtual machine the first run after the
# files were made can be a third slower (memory the host had not given yet).
median3() {
	{ secs "$@"; secs "$@"; secs "$@"; } | sort -n | sed -n 2p
}

t_csa=$(median3 csa-merge --batch "$tmp/batch.ndjson" --speed "$tmp/speed.ndjson" --by region --every 1h)
t_total=$(secs csa-merge --batch "$tmp/batch.ndjson" --speed "$tmp/speed.ndjson" --by region --total)
# The floor: simdjson reading both views, then reading them and formatting
# every number, with no merging and no output (bench/json-floor.cc).
floor=$(json_floor rows "$tmp/batch.ndjson")
floor_s=$(json_floor rows "$tmp/speed.ndjson")
m_csa=$(peak csa-merge --batch "$tmp/batch.ndjson" --speed "$tmp/speed.ndjson" --by region --every 1h)

# jq: the same merge from state, on a tenth of each view.
head -n $((nb / 10)) "$tmp/batch.ndjson" > "$tmp/b10"
head -n $((ns / 10)) "$tmp/speed.ndjson" > "$tmp/s10"
jqprog='def hour: .window_start[0:13];
  [inputs] | (map(select(.view == "hourly") | .window_end) | max) as $cut
  | map(select(.view == "hourly" or .window_end > $cut))
  | group_by([hour, .region]) | .[] | {hour: (.[0] | hour), region: .[0].region,
      n: (map(._state.event_count.n) | add),
      avg_magnitude: ((map(._state.avg_magnitude.sum) | add) / (map(._state.avg_magnitude.n) | add)),
      max_magnitude: (map(._state.max_magnitude.max) | max)}'
t_jq=$(secs jq -n -c "$jqprog" "$tmp/b10" "$tmp/s10")

t_duck=
if command -v npm > /dev/null && (cd "$tmp" && npm install --silent --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1); then
	cat > "$tmp/q.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
const [b, s] = process.argv.slice(2);
await con.runAndReadAll(`
  WITH batch AS (SELECT * FROM read_json('${b}', format='newline_delimited')),
  cut AS (SELECT max(window_end) AS c FROM batch),
  speed AS (SELECT * FROM read_json('${s}', format='newline_delimited')
            WHERE window_end > (SELECT c FROM cut)),
  rows AS (SELECT region, window_start, _state FROM batch
           UNION ALL BY NAME SELECT region, window_start, _state FROM speed)
  SELECT date_trunc('hour', window_start::TIMESTAMP) AS hour, region,
    sum(_state.event_count.n) AS event_count,
    sum(_state.avg_magnitude.sum) / sum(_state.avg_magnitude.n) AS avg_magnitude,
    max(_state.max_magnitude.max) AS max_magnitude,
    min(_state.min_magnitude.min) AS min_magnitude,
    sum(_state.avg_depth_km.sum) / sum(_state.avg_depth_km.n) AS avg_depth_km,
    sum(_state.significant_count.n) AS significant_count
  FROM rows GROUP BY ALL`);
JS
	t_duck=$(median3 node "$tmp/q.mjs" "$tmp/batch.ndjson" "$tmp/speed.ndjson")
fi

rows=$((nb + ns))
rate() { echo "scale=0; ${2:-$rows} / $1" | bc; }
ratio() { echo "scale=2; ($1 * ${2:-1}) / $t_csa" | bc; }
printf 'rows: %d batch (hourly) + %d speed (5 minutes), by region and hour\n' "$nb" "$ns"
printf 'csa-merge --every 1h        %6.2f s  %8d rows/s  peak RSS %d KB\n' "$t_csa" "$(rate "$t_csa")" "$m_csa"
printf 'csa-merge --total           %6.2f s  %8d rows/s\n' "$t_total" "$(rate "$t_total")"
printf 'jq (a tenth)                %6.2f s  %8d rows/s  %5sx csa per row\n' "$t_jq" "$(rate "$t_jq" $((rows / 10)))" "$(ratio "$t_jq" 10)"
[ -n "$t_duck" ] && printf 'DuckDB (1 thread)           %6.2f s  %8d rows/s  %5sx csa time\n' "$t_duck" "$(rate "$t_duck")" "$(ratio "$t_duck")"
if [ -n "$floor" ]; then
	set -- $floor $floor_s
	printf 'floor: simdjson parse    %6.2f s; with every number formatted %.2f s (no merge, no output)\n' \
		"$(echo "$1 + $3" | bc)" "$(echo "$2 + $4" | bc)"
fi
exit 0
