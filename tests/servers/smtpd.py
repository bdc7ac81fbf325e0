#!/usr/bin/python3
# smtpd.py - a scripted SMTP/LMTP server for outbox's end-to-end tests.
#
# Built on Debian's python3-aiosmtpd (1.4): aiosmtpd does the normal protocol
# work (greeting, EHLO, STARTTLS, AUTH PLAIN/LOGIN, DATA with its
# dot-unstuffing and line/size limits); this file adds recording, extension
# switches, more AUTH mechanisms and a fault language by overriding the
# smtp_VERB coroutines and push().  Run it with /usr/bin/python3 (the pyenv
# python3 on PATH lacks Debian's modules).  tests/lib.bash wraps it
# (start_server); use that from bats.
#
# LISTENING
#   --port-file FILE   required; the chosen port is written there (write tmp
#                      + rename) once the server listens.  Binds 127.0.0.1
#                      port 0, or ::1 with --ipv6.  With --unix PATH it
#                      listens on that unix socket and writes PATH instead.
#   --listen ADDR:PORT bind this address and port instead of 127.0.0.1
#                      port 0 (an IPv6 address in brackets: [::1]:25); the
#                      port is still written to --port-file.  For the
#                      direct-delivery tests, whose MX sinks listen on
#                      127.0.0.x:25 inside a private network namespace
#                      (tests/lib_direct.bash, start_mx).
#   --exit-after N     exit 0 once N sessions have ended (else: run until
#                      SIGTERM/SIGINT).
#   --watch-pid PID    exit when process PID is gone (lib.bash passes the
#                      test's shell, so no server outlives its test).
#   --idle-timeout S   close a session idle for S seconds (default 300).
#   --ready-fifo FIFO  also write "PORT PID" to this FIFO when listening.
#   stdout stays empty except for start-up errors (exit 2).
#
# ZYGOTE (what lib.bash uses to start servers cheaply)
#   smtpd.py --zygote FIFO --zygote-dir DIR: load Python and aiosmtpd once,
#   then for each line "REQDIR" read from FIFO fork a server whose arguments
#   are REQDIR/request (NUL-terminated strings: the working directory, then
#   the options above), with stdout/stderr in REQDIR/stdout, REQDIR/stderr.
#   Writes "ready" to DIR/up once listening on FIFO; exits when DIR is gone
#   or after --zygote-idle seconds (default 120) without a request.
#
# RECORDING (--spool DIR, required; created if missing)
#   N.eml        message N (1, 2, ...) exactly as received after SMTP
#                un-dot-stuffing (aiosmtpd's envelope.original_content).
#   N.json       its envelope, written after N.eml (so count *.json):
#                mail_from ("" for <>), rcpt_tos [..], mail_options [raw
#                MAIL parameters as sent, e.g. "SIZE=123" "BODY=8BITMIME"],
#                rcpt_options [[params of rcpt 1], [params of rcpt 2]...]
#                (parallel to rcpt_tos), session K, helo (EHLO/HELO/LHLO
#                argument), helo_verb, smtputf8, protocol "SMTP"|"LMTP",
#                tls null|{version, cipher, client_cert (subject CN or
#                null), resumed (true when the client resumed an earlier
#                session with its ticket or session ID)}, auth
#                null|{mechanism, login}, size (bytes), peer;
#                LMTP adds lmtp_replies {rcpt: reply}; rcpt_tos then lists
#                only the recipients whose end-of-data reply was 2xx.
#   N.fields     the same flattened, "key TAB value" per line (what
#                lib.bash's received_envelope reads).
#   wire.log     every byte the clients sent, all sessions in arrival order
#                (after TLS decryption).
#   wire-clear.log  only the bytes that arrived in the clear (before any
#                TLS layer): for "nothing but EHLO/STARTTLS before TLS".
#   sessions.log one line per session, rewritten atomically on each event:
#                "K TOKEN TOKEN ...", tokens in order: CONNECT, GREETING:220,
#                VERB:CODE for each command (EHLO:250, MAIL:250, RCPT:550,
#                AUTH:235 ...; the code of the command's final reply, or the
#                fault action name: MAIL:drop, DATA:silence ...), EOM:CODE
#                for the reply after the message data (one per recipient
#                for LMTP), TLS:TLSv1.3 when a handshake completed
#                (followed by RESUMED when it resumed a session),
#                TLSFAIL when one failed (RESUMED too when it had resumed
#                one), ?:CODE for a reply to an
#                unrecognised line, CLOSE when the connection ended.
#   transcript.log  "K C: command line" / "K S: reply line" (commands as
#                parsed; message data and AUTH continuation lines are only
#                in wire.log), and "K T: TLS TLSv1.3 new|resumed" when a
#                handshake completed.
#   pipelined.log  "K VERB" for each command after which the client had
#                already sent more bytes before getting its reply
#                (PIPELINING at work; also catches a client that talks
#                after STARTTLS or sends data before the 354), and
#                "K EOM" when more (QUIT) came before the reply to the
#                message data.
#   server.log   aiosmtpd's log and any exception.
#
# EXTENSIONS (what EHLO/LHLO advertises; everything off is also refused)
#   --lmtp              LMTP (aiosmtpd.lmtp.LMTP): LHLO, one reply per
#                       recipient after the data.
#   --no-esmtp          EHLO gets "500 5.5.1 EHLO not supported": the client
#                       must fall back to HELO.
#   --ehlo-extra LINE   advertise LINE too (repeatable).
#   --max-rcpt N        accept at most N recipients per transaction; the
#                       others get --max-rcpt-reply (default "452 4.5.3 Too
#                       many recipients"; "552 ..." is RFC 821's style).
#   --size N            advertise SIZE N; MAIL SIZE= above N gets 552 and
#                       more data than N gets 552 after the data.
#   --no-pipelining     do not advertise PIPELINING (commands are still read
#                       in order; aiosmtpd always copes with pipelining).
#   --no-8bitmime       do not advertise 8BITMIME; BODY= is then refused.
#   --dsn               advertise DSN, accept RET/ENVID and NOTIFY/ORCPT.
#   --smtputf8          advertise SMTPUTF8 (UTF-8 in commands allowed only
#                       then; otherwise a non-ASCII command gets 500).
#   TLS: --cert FILE --key FILE, and --starttls (offer STARTTLS) or
#       --implicit-tls (TLS from the first byte); --require-tls (530 to
#       anything but EHLO/NOOP/STARTTLS/QUIT before TLS); --client-ca FILE
#       (ask for a client certificate and verify it with FILE);
#       --tls-min/--tls-max 1.2|1.3; --no-tickets (issue no session ticket,
#       TLS 1.3 and 1.2: a TLS 1.3 client then has nothing to resume;
#       TLS 1.2 may still resume by session ID within this process).
#       A server process keeps its ticket keys for its life: a client may
#       resume with it, never with a restarted server.
#   AUTH: --auth-user U --auth-password P [--auth-mechs PLAIN,LOGIN,...]
#       (default PLAIN,LOGIN; implemented: PLAIN LOGIN CRAM-MD5 SCRAM-SHA-1
#       SCRAM-SHA-256 XOAUTH2 OAUTHBEARER (token = the password) EXTERNAL
#       (succeeds when a verified client certificate was presented); any
#       other name is advertised but answered 504).  AUTH is offered only
#       under TLS unless --auth-allow-plaintext; --auth-required refuses
#       MAIL before AUTH (530).
#   --auth-token-file FILE  XOAUTH2 and OAUTHBEARER accept, for the user
#       --auth-user, any bearer token listed in FILE (one per line, read
#       afresh at each AUTH: tests/servers/oauth_server.py keeps its valid
#       access tokens there) instead of --auth-password.  Any other token
#       gets the real failure: 334 with base64 JSON {"status":
#       "invalid_token", ...}, and 535 after the client's empty answer.
#       Each attempt adds "K MECHANISM USER TOKEN accepted|rejected" to
#       SPOOL/oauth-auth.log, and an accepted one puts the token in
#       N.json's auth.token.
#
# FAULTS: --fault STEP=ACTION (repeatable; the first matching one wins,
#   address-specific before generic)
#   STEP: greeting ehlo (EHLO or LHLO) helo starttls auth mail rcpt
#         rcpt:ADDRESS data eom eom:ADDRESS rset quit noop
#         (eom is the reply after the message data; eom:ADDRESS is that
#         recipient's reply in LMTP, and in SMTP applies when ADDRESS is a
#         recipient.)  Addresses compare case-insensitively.
#   ACTION:
#     "NNN text"     send this reply instead (escapes: \r \n \t \\ \xHH, so
#                    "550-a\r\n550 b" is a multi-line reply).  After a 421
#                    the server half-closes and ends the session when the
#                    client closes (so the 421 is never lost to a RST).  A
#                    non-2xx reply at eom records nothing.
#     drop           close the connection without a reply
#     reset          abort the connection with a TCP RST
#     silence        never reply, keep the socket open
#     pass           behave normally (with sleep: a slow but working server;
#                    note that a 2xx reply action does not run the command,
#                    so "mail=250 ok" leaves no sender: use sleep:1:pass)
#     drip:TEXT      send TEXT CRLF one byte per --drip-interval (1 s)
#     garbage:TEXT   send TEXT CRLF (a malformed reply line)
#     inject:TEXT    (starttls only) send "220 2.0.0 Ready to start TLS" CRLF
#                    followed by the plaintext TEXT in the same write, then
#                    start TLS: a STARTTLS response injection attack
#     sleep:S:ACTION wait S seconds, then ACTION ("sleep:1:pass": slow)
#     once:ACTION    only in session 1; later sessions behave normally
#
# Example: smtpd.py --port-file p --spool s --fault 'rcpt:b@x=550 5.1.1 no'

