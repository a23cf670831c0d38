#!/usr/bin/env bats
# common/: the shared modules, through the csa-unit test driver.

load helpers/common

@test "json: valid documents are accepted and written back compactly" {
	run csa-unit json <<'IN'
{ "a" : 1 , "b" : [ true , false , null ] , "c" : { } , "d" : [ ] }
{"s":"x\"y\\z\/\b\f\n\r\t\u00e9"}
[1, -0, 0.5, -1.5e10, 2E-3, 1e+2]
"just a string"
IN
	assert_success
	assert_line --index 0 '{"a":1,"b":[true,false,null],"c":{},"d":[]}'
	assert_line --index 1 '{"s":"x\"y\\z\/\b\f\n\r\t\u00e9"}'
	assert_line --index 2 '[1,-0,0.5,-1.5e10,2E-3,1e+2]'
	assert_line --index 3 '"just a string"'
}

@test "json: a bare number or literal is a document; 19-digit integers are exact" {
	# Both found by tests/fuzz/fuzz-json: simdjson took them, jsmn did not.
	run csa-unit json <<'IN'
42
true
-1.5e3
IN
	assert_success
	assert_output "$(printf '42\ntrue\n-1.5e3')"
	run csa-unit get a <<'IN'
{"a":1392826239473776202}
{"a":-9223372036854775808}
{"a":9223372036854775808}
IN
	assert_success
	assert_line --index 0 'int 1392826239473776202'
	assert_line --index 1 'int -9223372036854775808'
	assert_line --index 2 'number 9.2233720368547758e+18'
}

@test "json: everything RFC 8259 rejects is rejected" {
	bad=(
		'{"a":1} x'          # trailing garbage
		'{"a":1}{"b":2}'     # two values
		'{"a":"\x"}'         # bad escape
		'{"a":"\u12G4"}'     # bad unicode escape
		'{"a":"abc}'         # unterminated string
		'{"a":01}'           # leading zero
		'{"a":1.}'           # no fraction digits
		'{"a":.5}'           # no integer part
		'{"a":+1}'           # plus sign
		'{"a":1e}'           # no exponent digits
		'{"a":--1}'          # double minus
		'{"a":tru}'          # not a literal
		'{"a":NaN}'          # not JSON
		'{"a" 1}'            # missing colon
		'{"a":1 "b":2}'      # missing comma
		'{"a":1,,"b":2}'     # doubled comma
		'{"a":1,}'           # trailing comma
		'[1,2,]'             # trailing comma in array
		"{'a':1}"            # single quotes
		'{a:1}'              # unquoted key
		'{"a":[1,2}'         # mismatched bracket
		'{"a":1'             # truncated
		'{1:2}'              # number as key
	)
	for doc in "${bad[@]}"; do
		run csa-unit json <<<"$doc"
		assert_success
		[[ "$output" == error:*"invalid JSON"* ]] || { echo "accepted: $doc -> $output"; return 1; }
	done
	# A raw control character inside a string.
	run csa-unit json < <(printf '{"a":"x\001y"}\n')
	[[ "$output" == error:* ]]
}

@test "json: 512 levels of nesting are read, 513 are rejected at the bracket too deep" {
	nest() {	# nest N OPEN CLOSE [INNER]
		"$PY" -c 'import sys; n = int(sys.argv[1]); print(sys.argv[2] * n + sys.argv[4] + sys.argv[3] * n)' "$@"
	}
	{
		nest 512 '[' ']' ''
		nest 512 '{"a":' '}' 1
		nest 511 '[' ']' '{"s":"[[[[{{{{\"]]]]"}'
		# Brackets in strings do not count, escaped quotes do not end them.
		"$PY" -c 'print("[\"" + "\\\"[" * 600 + "\"]")'
		nest 513 '[' ']' ''
		nest 513 '{"a":' '}' 1
		nest 512 '[' ']' '{}'
		nest 500000 '[' ']' ''
		nest 500000 '[' '' ''
	} > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr timeout -k 5 60 csa-unit json < "$BATS_TEST_TMPDIR/in"
	assert_success
	for i in 0 1 2 3; do [[ "${lines[$i]}" != error:* ]] || { echo "$i: ${lines[$i]}"; return 1; }; done
	assert_line --index 4 "error: invalid JSON: nested deeper than 512 levels at byte 513"
	assert_line --index 5 "error: invalid JSON: nested deeper than 512 levels at byte 2561"
	assert_line --index 6 "error: invalid JSON: nested deeper than 512 levels at byte 513"
	assert_line --index 7 "error: $DEEP_MSG"
	assert_line --index 8 "error: $DEEP_MSG"
	[ "${#lines[@]}" -eq 9 ]
}

