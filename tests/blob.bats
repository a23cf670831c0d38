#!/usr/bin/env bats
# csa-capture-read against Blob Storage: Azurite (the Azure Storage
# emulator, from npm) on 127.0.0.1, the blobs uploaded and the SAS tokens
# made by Azure's own JavaScript SDK (helpers/blob_sdk.js), never by our
# code.  Skipped, saying why, only where npm cannot install them.

load helpers/common
load helpers/blob

# The real Capture files, laid out as Capture writes them: the default
# path format, and the tutorial's p={PartitionId} one.
layout() {	# layout DIR P_PREFIX
	local d=$1 p=$2
	mkdir -p "$d/cosh/hub/${p}0/2017/10/16/18/15" "$d/cosh/hub/${p}1/2017/10/16/18/15" \
		"$d/msmetering/hub/${p}9/2022/12/09/17/10"
	cp "$DATA/capture/cosh_54.avro" "$d/cosh/hub/${p}0/2017/10/16/18/15/00.avro"
	cp "$DATA/capture/cosh_empty.avro" "$d/cosh/hub/${p}1/2017/10/16/18/15/00.avro"
	cp "$DATA/capture/msmetering_p9--2022-12-09--17-10-12.avro" \
		"$d/msmetering/hub/${p}9/2022/12/09/17/10/12.avro"
}

setup_file() {
	node_peers || return 0
	clear_az_env
	local d=$BATS_FILE_TMPDIR
	start_azurite "$d/az"
	echo "$AZURITE_PID" > "$d/azurite.pid"
	layout "$d/default" ""
	layout "$d/tutorial" "p="
	# Files of our embedded hub's Capture.
	CSA_HUB="$d/hub" csa-eh-send -k region < "$(usgs_events)"
	CSA_HUB="$d/hub" csa-eh-send --close-all-windows
	az_sdk container cap
	az_sdk tree cap "$d/default" default/
	az_sdk tree cap "$d/tutorial" tutorial/
	az_sdk tree cap "$d/hub/capture" hub/
	export AZ_ENDPOINT AZ_CONN NODE_PATH NODE_MODULES
}

teardown_file() {
	if [ -f "$BATS_FILE_TMPDIR/azurite.pid" ]; then
		kill "$(cat "$BATS_FILE_TMPDIR/azurite.pid")" 2>/dev/null || true
	fi
}

setup() {
	need_node_peers
	clear_az_env
}

teardown() {
	kill_bg
}

# --meta lines without their file name, which is a path or a URL.
no_file() {
	sed 's/,"file":"[^"]*"}/}/' "$@"
}

@test "blobs read from Azurite give byte for byte the NDJSON of the same files read locally" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	csa-capture-read "$BATS_FILE_TMPDIR/default" > "$BATS_TEST_TMPDIR/local"
	run --separate-stderr csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_success
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 400 ]
	diff <(printf '%s\n' "$output") "$BATS_TEST_TMPDIR/local"
	# --meta: the same, but for the file, which is the blob's URL.
	csa-capture-read -m "$BATS_FILE_TMPDIR/default" > "$BATS_TEST_TMPDIR/local.m"
	csa-capture-read -m "$AZ_ENDPOINT/cap/default" > "$BATS_TEST_TMPDIR/blob.m"
	diff <(no_file "$BATS_TEST_TMPDIR/blob.m") <(no_file "$BATS_TEST_TMPDIR/local.m")
	[ "$(jq -r ._eh.file "$BATS_TEST_TMPDIR/blob.m" | sort -u)" = "$AZ_ENDPOINT/cap/default/cosh/hub/0/2017/10/16/18/15/00.avro
$AZ_ENDPOINT/cap/default/msmetering/hub/9/2022/12/09/17/10/12.avro" ]
}

