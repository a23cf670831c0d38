# common.bash: loaded by every bats file.  Puts the built commands first on
# PATH and gives helpers for servers and real data.
bats_require_minimum_version 1.5.0

: "${CSA_BUILDDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
: "${CSA_SRCDIR:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)}"
export CSA_BUILDDIR CSA_SRCDIR
PATH="$CSA_BUILDDIR:$CSA_BUILDDIR/tests/helpers:$PATH"
DATA="$CSA_SRCDIR/tests/data"
HELPERS="$CSA_SRCDIR/tests/helpers"
# Debian's Python modules belong to /usr/bin/python3, whatever is first on PATH.
PY=/usr/bin/python3

load_bats_libs() {
	local dir
	for dir in /usr/lib/bats /usr/local/lib/bats /usr/lib; do
		if [ -f "$dir/bats-support/load.bash" ]; then
			load "$dir/bats-support/load.bash"
			load "$dir/bats-assert/load.bash"
			return 0
		fi
	done
	echo "bats-support and bats-assert are not installed (apt-get install bats-support bats-assert)" >&2
	return 1
}
load_bats_libs

# The big real feed is kept gzip-compressed; give tests a plain copy.
bryn_json() {
	local out="$BATS_FILE_TMPDIR/brynnabridges_all_week.geojson"
	[ -f "$out" ] || gzip -dc "$DATA/usgs/brynnabridges_all_week.geojson.gz" > "$out"
	echo "$out"
}

# start_usgs_server ROOT [ARGS...]: start the test HTTP server on 127.0.0.1,
# set SERVER_PID, SERVER_PORT, SERVER_URL and SERVER_LOG.
start_usgs_server() {
	local root=$1; shift
	local portfile="$BATS_TEST_TMPDIR/server.port"
	SERVER_LOG="$BATS_TEST_TMPDIR/server.log"
	rm -f "$portfile"
	"$PY" "$HELPERS/usgs_server.py" "$root" "$portfile" "$SERVER_LOG" "$@" \
		3>&- 2>"$BATS_TEST_TMPDIR/server.err" &
	SERVER_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -s "$portfile" ] && break
		sleep 0.05
	done
	[ -s "$portfile" ] || { cat "$BATS_TEST_TMPDIR/server.err" >&2; return 1; }
	SERVER_PORT=$(cat "$portfile")
	local scheme=http
	case " $* " in *" --tls "*) scheme=https ;; esac
	SERVER_URL="$scheme://127.0.0.1:$SERVER_PORT"
}

stop_usgs_server() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
}

# make_test_ca DIR: a throw-away CA (DIR/ca.pem) and a server certificate
# for 127.0.0.1 that it signed (DIR/srv.pem, DIR/srv.key).
make_test_ca() {
	local d=$1
	mkdir -p "$d"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=csa test CA" \
		-keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
		-keyout "$d/srv.key" -out "$d/srv.csr" 2>/dev/null
	printf 'subjectAltName=IP:127.0.0.1\n' > "$d/ext"
	openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
		-days 2 -extfile "$d/ext" -out "$d/srv.pem" 2>/dev/null
}

# start_kafka_mock DIR TOPIC:PARTITIONS...: librdkafka's mock cluster on
# 127.0.0.1 (tests/helpers/csa-kafka-mock.c); sets MOCK_PID and
# MOCK_BROKERS.  In a test, teardown's kill_bg stops it.
start_kafka_mock() {
	local dir=$1; shift
	rm -f "$dir/brokers"
	csa-kafka-mock "$dir/brokers" "$@" 3>&- 2> "$dir/mock.err" &
	MOCK_PID=$!
	[ -z "${BATS_TEST_TMPDIR:-}" ] || echo "$MOCK_PID" >> "$BATS_TEST_TMPDIR/.bg_pids"
	wait_for 10 '[ -s "$dir/brokers" ]' || { cat "$dir/mock.err" >&2; return 1; }
	MOCK_BROKERS=$(cat "$dir/brokers")
}

# A port on 127.0.0.1 where nothing listens (bound, then released).
free_port() {
	"$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}


# wait_for SECONDS 'CONDITION': evaluate the shell CONDITION every 0.05 s
# until it holds or SECONDS pass; fails then.
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s%N) + limit * 1000000000 ))
	until eval "$*" 2>/dev/null; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.05
	done
}

