# csa-streaming.bash: bash completion for the eight csa-* commands.
#
# The options come from each command's own --help, read once per shell,
# so that the completion never falls behind the commands.  Installed once
# per command name in bash-completion's directory, which loads it on the
# first TAB after that name; or source it by hand.

# _csa_help_opts CMD: from CMD --help, set _csa_opts (every long and
# short option of CMD), _csa_args (those that take a value, each with its
# placeholder, as " --feed=NAME -f=NAME ") and _csa_choices (the words a
# usage line offers, as " --late=adjust|drop ").
declare -gA _csa_opts_cache _csa_args_cache _csa_choices_cache
_csa_help_opts()
{
	local cmd=$1 line rest short long arg re
	if [[ -n ${_csa_opts_cache[$cmd]+set} ]]; then
		_csa_opts=${_csa_opts_cache[$cmd]}
		_csa_args=${_csa_args_cache[$cmd]}
		_csa_choices=${_csa_choices_cache[$cmd]}
		return
	fi
	_csa_opts='' _csa_args=' ' _csa_choices=' '
	re='\[--([a-z][a-z0-9-]*) ([a-z][a-z0-9-]*(\|[^] ]+)+)\]'
	while IFS= read -r line; do
		# A usage line's "[--late adjust|drop]".
		rest=$line
		while [[ $rest =~ $re ]]; do
			_csa_choices+="--${BASH_REMATCH[1]}=${BASH_REMATCH[2]} "
			rest=${rest#*"${BASH_REMATCH[0]}"}
		done
		# A table line: "  -f, --feed NAME   text" or "      --bare   text".
		# One space after the name and a word: the option takes that value.
		[[ $line =~ ^\ {2,6}(-([a-zA-Z]),\ )?--([a-z][a-z0-9-]*)(.*)$ ]] || continue
		short=${BASH_REMATCH[2]} long=${BASH_REMATCH[3]} rest=${BASH_REMATCH[4]}
		_csa_opts+=" --$long${short:+ -$short}"
		if [[ $rest =~ ^\ ([^\ ]+) ]]; then
			arg=${BASH_REMATCH[1]}
			_csa_args+="--$long=$arg ${short:+-$short=$arg }"
		fi
	done < <("$cmd" --help 2>/dev/null)
	_csa_opts_cache[$cmd]=$_csa_opts
	_csa_args_cache[$cmd]=$_csa_args
	_csa_choices_cache[$cmd]=$_csa_choices
}

# _csa_hub_list FIELD: the distinct values of FIELD ("eventhub" or "group")
# in csa-eh-recv --list of the embedded hub and event hub the command line
# names, or the default ones.  Only a hub directory that exists is asked,
# so that a TAB never waits on a network.
_csa_hub_list()
{
	local field=$1 hub='' eh=() i
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-H | --hub) hub=${COMP_WORDS[i + 1]} ;;
		-n | --eventhub) [[ $field == eventhub ]] || eh=(--eventhub "${COMP_WORDS[i + 1]}") ;;
		esac
	done
	if [[ -z $hub ]]; then
		[[ -z ${EVENTHUB_CONNECTION_STRING:-} ]] || return 0
		hub=${CSA_HUB:-${XDG_STATE_HOME:-$HOME/.local/state}/csa/hub}
	fi
	[[ -d $hub ]] || return 0
	csa-eh-recv --list --hub "$hub" "${eh[@]}" 2>/dev/null |
		sed -n 's/.*"'"$field"'":"\([^"]*\)".*/\1/p' | sort -u
}

# _csa_values CMD OPT PLACEHOLDER CUR: COMPREPLY for the value of OPT.
_csa_values()
{
	local cmd=$1 opt=$2 arg=$3 cur=$4 words=
	case $cmd:$opt in
	csa-usgs-fetch:-f | csa-usgs-fetch:--feed)
		# The USGS summary feeds: a magnitude class and a period.
		local m p
		for m in significant 4.5 2.5 1.0 all; do
			for p in hour day week month; do
				words+=" ${m}_$p"
			done
		done
		;;
	*:-n | *:--eventhub) words=$(_csa_hub_list eventhub) ;;
	csa-eh-recv:-g | csa-eh-recv:--group) words=$(_csa_hub_list group) ;;
	*:--preset) words=earthquake ;;
	csa-dashboard:--chart) words="1h 24h" ;;
	*)
		if [[ $opt == --* && $_csa_choices == *" $opt="* ]]; then
			# The lower-case words of the usage line's choices.
			words=${_csa_choices#*" $opt="}
			words=${words%% *}
			words=$(tr '|' '\n' <<< "$words" | grep -v '[A-Z]')
			mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
			return
		fi
		case $arg in
		*DIR*) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
		*FILE* | *PATH* | STATE) compopt -o filenames 2>/dev/null; mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		esac
		return
		;;
	esac
	mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

_csa()
{
	local cmd=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]} prev='' arg
	local _csa_opts _csa_args _csa_choices
	COMPREPLY=()
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	_csa_help_opts "$cmd"
	# --opt=value: bash splits it at "=" (COMP_WORDBREAKS).
	if [[ $cur == = ]]; then
		cur='' prev=${COMP_WORDS[COMP_CWORD - 1]}
	elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	fi
	if [[ $prev == -* && $_csa_args == *" $prev="* ]]; then
		arg=${_csa_args#*" $prev="}
		_csa_values "$cmd" "$prev" "${arg%% *}" "$cur"
		return
	fi
	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_csa_opts" -- "$cur")
		return
	fi
	# Operands: files (inputs, view directories).
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

complete -F _csa csa-usgs-fetch csa-eh-send csa-eh-recv csa-capture-read \
	csa-window csa-batch-agg csa-merge csa-dashboard
