#!/usr/bin/env bats
# The Debian package (make deb, src/dist/): what it holds, what lintian says,
# what its maintainer scripts do in a throwaway root (dpkg --root with
# --force-script-chrootless, so they run with DPKG_ROOT), that the systemd
# units it ships verify, and that apt takes it for the system's MTA.
#
# Runs as root (dpkg, chown to the group outbox) and never touches the
# running system: everything goes into $BATS_FILE_TMPDIR, and apt only
# simulates, from a private copy of dpkg's status.

load lib

TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# Run make in the source tree without the caller's make (make check's
# MAKEFLAGS, jobserver): the package is built from $OUTBOX, never rebuilt.
top_make() {
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$TOP" "$@"
}

makefile_version() {
	sed -n 's/^VERSION *= *//p' "$TOP/Makefile"
}

# A root that looks like an installed Debian 12 (merged /usr): the accounts
# of this machine, an empty dpkg database, /var/spool, and systemd's own
# units (what the systemd package would have put there) so that
# systemd-analyze can load the shipped units in it.
make_root() {
	local r=$1
	mkdir -p "$r/etc" "$r/usr/lib" "$r/usr/bin" "$r/usr/sbin" \
		"$r/var/spool" "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates" \
		"$r/var/lib/dpkg/triggers"
	ln -s usr/lib "$r/lib"
	cp /etc/passwd /etc/group "$r/etc/"
	: >"$r/var/lib/dpkg/status"
	: >"$r/var/lib/dpkg/available"
	mkdir -p "$r/usr/lib/systemd"
	cp -a /usr/lib/systemd/system "$r/usr/lib/systemd/"
}

# dpkg on that root. The maintainer scripts run here, outside it, with
# DPKG_ROOT set; the libraries the package depends on are this machine's,
# not in the root's database, hence --force-depends.
root_dpkg() {
	local r=$1
	shift
	dpkg --root="$r" --force-script-chrootless --force-depends "$@"
}

# The numeric id of the group outbox in root $1.
root_gid() {
	awk -F: '$1 == "outbox" { print $3; exit }' "$1/etc/group"
}

setup_file() {
	export OUTBOX=$(realpath "$OUTBOX")
	export PKG_BUILD=$BATS_FILE_TMPDIR/build
	export DEB=$PKG_BUILD/outbox_$(makefile_version)_$(dpkg --print-architecture).deb
	top_make deb BUILD="$PKG_BUILD" DEB_BINARY="$OUTBOX" \
		>"$BATS_FILE_TMPDIR/make-deb.log" 2>&1 || true

	# One installation that several tests look at.
	export ROOT=$BATS_FILE_TMPDIR/root
	make_root "$ROOT"
	if [ -f "$DEB" ]; then
		root_dpkg "$ROOT" -i "$DEB" >"$BATS_FILE_TMPDIR/install.log" 2>&1
		echo $? >"$BATS_FILE_TMPDIR/install.rc"
	fi
}

# The package was built; stops a test with the build's log otherwise.
need_deb() {
	if [ ! -f "$DEB" ]; then
		echo "make deb did not produce $DEB:" >&2
		cat "$BATS_FILE_TMPDIR/make-deb.log" >&2
		return 1
	fi
}

# The package was installed into $ROOT without an error.
need_installed() {
	need_deb
	local rc
	rc=$(cat "$BATS_FILE_TMPDIR/install.rc" 2>/dev/null)
	if [ "$rc" != 0 ]; then
		echo "dpkg -i into $ROOT failed (status ${rc:-?}):" >&2
		cat "$BATS_FILE_TMPDIR/install.log" >&2
		return 1
	fi
}

# stat's "MODE UID:GID" of a path.
mode_owner() {
	stat -c '%a %u:%g' "$1"
}

@test "make deb packages the tested binary as outbox_VERSION_ARCH.deb" {
	need_deb
	mkdir -p "$T/x"
	dpkg-deb -x "$DEB" "$T/x"
	# Stripped, so compare what it does, not its bytes.
	assert_equal "$("$T/x/usr/bin/outbox" --version)" "$("$OUTBOX" --version)"
	run readelf -S "$T/x/usr/bin/outbox"
	assert_exit 0
	refute_contains "$output" ".symtab"
	refute_contains "$output" ".debug_info"
}

