# fish completion for outbox(1).
# Installed as .../fish/vendor_completions.d/outbox.fish.

# The configuration files outbox would read: the -C/--file of this command
# line, else at each level outbox's own file or msmtp's (outbox(1), FILES).
function __outbox_config_files
    set -l tokens (commandline -opc)
    set -l file
    set -l i 2
    while test $i -le (count $tokens)
        set -l token $tokens[$i]
        switch $token
            case --
                break
            case -C --file
                set -l next (math $i + 1)
                if test $next -le (count $tokens)
                    set file $tokens[$next]
                end
            case '-C?*'
                set file (string sub -s 3 -- $token)
            case '--file=?*'
                set file (string replace -- --file= '' $token)
        end
        set i (math $i + 1)
    end
    if test -n "$file"
        string replace -r '^~' -- $HOME $file
        return
    end
    set -l config $HOME/.config
    # outbox ignores an XDG_CONFIG_HOME that is not an absolute path.
    set -q XDG_CONFIG_HOME; and string match -q -- '/*' "$XDG_CONFIG_HOME"; and set config $XDG_CONFIG_HOME
    set -l sysconf /etc
    set -q OUTBOX_SYSCONFDIR; and test -n "$OUTBOX_SYSCONFDIR"; and set sysconf $OUTBOX_SYSCONFDIR
    for f in $sysconf/outboxrc $sysconf/msmtprc
        if test -e $f
            echo $f
            break
        end
    end
    for f in $config/outbox/config $HOME/.outboxrc $HOME/.msmtprc $config/msmtp/config
        if test -e $f
            echo $f
            break
        end
    end
end

function __outbox_accounts
    set -l files
    for f in (__outbox_config_files)
        test -r $f; and set -a files $f
    end
    test (count $files) -gt 0; or return 0
    awk '$1 == "account" && NF >= 2 {
            name = $2; sub(/:.*/, "", name); gsub(/"/, "", name)
            if (name != "") print name }' $files 2>/dev/null | sort -u
end

set -l onoff 'on off'

complete -c outbox -f

# general
complete -c outbox -l version -d 'Print version'
complete -c outbox -l help -d 'Print help'
complete -c outbox -s P -l pretend -d 'Print the settings that would be used'
complete -c outbox -s v -d 'Print the SMTP conversation'
complete -c outbox -s d -d 'Print the SMTP conversation'
complete -c outbox -l debug -d 'Print the SMTP conversation'

# modes
complete -c outbox -s S -l serverinfo -d 'Print information about the server'
complete -c outbox -s q -l flush -d 'Deliver the queued messages that are due'
complete -c outbox -l list-queue -d 'List the queue'
complete -c outbox -l queue-delete -x -d 'Delete a queued message'
complete -c outbox -l queue-requeue -x -a all -d 'Put dead letters back into the queue'
complete -c outbox -l dkim-keygen -d 'Make a DKIM key and print its DNS record'
complete -c outbox -l dkim-record -d 'Print the DNS record of an existing key'
complete -c outbox -l check -d 'Check the account: SPF, DKIM, DMARC, smarthost, login'
complete -c outbox -l json -d 'With --check: print the report as JSON'
complete -c outbox -l configure -x -d 'Not supported'
complete -c outbox -l rmqs -x -d 'Not supported'

# configuration
complete -c outbox -s C -l file -r -F -d 'Use this configuration file only'
complete -c outbox -s a -l account -x -a '(__outbox_accounts)' -d 'Use this account'
complete -c outbox -l host -x -a '(__fish_print_hostnames)' -d 'Use this server, command-line settings only'
complete -c outbox -l port -x -a '25 465 587' -d 'Port number'
complete -c outbox -l source-ip -x -d 'Source address to bind to'
complete -c outbox -l proxy-host -x -a '(__fish_print_hostnames)' -d 'SOCKS proxy'
complete -c outbox -l proxy-port -x -d 'Proxy port'
complete -c outbox -l socket -r -F -d 'Local socket to connect to'
complete -c outbox -l timeout -x -a off -d 'Network timeout in seconds'
complete -c outbox -l connect-timeout -x -a off -d 'Network timeout (old name)'
complete -c outbox -l protocol -x -a 'smtp lmtp' -d 'Protocol'
complete -c outbox -l domain -x -a '(__fish_print_hostnames)' -d 'Argument of EHLO or LHLO'
complete -c outbox -l auth -f -a 'on off plain scram-sha-256 scram-sha-1 external gssapi cram-md5 digest-md5 login ntlm oauthbearer xoauth2' -d 'Authentication and method'
complete -c outbox -l user -x -a '(__fish_complete_users)' -d 'User name for authentication'
complete -c outbox -l passwordeval -x -a '(__fish_complete_command)' -d 'Command that prints the password'
complete -c outbox -l tls -f -a $onoff -d 'Enable/disable TLS'
complete -c outbox -l tls-starttls -f -a $onoff -d 'STARTTLS (on) or TLS from the start (off)'
complete -c outbox -l tls-trust-file -r -F -d 'Trust file'
complete -c outbox -l tls-crl-file -r -F -d 'Revocation list file'
complete -c outbox -l tls-fingerprint -x -d 'Pinned SHA-256 certificate fingerprint'
complete -c outbox -l tls-key-file -r -F -d 'Client key file'
complete -c outbox -l tls-cert-file -r -F -d 'Client certificate file'
complete -c outbox -l tls-certcheck -f -a $onoff -d 'Server certificate checks'
complete -c outbox -l tls-priorities -x -d 'GnuTLS priorities'
complete -c outbox -l tls-host-override -x -a '(__fish_print_hostnames)' -d 'Name to verify the certificate for'
complete -c outbox -l tls-min-dh-prime-bits -x -d 'Minimum DH prime size (obsolete)'
complete -c outbox -l tls-force-sslv3 -f -d 'Ignored (msmtp 1.4)'