@test "the tutorial's p={PartitionId} layout and our hub's files read as locally" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	fmt='{Namespace}/{EventHub}/p={PartitionId}/{Year}/{Month}/{Day}/{Hour}/{Minute}/{Second}'
	diff <(csa-capture-read --path-format "$fmt" "$AZ_ENDPOINT/cap/tutorial/" | sort) \
		<(csa-capture-read --path-format "$fmt" "$BATS_FILE_TMPDIR/tutorial" | sort)
	# The partition comes from the blob's name.
	[ "$(csa-capture-read --path-format "$fmt" "$AZ_ENDPOINT/cap/tutorial/msmetering" | jq -r ._eh.partition | sort -u)" = 9 ]
	run --separate-stderr csa-capture-read -m "$AZ_ENDPOINT/cap/hub"
	assert_success
	[ "${#lines[@]}" -eq "$(wc -l < "$(usgs_events)")" ]
	diff <(printf '%s\n' "$output" | no_file) <(csa-capture-read -m "$BATS_FILE_TMPDIR/hub/capture" | no_file)
}

@test "--from and --to skip blobs by the time in their names, without downloading them" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	# Two windows of one partition: the first ends where the second starts.
	az_sdk put cap "$DATA/capture/cosh_54.avro" since/ns/hub/0/2017/10/16/18/15/00.avro \
		"$DATA/capture/cosh_54.avro" since/ns/hub/0/2017/10/16/18/20/00.avro
	run --separate-stderr csa-capture-read -v --from 2017-10-16T18:20:00Z "$AZ_ENDPOINT/cap/since"
	assert_success
	[[ "$stderr" == *"since/ns/hub/0/2017/10/16/18/20/00.avro: 380 records"* ]]
	[[ "$stderr" != *"18/15/00.avro"* ]]
	run --separate-stderr csa-capture-read -v --to 2022-01-01T00:00:00Z "$AZ_ENDPOINT/cap/default"
	assert_success
	[ "${#lines[@]}" -eq 380 ]
	[[ "$stderr" == *"cosh/hub/0/2017/10/16/18/15/00.avro: 380 records"* ]]
	[[ "$stderr" != *"msmetering/hub"* ]]
}

@test "Shared Key, SAS in the URL, SAS in the environment, connection strings each read" {
	local want=400 sas
	sas=$(az_sdk sas cap rl)
	run csa-capture-read "$AZ_ENDPOINT/cap/default?$sas"
	assert_success
	[ "${#lines[@]}" -eq $want ]
	run env AZURE_STORAGE_SAS_TOKEN="?$sas" csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_success
	[ "${#lines[@]}" -eq $want ]
	run env AZURE_STORAGE_ACCOUNT=$AZ_ACCOUNT AZURE_STORAGE_KEY=$AZ_KEY csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_success
	[ "${#lines[@]}" -eq $want ]
	# A connection string with a SAS and an endpoint; the URL is the
	# account's Azure one, sent to the endpoint.
	run env AZURE_STORAGE_CONNECTION_STRING="BlobEndpoint=$AZ_ENDPOINT;SharedAccessSignature=$sas" \
		csa-capture-read "https://$AZ_ACCOUNT.blob.core.windows.net/cap/default"
	assert_success
	[ "${#lines[@]}" -eq $want ]
	# ADLS Gen2's abfss URL, read through the Blob endpoint.
	run env AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN \
		csa-capture-read "abfss://cap@$AZ_ACCOUNT.dfs.core.windows.net/default"
	assert_success
	[ "${#lines[@]}" -eq $want ]
	run env AZURE_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true \
		csa-capture-read --blob-endpoint "$AZ_ENDPOINT" "abfss://cap@$AZ_ACCOUNT.dfs.core.windows.net/default"
	assert_success
	[ "${#lines[@]}" -eq $want ]
}

@test "a wrong key exits 4 naming the credential, not its value; a malformed one exits 2" {
	local bad=${AZ_KEY/Eby8/AAAA}
	run --separate-stderr env AZURE_STORAGE_ACCOUNT=$AZ_ACCOUNT AZURE_STORAGE_KEY=$bad \
		csa-capture-read -v "$AZ_ENDPOINT/cap/default"
	assert_failure 4
	[ -z "$output" ]
	[[ "$stderr" == *"HTTP 403"*"Shared Key of account $AZ_ACCOUNT from AZURE_STORAGE_KEY"* ]]
	[[ "$stderr" != *"$bad"* ]] && [[ "$stderr" != *"${bad:0:12}"* ]]
	run --separate-stderr env AZURE_STORAGE_CONNECTION_STRING="AccountName=$AZ_ACCOUNT;AccountKey=$bad;BlobEndpoint=$AZ_ENDPOINT" \
		csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_failure 4
	[[ "$stderr" == *"from AZURE_STORAGE_CONNECTION_STRING"* ]]
	[[ "$stderr" != *"${bad:0:12}"* ]]
	run --separate-stderr env AZURE_STORAGE_ACCOUNT=$AZ_ACCOUNT AZURE_STORAGE_KEY='not a key!' \
		csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_failure 2
	[[ "$stderr" == *"AZURE_STORAGE_KEY: the account key is not base64"* ]]
	[[ "$stderr" != *"not a key!"* ]]
	# A key for another account than the URL's.
	run --separate-stderr env AZURE_STORAGE_ACCOUNT=other AZURE_STORAGE_KEY=$AZ_KEY \
		csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_failure 2
	[[ "$stderr" == *"is for account other, not $AZ_ACCOUNT"* ]]
}

