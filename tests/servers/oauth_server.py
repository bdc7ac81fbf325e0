#!/usr/bin/python3
# oauth_server.py - a scripted OAuth 2.0 authorization server over HTTPS for
# outbox's end-to-end tests of the built-in OAuth (RFC 8628 device
# authorization grant, RFC 6749 section 6 refresh).
#
# Debian's python3 only (http.server + ssl, one thread per connection).
# Run it with /usr/bin/python3; tests/lib.bash wraps it (start_oauth_server,
# oauth_* helpers): use that from bats.
#
# ENDPOINTS (POST, application/x-www-form-urlencoded; the path prefix is
# free, so /TENANT/oauth2/v2.0/devicecode and /token work as well as
# /devicecode and /token; any other path gets 404, any other method 405)
#   .../devicecode   device authorization request (RFC 8628 3.1): needs
#                    client_id (and client_secret with --client-secret);
#                    replies device_code, user_code, verification_uri (or
#                    verification_url with --google-style), expires_in,
#                    interval, and message when --message is given.
#   .../token        token endpoint (RFC 6749 3.2):
#       grant_type=urn:ietf:params:oauth:grant-type:device_code with
#           device_code (RFC 8628 3.4): the scripted poll replies (below),
#           then the outcome; a success issues an access token and a
#           refresh token and consumes the device code.
#       grant_type=refresh_token with refresh_token (RFC 6749 6): a valid
#           refresh token gets a new access token (and, with --rotate, a
#           new refresh token that replaces the old one); anything else
#           gets 400 invalid_grant.
#       other grant types: 400 unsupported_grant_type.
#   Client authentication: client_id in the form (or HTTP Basic); a
#   client_id other than --client-id, or (with --client-secret) a missing or
#   wrong secret, in the form or in HTTP Basic, gets 401 invalid_client.
#   Errors are RFC 6749 5.2 JSON bodies {"error", "error_description"}.
#
# LISTENING
#   --port-file FILE   required; the port is written there (tmp + rename)
#                      once listening on 127.0.0.1 (port 0 = any free one).
#   --ready-fifo FIFO  also write "PORT PID" there when listening.
#   --watch-pid PID    exit when process PID is gone (lib.bash passes the
#                      test's shell, so no server outlives its test).
#   --cert FILE --key FILE  required: the TLS certificate chain and key
#                      (made by lib.bash's make_certs with certtool).
#   stdout stays empty except for start-up errors (exit 2); SIGTERM and
#   SIGINT end the server at once.
#
# RECORDING (--dir DIR, required; created if missing)
#   requests.jsonl   one JSON object per request, in arrival order, written
#                    when the reply (or the fault) is decided: n (1, 2,
#                    ...), time (unix seconds, float), conn (connection
#                    number), method, path, endpoint ("devicecode" |
#                    "token" | "other"), grant_type, content_type,
#                    basic_auth (client id of an HTTP Basic header, or
#                    null), form {field: value} (the last value of a
#                    repeated field; form_multi lists every value), body
#                    (the raw request body), early (device-code poll sooner
#                    than the interval in force: true/false/null;
#                    interval_in_force and since_last, in seconds, come
#                    with it), status
#                    (HTTP status sent, or null for a fault), fault (the
#                    action taken, or null), reply (the JSON sent, or null).
#   requests.log     the same, one line per request for grep/awk:
#                    "N ENDPOINT GRANT STATUS|FAULT ERROR" (GRANT "-" when
#                    none; ERROR the reply's error code or "-"), e.g.
#                    "3 token refresh_token 200 -",
#                    "4 token device_code 400 slow_down".
#   req.N.fields     request N flattened, "key TAB value" per line (form.X,
#                    reply.X, path, status ...), what lib.bash reads.
#   connections.log  one line per TCP connection: "K CONNECT", then
#                    "K TLS TLSv1.3" or "K TLSFAIL reason", "K CLOSE".
#   access-tokens    the access tokens valid right now, one per line
#                    (rewritten atomically whenever one is issued, revoked
#                    or expires): give it to smtpd.py --auth-token-file.
#   refresh-tokens   the refresh tokens valid right now, one per line.
#   issued.log       "access TOKEN EXPIRES_AT" / "refresh TOKEN" per token
#                    issued, in order (the pre-issued ones first).
#
# TOKENS AND CLIENT
#   --client-id ID           the registered client (default: accept any
#                            non-empty client_id).
#   --client-secret SECRET   require this secret (client_secret in the form
#                            or HTTP Basic).
#   --access-lifetime S      expires_in of issued access tokens (default
#                            3600; 0 or less: issued already expired).
#   --no-expires-in          leave expires_in out of token replies.
#   --access-token-length N  length of issued access tokens (default 48;
#                            real Microsoft tokens are 1500-2500 bytes).
#   --rotate                 each refresh issues a new refresh token and
#                            revokes the one used (Microsoft's behaviour);
#                            without it the reply has no refresh_token
#                            (Google's behaviour) and the token stays valid.
#   --no-refresh-token       device-code success issues no refresh token.
#   --refresh-token TOKEN    pre-issue a valid refresh token (repeatable):
#                            send tests need no login.
#   --access-token TOKEN     pre-issue an access token valid for
#                            --access-lifetime (repeatable).
#   --revoked TOKEN          a refresh token that is known but revoked
#                            (invalid_grant; same as an unknown one).
#   --scope SCOPE            the scope to report in replies (default: the
#                            scope the client asked for, or "mail").
#   --error-echo             error replies (invalid_grant, the scripted
#                            poll errors and outcomes) quote the request's
#                            refresh_token, device_code and client_secret
#                            in error_description, as a careless server
#                            might: the client must not print them.
#   SIGUSR1                  revoke every refresh and access token now (as
#                            a password change or an admin would).
#   SIGUSR2                  expire every access token now (refresh tokens
#                            stay valid).
#
# DEVICE FLOW SCRIPT
#   --interval S             interval in the device authorization reply
#                            (default 1; 0 leaves the field out, RFC 8628
#                            then means 5).
#   --poll-script LIST       comma-separated replies to the successive
#                            device-code polls before the outcome, each one
#                            of authorization_pending, slow_down (the
#                            interval in force grows by 5 s, RFC 8628 3.5),
#                            or an HTTP status (500, 503 ...).  Default:
#                            none.  --pending N prepends N
#                            authorization_pending.
#   --outcome success|access_denied|expired_token   what the poll after
#                            the script gets (default success).
#   --device-expires S       expires_in of the device code (default 900);
#                            a poll after that gets expired_token.
#   --enforce-interval       answer a poll that comes sooner than the
#                            interval in force (minus 0.25 s) with
#                            slow_down, as RFC 8628 3.5 allows (it is
#                            always recorded as early:true).
#   --user-code CODE         default "WDJB-MJHT" (RFC 8628's example).
#   --verification-uri URI   default https://127.0.0.1:PORT/device.
#   --verification-uri-complete  also send verification_uri_complete.
#   --message TEXT           add Microsoft's "message" field.
#   --google-style           "verification_url" instead of
#                            "verification_uri" (Google's device endpoint).
#
# FAULTS: --fault ENDPOINT=ACTION (repeatable; the first one matching the
#   request wins; ENDPOINT is token, devicecode or any; faults take effect
#   before any token logic, so a faulted request changes no state)
#   ACTION:
#     500, 502, 503 ...  that HTTP status with an HTML body (a broken proxy)
#     429          429 Too Many Requests with Retry-After (--retry-after S,
#                  default 30) and a JSON error body
#     hang         read the request, then never reply (past any timeout)
#     stall        accept the TCP connection, never do the TLS handshake
#                  (decided before any request is read: applies to every
#                  connection whatever ENDPOINT says, or to the first one
#                  with once:)
#     close        read the request, close the connection without a reply
#     notjson      200 with a text/html body that is not JSON
#     badjson      200 application/json that is JSON but not an object
#     sleep:S:ACTION  wait S seconds, then ACTION (sleep:2:pass = a slow but
#                  working server)
#     pass         behave normally
#     once:ACTION  only for the first request this fault matches; later
#                  ones behave normally (combine: once:sleep:1:500)
#     grant:NAME:ACTION  only for token requests with grant_type NAME
#                  (refresh_token or device_code)
#
# Example:
#   oauth_server.py --port-file p --dir d --cert c.pem --key k.pem \
#       --pending 2 --poll-script slow_down --rotate --fault 'token=once:500'