@test "json: a raw control byte is found at every place in strings of every length" {
	# Strings are checked a word at a time: a bad byte must be seen at the
	# start, the middle and the end of a word, in short and long strings,
	# in keys and values, and next to the start of the text.  One csa-unit
	# reads every case, a line each; "want" has BAD or the line it writes.
	local docs=$BATS_TEST_TMPDIR/docs want=$BATS_TEST_TMPDIR/want s bad doc n i
	for n in 1 2 3 7 8 9 15 16 17 31; do
		s=$(printf '%*s' "$n" '' | tr ' ' 'a')
		for ((i = 0; i < n; i++)); do
			bad="${s:0:i}"$'\x1f'"${s:i+1}"
			for doc in "{\"$bad\":1}" "{\"k\":\"$bad\"}" "\"$bad\""; do
				printf '%s\n' "$doc" >> "$docs"
				echo BAD >> "$want"
			done
		done
		# The same lengths without a control byte, with UTF-8 and DEL, pass.
		s=$(printf '%*s' "$n" '' | tr ' ' 'é' | head -c "$n")$'\x7f'
		printf '{"%s":"%s"}\n' "$s" "$s" | tee -a "$want" >> "$docs"
	done
	csa-unit json < "$docs" > "$BATS_TEST_TMPDIR/out"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq "$(wc -l < "$docs")" ]
	LC_ALL=C awk 'NR == FNR { w[FNR] = $0; next }
		w[FNR] == "BAD" && !/^error:.*invalid JSON at byte/ { print "accepted line " FNR ": " $0; f = 1 }
		w[FNR] != "BAD" && $0 != w[FNR] { print "rejected line " FNR ": " $0; f = 1 }
		END { exit f }' "$want" "$BATS_TEST_TMPDIR/out"
	# The byte offset named is the control byte's.
	run csa-unit json < <(printf '{"abcdefghij":"0123456789\001"}\n')
	assert_output "error: invalid JSON at byte 26"
}

# mutated_lines FILE: real USGS lines, then thousands of them with bytes
# deleted, inserted, replaced or repeated, and lines at the edges of what
# simdjson and json_parse read alike.
mutated_lines() {
	"$PY" - "$(usgs_events)" > "$1" <<'PY'
import random, sys
real = [l.rstrip("\n").encode() for l in open(sys.argv[1])]
rnd = random.Random(8259)
palette = [b" ", b"\t", b'"', b"\\", b",", b":", b"{", b"}", b"[", b"]", b"0", b"-",
           b".", b"e", b"\x01", b"\x7f", b"\xc3", b"\xa9", b"\xff", b"u", b"n", b"t"]
out = list(real)
for _ in range(20000):
    l = bytearray(rnd.choice(real))
    for _ in range(rnd.choice([1, 1, 1, 2, 3])):
        i = rnd.randrange(len(l))
        op = rnd.randrange(4)
        if op == 0:
            del l[i]
        elif op == 1:
            l[i:i] = rnd.choice(palette)
        elif op == 2:
            l[i:i + 1] = rnd.choice(palette)
        else:
            l[i:i] = l[i:i + rnd.randrange(1, 8)]
    out.append(bytes(l))
# What simdjson refuses and json_parse takes: not UTF-8, deep, lone surrogates.
out.append(b'{"event_id":"ak\xff1","x":1}')
out.append(b'{"event_id":"a","deep":' + b"[" * 300 + b"]" * 300 + b"}")
out.append(b'{"event_id":"a","s":"\\ud800"}')
out.append(b'{"event_id":"a","big":1e400}')
out.append(b'{ "event_id" : "spaced" }')
# Values simdjson must read as strtod does, or leave to json_parse.
for m in [b"-0", b"-0.0", b"0e5", b"18446744073709551615", b"18446744073709551616",
          b"-9223372036854775808", b"9007199254740993", b"123456789012345678901234567890",
          b"1.7976931348623157e308", b"4.9e-324", b"2.2250738585072011e-308", b"1E+2",
          b"0.1000000000000000055511151231257827", b"-1.5e-7", b"[1, 2]", b'{"b": {"c": [true]}}',
          b"true", b"null", b'"caf\\u00e9"',
          # On-Demand's get_double counts the zeros after "0." against the
          # 19 digits that fit, and read this as 5.4e-29 (found by fuzz-json).
          b"0.00000000050000303500003777777777777777777777777",
          b"-0.000000000000000012345678901234567890123"]:
    out.append(b'{"event_id":"m","magnitude":' + m + b',"a":{"b":' + m + b'}}')
    # Without the object at "a" (a path wanted whole), read On-Demand.
    out.append(b'{"event_id":"m","magnitude":' + m + b',"c":' + m + b'}')
out.append(b'{"magnitude":1,"magnitude":2,"a":{"b":3,"b":4}}')
out.append(b'{"a":7,"magnitude":{"x":1}}')
out.append(b'{"a":{"b":{"c":1}},"time":[{"t":1}]}')
sys.stdout.buffer.write(b"\n".join(l.replace(b"\n", b" ") for l in out) + b"\n")
PY
}

