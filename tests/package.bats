#!/usr/bin/env bats
# What a user installs: make install's files, the bash completion, and the
# Debian package that debian/ builds from a clean tree.

load helpers/common

commands() {
	local c
	for c in "$CSA_SRCDIR"/cmd/csa-*.c; do
		basename "$c" .c
	done
}

# complete WORD...: the completions bash offers for the last WORD of the
# command line WORD..., one a line, sorted.
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_csa 2>/dev/null
	printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort
}

@test "make install puts the completion, the units and the examples where they belong" {
	local dest="$BATS_TEST_TMPDIR/root"
	make -C "$CSA_BUILDDIR" install DESTDIR="$dest" > "$BATS_TEST_TMPDIR/install.log" 2>&1 ||
		{ tail -n 20 "$BATS_TEST_TMPDIR/install.log"; return 1; }
	prefix=$(sed -n 's/^prefix = //p' "$CSA_BUILDDIR/Makefile")
	comp=$(find "$dest" -path '*/bash-completion/completions' -type d)
	[ "$comp" = "$dest$prefix/share/bash-completion/completions" ]
	for c in $(commands); do
		[ -x "$dest$prefix/bin/$c" ]
		# bash-completion loads the file named for the command.
		cmp "$comp/$c" "$CSA_SRCDIR/completion/csa-streaming.bash"
		bash -c '. "$1" && complete -p "$2"' _ "$comp/$c" "$c" | grep -q -- "-F _csa $c\$"
	done
	for f in $(cd "$CSA_SRCDIR/examples" && find . -type f ! -path './systemd/*'); do
		cmp "$CSA_SRCDIR/examples/$f" "$dest$prefix/share/doc/csa-streaming/examples/$f"
	done
	[ -x "$dest$prefix/share/doc/csa-streaming/examples/local-pipeline.sh" ]
	units=$(find "$dest" -name 'csa-*.service' | sort)
	[ "$(echo "$units" | wc -l)" -eq 2 ]
	for u in $units; do
		cmp "$u" "$CSA_SRCDIR/examples/systemd/${u##*/}"
	done
	if command -v systemd-analyze > /dev/null; then
		# shellcheck disable=SC2086
		run systemd-analyze verify $units
		assert_success
		assert_output ""
	fi
	make -C "$CSA_BUILDDIR" uninstall DESTDIR="$dest" > /dev/null 2>&1
	[ -z "$(find "$dest" -type f -o -type l)" ]
}

@test "bash completion: every command's long options, as its man page lists them" {
	. "$CSA_SRCDIR/completion/csa-streaming.bash"
	for c in $(commands); do
		got=$(complete_words "$c" --)
		man=$(grep -oE 'Fl \\-[a-z][a-z0-9-]+' "$CSA_SRCDIR/man/$c.1" | sed 's/Fl \\-/--/' | sort -u)
		[ "$got" = "$man" ] || { diff <(echo "$got") <(echo "$man"); return 1; }
	done
	# Short options too, and a prefix picks among them.
	[ "$(complete_words csa-usgs-fetch --fe)" = "--feed" ]
	[[ "$(complete_words csa-usgs-fetch -)" == *$'\n'-f$'\n'* ]]
	[ "$(complete_words csa-window --la)" = $'--late\n--late-output' ]
}

@test "bash completion: csa-usgs-fetch -f offers USGS feeds, values come from the usage line" {
	. "$CSA_SRCDIR/completion/csa-streaming.bash"
	# The bundled feeds were fetched from USGS under these names.
	for f in all_day all_week significant_month 4.5_month; do
		complete_words csa-usgs-fetch -f "${f%%_*}" | grep -qx "$f"
	done
	[ "$(complete_words csa-usgs-fetch -f all_ | wc -l)" -eq 4 ]
	[ "$(complete_words csa-usgs-fetch --feed = 2.5_h)" = 2.5_hour ]
	[ "$(complete_words csa-window -a x --late '')" = $'adjust\ndrop' ]
	[ "$(complete_words csa-capture-read --body s)" = $'skip\nstring' ]
	# A file where a file is wanted; nothing made up where an expression is.
	[ "$(complete_words csa-window --state "$CSA_SRCDIR/NEW")" = "$CSA_SRCDIR/NEWS" ]
	[ -z "$(complete_words csa-window --where "$CSA_SRCDIR/NEW")" ]
}

@test "bash completion: event hub and group names of the hub, which it never creates" {
	. "$CSA_SRCDIR/completion/csa-streaming.bash"
	export CSA_HUB="$BATS_TEST_TMPDIR/hub"
	# No hub: no names, and still no hub.
	[ -z "$(complete_words csa-eh-recv -n '')" ]
	[ ! -e "$CSA_HUB" ]
	csa-usgs-fetch --url "file://$DATA/usgs/ernestocd_significant_month.geojson" |
		csa-eh-send -n quakes
	csa-eh-send < /dev/null
	csa-eh-recv -n quakes -g speed -e > /dev/null
	csa-eh-recv -n quakes -g batch -e > /dev/null
	[ "$(complete_words csa-eh-recv -n '')" = events ]
	[ "$(complete_words csa-eh-recv -n quakes -g '')" = $'batch\nspeed' ]
	[ "$(complete_words csa-eh-recv -H "$CSA_HUB" -n quakes --group s)" = speed ]
	# What csa-eh-recv --list says, independently.
	[ "$(csa-eh-recv -n quakes --list | jq -r 'select(.group) | .group' | sort -u)" = $'batch\nspeed' ]
}
