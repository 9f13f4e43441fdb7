# bash completion for mmsync(1)                            -*- shell-script -*-
#
# `make install` puts this file where bash-completion loads it on demand
# ($(PREFIX)/share/bash-completion/completions/mmsync); without the
# bash-completion package, source it from ~/.bashrc.
#
# Completes the global options, the command names, each command's options
# (as in its getopt table), the subcommands of conflicts, peer and bundle,
# peer names where a PEER goes (from `mmsync [-C DIR] peer list`), open
# conflicts for `conflicts show|resolve` (from `mmsync [-C DIR] conflicts
# list`) and files and directories for PATH, FILE and DIR.  Fingerprints,
# names, durations and the like are never guessed.  At most one mmsync run
# per completion, its errors silenced: outside a replica, nothing comes.

# The commands of cmd/main.c's table.
# shellcheck disable=SC2086 # (the lists below are split on purpose)
_mmsync_commands='init id scan status clone pull push sync peer serve trust untrust conflicts bundle log check gc help'
# The options of every command that take a value (the next word, or --opt=VALUE).
_mmsync_valued=' --name --ssh --remote-mmsync --fingerprint --timeout --listen --since --for -n '

# Sets `opts` to the options of command $1 (its getopt longopts).
_mmsync_cmd_opts()
{
	local peer='--ssh --remote-mmsync --fingerprint --timeout --progress --force'
	case $1 in
	init | trust) opts='--name' ;;
	clone) opts="--name $peer" ;;
	pull | push) opts=$peer ;;
	sync) opts="--all $peer" ;;
	peer) opts='--fingerprint' ;;
	serve) opts='--stdio --tls --listen --timeout' ;;
	conflicts) opts='--ours --theirs' ;;
	log) opts='-n --since' ;;
	scan) opts='--progress --force' ;;
	check) opts='--progress' ;;
	bundle) opts='--for --progress --force' ;;
	*) opts= ;;
	esac
	opts+=${opts:+ }--help
}

# Sets `opt` to the option of `opts` that word $1 names: itself, or the one
# long option it abbreviates (as getopt_long allows); empty when none.
_mmsync_which_opt()
{
	local o n=0
	opt=
	for o in $opts; do
		if [[ $o == "$1" ]]; then
			opt=$o
			return
		fi
		[[ $1 == --?* && $o == "$1"* ]] && opt=$o && ((n++))
	done
	((n == 1)) || opt=
}

