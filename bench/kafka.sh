#!/bin/bash
# bench/kafka.sh [EVENTS [ROUNDS]]: csa-eh-send and csa-eh-recv against a
# Kafka cluster (librdkafka's mock cluster on 127.0.0.1, 32 partitions),
# side by side with kcat on the same keyed lines (default 200,000 real USGS
# events).  Both sides wait for every acknowledgement (acks=all) and read
# every event as members of a consumer group; kcat -C, without a group, is
# shown for reference.
#
# ROUNDS rounds (default 5), each on a new mock cluster (it keeps about
# 5 MB per partition, which bounds EVENTS and rules out reusing topics);
# kcat's keyed send goes first in every other round.
# After every producer run, what the cluster acknowledged is counted (the
# sum of the partitions' end offsets, from kcat -Q): a run that delivered
# fewer than EVENTS is discarded and counted.  Reading the topic back
# would not do: the mock keeps at most 5 MiB of batches per partition and
# drops the oldest past that, and a send without keys (sticky partitions:
# all messages of 10 ms to one partition) gives some partitions 8 MB,
# so such a topic read back lacks some of what was acknowledged.
# The figures are medians over the runs kept.  Joining a consumer group
# takes the mock about 3 s: it is measured alone (csa-eh-recv reading an
# empty topic) and shown apart.  Needs scripts/build's build, which
# includes the mock (tests/helpers/csa-kafka-mock).  BEFORE=PATH, another
# build's csa-eh-send, runs its keyed send too, in every round after ours,
# for a comparison of two versions under the same load.  csa-eh-send
# --lazy, which reads each line only as far as its key, is the send that
# checks as little as kcat -P (nothing but simdjson's first pass).
set -eu
. "$(dirname "$0")/common.sh"
n=${1:-200000}
rounds=${2:-5}
mock=
trap '[ -n "$mock" ] && kill "$mock" 2>/dev/null; rm -rf "$tmp"' EXIT

repeat_events "$n" "$tmp/in"
# kcat takes the key in front of the line, after a tab.
paste <(jq -r .event_id "$tmp/in") "$tmp/in" > "$tmp/keyed"

start_mock() {
	rm -f "$tmp/brokers"
	csa-kafka-mock "$tmp/brokers" ours:32 lazy:32 before:32 theirs:32 theirs2:32 plain:32 plain2:32 empty:32 &
	mock=$!
	for _ in $(seq 1 100); do [ -s "$tmp/brokers" ] && break; sleep 0.05; done
	b=$(cat "$tmp/brokers")
}

stop_mock() {
	kill "$mock"
	wait "$mock" 2>/dev/null || true
	mock=
}

# measure NAME CMD...: appends "wall cpu rss_mb" of CMD to $tmp/NAME.
measure() {
	local name=$1 out t0 t1
	shift
	# Wall time from the nanosecond clock: GNU time's %e counts hundredths,
	# as coarse as the difference between the two senders.
	t0=$(date +%s%N)
	/usr/bin/time -o "$tmp/time" -f '%U %S %M' "$@" > /dev/null
	t1=$(date +%s%N)
	out=$(tail -n 1 "$tmp/time")
	echo "$out" | awk -v ns=$((t1 - t0)) '{ printf "%.3f %.2f %d\n", ns / 1e9, $1 + $2, $3 / 1024 }' \
		>> "$tmp/$name"
}

# produced NAME TOPIC CMD...: measure a producer, then count what the
# cluster acknowledged on TOPIC; a run that delivered less than n is
# dropped and counted.
produced() {
	local name=$1 topic=$2 got
	shift 2
	measure "$name.try" "$@"
	got=$(kcat -b "$b" -Q $(printf -- "-t $topic:%d:-1 " $(seq 0 31)) |
		awk '$3 == "offset" { s += $4 } END { print s + 0 }')
	if [ "$got" -eq "$n" ]; then
		tail -n 1 "$tmp/$name.try" >> "$tmp/$name"
	else
		echo "round $round: $name delivered $got of $n events; run discarded" >&2
		echo "$got" >> "$tmp/$name.short"
	fi
}

# The keyed sends of a round: ours (and BEFORE's), then kcat -P's.
ours_keyed() {
	produced send ours csa-eh-send -H "kafka://$b" -n ours -k event_id --batch-size 10000 "$tmp/in"
	# Read only as far as the key, as kcat -P reads nothing of a line.
	produced lazy lazy csa-eh-send -H "kafka://$b" -n lazy -k event_id --lazy --batch-size 10000 \
		"$tmp/in"
	if [ -n "${BEFORE:-}" ]; then
		produced before before "$BEFORE" -H "kafka://$b" -n before -k event_id \
			--batch-size 10000 "$tmp/in"
	fi
}
kcat_keyed() {
	produced kcat_p theirs kcat -b "$b" -P -t theirs -K $'\t' -X partitioner=murmur2_random \
		-l "$tmp/keyed"
}

