#!/usr/bin/env bats
# csa-eh-send and csa-eh-recv against a Kafka cluster: librdkafka's mock
# cluster on 127.0.0.1 (tests/helpers/csa-kafka-mock.c), with kcat as the
# independent client on the other side.

load helpers/common

# The mock cluster of librdkafka 2.0 makes a group that a member left wait
# out that member's session timeout before the next join; short sessions
# keep the tests that rejoin a group quick.  Real brokers do not need this.
FAST_GROUP="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"

setup_file() {
	start_kafka_mock "$BATS_FILE_TMPDIR" quakes:4 fromkcat:4 resume:4 latest:4 \
		bytime:4 meta:3 ehtopic:4 order:32 trickle:4 stop:4
	echo "$MOCK_PID" > "$BATS_FILE_TMPDIR/mock.pid"
}

teardown_file() {
	kill "$(cat "$BATS_FILE_TMPDIR/mock.pid")" 2>/dev/null || true
}

setup() {
	BROKERS=$(cat "$BATS_FILE_TMPDIR/brokers")
	HUB="kafka://$BROKERS"
}

teardown() {
	kill_bg
}

@test "sent to Kafka, kcat reads the same bodies and keys, in the partitions the embedded hub picks" {
	ev=$(usgs_events)
	run --separate-stderr csa-eh-send -H "$HUB" -n quakes -k event_id "$ev"
	assert_success
	kcat -b "$BROKERS" -C -t quakes -e -q -f '%p\t%k\t%s\n' | sort > "$BATS_TEST_TMPDIR/kafka"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/kafka")" -eq 146 ]
	# Bodies and keys are the input's, byte for byte ...
	cut -f2- "$BATS_TEST_TMPDIR/kafka" | sort > "$BATS_TEST_TMPDIR/got"
	paste <(jq -r .event_id "$ev") "$ev" | sort > "$BATS_TEST_TMPDIR/want"
	diff "$BATS_TEST_TMPDIR/want" "$BATS_TEST_TMPDIR/got"
	# ... and the same stream sent to the embedded hub lands in the same partitions.
	csa-eh-send -H "$BATS_TEST_TMPDIR/hub" -n quakes -k event_id "$ev"
	csa-eh-recv -H "$BATS_TEST_TMPDIR/hub" -n quakes -e -m |
		jq -r '"\(._eh.partition)\t\(._eh.partition_key)"' | sort > "$BATS_TEST_TMPDIR/local"
	cut -f1,2 "$BATS_TEST_TMPDIR/kafka" | sort | diff "$BATS_TEST_TMPDIR/local" -
	# Every partition got some: the comparison was not of one partition.
	[ "$(cut -f1 "$BATS_TEST_TMPDIR/local" | sort -u | wc -l)" -eq 4 ]
}

@test "kcat produces, csa-eh-recv consumes in a group: identical bodies, keys, partitions, offsets, times" {
	ev=$(usgs_events)
	paste <(jq -r .event_id "$ev") "$ev" |
		kcat -b "$BROKERS" -P -t fromkcat -K $'\t' -X partitioner=murmur2_random
	kcat -b "$BROKERS" -C -t fromkcat -e -q -f '%p %o %T %k %s\n' | sort > "$BATS_TEST_TMPDIR/kcat"
	run --separate-stderr csa-eh-recv -H "$HUB" -n fromkcat -g readers -e -m
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	printf '%s\n' "${lines[@]}" | "$PY" -c '
import json, sys, datetime
for line in sys.stdin:
    eh = json.loads(line)["_eh"]
    t = datetime.datetime.strptime(eh["enqueued_time"], "%Y-%m-%dT%H:%M:%S.%fZ")
    ms = round(t.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000)
    assert eh["sequence_number"] == eh["offset"]
    body = line[:line.rindex(",\"_eh\":")] + "}"
    print(eh["partition"], eh["offset"], ms, eh["partition_key"], body)
' | sort > "$BATS_TEST_TMPDIR/ours"
	diff "$BATS_TEST_TMPDIR/kcat" "$BATS_TEST_TMPDIR/ours"
}