import argparse
import asyncio
import asyncio.sslproto as sslproto
import base64
import codecs
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import select
import signal
import socket
import ssl
import struct
import sys
import time
import warnings

warnings.simplefilter("ignore")

from aiosmtpd.lmtp import LMTP  # noqa: E402
from aiosmtpd.smtp import (  # noqa: E402
    MISSING, SMTP, AuthResult, LoginPassword, TLSSetupException, syntax)

HOSTNAME = "outbox-test.localhost"
AUTH_LINE_LIMIT = 12288 + 2   # RFC 4954 4: AUTH lines up to 12288 octets
STEPS = {"greeting", "ehlo", "helo", "starttls", "auth", "mail", "rcpt",
         "data", "eom", "rset", "quit", "noop"}
ADDRESS_STEPS = {"rcpt", "eom"}
IMPLEMENTED_MECHS = {"PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-1",
                     "SCRAM-SHA-256", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"}
log = logging.getLogger("smtpd")


# ---------------------------------------------------------------- faults

class Action:
    """One parsed fault action."""

    def __init__(self, kind, text=b"", once=False, delay=0.0):
        self.kind = kind      # reply drop reset silence drip garbage inject
        self.text = text      # bytes
        self.once = once
        self.delay = delay

    def label(self):
        if self.kind == "reply":
            return self.text[:3].decode("ascii", "replace")
        return self.kind

    def code(self):
        if self.kind == "reply":
            return int(self.text[:3])
        return None


def unescape(text):
    raw = text.encode("utf-8", "surrogateescape")
    return codecs.escape_decode(raw)[0]


def parse_action(spec):
    once = False
    delay = 0.0
    while True:
        if spec.startswith("once:"):
            once = True
            spec = spec[5:]
        elif spec.startswith("sleep:"):
            secs, sep, rest = spec[6:].partition(":")
            if not sep:
                raise ValueError("sleep:SECONDS:ACTION expected")
            delay += float(secs)
            spec = rest
        else:
            break
    if spec in ("drop", "reset", "silence", "pass"):
        return Action(spec, once=once, delay=delay)
    for kind in ("drip", "garbage", "inject"):
        if spec.startswith(kind + ":"):
            return Action(kind, unescape(spec[len(kind) + 1:]), once, delay)
    text = unescape(spec)
    if not re.match(rb"^[2-5][0-9][0-9]([ -]|$)", text):
        raise ValueError("a reply must start with a code 200..599: %r" %
                         spec)
    return Action("reply", text, once, delay)


def parse_fault(spec):
    step, sep, action = spec.partition("=")
    if not sep:
        raise ValueError("STEP=ACTION expected: %r" % spec)
    step, _, address = step.partition(":")
    step = step.lower()
    if step not in STEPS:
        raise ValueError("unknown step %r" % step)
    if address and step not in ADDRESS_STEPS:
        raise ValueError("step %r takes no address" % step)
    act = parse_action(action)
    if act.kind == "inject" and step != "starttls":
        raise ValueError("inject: is only for the starttls step")
    return (step, address.lower() or None, act)


class Faults:
    def __init__(self, specs):
        self.items = [parse_fault(s) for s in specs]

    def find(self, step, session, address=None):
        """The action for step in session (address-specific first)."""
        candidates = []
        if address is not None:
            candidates.append(address.lower())
        candidates.append(None)
        for want in candidates:
            for st, addr, act in self.items:
                if st != step or addr != want:
                    continue
                if act.once and session != 1:
                    continue
                return act
        return None

    def find_any_address(self, step, session, addresses):
        for a in addresses:
            act = self.find(step, session, a)
            if act is not None:
                return act
        return None


# -------------------------------------------------------------- recording

class Recorder:
    def __init__(self, spool, exit_after, stop):
        self.spool = spool
        os.makedirs(spool, exist_ok=True)
        self.exit_after = exit_after
        self.stop = stop
        self.next_session = 1
        self.next_message = 1
        self.ended = 0
        self.sessions = {}  # k -> list of tokens
        self.wire = open(os.path.join(spool, "wire.log"), "ab",
                         buffering=0)
        self.wire_clear = open(os.path.join(spool, "wire-clear.log"), "ab",
                               buffering=0)
        self.transcript = open(os.path.join(spool, "transcript.log"), "ab",
                               buffering=0)
        self._write_sessions()

    def path(self, name):
        return os.path.join(self.spool, name)

    def write_atomic(self, name, data):
        tmp = self.path("." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, self.path(name))

    def new_session(self):
        k = self.next_session
        self.next_session += 1
        self.sessions[k] = ["CONNECT"]
        self._write_sessions()
        return k

    def _write_sessions(self):
        lines = "".join("%d %s\n" % (k, " ".join(toks))
                        for k, toks in sorted(self.sessions.items()))
        self.write_atomic("sessions.log", lines.encode())

    def token(self, k, tok):
        self.sessions[k].append(tok)
        self._write_sessions()

    def retoken(self, k, tok):
        self.sessions[k][-1] = tok
        self._write_sessions()

    def last_token(self, k):
        return self.sessions[k][-1]

    def end_session(self, k):
        if self.sessions[k][-1] == "CLOSE":
            return
        self.sessions[k].append("CLOSE")
        self._write_sessions()
        self.ended += 1
        if self.exit_after and self.ended >= self.exit_after:
            self.stop.set()

    def wire_bytes(self, data, clear):
        self.wire.write(data)
        if clear:
            self.wire_clear.write(data)

    def pipelined(self, k, verb):
        with open(self.path("pipelined.log"), "a") as f:
            f.write("%d %s\n" % (k, verb))

    def line(self, k, direction, data):
        self.transcript.write(b"%d %s: %s\n" % (k, direction, data))

    def message(self, content, meta):
        n = self.next_message
        self.next_message += 1
        self.write_atomic("%d.eml" % n, content)
        self.write_atomic("%d.fields" % n, flatten(meta))
        self.write_atomic("%d.json" % n,
                          json.dumps(meta, indent=1).encode() + b"\n")
        return n


def flatten(meta):
    """N.fields: "key TAB value" lines, so shell tests need no JSON parser:
    scalars as text (true/false/null), a list as one line per item plus
    key.I lines, a dict as compact JSON plus key.SUBKEY lines."""
    out = []

    def show(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if v is None:
            return "null"
        if isinstance(v, (str, int, float)):
            return str(v)
        return json.dumps(v, sort_keys=True)

    def walk(key, v):
        if isinstance(v, dict):
            out.append((key, show(v)))
            for k2, v2 in v.items():
                walk(key + "." + k2, v2)
        elif isinstance(v, list):
            out.extend((key, show(item)) for item in v)
            for i, item in enumerate(v):
                walk("%s.%d" % (key, i), item)
        else:
            out.append((key, show(v)))

    for k, v in meta.items():
        walk(k, v)
    text = "".join("%s\t%s\n" % (k, v.replace("\t", "\\t")
                                       .replace("\n", "\\n"))
                   for k, v in out)
    return text.encode("utf-8", "surrogateescape")


# ------------------------------------------------------------ the handler

class Handler:
    def __init__(self, cfg):
        self.cfg = cfg

    async def handle_EHLO(self, server, session, envelope, hostname,
                          responses):
        session.host_name = hostname
        cfg = self.cfg
        tls_on = server._tls_protocol is not None
        lines = [HOSTNAME]
        if cfg.pipelining:
            lines.append("PIPELINING")
        if cfg.size:
            lines.append("SIZE %d" % cfg.size)
        if cfg.eightbitmime:
            lines.append("8BITMIME")
        if cfg.smtputf8:
            lines.append("SMTPUTF8")
        if cfg.dsn:
            lines.append("DSN")
        if cfg.starttls and not tls_on:
            lines.append("STARTTLS")
        if cfg.mechs and (tls_on or cfg.auth_allow_plaintext):
            lines.append("AUTH " + " ".join(cfg.mechs))
        lines.extend(cfg.ehlo_extra)
        return ["250-" + x for x in lines[:-1]] + ["250 " + lines[-1]]

    async def handle_DATA(self, server, session, envelope):
        return server.finish_data()


# ------------------------------------------------------------- the server

class ServerMixin:
    """Recording, faults and the overridden commands; mixed into aiosmtpd's
    SMTP and LMTP classes."""

    def __init__(self, handler, cfg, recorder, faults, **kwargs):
        self.cfg = cfg
        self.rec = recorder
        self.faults = faults
        self.k = recorder.new_session()
        self.peer_name = "?"
        self._wire_clear = not cfg.implicit_tls
        self._greeted = False
        self._open = False       # a command is being answered
        self._verb = None
        self._ended = False
        self._auth_info = None
        self._helo_verb = None
        super().__init__(handler, **kwargs)
        self.command_size_limits["AUTH"] = AUTH_LINE_LIMIT
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._wrap(verb, method)

    # -- plumbing

    def connection_made(self, transport):
        first = self.transport is None
        super().connection_made(transport)
        if first:
            peer = transport.get_extra_info("peername")
            if isinstance(peer, tuple):
                self.peer_name = "%s:%d" % (peer[0], peer[1])
            else:
                self.peer_name = str(peer or "unix")
            # A bounded StreamReader line limit outside DATA, large enough
            # for AUTH lines; DATA restores aiosmtpd's RFC 5321 limit.
            self._reader._limit = AUTH_LINE_LIMIT

    def connection_lost(self, error):
        try:
            super().connection_lost(error)
        finally:
            self._end()

    def _end(self):
        if not self._ended:
            self._ended = True
            self.rec.end_session(self.k)

    def data_received(self, data):
        self.rec.wire_bytes(data, self._wire_clear)
        super().data_received(data)

    def _tls_info(self):
        obj = None
        if self._tls_protocol is not None:
            obj = self._tls_protocol._extra.get("ssl_object")
        if obj is None:
            return None
        cert = obj.getpeercert() or {}
        cn = None
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    cn = value
        return {"version": obj.version(), "cipher": obj.cipher()[0],
                "client_cert": cn, "resumed": bool(obj.session_reused)}

    def _tls_failed(self):
        """TLSFAIL, and RESUMED when the server had taken the client's
        ticket before the handshake failed (a client refusing the resumed
        session's certificate)."""
        self.rec.token(self.k, "TLSFAIL")
        obj = getattr(self._tls_protocol, "_sslobj", None)
        try:
            reused = obj is not None and obj.session_reused
        except Exception:
            reused = False
        if reused:
            self.rec.token(self.k, "RESUMED")

    def _note_reply(self, label):
        """Attribute a reply (its code, or a fault's name) to a token."""
        k = self.k
        if not self._greeted:
            self._greeted = True
            self.rec.token(k, "GREETING:" + label)
            return
        if not self._open:
            self.rec.token(k, "?:" + label)
            return
        last = self.rec.last_token(k)
        if self._verb == "DATA" and (last == "DATA:354" or
                                     last.startswith("EOM:")):
            if self._reader._buffer:
                # The client sent more (QUIT) before this reply.
                self.rec.pipelined(k, "EOM")
            self.rec.token(k, "EOM:" + label)
        else:
            self.rec.retoken(k, "%s:%s" % (self._verb, label))

    async def _write(self, data):
        self._writer.write(data)
        await self._writer.drain()

    async def push(self, status):
        if isinstance(status, list):
            for item in status:
                await self.push(item)
            return
        if isinstance(status, Action):
            return await self._perform(status)
        if isinstance(status, str):
            status = status.encode("utf-8", "surrogateescape")
        if not self._greeted:
            act = self.faults.find("greeting", self.k)
            if act is not None and act.kind == "pass":
                await asyncio.sleep(act.delay)
            elif act is not None:
                return await self._perform(act)
        self._note_reply(status[:3].decode("ascii", "replace"))
        for line in status.split(b"\r\n"):
            self.rec.line(self.k, b"S", line)
        await self._write(status + b"\r\n")

    async def _hang(self):
        await self.loop.create_future()

    async def _close_gracefully(self):
        """End the session after a 421 (RFC 5321 3.8) without losing it:
        closing with pipelined client bytes unread makes the kernel send a
        RST, which can destroy the 421 before the client reads it. So
        half-close, discard input until the client closes (<= 5 s), then
        close."""
        if self.transport.can_write_eof():
            self.transport.write_eof()

        async def drain():
            while await self._reader.read(65536):
                pass
        try:
            await asyncio.wait_for(drain(), 5)
        except (asyncio.TimeoutError, ConnectionError):
            pass
        self.transport.close()
        await self._hang()

    async def _perform(self, act):
        """Carry out a fault action in place of a reply."""
        if act.delay:
            await asyncio.sleep(act.delay)
        self._note_reply(act.label())
        if act.kind == "reply":
            for line in act.text.split(b"\r\n"):
                self.rec.line(self.k, b"S", line)
            await self._write(act.text + b"\r\n")
            if act.code() == 421:
                await self._close_gracefully()
        elif act.kind == "garbage":
            self.rec.line(self.k, b"S", act.text)
            await self._write(act.text + b"\r\n")
        elif act.kind == "drip":
            self.rec.line(self.k, b"S", b"(drip) " + act.text)
            for i in range(len(act.text) + 2):
                chunk = (act.text + b"\r\n")[i:i + 1]
                await self._write(chunk)
                await asyncio.sleep(self.cfg.drip_interval)
        elif act.kind == "drop":
            self.transport.close()
            await self._hang()
        elif act.kind == "reset":
            raw = self._original_transport or self.transport
            sock = raw.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            raw.abort()
            await self._hang()
        elif act.kind == "silence":
            await self._hang()
        else:
            raise AssertionError(act.kind)

    def _wrap(self, verb, method):
        async def wrapped(arg):
            step = verb.lower()
            if step == "lhlo":
                step = "ehlo"
            line = verb if arg is None else verb + " " + arg
            self.rec.line(self.k, b"C",
                          line.encode("utf-8", "surrogateescape"))
            self.rec.token(self.k, verb)
            if self._reader._buffer:
                # The client sent more before this command's reply.
                self.rec.pipelined(self.k, verb)
            self._verb = verb
            self._open = True
            try:
                address = None
                if step == "rcpt" and arg:
                    address = self._rcpt_address(arg)
                act = None
                if step in STEPS:
                    act = self.faults.find(step, self.k, address)
                if step == "ehlo" and act is None and self.cfg.no_esmtp:
                    act = Action("reply", b"500 5.5.1 EHLO not supported")
                if act is not None and act.kind == "pass":
                    await asyncio.sleep(act.delay)
                elif act is not None and act.kind != "inject":
                    return await self._perform(act)
                if verb in ("EHLO", "HELO", "LHLO"):
                    self._helo_verb = verb
                return await method(arg)
            finally:
                self._open = False
        return wrapped

    def _rcpt_address(self, arg):
        rest = self._strip_command_keyword("TO:", arg)
        if rest is None:
            return None
        address, _ = self._getaddr(rest)
        return address

    async def _handle_client(self):
        try:
            if self.cfg.implicit_tls:
                try:
                    await self._start_tls(b"")
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.info("session %d: TLS handshake failed: %r",
                             self.k, error)
                    self._tls_failed()
                    self._end()
                    return
            await super()._handle_client()
        finally:
            # aiosmtpd leaves the socket half-open when the client's EOF
            # cancels us outside its command loop (e.g. during a silent
            # greeting): close it so the session ends.
            if self.transport is not None:
                self.transport.close()

    async def _start_tls(self, before):
        """Switch the connection to TLS (aiosmtpd's STARTTLS mechanism,
        also used for implicit TLS); `before` is written first, in the
        clear."""
        if before:
            await self._write(before)
        waiter = self.loop.create_future()
        self._tls_protocol = sslproto.SSLProtocol(
            self.loop, self, self.tls_context, waiter, server_side=True)
        self._original_transport = self.transport
        # From here on every byte reaches data_received decrypted.
        self._wire_clear = False
        self._original_transport.set_protocol(self._tls_protocol)
        self.transport = self._tls_protocol._app_transport
        self._tls_protocol.connection_made(self._original_transport)
        await waiter
        info = self._tls_info()
        self.rec.token(self.k, "TLS:" + (info["version"] if info else "?"))
        if info and info["resumed"]:
            self.rec.token(self.k, "RESUMED")
        if info:
            self.rec.line(self.k, b"T", b"TLS %s %s" % (
                info["version"].encode(),
                b"resumed" if info["resumed"] else b"new"))

    # -- commands

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg):
        if arg:
            return await self.push("501 Syntax: STARTTLS")
        if not self.cfg.starttls or self._tls_protocol is not None:
            return await self.push("454 4.7.0 TLS not available")
        act = self.faults.find("starttls", self.k)
        reply = b"220 2.0.0 Ready to start TLS\r\n"
        extra = act.text if act is not None and act.kind == "inject" else b""
        self._note_reply("220")
        self.rec.line(self.k, b"S", reply.rstrip() +
                      (b" (+injected %r)" % extra if extra else b""))
        try:
            await self._start_tls(reply + extra)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._tls_failed()
            raise TLSSetupException() from error

    async def smtp_AUTH(self, arg):
        if arg:
            mech = arg.split()[0].upper()
            if (self.cfg.mechs and mech in self.cfg.mechs and
                    mech not in IMPLEMENTED_MECHS):
                return await self.push("504 5.5.4 mechanism not "
                                       "implemented by the test server")
            if mech not in self.cfg.mechs:
                return await self.push("504 5.5.4 Unrecognized "
                                       "authentication type")
        old = self._reader._limit
        self._reader._limit = AUTH_LINE_LIMIT
        try:
            await super().smtp_AUTH(arg)
        finally:
            self._reader._limit = old

    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("MAIL"):
            return
        syntaxerr = "501 5.5.4 Syntax: MAIL FROM: <address>"
        if self.session.extended_smtp:
            syntaxerr += " [SP <mail-parameters>]"
        rest = self._strip_command_keyword("FROM:", arg or "")
        if rest is None:
            return await self.push(syntaxerr)
        address, params = self._parse_path(rest)
        if address is None:
            return await self.push("553 5.1.3 Error: malformed address")
        if self.envelope.mail_from is not None:
            return await self.push("503 5.5.1 Error: nested MAIL command")
        tokens = params.split()
        if tokens and not self.session.extended_smtp:
            return await self.push(syntaxerr)
        cfg = self.cfg
        smtputf8 = False
        for tok in tokens:
            key, eq, value = tok.partition("=")
            key = key.upper()
            if key == "BODY" and cfg.eightbitmime:
                if value.upper() not in ("7BIT", "8BITMIME"):
                    return await self.push("501 5.5.4 BODY can only be "
                                           "7BIT or 8BITMIME")
            elif key == "SIZE" and cfg.size:
                if not value.isdigit():
                    return await self.push("501 5.5.4 bad SIZE")
                if int(value) > cfg.size:
                    return await self.push("552 5.3.4 message size "
                                           "exceeds fixed maximum "
                                           "message size")
            elif key == "SMTPUTF8" and cfg.smtputf8:
                if eq:
                    return await self.push("501 5.5.4 SMTPUTF8 takes no "
                                           "value")
                smtputf8 = True
            elif key == "RET" and cfg.dsn:
                if value.upper() not in ("FULL", "HDRS"):
                    return await self.push("501 5.5.4 bad RET")
            elif key == "ENVID" and cfg.dsn:
                if not valid_xtext(value):
                    return await self.push("501 5.5.4 bad ENVID")
            elif key == "AUTH" and cfg.mechs:
                if not value:
                    return await self.push("501 5.5.4 bad AUTH")
            else:
                return await self.push("555 5.5.4 MAIL FROM parameter %s "
                                       "not recognized" % key)
        if not smtputf8 and not address.isascii():
            return await self.push("553 5.6.7 non-ASCII address without "
                                   "SMTPUTF8")
        self.envelope.mail_from = address
        self.envelope.mail_options = tokens
        self.envelope.smtp_utf8 = smtputf8
        self.envelope.rcpt_options = []
        await self.push("250 2.1.0 OK")

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg):
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("RCPT"):
            return
        if self.envelope.mail_from is None:
            return await self.push("503 5.5.1 Error: need MAIL command")
        syntaxerr = "501 5.5.4 Syntax: RCPT TO: <address>"
        rest = self._strip_command_keyword("TO:", arg or "")
        if rest is None:
            return await self.push(syntaxerr)
        address, params = self._parse_path(rest)
        if address is None:
            return await self.push("553 5.1.3 Error: malformed address")
        if not address:
            return await self.push(syntaxerr)
        tokens = params.split()
        if tokens and not self.session.extended_smtp:
            return await self.push(syntaxerr)
        for tok in tokens:
            key, _, value = tok.partition("=")
            key = key.upper()
            if key == "NOTIFY" and self.cfg.dsn:
                words = value.upper().split(",")
                ok = (words == ["NEVER"] or
                      (words and all(w in ("SUCCESS", "FAILURE", "DELAY")
                                     for w in words) and
                       len(set(words)) == len(words)))
                if not ok:
                    return await self.push("501 5.5.4 bad NOTIFY")
            elif key == "ORCPT" and self.cfg.dsn:
                kind, semi, xt = value.partition(";")
                if not semi or not kind or not valid_xtext(xt):
                    return await self.push("501 5.5.4 bad ORCPT")
            else:
                return await self.push("555 5.5.4 RCPT TO parameter %s "
                                       "not recognized" % key)
        if not self.envelope.smtp_utf8 and not address.isascii():
            return await self.push("553 5.6.7 non-ASCII address without "
                                   "SMTPUTF8")
        if (self.cfg.max_rcpt and
                len(self.envelope.rcpt_tos) >= self.cfg.max_rcpt):
            # RFC 5321 4.5.3.1.10: a server may limit the recipients of
            # one transaction; the client sends the rest in another.
            return await self.push(self.cfg.max_rcpt_reply)
        self.envelope.rcpt_tos.append(address)
        self.envelope.rcpt_options.append(tokens)
        await self.push("250 2.1.5 OK")

    async def smtp_DATA(self, arg):
        # aiosmtpd's own RFC 5321 line limit while reading message data.
        self._reader._limit = self.line_length_limit
        try:
            await super().smtp_DATA(arg)
        finally:
            self._reader._limit = AUTH_LINE_LIMIT

    def _parse_path(self, text):
        """(address, parameters) of "<path> params"; "" for "<>"."""
        text = text.lstrip()
        if text.startswith("<>"):
            return "", text[2:]
        address, rest = self._getaddr(text)
        if address is None or not address:
            return None, ""
        return address, rest or ""

    # -- end of data

    def _meta(self, rcpts):
        env = self.envelope
        index = {}
        for i, r in enumerate(env.rcpt_tos):
            index.setdefault(r, i)
        opts = env.rcpt_options
        return {
            "mail_from": env.mail_from,
            "rcpt_tos": rcpts,
            "mail_options": env.mail_options,
            "rcpt_options": [opts[index[r]] if index[r] < len(opts) else []
                             for r in rcpts],
            "session": self.k,
            "helo": self.session.host_name,
            "helo_verb": self._helo_verb,
            "smtputf8": bool(env.smtp_utf8),
            "protocol": "LMTP" if isinstance(self, LMTP) else "SMTP",
            "tls": self._tls_info(),
            "auth": self._auth_info,
            "size": len(env.original_content),
            "peer": self.peer_name,
        }

    def finish_data(self):
        """The reply (or fault) after the message data; records it."""
        env = self.envelope
        if isinstance(self, LMTP):
            return self._finish_lmtp()
        act = self.faults.find_any_address("eom", self.k, env.rcpt_tos)
        if act is not None and act.kind == "pass":
            n = self.rec.message(env.original_content,
                                 self._meta(list(env.rcpt_tos)))
            return Action("reply", b"250 2.0.0 OK queued as %d" % n,
                          delay=act.delay)
        if act is not None:
            if act.kind == "reply" and 200 <= act.code() < 300:
                self.rec.message(env.original_content,
                                 self._meta(list(env.rcpt_tos)))
            return act
        n = self.rec.message(env.original_content,
                             self._meta(list(env.rcpt_tos)))
        return "250 2.0.0 OK queued as %d" % n

    def _finish_lmtp(self):
        env = self.envelope
        replies = []
        accepted = []
        texts = {}
        for r in env.rcpt_tos:
            act = self.faults.find("eom", self.k, r)
            if act is None or act.kind == "pass":
                accepted.append(r)
                texts[r] = "250 2.0.0 <%s> delivered" % r
                replies.append(Action("reply", texts[r].encode(
                    "utf-8", "surrogateescape"),
                    delay=act.delay if act else 0))
                continue
            if act.kind == "reply":
                texts[r] = act.text.decode("utf-8", "surrogateescape")
                if 200 <= act.code() < 300:
                    accepted.append(r)
            replies.append(act)
            if act.kind != "reply":
                break  # the connection ends here
        if accepted:
            meta = self._meta(accepted)
            meta["lmtp_replies"] = texts
            self.rec.message(env.original_content, meta)
        return replies

    # -- more AUTH mechanisms (aiosmtpd names auth_CRAM__MD5 "CRAM-MD5")

    def _authenticate(self, mechanism, auth_data):
        result = super()._authenticate(mechanism, auth_data)
        if result.success:
            self._auth_info = {"mechanism": mechanism,
                               "login": auth_data.login.decode(
                                   "utf-8", "surrogateescape")}
        return result

    async def _initial(self, args):
        """The initial response or, without one, the answer to "334 "."""
        if len(args) > 1:
            if args[1] == "=":
                return b""
            try:
                return base64.b64decode(args[1], validate=True)
            except Exception:
                await self.push("501 5.5.2 Can't decode base64")
                return None
        blob = await self.challenge_auth(b"", encode_to_b64=False)
        return None if blob is MISSING else blob

    async def auth_CRAM__MD5(self, _, args):
        challenge = ("<%s.%d@%s>" % (secrets.token_hex(8), int(time.time()),
                                     HOSTNAME)).encode()
        blob = await self.challenge_auth(challenge)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        user, _, digest = blob.decode("utf-8", "replace").rpartition(" ")
        want = hmac.new(self.cfg.auth_password.encode(), challenge,
                        hashlib.md5).hexdigest()
        if user == self.cfg.auth_user and hmac.compare_digest(digest, want):
            return self._auth_ok("CRAM-MD5", user)
        return AuthResult(success=False, handled=False)

    async def _scram(self, args, name, digest):
        first = await self._initial(args)
        if first is None:
            return AuthResult(success=False, handled=True)
        try:
            text = first.decode()
            cbflag, authzid, bare = text.split(",", 2)
            if cbflag not in ("n", "y"):
                raise ValueError("channel binding not supported")
            fields = dict(f.split("=", 1) for f in bare.split(","))
            user = fields["n"].replace("=2C", ",").replace("=3D", "=")
            cnonce = fields["r"]
        except Exception:
            await self.push("501 5.5.2 bad SCRAM client-first-message")
            return AuthResult(success=False, handled=True)
        salt = secrets.token_bytes(16)
        iterations = 4096
        nonce = cnonce + secrets.token_hex(12)
        server_first = "r=%s,s=%s,i=%d" % (
            nonce, base64.b64encode(salt).decode(), iterations)
        final = await self.challenge_auth(server_first)
        if final is MISSING:
            return AuthResult(success=False, handled=True)
        try:
            parts = final.decode().split(",")
            without_proof = ",".join(p for p in parts
                                     if not p.startswith("p="))
            fields = dict(p.split("=", 1) for p in parts)
            proof = base64.b64decode(fields["p"])
            gs2 = base64.b64decode(fields["c"]).decode()
            ok_syntax = (fields["r"] == nonce and
                         gs2 == "%s,%s," % (cbflag, authzid))
        except Exception:
            ok_syntax = False
        if not ok_syntax:
            return AuthResult(success=False, handled=False)
        salted = hashlib.pbkdf2_hmac(digest,
                                     self.cfg.auth_password.encode(),
                                     salt, iterations)
        client_key = hmac.new(salted, b"Client Key", digest).digest()
        stored = hashlib.new(digest, client_key).digest()
        auth_message = ("%s,%s,%s" % (bare, server_first,
                                      without_proof)).encode()
        signature = hmac.new(stored, auth_message, digest).digest()
        recovered = bytes(a ^ b for a, b in zip(proof, signature))
        if (user != self.cfg.auth_user or len(proof) != len(signature) or
                hashlib.new(digest, recovered).digest() != stored):
            return AuthResult(success=False, handled=False)
        server_key = hmac.new(salted, b"Server Key", digest).digest()
        verifier = base64.b64encode(
            hmac.new(server_key, auth_message, digest).digest())
        blob = await self.challenge_auth(b"v=" + verifier)
        if blob is MISSING:
            return AuthResult(success=False, handled=True)
        return self._auth_ok(name, user)

    async def auth_SCRAM__SHA__1(self, _, args):
        return await self._scram(args, "SCRAM-SHA-1", "sha1")

    async def auth_SCRAM__SHA__256(self, _, args):
        return await self._scram(args, "SCRAM-SHA-256", "sha256")

    async def _bearer_fail(self):
        error = json.dumps({"status": "invalid_token",
                            "schemes": "bearer", "scope": "mail"})
        await self.challenge_auth(error)
        return AuthResult(success=False, handled=False)

    def _bearer_ok(self, mechanism, user, auth):
        """Is "auth=" value `auth` right for `user`: the password, or with
        --auth-token-file a listed token (logged in oauth-auth.log)."""
        if self.cfg.auth_token_file is None:
            return (user == self.cfg.auth_user and
                    auth == "Bearer " + self.cfg.auth_password)
        try:
            with open(self.cfg.auth_token_file) as f:
                valid = {line.strip() for line in f if line.strip()}
        except OSError:
            valid = set()
        scheme, _, token = (auth or "").partition(" ")
        ok = (user == self.cfg.auth_user and scheme == "Bearer" and
              token in valid)
        with open(self.rec.path("oauth-auth.log"), "a") as f:
            f.write("%d %s %s %s %s\n" % (
                self.k, mechanism, user, token or "-",
                "accepted" if ok else "rejected"))
        if ok:
            self._auth_token = token
        return ok

    def _auth_ok(self, mechanism, login):
        self._auth_info = {"mechanism": mechanism, "login": login}
        if getattr(self, "_auth_token", None) is not None:
            self._auth_info["token"] = self._auth_token
        return AuthResult(success=True, handled=False,
                          auth_data=LoginPassword(login.encode(), b""))

    async def auth_XOAUTH2(self, _, args):
        blob = await self._initial(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        fields = dict(f.split("=", 1) for f in
                      blob.decode("utf-8", "replace").split("\x01") if f)
        user = fields.get("user")
        token = fields.get("auth", "")
        if self._bearer_ok("XOAUTH2", user, token):
            return self._auth_ok("XOAUTH2", user)
        return await self._bearer_fail()

    async def auth_OAUTHBEARER(self, _, args):
        blob = await self._initial(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        text = blob.decode("utf-8", "replace")
        gs2, _, rest = text.partition("\x01")
        user = None
        for part in gs2.split(","):
            if part.startswith("a="):
                user = part[2:].replace("=2C", ",").replace("=3D", "=")
        fields = dict(f.split("=", 1) for f in rest.split("\x01")
                      if "=" in f)
        if self._bearer_ok("OAUTHBEARER", user, fields.get("auth")):
            return self._auth_ok("OAUTHBEARER", user)
        return await self._bearer_fail()

    async def auth_EXTERNAL(self, _, args):
        blob = await self._initial(args)
        if blob is None:
            return AuthResult(success=False, handled=True)
        info = self._tls_info()
        if info and info["client_cert"]:
            return self._auth_ok("EXTERNAL", blob.decode() or
                                 info["client_cert"])
        return AuthResult(success=False, handled=False)


def valid_xtext(value):
    """RFC 3461 4: xtext = *( xchar / hexchar ), hexchar = "+" 2HEXUPPER."""
    if not value:
        return False
    i = 0
    while i < len(value):
        c = value[i]
        if c == "+":
            if not re.match(r"[0-9A-F]{2}", value[i + 1:i + 3]):
                return False
            i += 3
            continue
        if not (33 <= ord(c) <= 126) or c == "=":
            return False
        i += 1
    return True


class TestSMTP(ServerMixin, SMTP):
    pass


class TestLMTP(ServerMixin, LMTP):
    pass


# ------------------------------------------------------------------ main

def parse_listen(text):
    """ADDR:PORT or [ADDR6]:PORT -> (host, port)."""
    m = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):([0-9]{1,5})$",
                 text)
    if not m or int(m.group(3)) > 65535:
        raise argparse.ArgumentTypeError(
            "ADDR:PORT or [IPV6]:PORT expected: %r" % text)
    return (m.group(1) or m.group(2), int(m.group(3)))


