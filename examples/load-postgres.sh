#!/bin/bash
# examples/load-postgres.sh [-d CONNINFO] [-t TABLE] [--view NAME] PATH...:
# load view rows into PostgreSQL, idempotently.
#
# PATH is a view tree (csa-batch-agg --out DIR), one view's directory, or
# an NDJSON file of rows (csa-merge's answer, a speed view; --view names
# it, else the file's name does).  Every row goes into TABLE (default
# csa_rows) keyed on its view and its identity: "_id" where the row has
# one (csa-window and csa-batch-agg rows), else the md5 of the row
# (csa-merge's rows).  Loading is an upsert: loading the same files again,
# or a file holding a row twice, changes nothing; a file loaded again
# replaces what it held before (rows of a rewritten partition that are no
# longer there are deleted, and so are partitions csa-batch-agg removed).
# Each file is one transaction.  psql connects as CONNINFO says, or as
# the PG* variables do.  See csa(7), LOADING VIEWS INTO A DATABASE.
#
#   psql -c "SELECT row->>'region', sum((row->>'event_count')::bigint)
#            FROM csa_rows WHERE view = 'hourly' GROUP BY 1"
set -euo pipefail
. "$(dirname "$0")/load-files.sh"

sql() { psql ${db:+-d "$db"} -X -q -v ON_ERROR_STOP=1 -v t="$table" "$@"; }

sql <<'SQL'
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS :"t" (
	view text NOT NULL,
	id text NOT NULL,
	part text NOT NULL,		-- what a load of one file replaces
	window_start timestamptz NOT NULL,
	window_end timestamptz NOT NULL,
	row jsonb NOT NULL,		-- the row as written; numbers exact (numeric)
	PRIMARY KEY (view, id)
);
SQL

# The lines of one file, read raw (JSON lines never hold the bytes 1 and
# 2, so CSV with those as quote and delimiter takes each line whole), then
# upserted, then the part's rows that the file no longer holds deleted.
load_one() {
	sql -v v="$1" -v p="$2" -f <(cat <<'SQL'
BEGIN;
CREATE TEMP TABLE stage (line text) ON COMMIT DROP;
\copy stage FROM pstdin WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')
CREATE TEMP TABLE new ON COMMIT DROP AS
	SELECT DISTINCT ON (view, id) * FROM (
		SELECT coalesce(r->>'view', :'v') AS view,
		    coalesce(r->>'_id', md5(r::text)) AS id, r
		FROM (SELECT line::jsonb AS r FROM stage WHERE line <> '') l) k;
INSERT INTO :"t" AS o (view, id, part, window_start, window_end, row)
	SELECT view, id, :'p', (r->>'window_start')::timestamptz,
	    (r->>'window_end')::timestamptz, r FROM new
	ON CONFLICT (view, id) DO UPDATE SET part = excluded.part, row = excluded.row,
	    window_start = excluded.window_start, window_end = excluded.window_end
	WHERE o.row IS DISTINCT FROM excluded.row OR o.part IS DISTINCT FROM excluded.part;
DELETE FROM :"t" o WHERE o.part = :'p' AND o.view IN (SELECT view FROM new UNION SELECT :'v')
	AND NOT EXISTS (SELECT 1 FROM new n WHERE n.view = o.view AND n.id = o.id);
COMMIT;
SQL
) < "$3"
}

load_prune() {
	sql -v v="$1" -v ps="$2" <<'SQL'
DELETE FROM :"t" WHERE view = :'v' AND part <> '*'
	AND part <> ALL (string_to_array(:'ps', E'\n'));
SQL
}

load_paths "$@"