import argparse
import base64
import json
import os
import secrets
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_NAMES = {DEVICE_GRANT: "device_code", "refresh_token": "refresh_token"}
POLL_ERRORS = {"authorization_pending", "slow_down", "access_denied",
               "expired_token"}
HANDSHAKE_TIMEOUT = 10
EARLY_TOLERANCE = 0.25


# ------------------------------------------------------------------ faults

class Fault:
    def __init__(self, endpoint, spec):
        self.endpoint = endpoint
        self.once = False
        self.delay = 0.0
        self.grant = None
        self.used = False
        while True:
            if spec.startswith("once:"):
                self.once = True
                spec = spec[5:]
            elif spec.startswith("grant:"):
                name, sep, rest = spec[6:].partition(":")
                if not sep or name not in ("refresh_token", "device_code"):
                    raise ValueError("grant:refresh_token|device_code:"
                                     "ACTION expected")
                self.grant = name
                spec = rest
            elif spec.startswith("sleep:"):
                secs, sep, rest = spec[6:].partition(":")
                if not sep:
                    raise ValueError("sleep:SECONDS:ACTION expected")
                self.delay += float(secs)
                spec = rest
            else:
                break
        if spec.isdigit() and 100 <= int(spec) <= 599:
            self.kind = "status"
            self.status = int(spec)
        elif spec in ("hang", "stall", "close", "notjson", "badjson",
                      "pass"):
            self.kind = spec
            self.status = None
        else:
            raise ValueError("unknown action %r" % spec)
        self.label = spec