@test "jsonfast: simdjson never accepts a line, finds a key or a value, that json_parse would not" {
	# Real USGS lines, then thousands of them with bytes deleted, inserted,
	# replaced or repeated: every line simdjson passes must pass json_parse
	# with the same root type and compactness, and every path must have the
	# same value (numbers to the bit, strings such as the event_id that
	# csa-eh-send keys by) on simdjson's document as on jsmn's.
	mutated_lines "$BATS_TEST_TMPDIR/lines"
	run csa-unit fast event_id magnitude time depth_km tsunami_flag alert_level place a.b a \
	    updated.x < "$BATS_TEST_TMPDIR/lines"
	assert_success
	assert_line --regexp '^20[0-9]{3} lines, [0-9]+ valid, [0-9]+ checked fast, [0-9]+ strings found fast, [0-9]+ loaded, [0-9]+ values compared, 0 disagree$'
	# The mutations reach both answers: many lines pass simdjson, many fail it.
	read -r n _ valid _ fast _ _ keys _ _ _ loaded _ values _ <<<"${lines[-1]//,/}"
	(( fast > 1000 && keys > 1000 && n - valid > 5000 && valid > fast ))
	(( loaded > 1000 && values == 10 * loaded ))
}

@test "jsonfast: compactness told from spaces and quotes agrees with json_parse's" {
	# Without a backslash, a space inside a string has an odd number of
	# quotes before it; the other lines go to minify.  Each line is
	# checked by simdjson and by json_parse, and their answers compared.
	run csa-unit fast a <<'IN'
{"a":"x y"}
{"a": "x"}
{"a":"x y", "b":1}
{"a":"x\"y z"}
{"a":"x\"y", "b":1}
{"a":	1}
 {"a":1}
{"a":"x y z","b":"p q"}
{"a":"x y" ,"b":1}
["a b",1 ]
{"a":"\\"," b":2}
{"a":"x y"} 
IN
	assert_success
	assert_line --regexp '^12 lines, 12 valid, 12 checked fast, .*, 0 disagree$'
}

@test "jsonfast: compactness and a quoted key, by the vector code and the portable loops, agree with json_parse and memmem" {
	# json_fast_check_key tells them in one pass of 64 bytes at a time
	# with the machine's best vectors (AVX2, else SSE2), else with memchr:
	# every way (the vector code also on lines read where they are, whose
	# padding is the next lines) against json_parse's compactness and a
	# search for "_eh".  Spaces, quotes, backslashes, tabs and "_eh" land at every
	# offset around the 64-byte blocks; then the mutated USGS lines.
	"$PY" - > "$BATS_TEST_TMPDIR/lines" <<'PY'
import random
rnd = random.Random(2611)
out = []
for n in range(0, 200):
    pad = "a" * n
    out.append('{"%s":"x y","b":1}' % pad)           # spaces inside strings only
    out.append('{"%s":1, "b":2}' % pad)              # a space between tokens at n + 6
    out.append('{"%s":"q","_eh":1}' % pad)           # the key at n + 11
    out.append('{"%s":"\\"_eh\\" x"}' % pad)         # escaped: not "_eh" as written
    out.append('{"%s":"_eh"}' % pad)                 # as a value
    out.append('{"%s":"x","_e":"h"}' % pad)          # "_ without the rest
    out.append('{"%s":"p\\\\","c":"r s"}' % pad)     # a backslash, then a space in a string
    out.append('{"%s":1,\t"b":2}' % pad)             # a tab between tokens
    out.append('{"%s":"%s"}' % (pad, " " * (n % 70)))
    out.append('["%s",' % pad + '"' + "z" * (n % 67) + '"' + ' ]')
pieces = ['"a b"', '"_eh"', '"x\\"y"', '"\\\\"', '1', '-0.5', 'null', 'true', '"é "', '"_"',
          '[]', '{}', '"  "']
keys = ['_eh', '_e', 'a_eh', 'k', 'k l', 'ä', '_eh ']
for _ in range(6000):
    members = []
    for _ in range(rnd.randrange(1, 12)):
        members.append('"%s"%s%s' % (rnd.choice(keys), rnd.choice([":", ":", ":", ": "]),
                                     rnd.choice(pieces)))
    sep = rnd.choice([",", ",", ",", ",", ", "])
    doc = "{" + sep.join(members) + "}"
    if rnd.random() < 0.05:
        doc = " " + doc
    out.append(doc)
print("\n".join(out))
PY
	mutated_lines "$BATS_TEST_TMPDIR/mutated"
	cat "$BATS_TEST_TMPDIR/mutated" >> "$BATS_TEST_TMPDIR/lines"
	run csa-unit compact _eh < "$BATS_TEST_TMPDIR/lines"
	assert_success
	assert_line --regexp '^[0-9]+ lines, [0-9]+ valid, [0-9]+ compact, [0-9]+ with the key, [0-9]+ [0-9]+ [0-9]+ [0-9]+ checked fast \(vectors [0-2] [0-2] [0-2] 0\), 0 disagree$'
	# Both answers of both questions are met many times, by every way.
	read -r n _ valid _ compact _ key _ _ _ f0 f1 f2 f3 _ _ _ v0 v1 v2 _ <<<"${lines[-1]//[,()]/}"
	(( compact > 3000 && valid - compact > 3000 && key > 2000 && valid - key > 5000 ))
	(( f0 == f1 && f1 == f2 && f2 == f3 && f0 > 12000 ))
	# On x86-64, SSE2 at least; AVX2 where /proc/cpuinfo has it.
	if [ "$(uname -m)" = x86_64 ]; then
		(( v2 == 1 ))
		if grep -qw avx2 /proc/cpuinfo; then (( v0 == 2 && v1 == 2 )); else (( v0 == 1 )); fi
	fi
}

