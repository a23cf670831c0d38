#!/bin/bash
# bench/sliding.sh [EVENTS...]: csa-window --sliding 1h (count, avg and max
# by region) against DuckDB on one thread (from npm: @duckdb/node-api)
# computing the same trailing hour at every event with a RANGE window, on
# EVENTS events spread over one hour (default 5000 20000 1000000); each
# warmed once, then the median of 5.  csa-window writes a row when an event
# enters and when one leaves (twice DuckDB's rows), with their states.
set -eu
. "$(dirname "$0")/common.sh"
[ $# -gt 0 ] || set -- 5000 20000 1000000

duck=
if command -v npm > /dev/null && (cd "$tmp" && npm install --silent --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1); then
	cat > "$tmp/q.mjs" <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await inst.connect();
await con.run(`COPY (SELECT region, time, count(*) OVER w AS n, avg(magnitude) OVER w AS m,
  max(magnitude) OVER w AS x FROM read_json('${process.argv[2]}', format='newline_delimited')
  WINDOW w AS (PARTITION BY region ORDER BY time RANGE BETWEEN 3599999 PRECEDING AND CURRENT ROW))
  TO '/dev/null' (FORMAT json)`);
JS
	duck=1
fi

printf '%10s %12s %12s %8s\n' events csa-window DuckDB ratio
for n in "$@"; do
	/usr/bin/python3 -c '
import json, random, sys
random.seed(1)
n, t0 = int(sys.argv[1]), 1767261600000
for i in range(n):
    print(json.dumps({"time": t0 + i * 3600000 // n, "region": "r", "magnitude": round(random.uniform(0, 5), 2)}))' \
		"$n" > "$tmp/hour"
	t_csa=$(median_secs 5 csa-window --sliding 1h --by region \
		--agg 'n=count,m=avg(magnitude),x=max(magnitude)' "$tmp/hour")
	if [ -n "$duck" ]; then
		t_duck=$(median_secs 5 node "$tmp/q.mjs" "$tmp/hour")
		printf '%10d %10.3f s %10.3f s %7.1fx\n' "$n" "$t_csa" "$t_duck" "$(echo "scale=2; $t_duck / $t_csa" | bc)"
	else
		printf '%10d %10.3f s %12s\n' "$n" "$t_csa" "-"
	fi
done