def parse_fault(text):
    endpoint, sep, action = text.partition("=")
    if not sep or endpoint not in ("token", "devicecode", "any"):
        raise ValueError("ENDPOINT=ACTION expected (token, devicecode, "
                         "any): %r" % text)
    return Fault(endpoint, action)


# ------------------------------------------------------------------- state

class State:
    """Everything the endpoints share; every access under self.lock."""

    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.RLock()
        self.dir = cfg.dir
        self.n = 0
        self.conns = 0
        self.access = {}      # token -> expires_at (unix seconds)
        self.refresh = set()
        self.devices = {}     # device_code -> dict
        self.log = open(self.path("requests.jsonl"), "a", buffering=1)
        self.short = open(self.path("requests.log"), "a", buffering=1)
        self.conn_log = open(self.path("connections.log"), "a",
                             buffering=1)
        self.issued = open(self.path("issued.log"), "a", buffering=1)
        for t in cfg.refresh_token:
            self.refresh.add(t)
            self.issued.write("refresh %s\n" % t)
        for t in cfg.access_token:
            exp = int(time.time()) + cfg.access_lifetime
            self.access[t] = exp
            self.issued.write("access %s %d\n" % (t, exp))
        self.write_tokens()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_atomic(self, name, text):
        tmp = self.path("." + name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.path(name))

    def write_tokens(self):
        with self.lock:
            now = time.time()
            live = [t for t, exp in self.access.items() if exp > now]
            self.write_atomic("access-tokens",
                              "".join(t + "\n" for t in live))
            self.write_atomic("refresh-tokens",
                              "".join(t + "\n" for t in sorted(self.refresh)))

    def prune(self):
        """Drop expired access tokens from access-tokens."""
        with self.lock:
            now = time.time()
            dead = [t for t, exp in self.access.items() if exp <= now]
            if dead:
                for t in dead:
                    del self.access[t]
                self.write_tokens()

    def connection(self, event):
        with self.lock:
            self.conn_log.write(event + "\n")

    def new_conn(self):
        with self.lock:
            self.conns += 1
            k = self.conns
            self.conn_log.write("%d CONNECT\n" % k)
            return k

    def record(self, rec):
        with self.lock:
            self.n += 1
            rec["n"] = self.n
            self.log.write(json.dumps(rec, sort_keys=True) + "\n")
            reply = rec.get("reply")
            error = reply.get("error") if isinstance(reply, dict) else None
            self.short.write("%d %s %s %s %s\n" % (
                self.n, rec["endpoint"], rec.get("grant_type") or "-",
                rec["status"] if rec["status"] is not None else rec["fault"],
                error or "-"))
            self.write_atomic("req.%d.fields" % self.n, flatten(rec))

    # -- tokens

    def new_access_token(self):
        cfg = self.cfg
        length = max(cfg.access_token_length, 8)
        body = secrets.token_urlsafe(length)[:length - 3]
        token = "AT." + body
        exp = int(time.time()) + cfg.access_lifetime
        with self.lock:
            self.access[token] = exp
            self.issued.write("access %s %d\n" % (token, exp))
            self.write_tokens()
        return token

    def new_refresh_token(self):
        token = "RT." + secrets.token_urlsafe(30)
        with self.lock:
            self.refresh.add(token)
            self.issued.write("refresh %s\n" % token)
            self.write_tokens()
        return token

    def revoke_all(self):
        with self.lock:
            self.refresh.clear()
            self.access.clear()
            self.write_tokens()

    def expire_access(self):
        with self.lock:
            self.access.clear()
            self.write_tokens()


