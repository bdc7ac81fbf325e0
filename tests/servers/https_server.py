#!/usr/bin/python3
# https_server.py - an MTA-STS policy host (RFC 8461 3.2) for the
# direct-delivery tests: HTTPS on one address, serving
# https://mta-sts.DOMAIN/.well-known/mta-sts.txt for every DOMAIN that has a
# directory under --dir, with per-domain switches for the failure cases.
#
# Run it with /usr/bin/python3.  It is meant to listen on 127.0.0.x:443
# inside the private network namespace of tests/lib_direct.bash
# (start_policy_server, mta_sts_policy, mta_sts_switch, mta_sts_cert); use
# those from bats.
#
# OPTIONS
#   --dir DIR          required; DIR/DOMAIN/ holds one domain (see FILES).
#                      Everything is read afresh at each connection and
#                      request: tests change it without a restart.
#   --cert FILE --key FILE  required; the certificate for a client that
#                      sends no SNI, or an SNI without a certificate of
#                      its own (so that one does not verify).
#   --listen ADDR:PORT default 127.0.0.1:443.
#   --log FILE         one line per request (appended; see REQUEST LOG).
#   --ready-fifo FIFO  write "PORT PID" there once listening.
#   --watch-pid PID    exit when process PID is gone.
#
# FILES (DIR/DOMAIN/NAME; DOMAIN in lower case, without "mta-sts.")
#   policy        the body, bytes as they are.  Without it: 404.
#   cert.pem key.pem  the certificate chain and key the handshake uses when
#                 the client's SNI is mta-sts.DOMAIN (read at each
#                 handshake).
#   status        the HTTP status to send instead of 200 ("404", "500"...;
#                 with redirect: "301" by default).
#   content-type  instead of "text/plain".
#   redirect      a URL: reply with the status (default 301) and this
#                 Location (RFC 8461 3.3: a client must not follow it).
#   size          N: pad the body with comment-like lines ("x-padding: ...")
#                 up to N bytes (a policy over 64 KiB is refused).
#   drip          S: send the body one byte every S seconds (headers at
#                 once): a slow host, for the client's fetch timeout.
#   delay         S: wait S seconds before replying at all.
#   down          abort the TLS handshake with a TCP reset once the SNI
#                 names this domain (the host "is down" for it).
#   headers       extra header lines to send, verbatim, one per line.
#   The Host header picks the domain (its port ignored); without Host, the
#   SNI does.  Only GET of /.well-known/mta-sts.txt is served (else 404,
#   405 for another method); responses are HTTP/1.1 with Content-Length and
#   Connection: close, and the connection is closed after one response.
#
# REQUEST LOG (--log), one line per request or failed handshake:
#   ADDR SNI HOST METHOD PATH STATUS
#   ADDR the address:port the server listens on; SNI and HOST as sent ("-"
#   when absent); STATUS the code sent, or TLSFAIL (handshake failed, the
#   rest "-"), DOWN (reset by the down switch), NOREQUEST (TLS up but no
#   complete request), DRIPCUT (the client left during a drip).  E.g.
#     127.0.0.44:443 mta-sts.example.test mta-sts.example.test GET \
#       /.well-known/mta-sts.txt 200

import argparse
import os
import re
import signal
import socket
import ssl
import struct
import sys
import threading
import time

from listen_util import parse_listen, watch

POLICY_PATH = "/.well-known/mta-sts.txt"
MAX_REQUEST = 16384
REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found",
           303: "See Other", 307: "Temporary Redirect",
           308: "Permanent Redirect", 400: "Bad Request", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed",
           500: "Internal Server Error", 503: "Service Unavailable"}
DOMAIN_RE = re.compile(r"^[a-z0-9._-]+$")


