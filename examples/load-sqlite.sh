#!/bin/bash
# examples/load-sqlite.sh -d DB [-t TABLE] [--view NAME] PATH...: load view
# rows into the SQLite database DB (made when missing) with the sqlite3
# command, idempotently, as load-postgres.sh does (see there): rows keyed
# on their view and "_id" (csa-merge's rows, which have none, on their
# text), a file loaded again replacing what it held, one transaction a
# file.  Rows are kept as JSON text, numbers as written.  See csa(7),
# LOADING VIEWS INTO A DATABASE.
#
#   sqlite3 DB "SELECT row ->> 'region', sum(row ->> 'event_count')
#               FROM csa_rows WHERE view = 'hourly' GROUP BY 1"
set -euo pipefail
. "$(dirname "$0")/load-files.sh"
[ -n "$db" ] || { echo "$0: -d DB: the database file" >&2; exit 2; }

# A text as an SQL string literal.
lit() { printf "'%s'" "${1//\'/\'\'}"; }
t="\"${table//\"/\"\"}\""

sqlite3 -bail "$db" "CREATE TABLE IF NOT EXISTS $t (
	view TEXT NOT NULL,
	id TEXT NOT NULL,
	part TEXT NOT NULL,
	window_start TEXT NOT NULL,
	window_end TEXT NOT NULL,
	row TEXT NOT NULL,
	PRIMARY KEY (view, id)
);"

# The lines of one file taken whole (.import in ascii mode, with a unit
# separator no JSON line holds), upserted, then the part's rows that the
# file no longer holds deleted.
load_one() {
	local v p
	v=$(lit "$1") p=$(lit "$2")
	sqlite3 -bail "$db" <<SQL
BEGIN;
CREATE TEMP TABLE stage (line TEXT);
.mode ascii
.separator "$(printf '\037')" "\n"
.import '${3//\'/\'\'}' stage
CREATE TEMP TABLE new AS
	SELECT coalesce(json_extract(r, '\$.view'), $v) AS view,
	    coalesce(json_extract(r, '\$._id'), r) AS id, r
	FROM (SELECT json(line) AS r FROM stage WHERE line <> '')
	GROUP BY 1, 2;
INSERT INTO $t (view, id, part, window_start, window_end, row)
	SELECT view, id, $p, json_extract(r, '\$.window_start'),
	    json_extract(r, '\$.window_end'), r FROM new WHERE true
	ON CONFLICT (view, id) DO UPDATE SET part = excluded.part, row = excluded.row,
	    window_start = excluded.window_start, window_end = excluded.window_end
	WHERE row IS NOT excluded.row OR part IS NOT excluded.part;
DELETE FROM $t WHERE part = $p AND view IN (SELECT view FROM new UNION SELECT $v)
	AND NOT EXISTS (SELECT 1 FROM new n WHERE n.view = $t.view AND n.id = $t.id);
COMMIT;
SQL
}

load_prune() {
	local parts
	parts=$(while IFS= read -r p; do lit "$p"; echo; done <<< "$2" | paste -s -d , -)
	sqlite3 -bail "$db" "DELETE FROM $t WHERE view = $(lit "$1") AND part <> '*'
	    AND part NOT IN ($parts);"
}

load_paths "$@"
