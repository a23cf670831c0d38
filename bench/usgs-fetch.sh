#!/bin/bash
# bench/usgs-fetch.sh: csa-usgs-fetch against jq doing the same projection
# (tests/helpers/usgs.jq) on the 3236-feature real feed.  Prints times, peak
# memory and the ratios.  Needs hyperfine and GNU time (scripts/deps).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
fetch=$build/csa-usgs-fetch
[ -x "$fetch" ] || build=$("$top/scripts/build") && fetch=$build/csa-usgs-fetch

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$tmp/all_week.geojson
gzip -dc "$top/tests/data/usgs/brynnabridges_all_week.geojson.gz" > "$src"
small=$top/tests/data/usgs/ernestocd_significant_month.geojson
size=$(stat -c %s "$src")
jqprog="include \"usgs\"; .features[] | event + {ingested_at: (now | todate)}"

# Same output, or the comparison means nothing.
"$fetch" --url "file://$src" | jq -c 'del(.ingested_at)' | sort > "$tmp/ours"
jq -c -L "$top/tests/helpers" "$jqprog" "$src" | jq -c 'del(.ingested_at)' | sort > "$tmp/jq"
cmp -s "$tmp/ours" "$tmp/jq" || { echo "bench: outputs differ" >&2; exit 1; }

hyperfine -N --warmup 3 --runs 30 --export-json "$tmp/h.json" \
	"$fetch --url file://$src" \
	"jq -c -L $top/tests/helpers '$jqprog' $src" >/dev/null 2>&1 ||
	hyperfine --warmup 3 --runs 30 --export-json "$tmp/h.json" \
	"$fetch --url file://$src >/dev/null" \
	"jq -c -L $top/tests/helpers '$jqprog' $src >/dev/null" >/dev/null
read -r ours theirs < <(jq -r '[.results[].mean] | map(. * 1000) | "\(.[0]) \(.[1])"' "$tmp/h.json")

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }
rss=$(peak "$fetch" --url "file://$src")
base=$(peak "$fetch" --url "file://$small")
rss_jq=$(peak jq -c -L "$top/tests/helpers" "$jqprog" "$src")

awk -v o="$ours" -v t="$theirs" -v r="$rss" -v b="$base" -v j="$rss_jq" -v s="$size" 'BEGIN {
	printf "input: 3236 features, %.2f MB\n", s / 1e6
	printf "time      csa-usgs-fetch %7.1f ms   jq %7.1f ms   ratio jq/csa %5.1fx\n", o, t, t / o
	printf "peak RSS  csa-usgs-fetch %7.1f MB   jq %7.1f MB   ratio jq/csa %5.2fx\n", r / 1024, j / 1024, j / r
	printf "peak RSS / file size: %.2fx total; %.2fx above the %.1f MB the same binary takes for a 6-feature file\n",
		r * 1024 / s, (r - b) * 1024 / s, b / 1024
}'