def parse_args(argv):
    p = argparse.ArgumentParser(description="scripted SMTP/LMTP test server")
    p.add_argument("--port-file", required=True)
    p.add_argument("--spool", required=True)
    p.add_argument("--ipv6", action="store_true")
    p.add_argument("--unix")
    p.add_argument("--listen", type=parse_listen)
    p.add_argument("--exit-after", type=int, default=0)
    p.add_argument("--lmtp", action="store_true")
    p.add_argument("--no-esmtp", action="store_true")
    p.add_argument("--ehlo-extra", action="append", default=[])
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--max-rcpt", type=int, default=0)
    p.add_argument("--max-rcpt-reply",
                   default="452 4.5.3 Too many recipients")
    p.add_argument("--no-pipelining", action="store_true")
    p.add_argument("--no-8bitmime", action="store_true")
    p.add_argument("--dsn", action="store_true")
    p.add_argument("--smtputf8", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--require-tls", action="store_true")
    p.add_argument("--client-ca")
    p.add_argument("--tls-min", choices=["1.2", "1.3"])
    p.add_argument("--tls-max", choices=["1.2", "1.3"])
    p.add_argument("--no-tickets", action="store_true")
    p.add_argument("--auth-user")
    p.add_argument("--auth-password", default="")
    p.add_argument("--auth-mechs", default="PLAIN,LOGIN")
    p.add_argument("--auth-allow-plaintext", action="store_true")
    p.add_argument("--auth-required", action="store_true")
    p.add_argument("--auth-token-file")
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--drip-interval", type=float, default=1.0)
    p.add_argument("--idle-timeout", type=float, default=300)
    p.add_argument("--watch-pid", type=int, default=0)
    p.add_argument("--ready-fifo")
    cfg = p.parse_args(argv)
    cfg.pipelining = not cfg.no_pipelining
    cfg.eightbitmime = not cfg.no_8bitmime
    cfg.mechs = ([m.strip().upper() for m in cfg.auth_mechs.split(",")
                  if m.strip()] if cfg.auth_user is not None else [])
    if (cfg.starttls or cfg.implicit_tls) and not (cfg.cert and cfg.key):
        p.error("--starttls/--implicit-tls need --cert and --key")
    if cfg.listen and (cfg.unix or cfg.ipv6):
        p.error("--listen excludes --unix and --ipv6")
    if cfg.starttls and cfg.implicit_tls:
        p.error("--starttls and --implicit-tls exclude each other")
    if cfg.require_tls and not (cfg.starttls or cfg.implicit_tls):
        p.error("--require-tls needs --starttls or --implicit-tls")
    return cfg


def tls_context(cfg):
    if not (cfg.starttls or cfg.implicit_tls):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cfg.cert, cfg.key)
    versions = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    if cfg.tls_min:
        ctx.minimum_version = versions[cfg.tls_min]
    if cfg.tls_max:
        ctx.maximum_version = versions[cfg.tls_max]
    if cfg.client_ca:
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.load_verify_locations(cfg.client_ca)
    if cfg.no_tickets:
        ctx.options |= ssl.OP_NO_TICKET
        ctx.num_tickets = 0
    return ctx