@test "a group that stops and resumes loses nothing and repeats nothing; --list shows no lag" {
	ev=$(usgs_events)
	csa-eh-send -H "$HUB" -n resume -k event_id "$ev"
	csa-eh-recv --bare -H "$HUB" -n resume -g g $FAST_GROUP -c 50 > "$BATS_TEST_TMPDIR/1"
	csa-eh-recv --bare -H "$HUB" -n resume -g g $FAST_GROUP -c 50 > "$BATS_TEST_TMPDIR/2"
	csa-eh-recv --bare -H "$HUB" -n resume -g g $FAST_GROUP -e > "$BATS_TEST_TMPDIR/3"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/1")" -eq 50 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/2")" -eq 50 ]
	[ "$(wc -l < "$BATS_TEST_TMPDIR/3")" -eq 46 ]
	sort "$BATS_TEST_TMPDIR"/[123] | diff <(sort "$ev") -
	run --separate-stderr csa-eh-recv -H "$HUB" -n resume -g g -l
	assert_success
	[ "$(printf '%s\n' "${lines[@]}" | jq -s '[.[] | select(.group == "g") | .lag] | add')" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]}" | jq -s '[.[] | select(.group == "g")] | length')" -eq 4 ]
	[ "$(printf '%s\n' "${lines[@]}" | jq -s '[.[] | select(.first_seq) ] | map(.last_seq + 1) | add')" -eq 146 ]
}

@test "--from latest reads only what is sent after the member joined" {
	ev=$(usgs_events)
	head -n 100 "$ev" | csa-eh-send -H "$HUB" -n latest
	bg csa-eh-recv --bare -v -H "$HUB" -n latest -g new --from latest -c 5 \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	wait_for 20 'grep -q "assigned 4 partitions" "$BATS_TEST_TMPDIR/err"'
	# The end offsets are looked up as fetching starts: give it a moment.
	sleep 1
	tail -n 5 "$ev" | csa-eh-send -H "$HUB" -n latest
	wait_for 20 '! kill -0 $pid'
	sort "$BATS_TEST_TMPDIR/out" | diff <(tail -n 5 "$ev" | sort) -
}

@test "--from TIME reads what was enqueued since then, on a broker without offsets by time too" {
	ev=$(usgs_events)
	head -n 60 "$ev" | csa-eh-send -H "$HUB" -n bytime -k event_id
	sleep 1.1
	since=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
	sleep 0.1
	tail -n 86 "$ev" | csa-eh-send -H "$HUB" -n bytime -k event_id
	run --separate-stderr csa-eh-recv --bare -H "$HUB" -n bytime -g since --from "$since" -e
	assert_success
	printf '%s\n' "${lines[@]}" | sort | diff <(tail -n 86 "$ev" | sort) -
}

@test "-p reads one partition from the group's checkpoint; --meta names it" {
	ev=$(usgs_events)
	csa-eh-send -H "$HUB" -n meta -k event_id "$ev"
	want=$(kcat -b "$BROKERS" -C -t meta -p 2 -e -q -f '%s\n' | wc -l)
	[ "$want" -gt 0 ]
	run --separate-stderr csa-eh-recv -H "$HUB" -n meta -g one -p 2 -c 3 -m
	assert_success
	[ "${#lines[@]}" -eq 3 ]
	[ "$(printf '%s\n' "${lines[@]}" | jq -r ._eh.partition | sort -u)" = 2 ]
	run --separate-stderr csa-eh-recv -H "$HUB" -n meta -g one -p 2 -e -m
	assert_success
	[ "${#lines[@]}" -eq $((want - 3)) ]
	[ "$(printf '%s\n' "${lines[@]}" | jq -r ._eh.offset | head -n 1)" -eq 3 ]
	run --separate-stderr csa-eh-recv -H "$HUB" -n meta -p 7 -e
	assert_failure 2
	[[ "$stderr" == *"meta has 3 partitions"* ]]
}