@test "the control file: version, architecture, MTA relations, libraries" {
	need_deb
	assert_equal "$(dpkg-deb -f "$DEB" Package)" outbox
	assert_equal "$(dpkg-deb -f "$DEB" Version)" "$(makefile_version)"
	assert_equal "$(dpkg-deb -f "$DEB" Architecture)" \
		"$(dpkg --print-architecture)"
	assert_equal "$(dpkg-deb -f "$DEB" Section)" mail
	assert_equal "$(dpkg-deb -f "$DEB" Priority)" optional
	local field
	for field in Provides Conflicts Replaces; do
		assert_equal "$(dpkg-deb -f "$DEB" "$field")" mail-transport-agent
	done
	# Every library the binary needs, as dpkg-shlibdeps names it, and
	# the two it loads on first use (src/lazylib.h), which dpkg-shlibdeps
	# cannot see: at the version their symbols files give the functions
	# outbox looks up.
	local depends needed
	depends=$(dpkg-deb -f "$DEB" Depends)
	assert_contains "$depends" "libc6 (>= "
	assert_contains "$depends" "libgnutls30 (>= 3."
	assert_contains "$depends" "libidn2-0 (>= "
	assert_contains "$depends" "adduser"
	needed=$(readelf -d "$OUTBOX" | grep NEEDED)
	refute_contains "$needed" "libgnutls"
	refute_contains "$needed" "libidn2"
	# libsecret (and its glib stack) is loaded on first use, never linked
	# (src/keyring.h): recommended, not a dependency.
	needed=$(readelf -d "$OUTBOX" | grep NEEDED)
	refute_contains "$needed" "libsecret"
	refute_contains "$needed" "libglib"
	refute_contains "$depends" "libsecret"
	assert_contains "$(dpkg-deb -f "$DEB" Recommends)" "libsecret-1-0"
	[ "$(dpkg-deb -f "$DEB" Installed-Size)" -gt 0 ]
}

@test "the package holds the program, its MTA names, man pages, units, cron" {
	need_deb
	local contents
	contents=$(dpkg-deb --contents "$DEB" | awk '{ $1 = $2 = $3 = $4 = $5 = ""; sub(/^ +/, ""); print }')
	local want
	for want in ./usr/bin/outbox \
		"./usr/sbin/sendmail -> ../bin/outbox" \
		"./usr/lib/sendmail -> ../bin/outbox" \
		"./usr/bin/mailq -> outbox" \
		"./usr/bin/newaliases -> outbox" \
		"./usr/sbin/newaliases -> ../bin/outbox" \
		./usr/share/man/man1/outbox.1.gz \
		./usr/share/man/man5/outboxrc.5.gz \
		"./usr/share/man/man8/sendmail.8.gz -> ../man1/outbox.1.gz" \
		"./usr/share/man/man1/mailq.1.gz -> outbox.1.gz" \
		"./usr/share/man/man8/newaliases.8.gz -> ../man1/outbox.1.gz" \
		./usr/share/bash-completion/completions/outbox \
		./usr/share/zsh/vendor-completions/_outbox \
		./usr/share/fish/vendor_completions.d/outbox.fish \
		./usr/share/doc/outbox/copyright \
		./usr/share/doc/outbox/changelog.gz \
		./usr/share/doc/outbox/msmtprc.example \
		./lib/systemd/system/outbox-flush.service \
		./lib/systemd/system/outbox-flush.path \
		./lib/systemd/system/outbox-flush.timer \
		./etc/cron.d/outbox; do
		if ! grep -q -x -F -- "$want" <<<"$contents"; then
			echo "missing from the package: $want" >&2
			echo "$contents" >&2
			return 1
		fi
	done
	# Every file root:root with an ordinary mode: the setgid bit and the
	# group come from the postinst's dpkg-statoverride.
	run bash -c "dpkg-deb --contents '$DEB' | awk '\$2 != \"root/root\"'"
	assert_equal "$output" ""
	run bash -c "dpkg-deb --contents '$DEB' | awk '\$1 ~ /[sStT]/'"
	assert_equal "$output" ""

	mkdir -p "$T/control"
	dpkg-deb -e "$DEB" "$T/control"
	assert_equal "$(cat "$T/control/conffiles")" /etc/cron.d/outbox
	local script
	for script in postinst prerm postrm; do
		[ -x "$T/control/$script" ]
		sh -n "$T/control/$script"
	done
	# md5sums cover every shipped file but the conffile.
	mkdir -p "$T/x"
	dpkg-deb -x "$DEB" "$T/x"
	(cd "$T/x" && md5sum --quiet -c "$T/control/md5sums")
	refute_contains "$(cat "$T/control/md5sums")" etc/cron.d/outbox
}

