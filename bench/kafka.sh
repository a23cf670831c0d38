#!/bin/bash
# bench/kafka.sh [EVENTS]: csa-eh-send and csa-eh-recv against a Kafka
# cluster (librdkafka's mock cluster on 127.0.0.1, 32 partitions), side by
# side with kcat on the same keyed lines (default 200,000 real USGS events).
# Both sides wait for every acknowledgement (acks=all) and read every
# event as members of a consumer group (the mock cluster holds a new
# group's first join about 3 s, for both); kcat -C, without a group, is
# shown for reference.  The mock keeps about 5 MB per partition, which
# bounds EVENTS.  Needs the build in build/ with its check programs
# (scripts/test builds them).
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-200000}
mock=
trap '[ -n "$mock" ] && kill "$mock"; rm -rf "$tmp"' EXIT

repeat_events "$n" "$tmp/in"
# kcat takes the key in front of the line, after a tab.
paste <(jq -r .event_id "$tmp/in") "$tmp/in" > "$tmp/keyed"

csa-kafka-mock "$tmp/brokers" ours:32 theirs:32 theirs2:32 plain:32 plain2:32 &
mock=$!
for _ in $(seq 1 100); do [ -s "$tmp/brokers" ] && break; sleep 0.05; done
b=$(cat "$tmp/brokers")

# measure NAME CMD...: sets NAME_s (wall seconds) and NAME_mb (peak RSS).
measure() {
	local name=$1 out; shift
	/usr/bin/time -o "$tmp/time" -f '%e %M' "$@" > /dev/null
	out=$(tail -n 1 "$tmp/time")
	printf -v "${name}_s" '%s' "${out% *}"
	printf -v "${name}_mb" '%s' "$(( ${out#* } / 1024 ))"
}

measure send csa-eh-send -H "kafka://$b" -n ours -k event_id -b 10000 "$tmp/in"
measure kcat_p kcat -b "$b" -P -t theirs -K $'\t' -X partitioner=murmur2_random -l "$tmp/keyed"
# Without keys: kcat only reads lines, csa-eh-send still checks each one.
measure send_nk csa-eh-send -H "kafka://$b" -n plain -b 10000 "$tmp/in"
measure kcat_nk kcat -b "$b" -P -t plain2 -l "$tmp/in"
# What a user of kcat would run to key and check JSON lines as csa-eh-send does.
measure jq_kcat sh -c "jq -c -r '\"\\(.event_id)\\t\\(tojson)\"' '$tmp/in' | kcat -b '$b' -P -t theirs2 -K '\t' -X partitioner=murmur2_random"
measure recv csa-eh-recv -H "kafka://$b" -n ours -g bench -e
# kcat in a group (-G) does not stop at the end: it is told how many to read.
measure kcat_g kcat -b "$b" -G benchk theirs -c "$n" -q -f '%s\n' -X auto.offset.reset=earliest
measure kcat_c kcat -b "$b" -C -t theirs -e -q -f '%s\n'

got=$(kcat -b "$b" -C -t ours -e -q -f '%s\n' | wc -l)
[ "$got" -eq "$n" ] || { echo "bench: the topic holds $got of $n events (mock retention?)" >&2; exit 1; }
# The group's join takes the mock cluster about 3 s; shown apart.
measure join csa-eh-recv -H "kafka://$b" -n ours -g join --from latest -e

rate() { echo "scale=0; $n / $1" | bc; }
ratio() { echo "scale=2; $1 / $2" | bc; }
printf 'events: %d, 32 partitions, keyed by event_id\n' "$n"
printf 'csa-eh-send -b 10000      %6.2f s %8d events/s  %4d MB   kcat -P %6.2f s  %8d events/s  %4d MB  ratio kcat/ours %sx\n' \
	"$send_s" "$(rate "$send_s")" "$send_mb" "$kcat_p_s" "$(rate "$kcat_p_s")" "$kcat_p_mb" "$(ratio "$kcat_p_s" "$send_s")"
printf 'csa-eh-send, no key       %6.2f s %8d events/s  %4d MB   kcat -P %6.2f s  %8d events/s  %4d MB  ratio kcat/ours %sx\n' \
	"$send_nk_s" "$(rate "$send_nk_s")" "$send_nk_mb" "$kcat_nk_s" "$(rate "$kcat_nk_s")" "$kcat_nk_mb" "$(ratio "$kcat_nk_s" "$send_nk_s")"
printf 'jq (key, check) | kcat -P  %6.2f s %8d events/s                                         ratio (jq+kcat)/ours %sx\n' \
	"$jq_kcat_s" "$(rate "$jq_kcat_s")" "$(ratio "$jq_kcat_s" "$send_s")"
printf 'csa-eh-recv -e (group)    %6.2f s %8d events/s  %4d MB   kcat -G %6.2f s  %8d events/s  %4d MB  ratio kcat/ours %sx\n' \
	"$recv_s" "$(rate "$recv_s")" "$recv_mb" "$kcat_g_s" "$(rate "$kcat_g_s")" "$kcat_g_mb" "$(ratio "$kcat_g_s" "$recv_s")"
printf '  of which joining the group (an empty read): %.2f s; without it %.2f s\n' \
	"$join_s" "$(echo "$recv_s - $join_s" | bc)"
printf 'kcat -C -e (no group, for reference)  %.2f s\n' "$kcat_c_s"
# What checking every line costs before anything is sent: simdjson parsing
# each line alone (bench/json-floor.cc), which kcat -P does not do.
check=$(json_floor lines "$tmp/in")
if [ -n "$check" ]; then
	printf 'checking each line as JSON alone (simdjson): %.2f s\n' "$check"
fi