def flatten(rec):
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
            for k2 in sorted(v):
                walk(key + "." + k2, v[k2])
        elif isinstance(v, list):
            out.extend((key, show(item)) for item in v)
        else:
            out.append((key, show(v)))

    for k in sorted(rec):
        walk(k, rec[k])
    return "".join("%s\t%s\n" % (k, v.replace("\\", "\\\\")
                                  .replace("\t", "\\t").replace("\n", "\\n"))
                   for k, v in out)


# ----------------------------------------------------------------- handler

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "outbox-test-oauth/1"
    sys_version = ""

    # -- connection set-up: the TLS handshake happens here, in this
    # connection's thread, so a stalled client blocks nobody.

    def setup(self):
        st = self.server.state
        self.k = st.new_conn()
        self.closed_logged = False
        sock = self.request
        fault = self.server.find_fault(None, None, peek=True)
        if fault is not None and fault.kind == "stall":
            st.connection("%d STALL" % self.k)
            self.stalled = True
            super().setup()
            return
        self.stalled = False
        sock.settimeout(HANDSHAKE_TIMEOUT)
        try:
            sock.do_handshake()
        except (ssl.SSLError, OSError) as error:
            st.connection("%d TLSFAIL %s" % (
                self.k, getattr(error, "reason", None) or
                str(error).replace("\n", " ")))
            self.tls_failed = True
            super().setup()
            return
        self.tls_failed = False
        st.connection("%d TLS %s" % (self.k, sock.version()))
        sock.settimeout(None)
        super().setup()

    def wait_for_eof(self, raw=False):
        """Say nothing until the client gives up and closes."""
        recv = socket.socket.recv if raw else type(self.request).recv
        try:
            while recv(self.request, 65536):
                pass
        except (ssl.SSLError, OSError):
            pass
        self.close_connection = True

    def handle(self):
        if self.stalled:
            return self.wait_for_eof(raw=True)
        if self.tls_failed:
            return
        try:
            super().handle()
        except (ssl.SSLError, OSError):
            pass

    def finish(self):
        try:
            super().finish()
        except (ssl.SSLError, OSError):
            pass
        self.server.state.connection("%d CLOSE" % self.k)

    def log_message(self, fmt, *args):
        pass

    # -- replies

    def send_json(self, status, obj, extra=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Pragma", "no-cache")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def send_raw(self, status, ctype, body, extra=None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    # -- requests

    def do_GET(self):
        self.refuse_method()

    def do_PUT(self):
        self.refuse_method()

    def refuse_method(self):
        rec = self.base_record(b"")
        rec["status"] = 405
        rec["reply"] = {"error": "invalid_request",
                        "error_description": "POST only"}
        self.server.state.record(rec)
        self.send_json(405, rec["reply"], {"Allow": "POST"})

    def base_record(self, body):
        path = urllib.parse.urlsplit(self.path).path
        if path.endswith("/devicecode"):
            endpoint = "devicecode"
        elif path.endswith("/token"):
            endpoint = "token"
        else:
            endpoint = "other"
        ctype = self.headers.get("Content-Type", "")
        form = {}
        multi = {}
        text = body.decode("utf-8", "replace")
        if ctype.split(";")[0].strip().lower() == \
                "application/x-www-form-urlencoded":
            for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
                form[k] = v
                multi.setdefault(k, []).append(v)
        basic = None
        auth = self.headers.get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:].strip()).decode()
                cid, _, secret = raw.partition(":")
                basic = {"client_id": urllib.parse.unquote_plus(cid),
                         "client_secret": urllib.parse.unquote_plus(secret)}
            except Exception:
                basic = {"client_id": None, "client_secret": None}
        return {
            "time": time.time(),
            "conn": self.k,
            "method": self.command,
            "path": self.path,
            "endpoint": endpoint,
            "grant_type": GRANT_NAMES.get(form.get("grant_type"),
                                          form.get("grant_type")),
            "content_type": ctype,
            "basic_auth": basic["client_id"] if basic else None,
            "form": form,
            "form_multi": {k: v for k, v in multi.items() if len(v) > 1},
            "body": text,
            "early": None,
            "status": None,
            "fault": None,
            "reply": None,
            "_basic": basic,
        }

    def do_POST(self):
        st = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        rec = self.base_record(body)
        basic = rec.pop("_basic")
        endpoint = rec["endpoint"]
        if endpoint == "other":
            rec["status"] = 404
            rec["reply"] = {"error": "not_found"}
            st.record(rec)
            return self.send_json(404, rec["reply"])
        fault = self.server.find_fault(endpoint, rec["grant_type"])
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.kind != "pass":
                return self.perform(fault, rec)
        if not self.client_ok(rec, basic):
            return
        if endpoint == "devicecode":
            return self.device_authorization(rec)
        return self.token(rec)

    def perform(self, fault, rec):
        st = self.server.state
        rec["fault"] = fault.label
        cfg = self.server.cfg
        if fault.kind == "status" and fault.status == 429:
            rec["status"] = 429
            rec["reply"] = {"error": "temporarily_unavailable",
                            "error_description": "too many requests"}
            st.record(rec)
            return self.send_json(429, rec["reply"],
                                  {"Retry-After": str(cfg.retry_after)})
        if fault.kind == "status":
            rec["status"] = fault.status
            st.record(rec)
            return self.send_raw(
                fault.status, "text/html",
                b"<html><body><h1>%d Server Error</h1></body></html>\n" %
                fault.status)
        if fault.kind == "notjson":
            rec["status"] = 200
            st.record(rec)
            return self.send_raw(200, "text/html",
                                 b"<html><body>Sign in</body></html>\n")
        if fault.kind == "badjson":
            rec["status"] = 200
            rec["reply"] = ["not", "an", "object"]
            st.record(rec)
            return self.send_raw(200, "application/json",
                                 b'["not", "an", "object"]')
        if fault.kind == "close":
            st.record(rec)
            self.close_connection = True
            try:
                self.request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault.kind == "hang":
            st.record(rec)
            return self.wait_for_eof()
        raise AssertionError(fault.kind)

    def echo(self, rec):
        """--error-echo: what a careless server puts in its errors."""
        if not self.server.cfg.error_echo:
            return ""
        form = rec["form"]
        return " (refresh_token=%s device_code=%s client_secret=%s)" % (
            form.get("refresh_token"), form.get("device_code"),
            form.get("client_secret"))

    def error(self, rec, status, code, description, extra=None):
        rec["status"] = status
        rec["reply"] = {"error": code, "error_description": description}
        self.server.state.record(rec)
        self.send_json(status, rec["reply"], extra)

    def client_ok(self, rec, basic):
        cfg = self.server.cfg
        form = rec["form"]
        cid = form.get("client_id")
        secret = form.get("client_secret")
        if basic is not None:
            cid = cid or basic["client_id"]
            secret = secret or basic["client_secret"]
        if not cid or (cfg.client_id and cid != cfg.client_id):
            self.error(rec, 401, "invalid_client",
                       "unknown client_id",
                       {"WWW-Authenticate": 'Basic realm="test"'})
            return False
        if cfg.client_secret is not None and secret != cfg.client_secret:
            self.error(rec, 401, "invalid_client",
                       "client authentication failed",
                       {"WWW-Authenticate": 'Basic realm="test"'})
            return False
        return True

    # -- RFC 8628 3.1, 3.2

    def device_authorization(self, rec):
        st = self.server.state
        cfg = self.server.cfg
        code = "DC." + secrets.token_urlsafe(24)
        with st.lock:
            st.devices[code] = {
                "created": time.time(),
                "interval": cfg.interval or 5,
                "last_poll": None,
                "script": list(cfg.script),
                "done": False,
                "scope": rec["form"].get("scope"),
            }
        uri = cfg.verification_uri or \
            "https://127.0.0.1:%d/device" % self.server.server_port
        reply = {"device_code": code, "user_code": cfg.user_code,
                 "expires_in": cfg.device_expires}
        reply["verification_url" if cfg.google_style
              else "verification_uri"] = uri
        if cfg.verification_uri_complete:
            reply["verification_uri_complete"] = \
                uri + "?user_code=" + cfg.user_code
        if cfg.interval:
            reply["interval"] = cfg.interval
        if cfg.message is not None:
            reply["message"] = cfg.message
        rec["status"] = 200
        rec["reply"] = reply
        st.record(rec)
        self.send_json(200, reply)

    # -- RFC 6749 3.2, 5.1, 5.2, 6; RFC 8628 3.4, 3.5

    def token(self, rec):
        grant = rec["form"].get("grant_type")
        if not grant:
            return self.error(rec, 400, "invalid_request",
                              "grant_type is missing")
        if grant == DEVICE_GRANT:
            return self.device_poll(rec)
        if grant == "refresh_token":
            return self.refresh(rec)
        return self.error(rec, 400, "unsupported_grant_type",
                          "grant type not supported: " + grant)

    def issue(self, rec, scope, with_refresh):
        st = self.server.state
        cfg = self.server.cfg
        reply = {"token_type": "Bearer",
                 "scope": cfg.scope or scope or "mail",
                 "access_token": st.new_access_token()}
        if not cfg.no_expires_in:
            reply["expires_in"] = cfg.access_lifetime
            reply["ext_expires_in"] = cfg.access_lifetime
        if with_refresh:
            reply["refresh_token"] = st.new_refresh_token()
        rec["status"] = 200
        rec["reply"] = reply
        st.record(rec)
        self.send_json(200, reply)

    def device_poll(self, rec):
        st = self.server.state
        cfg = self.server.cfg
        code = rec["form"].get("device_code", "")
        with st.lock:
            dev = st.devices.get(code)
            if dev is None or dev["done"]:
                return self.error(rec, 400, "invalid_grant",
                                  "unknown or used device_code")
            now = time.time()
            since = dev["last_poll"] if dev["last_poll"] is not None \
                else dev["created"]
            early = now - since < dev["interval"] - EARLY_TOLERANCE
            rec["early"] = early
            rec["interval_in_force"] = dev["interval"]
            rec["since_last"] = round(now - since, 3)
            dev["last_poll"] = now
            if early and cfg.enforce_interval:
                dev["interval"] += 5
                return self.error(rec, 400, "slow_down",
                                  "polling too fast")
            if now - dev["created"] > cfg.device_expires:
                dev["done"] = True
                return self.error(rec, 400, "expired_token",
                                  "the device code expired")
            if dev["script"]:
                step = dev["script"].pop(0)
                if step.isdigit():
                    rec["status"] = int(step)
                    rec["fault"] = step
                    st.record(rec)
                    return self.send_raw(int(step), "text/html",
                                         b"<html>error</html>\n")
                if step == "slow_down":
                    dev["interval"] += 5
                return self.error(rec, 400, step, "scripted " + step +
                                  self.echo(rec))
            outcome = cfg.outcome
            dev["done"] = True
        if outcome == "success":
            return self.issue(rec, dev["scope"],
                              not cfg.no_refresh_token)
        return self.error(rec, 400, outcome, "scripted " + outcome +
                          self.echo(rec))

    def refresh(self, rec):
        st = self.server.state
        cfg = self.server.cfg
        token = rec["form"].get("refresh_token", "")
        with st.lock:
            valid = token in st.refresh
            if valid and cfg.rotate:
                st.refresh.discard(token)
                st.write_tokens()
        if not valid:
            return self.error(rec, 400, "invalid_grant",
                              "AADSTS70000: The provided refresh token "
                              "is invalid or expired or revoked" +
                              self.echo(rec))
        return self.issue(rec, rec["form"].get("scope"), cfg.rotate)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, cfg, state, faults, ctx):
        self.cfg = cfg
        self.state = state
        self.faults = faults
        self.ctx = ctx
        self.fault_lock = threading.Lock()
        super().__init__(("127.0.0.1", cfg.port), Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # The handshake runs in the connection's thread (Handler.setup).
        return self.ctx.wrap_socket(sock, server_side=True,
                                    do_handshake_on_connect=False), addr

    def find_fault(self, endpoint, grant, peek=False):
        """The fault for this request; peek: for a connection not yet read
        (only "stall" can apply then)."""
        with self.fault_lock:
            if peek:
                for f in self.faults:
                    if f.kind == "stall" and not (f.once and f.used):
                        if f.once:
                            f.used = True
                        return f
                return None
            for f in self.faults:
                if f.kind == "stall":
                    continue
                if f.endpoint not in ("any", endpoint):
                    continue
                if f.grant is not None and f.grant != grant:
                    continue
                if f.once and f.used:
                    continue
                f.used = True
                return f
            return None


# -------------------------------------------------------------------- main

def parse_args(argv):
    p = argparse.ArgumentParser(description="scripted OAuth 2.0 server")
    p.add_argument("--port-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--ready-fifo")
    p.add_argument("--watch-pid", type=int, default=0)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--client-id")
    p.add_argument("--client-secret")
    p.add_argument("--access-lifetime", type=int, default=3600)
    p.add_argument("--no-expires-in", action="store_true")
    p.add_argument("--access-token-length", type=int, default=48)
    p.add_argument("--rotate", action="store_true")
    p.add_argument("--no-refresh-token", action="store_true")
    p.add_argument("--refresh-token", action="append", default=[])
    p.add_argument("--access-token", action="append", default=[])
    p.add_argument("--revoked", action="append", default=[])
    p.add_argument("--scope")
    p.add_argument("--interval", type=int, default=1)
    p.add_argument("--poll-script", default="")
    p.add_argument("--pending", type=int, default=0)
    p.add_argument("--outcome", default="success",
                   choices=["success", "access_denied", "expired_token"])
    p.add_argument("--device-expires", type=int, default=900)
    p.add_argument("--enforce-interval", action="store_true")
    p.add_argument("--user-code", default="WDJB-MJHT")
    p.add_argument("--verification-uri")
    p.add_argument("--verification-uri-complete", action="store_true")
    p.add_argument("--message")
    p.add_argument("--google-style", action="store_true")
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--retry-after", type=int, default=30)
    p.add_argument("--error-echo", action="store_true")
    cfg = p.parse_args(argv)
    script = ["authorization_pending"] * cfg.pending
    for step in cfg.poll_script.split(","):
        step = step.strip()
        if not step:
            continue
        if step not in POLL_ERRORS and not (step.isdigit() and
                                            100 <= int(step) <= 599):
            p.error("--poll-script: unknown step %r" % step)
        script.append(step)
    cfg.script = script
    if set(cfg.revoked) & set(cfg.refresh_token):
        p.error("a token cannot be both --refresh-token and --revoked")
    return cfg


def watch(pid, server):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            pass
        server.state.prune()
        time.sleep(0.2)


def pruner(state):
    while True:
        time.sleep(0.2)
        state.prune()


def main(argv):
    cfg = parse_args(argv)
    try:
        faults = [parse_fault(f) for f in cfg.fault]
    except ValueError as error:
        print("oauth_server.py: --fault: %s" % error, file=sys.stderr)
        return 2
    os.makedirs(cfg.dir, exist_ok=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        ctx.load_cert_chain(cfg.cert, cfg.key)
        state = State(cfg)
        server = Server(cfg, state, faults, ctx)
    except (OSError, ssl.SSLError) as error:
        print("oauth_server.py: %s" % error, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    signal.signal(signal.SIGINT, lambda *_: os._exit(0))
    signal.signal(signal.SIGUSR1, lambda *_: state.revoke_all())
    signal.signal(signal.SIGUSR2, lambda *_: state.expire_access())
    port = server.server_port
    tmp = cfg.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, cfg.port_file)
    if cfg.ready_fifo:
        with open(cfg.ready_fifo, "w") as f:
            f.write("%d %d\n" % (port, os.getpid()))
    if cfg.watch_pid:
        threading.Thread(target=watch, args=(cfg.watch_pid, server),
                         daemon=True).start()
    else:
        threading.Thread(target=pruner, args=(state,), daemon=True).start()
    server.serve_forever(poll_interval=0.2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