@test "jsonfast On-Demand: the paths named are read alike, and a line json_parse refuses is taken only unread" {
	mutated_lines "$BATS_TEST_TMPDIR/lines"
	# The last path is not named: it is learned when first asked for.
	run csa-unit fast --lazy event_id magnitude time a.b a updated.x region \
	    < "$BATS_TEST_TMPDIR/lines"
	assert_success
	assert_line --regexp '^20[0-9]{3} lines, [0-9]+ valid, [0-9]+ checked fast, [0-9]+ strings found fast, [0-9]+ loaded, [0-9]+ values compared, 0 disagree, [0-9]+ taken unread$'
	read -r n _ valid _ fast _ _ keys _ _ _ loaded _ values _ _ _ _ unread _ <<<"${lines[-1]//,/}"
	(( keys > 1000 && loaded > 1000 && values == 8 * (loaded - unread) ))
	# Mutations inside members no path reaches: some taken, far from all.
	(( unread > 100 && unread < n - valid ))
}

@test "jsonfast On-Demand, the rest checked: a line is taken only when json_parse takes it, with the same values" {
	mutated_lines "$BATS_TEST_TMPDIR/lines"
	# Mutations far from the paths named must be found by the walk
	# through the other members, as the DOM finds them.
	run csa-unit fast --checked event_id magnitude time a.b a updated.x region \
	    < "$BATS_TEST_TMPDIR/lines"
	assert_success
	assert_line --regexp '^20[0-9]{3} lines, [0-9]+ valid, [0-9]+ checked fast, [0-9]+ strings found fast, [0-9]+ loaded, [0-9]+ values compared, 0 disagree, 0 taken unread$'
	read -r n _ valid _ fast _ _ keys _ _ _ loaded _ values _ <<<"${lines[-1]//,/}"
	(( keys > 1000 && loaded > 1000 && values == 8 * loaded ))
	# At least as many lines are loaded as the DOM loads whole: fewer
	# would mean lines sent the slow way for nothing.  More: lines with a
	# backslash or an integer -0, which the DOM leaves to json_parse, and
	# an integer of 2^64 or over, which json_parse takes and the DOM does
	# not.
	whole=$(csa-unit fast event_id < "$BATS_TEST_TMPDIR/lines" | sed -n 's/.* \([0-9]*\) loaded.*/\1/p')
	extra=$(grep -c -E -e '\\' -e '-0([^0-9.eE]|$)' "$BATS_TEST_TMPDIR/lines")
	(( loaded > whole && loaded < whole + extra + 10 ))
}

@test "jsonfast On-Demand, the rest checked: escapes in values are checked and read, not left to jsmn" {
	# Lines 1-4 are read On-Demand (escapes in values, an integer -0, a
	# surrogate pair); 5-7 are refused, by simdjson's unescaping as by
	# json_parse; 8 and 9, escaped keys, go to json_parse, which refuses
	# 10 (a bad escape in a key of a value no path reaches, found by
	# fuzz-json); 11 and 12 hold lone surrogates, which json_parse takes
	# and simdjson refuses.
	run csa-unit fast --checked event_id s magnitude <<'IN'
{"event_id":"caf\u00e9","magnitude":-0,"s":"a\"b\\c\/d\b\f\n\r\t"}
{"event_id":"x","magnitude":1,"other":"\u00e9\u20ac","s":"plain"}
{"event_id":"y","magnitude":-0,"nested":{"t":"tab\there","n":-0}}
{"event_id":"x","s":"\ud83d\ude00"}
{"event_id":"x","other":"bad \x escape","s":"plain"}
{"event_id":"x","other":"\u00zz","s":"plain"}
{"event_id":"x","other":["\u12"],"s":"plain"}
{"k\u0065y":1,"event_id":"x"}
{"event_id":"x","o":{"k\u0065y":1},"s":"plain"}
{"event_id":"x","o":{"k\x":1},"s":"plain"}
{"event_id":"a","s":"\ud800"}
{"event_id":"a","s":"\ud800\u0041"}
IN
	assert_success
	assert_line '12 lines, 8 valid, 6 checked fast, 4 strings found fast, 4 loaded, 16 values compared, 0 disagree, 0 taken unread'
}

