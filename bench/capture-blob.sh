#!/bin/bash
# bench/capture-blob.sh [FILES [RECORDS]]: csa-capture-read from Blob
# Storage (Azurite on 127.0.0.1, blobs uploaded by Azure's JavaScript SDK)
# against reading the same files locally, and against what a user does
# without it: a sequential download (curl in a loop, as
# `az storage blob download-batch` would) and then a local read.  FILES
# Capture files (default 1,000) of RECORDS records each (default 1,000),
# in the default path layout.  Prints records/s and ratios.
set -eu
. "$(dirname "$0")/common.sh"
files=${1:-1000}
records=${2:-1000}
n=$((files * records))

modules=$("$top/tests/helpers/npm-peers") || { echo "bench: needs azurite from npm" >&2; exit 1; }
export NODE_PATH=$modules

# One Capture file, copied under FILES names of the default layout.
/usr/bin/python3 "$top/tests/helpers/make_capture.py" "$tmp/one.avro" --count "$records"
for ((i = 0; i < files; i++)); do
	d=$(printf '%s/local/ns/hub/%d/2024/01/01/%02d/%02d' "$tmp" $((i % 4)) $((i / 3600)) $((i / 60 % 60)))
	mkdir -p "$d"
	cp "$tmp/one.avro" "$d/$(printf %02d $((i % 60))).avro"
done
bytes=$((files * $(wc -c < "$tmp/one.avro")))

mkdir -p "$tmp/az"
"$modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort 0 --location "$tmp/az" \
	--silent --disableTelemetry --skipApiVersionCheck > "$tmp/az.log" 2>&1 &
az=$!
trap 'kill $az 2>/dev/null; wait $az 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q 'listens on http' "$tmp/az.log" && break; sleep 0.1; done
ep="$(sed -n 's/.*listens on \(http:[^ ]*\).*/\1/p' "$tmp/az.log")/devstoreaccount1"
export AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=$ep;"
sdk() { node "$top/tests/helpers/blob_sdk.js" "$@"; }
sdk container bench
sdk tree bench "$tmp/local"
sas=$(sdk sas bench rl)

got=$(csa-capture-read "$ep/bench/ns" | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: read $got of $n from Azurite" >&2; exit 1; }

# The sequential download, then a local read.
download_then_read() {
	rm -rf "$tmp/down"
	(cd "$tmp/local" && find ns -name '*.avro') | sort | while read -r b; do
		mkdir -p "$tmp/down/$(dirname "$b")"
		curl -sSf -o "$tmp/down/$b" "$ep/bench/$b?$sas"
	done
	csa-capture-read "$tmp/down"
}

t_local=$(secs csa-capture-read "$tmp/local")
t_blob=$(secs csa-capture-read "$ep/bench/ns")
t_blob1=$(secs csa-capture-read --parallel 1 "$ep/bench/ns")
t_curl=$(secs download_then_read)

rate() { echo "scale=0; $1 / $2" | bc; }
printf 'records: %d in %d files, %.0f MB; Azurite on 127.0.0.1\n' "$n" "$files" \
	"$(echo "$bytes / 1000000" | bc)"
printf 'local files                         %6.2f s  %9d records/s\n' "$t_local" "$(rate "$n" "$t_local")"
printf 'Blob Storage (--parallel 8)         %6.2f s  %9d records/s   %.2fx the local time\n' \
	"$t_blob" "$(rate "$n" "$t_blob")" "$(echo "scale=3; $t_blob / $t_local" | bc)"
printf 'Blob Storage (--parallel 1)         %6.2f s  %9d records/s   %.2fx the local time\n' \
	"$t_blob1" "$(rate "$n" "$t_blob1")" "$(echo "scale=3; $t_blob1 / $t_local" | bc)"
printf 'curl one by one, then a local read  %6.2f s  %9d records/s   %.2fx the --parallel 8 time\n' \
	"$t_curl" "$(rate "$n" "$t_curl")" "$(echo "scale=3; $t_curl / $t_blob" | bc)"