# sendmail mode
complete -c outbox -s f -l from -x -d 'Envelope-from address'
complete -c outbox -s r -x -d 'Envelope-from address (old name)'
complete -c outbox -s F -x -d 'Full name for a generated From header'
complete -c outbox -l auto-from -f -a $onoff -d 'Automatic envelope-from'
complete -c outbox -l maildomain -x -d 'Domain for automatic envelope-from'
complete -c outbox -l allow-from-override -f -a $onoff -d 'Whether -f may override from'
complete -c outbox -s N -l dsn-notify -x -a 'off never success failure delay' -d 'DSN conditions'
complete -c outbox -s R -l dsn-return -x -a 'off full headers' -d 'DSN amount'
complete -c outbox -s X -l logfile -r -F -d 'Log file'
complete -c outbox -l logfile-time-format -x -d 'Log file time format (strftime)'
complete -c outbox -l syslog -f -a 'on off LOG_USER LOG_MAIL LOG_LOCAL0 LOG_LOCAL1 LOG_LOCAL2 LOG_LOCAL3 LOG_LOCAL4 LOG_LOCAL5 LOG_LOCAL6 LOG_LOCAL7' -d 'Syslog logging'
complete -c outbox -s t -l read-recipients -d 'Read more recipients from the mail'
complete -c outbox -l read-envelope-from -d 'Read envelope-from from the From header'
complete -c outbox -l aliases -r -F -d 'Aliases file'
complete -c outbox -l set-from-header -f -a 'auto on off' -d 'From header handling'
complete -c outbox -l set-date-header -f -a 'auto off' -d 'Date header handling'
complete -c outbox -l set-msgid-header -f -a 'auto off' -d 'Message-ID header handling'
complete -c outbox -l remove-bcc-headers -f -a $onoff -d 'Removal of Bcc headers'
complete -c outbox -l undisclosed-recipients -f -a $onoff -d 'Replace To/Cc/Bcc with undisclosed-recipients'
complete -c outbox -l keepbcc -f -a $onoff -d 'Keep Bcc headers (old name)'
complete -c outbox -l add-missing-from-header -f -a $onoff -d 'Add a missing From (old name)'
complete -c outbox -l add-missing-date-header -f -a $onoff -d 'Add a missing Date (old name)'

# queue
complete -c outbox -l queue -x -a 'off on-failure always' -d 'When to keep a message in the queue'
complete -c outbox -l queue-dir -x -a '(__fish_complete_directories)' -d 'Queue directory'

# DKIM
complete -c outbox -l dkim-key -r -F -d 'DKIM private key file'
complete -c outbox -l dkim-selector -x -d 'DKIM selector'
complete -c outbox -l dkim-domain -x -a '(__fish_print_hostnames)' -d 'DKIM signing domain'
complete -c outbox -l dkim-canonicalization -x -a 'relaxed/relaxed relaxed/simple simple/relaxed simple/simple' -d 'DKIM canonicalization'
complete -c outbox -l dkim-headers -x -d 'Header fields to sign (colon-separated)'
complete -c outbox -l dkim-type -x -a 'rsa ed25519' -d 'Key type for --dkim-keygen'
complete -c outbox -l dkim-bits -x -a '2048 3072 4096' -d 'RSA key size for --dkim-keygen'

# sendmail flags (accepted; most are ignored)
complete -c outbox -s b -x -a 'm\t"deliver mail (default)" p\t"list the queue" s\t"SMTP on stdin and stdout" v\t"show where recipients go"' -d 'Operation mode'
complete -c outbox -s i -d 'Ignored: a lone dot never ends the input'
complete -c outbox -s o -x -d 'sendmail option (ignored)'
complete -c outbox -s B -x -a '7BIT 8BITMIME' -d 'Body type (ignored)'
complete -c outbox -s A -x -a 'c m' -d 'sendmail configuration (ignored)'
complete -c outbox -s e -d 'Old form of -oe (ignored)'
complete -c outbox -s G -d 'Gateway submission (ignored)'
complete -c outbox -s h -x -d 'Hop count (ignored)'
complete -c outbox -s L -x -d 'Syslog tag (ignored)'
complete -c outbox -s m -d 'Me too (ignored)'
complete -c outbox -s n -d 'No aliasing (ignored)'
complete -c outbox -s O -x -d 'sendmail option=value (ignored)'
complete -c outbox -s U -d 'Initial user submission (ignored)'
complete -c outbox -s V -x -d 'DSN envelope id (ignored)'
