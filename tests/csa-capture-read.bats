#!/usr/bin/env bats
# csa-capture-read: real Capture files, files python3-avro writes, our own
# hub's Capture, and damaged input.

load helpers/common

setup() {
	CAP="$DATA/capture"
}

mk() {	# mk NAME [make_capture.py options]: a file in the test's directory
	local out="$BATS_TEST_TMPDIR/$1"; shift
	"$PY" "$HELPERS/make_capture.py" "$out" "$@"
	echo "$out"
}

# read_into_state: a directory $d with a.avro of 5 records, read once, all
# 5, with --state $BATS_TEST_TMPDIR/ck.
read_into_state() {
	d="$BATS_TEST_TMPDIR/d"
	mkdir -p "$d"
	"$PY" "$HELPERS/make_capture.py" "$d/a.avro" --count 5
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	[ "${#lines[@]}" -eq 5 ]
}

@test "a bad option exits 2 with the Try line; bad values name the option" {
	run --separate-stderr csa-capture-read --bogus x
	assert_failure 2
	[[ "$stderr" == *"Try 'csa-capture-read --help'"* ]]
	run --separate-stderr csa-capture-read --body maybe x
	assert_failure 2
	[[ "$stderr" == *"--body"* ]]
	run --separate-stderr csa-capture-read --path-format '{Bogus}' x
	assert_failure 2
	[[ "$stderr" == *"--path-format"* ]]
	run --separate-stderr csa-capture-read --from never x
	assert_failure 2
	run --separate-stderr csa-capture-read -H "$BATS_TEST_TMPDIR" x
	assert_failure 2
	[[ "$stderr" == *"--hub and 'x': read a hub's capture files or the paths given, not both"* ]]
}

@test "with no PATH, the capture files of the default hub, or of -H DIR; no hub exits 3" {
	export HOME="$BATS_TEST_TMPDIR/home"
	unset CSA_HUB
	run --separate-stderr csa-capture-read
	assert_failure 3
	[[ "$stderr" == *"no hub at $HOME/.local/state/csa/hub (csa-eh-send creates one)"* ]]
	[ ! -e "$HOME/.local" ]
	cp "$(usgs_events)" "$BATS_TEST_TMPDIR/ev.ndjson"
	csa-eh-send < "$BATS_TEST_TMPDIR/ev.ndjson"
	csa-eh-send --close-all-windows
	want=$(jq -s -c 'map(.event_id) | sort' "$BATS_TEST_TMPDIR/ev.ndjson")
	run -0 csa-capture-read
	[ "$(jq -s -c 'map(.event_id) | sort' <<< "$output")" = "$want" ]
	# The same hub named by -H, and by CSA_HUB; another hub by -H.
	run -0 csa-capture-read -H "$HOME/.local/state/csa/hub"
	[ "$(jq -s -c 'map(.event_id) | sort' <<< "$output")" = "$want" ]
	run -0 env CSA_HUB="$HOME/.local/state/csa/hub" csa-capture-read
	[ "$(jq -s -c 'map(.event_id) | sort' <<< "$output")" = "$want" ]
	head -n 3 "$BATS_TEST_TMPDIR/ev.ndjson" | csa-eh-send -H "$BATS_TEST_TMPDIR/other"
	csa-eh-send -H "$BATS_TEST_TMPDIR/other" --close-all-windows
	run -0 csa-capture-read -H "$BATS_TEST_TMPDIR/other"
	[ "${#lines[@]}" -eq 3 ]
}

@test "--checkpoint, --since and --until still work, each with a warning naming the new option" {
	f=$(mk t.avro --count 60)
	run --separate-stderr csa-capture-read --checkpoint "$BATS_TEST_TMPDIR/ck" \
		--since 2022-12-09T17:10:30Z --until 2022-12-09T17:10:40Z "$f"
	assert_success
	old=$output
	[[ "$stderr" == *"--checkpoint is deprecated: write --state"* ]]
	[[ "$stderr" == *"--since is deprecated: write --from"* ]]
	[[ "$stderr" == *"--until is deprecated: write --to"* ]]
	[ -s "$BATS_TEST_TMPDIR/ck" ]
	# -q: the same without the warnings; a bad value is still said.
	run --separate-stderr csa-capture-read --checkpoint "$BATS_TEST_TMPDIR/ck3" \
		--since 2022-12-09T17:10:30Z --until 2022-12-09T17:10:40Z "$f" -q
	assert_success
	[ -z "$stderr" ]
	[ "$output" = "$old" ]
	run --separate-stderr csa-capture-read -q --since soon "$f"
	[ "$status" -eq 2 ]
	[ "${stderr%%$'\n'*}" = "csa-capture-read: --from: 'soon' is not a time (2026-04-22T14:23:05Z, an epoch, now, today, yesterday, or -2h for two hours ago)" ]
	run --separate-stderr csa-capture-read --state "$BATS_TEST_TMPDIR/ck2" \
		--from 2022-12-09T17:10:30Z --to 2022-12-09T17:10:40Z "$f"
	assert_success
	[ -z "$stderr" ]
	[ "$output" = "$old" ]
	[ "$(printf '%s\n' "$output" | jq -r .i | tr '\n' ' ')" = "14 15 16 17 18 19 20 21 22 23 " ]
	cmp "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/ck2"
}