@test "json: strings are unescaped to UTF-8, surrogate pairs joined" {
	run csa-unit get s <<'IN'
{"s":"caf\u00e9"}
{"s":"\ud83d\ude00"}
{"s":"lone \ud800 surrogate"}
{"s":"tab\there"}
{"s":""}
{"s":"","t":"after"}
{"s":"plain"}
IN
	assert_success
	assert_line --index 0 "café"
	assert_line --index 1 "😀"
	assert_line --index 2 "lone � surrogate"
	assert_line --index 3 "$(printf 'tab\there')"
	assert_line --index 4 "plain"
	# The empty string is a terminated empty string, not an unended buffer.
	[[ "$output" == *$'\there\n\n\nplain' ]]
}

@test "json: dotted paths and typed getters" {
	run csa-unit get a.b.c <<'IN'
{"a":{"b":{"c":1562383193040}}}
{"a":{"b":{"c":2.31}}}
{"a":{"b":{"c":null}}}
{"a":{"b":{}}}
{"a":{"b":{"c":[1]}}}
{"x":{"b":{"c":1}},"a":{"b":{"d":1,"c":true}}}
IN
	assert_line --index 0 "int 1562383193040"
	assert_line --index 1 "number 2.3100000000000001"
	assert_line --index 2 "null"
	assert_line --index 3 "none"
	assert_line --index 4 "array"
	assert_line --index 5 "bool"
}

@test "json: numbers print in the shortest form that reads back exactly" {
	run csa-unit num 2.31 0.1 0.30000000000000004 5 -3 1562383193040 1e300 -2.5e-8 0.000001 123456789012345678
	assert_success
	assert_output "$(printf '%s\n' 2.31 0.1 0.30000000000000004 5 -3 1562383193040 1e+300 -2.5e-08 1e-06 1.2345678901234568e+17)"
	# Each printed form reads back to the same double, checked by python.
	for x in 2.31 0.1 1e300 -2.5e-8 3.141592653589793; do
		got=$(csa-unit num "$x")
		"$PY" -c "import sys; assert float('$got') == float('$x'), ('$got', '$x')"
	done
}

@test "json: every number is the shortest that reads back, as python finds it" {
	# 250,000 doubles of five kinds (any bits, averages, powers of two and
	# their neighbours, long decimals, integers about 2^53), each given in
	# C's exact hex form and as we write it.  Python (its own shortest
	# repr) checks: it reads back to the same double, its digits are
	# repr's digits, integers under 9e15 have no exponent nor point, and
	# the exponent form is used as printf's %g would with 15 places or
	# more.
	csa-unit numgen 50000 > "$BATS_TEST_TMPDIR/nums"
	run "$PY" - "$BATS_TEST_TMPDIR/nums" <<'PY'
import re, sys
def digits(t):
    m = re.fullmatch(r"-?(\d+)(?:\.(\d+))?(?:e([-+]\d+))?", t)
    assert m, t
    return (m.group(1) + (m.group(2) or "")).lstrip("0").rstrip("0") or "0"
n = bad = 0
for line in open(sys.argv[1]):
    h, ours = line.split()
    x = float.fromhex(h)
    n += 1
    ok = float(ours) == x and digits(ours) == digits(repr(x).replace("e", "e").lower())
    if x == int(x) and abs(x) < 9e15:
        ok = ok and "e" not in ours and "." not in ours
    else:
        k = len(digits(ours))
        e = int(f"{x:.{k - 1}e}".split("e")[1])
        ok = ok and (("e" in ours) == (e < -4 or e >= max(15, k)))
    if not ok:
        bad += 1
        if bad <= 10:
            print("wrong:", h, ours, repr(x))
print(f"{n} numbers, {bad} wrong")
PY
	assert_success
	assert_output --regexp '^2[0-9]{5} numbers, 0 wrong$'
}

@test "time: RFC 3339 and ISO 8601 forms, with offsets and fractions" {
	run csa-unit time 2026-04-22T14:23:05.123Z "2026-04-22 14:23:05+02:00" \
		2026-04-22T14:23Z 20260422T142305Z 2026-04-22 2026-04-22T14:23:05.123456789Z \
		2026-04-22T14:23:05-0530 2026-04-22T14:23:05,5Z 2026-04-22t14:23:05z
	assert_success
	assert_line --index 0 "1776867785123 2026-04-22T14:23:05.123Z"
	assert_line --index 1 "1776860585000 2026-04-22T12:23:05.000Z"
	assert_line --index 2 "1776867780000 2026-04-22T14:23:00.000Z"
	assert_line --index 3 "1776867785000 2026-04-22T14:23:05.000Z"
	assert_line --index 4 "1776816000000 2026-04-22T00:00:00.000Z"
	assert_line --index 5 "1776867785123 2026-04-22T14:23:05.123Z"
	assert_line --index 6 "1776887585000 2026-04-22T19:53:05.000Z"
	assert_line --index 7 "1776867785500 2026-04-22T14:23:05.500Z"
	assert_line --index 8 "1776867785000 2026-04-22T14:23:05.000Z"
}

