# bench/common.sh: sourced by the bench scripts (bash, set -eu).  Sets top
# (the source tree), build ($BUILD, else build/), PATH with the build and
# its test helpers first, and tmp, a scratch directory removed at exit (a
# script that sets its own EXIT trap removes it there).  Then:
#   usgs_events FILE      the real week feed's events, once, into FILE
#   repeat_events N FILE  the same events repeated to N lines
#   secs CMD...           wall seconds of CMD, its output thrown away
#   peak CMD...           CMD's peak RSS in KB (GNU time)
#   median_times N CMD... one warm-up run of CMD, then N: the median wall
#                         seconds and the median CPU seconds (user + sys);
#                         $before_each, when set, is run (untimed) before
#                         each run, to start each from the same state
#   json_floor MODE FILE  bench/json-floor.cc's seconds (built once into
#                         tmp); empty when it cannot be built
top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
PATH="$build:$build/tests/helpers:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

usgs_events() {
	gzip -dc "$top/tests/data/usgs/brynnabridges_all_week.geojson.gz" > "$tmp/feed.json"
	csa-usgs-fetch --url "file://$tmp/feed.json" > "$1"
}

repeat_events() {
	usgs_events "$tmp/one"
	: > "$2.all"
	while [ "$(wc -l < "$2.all")" -lt "$1" ]; do cat "$tmp/one" >> "$2.all"; done
	head -n "$1" "$2.all" > "$2"
	rm "$2.all"
}

secs() {
	local s e
	s=$(date +%s%N)
	"$@" > /dev/null
	e=$(date +%s%N)
	echo "scale=4; ($e - $s) / 1000000000" | bc
}

# median_secs N CMD...: run CMD once to warm the caches, then N times;
# the median wall time in seconds.
median_secs() {
	local n=$1 i
	shift
	secs "$@" > /dev/null
	for i in $(seq "$n"); do secs "$@"; done | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

median_times() {
	local n=$1 i
	shift
	eval "${before_each:-:}"
	"$@" > /dev/null
	for i in $(seq "$n"); do
		eval "${before_each:-:}"
		/usr/bin/time -o "$tmp/times" -f '%e %U %S' "$@" > /dev/null
		tail -n 1 "$tmp/times"
	done > "$tmp/runs"
	printf '%s %s\n' \
		"$(awk '{ print $1 }' "$tmp/runs" | sort -n | sed -n "$(( (n + 1) / 2 ))p")" \
		"$(awk '{ print $2 + $3 }' "$tmp/runs" | sort -n | sed -n "$(( (n + 1) / 2 ))p")"
}

peak() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }

json_floor() {
	[ -x "$tmp/json-floor" ] ||
		g++ -O2 -std=c++17 -o "$tmp/json-floor" "$top/bench/json-floor.cc" -lsimdjson -lxxhash 2> /dev/null ||
		return 0
	"$tmp/json-floor" "$@"
}