@test "the real files: exactly 380, 0 and 20 records" {
	run csa-capture-read "$CAP/cosh_54.avro"
	assert_success
	[ "${#lines[@]}" -eq 380 ]
	run csa-capture-read "$CAP/cosh_empty.avro"
	assert_success
	[ -z "$output" ]
	run csa-capture-read "$CAP/msmetering_p9--2022-12-09--17-10-12.avro"
	assert_success
	[ "${#lines[@]}" -eq 20 ]
}

@test "bodies equal python3-avro's, compacted; meta fields equal python3-avro's" {
	for f in cosh_54.avro msmetering_p9--2022-12-09--17-10-12.avro; do
		"$PY" "$HELPERS/dump_capture.py" "$CAP/$f" > "$BATS_TEST_TMPDIR/py"
		# Bodies: the same JSON values (the 2022 ones are pretty-printed).
		diff <(csa-capture-read "$CAP/$f" | jq -c -S .) <(jq -r .body "$BATS_TEST_TMPDIR/py" | jq -c -S .)
		# Each output line is compact: re-compacting changes nothing.
		diff <(csa-capture-read "$CAP/$f") <(csa-capture-read "$CAP/$f" | jq -c .)
		# Meta: sequence number, offset, system and user properties.
		diff <(csa-capture-read -m "$CAP/$f" | jq -c -S '._eh | {seq: .sequence_number, offset: (.offset | tostring), sys: .system_properties, props: .properties}') \
			<(jq -c -S '{seq, offset, sys, props}' "$BATS_TEST_TMPDIR/py")
	done
}

@test "EnqueuedTimeUtc in Azure's form, and x-opt-enqueued-time when present" {
	run csa-capture-read -m "$CAP/cosh_54.avro"
	assert_line --index 0 --partial '"enqueued_time":"2017-10-16T18:18:55.000Z"'
	run csa-capture-read -m "$CAP/msmetering_p9--2022-12-09--17-10-12.avro"
	printf '%s\n' "${lines[0]}" | jq -e '._eh.enqueued_time == "2022-12-09T17:10:16.046Z"' >/dev/null
}

@test "codecs deflate and snappy, and the 4-branch Properties schema" {
	for codec in null deflate snappy; do
		for schema in 5 4; do
			f=$(mk "c-$codec-$schema.avro" --codec "$codec" --schema "$schema" --count 50 --block 7)
			run --separate-stderr csa-capture-read "$f"
			assert_success
			[ "${#lines[@]}" -eq 50 ]
			diff <(printf '%s\n' "$output" | jq -c -S .) <("$PY" "$HELPERS/dump_capture.py" "$f" | jq -r .body | jq -c -S .)
		done
	done
	# Files of codec null are read block by block (the fast path), the
	# others through avro-c's file reader: the same records give the same
	# lines, with --meta too (but for the file's name), and the same
	# --from cut.
	for schema in 5 4; do
		for m in "" -m "--from 2022-12-09T17:10:17Z"; do
			diff <(csa-capture-read $m "$BATS_TEST_TMPDIR/c-null-$schema.avro" | jq -c 'del(._eh.file)') \
				<(csa-capture-read $m "$BATS_TEST_TMPDIR/c-deflate-$schema.avro" | jq -c 'del(._eh.file)')
		done
	done
}

