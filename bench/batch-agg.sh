#!/bin/bash
# bench/batch-agg.sh [EVENTS]: csa-batch-agg --preset earthquake on EVENTS
# events (default 10,000,000; 1% revised later, 0.1% of lines sent twice)
# into both reference views, against DuckDB (one thread, from npm:
# @duckdb/node-api) doing the same dedupe (the greatest `updated` wins,
# deleted events go; merged ids are not resolved by the DuckDB query) and
# the same two aggregations.  Prints time, peak memory and ratios.  Then
# the same run with --memory-limit 16M, where the dedupe store spills to
# disk.  Needs scripts/build and GNU time; DuckDB is skipped when npm
# cannot install it.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-10000000}

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/batch-gen.py" "$n" "$tmp/events" < "$tmp/src"

# run NAME CMD...: "seconds peak-KB" of one run
measure() { /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n 1; }

read -r t_csa m_csa < <(measure csa-batch-agg --preset earthquake --out "$tmp/gold" "$tmp/events")
rm -rf "$tmp/gold"
read -r t_spill m_spill < <(measure csa-batch-agg --preset earthquake --memory-limit 16M --out "$tmp/gold" "$tmp/events")

t_duck= m_duck=
if command -v npm > /dev/null && (cd "$tmp" && npm install --silent --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1); then
	cat > "$tmp/q.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
await con.run(`CREATE TABLE ev AS
  SELECT * FROM (SELECT *, row_number() OVER () AS seq
                 FROM read_json('${process.argv[2]}', format='newline_delimited'))
  QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY updated DESC, seq DESC) = 1`);
const body = (size) => `SELECT region, ceil(time / ${size}.0) AS w, count(*), avg(magnitude),
  max(magnitude), min(magnitude), avg(depth_km), count_if(magnitude >= 5.0),
  count_if(tsunami_flag = 1) FROM ev WHERE lower(coalesce(status, '')) <> 'deleted' GROUP BY ALL`;
await con.runAndReadAll(body(3600000));
await con.runAndReadAll(body(86400000));
JS
	read -r t_duck m_duck < <(measure node "$tmp/q.mjs" "$tmp/events")
fi

rate() { echo "scale=0; $n / $1" | bc; }
printf 'events: %d (1%% revised, 0.1%% duplicate lines), both preset views\n' "$n"
printf 'csa-batch-agg                    %7.2f s  %8d events/s  peak RSS %8d KB\n' "$t_csa" "$(rate "$t_csa")" "$m_csa"
printf 'csa-batch-agg --memory-limit 16M %7.2f s  %8d events/s  peak RSS %8d KB\n' "$t_spill" "$(rate "$t_spill")" "$m_spill"
if [ -n "$t_duck" ]; then
	printf 'DuckDB (1 thread)                %7.2f s  %8d events/s  peak RSS %8d KB\n' "$t_duck" "$(rate "$t_duck")" "$m_duck"
	printf 'DuckDB time / csa time: %s, DuckDB memory / csa memory: %s\n' \
		"$(echo "scale=2; $t_duck / $t_csa" | bc)" "$(echo "scale=2; $m_duck / $m_csa" | bc)"
fi
