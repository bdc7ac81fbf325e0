#!/usr/bin/python3
# raw_hostile.py - a tiny scripted TCP server that plays exact bytes, for
# tests/hostile.bats: replies smtpd.py (aiosmtpd) cannot produce, such as a
# 70,000-byte line, 2,000-line replies, a NUL byte, an early talker, or a
# refusal in the middle of the message data.
#
#   raw_hostile.py --port-file FILE --spool DIR [--watch-pid PID] STEP...
#
# Listens on 127.0.0.1 port 0 and writes the port to FILE (tmp + rename).
# Each connection plays the STEPs in order, then waits for the client to
# close (or 30 s) and closes.  Every byte a client sent is appended to
# DIR/wire.log; DIR/N.eml holds the raw (still dot-stuffed) bytes of the
# Nth message read by a "data" step, written once its end-of-data arrived.
#
# STEP:
#   send:TEXT        send TEXT (escapes \r \n \t \\ \xHH)
#   repeat:N:TEXT    send TEXT N times, in one write
#   line             read one line (up to LF) from the client
#   data             read up to and including CRLF . CRLF
#   read:N           read N bytes (or until EOF)
#   sleep:S          wait S seconds (fractional allowed)
#   stall            stop reading, keep the socket open for 30 s
#   close            close the connection (FIN) and end the session
#   reset            abort the connection with a TCP RST
# Exits when PID is gone (checked every 0.2 s), or on SIGTERM.

import argparse
import asyncio
import codecs
import os
import signal
import socket
import struct
import sys


def unescape(text):
    return codecs.escape_decode(text.encode("utf-8", "surrogateescape"))[0]


class Session:
    def __init__(self, server, reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer

    def record(self, data):
        with open(os.path.join(self.server.spool, "wire.log"), "ab") as f:
            f.write(data)

    async def run(self):
        try:
            for step in self.server.steps:
                if await self.play(step) == "end":
                    return
            await self.drain_until_eof(30)
        except (ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError):
            pass
        finally:
            self.writer.close()

    async def drain_until_eof(self, seconds):
        try:
            while True:
                data = await asyncio.wait_for(self.reader.read(65536),
                                              seconds)
                if not data:
                    return
                self.record(data)
        except asyncio.TimeoutError:
            return

    async def play(self, step):
        verb, _, arg = step.partition(":")
        if verb == "send":
            self.writer.write(unescape(arg))
            await self.writer.drain()
        elif verb == "repeat":
            count, _, text = arg.partition(":")
            self.writer.write(unescape(text) * int(count))
            await self.writer.drain()
        elif verb == "line":
            self.record(await self.reader.readuntil(b"\n"))
        elif verb == "data":
            data = await self.reader.readuntil(b"\r\n.\r\n")
            self.record(data)
            self.server.messages += 1
            name = "%d.eml" % self.server.messages
            with open(os.path.join(self.server.spool, name), "wb") as f:
                f.write(data)
        elif verb == "read":
            want = int(arg)
            while want > 0:
                data = await self.reader.read(min(want, 65536))
                if not data:
                    break
                self.record(data)
                want -= len(data)
        elif verb == "sleep":
            await asyncio.sleep(float(arg))
        elif verb == "stall":
            await asyncio.sleep(30)
            return "end"
        elif verb == "close":
            return "end"
        elif verb == "reset":
            sock = self.writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            self.writer.transport.abort()
            return "end"
        else:
            raise ValueError("unknown step %r" % step)
        return None


class Server:
    def __init__(self, spool, steps):
        self.spool = spool
        self.steps = steps
        self.messages = 0

    async def handle(self, reader, writer):
        await Session(self, reader, writer).run()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--spool", required=True)
    ap.add_argument("--watch-pid", type=int)
    ap.add_argument("steps", nargs="+")
    args = ap.parse_args()
    os.makedirs(args.spool, exist_ok=True)
    open(os.path.join(args.spool, "wire.log"), "ab").close()
    server = Server(args.spool, args.steps)
    srv = await asyncio.start_server(server.handle, "127.0.0.1", 0,
                                     limit=1 << 24)
    port = srv.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    while not stop.is_set():
        if args.watch_pid:
            try:
                os.kill(args.watch_pid, 0)
            except ProcessLookupError:
                break
        try:
            await asyncio.wait_for(stop.wait(), 0.2)
        except asyncio.TimeoutError:
            pass
    srv.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.exit(0)