@test "--meta: property maps of every kind, in blocks and with a repeated key, as avro-c's generic reader gives them" {
	# The fast path (codec null) decodes the maps itself, key by key,
	# through avro-c's reader; deflate goes through avro-c's generic maps.
	for props in rich odd; do
		for schema in 5 wide; do
			for codec in null deflate; do
				mk "p-$props-$schema-$codec.avro" --codec "$codec" --schema "$schema" \
					--props "$props" --count 30 --block 7 > /dev/null
			done
			run --separate-stderr csa-capture-read -m "$BATS_TEST_TMPDIR/p-$props-$schema-null.avro"
			assert_success
			[ "${#lines[@]}" -eq 30 ]
			diff <(printf '%s\n' "$output" | sed 's/,"file":"[^"]*"}}$//') \
				<(csa-capture-read -m "$BATS_TEST_TMPDIR/p-$props-$schema-deflate.avro" |
					sed 's/,"file":"[^"]*"}}$//')
		done
	done
	# A key seen again keeps its place and takes the later value; keys and
	# strings are escaped; bytes are a string; null stays null.
	run csa-capture-read -m "$BATS_TEST_TMPDIR/p-odd-5-null.avro"
	printf '%s\n' "${lines[3]}" | jq -e '._eh.properties |
		(keys_unsorted[0:7] == ["source", "n", "x", "esc\"key\\\u00e9", "raw", "none", "k0"]) and
		(keys | length) == 25 and .n == 1003 and .m17 == 17 and
		.x == 0.75 and .["esc\"key\\\u00e9"] == "line\nbreak \u2603" and .none == null and
		(.raw | startswith("\u0000\u0001bytes"))' > /dev/null
	# Without --meta the maps are skipped, not read: the same bodies.
	diff <(csa-capture-read "$BATS_TEST_TMPDIR/p-odd-wide-null.avro") \
		<(csa-capture-read "$BATS_TEST_TMPDIR/p-odd-wide-deflate.avro")
}

@test "--meta: an Offset of digits as written, others as strtoll reads them or as a string; enqueued times" {
	# Offsets of plain digits go out as they are; the others must give
	# what strtoll gives (a number from 0 to INT64_MAX), else the text.
	# Two records a second: the time formatted once serves the next.
	f=$(mk o.avro --offsets odd --count 32 --block 5)
	run --separate-stderr csa-capture-read -m "$f"
	assert_success
	[ "${#lines[@]}" -eq 32 ]
	diff <(printf '%s\n' "${lines[@]}" | grep -o '"offset":[^,]*,"enqueued_time":"[^"]*"') \
		<("$PY" - "$f" <<'EOF'
import datetime, json, re, sys
import avro.datafile, avro.io
for r in avro.datafile.DataFileReader(open(sys.argv[1], "rb"), avro.io.DatumReader()):
    s = r["Offset"]
    off = json.dumps(s, ensure_ascii=False)
    if re.fullmatch(r"[ \t\n\v\f\r]*[+-]?[0-9]+", s) and 0 <= int(s) < 1 << 63:
        off = str(int(s))
    t = datetime.datetime.strptime(r["EnqueuedTimeUtc"], "%m/%d/%Y %I:%M:%S %p")
    print('"offset":%s,"enqueued_time":"%s.000Z"' % (off, t.strftime("%Y-%m-%dT%H:%M:%S")))
EOF
)
	# The generic path (deflate) gives the same.
	diff <(printf '%s\n' "${lines[@]}" | sed 's/,"file":"[^"]*"}}$//') \
		<(csa-capture-read -m "$(mk o-deflate.avro --offsets odd --count 32 --codec deflate)" |
			sed 's/,"file":"[^"]*"}}$//')
}

@test "pretty-printed bodies are compacted; bodies that are not JSON: skip, base64, string" {
	f=$(mk mixed.avro --bodies mixed --count 30)
	run --separate-stderr csa-capture-read "$f"
	assert_failure 1
	[ "${#lines[@]}" -eq 20 ]
	[[ "$stderr" == *"mixed.avro: record "*"body is not JSON, skipped"* ]]
	[ "$(grep -c 'body is not JSON, skipped' <<<"$stderr")" -eq 10 ]
	[[ "$stderr" == *"10 bad bodies skipped"* ]]
	printf '%s\n' "$output" | jq -e -s 'all(.name | startswith("event "))' >/dev/null
	run --separate-stderr csa-capture-read --body string "$f"
	assert_success
	[ "${#lines[@]}" -eq 30 ]
	printf '%s\n' "$output" | jq -e -s '[.[] | select(.body)] | length == 10 and all(.body | test("^plain text [0-9]+, not JSON$"))' >/dev/null
	run --separate-stderr csa-capture-read --body base64 "$f"
	assert_success
	printf '%s\n' "$output" | jq -r 'select(.body_base64) | .body_base64' | head -1 | base64 -d | grep -q '^plain text 2, not JSON$'
}

