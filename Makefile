# outbox - a sendmail-compatible SMTP relay client.
#
#   make                 build ./outbox
#   make check           unit tests (cmocka) + bats suites; ends "N passed, N failed"
#   make sanitize-check  the same suite with ASan+UBSan
#   make fuzz            run every libFuzzer target for FUZZ_SECONDS each
#   make lint            clang-tidy and cppcheck
#   make install         PREFIX=/usr/local DESTDIR=
#   make install-sendmail-links   sendmail/mailq/newaliases names as distributions do
#   make install-cron    /etc/cron.d/outbox: flush root's queue where systemd does not
#   make deb             $(BUILD)/outbox_$(VERSION)_$(DEB_ARCH).deb from $(DEB_BINARY)

VERSION   = 0.1.0
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
SBINDIR  ?= $(PREFIX)/sbin
LIBDIR   ?= $(PREFIX)/lib
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share
SYSCONFDIR ?= /etc
# systemd's own search path has /usr/local/lib/systemd/system; Debian 12
# keeps packaged units in /lib/systemd/system.
ifeq ($(PREFIX),/usr)
SYSTEMD_UNIT_DIR ?= /lib/systemd/system
else
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
endif
SYSTEMD_UNITS = outbox-flush.service outbox-flush.path outbox-flush.timer
# make deb: the binary to package (default: this build's, made if needed)
# and the Debian architecture it is for.
DEB_BINARY ?= $(BUILD)/outbox
DEB_ARCH   ?= $(shell dpkg --print-architecture 2>/dev/null)

CC       ?= cc
PKG_CONFIG ?= pkg-config
BUILD    ?= build
WERROR   ?=
SANITIZE ?=

# libsecret is optional: the keyring password source is compiled in when the
# development files are present (or forced off with WITH_LIBSECRET=no). Only
# its headers are used: the library (and its glib stack) is dlopen'ed on
# first use by src/keyring.c, so it is not linked.
WITH_LIBSECRET ?= $(shell $(PKG_CONFIG) --exists libsecret-1 && echo yes || echo no)
PKGS = gnutls libidn2 json-c
ifeq ($(WITH_LIBSECRET),yes)
FEATURE_CFLAGS += -DHAVE_LIBSECRET=1 $(shell $(PKG_CONFIG) --cflags libsecret-1)
endif

WARN     = -Wall -Wextra -Wpedantic -Wshadow -Wformat=2 -Wno-unused-parameter $(if $(WERROR),-Werror)
CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DOUTBOX_VERSION='"$(VERSION)"' -DSYSCONFDIR='"$(SYSCONFDIR)"' \
	$(FEATURE_CFLAGS) $(WARN) $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CFLAGS)
# GnuTLS, libidn2 and json-c are not linked either: src/lazylib.c
# dlopen()s them the first time one of their functions is called
# (lazylib.h says why and how); only their --cflags are used. TEST_LIBS: a
# unit test that calls a library function outbox does not forward links
# the library itself, and only such a test (--as-needed).
LIBS     =
TEST_LIBS = -Wl,--as-needed $(shell $(PKG_CONFIG) --libs $(PKGS)) -Wl,--no-as-needed
ifeq ($(SANITIZE),yes)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS  += -fsanitize=address,undefined
endif

