#!/bin/bash
# examples/alert-webhook.sh [SEEN]: the reference alert stream as a
# webhook.  Events come on standard input (csa-eh-recv, csa-usgs-fetch);
# each one of magnitude 6.0 or more is posted as JSON by curl, the moment
# it is read (csa-window --select flushes every row), to the URL in
# ALERT_WEBHOOK_URL, e.g.
#
#   export ALERT_WEBHOOK_URL=$(cat ~/.config/csa/webhook)
#   csa-eh-recv -g alerts | examples/alert-webhook.sh
#
# A webhook's URL is its secret (it holds the token), so it is read from
# the environment and handed to curl as a config on a pipe, never on a
# command line that ps shows.
#
# USGS sends an event again each time it is revised (a new magnitude, a
# reviewed status), sometimes under another of its ids once networks
# merge their solutions: an alert is for the event, so an event whose id,
# or any id in its "ids", was posted before is not posted again.  The ids
# posted are kept in SEEN (default $XDG_STATE_HOME/csa/alerts.seen), one
# a line, the newest 10000, so a restart does not repeat them either.
# They are written there only after the receiver took the post (curl -f,
# with retries): a post that fails is said on standard error and tried
# again when the event comes again.  ALERT_WHERE replaces the filter (a
# jq expression).
#
# Exit status: 0, or 4 when a post failed; csa-window's status when it
# failed (1: bad lines were skipped); 2 for a usage fault.
set -u
if [ $# -gt 1 ] || [ -z "${ALERT_WEBHOOK_URL:-}" ]; then
	echo "usage: ALERT_WEBHOOK_URL=URL $0 [SEEN]" >&2
	exit 2
fi
url=$ALERT_WEBHOOK_URL
seen=${1:-${XDG_STATE_HOME:-$HOME/.local/state}/csa/alerts.seen}
where=${ALERT_WHERE:-.magnitude >= 6.0}
keep=10000
mkdir -p "$(dirname "$seen")" && touch "$seen" || exit 3

# The reference query, column for column, and the ids for the rule
# against repeats (taken out again before the post).
select='event_id,magnitude,place,region,detected_at=System.Timestamp(),alert_type="MAGNITUDE_SPIKE",ids'

# curl's config syntax: the URL in quotes, its quotes and backslashes escaped.
quoted=${url//\\/\\\\}
quoted=${quoted//\"/\\\"}
post() {
	curl -fsS --retry 3 --retry-delay 1 --max-time 30 \
		-H 'Content-Type: application/json' --data-binary @- \
		--config <(printf 'url = "%s"\n' "$quoted") > /dev/null
}

# csa-window's status goes to fd 3 of the pipeline's subshell, so that
# the loop's own status (a failed post) and the window's both count.
status=$({
	{ csa-window --where "$where" --select "$select"; echo "window $?" >&3; } |
	{
		failed=0
		while IFS= read -r row; do
			ids=$(printf '%s\n' "$row" | jq -r '[.event_id] + ((.ids // "") | split(",")) |
				map(select(. != null and . != "")) | unique | .[]')
			[ -n "$ids" ] || continue
			# A revision of an event already posted: no second alert.
			printf '%s\n' "$ids" | grep -qxF -f "$seen" && continue
			if printf '%s\n' "$row" | jq -cj 'del(.ids)' | post; then
				printf '%s\n' "$ids" >> "$seen"
				# Keep the newest ids; replaced whole, never half written.
				if [ "$(wc -l < "$seen")" -gt "$keep" ]; then
					tail -n "$keep" "$seen" > "$seen.tmp" && mv "$seen.tmp" "$seen"
				fi
			else
				echo "$0: $(printf '%s\n' "$row" | jq -r .event_id): the post to the" \
					"webhook failed; kept for the event's next revision" >&2
				failed=1
			fi
		done
		echo "posts $failed" >&3
	}
} 3>&1 >&2)

window=$(printf '%s\n' "$status" | sed -n 's/^window //p')
[ "${window:-3}" -eq 0 ] || exit "${window:-3}"
case $status in *"posts 1"*) exit 4 ;; esac
exit 0