@test "time: the forms agree with GNU date on many instants" {
	for s in 1970-01-01T00:00:00Z 1969-07-20T20:17:40Z 1900-03-01T00:00:00Z \
		2000-02-29T12:00:00Z 2024-12-31T23:59:59Z 1601-01-01T00:00:00Z 2100-03-01T00:00:00Z; do
		want=$(( $(date -u -d "$s" +%s) * 1000 ))
		got=$(csa-unit time "$s" | cut -d' ' -f1)
		[ "$got" = "$want" ] || { echo "$s: $got != $want"; return 1; }
	done
}

@test "time: leap years and impossible dates" {
	run csa-unit time 2024-02-29 2000-02-29 2023-02-29 1900-02-29 2026-13-01 2026-04-31 2026-04-22T25:00Z
	assert_line --index 0 --partial "2024-02-29T00:00:00.000Z"
	assert_line --index 1 --partial "2000-02-29T00:00:00.000Z"
	assert_line --index 2 --partial "error: unparsable time '2023-02-29'"
	assert_line --index 3 --partial "error"
	assert_line --index 4 --partial "error"
	assert_line --index 5 --partial "error"
	assert_line --index 6 --partial "error"
}

@test "time: negative epochs and the epoch-number units" {
	run csa-unit time 1969-12-31T23:59:59.999Z 1960-01-01T00:00:00Z
	assert_line --index 0 "-1 1969-12-31T23:59:59.999Z"
	assert_line --index 1 "-315619200000 1960-01-01T00:00:00.000Z"
	run csa-unit epoch ms 1562383193040 -1 0
	assert_line --index 0 "1562383193040 2019-07-06T03:19:53.040Z"
	assert_line --index 1 "-1 1969-12-31T23:59:59.999Z"
	assert_line --index 2 "0 1970-01-01T00:00:00.000Z"
	run csa-unit epoch s 1562383193.04 -86400
	assert_line --index 0 "1562383193040 2019-07-06T03:19:53.040Z"
	assert_line --index 1 "-86400000 1969-12-31T00:00:00.000Z"
	run csa-unit epoch auto 1562383193 1562383193040
	assert_line --index 0 "1562383193000 2019-07-06T03:19:53.000Z"
	assert_line --index 1 "1562383193040 2019-07-06T03:19:53.040Z"
	run csa-unit time 1562383193040
	assert_line --index 0 "1562383193040 2019-07-06T03:19:53.040Z"
}