@test "a body nested 500,000 deep is not JSON, found at once: skipped, or kept as a string" {
	f=$(mk deep.avro --count 5 --deep 2)
	run --separate-stderr timeout -k 5 60 csa-capture-read "$f"
	assert_failure 1
	[ "${#lines[@]}" -eq 4 ]
	[[ "$stderr" == *"deep.avro: record 3"*"body is not JSON, skipped"* ]]
	run --separate-stderr timeout -k 5 60 csa-capture-read --body string "$f"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r 'select(.body) | .body | length')" -eq 1000000 ]
}

@test "files written by our hub's Capture read back equal to what was sent" {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	ev=$(usgs_events)
	csa-eh-send -k region < "$ev"
	csa-eh-send --close-all-windows
	run --separate-stderr csa-capture-read --bare "$CSA_HUB/capture"
	assert_success
	diff <(printf '%s\n' "$output" | sort) <(sort "$ev")
	# Per partition in sequence order, with the partition from the path.
	csa-capture-read -m "$CSA_HUB/capture" | jq -r '"\(._eh.partition) \(._eh.sequence_number)"' > "$BATS_TEST_TMPDIR/order"
	diff "$BATS_TEST_TMPDIR/order" <(sort -k1,1n -k2,2n "$BATS_TEST_TMPDIR/order")
	diff <(csa-capture-read -m "$CSA_HUB/capture" | jq -c '[._eh.partition, .region]' | sort -u) \
		<(csa-eh-recv -e -m | jq -c '[._eh.partition, .region]' | sort -u)
}

@test "our hub's Capture: partition, sequence number and enqueued time equal what csa-eh-recv reads" {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	csa-eh-send -k region < "$(usgs_events)"
	csa-eh-send --close-all-windows
	meta='[._eh.partition, ._eh.sequence_number, ._eh.enqueued_time]'
	csa-capture-read -m "$CSA_HUB/capture" | jq -c "$meta" | sort > "$BATS_TEST_TMPDIR/cap"
	csa-eh-recv -e -m | jq -c "$meta" | sort > "$BATS_TEST_TMPDIR/recv"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/cap")" -eq "$(wc -l < "$(usgs_events)")" ]
	diff "$BATS_TEST_TMPDIR/cap" "$BATS_TEST_TMPDIR/recv"
	# In the files, as python3-avro reads them, x-opt-enqueued-time is the epoch
	# ms of EnqueuedTimeUtc, x-opt-sequence-number and x-opt-offset the record's.
	"$PY" -c 'import avro' 2>/dev/null || skip "python3-avro is missing"
	find "$CSA_HUB/capture" -type f -name '*.avro' > "$BATS_TEST_TMPDIR/files"
	n=$(xargs "$PY" -c '
import sys
from datetime import datetime, timezone
from avro.datafile import DataFileReader
from avro.io import DatumReader
n = 0
for path in sys.argv[1:]:
    for r in DataFileReader(open(path, "rb"), DatumReader()):
        text = datetime.strptime(r["EnqueuedTimeUtc"], "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=timezone.utc)
        sp = r["SystemProperties"]
        ms = sp["x-opt-enqueued-time"]
        if ms // 1000 != int(text.timestamp()):
            sys.exit("%s: %s != %s" % (path, ms, r["EnqueuedTimeUtc"]))
        if sp["x-opt-sequence-number"] != r["SequenceNumber"] or sp["x-opt-offset"] != r["Offset"]:
            sys.exit("%s: x-opt-sequence-number or x-opt-offset differ: %s" % (path, r))
        n += 1
print(n)
' < "$BATS_TEST_TMPDIR/files")
	[ "$n" -eq "$(wc -l < "$BATS_TEST_TMPDIR/cap")" ]
}

@test "a custom --path-format gives partition and time; files sort by time, then partition" {
	d="$BATS_TEST_TMPDIR/cap"
	mkdir -p "$d"
	cp "$CAP/msmetering_p9--2022-12-09--17-10-12.avro" "$d/p9--2022-12-09--17-10-12.avro"
	"$PY" "$HELPERS/make_capture.py" "$d/p2--2022-12-09--18-00-00.avro" --count 3
	"$PY" "$HELPERS/make_capture.py" "$d/p2--2022-12-09--17-00-00.avro" --count 2
	run csa-capture-read -m --path-format 'p{PartitionId}--{Year}-{Month}-{Day}--{Hour}-{Minute}-{Second}' "$d"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r '"\(._eh.partition) \(._eh.file | split("/") | last)"' | uniq | tr '\n' ,)" = \
		"2 p2--2022-12-09--17-00-00.avro,9 p9--2022-12-09--17-10-12.avro,2 p2--2022-12-09--18-00-00.avro," ]
	run csa-capture-read -p 9 --path-format 'p{PartitionId}--{Year}-{Month}-{Day}--{Hour}-{Minute}-{Second}' "$d"
	[ "${#lines[@]}" -eq 20 ]
}

