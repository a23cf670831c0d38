# blob.bash: Azurite (the Azure Storage emulator) on 127.0.0.1 and Azure's
# own JavaScript SDK, for the Blob Storage tests.  Load after common.

# Azurite's development account, as Microsoft publishes it (no secret).
AZ_ACCOUNT=devstoreaccount1
AZ_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

# node_peers: install azurite and @azure/storage-blob when missing
# (tests/helpers/npm-peers) and set NODE_MODULES; where npm cannot, say why
# in $BATS_FILE_TMPDIR/skip and fail.  (bats 1.8 cannot skip in
# setup_file: setup skips each test with need_node_peers instead.)
node_peers() {
	local why=
	if ! command -v node >/dev/null 2>&1; then
		why="node is not installed (apt-get install nodejs npm)"
	elif ! NODE_MODULES=$("$HELPERS/npm-peers" 2>"$BATS_FILE_TMPDIR/npm.err"); then
		why="npm cannot install azurite and @azure/storage-blob: $(tail -n 1 "$BATS_FILE_TMPDIR/npm.err")"
	fi
	if [ -n "$why" ]; then
		echo "$why" > "$BATS_FILE_TMPDIR/skip"
		return 1
	fi
	export NODE_PATH=$NODE_MODULES
}

# need_node_peers: in setup or a test, skip when node_peers failed.
need_node_peers() {
	[ ! -f "$BATS_FILE_TMPDIR/skip" ] || skip "$(cat "$BATS_FILE_TMPDIR/skip")"
}

# start_azurite DIR: Azurite's Blob service on 127.0.0.1, a port of its
# choosing, its data in DIR; sets AZURITE_PID, AZ_ENDPOINT (path style, as
# Azurite and the SDKs use it) and AZ_CONN (a connection string for it).
# AZURITE_TLS adds options (--cert, --key, --oauth basic) for HTTPS.
start_azurite() {
	local dir=$1
	mkdir -p "$dir/data"
	# shellcheck disable=SC2086
	"$NODE_MODULES/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort 0 \
		--location "$dir/data" --silent --disableTelemetry --skipApiVersionCheck \
		${AZURITE_TLS:-} >"$dir/azurite.log" 2>&1 3>&- &
	AZURITE_PID=$!
	wait_for 30 'grep -q "listens on http" "$dir/azurite.log"' ||
		{ cat "$dir/azurite.log" >&2; return 1; }
	local url
	url=$(sed -n 's/.*listens on \(https*:[^ ]*\).*/\1/p' "$dir/azurite.log" | head -n 1)
	AZ_ENDPOINT="$url/$AZ_ACCOUNT"
	AZ_CONN="DefaultEndpointsProtocol=${url%%:*};AccountName=$AZ_ACCOUNT;AccountKey=$AZ_KEY;BlobEndpoint=$AZ_ENDPOINT;"
}

stop_azurite() {
	if [ -n "${AZURITE_PID:-}" ]; then
		kill "$AZURITE_PID" 2>/dev/null || true
		wait "$AZURITE_PID" 2>/dev/null || true
		AZURITE_PID=
	fi
}

# az_sdk CMD ARGS...: tests/helpers/blob_sdk.js against this Azurite.
az_sdk() {
	AZURE_STORAGE_CONNECTION_STRING=$AZ_CONN node "$HELPERS/blob_sdk.js" "$@"
}

# No Azure credential of the caller's leaks into a test.
clear_az_env() {
	unset AZURE_STORAGE_CONNECTION_STRING AZURE_STORAGE_ACCOUNT AZURE_STORAGE_KEY \
		AZURE_STORAGE_SAS_TOKEN AZURE_STORAGE_TOKEN
}