# Real USGS events as NDJSON, made once per file of tests.
usgs_events() {
	local out="$BATS_FILE_TMPDIR/usgs_events.ndjson"
	[ -f "$out" ] || csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" > "$out"
	echo "$out"
}

# no_ids [FILE...]: view rows without their "_id", which names the input
# lines a row holds: for comparing rows of the same events read in another
# form (through a hub, with its _eh, or written with escapes).
no_ids() {
	sed -E 's/,"_id":"[0-9a-f]{16}"//' "$@"
}

# bg CMD...: run CMD in the background, remembered so that teardown kills it
# even when the test failed half way.  Sets BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	echo "$BG_PID" >> "$BATS_TEST_TMPDIR/.bg_pids"
}

# term_reader N FILE CMD...: CMD reading a fifo that gets FILE's first N
# lines and stays open, sent SIGTERM 0.5 s later.  Sets TERM_RC, CMD's
# exit status.
term_reader() {
	local n=$1 file=$2 pid
	shift 2
	mkfifo "$BATS_TEST_TMPDIR/term.fifo"
	bg sh -c 'f=$1; shift; exec "$@" < "$f"' sh "$BATS_TEST_TMPDIR/term.fifo" "$@"
	pid=$BG_PID
	exec 9> "$BATS_TEST_TMPDIR/term.fifo"
	head -n "$n" "$file" >&9
	sleep 0.5
	kill -TERM "$pid"
	TERM_RC=0
	wait "$pid" || TERM_RC=$?
	exec 9>&-
}

kill_bg() {
	local pid
	[ -f "$BATS_TEST_TMPDIR/.bg_pids" ] || return 0
	while read -r pid; do
		pkill -KILL -P "$pid" 2>/dev/null || true
		kill -KILL "$pid" 2>/dev/null || true
	done < "$BATS_TEST_TMPDIR/.bg_pids"
	rm -f "$BATS_TEST_TMPDIR/.bg_pids"
}

# small_fs_unshare: the unshare command that makes a mount namespace here,
# or nothing (status 1) where none can be made (no user namespaces, or a
# chroot whose / is not a mount point).
small_fs_unshare() {
	local un="unshare --mount"
	[ "$(id -u)" -eq 0 ] || un="unshare --mount --map-root-user"
	$un true 2>/dev/null && echo "$un"
}

# need_small_fs: skip the test where on_small_fs cannot work.  Call it in
# the test itself, before `run on_small_fs`: a skip inside `run` is lost.
need_small_fs() {
	small_fs_unshare > /dev/null || skip "no mount namespace can be made here (unshare)"
}

# on_small_fs SIZE DIR SCRIPT [ARGS...]: run bash SCRIPT in a mount namespace
# of its own in which DIR is an empty tmpfs of SIZE, so a test can fill a
# disk without touching the machine's; nothing is left mounted after it.
on_small_fs() {
	local size=$1 dir=$2 un
	shift 2
	un=$(small_fs_unshare) || { echo "on_small_fs: no mount namespace here" >&2; return 1; }
	export -f fill_fs
	$un bash -c 'mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec bash -c "$@"' \
		on_small_fs "$size" "$dir" "$@"
}

# fill_fs DIR KB: fill DIR's file system, then free KB kilobytes of it.
fill_fs() {
	dd if=/dev/zero of="$1/.filler" bs=64k 2>/dev/null || true
	truncate -s "-$2K" "$1/.filler"
}

# deep_line: a file holding one line of 500,000 nested arrays (1 MB, under
# the line limit, far past the 512 levels JSON may nest here), and
# DEEP_MSG, what every reader says of it.  Readers once took minutes on it.
deep_line() {
	local out="$BATS_FILE_TMPDIR/deep"
	[ -f "$out" ] || "$PY" -c 'print("[" * 500000 + "]" * 500000)' > "$out"
	echo "$out"
}
DEEP_MSG="invalid JSON: nested deeper than 512 levels at byte 513"