@test "time: an epoch number below 1e11 is seconds, from 1e11 on milliseconds" {
	# The edge on both sides, as numbers and as digit strings; python computes the instants.
	run csa-unit epoch auto 99999999999 100000000000 -99999999999.5 -100000000000
	want=$("$PY" -c '
from datetime import datetime, timezone, timedelta
e = datetime(1970, 1, 1, tzinfo=timezone.utc)
for ms in (99999999999 * 1000, 100000000000):
    print(ms, (e + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))')
	[ "$(printf '%s\n' "$output" | sed -n 1,2p)" = "$want" ]
	# Seconds that far back are before the earliest time; milliseconds are not.
	assert_line --index 2 --partial "error"
	assert_line --index 3 "-100000000000 1966-10-31T14:13:20.000Z"
	run csa-unit time 99999999999 100000000000
	[ "$output" = "$want" ]
}

@test "time: Event Hubs Capture EnqueuedTimeUtc" {
	run csa-unit time "12/9/2022 5:10:16 PM" "12/9/2022 12:00:01 AM" "12/9/2022 12:30:00 PM" \
		"1/31/2017 9:05:00 am" "7/4/2017 17:00:00" "2/30/2022 1:00:00 PM" "12/9/2022 13:00:00 PM" \
		"12/9/2022 13:00:00 AM" "12/9/2022 0:30:00 AM"
	assert_line --index 0 "1670605816000 2022-12-09T17:10:16.000Z"
	assert_line --index 1 "1670544001000 2022-12-09T00:00:01.000Z"
	assert_line --index 2 "1670589000000 2022-12-09T12:30:00.000Z"
	assert_line --index 3 "1485853500000 2017-01-31T09:05:00.000Z"
	assert_line --index 4 "1499187600000 2017-07-04T17:00:00.000Z"
	assert_line --index 5 --partial "error"
	assert_line --index 6 --partial "error"
	# A 12-hour clock has no hour 13 nor 0, AM or PM.
	assert_line --index 7 --partial "error"
	assert_line --index 8 --partial "error"
}

@test "times relative to now: now, today, yesterday, -D; a negative epoch stays an epoch" {
	# now = 2026-04-22T14:23:05.123Z; python computes the same instants.
	now=1776867785123
	run -0 csa-unit when "$now" now today yesterday -2h -1h30m -7d -0s -1000 2026-04-22T00:00:00Z
	expected=$(python3 - "$now" <<-'PY'
	import sys, datetime as dt
	now = int(sys.argv[1])
	day = 86400000
	mid = now // day * day
	utc = dt.timezone.utc
	def show(ms): return "%d %s" % (ms, dt.datetime.fromtimestamp(ms / 1000, utc).strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (ms % 1000))
	for ms in [now, mid, mid - day, now - 2*3600000, now - 5400000, now - 7*day, now, -1000000,
	           int(dt.datetime(2026, 4, 22, tzinfo=utc).timestamp() * 1000)]:
	    print(show(ms))
	PY
	)
	assert_output "$expected"
	run -0 csa-unit when "$now" -2x tomorrow - --2h
	for i in 0 1 2 3; do
		assert_line --index "$i" --partial "error:"
	done
}

@test "durations: units, compounds, signs, and bad values" {
	run csa-unit duration 500ms 30s 5m 1h 7d 1h30m 90 -6h 1.5s 2w
	assert_output "$(printf '%s\n' 500 30000 300000 3600000 604800000 5400000 90000 -21600000 1500 1209600000)"
	run csa-unit duration "" 5x m 5m3 -- 1e3s
	for i in 0 1 2 3 4 5; do
		assert_line --index "$i" --partial "error: invalid duration"
	done
	# At most 9e15 ms, each part and the sum (fuzz-time found a sum of
	# parts that was more, and its total written in ms then refused).
	run csa-unit duration 9000000000000000ms 104166666d16h 55555557d55555557d7d7d 9000000000000001ms \
		104166666d16h1ms
	assert_line --index 0 9000000000000000
	assert_line --index 1 9000000000000000
	for i in 2 3 4; do
		assert_line --index "$i" --partial "error: invalid duration"
	done
}

@test "expr: plain paths are native, anything else goes through libjq" {
	run csa-unit expr region <<<'{"region":"us-west"}'
	assert_line --index 0 "path region"
	assert_line --index 1 '"us-west" true'
	run csa-unit expr ._eh.enqueued_time <<<'{"_eh":{"enqueued_time":"2026-04-22T14:23:05.123Z"}}'
	assert_line --index 0 "path enqueued_time"
	assert_line --index 1 '"2026-04-22T14:23:05.123Z" true'
	run csa-unit expr '.place | split(", ") | last' <<<'{"place":"10km NE of Ridgecrest, CA"}'
	assert_line --index 0 --partial "jq "
	assert_line --index 1 '"CA" true'
	run csa-unit expr '.magnitude >= 6 and .tsunami_flag == 1' <<'IN'
{"magnitude":6.1,"tsunami_flag":1}
{"magnitude":5.9,"tsunami_flag":1}
IN
	assert_line --index 1 "true true"
	assert_line --index 2 "false false"
}

@test "expr: missing paths are null, escaped strings are unescaped, objects are JSON" {
	run csa-unit expr a.b <<'IN'
{"a":{}}
{"a":{"b":"caf\u00e9"}}
{"a":{"b":{"x":[1, 2]}}}
{"a":{"b":false}}
{"a":{"b":0}}
IN
	assert_line --index 1 "null false"
	assert_line --index 2 '"café" true'
	assert_line --index 3 '{"x":[1,2]} true'
	assert_line --index 4 "false false"
	assert_line --index 5 "0 true"
}

@test "expr: rows of another layout are read right after the lookup learned one" {
	# A path remembers where the last row had its key.  The same place in
	# the next row may hold an array element or a nested key of that name,
	# or nothing: each must still give the row's own member.
	run csa-unit expr a <<'IN'
{"x":"a","a":1}
{"q":["a"],"a":2}
{"q":{"a":9},"a":3}
{"a":4}
{"b":{"a":9}}
{"x":"a","a":5}
{"q":"a"}
{"x":1,"y":2,"z":3,"a":6}
IN
	assert_success
	assert_output "$(printf '%s\n' 'path a' '1 true' '2 true' '3 true' '4 true' 'null false' '5 true' 'null false' '6 true')"
	run csa-unit expr o.a <<'IN'
{"o":{"a":1}}
{"p":0,"o":{"b":{"a":9},"a":2}}
{"o":{"x":"a"}}
{"o":{"a":3}}
IN
	assert_output "$(printf '%s\n' 'path a' '1 true' '2 true' 'null false' '3 true')"
	# Of duplicate keys the first counts, even where the last row had the key
	# at the place of the second.
	run csa-unit expr a <<'IN'
{"x":0,"a":1}
{"a":2,"a":3}
IN
	assert_output "$(printf '%s\n' 'path a' '1 true' '2 true')"
}

@test "expr: a bad program is an error with libjq's message; runtime errors are data errors" {
	run csa-unit expr '.a |||'
	assert_failure 2
	assert_output --partial "invalid expression '.a |||'"
	assert_output --partial "syntax error"
	run csa-unit expr '.a + 1' <<<'{"a":"text"}'
	assert_line --index 1 --partial "error: expression '.a + 1': string"
}

@test "ndjson: CRLF, blank lines, a last line without newline, line numbers" {
	run csa-unit lines < <(printf '{"a":1}\r\n\n   \n{"b":2}\n{"c":3}')
	assert_success
	assert_output "$(printf '%s\n' '1:7:{"a":1}' '4:7:{"b":2}' '5:7:{"c":3}')"
}

@test "ndjson: a line over the limit is an error for that line only" {
	long=$(head -c 200 /dev/zero | tr '\0' x)
	run csa-unit lines 100 < <(printf '{"a":1}\n%s\n{"b":2}\n%s' "$long" "$long")
	assert_success
	assert_line --index 0 '1:7:{"a":1}'
	assert_line --index 1 "error: <stdin>:2: line longer than 100 bytes"
	assert_line --index 2 '3:7:{"b":2}'
	assert_line --index 3 "error: <stdin>:4: line longer than 100 bytes"
	[ "${#lines[@]}" -eq 4 ]
}

@test "ndjson: long inputs cross buffer boundaries without losing lines" {
	"$PY" -c '
import json
for i in range(200000):
    print(json.dumps({"i": i, "pad": "y" * (i % 97)}))' > "$BATS_TEST_TMPDIR/in"
	run bash -c "csa-unit lines < '$BATS_TEST_TMPDIR/in' | wc -l"
	assert_output 200000
	run bash -c "csa-unit lines < '$BATS_TEST_TMPDIR/in' | tail -n 1 | cut -d: -f1"
	assert_output 200000
}

@test "ndjson: asking whether a line is ready changes nothing read, as lines arrive in pieces" {
	# Writes that end at a line's end, then a pause: the buffer empties
	# and starts again at its beginning between them.
	run bash -c "{ printf 'a1\n'; sleep 0.2; printf 'bc2\n'; sleep 0.2; printf 'x\n\ndef\n'; sleep 0.2;
		printf 'gh'; sleep 0.2; printf 'ij\n'; } | csa-unit lines-ready"
	assert_success
	assert_output "$(printf '%s\n' 1:2:a1 2:3:bc2 3:1:x 5:3:def 6:4:ghij)"
	long=$(head -c 200 /dev/zero | tr '\0' x)
	run csa-unit lines-ready 100 < <(printf '{"a":1}\n%s\n{"b":2}\n%s' "$long" "$long")
	assert_line --index 1 "error: <stdin>:2: line longer than 100 bytes"
	assert_line --index 2 '3:7:{"b":2}'
	"$PY" -c '
import json
for i in range(100000):
    print(json.dumps({"i": i, "pad": "y" * (i % 97)}))' > "$BATS_TEST_TMPDIR/in"
	cmp <(csa-unit lines < "$BATS_TEST_TMPDIR/in") <(csa-unit lines-ready < "$BATS_TEST_TMPDIR/in")
}

