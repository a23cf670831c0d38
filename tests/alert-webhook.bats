#!/usr/bin/env bats
# examples/alert-webhook.sh: the reference alert stream posted to a
# webhook (a recording server on 127.0.0.1), once per event however often
# USGS revises it, on two real snapshots of the same feed.

load helpers/common

SCRIPT="$CSA_SRCDIR/examples/alert-webhook.sh"

teardown() {
	kill_bg
}

# start_hook [--fail N]: the recording receiver; sets HOOK_URL, HOOK_LOG.
start_hook() {
	HOOK_LOG="$BATS_TEST_TMPDIR/posts.$RANDOM"
	rm -f "$BATS_TEST_TMPDIR/hook.port"
	bg "$PY" "$HELPERS/webhook_server.py" "$BATS_TEST_TMPDIR/hook.port" "$HOOK_LOG" "$@"
	wait_for 10 '[ -s "$BATS_TEST_TMPDIR/hook.port" ]'
	HOOK_URL="http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/hook.port")/quake/T0KEN$RANDOM"
}

# The events of two polls 11 days apart, as csa-usgs-fetch -s writes
# them: all of the first, then the new and revised ones of the second.
two_polls() {
	csa-usgs-fetch -s "$BATS_TEST_TMPDIR/usgs.state" \
		--url "file://$DATA/usgs/utero_4.5_month_20140321.geojson" > "$BATS_TEST_TMPDIR/events"
	csa-usgs-fetch -s "$BATS_TEST_TMPDIR/usgs.state" \
		--url "file://$DATA/usgs/utero_4.5_month_20140401.geojson" >> "$BATS_TEST_TMPDIR/events"
}

# want: the posts the rule makes, by python alone: each event of M >= 6.0
# in input order unless one of its ids (event_id and "ids") came before
# in a post, as the reference query's columns.
want() {
	"$PY" - "$BATS_TEST_TMPDIR/events" <<-'PYEOF'
	import datetime, json, sys
	seen = set()
	for line in open(sys.argv[1]):
	    e = json.loads(line)
	    if e["magnitude"] is None or e["magnitude"] < 6.0:
	        continue
	    ids = {e["event_id"]} | {i for i in (e["ids"] or "").split(",") if i}
	    if ids & seen:
	        continue
	    seen |= ids
	    t = datetime.datetime.fromtimestamp(e["time"] / 1000, datetime.timezone.utc)
	    row = {"event_id": e["event_id"], "magnitude": e["magnitude"], "place": e["place"],
	           "region": e["region"], "detected_at": t.strftime("%Y-%m-%dT%H:%M:%S.") +
	           "%03dZ" % (e["time"] % 1000), "alert_type": "MAGNITUDE_SPIKE"}
	    print("application/json\t" + json.dumps(row, separators=(",", ":"), ensure_ascii=False))
	PYEOF
}

# same_posts WANT LOG: the same posts, in the same order, each body the
# same JSON (python writes 6.0 where jq and csa-window write 6).
same_posts() {
	diff <(cut -f1 "$1") <(cut -f1 "$2")
	diff <(cut -f2 "$1" | jq -c .) <(cut -f2 "$2" | jq -c .)
}

@test "each event of M >= 6.0 is posted once: revisions, and a restart, post nothing more" {
	two_polls
	# The second poll revised some strong events: the rule has work to do.
	revised=$(jq -r 'select(.magnitude >= 6) | .event_id' "$BATS_TEST_TMPDIR/events" | sort | uniq -d | wc -l)
	echo "# $revised strong events revised in the second poll" >&3
	[ "$revised" -ge 3 ]
	start_hook
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_success
	[ -z "$stderr" ]
	want > "$BATS_TEST_TMPDIR/want"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/want")" -ge 10 ]
	same_posts "$BATS_TEST_TMPDIR/want" "$HOOK_LOG"
	# A restart over the same events: every id is in the seen file.
	cp "$HOOK_LOG" "$BATS_TEST_TMPDIR/before"
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_success
	diff "$BATS_TEST_TMPDIR/before" "$HOOK_LOG"
}

