# bash completion for outbox(1)                            -*- shell-script -*-
#
# Installed as .../bash-completion/completions/outbox. Works with or without
# the bash-completion package (its _filedir is used when it is loaded).

# Long options that take a required argument (completed as "--name=").
_outbox_long_arg=(--file --account --host --port --source-ip --proxy-host
--proxy-port --socket --timeout --connect-timeout --protocol --domain --user
--passwordeval --tls-trust-file --tls-crl-file --tls-fingerprint
--tls-key-file --tls-cert-file --tls-priorities --tls-host-override
--tls-min-dh-prime-bits --from --maildomain --dsn-notify --dsn-return
--logfile --logfile-time-format --aliases --queue --queue-dir --queue-delete
--queue-requeue --dkim-key --dkim-selector --dkim-domain
--dkim-canonicalization --dkim-headers --dkim-type --dkim-bits
--configure --rmqs)

# Long options without an argument, or whose argument is optional
# (--tls[=on|off]): completed as "--name".
_outbox_long_flag=(--version --help --pretend --debug --serverinfo --flush
--list-queue --dkim-keygen --dkim-record --check --json --auth --tls --tls-starttls
--tls-certcheck --auto-from --syslog --read-recipients --read-envelope-from
--set-from-header --set-date-header --set-msgid-header --remove-bcc-headers
--undisclosed-recipients --allow-from-override --keepbcc
--add-missing-from-header --add-missing-date-header --tls-force-sslv3)

# The configuration files outbox would read: the -C/--file given on this
# command line, else the system and user files (see outbox(1), FILES).
_outbox_config_files()
{
    local i word next file=
    for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
        [[ $i -eq $COMP_CWORD ]] && continue
        word=${COMP_WORDS[i]}
        next=${COMP_WORDS[i + 1]-}
        case $word in
        --) break ;;
        -C | --file)
            if [[ $next == = ]]; then
                file=${COMP_WORDS[i + 2]-}
            else
                file=$next
            fi
            ;;
        -C?*) file=${word#-C} ;;
        --file=?*) file=${word#--file=} ;;
        esac
    done
    if [[ -n $file ]]; then
        printf '%s\n' "${file/#\~/$HOME}"
        return
    fi
    # At each level outbox's own file wins over msmtp's when it exists.
    # outbox ignores an XDG_CONFIG_HOME that is not an absolute path.
    local config=$HOME/.config
    [[ ${XDG_CONFIG_HOME-} == /* ]] && config=$XDG_CONFIG_HOME
    local sysconf=${OUTBOX_SYSCONFDIR:-/etc}
    for file in "$sysconf/outboxrc" "$sysconf/msmtprc"; do
        [[ -e $file ]] && printf '%s\n' "$file" && break
    done
    for file in "$config/outbox/config" "$HOME/.outboxrc" \
        "$HOME/.msmtprc" "$config/msmtp/config"; do
        [[ -e $file ]] && printf '%s\n' "$file" && break
    done
}

# Account names defined in the configuration files ("account NAME [: ...]").
_outbox_accounts()
{
    local -a files=()
    local f
    while IFS= read -r f; do
        [[ -r $f ]] && files+=("$f")
    done < <(_outbox_config_files)
    ((${#files[@]})) || return 0
    awk '$1 == "account" && NF >= 2 {
            name = $2
            sub(/:.*/, "", name)
            gsub(/"/, "", name)
            if (name != "") print name
        }' "${files[@]}" 2>/dev/null | sort -u
}

_outbox_files()
{
    if declare -F _filedir >/dev/null; then
        _filedir "$@"
    elif [[ ${1-} == -d ]]; then
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
    else
        mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
}

# Complete the value of option $1 (long or short), the current word in $cur.
_outbox_value()
{
    local option=$1 words=
    case $option in
    --file | -C | --logfile | -X | --tls-trust-file | --tls-crl-file | \
        --tls-key-file | --tls-cert-file | --aliases | --dkim-key | --socket)
        _outbox_files
        return
        ;;
    --queue-dir)
        _outbox_files -d
        return
        ;;
    --passwordeval)
        mapfile -t COMPREPLY < <(compgen -c -- "$cur")
        return
        ;;
    --account | -a)
        mapfile -t COMPREPLY < <(compgen -W "$(_outbox_accounts)" -- "$cur")
        return
        ;;
    --protocol) words='smtp lmtp' ;;
    --timeout | --connect-timeout) words='off' ;;
    --auth)
        words='on off plain scram-sha-256 scram-sha-1 external gssapi
               cram-md5 digest-md5 login ntlm oauthbearer xoauth2'
        ;;
    --tls | --tls-starttls | --tls-certcheck | --auto-from | \
        --remove-bcc-headers | --undisclosed-recipients | \
        --allow-from-override | --keepbcc | --add-missing-from-header | \
        --add-missing-date-header | --tls-force-sslv3)
        words='on off'
        ;;
    --syslog)
        words='on off LOG_USER LOG_MAIL LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2
               LOG_LOCAL3 LOG_LOCAL4 LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7'
        ;;
    --set-from-header) words='auto on off' ;;
    --set-date-header | --set-msgid-header) words='auto off' ;;
    --dsn-notify | -N) words='off never success failure delay' ;;
    --dsn-return | -R) words='off full headers' ;;
    --queue) words='off on-failure always' ;;
    --queue-requeue) words='all' ;;
    --dkim-type) words='rsa ed25519' ;;
    --dkim-bits) words='2048 3072 4096' ;;
    --dkim-canonicalization)
        words='relaxed/relaxed relaxed/simple simple/relaxed simple/simple'
        ;;
    *) return ;;
    esac
    mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}

_outbox()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()

    # "--opt=value": bash splits at "=" when it is in COMP_WORDBREAKS.
    if [[ $cur == = ]] && [[ $prev == --* ]]; then
        cur=
        _outbox_value "$prev"
        return
    fi
    if [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        _outbox_value "${COMP_WORDS[COMP_CWORD - 2]}"
        return
    fi
    if [[ $cur == --*=* ]]; then
        local option=${cur%%=*}
        cur=${cur#*=}
        _outbox_value "$option"
        COMPREPLY=("${COMPREPLY[@]/#/$option=}")
        return
    fi

    # A separate argument of an option that requires one.
    case $prev in
    -C | -a | -X | -N | -R)
        _outbox_value "$prev"
        return
        ;;
    -f | -r | -F | -A | -B | -h | -L | -O | -o | -V | -b)
        return
        ;;
    --*)
        local w
        for w in "${_outbox_long_arg[@]}"; do
            if [[ $w == "$prev" ]]; then
                _outbox_value "$prev"
                return
            fi
        done
        ;;
    esac

    if [[ $cur == --* ]]; then
        mapfile -t COMPREPLY < <(compgen -W \
            "${_outbox_long_arg[*]/%/=} ${_outbox_long_flag[*]}" -- "$cur")
        if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]]; then
            compopt -o nospace 2>/dev/null
        fi
        return
    fi
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W '-a -C -d -f -r -F -N -P -q -R
            -S -t -v -X -bm -bp -bs -bv -A -B -e -G -h -i -L -m -n -O -o -U -V --' \
            -- "$cur")
        return
    fi
    # Recipients: no useful list to offer (addresses are not files).
}

complete -F _outbox outbox