# Whether word $1 is a shell operator (never glued to its neighbours).
_mmsync_is_op()
{
	[[ -n $1 && -z ${1//[<>|&;()]/} ]]
}

# Without bash-completion: sets words, cword and cur from COMP_WORDS, gluing
# back the pieces that COMP_WORDBREAKS split off (--opt=VALUE, HOST:PATH,
# USER@HOST) when nothing separates them in COMP_LINE; cur stops at the cursor.
_mmsync_get_words()
{
	local line i w lead last='' n=0
	words=() cword=0
	if [[ -z ${COMP_LINE-} ]]; then
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]-}
		return
	fi
	line=${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}
	for ((i = 0; i <= COMP_CWORD; i++)); do
		lead=${line%%[![:space:]]*}
		line=${line#"$lead"}
		if ((i == COMP_CWORD)); then
			w=$line
		else
			w=${COMP_WORDS[i]-}
			if [[ $line != "$w"* ]]; then
				# COMP_LINE does not match COMP_WORDS: take the words as they are
				words=("${COMP_WORDS[@]}")
				cword=$COMP_CWORD
				cur=${COMP_WORDS[COMP_CWORD]-}
				return
			fi
			line=${line#"$w"}
		fi
		if ((n > 0)) && [[ -z $lead ]] && ! _mmsync_is_op "$w" && ! _mmsync_is_op "$last"; then
			words[n - 1]+=$w
		else
			words[n++]=$w
		fi
		last=$w
	done
	cword=$((n - 1))
	cur=${words[cword]}
}

# Runs mmsync with the -C DIR given on the line (if any) and arguments $@;
# standard error and failures silenced.
_mmsync_run()
{
	local prog=${words[0]:-mmsync}
	# shellcheck disable=SC2088 # a literal ~ on the line
	[[ $prog == '~/'* ]] && prog=$HOME/${prog#'~/'}
	type -P -- "$prog" >/dev/null 2>&1 || [[ -x $prog ]] || prog=mmsync
	if [[ -n $cdir ]]; then
		"$prog" -C "$cdir" "$@" </dev/null 2>/dev/null
	else
		"$prog" "$@" </dev/null 2>/dev/null
	fi
}

# Adds to COMPREPLY the words of $@ that begin with cur.
_mmsync_add()
{
	local w
	for w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
}

# Adds the names of the configured peers (the first field of `peer list`).
_mmsync_peers()
{
	local out name rest
	out=$(_mmsync_run peer list) || return 0
	while IFS=$'\t' read -r name rest; do
		[[ -n $name ]] && _mmsync_add "$name"
	done <<<"$out"
}

# Decodes a path that mmsync printed in C-style quotes ("a\tb"); sets `path`.
_mmsync_unquote()
{
	local s=${1:1:${#1}-2} c
	path=
	while [[ -n $s ]]; do
		c=${s:0:1}
		s=${s:1}
		if [[ $c != \\ ]]; then
			path+=$c
			continue
		fi
		c=${s:0:1}
		s=${s:1}
		case $c in
		n) path+=$'\n' ;;
		t) path+=$'\t' ;;
		r) path+=$'\r' ;;
		[0-7])
			# shellcheck disable=SC2059 # the octal escape is the format
			printf -v c "\\$c${s:0:2}"
			path+=$c
			s=${s:2}
			;;
		*) path+=$c ;;
		esac
	done
}

# Adds the paths of the open conflicts (the first field of `conflicts list`,
# which exits 1 when there are some).
_mmsync_conflicts()
{
	local out rc path rest
	out=$(_mmsync_run conflicts list)
	rc=$?
	((rc == 0 || rc == 1)) || return 0
	compopt -o filenames 2>/dev/null
	while IFS=$'\t' read -r path rest; do
		[[ -n $path ]] || continue
		[[ $path == \"*\" ]] && _mmsync_unquote "$path"
		_mmsync_add "$path"
	done <<<"$out"
}

# Adds the files (directories only with -d) whose names begin with cur.
_mmsync_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen "${1:--f}" -- "$cur")
}

# Sets variable $2 to $1 without its backslash escapes (a\ b: a b).
_mmsync_unescape()
{
	local s=$1 out=
	while [[ $s == *\\* ]]; do
		out+=${s%%\\*}
		s=${s#*\\}
		out+=${s:0:1}
		s=${s:1}
	done
	printf -v "$2" %s "$out$s"
}

# Whether cur is written as a path (a peer given by its path rather than its name).
_mmsync_pathlike()
{
	[[ $cur == [/.~]* || $cur == */* ]]
}

# Completes a PEER: names of configured peers, or directories for a path.
_mmsync_peer_arg()
{
	if _mmsync_pathlike; then
		_mmsync_files -d
	else
		_mmsync_peers
	fi
}

# Completes the value of option $1.
_mmsync_value()
{
	case $1 in
	--for) _mmsync_peers ;;
	--ssh) mapfile -t -O ${#COMPREPLY[@]} COMPREPLY < <(compgen -c -- "$cur") ;;
	esac
	# --fingerprint, --name, --timeout, --since, --listen, -n, --remote-mmsync
	# (a path on the ssh host): nothing to offer
}

_mmsync()
{
	# shellcheck disable=SC2034 # prev: set by _init_completion, unused here
	local cur prev words cword
	local word pre='' quoted='' cdir='' atdir='' cmd='' i j w opt opts
	local -a pos=()
	local IFS=$' \t\n'
	COMPREPLY=()
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n "=:@" || return 0
	else
		_mmsync_get_words
	fi
	word=$cur

	# global options, up to the command
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		-C)
			if ((i + 1 < cword)); then
				cdir=${words[i + 1]}
			else
				atdir=1
			fi
			((i++))
			;;
		-C?*) cdir=${w#-C} ;;
		-?*) ;;
		*)
			cmd=$w
			break
			;;
		esac
	done
	if [[ -n $cdir ]]; then
		# -C as the shell would see it: quotes off, ~ expanded
		case $cdir in
		\'*\') cdir=${cdir:1:${#cdir}-2} ;;
		\"*\") cdir=${cdir:1:${#cdir}-2} ;;
		*) _mmsync_unescape "$cdir" cdir ;;
		esac
		# shellcheck disable=SC2088 # a literal ~ on the line
		[[ $cdir == '~' || $cdir == '~/'* ]] && cdir=$HOME${cdir#'~'}
	fi

	# the word under the cursor: a prefix that is no part of the value
	# (-CDIR, --opt=VALUE), then the value, quotes off
	if [[ -z $cmd && $cur == -C?* ]]; then
		pre=-C
	elif [[ -n $cmd && $cur == --*=* ]]; then
		pre=${cur%%=*}=
	fi
	cur=${cur#"$pre"}
	case $cur in
	\'* | \"*)
		quoted=1
		cur=${cur:1}
		;;
	*) _mmsync_unescape "$cur" cur ;;
	esac

	if [[ -z $cmd ]]; then
		if [[ -n $atdir || $pre == -C ]]; then
			_mmsync_files -d
		elif [[ $cur == -* ]]; then
			_mmsync_add -C -q -v --quiet --verbose --json --help --version
		else
			_mmsync_add $_mmsync_commands
		fi
		_mmsync_fix_replies
		return 0
	fi

	# the command's words before the cursor: options (and their values) and positionals
	local valof='' dashdash='' all='' side=''
	_mmsync_cmd_opts "$cmd"
	for ((j = i + 1; j < cword; j++)); do
		w=${words[j]}
		if [[ -n $dashdash ]]; then
			pos+=("$w")
			continue
		fi
		if [[ -n $valof ]]; then
			valof=
			continue
		fi
		case $w in
		--) dashdash=1 ;;
		--?*)
			_mmsync_which_opt "${w%%=*}"
			case $opt in
			--all) all=1 ;;
			--ours | --theirs) side=1 ;;
			esac
			[[ $w != *=* && -n $opt && $_mmsync_valued == *" $opt "* ]] && valof=$opt
			;;
		-n) [[ $cmd == log ]] && valof=-n ;;
		-?*) ;;
		*) pos+=("$w") ;;
		esac
	done

	if [[ -n $valof ]]; then
		_mmsync_value "$valof"
	elif [[ -n $pre ]]; then
		_mmsync_which_opt "${pre%=}"
		[[ -n $opt ]] && _mmsync_value "$opt"
	elif [[ -z $dashdash && $cur == -* ]]; then
		# options that go with the subcommand given (getopt takes them anywhere)
		case $cmd:${pos[0]-} in
		conflicts:list | conflicts:show) opts='--help' ;;
		conflicts:*) [[ -n $side ]] && opts='--help' ;;
		peer:add | peer:) ;;
		peer:*) opts='--help' ;;
		bundle:) ;;
		bundle:create) opts='--for --force --help' ;;
		bundle:apply) opts='--progress --force --help' ;;
		bundle:*) opts='--help' ;;
		esac
		_mmsync_add $opts
	else
		local n=${#pos[@]}
		case $cmd in
		init) ((n == 0)) && _mmsync_files -d ;;
		clone) ((n < 2)) && _mmsync_files -d ;;
		pull | push)
			if ((n == 0)); then
				_mmsync_peer_arg
			else
				_mmsync_files
			fi
			;;
		sync)
			if [[ -n $all ]]; then
				_mmsync_files
			elif ((n == 0)); then
				_mmsync_peer_arg
			else
				# more peers, or the PATHs
				_mmsync_pathlike || _mmsync_peers
				_mmsync_files
			fi
			;;
		peer)
			case $n:${pos[0]-} in
			0:*) _mmsync_add add list remove ;;
			1:remove) _mmsync_peers ;;
			2:add) _mmsync_pathlike && _mmsync_files -d ;;
			esac
			;;
		conflicts)
			case $n:${pos[0]-} in
			0:*) _mmsync_add list show resolve ;;
			1:show | 1:resolve) _mmsync_conflicts ;;
			esac
			;;
		bundle)
			case $n:${pos[0]-} in
			0:*) _mmsync_add create apply list ;;
			*:create | 1:apply | 1:list) _mmsync_files ;;
			esac
			;;
		help) ((n == 0)) && _mmsync_add $_mmsync_commands ;;
		esac
	fi
	_mmsync_fix_replies
	return 0
}

# Turns the values in COMPREPLY into what replaces the text readline
# completes: that text starts after the last COMP_WORDBREAKS character of
# the word (--opt=VALUE, HOST:PATH), or after an opening quote.
_mmsync_fix_replies()
{
	local brk k r rest trim
	[[ -n $quoted ]] && return
	brk=${COMP_WORDBREAKS-}
	brk=${brk//[[:space:]\"\'<>;|&(]/}
	brk=${brk//[\]\\^]/}
	rest=$word
	[[ -n $brk ]] && rest=${word##*["$brk"]}
	trim=$((${#word} - ${#rest}))
	for k in "${!COMPREPLY[@]}"; do
		r=$pre${COMPREPLY[k]}
		[[ ${r:0:trim} == "${word:0:trim}" ]] && COMPREPLY[k]=${r:trim}
	done
}

complete -F _mmsync mmsync
