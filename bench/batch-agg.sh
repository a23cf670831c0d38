#!/bin/bash
# bench/batch-agg.sh [EVENTS [BIG]]: csa-batch-agg --preset earthquake into
# both reference views (hourly and daily, by region, into --out), against
# DuckDB on one thread (from npm: @duckdb/node-api) deduplicating and
# aggregating the same events.  EVENTS (default 2,000,000; 1% revised
# later, 0.1% of lines sent twice, bench/batch-gen.py) runs 3 times for
# each side after one warm-up read of the file, and the medians of wall
# and CPU (user + system) seconds are printed with the peak RSS; the
# machine is shared, so the CPU ratio is the one to read.  Then one run
# with --memory-limit 16M, where the store spills to SQLite on disk; and,
# when BIG is not 0 (default 10,000,000), one run of each side on BIG events,
# and an incremental run: the first 99% of the BIG events made into views
# and a --state, then the last 1% (the newest events and the revisions
# that come after them) added with that state, which is what a cron job
# does; its time beside the whole recomputation's, and its views checked
# equal to the whole run's.  The incremental run is the median of 3, each
# from a copy of the state and views the 99% left.
#
# The in-memory runs give --memory-limit 2G, so that 10M events stay in
# memory (about 100 bytes an event); the default limit, 256M, holds about
# two million.
#
# Not like for like, in DuckDB's favour: its query resolves no merged ids
# (USGS "ids" lists; csa-batch-agg makes every event they reach one), writes
# no partitioned view files (csa-batch-agg writes DIR/VIEW/date=.../
# part-0.ndjson with row identities and mergeable states, atomically), and
# keeps no state for an incremental run.  Needs scripts/build and GNU time;
# DuckDB is skipped when npm cannot install it.
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-2000000}
big=${2:-10000000}

usgs_events "$tmp/src"
/usr/bin/python3 "$top/bench/batch-gen.py" "$n" "$tmp/events" < "$tmp/src"

# once CMD...: "wall cpu peak-KB" of one run of CMD, its output thrown away
once() { /usr/bin/time -f '%e %U %S %M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ print $1, $2 + $3, $4 }'; }

# median3 CMD...: "wall cpu peak-KB": the medians of 3 runs, the largest
# peak; $before_each, when set, is run (untimed) before each run
median3() {
	local _
	for _ in 1 2 3; do eval "${before_each:-:}"; once "$@"; done > "$tmp/runs"
	echo "$(sort -n -k1 "$tmp/runs" | sed -n 2p | cut -d' ' -f1)" \
		"$(sort -n -k2 "$tmp/runs" | sed -n 2p | cut -d' ' -f2)" \
		"$(sort -n -k3 "$tmp/runs" | tail -n 1 | cut -d' ' -f3)"
}

duck=
if command -v npm > /dev/null && (cd "$tmp" && npm install --silent --no-audit --no-fund @duckdb/node-api > /dev/null 2>&1); then
	duck=1
	# The same dedupe as far as SQL goes (per event_id the greatest
	# updated wins, ties to the later line; deleted winners go) and the
	# same two aggregations, read back in full.
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
fi

cat "$tmp/events" > /dev/null	# the file in the page cache for both sides
read -r w_csa c_csa m_csa < <(median3 csa-batch-agg --preset earthquake --memory-limit 2G --out "$tmp/gold" "$tmp/events")
read -r w_spill c_spill m_spill < <(once csa-batch-agg --preset earthquake --memory-limit 16M --out "$tmp/spill" "$tmp/events")
diff -r "$tmp/gold" "$tmp/spill" > /dev/null || { echo "the spilled run's views differ" >&2; exit 1; }
[ -n "$duck" ] && read -r w_duck c_duck m_duck < <(median3 node "$tmp/q.mjs" "$tmp/events")

rate() { echo "scale=0; $1 / $2" | bc; }
line() { printf '%-34s %7.2f s wall %7.2f s CPU %8d events/CPU s  peak RSS %8d KB\n' "$1" "$2" "$3" "$(rate "$4" "$3")" "$5"; }
printf 'events: %d (1%% revised, 0.1%% duplicate lines), both preset views\n' "$n"
line 'csa-batch-agg (median of 3)' "$w_csa" "$c_csa" "$n" "$m_csa"
line 'csa-batch-agg --memory-limit 16M' "$w_spill" "$c_spill" "$n" "$m_spill"
if [ -n "$duck" ]; then
	line 'DuckDB, 1 thread (median of 3)' "$w_duck" "$c_duck" "$n" "$m_duck"
	printf 'DuckDB / csa: CPU %s, wall %s, memory %s\n' "$(echo "scale=2; $c_duck / $c_csa" | bc)" \
		"$(echo "scale=2; $w_duck / $w_csa" | bc)" "$(echo "scale=2; $m_duck / $m_csa" | bc)"
fi

if [ "$big" != 0 ]; then
	/usr/bin/python3 "$top/bench/batch-gen.py" "$big" "$tmp/events" < "$tmp/src"
	cat "$tmp/events" > /dev/null
	read -r w_csa c_csa m_csa < <(once csa-batch-agg --preset earthquake --memory-limit 2G --out "$tmp/gold" "$tmp/events")
	printf 'events: %d, one run each\n' "$big"
	line 'csa-batch-agg' "$w_csa" "$c_csa" "$big" "$m_csa"
	if [ -n "$duck" ]; then
		read -r w_duck c_duck m_duck < <(once node "$tmp/q.mjs" "$tmp/events")
		line 'DuckDB, 1 thread' "$w_duck" "$c_duck" "$big" "$m_duck"
		printf 'DuckDB / csa: CPU %s, wall %s, memory %s\n' "$(echo "scale=2; $c_duck / $c_csa" | bc)" \
			"$(echo "scale=2; $w_duck / $w_csa" | bc)" "$(echo "scale=2; $m_duck / $m_csa" | bc)"
	fi

	hist=$(( big - big / 100 ))
	head -n "$hist" "$tmp/events" > "$tmp/hist"
	tail -n +"$(( hist + 1 ))" "$tmp/events" > "$tmp/new"
	read -r w_hist c_hist m_hist < <(once csa-batch-agg --preset earthquake --memory-limit 2G \
		--state "$tmp/state0" --out "$tmp/inc0" "$tmp/hist")
	before_inc() { rm -rf "$tmp/state" "$tmp/inc"; cp "$tmp/state0" "$tmp/state"; cp -r "$tmp/inc0" "$tmp/inc"; }
	read -r w_inc c_inc m_inc < <(before_each=before_inc median3 csa-batch-agg --preset earthquake \
		--memory-limit 2G --state "$tmp/state" --out "$tmp/inc" "$tmp/new")
	diff -r "$tmp/gold" "$tmp/inc" > /dev/null ||
		{ echo "the incremental run's views differ from the whole run's" >&2; exit 1; }
	line "the first $hist, --state" "$w_hist" "$c_hist" "$hist" "$m_hist"
	line "then $(( big - hist )) more (median of 3)" "$w_inc" "$c_inc" "$(( big - hist ))" "$m_inc"
	printf 'incremental / whole run without a state: CPU %s, wall %s (views equal)\n' \
		"$(echo "scale=3; $c_inc / $c_csa" | bc)" "$(echo "scale=3; $w_inc / $w_csa" | bc)"
fi
echo "DuckDB's query resolves no merged ids, writes no view files and keeps no state (see the top of this script)."
