#!/usr/bin/env bats
# Event Hubs: connection strings, and csa-eh-send --transport https against
# a TLS server on 127.0.0.1 that checks what the REST API checks
# (tests/helpers/eh_rest_server.py).

load helpers/common

KEY='Zm9vYmFyU2VjcmV0S2V5MTIzNDU2Nzg5MDEyMzQ1Ng=='

setup_file() {
	make_test_ca "$BATS_FILE_TMPDIR/tls"
}

setup() {
	unset EVENTHUB_CONNECTION_STRING EVENTHUB_NAME CSA_HUB
	TLS="$BATS_FILE_TMPDIR/tls"
}

teardown() {
	kill_bg
}

# start_rest [ARGS...]: the server, with RECEIVED (what it accepted) and CS
# (a connection string for it, key name "sender").
start_rest() {
	RECEIVED="$BATS_TEST_TMPDIR/received.ndjson"
	rm -f "$BATS_TEST_TMPDIR/port" "$RECEIVED"
	bg "$PY" "$HELPERS/eh_rest_server.py" --cert "$TLS/srv.pem" --key "$TLS/srv.key" \
		--port-file "$BATS_TEST_TMPDIR/port" --key-name sender --sas-key "$KEY" \
		--out "$RECEIVED" "$@" 3>&- 2> "$BATS_TEST_TMPDIR/server.err"
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/port" ]'
	CS="Endpoint=sb://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/;SharedAccessKeyName=sender;SharedAccessKey=$KEY"
}

@test "bad connection strings exit 2 with a message that shows no secret" {
	for cs in \
		"SharedAccessKeyName=sender;SharedAccessKey=$KEY;EntityPath=quakes" \
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=sender;EntityPath=quakes" \
		"Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKey=$KEY;EntityPath=quakes" \
		"this is not a connection string $KEY" \
		"Endpoint=https://ns.servicebus.windows.net/;SharedAccessKeyName=sender;SharedAccessKey=$KEY"; do
		for cmd in "csa-eh-send" "csa-eh-recv -e"; do
			EVENTHUB_CONNECTION_STRING="$cs" run --separate-stderr $cmd -v <<< '{}'
			assert_failure 2
			[[ "$stderr" == *"connection string"* ]] || { echo "$cs: $stderr"; return 1; }
			[[ "$stderr" != *"$KEY"* && "$stderr" != *Zm9vYmFy* ]] || { echo "leaked: $stderr"; return 1; }
		done
	done
	# Each fault is named.
	EVENTHUB_CONNECTION_STRING="SharedAccessKeyName=a;SharedAccessKey=b" run --separate-stderr csa-eh-send <<< '{}'
	[[ "$stderr" == *"has no Endpoint"* ]]
	EVENTHUB_CONNECTION_STRING="Endpoint=sb://ns.example/;SharedAccessKeyName=a" run --separate-stderr csa-eh-send <<< '{}'
	[[ "$stderr" == *"ns.example has no SharedAccessKey (key name a)"* ]]
	# No name at all: neither EntityPath, EVENTHUB_NAME nor --eventhub.
	EVENTHUB_CONNECTION_STRING="Endpoint=sb://ns.example/;SharedAccessKeyName=a;SharedAccessKey=b" \
		run --separate-stderr csa-eh-send <<< '{}'
	assert_failure 2
	[[ "$stderr" == *"no event hub named"* ]]
	# An empty or missing file.
	: > "$BATS_TEST_TMPDIR/empty"
	run --separate-stderr csa-eh-send --connection-string-file "$BATS_TEST_TMPDIR/empty" <<< '{}'
	assert_failure 2
	run --separate-stderr csa-eh-send --connection-string-file "$BATS_TEST_TMPDIR/none" <<< '{}'
	assert_failure 3
	[[ "$stderr" == *"$BATS_TEST_TMPDIR/none"* ]]
}

@test "--transport https posts signed batches that the server accepts: bodies and keys arrive intact" {
	start_rest
	ev=$(usgs_events)
	EVENTHUB_CONNECTION_STRING="$CS" EVENTHUB_NAME=quakes \
		run --separate-stderr csa-eh-send -v --transport https --cacert "$TLS/ca.pem" -k event_id "$ev"
	assert_success
	[[ "$stderr" != *"$KEY"* ]]
	[ "$(wc -l < "$RECEIVED")" -eq 146 ]
	jq -r .body "$RECEIVED" | diff "$ev" -
	jq -r .partition_key "$RECEIVED" | diff <(jq -r .event_id "$ev") -
	[ "$(jq -r .eventhub "$RECEIVED" | sort -u)" = quakes ]
	# With -b 50 the events go in three POSTs.
	: > "$RECEIVED"
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=quakes" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" --batch-size 50 --linger-ms 60000 "$ev"
	assert_success
	[ "$(jq -r .batch "$RECEIVED" | sort -u | wc -l)" -eq 3 ]
	[ "$(jq -r .partition_key "$RECEIVED" | sort -u)" = null ]
	# -p N posts to the partition's own address.
	: > "$RECEIVED"
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=quakes" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" -p 3 <<< '{"a":1}'
	assert_success
	[ "$(jq -r .partition "$RECEIVED")" = 3 ]
}