@test "unreachable brokers: both commands try for --timeout, then exit 4 naming the address" {
	port=$(free_port)
	run --separate-stderr csa-eh-send -H "kafka://127.0.0.1:$port" -n quakes --timeout 2s <<< '{"a":1}'
	assert_failure 4
	[[ "$stderr" == *"cannot reach the Kafka brokers at 127.0.0.1:$port"* ]]
	run --separate-stderr csa-eh-recv -H "kafka://127.0.0.1:$port" -n quakes --timeout 2s -e
	assert_failure 4
	[[ "$stderr" == *"127.0.0.1:$port"* ]]
	[ -z "$output" ]
}

@test "brokers lost under a consumer: it exits 4 after --timeout instead of waiting for them" {
	start_kafka_mock "$BATS_TEST_TMPDIR" lost:2
	mock=$MOCK_PID b2=$MOCK_BROKERS
	usgs_events | xargs cat | head -n 20 | csa-eh-send -H "kafka://$b2" -n lost
	bg csa-eh-recv -H "kafka://$b2" -n lost -g g --timeout 3s \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	wait_for 20 '[ "$(wc -l < "$BATS_TEST_TMPDIR/out")" -eq 20 ]'
	kill "$mock"
	wait_for 40 '! kill -0 $pid'
	run wait $pid
	[ "$status" -eq 4 ]
	grep -q "lost the Kafka brokers at $b2" "$BATS_TEST_TMPDIR/err"
}

@test "-b and -l are librdkafka's batch settings, -X after them; keys that are not strings are their JSON" {
	# Lines go to librdkafka as they are read; it forms the batches.
	run --separate-stderr csa-eh-send -vv -H "$HUB" -n batches --batch-size 2 --linger-ms 20 -k n \
		-X linger.ms=7 <<< $'{"n":12}\n{"n":2.5}\n{"n":true}\n{"n":"s"}\n{"m":1}'
	assert_success
	[[ "$stderr" == *"batch.num.messages=2"* ]]
	# -v reports every -b events handed over: 2 and 4 of the 5.
	[ "$(grep -c 'handed [24] events to librdkafka' <<< "$stderr")" -eq 2 ]
	# -X comes later, and librdkafka keeps the last value set.
	[[ "$stderr" == *"linger.ms=20"*"linger.ms=7"* ]]
	[[ "$stderr" == *"5 events sent"* ]]
	kcat -b "$BROKERS" -C -t batches -e -q -f '%k|%s\n' | sort > "$BATS_TEST_TMPDIR/got"
	printf '%s\n' '12|{"n":12}' '2.5|{"n":2.5}' 'true|{"n":true}' 's|{"n":"s"}' '|{"m":1}' |
		sort | diff - "$BATS_TEST_TMPDIR/got"
}

@test "--kafka-option: librdkafka refuses a bad setting with exit 2; the embedded hub takes none" {
	run --separate-stderr csa-eh-send -H "$HUB" -n quakes -X no.such.setting=1 <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"no.such.setting"* ]]
	run --separate-stderr csa-eh-recv -H "$HUB" -n quakes -X fetch.wait.max.ms -e
	assert_failure 2
	[[ "$stderr" == *"not KEY=VALUE"* ]]
	run --separate-stderr csa-eh-send -H "$BATS_TEST_TMPDIR/hub" -X linger.ms=1 <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"embedded hub is not Kafka"* ]]
	# A secret's value is never shown, even with -vv.
	run --separate-stderr csa-eh-send -vv -H "$HUB" -n quakes -X sasl.password=hunter2 <<< '{}'
	assert_success
	[[ "$stderr" == *"sasl.password=(hidden)"* ]]
	[[ "$stderr" != *hunter2* ]]
}