@test "a body's own \"_eh\" gives way to the partition's wherever it is; \"_eh\" inside a string stays" {
	# The check that finds a body compact looks for "_eh" in the same pass
	# (64 bytes at a time): the key at every offset across the first
	# blocks, and the text "_eh" only where it is not a key.
	local T=$BATS_TEST_TMPDIR n k
	for n in $(seq 0 140); do
		k=$(printf '%*s' "$n" '' | tr ' ' k)
		printf '{"%s":1,"_eh":{"x":1}}\n' "$k"
		printf '{"%s":"_eh","v":"\\"_eh\\": 1"}\n' "$k"
	done > "$T/in"
	printf '{"_eh":2,"a":"b"}\n{"a":"x y","_eh":null}\n' >> "$T/in"
	csa-eh-send -H "$T/hub" -p 2 --capture-interval 1h "$T/in"
	csa-eh-send -H "$T/hub" --close-all-windows
	run --separate-stderr csa-capture-read "$T/hub/capture"
	assert_success
	[ "${#lines[@]}" -eq 284 ]
	# One "_eh" a line, the partition's, after the body's other members.
	printf '%s\n' "${lines[@]}" > "$T/out"
	[ "$(grep -c '"_eh":{"partition":2}}$' "$T/out")" -eq 284 ]
	[ "$(grep -o '"_eh":' "$T/out" | wc -l)" -eq 284 ]
	diff <(jq -c 'del(._eh) + {_eh: {partition: 2}}' "$T/in") "$T/out"
}

@test "the default Azure layout, and files without extension named on the command line" {
	d="$BATS_TEST_TMPDIR/ns/hub/3/2017/10/16/18/18"
	mkdir -p "$d"
	cp "$CAP/cosh_54.avro" "$d/55.avro"
	cp "$CAP/cosh_54.avro" "$BATS_TEST_TMPDIR/54"
	run csa-capture-read -m "$BATS_TEST_TMPDIR/ns"
	printf '%s\n' "${lines[0]}" | jq -e '._eh.partition == 3' >/dev/null
	run csa-capture-read "$BATS_TEST_TMPDIR/54"
	assert_success
	[ "${#lines[@]}" -eq 380 ]
}

@test "--from and --to select by enqueued time, and skip whole files by their path" {
	f=$(mk t.avro --count 60)
	run csa-capture-read --from 2022-12-09T17:10:30Z --to 2022-12-09T17:10:40Z "$f"
	assert_success
	[ "$(printf '%s\n' "$output" | jq -r .i | tr '\n' ' ')" = "14 15 16 17 18 19 20 21 22 23 " ]
	d="$BATS_TEST_TMPDIR/p/ns/hub/0/2022/12/09/17"
	mkdir -p "$d/10" "$d/20"
	cp "$f" "$d/10/16.avro"
	printf 'not avro' > "$d/20/00.avro"
	# The damaged later file starts after --until: it is never opened.
	run --separate-stderr csa-capture-read --to 2022-12-09T17:11:00Z "$BATS_TEST_TMPDIR/p"
	assert_success
	[ "${#lines[@]}" -eq 44 ]
}

@test "--checkpoint: a rerun reads only new files; a changed file gives a warning" {
	read_into_state
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	assert_success
	[ -z "$output" ]
	"$PY" "$HELPERS/make_capture.py" "$d/b.avro" --count 3
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	[ "${#lines[@]}" -eq 3 ]
	# a.avro written again with two records more: those two are read.
	"$PY" "$HELPERS/make_capture.py" "$d/a.avro" --count 7
	run --separate-stderr csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	assert_success
	[[ "$stderr" == *"a.avro: changed since it was read (by --checkpoint); reading the records after the 5 read before"* ]]
	[ "${#lines[@]}" -eq 2 ]
	diff <(printf '%s\n' "${lines[@]}") <(csa-capture-read "$d/a.avro" | tail -n 2)
	# A checkpoint of an older version has no count: the file is not read.
	sed -i 's/,"records":[0-9]*//' "$BATS_TEST_TMPDIR/ck"
	"$PY" "$HELPERS/make_capture.py" "$d/a.avro" --count 9
	run --separate-stderr csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	assert_failure 1
	[[ "$stderr" == *"a.avro: changed since it was read (by --checkpoint); not read again"* ]]
}

