# load-files.sh: sourced by load-postgres.sh and load-sqlite.sh: their
# options, and the files to load, given to the loader's two functions:
#
#   load_one VIEW PART FILE   upsert FILE's rows; delete the rows of PART
#                             that FILE no longer holds
#   load_prune VIEW PARTS     delete the rows of VIEW's parts other than
#                             PARTS (one a line): partitions removed since
#
# PART names the rows a file replaces.  A PATH is
#   - a view tree (csa-batch-agg --out DIR): every DIR/VIEW/.../*.ndjson,
#     VIEW the directory under DIR, PART the file's path under it;
#   - one view's directory (DIR/VIEW, holding date=... directories): the
#     same, VIEW its name;
#   - a file (a merged view, a speed view): VIEW from --view, else the
#     file's name without .ndjson, PART the whole view ("*").
# Hidden files (a writer's temporary files) are left out, as csa-merge
# leaves them out.

usage="usage: $0 [-d DB] [-t TABLE] [--view NAME] PATH..."
db= table=csa_rows view=
while [ $# -gt 0 ]; do
	case $1 in
	-d) db=$2; shift 2 ;;
	-t) table=$2; shift 2 ;;
	--view) view=$2; shift 2 ;;
	--) shift; break ;;
	-*) echo "$usage" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }

# The files of PATH as lines "VIEW<TAB>PART<TAB>FILE".
load_files() {
	local path=${1%/} dir v
	if [ -f "$path" ]; then
		printf '%s\t*\t%s\n' "${view:-$(basename "$path" .ndjson)}" "$path"
		return
	fi
	[ -d "$path" ] || { echo "$0: $path: no such file or directory" >&2; return 3; }
	if compgen -G "$path/date=*" > /dev/null; then
		set -- "$path"
	else
		set -- $(find "$path" -mindepth 1 -maxdepth 1 -type d ! -name '.*' | sort)
	fi
	for dir in "$@"; do
		v=${view:-$(basename "$dir")}
		(cd "$dir" && find . -name '*.ndjson' ! -path '*/.*' | sed 's|^\./||' | sort) |
			while IFS= read -r f; do printf '%s\t%s\t%s\n' "$v" "$f" "$dir/$f"; done
	done
}

# Every PATH of the command line, a file at a time.
load_paths() {
	local path list v p f
	for path in "$@"; do
		list=$(load_files "$path")
		while IFS=$'\t' read -r v p f; do
			load_one "$v" "$p" "$f" || { echo "$0: $f: not loaded" >&2; exit 1; }
		done <<< "$list"
		[ -d "$path" ] || continue
		for v in $(cut -f1 <<< "$list" | sort -u); do
			load_prune "$v" "$(awk -F'\t' -v v="$v" '$1 == v { print $2 }' <<< "$list")"
		done
	done
}