@test "Event Hubs from the connection string: its settings, EntityPath as the topic, the key never shown" {
	key='S3cr3tKeyValue+abc/def='
	export EVENTHUB_CONNECTION_STRING="Endpoint=sb://127.0.0.1/;SharedAccessKeyName=sender;SharedAccessKey=$key;EntityPath=ehtopic"
	ev=$(usgs_events)
	# The mock speaks plain Kafka: the test swaps the endpoint and TLS, the
	# rest of the Event Hubs settings stay.
	run --separate-stderr csa-eh-send -vv -k event_id \
		-X bootstrap.servers="$BROKERS" -X security.protocol=plaintext "$ev"
	assert_success
	for want in "sasl.mechanisms=PLAIN" 'sasl.username=$ConnectionString' \
		"sasl.password=(hidden)" "metadata.max.age.ms=180000" "request.timeout.ms=60000" \
		"message.max.bytes=1046528" "compression.codec=none" "socket.keepalive.enable=true" \
		"partitioner=murmur2_random" "Event Hubs 127.0.0.1, event hub ehtopic"; do
		[[ "$stderr" == *"$want"* ]] || { echo "missing: $want"; return 1; }
	done
	[[ "$stderr" != *S3cr3t* ]]
	[ "$(kcat -b "$BROKERS" -C -t ehtopic -e -q | wc -l)" -eq 146 ]
	run --separate-stderr csa-eh-recv -vv -g ehreaders -e \
		-X bootstrap.servers="$BROKERS" -X security.protocol=plaintext
	assert_success
	[ "${#lines[@]}" -eq 146 ]
	[[ "$stderr" == *"session.timeout.ms=30000"* ]]
	[[ "$stderr" != *S3cr3t* ]]
	# A reader that stops at the end asks brokers to answer empty fetches
	# sooner; one that goes on (here: for one event) keeps librdkafka's wait.
	[[ "$stderr" == *"fetch.wait.max.ms=100"* ]]
	run --separate-stderr csa-eh-recv -vv -g ehreaders2 -c 1 \
		-X bootstrap.servers="$BROKERS" -X security.protocol=plaintext
	assert_success
	[ "${#lines[@]}" -eq 1 ]
	[[ "$stderr" != *"fetch.wait.max.ms"* ]]
	# The same string from a file, and a name that is not the EntityPath.
	unset EVENTHUB_CONNECTION_STRING
	printf 'Endpoint=sb://127.0.0.1/;SharedAccessKeyName=sender;SharedAccessKey=%s;EntityPath=ehtopic\n' \
		"$key" > "$BATS_TEST_TMPDIR/cs"
	run --separate-stderr csa-eh-send --connection-string-file "$BATS_TEST_TMPDIR/cs" -n other <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"for event hub 'ehtopic', not 'other'"* ]]
	[[ "$stderr" != *S3cr3t* ]]
}

@test "brokers lost under a sender: what was acknowledged stays, the rest is counted, exit 4" {
	start_kafka_mock "$BATS_TEST_TMPDIR" gone:2
	mock=$MOCK_PID b3=$MOCK_BROKERS
	mkfifo "$BATS_TEST_TMPDIR/in"
	bg csa-eh-send -H "kafka://$b3" -n gone --timeout 3s "$BATS_TEST_TMPDIR/in" \
		2> "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	exec 8> "$BATS_TEST_TMPDIR/in"
	usgs_events | xargs head -n 20 >&8
	wait_for 20 '[ "$(kcat -b "$b3" -C -t gone -e -q 2>/dev/null | wc -l)" -eq 20 ]'
	kill "$mock"
	usgs_events | xargs tail -n 5 >&8
	exec 8>&-
	wait_for 40 '! kill -0 $pid'
	run wait $pid
	[ "$status" -eq 4 ]
	grep -q "5 of 25 events not delivered" "$BATS_TEST_TMPDIR/err"
}