@test "lintian finds no error and no warning" {
	need_deb
	run lintian --fail-on error,warning --display-level '>=warning' "$DEB"
	if [ "$status" -ne 0 ]; then
		echo "lintian (status $status):" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
	refute_contains "$output" "E: "
	refute_contains "$output" "W: "
}

@test "installed in a throwaway root: setgid binary, spool modes, enabled units" {
	need_installed
	local gid
	gid=$(root_gid "$ROOT")
	if [ -z "$gid" ]; then
		echo "postinst made no group outbox in $ROOT/etc/group" >&2
		return 1
	fi
	assert_equal "$(mode_owner "$ROOT/usr/bin/outbox")" "2755 0:$gid"
	assert_equal "$(mode_owner "$ROOT/var/spool/outbox")" "750 0:$gid"
	assert_equal "$(mode_owner "$ROOT/var/spool/outbox/maildrop")" "1770 0:$gid"
	# The group has no members: only the setgid binary acts through it.
	assert_equal "$(awk -F: '$1 == "outbox" { print $4 }' "$ROOT/etc/group")" ""
	# A system group, below the first user id of /etc/adduser.conf.
	[ "$gid" -lt 1000 ]
	# The override is recorded, so an upgrade keeps the bit (by number:
	# the name outbox exists only in the root's /etc/group).
	assert_equal "$(cat "$ROOT/var/lib/dpkg/statoverride")" \
		"root #$gid 2755 /usr/bin/outbox"
	# .path and .timer enabled (the service is started by them only).
	assert_equal "$(readlink "$ROOT/etc/systemd/system/paths.target.wants/outbox-flush.path")" \
		/lib/systemd/system/outbox-flush.path
	assert_equal "$(readlink "$ROOT/etc/systemd/system/timers.target.wants/outbox-flush.timer")" \
		/lib/systemd/system/outbox-flush.timer
	[ ! -e "$ROOT/etc/systemd/system/multi-user.target.wants/outbox-flush.service" ]
	assert_equal "$(mode_owner "$ROOT/etc/cron.d/outbox")" "644 0:0"
	# Nothing leaked onto this machine.
	refute_contains "$(cat /var/lib/dpkg/statoverride)" /usr/bin/outbox
	run dpkg-query -W outbox
	[ "$status" -ne 0 ]
}

@test "reinstalling keeps the modes and the administrator's own override" {
	need_installed
	local r=$T/root gid
	make_root "$r"
	root_dpkg "$r" -i "$DEB" >"$T/install.log" 2>&1 || {
		cat "$T/install.log" >&2
		return 1
	}
	gid=$(root_gid "$r")
	# The administrator makes the binary 2750 (only the group may run it)
	# and loosens nothing else; an upgrade must leave that alone.
	dpkg-statoverride --root="$r" --remove /usr/bin/outbox
	dpkg-statoverride --root="$r" --update --add '#0' "#$gid" 2750 /usr/bin/outbox
	chmod 0700 "$r/var/spool/outbox/maildrop" # damaged by hand
	root_dpkg "$r" -i "$DEB" >"$T/install.log" 2>&1 || {
		cat "$T/install.log" >&2
		return 1
	}
	assert_equal "$(mode_owner "$r/usr/bin/outbox")" "2750 0:$gid"
	assert_equal "$(mode_owner "$r/var/spool/outbox/maildrop")" "1770 0:$gid"
	assert_equal "$(grep -c '^outbox:' "$r/etc/group")" 1
}