@test "a SAS without the list permission, or none at all: exit 4, and the SAS is never printed" {
	local sas
	sas=$(az_sdk sas cap r)
	run --separate-stderr csa-capture-read -v "$AZ_ENDPOINT/cap/default?$sas"
	assert_failure 4
	[[ "$stderr" == *"HTTP 403"*"a SAS from the URL"*"list (l)"* ]]
	[[ "$stderr" != *"sig="* ]] && [[ "$stderr" != *"$sas"* ]]
	run --separate-stderr csa-capture-read "$AZ_ENDPOINT/cap/default"
	assert_failure 4
	[[ "$stderr" == *"with no credential: set AZURE_STORAGE_CONNECTION_STRING"* ]]
	# Nothing listening: the network's fault names the URL without its SAS.
	run --separate-stderr csa-capture-read --retries 0 "http://127.0.0.1:$(free_port)/$AZ_ACCOUNT/cap/default?$sas"
	assert_failure 4
	[[ "$stderr" == *"/$AZ_ACCOUNT/cap/default: "* ]]
	[[ "$stderr" != *"sig="* ]]
	# A URL that names no container is a usage fault, named without its SAS.
	run --separate-stderr csa-capture-read "$AZ_ENDPOINT?$sas"
	assert_failure 2
	[[ "$stderr" != *"sig="* ]]
}

@test "a damaged blob exits 1; the other blobs are still read" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	# Cut in its last block (a cut in the first leaks in avro-c).
	"$PY" "$HELPERS/make_capture.py" "$BATS_TEST_TMPDIR/blocks.avro" --count 50 --block 7
	head -c $(( $(stat -c %s "$BATS_TEST_TMPDIR/blocks.avro") - 30 )) "$BATS_TEST_TMPDIR/blocks.avro" \
		> "$BATS_TEST_TMPDIR/cut.avro"
	az_sdk put cap "$BATS_TEST_TMPDIR/cut.avro" damaged/ns/hub/0/2024/01/01/00/00/00.avro \
		"$DATA/capture/msmetering_p9--2022-12-09--17-10-12.avro" damaged/ns/hub/1/2024/01/01/00/00/00.avro
	run --separate-stderr csa-capture-read "$AZ_ENDPOINT/cap/damaged/"
	assert_failure 1
	[ "$(printf '%s\n' "$output" | grep -c '"partition":1')" -eq 20 ]
	[[ "$stderr" == *"$AZ_ENDPOINT/cap/damaged/ns/hub/0/2024/01/01/00/00/00.avro: damaged after"* ]]
}