SRCS     = $(wildcard src/*.c)
OBJS     = $(SRCS:src/%.c=$(BUILD)/%.o)
LIB_OBJS = $(filter-out $(BUILD)/main.o,$(OBJS))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_SECONDS ?= 30

.PHONY: all check unit-check bats-check sanitize-check fuzz lint install \
	install-sendmail-links install-cron uninstall clean demo bench deb

all: outbox

outbox: $(BUILD)/outbox
	cp $< $@

$(BUILD)/outbox: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(BUILD)/%.o: src/%.c src/*.h | $(BUILD)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD):
	mkdir -p $(BUILD)/tests

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(BUILD)
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(LIB_OBJS) $(LDFLAGS) $(LIBS) $(TEST_LIBS) -lcmocka

# The suites run the binary of this build ($(BUILD)/outbox), so the
# sanitizer build never replaces ./outbox.
check: $(BUILD)/outbox $(UNIT_BINS)
	OUTBOX=$(abspath $(BUILD)/outbox) BUILD=$(BUILD) tests/run-all $(UNIT_BINS)

unit-check: $(UNIT_BINS)
	BUILD=$(BUILD) tests/run-all --unit-only $(UNIT_BINS)

sanitize-check:
	$(MAKE) BUILD=build-san SANITIZE=yes WERROR=$(WERROR) check

fuzz:
	tests/fuzz/run $(FUZZ_SECONDS)

lint:
	clang-tidy --quiet $(SRCS) -- $(ALL_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--suppress=missingIncludeSystem --inline-suppr src

bench: outbox
	tests/bench/run

demo: outbox
	tests/demo

install: outbox
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/vendor-completions \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d \
		$(DESTDIR)$(DATADIR)/doc/outbox
	install -m 755 outbox $(DESTDIR)$(BINDIR)/outbox
	install -m 644 man/outbox.1 $(DESTDIR)$(MANDIR)/man1/outbox.1
	install -m 644 man/outboxrc.5 $(DESTDIR)$(MANDIR)/man5/outboxrc.5
	install -m 644 completions/outbox.bash $(DESTDIR)$(DATADIR)/bash-completion/completions/outbox
	install -m 644 completions/_outbox $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_outbox
	install -m 644 completions/outbox.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/outbox.fish
	install -m 644 msmtprc.example README.md $(DESTDIR)$(DATADIR)/doc/outbox/
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	for unit in $(SYSTEMD_UNITS); do \
		sed 's|/usr/bin/outbox|$(BINDIR)/outbox|g' src/dist/systemd/$$unit \
			>$(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit && \
		chmod 644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit || exit 1; \
	done

# The names distributions give a sendmail replacement: /usr/sbin/sendmail,
# /usr/lib/sendmail (historic path some programs still hard-code), mailq,
# and newaliases in both places.
install-sendmail-links: install
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR)
	ln -sf $(BINDIR)/outbox $(DESTDIR)$(SBINDIR)/sendmail
	ln -sf $(BINDIR)/outbox $(DESTDIR)$(LIBDIR)/sendmail
	ln -sf $(BINDIR)/outbox $(DESTDIR)$(BINDIR)/mailq
	ln -sf $(BINDIR)/outbox $(DESTDIR)$(BINDIR)/newaliases
	ln -sf $(BINDIR)/outbox $(DESTDIR)$(SBINDIR)/newaliases

# For machines without systemd (the units do the same with it).
install-cron:
	install -d $(DESTDIR)$(SYSCONFDIR)/cron.d
	sed 's|/usr/bin/outbox|$(BINDIR)/outbox|g' src/dist/cron.d/outbox \
		>$(DESTDIR)$(SYSCONFDIR)/cron.d/outbox
	chmod 644 $(DESTDIR)$(SYSCONFDIR)/cron.d/outbox

# The Debian package (see src/dist/debian/mkdeb): the group, the setgid bit,
# the spool and the units are set up by its postinst.
deb: $(DEB_BINARY)
	src/dist/debian/mkdeb $(DEB_BINARY) $(VERSION) $(DEB_ARCH) \
		$(BUILD)/deb $(BUILD)/outbox_$(VERSION)_$(DEB_ARCH).deb

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/outbox $(DESTDIR)$(MANDIR)/man1/outbox.1 \
		$(DESTDIR)$(MANDIR)/man5/outboxrc.5 \
		$(DESTDIR)$(DATADIR)/bash-completion/completions/outbox \
		$(DESTDIR)$(DATADIR)/zsh/vendor-completions/_outbox \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/outbox.fish \
		$(addprefix $(DESTDIR)$(SYSTEMD_UNIT_DIR)/,$(SYSTEMD_UNITS))

clean:
	rm -rf build build-san build-fuzz outbox