def make_authenticator(cfg):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and
              cfg.auth_user is not None and
              auth_data.login == cfg.auth_user.encode() and
              auth_data.password == cfg.auth_password.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data)
    return authenticator


async def serve(cfg, faults):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    rec = Recorder(cfg.spool, cfg.exit_after, stop)
    handler = Handler(cfg)
    ctx = tls_context(cfg)
    cls = TestLMTP if cfg.lmtp else TestSMTP
    builtin = {"PLAIN", "LOGIN"}
    exclude = [m for m in IMPLEMENTED_MECHS if m not in cfg.mechs]
    exclude += [m for m in builtin if m not in cfg.mechs]

    def factory():
        return cls(handler, cfg, rec, faults,
                   hostname=HOSTNAME, ident="outbox test server",
                   data_size_limit=cfg.size or None,
                   enable_SMTPUTF8=cfg.smtputf8,
                   tls_context=ctx,
                   require_starttls=cfg.require_tls,
                   timeout=cfg.idle_timeout,
                   auth_required=cfg.auth_required,
                   auth_require_tls=not cfg.auth_allow_plaintext,
                   auth_exclude_mechanism=exclude,
                   authenticator=make_authenticator(cfg),
                   loop=loop)

    if cfg.unix:
        server = await loop.create_unix_server(factory, cfg.unix)
        where = cfg.unix
    else:
        host, port = cfg.listen or ("::1" if cfg.ipv6 else "127.0.0.1", 0)
        server = await loop.create_server(factory, host, port,
                                          reuse_address=True)
        where = str(server.sockets[0].getsockname()[1])
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(where + "\n")
    os.replace(tmp, cfg.port_file)
    if cfg.ready_fifo:
        # lib.bash blocks on this instead of polling the port file.
        with open(cfg.ready_fifo, "w") as f:
            f.write("%s %d\n" % (where, os.getpid()))
    if cfg.watch_pid:
        loop.create_task(watch(cfg.watch_pid, stop))
    await stop.wait()
    server.close()