# usage_faults CMD [ARGS...] <<< "ARGS|MESSAGE" lines: for each line, CMD
# ARGS plus that line's ARGS (split on blanks) exits 2 and says exactly two
# lines: "CMD: MESSAGE" and the Try line.  The words of bad options and
# option values are the same in every command (cmd/opt.c).
usage_faults() {
	local cmd=$1 args want
	shift
	while IFS='|' read -r args want; do
		[ -n "$args" ] || continue
		# shellcheck disable=SC2086
		run --separate-stderr "$cmd" "$@" $args < /dev/null
		[ "$status" -eq 2 ] || { echo "$cmd $* $args: exit $status: $stderr"; return 1; }
		[ "$stderr" = "$cmd: $want
Try '$cmd --help' for more information." ] || { echo "$cmd $* $args:"; echo "$stderr"; return 1; }
	done
}

# quiet_silences WARNING CMD [ARGS...]: CMD ARGS says WARNING on stderr;
# CMD ARGS -q exits the same, writes the same stdout, and says everything
# else it said (errors, bad lines and their count) but not WARNING.
quiet_silences() {
	local warning=$1 out err rc
	shift
	run --separate-stderr "$@"
	out=$output err=$stderr rc=$status
	[[ "$err" == *"$warning"* ]] || { echo "$*: no '$warning' in: $err"; return 1; }
	run --separate-stderr "$@" -q
	[ "$status" -eq "$rc" ] || { echo "$* -q: exit $status, not $rc"; return 1; }
	[ "$output" = "$out" ] || { echo "$* -q: another output"; return 1; }
	[ "$stderr" = "$(grep -vF -- "$warning" <<< "$err")" ] ||
		{ echo "$* -q:"; echo "$stderr"; return 1; }
}

# stdout_faults 'CMD ARGS' (a shell command line): with its output on
# /dev/full it exits 3; with its output going to `head -n1`, which closes
# the pipe early, it exits 0 and says nothing.  Afterwards $stderr is what
# the /dev/full run said.
stdout_faults() {
	run --separate-stderr bash -c "$1 | head -n1"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || { echo "$1 | head -n1: exit $status: $stderr"; return 1; }
	run --separate-stderr bash -c "$1 > /dev/full"
	[ "$status" -eq 3 ] || { echo "$1 > /dev/full: exit $status: $stderr"; return 1; }
}

# missing_fields CMD: what csa-window and csa-batch-agg both say of fields:
# a mistyped --by column and aggregate field give null columns, exit 0 and
# one warning each; with -v, a field some events lack is counted as jq
# counts it.  Leaves the events in $BATS_TEST_TMPDIR/ev.ndjson (their
# count in n) and those lacking depth_km in some.ndjson.
missing_fields() {
	local cmd=$1 lack
	cp "$(usgs_events)" "$BATS_TEST_TMPDIR/ev.ndjson"
	n=$(wc -l < "$BATS_TEST_TMPDIR/ev.ndjson")
	run --separate-stderr "$cmd" --tumbling 1h --by regoin --agg 'a=avg(magnitdue),n=count' \
		"$BATS_TEST_TMPDIR/ev.ndjson"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -s 'map(.regoin, .a) | unique')" = "$(jq -n '[null]')" ]
	[[ "$stderr" == *"--by regoin: none of the $n events has this field (mistyped?)"* ]]
	[[ "$stderr" == *"--agg a (magnitdue): none of the $n events has this field (mistyped?)"* ]]
	[ "$(wc -l <<< "$stderr")" -eq 2 ]
	jq -c 'if (.magnitude // 0) < 3 then del(.depth_km) else . end' "$BATS_TEST_TMPDIR/ev.ndjson" \
		> "$BATS_TEST_TMPDIR/some.ndjson"
	lack=$(jq -s 'map(select(has("depth_km") | not)) | length' "$BATS_TEST_TMPDIR/some.ndjson")
	[ "$lack" -gt 0 ] && [ "$lack" -lt "$n" ]
	run --separate-stderr "$cmd" -v --tumbling 1h --by region --agg 'd=max(depth_km)' \
		"$BATS_TEST_TMPDIR/some.ndjson"
	[[ "$stderr" == *"--agg d (depth_km): $lack of $n events lack this field"* ]]
}