class Server:
    def __init__(self, cfg):
        self.cfg = cfg
        self.where = "%s:%d" % cfg.listen
        self.log_lock = threading.Lock()
        self.stop = threading.Event()
        self.default_ctx = self.context(cfg.cert, cfg.key)
        self.default_ctx.sni_callback = self.on_sni

    @staticmethod
    def context(cert, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        return ctx

    def domain_dir(self, host):
        host = (host or "").strip().lower().rstrip(".")
        if host.startswith("mta-sts."):
            host = host[len("mta-sts."):]
        else:
            return None
        if not DOMAIN_RE.match(host) or ".." in host:
            return None
        path = os.path.join(self.cfg.dir, host)
        return path if os.path.isdir(path) else None

    def switch(self, ddir, name):
        try:
            with open(os.path.join(ddir, name), "rb") as f:
                return f.read()
        except (OSError, TypeError):
            return None

    def log(self, sni, host, method, path, status):
        if not self.cfg.log:
            return
        fields = [self.where] + [
            (x if x else "-").replace(" ", "%20").replace("\n", "%0A")
            for x in (sni, host, method, path, str(status))]
        with self.log_lock:
            with open(self.cfg.log, "a") as f:
                f.write(" ".join(fields) + "\n")

    # ---------------------------------------------------------- TLS

    def on_sni(self, sslobj, name, ctx):
        conn = sslobj.conn_state
        conn["sni"] = name
        ddir = self.domain_dir(name)
        if ddir is None:
            return None
        if self.switch(ddir, "down") is not None:
            conn["down"] = True
            return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        cert = os.path.join(ddir, "cert.pem")
        key = os.path.join(ddir, "key.pem")
        if os.path.exists(cert) and os.path.exists(key):
            try:
                sslobj.context = self.context(cert, key)
            except (OSError, ssl.SSLError) as error:
                print("https_server.py: %s: %s" % (cert, error),
                      file=sys.stderr)
                return ssl.ALERT_DESCRIPTION_INTERNAL_ERROR
        return None

    # ------------------------------------------------------- requests

    def handle(self, raw):
        state = {"sni": None, "down": False}
        raw.settimeout(30)
        conn = raw
        try:
            # The SSL socket takes raw's descriptor over.
            conn = self.default_ctx.wrap_socket(
                raw, server_side=True, do_handshake_on_connect=False)
            conn.conn_state = state
            try:
                conn.do_handshake()
            except (OSError, ssl.SSLError):
                if state["down"]:
                    reset(conn)
                    self.log(state["sni"], None, None, None, "DOWN")
                else:
                    self.log(state["sni"], None, None, None, "TLSFAIL")
                return
            self.request(conn, state)
        except OSError:
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def request(self, conn, state):
        data = b""
        while b"\r\n\r\n" not in data and len(data) < MAX_REQUEST:
            try:
                chunk = conn.recv(4096)
            except (OSError, ssl.SSLError):
                chunk = b""
            if not chunk:
                break
            data += chunk
        if b"\r\n\r\n" not in data:
            self.log(state["sni"], None, None, None, "NOREQUEST")
            return
        head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        method = parts[0] if parts else ""
        path = parts[1] if len(parts) > 1 else ""
        host = None
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep and name.strip().lower() == "host":
                host = value.strip()
        hostname = re.sub(r":[0-9]*$", "", host) if host else state["sni"]
        ddir = self.domain_dir(hostname)
        policy = self.switch(ddir, "policy") if ddir else None

        delay = self.switch(ddir, "delay") if ddir else None
        if delay:
            time.sleep(float(delay))
        extra = []
        status = 200
        body = b""
        ctype = "text/plain"
        if method != "GET":
            status, body = 405, b"method not allowed\n"
        elif path != POLICY_PATH or ddir is None:
            status, body = 404, b"not found\n"
        else:
            redirect = self.switch(ddir, "redirect")
            code = self.switch(ddir, "status")
            if redirect is not None:
                status = 301
                extra.append("Location: " + redirect.decode().strip())
            elif policy is None:
                status, body = 404, b"no policy\n"
            else:
                body = policy
                size = self.switch(ddir, "size")
                if size:
                    body = pad(body, int(size))
            if code:
                status = int(code)
            ct = self.switch(ddir, "content-type")
            if ct is not None:
                ctype = ct.decode().strip()
            headers = self.switch(ddir, "headers")
            if headers:
                extra += [h for h in headers.decode().splitlines() if h]
        out = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status")),
               "Content-Type: " + ctype,
               "Content-Length: %d" % len(body),
               "Connection: close"] + extra
        head = ("\r\n".join(out) + "\r\n\r\n").encode()
        drip = self.switch(ddir, "drip") if ddir else None
        try:
            if drip and status == 200:
                conn.sendall(head)
                interval = float(drip)
                for i in range(len(body)):
                    conn.sendall(body[i:i + 1])
                    time.sleep(interval)
            else:
                conn.sendall(head + body)
        except (OSError, ssl.SSLError):
            self.log(state["sni"], host, method, path, "DRIPCUT")
            return
        self.log(state["sni"], host, method, path, status)
        try:
            conn.unwrap()
        except (OSError, ssl.SSLError, ValueError):
            pass

    def serve(self, sock):
        while not self.stop.is_set():
            try:
                raw, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(raw,),
                             daemon=True).start()


def pad(body, size):
    line = b"x-padding: " + b"x" * 60 + b"\n"
    out = bytearray(body)
    if out and not out.endswith(b"\n"):
        out += b"\n"
    while len(out) < size:
        out += line
    return bytes(out[:size]) if len(out) > size else bytes(out)


def reset(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                        struct.pack("ii", 1, 0))
    except OSError:
        pass


def main(argv):
    p = argparse.ArgumentParser(description="MTA-STS policy HTTPS server")
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--listen", type=parse_listen, default=("127.0.0.1", 443))
    p.add_argument("--log")
    p.add_argument("--ready-fifo")
    p.add_argument("--watch-pid", type=int, default=0)
    cfg = p.parse_args(argv)
    host, port = cfg.listen
    try:
        server = Server(cfg)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(64)
    except (OSError, ssl.SSLError) as error:
        print("https_server.py: %s:%d: %s" % (host, port, error),
              file=sys.stderr)
        return 2
    threads = [threading.Thread(target=server.serve, args=(sock,))]
    if cfg.watch_pid:
        threads.append(threading.Thread(target=watch,
                                        args=(cfg.watch_pid, server.stop)))
    for t in threads:
        t.daemon = True
        t.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: server.stop.set())
    if cfg.ready_fifo:
        with open(cfg.ready_fifo, "w") as f:
            f.write("%d %d\n" % (port, os.getpid()))
    while not server.stop.wait(1.0):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
