#!/usr/bin/env bats
# Loading views into databases (examples/load-*.sh, csa(7) "Loading views
# into a database"): batch views from csa-batch-agg --out, a speed view and
# csa-merge's answer, on real USGS data, into a throwaway PostgreSQL
# cluster and into SQLite; counts and sums checked against jq on the same
# files; loading again, and a row given twice, change nothing; a rewritten
# view replaces what it held.  DuckDB reads the view tree itself.

load helpers/common

setup() {
	cd "$BATS_TEST_TMPDIR"
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140321.geojson" > a
	csa-usgs-fetch --url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" > b
	csa-batch-agg --preset earthquake --out gold a
	csa-window --preset earthquake < b > speed.ndjson
	csa-merge --batch gold/hourly --speed speed.ndjson > merged.ndjson
	cat merged.ndjson merged.ndjson > twice.ndjson
	[ -s merged.ndjson ] && [ -d gold/hourly ] && [ -d gold/daily ]
}

teardown() {
	if [ -n "${PGDIR:-}" ]; then
		"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop > /dev/null 2>&1 || true
		rm -rf "$PGDIR"
	fi
}

# expected: per view, the rows and the sum of event_count, as jq counts
# them in the files (speed rows once per _id, as csa-merge counts them).
expected() {
	for v in daily hourly; do
		cat gold/$v/*/*.ndjson | jq -r -s --arg v "$v" '"\($v)|\(length)|\(map(.event_count) | add)"'
	done
	jq -r -s '"merged|\(length)|\(map(.event_count) | add)"' merged.ndjson
	jq -r -s 'unique_by(._id) | "speed|\(length)|\(map(.event_count) | add)"' speed.ndjson
}

# A PostgreSQL cluster of its own: initdb and pg_ctl of Debian's
# postgresql package, on a Unix socket in a temporary directory, no TCP.
pg_start() {
	local initdb
	initdb=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
	[ -n "$initdb" ] || skip "no PostgreSQL server: Debian's postgresql package gives /usr/lib/postgresql/*/bin/initdb"
	command -v psql > /dev/null || skip "no psql (Debian's postgresql-client)"
	PGBIN=$(dirname "$initdb")
	AS=()
	PGDIR=$(mktemp -d "${TMPDIR:-/tmp}/csa-pg.XXXXXX")
	if [ "$(id -u)" -eq 0 ]; then
		# The server refuses to run as root.
		id postgres > /dev/null 2>&1 || skip "running as root and there is no postgres user to run the server"
		chown postgres "$PGDIR"
		AS=(runuser -u postgres --)
	fi
	"${AS[@]}" "$PGBIN/initdb" -D "$PGDIR/data" -A trust -U csa --no-sync > "$PGDIR/initdb.log"
	"${AS[@]}" "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/log" -w \
		-o "-k $PGDIR -c listen_addresses= -c fsync=off" start > /dev/null
	export PGHOST=$PGDIR PGUSER=csa PGDATABASE=postgres
}

pg() { psql -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }

PGSUMS="SELECT view, count(*), sum((row->>'event_count')::bigint) FROM csa_rows GROUP BY 1 ORDER BY 1"

@test "PostgreSQL: batch views, a speed view and the merged view load idempotently; counts and sums = jq" {
	pg_start
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" gold
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" --view merged merged.ndjson
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" speed.ndjson
	expected | sort > want
	pg "$PGSUMS" > got
	diff want got
	# Numbers are kept exactly as written (jsonb numeric): every value of
	# the merged view reads back as the same text.
	pg "SELECT row->>'avg_depth_km' FROM csa_rows WHERE view = 'merged' ORDER BY id" | sort > pg-depths
	jq -r '.avg_depth_km' merged.ndjson | sort > jq-depths
	cmp pg-depths jq-depths
	# Again, and a file holding every row twice: not a row touched (xmin
	# is the transaction that last wrote a row).
	pg "SELECT view, id, xmin FROM csa_rows ORDER BY 1, 2" > before
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" gold
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" --view merged twice.ndjson
	run -0 "$CSA_SRCDIR/examples/load-postgres.sh" speed.ndjson speed.ndjson
	pg "SELECT view, id, xmin FROM csa_rows ORDER BY 1, 2" > after
	cmp before after
}

@test "PostgreSQL: a rewritten view replaces what it held; a removed partition's rows go" {
	pg_start
	"$CSA_SRCDIR/examples/load-postgres.sh" gold
	"$CSA_SRCDIR/examples/load-postgres.sh" --view merged merged.ndjson
	# The batch layer again over everything: revised events change rows
	# of old days, and new days come.
	rm -rf gold
	cat a b | csa-batch-agg --preset earthquake --out gold
	csa-merge --batch gold/hourly --speed speed.ndjson > merged.ndjson
	rm -r "$(find gold/hourly -name 'date=*' | sort | head -n 1)"
	"$CSA_SRCDIR/examples/load-postgres.sh" gold
	"$CSA_SRCDIR/examples/load-postgres.sh" --view merged merged.ndjson
	expected | grep -v '^speed' | sort > want
	pg "$PGSUMS" > got
	diff want got
}

SQLSUMS="SELECT view, count(*), sum(json_extract(row, '$.event_count')) FROM csa_rows GROUP BY 1 ORDER BY 1"

@test "SQLite: the same loads, idempotent, counts and sums = jq" {
	command -v sqlite3 > /dev/null || skip "no sqlite3 command (Debian's sqlite3)"
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db gold
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db --view merged merged.ndjson
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db speed.ndjson
	expected | sort > want
	sqlite3 v.db "$SQLSUMS" > got
	diff want got
	# Every write from now on is counted: loading again writes nothing.
	sqlite3 v.db "CREATE TABLE writes (n INTEGER);
		CREATE TRIGGER wi AFTER INSERT ON csa_rows BEGIN INSERT INTO writes VALUES (1); END;
		CREATE TRIGGER wu AFTER UPDATE ON csa_rows BEGIN INSERT INTO writes VALUES (1); END;
		CREATE TRIGGER wd AFTER DELETE ON csa_rows BEGIN INSERT INTO writes VALUES (1); END;"
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db gold
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db --view merged twice.ndjson
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db speed.ndjson speed.ndjson
	[ "$(sqlite3 v.db 'SELECT count(*) FROM writes')" -eq 0 ]
	# A rewritten view replaces what it held.
	rm -rf gold
	cat a b | csa-batch-agg --preset earthquake --out gold
	rm -r "$(find gold/daily -name 'date=*' | sort | head -n 1)"
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db gold
	csa-merge --batch gold/hourly --speed speed.ndjson > merged.ndjson
	"$CSA_SRCDIR/examples/load-sqlite.sh" -d v.db --view merged merged.ndjson
	expected | sort > want
	sqlite3 v.db "$SQLSUMS" > got
	diff want got
}

@test "DuckDB reads the view tree as it is: read_json with hive partitioning = jq" {
	command -v duckdb > /dev/null || skip "no duckdb command"
	run -0 duckdb -csv -noheader -c "SELECT date, count(*), sum(event_count)
		FROM read_json('gold/hourly/*/*.ndjson', format = 'newline_delimited',
		    hive_partitioning = true) GROUP BY date ORDER BY date"
	printf '%s\n' "$output" > got
	for d in gold/hourly/date=*; do
		jq -r -s --arg d "${d##*=}" '"\($d),\(length),\(map(.event_count) | add)"' "$d"/*.ndjson
	done > want
	diff want got
}