@test "5,001 blobs over pages are read once; --state rereads none, then only a new one; a new ETag warns" {
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	local f ck=$BATS_TEST_TMPDIR/ck
	f=$("$PY" "$HELPERS/make_capture.py" "$BATS_TEST_TMPDIR/two.avro" --count 2 >/dev/null; echo "$BATS_TEST_TMPDIR/two.avro")
	az_sdk container many
	az_sdk copies many "$f" 5001
	run --separate-stderr csa-capture-read -v -m --state "$ck" "$AZ_ENDPOINT/many/ns"
	assert_success
	[ "${#lines[@]}" -eq 10002 ]
	[[ "$stderr" == *"5001 blobs in 2 listings"* ]]
	[ "$(printf '%s\n' "$output" | jq -r ._eh.file | sort | uniq -c | awk '$1 != 2' | wc -l)" -eq 0 ]
	[ "$(printf '%s\n' "$output" | jq -r ._eh.file | sort -u | wc -l)" -eq 5001 ]
	[ "$(wc -l < "$ck")" -eq 5001 ]
	# A rerun reads nothing.
	run --separate-stderr csa-capture-read --state "$ck" "$AZ_ENDPOINT/many/ns"
	assert_success
	[ -z "$output" ] && [ -z "$stderr" ]
	# One new blob: only it.
	az_sdk put many "$f" ns/hub/0/2024/02/01/00/00/00.avro
	run --separate-stderr csa-capture-read -m --state "$ck" "$AZ_ENDPOINT/many/ns"
	assert_success
	[ "${#lines[@]}" -eq 2 ]
	[ "$(printf '%s\n' "$output" | jq -r ._eh.file | sort -u)" = "$AZ_ENDPOINT/many/ns/hub/0/2024/02/01/00/00/00.avro" ]
	# One blob uploaded again (a new ETag): the changed-file warning, and
	# the records after those read before.
	"$PY" "$HELPERS/make_capture.py" "$BATS_TEST_TMPDIR/three.avro" --count 3 >/dev/null
	az_sdk put many "$BATS_TEST_TMPDIR/three.avro" ns/hub/1/2024/01/01/00/00/01.avro
	run --separate-stderr csa-capture-read -m --state "$ck" "$AZ_ENDPOINT/many/ns"
	assert_success
	[[ "$stderr" == *"ns/hub/1/2024/01/01/00/00/01.avro: changed since it was read (by --checkpoint)"* ]]
	[ "${#lines[@]}" -eq 1 ]
	run --separate-stderr csa-capture-read --state "$ck" "$AZ_ENDPOINT/many/ns"
	[ -z "$output" ] && [ -z "$stderr" ]
}

@test "Azurite stopped mid-run: exit 4 after retries, and the checkpoint holds only what was read" {
	export AZURE_STORAGE_CONNECTION_STRING
	local d=$BATS_TEST_TMPDIR ck=$BATS_TEST_TMPDIR/ck
	start_azurite "$d/az2"
	echo "$AZURITE_PID" >> "$BATS_TEST_TMPDIR/.bg_pids"
	AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	az_sdk container stop
	mkdir -p "$d/src"
	for i in $(seq -w 10 29); do
		mkdir -p "$d/src/ns/hub/0/2024/01/01/00/00"
		cp "$DATA/capture/cosh_54.avro" "$d/src/ns/hub/0/2024/01/01/00/00/$i.avro"
	done
	az_sdk tree stop "$d/src"
	# Each blob's 380 lines overflow the pipe: the reader is at most a
	# batch of --parallel blobs ahead of the first line when Azurite is
	# stopped.
	(set +e; csa-capture-read -u -m --parallel 4 --retries 2 --retry-delay 0 --state "$ck" "$AZ_ENDPOINT/stop/ns" \
		2> "$d/err"; echo $? > "$d/rc") | {
		IFS= read -r first
		printf '%s\n' "$first"
		kill "$AZURITE_PID"
		# Not this subshell's child: wait until it is gone.
		wait_for 30 '! kill -0 "$AZURITE_PID"'
		cat
	} > "$d/out"
	[ "$(cat "$d/rc")" -eq 4 ]
	grep -q "after 3 attempts" "$d/err"
	n=$(wc -l < "$ck")
	[ "$n" -ge 1 ] && [ "$n" -lt 20 ]
	# What the checkpoint holds is exactly what went out, whole.
	diff <(jq -r .file "$ck" | sort) <(jq -r ._eh.file "$d/out" | sort -u)
	[ "$(wc -l < "$d/out")" -eq $((n * 380)) ]
}

