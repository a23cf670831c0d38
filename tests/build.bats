#!/usr/bin/env bats
# The build's promises: man pages that lint clean and document every option.

load helpers/common

commands() {
	local c
	for c in "$CSA_SRCDIR"/cmd/csa-*.c; do
		basename "$c" .c
	done
}

@test "every command has a man page, and every man page is clean under mandoc -Tlint" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	for c in $(commands); do
		[ -f "$CSA_SRCDIR/man/$c.1" ] || { echo "no man page for $c"; return 1; }
	done
	# Warnings and errors only: the style notes (our pages cite each other
	# before they are installed) go to stdout while the system's notes go to
	# stderr, and the two streams interleave mid-line when filtered together.
	run mandoc -Tlint -W warning "$CSA_SRCDIR"/man/*.[17]
	assert_success
	assert_output ""
}

@test "every long option in --help is documented in the man page, and back" {
	for c in $(commands); do
		# The examples at the end may use other commands' options.
		help=$("$c" --help | sed '/^Examples:/,/^$/d' | grep -oE -- '--[a-z][a-z-]+' | sort -u)
		[ -n "$help" ]
		man=$(grep -oE 'Fl \\-[a-z][a-z-]+' "$CSA_SRCDIR/man/$c.1" | sed 's/Fl \\-/--/' | sort -u)
		[ "$help" = "$man" ] || { diff <(echo "$help") <(echo "$man"); return 1; }
	done
}

@test "every --help ends with examples that parse, each naming its command" {
	for c in $(commands); do
		"$c" --help | sed -n '/^Examples:/,/^$/p' > "$BATS_TEST_TMPDIR/ex"
		[ "$(grep -c "^  .*$c" "$BATS_TEST_TMPDIR/ex")" -ge 2 ] || { echo "$c"; return 1; }
		while IFS= read -r line; do
			bash -n -c "${line%%  #*}" || { echo "$c: $line"; return 1; }
		done < <(grep '^  ' "$BATS_TEST_TMPDIR/ex")
		awk 'length > 80 { bad = 1 } END { exit bad }' "$BATS_TEST_TMPDIR/ex"
	done
}

@test "every command answers --help and --version with status 0 on stdout" {
	for c in $(commands); do
		run --separate-stderr "$c" --help
		assert_success
		[ -z "$stderr" ]
		assert_line --index 0 --partial "Usage: $c"
		run --separate-stderr "$c" --version
		assert_success
		assert_line --index 0 --partial "$c (csa-streaming)"
		# The licence of LICENSE, on the last line.
		[ "${lines[-1]}" = "License: MIT" ]
		[ "$(grep -c '^License:' <<< "$output")" -eq 1 ]
	done
	grep -qx 'MIT License' "$CSA_SRCDIR/LICENSE"
}

@test "every command's exit statuses in its man page match csa(7)" {
	for c in $(commands); do
		for n in 0 1 2 3 4; do
			grep -qE "^\.It $n\$" "$CSA_SRCDIR/man/$c.1" || { echo "$c.1 lacks exit status $n"; return 1; }
		done
	done
}

@test "no absolute path of the build machine in the sources" {
	run grep -rlF -- "$CSA_SRCDIR/" "$CSA_SRCDIR/cmd" "$CSA_SRCDIR/common" "$CSA_SRCDIR/man" "$CSA_SRCDIR/README.md"
	assert_failure 1
}

@test "make install DESTDIR=... installs every command and man page, and man finds them" {
	run make -C "$CSA_BUILDDIR" install DESTDIR="$BATS_TEST_TMPDIR/root" prefix=/usr/local
	assert_success
	for c in $(commands); do
		[ -x "$BATS_TEST_TMPDIR/root/usr/local/bin/$c" ]
		[ -f "$BATS_TEST_TMPDIR/root/usr/local/share/man/man1/$c.1" ]
	done
	[ -f "$BATS_TEST_TMPDIR/root/usr/local/share/man/man7/csa.7" ]
	if command -v man >/dev/null; then
		run env MANPATH="$BATS_TEST_TMPDIR/root/usr/local/share/man" man -w csa-usgs-fetch
		assert_output --partial "man1/csa-usgs-fetch.1"
	fi
}

@test "the distribution (make distdir) holds every file git tracks" {
	# distcheck runs only a few test files from the tarball (.ci/run), so
	# what the others need is checked here instead: all of it is there.
	[ -e "$CSA_SRCDIR/.git" ] && command -v git > /dev/null || skip "not in a git clone"
	local d=$BATS_TEST_TMPDIR/dist
	run make -s -C "$CSA_BUILDDIR" distdir distdir="$d" top_distdir="$d"
	assert_success
	(cd "$d" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) > "$BATS_TEST_TMPDIR/in-dist"
	# git's own file is the one left out on purpose.
	git -C "$CSA_SRCDIR" ls-files | grep -v -x '.gitignore' | LC_ALL=C sort > "$BATS_TEST_TMPDIR/tracked"
	run comm -23 "$BATS_TEST_TMPDIR/tracked" "$BATS_TEST_TMPDIR/in-dist"
	assert_output ""
}