@test "a revision under another id of the event (USGS merged the solutions) is not posted again" {
	ev() { printf '{"event_id":"%s","magnitude":%s,"place":"p","time":1767261600000,"region":"us-west","ids":"%s"}\n' "$@"; }
	{
		ev ci1 6.1 ,ci1,
		ev ci1 6.3 ,ci1,                 # revised: same id
		ev us9 6.4 ,ci1,us9,             # the preferred id changed
		ev nc2 5.9 ,nc2,                 # under the threshold
		ev nc2 6.0 ,nc2,                 # revised up to it: its first alert
		ev us3 7 ,us3,
	} > "$BATS_TEST_TMPDIR/events"
	start_hook
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_success
	[ "$(cut -f2 "$HOOK_LOG" | jq -r '"\(.event_id) \(.magnitude)"' | tr '\n' ' ')" = "ci1 6.1 nc2 6 us3 7 " ]
	want > "$BATS_TEST_TMPDIR/want"
	same_posts "$BATS_TEST_TMPDIR/want" "$HOOK_LOG"
	# The seen file holds every id of the events posted.
	[ "$(sort "$BATS_TEST_TMPDIR/seen" | tr '\n' ' ')" = "ci1 nc2 us3 " ]
}

@test "a receiver that fails: retried, then said, exit 4, not recorded; posted at the event's next coming" {
	ev() { printf '{"event_id":"%s","magnitude":%s,"place":"p","time":1767261600000,"region":"us-west","ids":",%s,"}\n' "$1" "$2" "$1"; }
	{ ev a 6.5; ev b 6.1; } > "$BATS_TEST_TMPDIR/events"
	# 503 for the first post and its three retries; b goes through.
	start_hook --fail 4
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_failure 4
	[[ "$stderr" == *": a: the post to the webhook failed; kept for the event's next revision"* ]]
	[ "$(cut -f2 "$HOOK_LOG" | jq -r .event_id)" = b ]
	[ "$(cat "$BATS_TEST_TMPDIR/seen")" = b ]
	# a comes again (revised, or the stream replayed): posted now; b not.
	{ ev a 6.6; ev b 6.1; } > "$BATS_TEST_TMPDIR/events"
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_success
	[ "$(cut -f2 "$HOOK_LOG" | jq -r '"\(.event_id) \(.magnitude)"' | tr '\n' ' ')" = "b 6.1 a 6.6 " ]
}

@test "a bad line is csa-window's: said, exit 1, the alerts still go out" {
	{ echo 'not json'; printf '%s\n' '{"event_id":"a","magnitude":6.5,"time":1767261600000}'; } \
		> "$BATS_TEST_TMPDIR/events"
	start_hook
	ALERT_WEBHOOK_URL=$HOOK_URL run --separate-stderr "$SCRIPT" "$BATS_TEST_TMPDIR/seen" < "$BATS_TEST_TMPDIR/events"
	assert_failure 1
	[[ "$stderr" == *"csa-window: <stdin>:1: invalid JSON"* ]]
	[ "$(cut -f2 "$HOOK_LOG" | jq -r .event_id)" = a ]
	ALERT_WEBHOOK_URL= run --separate-stderr "$SCRIPT"
	assert_failure 2
	[[ "$stderr" == *"usage: ALERT_WEBHOOK_URL=URL "* ]]
}

@test "the webhook's URL, its secret, is on no command line while a post waits" {
	printf '%s\n' '{"event_id":"a","magnitude":6.5,"time":1767261600000}' > "$BATS_TEST_TMPDIR/events"
	start_hook --delay 3
	# (bash -c: a command put in the background reads /dev/null otherwise)
	ALERT_WEBHOOK_URL=$HOOK_URL bg bash -c 'exec "$0" "$1" < "$2"' "$SCRIPT" \
		"$BATS_TEST_TMPDIR/seen" "$BATS_TEST_TMPDIR/events"
	# curl is waiting for the answer: its command line, and every other,
	# is without the URL's token.  Only a curl of this script's counts
	# (its parent is one of the script's subshells): another suite's, in
	# scripts/fresh-debian's root beside this one, would end the wait early.
	wait_for 10 'pgrep -P "$(pgrep -d, -f "$SCRIPT")" -f "curl -fsS --retry 3" > /dev/null'
	token=${HOOK_URL##*/}
	procs=$(pgrep -af "$token" || true)
	[ -z "$procs" ] || { echo "the URL is on a command line: $procs"; return 1; }
	wait_for 10 '[ -s "$HOOK_LOG" ]'
}