@test "agg: two states merged equal one state over all the values, stddev included" {
	"$PY" -c '
import json, random
random.seed(3)
for i in range(1000):
    v = None if i % 17 == 0 else random.uniform(-50, 1e6 if i % 5 == 0 else 50)
    print(json.dumps({"v": v}))' > "$BATS_TEST_TMPDIR/in"
	specs='n=count,s=sum(v),a=avg(v),lo=min(v),hi=max(v),sd=stddev(v),c=count_if(v > 10)'
	for split in 0 1 333 999 1000; do
		run csa-unit merge "$specs" "$split" < "$BATS_TEST_TMPDIR/in"
		assert_success
		# Same counts, extremes and sums; stddev and means to 1e-12 relative.
		printf '%s\n' "$output" | jq -e -s '.[0] as $w | .[1] as $m
			| ($w.n == $m.n and $w.c == $m.c and $w.lo == $m.lo and $w.hi == $m.hi)
			and ([$w.s, $w.a, $w.sd] | to_entries | all(. as $e
				| (($e.value - ([$m.s, $m.a, $m.sd][$e.key])) | fabs) <= 1e-12 * ($e.value | fabs)))' >/dev/null \
			|| { echo "split $split: $output"; return 1; }
	done
	# And the numbers are what python computes.
	run csa-unit merge 'sd=stddev(v)' 500 < "$BATS_TEST_TMPDIR/in"
	want=$("$PY" -c '
import json, statistics, sys
vals = [json.loads(l)["v"] for l in open(sys.argv[1])]
print(statistics.stdev([v for v in vals if v is not None]))' "$BATS_TEST_TMPDIR/in")
	printf '%s\n' "${lines[1]}" | jq -e --argjson w "$want" '((.sd - $w) | fabs) <= 1e-9 * $w' >/dev/null
}