@test "examples/eventhubs-pipeline.sh with CAPTURE_URL: the batch step reads Capture from Blob Storage" {
	local w=$BATS_TEST_TMPDIR/w key='Zm9vYmFyU2VjcmV0S2V5MTIzNDU2Nzg5MDEyMzQ1Ng=='
	export USGS_FEED_URL="file://$DATA/usgs/utero_4.5_month_20140401.geojson"
	# What Capture wrote of the same events: our hub's Capture, uploaded.
	csa-usgs-fetch --url "$USGS_FEED_URL" > "$BATS_TEST_TMPDIR/ev"
	CSA_HUB="$BATS_TEST_TMPDIR/hub" csa-eh-send -k region < "$BATS_TEST_TMPDIR/ev"
	CSA_HUB="$BATS_TEST_TMPDIR/hub" csa-eh-send --close-all-windows
	az_sdk container bronze
	az_sdk tree bronze "$BATS_TEST_TMPDIR/hub/capture" pipeline/
	start_kafka_mock "$BATS_TEST_TMPDIR" quakes:4
	export EVENTHUB_CONNECTION_STRING="Endpoint=sb://127.0.0.1/;SharedAccessKeyName=s;SharedAccessKey=$key;EntityPath=quakes"
	export KAFKA_OPTIONS="-X bootstrap.servers=$MOCK_BROKERS -X security.protocol=plaintext"
	export AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN
	export CAPTURE_URL="$AZ_ENDPOINT/bronze/pipeline"
	run --separate-stderr "$CSA_SRCDIR/examples/eventhubs-pipeline.sh" "$w"
	assert_success
	assert_output --partial "Batch layer: Capture at $CAPTURE_URL"
	[ -s "$w/capture.ckpt" ] && [ ! -e "$w/raw.ndjson" ]
	# The batch view holds every event, from the blobs.
	[ "$(cat "$w"/gold/hourly/*/*.ndjson "$w"/gold/hourly/*.ndjson 2>/dev/null | jq -s 'map(.event_count) | add')" -eq "$(jq -s 'map(.event_id) | unique | length' "$BATS_TEST_TMPDIR/ev")" ]
	[[ "$stderr" != *"$AZ_KEY"* && "$output" != *"$AZ_KEY"* ]]
	# Every event counted once in the merged totals, as jq counts them.
	want=$(jq -s 'map(.event_id) | unique | length' "$BATS_TEST_TMPDIR/ev")
	got=$(printf '%s\n' "${lines[@]}" | awk '/^[0-9][0-9][0-9][0-9]-/ { n += $4 } END { print n }')
	[ "$got" -eq "$want" ]
}

@test "an Azure AD bearer token over HTTPS (Azurite's OAuth); a bad one exits 4 naming it, not printing it" {
	local d=$BATS_TEST_TMPDIR token
	make_test_ca "$d/ca"
	AZURITE_TLS="--cert $d/ca/srv.pem --key $d/ca/srv.key --oauth basic" start_azurite "$d/az3"
	echo "$AZURITE_PID" >> "$BATS_TEST_TMPDIR/.bg_pids"
	export NODE_EXTRA_CA_CERTS=$d/ca/ca.pem
	az_sdk container tok
	az_sdk put tok "$DATA/capture/cosh_54.avro" ns/hub/0/2024/01/01/00/00/00.avro
	# A token as Azure AD issues them for Storage; Azurite's basic OAuth
	# checks its issuer, audience and times, not its signature.
	token=$("$PY" -c '
import base64, json, time
b = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
now = int(time.time())
print(b({"alg": "RS256", "typ": "JWT"}) + "." + b({"aud": "https://storage.azure.com",
    "iss": "https://sts.windows.net/ab1f708d-50f6-404c-a006-d71b2ac7a606/",
    "nbf": now - 300, "iat": now - 300, "exp": now + 3600}) + ".c2lnbmF0dXJl")')
	run env AZURE_STORAGE_TOKEN="$token" csa-capture-read --cacert "$d/ca/ca.pem" "$AZ_ENDPOINT/tok"
	assert_success
	[ "${#lines[@]}" -eq 380 ]
	run --separate-stderr env AZURE_STORAGE_TOKEN="${token%%.*}.e30.c2ln" csa-capture-read --cacert "$d/ca/ca.pem" "$AZ_ENDPOINT/tok"
	assert_failure 4
	[[ "$stderr" == *"HTTP 403"*"a bearer token from AZURE_STORAGE_TOKEN"* ]]
	[[ "$stderr" != *"e30"* ]]
	# Without the CA: the certificate is refused at once, not retried.
	run --separate-stderr env AZURE_STORAGE_TOKEN="$token" csa-capture-read "$AZ_ENDPOINT/tok"
	assert_failure 4
	[[ "$stderr" == *"certificate"*"(after 1 attempt)"* ]]
}