@test "bad lines amid the chunks handed over: named by file:line, the others delivered, in order per key" {
	# The real events ten times over, each copy numbered: 1,460 lines, so
	# that the lines go to librdkafka in several chunks of the sender's.
	for i in $(seq 10); do jq -c --argjson i "$i" '. + {copy: $i}' "$(usgs_events)"; done \
		> "$BATS_TEST_TMPDIR/good"
	{ head -n 700 "$BATS_TEST_TMPDIR/good"; echo '{"broken": '; sed -n 701,1200p "$BATS_TEST_TMPDIR/good"
	  echo '[1,2]'; sed -n '1201,$p' "$BATS_TEST_TMPDIR/good"; } > "$BATS_TEST_TMPDIR/in"
	run --separate-stderr csa-eh-send -H "$HUB" -n order -k event_id "$BATS_TEST_TMPDIR/in"
	assert_failure 1
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:701: invalid JSON"*", skipped"* ]]
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/in:1202: not a JSON object, skipped"* ]]
	kcat -b "$BROKERS" -C -t order -e -q -f '%p\t%o\t%k\t%s\n' > "$BATS_TEST_TMPDIR/got"
	# Every good line once, keyed by its event_id; each key's copies in one
	# partition, in the order they were read.
	"$PY" - "$BATS_TEST_TMPDIR/good" "$BATS_TEST_TMPDIR/got" <<-'PY'
		import json, sys
		good = open(sys.argv[1]).read().splitlines()
		got = [l.split('\t', 3) for l in open(sys.argv[2]).read().splitlines()]
		assert sorted(g[3] for g in got) == sorted(good), "bodies differ"
		want, seen = {}, {}
		for l in good:
		    want.setdefault(json.loads(l)['event_id'], []).append(l)
		for p, o, k, body in sorted(got, key=lambda g: (int(g[0]), int(g[1]))):
		    assert json.loads(body)['event_id'] == k, "key"
		    seen.setdefault(k, []).append((p, body))
		for k, v in seen.items():
		    assert len({p for p, _ in v}) == 1, "one partition per key"
		    assert [b for _, b in v] == want[k], "order of " + k
		assert len(want) == 146 and len(seen) == 146
	PY
}

@test "lines that trickle in are delivered at once, also when a bad line comes last; SIGTERM sends what was read" {
	ev=$(usgs_events)
	mkfifo "$BATS_TEST_TMPDIR/in"
	bg csa-eh-send -H "$HUB" -n trickle -k event_id "$BATS_TEST_TMPDIR/in" 2> "$BATS_TEST_TMPDIR/err"
	pid=$BG_PID
	exec 8> "$BATS_TEST_TMPDIR/in"
	# The bad line is read last, with the good one (in one write): the good
	# one may not wait for the next line to come.
	printf '%s\nnope\n' "$(head -n 1 "$ev")" >&8
	wait_for 20 '[ "$(kcat -b "$BROKERS" -C -t trickle -e -q 2>/dev/null | wc -l)" -eq 1 ]'
	kill -0 "$pid"
	grep -q "in:2: invalid JSON" "$BATS_TEST_TMPDIR/err"
	sed -n 2,40p "$ev" >&8
	wait_for 20 '[ "$(kcat -b "$BROKERS" -C -t trickle -e -q 2>/dev/null | wc -l)" -eq 40 ]'
	exec 8>&-
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 1 ]
	# SIGTERM: reading stops, what was read is delivered, exit 0.
	term_reader 30 "$ev" csa-eh-send -H "$HUB" -n stop -k event_id
	[ "$TERM_RC" -eq 0 ]
	kcat -b "$BROKERS" -C -t stop -e -q -f '%k\t%s\n' | sort > "$BATS_TEST_TMPDIR/got"
	paste <(jq -r .event_id "$ev" | head -n 30) <(head -n 30 "$ev") | sort |
		diff - "$BATS_TEST_TMPDIR/got"
}