@test "--checkpoint: a Capture file the hub wrote again after a crash gives the reader the events added" {
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	csa-usgs-fetch --url "file://$DATA/usgs/abruzzi_all_day.geojson" > "$BATS_TEST_TMPDIR/ev"
	head -n 10 "$BATS_TEST_TMPDIR/ev" > "$BATS_TEST_TMPDIR/first"
	sed -n 11,20p "$BATS_TEST_TMPDIR/ev" > "$BATS_TEST_TMPDIR/second"
	csa-eh-send -p 0 < "$BATS_TEST_TMPDIR/first"
	csa-eh-send --close-all-windows
	csa-capture-read --bare --state "$BATS_TEST_TMPDIR/ck" "$CSA_HUB/capture" > "$BATS_TEST_TMPDIR/got"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/got")" -eq 10 ]
	# What a crash between the file's rename and the hub's commit leaves:
	# the file in place, the hub not knowing it was written.
	file=$(find "$CSA_HUB/capture" -name '*.avro')
	sqlite3 "$CSA_HUB/hub.db" "UPDATE partitions SET captured_seq = 0, last_capture = NULL,
		last_capture_start_ms = NULL WHERE part = 0;
		DELETE FROM captures;"
	# Ten more events in the same capture window: the same file, written again.
	csa-eh-send -p 0 < "$BATS_TEST_TMPDIR/second"
	touch -d '1 hour ago' "$file"
	csa-eh-send --close-all-windows
	[ "$(find "$CSA_HUB/capture" -name '*.avro')" = "$file" ]
	run --separate-stderr csa-capture-read --bare --state "$BATS_TEST_TMPDIR/ck" "$CSA_HUB/capture"
	assert_success
	[[ "$stderr" == *"changed since it was read"*"after the 10 read before"* ]]
	# Every event reached the reader once.
	printf '%s\n' "${lines[@]}" >> "$BATS_TEST_TMPDIR/got"
	diff <(head -n 20 "$BATS_TEST_TMPDIR/ev" | sort) <(sort "$BATS_TEST_TMPDIR/got")
}