async def watch(pid, stop):
    """Exit with the test that started us, even if it could not stop us."""
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:
            pass
        await asyncio.sleep(0.5)


def zygote(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--zygote", required=True)
    p.add_argument("--zygote-dir", required=True)
    p.add_argument("--zygote-idle", type=float, default=120)
    z = p.parse_args(argv)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children reap themselves
    fd = os.open(z.zygote, os.O_RDWR)  # never sees EOF, never blocks
    with open(os.path.join(z.zygote_dir, "up"), "w") as f:
        f.write("ready\n")
    pending = b""
    last = time.monotonic()
    while True:
        readable, _, _ = select.select([fd], [], [], 1.0)
        if not readable:
            if (not os.path.isdir(z.zygote_dir) or
                    time.monotonic() - last > z.zygote_idle):
                return 0
            continue
        pending += os.read(fd, 65536)
        last = time.monotonic()
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            spawn(os.fsdecode(line), fd)


def spawn(reqdir, zygote_fd):
    try:
        with open(os.path.join(reqdir, "request"), "rb") as f:
            parts = [os.fsdecode(x) for x in f.read().split(b"\0")[:-1]]
    except OSError:
        return
    if os.fork():
        return
    code = 2
    try:
        os.close(zygote_fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        for target, name in ((1, "stdout"), (2, "stderr")):
            out = os.open(os.path.join(reqdir, name), flags, 0o644)
            os.dup2(out, target)
            os.close(out)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.chdir(parts[0])
        code = main(parts[1:])
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 2
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(argv):
    if argv[:1] == ["--zygote"]:
        return zygote(argv)
    cfg = parse_args(argv)
    try:
        faults = Faults(cfg.fault)
    except ValueError as error:
        print("smtpd.py: --fault: %s" % error, file=sys.stderr)
        return 2
    os.makedirs(cfg.spool, exist_ok=True)
    logging.basicConfig(filename=os.path.join(cfg.spool, "server.log"),
                        level=logging.INFO,
                        format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(cfg, faults))
    except OSError as error:
        print("smtpd.py: %s" % error, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