for round in $(seq "$rounds"); do
	start_mock
	# kcat first in every other round: a send's place in the round (the
	# first producer of a new mock, say) favours neither side.
	if [ $((round % 2)) -eq 0 ]; then
		kcat_keyed
		ours_keyed
	else
		ours_keyed
		kcat_keyed
	fi
	# Without keys: kcat only reads lines, csa-eh-send still checks each one.
	produced send_nk plain csa-eh-send -H "kafka://$b" -n plain --batch-size 10000 "$tmp/in"
	produced kcat_nk plain2 kcat -b "$b" -P -t plain2 -l "$tmp/in"
	# What a user of kcat would run to key and check JSON lines as csa-eh-send does.
	produced jq_kcat theirs2 sh -c "jq -c -r '\"\\(.event_id)\\t\\(tojson)\"' '$tmp/in' |
		kcat -b '$b' -P -t theirs2 -K '\t' -X partitioner=murmur2_random"
	measure recv csa-eh-recv -H "kafka://$b" -n ours -g "bench$round" -e
	# kcat in a group (-G) does not stop at the end: it is told how many to read.
	measure kcat_g kcat -b "$b" -G "benchk$round" theirs -c "$n" -q -f '%s\n' \
		-X auto.offset.reset=earliest
	measure kcat_c kcat -b "$b" -C -t theirs -e -q -f '%s\n'
	# The group join alone: a member of a new group reading an empty topic.
	measure join csa-eh-recv -H "kafka://$b" -n empty -g "join$round" -e
	stop_mock
done

# med NAME FIELD: the median of FIELD (1 wall, 2 CPU, 3 MB) over the runs kept.
med() {
	[ -s "$tmp/$1" ] || { echo nan; return; }
	awk -v f="$2" '{ print $f }' "$tmp/$1" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
kept() { [ -s "$tmp/$1" ] && wc -l < "$tmp/$1" || echo 0; }
rate() { echo "scale=0; $n / $1" | bc; }
ratio() { echo "scale=3; $1 / $2" | bc; }
row() {	# label ours peer_label peer
	if [ "$(kept "$2")" -eq 0 ] || [ "$(kept "$4")" -eq 0 ]; then
		printf '%-24s no comparison: runs kept %d (ours), %d (%s)\n' "$1" "$(kept "$2")" \
			"$(kept "$4")" "$3"
		return
	fi
	printf '%-24s %6.3f s %8d/s %5.2f s CPU %4d MB   %-8s %6.3f s %8d/s %5.2f s CPU %4d MB   wall ratio peer/ours %sx  (runs kept %d, %d)\n' \
		"$1" "$(med "$2" 1)" "$(rate "$(med "$2" 1)")" "$(med "$2" 2)" "$(med "$2" 3)" \
		"$3" "$(med "$4" 1)" "$(rate "$(med "$4" 1)")" "$(med "$4" 2)" "$(med "$4" 3)" \
		"$(ratio "$(med "$4" 1)" "$(med "$2" 1)")" "$(kept "$2")" "$(kept "$4")"
}
printf 'events: %d, 32 partitions, keyed by event_id; medians of %d rounds; load %s\n' \
	"$n" "$rounds" "$(cut -d' ' -f1-3 /proc/loadavg)"
row 'csa-eh-send --batch-size 10000' send 'kcat -P' kcat_p
row 'the same with --lazy' lazy 'kcat -P' kcat_p
[ -z "${BEFORE:-}" ] || row 'BEFORE, the same' before 'kcat -P' kcat_p
row 'csa-eh-send, no key' send_nk 'kcat -P' kcat_nk
if [ "$(kept jq_kcat)" -gt 0 ] && [ "$(kept send)" -gt 0 ]; then
	printf 'jq (key, check) | kcat -P %6.2f s %8d/s   ratio (jq+kcat)/ours %sx  (runs kept %d)\n' \
		"$(med jq_kcat 1)" "$(rate "$(med jq_kcat 1)")" "$(ratio "$(med jq_kcat 1)" "$(med send 1)")" \
		"$(kept jq_kcat)"
fi
row 'csa-eh-recv -e (group)' recv 'kcat -G' kcat_g
printf '  joining a group alone (csa-eh-recv on an empty topic): %.2f s; csa-eh-recv without it %.2f s\n' \
	"$(med join 1)" "$(echo "$(med recv 1) - $(med join 1)" | bc)"
printf 'kcat -C -e (no group, for reference)  %.2f s\n' "$(med kcat_c 1)"
for f in "$tmp"/*.short; do
	[ -e "$f" ] || continue
	printf '%s: %d runs discarded, delivered %s of %d\n' "$(basename "$f" .short)" \
		"$(wc -l < "$f")" "$(paste -sd, "$f")" "$n"
done
# What checking every line costs before anything is sent: simdjson parsing
# each line alone (bench/json-floor.cc), which kcat -P does not do.
check=$(json_floor lines "$tmp/in")
if [ -n "$check" ]; then
	printf 'checking each line as JSON alone (simdjson): %.2f s\n' "$check"
fi