@test "systemd-analyze verify passes on the units the package installed" {
	need_installed
	local unit
	for unit in outbox-flush.service outbox-flush.path outbox-flush.timer; do
		cmp "$TOP/src/dist/systemd/$unit" "$ROOT/lib/systemd/system/$unit"
	done
	# --root: ExecStart's /usr/bin/outbox and the targets are the root's;
	# man: the Documentation= pages are the package's.
	run env MANPATH="$ROOT/usr/share/man:" systemd-analyze verify \
		--root="$ROOT" outbox-flush.service outbox-flush.path \
		outbox-flush.timer
	# verify only warns (status 0) about unknown keys: any output fails.
	if [ "$status" -ne 0 ] || [ -n "$output" ]; then
		echo "systemd-analyze verify (status $status):" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

@test "the units: flush on maildrop files, retry every 5 minutes, sandboxed" {
	local d=$TOP/src/dist/systemd
	grep -q -x 'PathExistsGlob=/var/spool/outbox/maildrop/\*' "$d/outbox-flush.path"
	grep -q -x 'MakeDirectory=no' "$d/outbox-flush.path"
	grep -q -x 'Unit=outbox-flush.service' "$d/outbox-flush.path"
	grep -q -x 'OnBootSec=2min' "$d/outbox-flush.timer"
	grep -q -x 'OnUnitActiveSec=5min' "$d/outbox-flush.timer"
	grep -q -x 'WantedBy=timers.target' "$d/outbox-flush.timer"
	local line
	for line in Type=oneshot 'ExecStart=/usr/bin/outbox --flush' \
		SuccessExitStatus=75 NoNewPrivileges=yes ProtectSystem=strict \
		'ReadWritePaths=/var/spool/outbox -/var/log' UMask=0077 \
		'CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_DAC_OVERRIDE CAP_CHOWN CAP_FOWNER'; do
		grep -q -x -F -- "$line" "$d/outbox-flush.service" || {
			echo "outbox-flush.service lacks: $line" >&2
			return 1
		}
	done
	# The sandbox as systemd reads it (offline: no running systemd needed)
	# stays at exposure 3.0 of 10 or below ("OK"; 2.3 when written).
	need_installed
	run systemd-analyze security --offline=yes --threshold=30 \
		--root="$ROOT" outbox-flush.service
	if [ "$status" -ne 0 ]; then
		printf '%s\n' "$output" >&2
		return 1
	fi
}

@test "the cron job: root, every minute, only without systemd, quiet" {
	local f=$TOP/src/dist/cron.d/outbox line
	line=$(grep -v '^#' "$f" | grep -v '^[A-Z]*=' | grep .)
	assert_equal "$(wc -l <<<"$line")" 1
	assert_contains "$line" "root"
	[[ $line == '* * * * *'* ]]
	assert_contains "$line" "[ -d /run/systemd/system ] ||"
	assert_contains "$line" "/usr/bin/outbox --flush"
	# cron's % is a newline: none may appear in the command.
	refute_contains "$line" "%"
	# The command itself: a fake outbox that succeeds prints nothing, one
	# that fails with status 78 is logged; 75 is quiet.
	local cmd=${line#*root}
	mkdir -p "$T/bin"
	printf '#!/bin/sh\necho "$@" >>%s/calls\necho some output\nexit ${FAKE_STATUS:-0}\n' \
		"$T" >"$T/bin/outbox"
	printf '#!/bin/sh\ncat >>%s/logged\n' "$T" >"$T/bin/logger"
	chmod +x "$T/bin/outbox" "$T/bin/logger"
	cmd=${cmd//\/usr\/bin\/outbox/$T/bin/outbox}
	cmd=${cmd//\/run\/systemd\/system/$T/no-systemd}
	local s
	for s in 0 75 78; do
		run env PATH="$T/bin:$PATH" FAKE_STATUS=$s sh -c "$cmd"
		assert_equal "$output" ""
	done
	assert_equal "$(cat "$T/calls")" "--flush
--flush
--flush"
	assert_equal "$(cat "$T/logged")" "outbox --flush exited with status 78: some output"
}

@test "with outbox installed, apt takes it for the MTA: bsd-mailx pulls none" {
	need_deb
	# dpkg's real status minus every installed MTA (CI installs Postfix for
	# other suites), plus outbox's stanza: apt only simulates, on that.
	local with_outbox=$T/status.outbox
	awk 'BEGIN { RS = ""; ORS = "\n\n" }
	     !/(^|\n)Provides:[^\n]*mail-transport-agent/' \
		/var/lib/dpkg/status >"$T/status.base"
	cp "$T/status.base" "$with_outbox"
	{
		dpkg-deb -f "$DEB"
		echo "Status: install ok installed"
		echo
	} >>"$with_outbox"
	apt_simulate() {
		apt-get -s -q -o Dir::State::status="$1" \
			-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
			-o Debug::NoLocking=true install bsd-mailx
	}

	# Without outbox, the same request installs an MTA: the check can fail.
	run apt_simulate "$T/status.base"
	assert_exit 0
	if ! grep -q -E '^Inst (exim4-daemon|postfix )' <<<"$output"; then
		echo "expected apt to pull an MTA without outbox:" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi

	run apt_simulate "$with_outbox"
	assert_exit 0
	assert_contains "$output" "Inst bsd-mailx"
	# No package that provides mail-transport-agent, and nothing removed.
	local mtas pkg
	mtas=$(apt-cache showpkg mail-transport-agent |
		sed -n '/^Reverse Provides:/,$p' | awk 'NR > 1 { print $1 }')
	[[ $mtas == *exim4-daemon-light* ]]
	for pkg in $mtas; do
		if grep -q -E "^Inst $pkg " <<<"$output"; then
			echo "apt wants to install the MTA $pkg:" >&2
			printf '%s\n' "$output" >&2
			return 1
		fi
	done
	refute_contains "$output" "Remv "
}

@test "purge removes the override and empty spool directories, never mail" {
	need_deb
	local r=$T/root
	make_root "$r"
	root_dpkg "$r" -i "$DEB" >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
	echo "queued" >"$r/var/spool/outbox/maildrop/20261204T000000Z-0123456789abcdef"

	root_dpkg "$r" --remove outbox >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
	[ ! -e "$r/usr/bin/outbox" ]
	[ -e "$r/etc/cron.d/outbox" ] # a conffile stays until purge
	[ -d "$r/var/spool/outbox/maildrop" ]

	root_dpkg "$r" --purge outbox >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
	assert_equal "$(cat "$r/var/spool/outbox/maildrop/20261204T000000Z-0123456789abcdef")" queued
	[ ! -e "$r/etc/cron.d/outbox" ]
	[ ! -e "$r/etc/systemd/system/timers.target.wants/outbox-flush.timer" ]
	[ ! -e "$r/etc/systemd/system/paths.target.wants/outbox-flush.path" ]
	run dpkg-statoverride --root="$r" --list /usr/bin/outbox
	assert_equal "$output" ""

	# Once the mail is gone, a purge leaves no spool behind.
	rm "$r/var/spool/outbox/maildrop/20261204T000000Z-0123456789abcdef"
	root_dpkg "$r" -i "$DEB" >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
	root_dpkg "$r" --purge outbox >"$T/log" 2>&1 || { cat "$T/log" >&2; return 1; }
	[ ! -e "$r/var/spool/outbox" ]
	[ -d "$r/var/spool" ]
}

@test "make install puts the units and links in PREFIX's places" {
	# A copy of what make install reads, with the tested binary as
	# ./outbox: make -o outbox installs it without rebuilding.
	local src=$T/src d=$T/dest
	mkdir -p "$src/src"
	cp -a "$TOP/Makefile" "$TOP/man" "$TOP/completions" \
		"$TOP/msmtprc.example" "$TOP/README.md" "$src/"
	cp -a "$TOP/src/dist" "$src/src/"
	cp "$OUTBOX" "$src/outbox"
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$src" -o outbox \
		DESTDIR="$d/sys" PREFIX=/usr install install-sendmail-links \
		install-cron
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$src" -o outbox \
		DESTDIR="$d/local" PREFIX=/usr/local install
	# PREFIX=/usr: Debian 12's /lib/systemd/system, units as shipped.
	cmp "$src/src/dist/systemd/outbox-flush.service" \
		"$d/sys/lib/systemd/system/outbox-flush.service"
	assert_equal "$(mode_owner "$d/sys/lib/systemd/system/outbox-flush.timer" | cut -d' ' -f1)" 644
	[ -f "$d/sys/lib/systemd/system/outbox-flush.path" ]
	assert_equal "$(readlink "$d/sys/usr/bin/newaliases")" /usr/bin/outbox
	assert_equal "$(readlink "$d/sys/usr/sbin/newaliases")" /usr/bin/outbox
	assert_equal "$(readlink "$d/sys/usr/sbin/sendmail")" /usr/bin/outbox
	assert_equal "$(readlink "$d/sys/usr/bin/mailq")" /usr/bin/outbox
	cmp "$src/src/dist/cron.d/outbox" "$d/sys/etc/cron.d/outbox"
	# Under /usr/local the units run /usr/local/bin/outbox.
	grep -q -x 'ExecStart=/usr/local/bin/outbox --flush' \
		"$d/local/usr/local/lib/systemd/system/outbox-flush.service"
	env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$src" \
		DESTDIR="$d/local" PREFIX=/usr/local uninstall
	[ ! -e "$d/local/usr/local/lib/systemd/system/outbox-flush.service" ]
}