@test "a batch over 1 MB is split into POSTs under it" {
	start_rest
	"$PY" -c '
import json
for i in range(600):
    print(json.dumps({"id": i, "pad": "x" * 3000}))' > "$BATS_TEST_TMPDIR/big"
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=big" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" --batch-size 600 --linger-ms 60000 "$BATS_TEST_TMPDIR/big"
	assert_success
	[ "$(wc -l < "$RECEIVED")" -eq 600 ]
	[ "$(jq -r .batch "$RECEIVED" | sort -u | wc -l)" -eq 2 ]
	jq -r .body "$RECEIVED" | diff "$BATS_TEST_TMPDIR/big" -
}

@test "503 and 429 are tried again with backoff; 401 names the key and exits 4" {
	start_rest --fail 503,429
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=q" \
		run --separate-stderr csa-eh-send -v --transport https --cacert "$TLS/ca.pem" <<< '{"a":1}'
	assert_success
	[[ "$stderr" == *"after retries"* ]]
	[ "$(wc -l < "$RECEIVED")" -eq 1 ]
	kill_bg
	start_rest --answer 401
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=q" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" <<< '{"a":1}'
	assert_failure 4
	[[ "$stderr" == *"refused key 'sender' (HTTP 401)"* ]]
	[[ "$stderr" != *"$KEY"* ]]
	# A wrong key is refused by the server's own signature check.
	kill_bg
	start_rest
	EVENTHUB_CONNECTION_STRING="Endpoint=sb://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/port")/;SharedAccessKeyName=sender;SharedAccessKey=d3JvbmcK;EntityPath=q" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" <<< '{"a":1}'
	assert_failure 4
	[[ "$stderr" == *"refused key 'sender'"* ]]
	grep -q "bad signature" "$BATS_TEST_TMPDIR/server.err"
	[ ! -s "$RECEIVED" ]
}

@test "https: a server the CA store does not vouch for is refused; 503 for too long exits 4" {
	start_rest
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=q" \
		run --separate-stderr csa-eh-send --transport https --timeout 1s <<< '{"a":1}'
	assert_failure 4
	[[ "$stderr" == *"certificate"* ]]
	[ ! -s "$RECEIVED" ]
	kill_bg
	start_rest --answer 503
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=q" \
		run --separate-stderr csa-eh-send --transport https --cacert "$TLS/ca.pem" --timeout 2s <<< '{"a":1}'
	assert_failure 4
	[[ "$stderr" == *"HTTP 503"* ]]
	# The REST API sends only.
	EVENTHUB_CONNECTION_STRING="$CS;EntityPath=q" run --separate-stderr csa-eh-send --transport https \
		-H "kafka://127.0.0.1:1" <<< '{}'
	assert_failure 2
}

@test "examples/eventhubs-pipeline.sh needs only the two variables, and runs whole against Kafka" {
	run bash -n "$CSA_SRCDIR/examples/eventhubs-pipeline.sh"
	assert_success
	run --separate-stderr "$CSA_SRCDIR/examples/eventhubs-pipeline.sh" "$BATS_TEST_TMPDIR/w"
	assert_failure 2
	[[ "$stderr" == *EVENTHUB_CONNECTION_STRING* ]]
	start_kafka_mock "$BATS_TEST_TMPDIR" quakes:4
	export EVENTHUB_CONNECTION_STRING="Endpoint=sb://127.0.0.1/;SharedAccessKeyName=s;SharedAccessKey=$KEY;EntityPath=quakes"
	export USGS_FEED_URL="file://$DATA/usgs/utero_4.5_month_20140401.geojson"
	export KAFKA_OPTIONS="-X bootstrap.servers=$MOCK_BROKERS -X security.protocol=plaintext"
	run --separate-stderr "$CSA_SRCDIR/examples/eventhubs-pipeline.sh" "$BATS_TEST_TMPDIR/w"
	assert_success
	[[ "$stderr" != *"$KEY"* && "$output" != *"$KEY"* ]]
	# Every event counted once in the merged totals, as jq counts them.
	want=$(csa-usgs-fetch --url "$USGS_FEED_URL" | jq -s 'map(.event_id) | unique | length')
	got=$(printf '%s\n' "${lines[@]}" | awk '/^[0-9][0-9][0-9][0-9]-/ { n += $4 } END { print n }')
	[ "$got" -eq "$want" ]
	[ "$(kcat -b "$MOCK_BROKERS" -C -t quakes -e -q | wc -l)" -eq "$want" ]
}
