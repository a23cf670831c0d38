#!/usr/bin/env bats
# What a user installs: make install's files, the bash completion, and the
# Debian package that debian/ builds from a clean tree.

load helpers/common

# Building the package is a whole build (several minutes on a busy
# machine): more than the suite's 300 s a test.
BATS_TEST_TIMEOUT=1200

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
		# Their Documentation= pages are the installed ones.
		# shellcheck disable=SC2086
		MANPATH="$dest$prefix/share/man" run systemd-analyze verify $units
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
		# Old spellings (named in --help's "Old spellings" paragraph, outside
		# its parentheses) are read but not offered.
		old=$("$c" --help | sed -n '/^Old spellings/,/^$/p' | tr '\n' ' ' | sed 's/([^)]*)//g' |
			grep -oE -- '--[a-z][a-z0-9-]+' | sort -u)
		man=$(grep -oE 'Fl \\-[a-z][a-z0-9-]+' "$CSA_SRCDIR/man/$c.1" | sed 's/Fl \\-/--/' |
			sort -u | grep -vxF -e "${old:-@none@}")
		[ "$got" = "$man" ] || { diff <(echo "$got") <(echo "$man"); return 1; }
	done
	# Short options too, and a prefix picks among them.
	[ "$(complete_words csa-usgs-fetch --fe)" = "--feed" ]
	[[ "$(complete_words csa-usgs-fetch -)" == *$'\n'-f$'\n'* ]]
	[ "$(complete_words csa-window --lat)" = $'--late\n--late-output' ]
	[ "$(complete_words csa-window --la)" = $'--late\n--late-output\n--lazy' ]
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

# The package's build takes minutes: once per CI run, in .ci/run's package
# stage (CSA_PACKAGE=1), from the git tree (a dist tarball has no history
# to archive); not in every suite (the fresh roots run two).
need_package_tools() {
	[ "${CSA_PACKAGE:-}" = 1 ] ||
		skip "the package is built once, by .ci/run (CSA_PACKAGE=1 runs it here)"
	command -v dpkg-buildpackage > /dev/null ||
		skip "no dpkg-buildpackage (./scripts/deps package installs dpkg-dev)"
	command -v dh > /dev/null && command -v dh_autoreconf > /dev/null ||
		skip "no debhelper (./scripts/deps package installs it)"
	! grep -q -- '--enable-sanitizers' "$CSA_BUILDDIR/config.status" ||
		skip "the package is built by the suite on the plain build, not again here"
	[ "$(git -C "$CSA_SRCDIR" rev-parse --show-toplevel 2>/dev/null)" = "$CSA_SRCDIR" ] ||
		skip "$CSA_SRCDIR is not a git tree to archive (a dist tarball?)"
}

@test "debian/ builds a package from a clean tree: the commands, pages, completion, units, examples" {
	need_package_tools
	local dir="$BATS_TEST_TMPDIR/pkg"
	mkdir -p "$dir/src"
	# The tree as it is (tracked files, committed or not), never its
	# build directories.
	ref=$(git -C "$CSA_SRCDIR" stash create)
	git -C "$CSA_SRCDIR" archive "${ref:-HEAD}" | tar -x -C "$dir/src"
	(cd "$dir/src" && DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
		nice dpkg-buildpackage -us -uc -b) > "$dir/build.log" 2>&1 ||
		{ tail -n 40 "$dir/build.log"; return 1; }
	deb=$(echo "$dir"/csa-streaming_*.deb)
	[ -f "$deb" ]
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\.||' > "$dir/files"
	for c in $(commands); do
		grep -qx "/usr/bin/$c" "$dir/files"
		grep -qx "/usr/share/man/man1/$c.1.gz" "$dir/files"
		grep -qx "/usr/share/bash-completion/completions/$c" "$dir/files"
	done
	grep -qx /usr/share/man/man7/csa.7.gz "$dir/files"
	for f in $(cd "$CSA_SRCDIR/examples" && find . -type f ! -path './systemd/*'); do
		grep -qx "/usr/share/doc/csa-streaming/examples/${f#./}" "$dir/files"
	done
	grep -qx /lib/systemd/system/csa-ingest.service "$dir/files"
	grep -qx /lib/systemd/system/csa-speed.service "$dir/files"
	grep -qx /usr/share/doc/csa-streaming/copyright "$dir/files"
	# Depends names the package of every library a command links, as
	# objdump and dpkg -S find them.
	depends=$(dpkg-deb -f "$deb" Depends)
	echo "Depends: $depends"
	dpkg-deb -x "$deb" "$dir/root"
	for lib in $(objdump -p "$dir"/root/usr/bin/csa-* | awk '$1 == "NEEDED" { print $2 }' | sort -u); do
		path=$(ldconfig -p | awk -v l="$lib" '$1 == l { print $NF; exit }')
		pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null || dpkg -S "$path")
		pkg=${pkg%%:*}
		[[ ", $depends," == *", $pkg "* || ", $depends," == *", $pkg,"* ]] ||
			{ echo "$lib ($pkg) is not in Depends"; return 1; }
	done
	# lintian, where there is one: what it says, and no errors.
	if command -v lintian > /dev/null; then
		run lintian --tag-display-limit 0 "$dir"/csa-streaming_*.changes
		echo "lintian: $output"
		! grep -q '^E: ' <<< "$output"
	fi
}
