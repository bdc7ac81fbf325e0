#!/usr/bin/python3
# tls_hostile.py - a misbehaving SMTP server for outbox's TLS tests, for the
# cases aiosmtpd (smtpd.py) cannot play: a server that goes quiet or breaks
# in the middle of a TLS handshake.
#
#   tls_hostile.py --port-file FILE --log FILE --mode MODE [--watch-pid PID]
#
# Listens on 127.0.0.1 port 0 and writes the port to --port-file (tmp +
# rename). Every byte a client sends is appended to --log. Modes:
#   silent                 accept, never send anything (a TLS handshake on an
#                          implicit-TLS port that never completes)
#   silent-after-starttls  greeting, EHLO offers STARTTLS, "220 go ahead" to
#                          STARTTLS, then silence: the handshake never
#                          progresses
#   close-after-starttls   as above, but close the connection after the 220
#   garbage-after-starttls as above, but answer the ClientHello with bytes
#                          that are not TLS
# Exits when --watch-pid is gone, or on SIGTERM.

import argparse
import os
import signal
import socket
import sys
import threading
import time


def handle(conn, mode, log_path):
    def log(data):
        with open(log_path, "ab") as f:
            f.write(data)

    def read_line():
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(1)
            if not chunk:
                return None
            data += chunk
        log(data)
        return data

    def quiet():
        # Read (and log) until the client gives up.
        while True:
            chunk = conn.recv(4096)
            if not chunk:
                return
            log(chunk)

    try:
        if mode == "silent":
            quiet()
            return
        conn.sendall(b"220 hostile.localhost ESMTP\r\n")
        while True:
            line = read_line()
            if line is None:
                return
            verb = line.strip().split(b" ")[0].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250-hostile.localhost\r\n250-AUTH PLAIN\r\n"
                             b"250 STARTTLS\r\n")
            elif verb == b"STARTTLS":
                conn.sendall(b"220 2.0.0 go ahead\r\n")
                if mode == "close-after-starttls":
                    return
                if mode == "garbage-after-starttls":
                    hello = conn.recv(4096)
                    log(hello)
                    conn.sendall(b"this is not TLS at all\r\n" * 4)
                quiet()
                return
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"502 5.5.1 not here\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--mode", required=True,
                   choices=["silent", "silent-after-starttls",
                            "close-after-starttls", "garbage-after-starttls"])
    p.add_argument("--watch-pid", type=int)
    args = p.parse_args()

    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    open(args.log, "ab").close()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(tmp, args.port_file)

    if args.watch_pid:
        def watch():
            while True:
                try:
                    os.kill(args.watch_pid, 0)
                except OSError:
                    os._exit(0)
                time.sleep(0.5)
        threading.Thread(target=watch, daemon=True).start()

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=handle, args=(conn, args.mode, args.log),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