@test "--checkpoint: an entry with an empty file name is read like any other" {
	read_into_state
	{ echo '{"file":"","size":0,"mtime":0}'; cat "$BATS_TEST_TMPDIR/ck"; } > "$BATS_TEST_TMPDIR/ck2"
	mv "$BATS_TEST_TMPDIR/ck2" "$BATS_TEST_TMPDIR/ck"
	run --separate-stderr csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "damaged files: named with how many records came before; the other files still read; exit 1" {
	good=$(mk good.avro --count 20)
	big=$(mk big.avro --count 300 --block 100)
	head -c $(( $(stat -c %s "$big") - 500 )) "$big" > "$BATS_TEST_TMPDIR/truncated.avro"
	printf 'this is not avro\n' > "$BATS_TEST_TMPDIR/text.avro"
	other=$(mk other.avro --schema other)
	# A wrong sync marker after the second block.
	cp "$big" "$BATS_TEST_TMPDIR/badsync.avro"
	"$PY" - "$BATS_TEST_TMPDIR/badsync.avro" <<'PYEOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
sync = data[-16:]
first = data.find(sync)
second = data.find(sync, first + 16)
third = data.find(sync, second + 16)
data[third] ^= 0xff
open(sys.argv[1], "wb").write(data)
PYEOF
	# A deflate stream with garbage in its middle.
	defl=$(mk deflate.avro --codec deflate --count 300 --block 100)
	"$PY" - "$defl" <<'PYEOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
mid = len(data) * 2 // 3
for i in range(mid, mid + 40):
    data[i] ^= 0x5a
open(sys.argv[1], "wb").write(data)
PYEOF
	for bad in truncated text other badsync deflate; do
		run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/$bad.avro" "$good"
		assert_failure 1
		[[ "$stderr" == *"$bad.avro"* ]] || { echo "$bad: $stderr"; return 1; }
		# The good file is read whatever came before it.
		[ "$(printf '%s\n' "$output" | jq -r 'select(.i != null and .name == "event \(.i)") | .i' | wc -l)" -ge 20 ]
	done
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/text.avro"
	[[ "$stderr" == *"not an Avro file"* ]]
	# Cut inside its first block, the file is still an Avro file: it is
	# called damaged, not something else.
	# avro-c 1.11 leaks what it opened when that block cannot be read, in
	# frames LeakSanitizer cannot name for tests/lsan.supp: leak detection
	# is off for this one run (ASan and UBSan still watch it).
	head -c $(( $(stat -c %s "$big") / 5 )) "$big" > "$BATS_TEST_TMPDIR/short.avro"
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/short.avro"
	assert_failure 1
	[[ "$stderr" == *"short.avro: an Avro file damaged or cut short in its header or first block"* ]]
	[[ "$stderr" != *"not an Avro file"* ]]
	run --separate-stderr csa-capture-read "$other"
	[[ "$stderr" == *"not an Event Hubs Capture file"* ]]
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/badsync.avro"
	assert_failure 1
	[ "${#lines[@]}" -eq 200 ]
	[[ "$stderr" == *"damaged after 200 records"*"the 200 records before it were written"* ]]
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/truncated.avro"
	assert_failure 1
	[ "${#lines[@]}" -eq 200 ]
	[[ "$stderr" == *"the 200 records before it were written"* ]]
}

@test "a record whose body length or union branch is damaged: named, with the records before it" {
	good=$(mk len.avro --count 10)
	# Record 5's body: its union branch (2, bytes), then its length.
	for what in length branch; do
		"$PY" - "$good" "$BATS_TEST_TMPDIR/$what.avro" "$what" <<'PYEOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
at = data.find(b'{"i": 5,')
if sys.argv[3] == "length":
    data[at - 1] = 0xfe	# with the "{" after it, 7935 bytes: past the block
else:
    data[at - 2] = 0x08	# branch 4 of a union of 2
open(sys.argv[2], "wb").write(data)
PYEOF
		for m in "" -m; do
			run --separate-stderr csa-capture-read $m "$BATS_TEST_TMPDIR/$what.avro"
			assert_failure 1
			[ "${#lines[@]}" -eq 5 ]
			[[ "$stderr" == *"$what.avro: damaged after 5 records: "*"the 5 records before it were written"* ]]
		done
	done
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/length.avro"
	[[ "$stderr" == *"a length of 7935 bytes in a block of "* ]]
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/branch.avro"
	[[ "$stderr" == *"union branch 4 of 2"* ]]
}

@test "unreadable input: exit 3 when nothing could be read, 1 when some could" {
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/missing"
	assert_failure 3
	[[ "$stderr" == *"missing"* ]]
	run --separate-stderr csa-capture-read "$BATS_TEST_TMPDIR/missing" "$CAP/cosh_54.avro"
	assert_failure 1
	[ "${#lines[@]}" -eq 380 ]
}

@test "-u writes each line at once; without it, the lines go out in large writes" {
	command -v strace >/dev/null || skip "strace is not installed"
	# Mixed bodies: compact ones written at once, the others formatted.
	# Without -u, 30 lines (8 KiB with -m) take a write or two.
	f=$(mk u.avro --count 30 --bodies mixed)
	for m in "" -m --bare; do
		# (LeakSanitizer does not run under ptrace.)
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			strace -e trace=write -o "$BATS_TEST_TMPDIR/t" csa-capture-read -u $m --body string "$f" \
			> "$BATS_TEST_TMPDIR/u"
		[ "$(wc -l < "$BATS_TEST_TMPDIR/u")" -eq 30 ]
		[ "$(grep -c '^write(1,' "$BATS_TEST_TMPDIR/t")" -eq 30 ]
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			strace -e trace=write -o "$BATS_TEST_TMPDIR/t" csa-capture-read $m --body string "$f" \
			> "$BATS_TEST_TMPDIR/b"
		[ "$(grep -c '^write(1,' "$BATS_TEST_TMPDIR/t")" -le 3 ]
		cmp "$BATS_TEST_TMPDIR/u" "$BATS_TEST_TMPDIR/b"
	done
}

@test "stdout to /dev/full exits 3; | head -n1 leaves stderr empty" {
	stdout_faults "csa-capture-read '$CAP/cosh_54.avro'"
	[[ "$stderr" == *"write error"* ]]
}

@test "--pending: the new checkpoint goes beside the old one, which stays" {
	read_into_state
	cp "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/before"
	"$PY" "$HELPERS/make_capture.py" "$d/b.avro" --count 3
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" --pending "$d"
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	cmp "$BATS_TEST_TMPDIR/ck" "$BATS_TEST_TMPDIR/before"
	# Not moved: the next run reads b.avro again.
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" --pending "$d"
	[ "${#lines[@]}" -eq 3 ]
	mv "$BATS_TEST_TMPDIR/ck.pending" "$BATS_TEST_TMPDIR/ck"
	run csa-capture-read --state "$BATS_TEST_TMPDIR/ck" "$d"
	assert_success
	[ -z "$output" ]
	run --separate-stderr csa-capture-read --pending "$d"
	assert_failure 2
	[[ "$stderr" == *"--pending: needs --state FILE"* ]]
}

# A container on the test HTTP server: its listing (served from
# ROOT/acct/cont.gz, as the server serves FILE.gz for FILE) names one blob.
blob_server() {
	local root=$BATS_TEST_TMPDIR/srv
	mkdir -p "$root/acct/cont/ns/hub/0/2024/01/01/00/00"
	cp "$CAP/cosh_54.avro" "$root/acct/cont/ns/hub/0/2024/01/01/00/00/00.avro"
	printf '%s' '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="cont"><Blobs><Blob><Name>ns/hub/0/2024/01/01/00/00/00.avro</Name><Properties><Etag>0x1</Etag><Content-Length>1</Content-Length></Properties></Blob></Blobs><NextMarker /></EnumerationResults>' |
		gzip > "$root/acct/cont.gz"
	start_usgs_server "$root"
}

@test "Blob Storage: 503 and 429 are retried, with Retry-After, for the listing and the blobs; then exit 4" {
	blob_server
	# The server's faults ride on the query, which goes with every request
	# as a SAS does: each URL fails twice, then answers.
	run --separate-stderr csa-capture-read --retries 2 --retry-delay 0 \
		"$SERVER_URL/acct/cont?fail=503&times=2&retry_after=1"
	stop_usgs_server
	assert_success
	[ "${#lines[@]}" -eq 380 ]
	[ "$(grep -c ' 503 /acct/cont?' "$SERVER_LOG")" -eq 2 ]
	[ "$(grep -c ' 503 /acct/cont/ns/hub/0/2024/01/01/00/00/00.avro?' "$SERVER_LOG")" -eq 2 ]
	[ "$(grep -c ' 200 ' "$SERVER_LOG")" -eq 2 ]
	# Throttled past the retries: exit 4, the URL named without its query.
	blob_server
	run --separate-stderr csa-capture-read --retries 1 --retry-delay 0ms "$SERVER_URL/acct/cont?fail=429&times=9"
	stop_usgs_server
	assert_failure 4
	[ -z "$output" ]
	[[ "$stderr" == *"$SERVER_URL/acct/cont: HTTP 429 (after 2 attempts)"* ]]
	[[ "$stderr" != *"fail="* ]]
}

@test "Blob Storage: a SAS in the URL is blanked from the command line once read" {
	blob_server
	bg csa-capture-read --retries 1 "$SERVER_URL/acct/cont?fail=503&times=9&retry_after=5&sig=SECRET"
	# Its first request is made after the arguments were read.
	wait_for 20 'grep -q " 503 " "$SERVER_LOG"'
	cmdline=$(tr '\0' ' ' < "/proc/$BG_PID/cmdline")
	kill_bg
	stop_usgs_server
	[[ "$cmdline" == *"$SERVER_URL/acct/cont?xxxx"* ]]
	[[ "$cmdline" != *SECRET* ]]
}

@test "bad options and values: one line that names them, the Try line, exit 2" {
	usage_faults csa-capture-read <<-'EOF'
	--bogus x|unknown option '--bogus'
	-Q x|unknown option '-Q'
	--body|option '--body' needs a value
	-p|option '-p' needs a value
	--meta=1 x|option '--meta' takes no value
	--p 1 x|option '--p' is ambiguous
	--partition 1024 x|--partition: '1024' is not a number from 0 to 1023
	--partition one x|--partition: 'one' is not a number from 0 to 1023
	--from never x|--from: 'never' is not a time (2026-04-22T14:23:05Z, an epoch, now, today, yesterday, or -2h for two hours ago)
	--to 2022-13-01 x|--to: '2022-13-01' is not a time (2026-04-22T14:23:05Z, an epoch, now, today, yesterday, or -2h for two hours ago)
	--retries 101 x|--retries: '101' is not a number from 0 to 100
	--retry-delay 2h x|--retry-delay: '2h' is not a duration from 0s to 1h
	--retry-delay soon x|--retry-delay: 'soon' is not a duration from 0s to 1h
	--parallel 0 x|--parallel: '0' is not a number from 1 to 64
	EOF
	run -0 csa-capture-read --version
	[[ "$output" == *"avro-c "* ]]
	# libcurl's line whole, as the curl command (the same libcurl) gives it.
	curl_line=$(curl --version | sed -n '1s/^curl [^ ]* ([^)]*) //p')
	[[ "$curl_line" == libcurl/* ]]
	assert_line "$curl_line"
}
