#!/usr/bin/python3
# dns_server.py - a small recursive-resolver stand-in for the direct-delivery
# tests: it answers a stub resolver (glibc's, through /etc/resolv.conf) from
# one zone file the tests write, over UDP and TCP.
#
# Run it with /usr/bin/python3 (Debian's python3-dnspython).  It is meant to
# listen on 127.0.0.53:53 inside the private network namespace that
# tests/lib_direct.bash sets up (start_dns); use that from bats.
#
# OPTIONS
#   --zone FILE        required; the zone (master file format, RFC 1035 5).
#                      Re-read whenever it changes (inode, size or mtime;
#                      checked at each query), so tests change the data
#                      between cases without a restart.  A zone that does
#                      not parse makes every answer SERVFAIL (and the
#                      reason is logged) rather than serving stale data.
#   --log FILE         one line per query (appended; may be truncated by the
#                      tests at any time), see QUERY LOG.
#   --listen ADDR:PORT default 127.0.0.53:53; UDP and TCP.
#   --control DIR      DIR/ctl and DIR/ctl-reply are FIFOs (made if
#                      missing): the line
#                      "reload TOKEN" on ctl makes the server re-read the
#                      zone now and write "TOKEN ok" or "TOKEN error: WHY"
#                      to ctl-reply (what lib_direct.bash's dns_zone waits
#                      for, so a broken zone fails the test at once).
#   --ready-fifo FIFO  write "PORT PID" there once listening.
#   --watch-pid PID    exit when process PID is gone.
#
# THE ZONE
#   Origin is the root: every name is absolute, with or without its final
#   dot ("mx1.example.test A 127.0.0.2").  Default TTL 300 ($TTL changes
#   it), class IN.  No SOA or NS is needed: the server stands for a
#   validating recursive resolver, not for an authoritative server, and is
#   "authoritative" for every name.  Any type dnspython knows (MX A AAAA TXT
#   TLSA CNAME PTR SRV ...); TXT with several strings ("v=STSv1;" "id=1")
#   keeps them apart.  A "*" label is a wildcard (RFC 4592: it answers for
#   names below its parent that do not exist).
#
# ANSWERS
#   - RD and the ID are copied, RA is set, AA is not (a resolver's answer).
#   - A name that does not exist -> NXDOMAIN.  A name that exists (or is an
#     empty non-terminal: only names below it exist) but has no data of the
#     type -> NOERROR with an empty answer (NODATA).
#   - CNAMEs are followed within the zone; the answer holds the chain (RFC
#     1034 3.6.2) and the rcode is that of the last name (RFC 6604).
#   - UDP: at most 512 bytes without EDNS, else the EDNS buffer size the
#     query advertised; a bigger answer goes out empty with TC=1 so the
#     client retries over TCP.  TCP: up to 65535 bytes.  EDNS is echoed
#     (version 0, our payload 1232, DO copied from the query).
#
# CONTROL DIRECTIVES (comment lines in the zone file; NAME covers itself and
# every name below it; with TYPEs only queries of those types)
#   ; signed NAME             answers at or below NAME are "validated":
#                             AD=1 when the query set AD or DO (as a real
#                             validating resolver does; glibc with
#                             "options trust-ad" sets AD in its queries).
#   ; unsigned NAME           carve an insecure part out of a signed one
#                             (for signed/unsigned the longest match wins).
#                             An answer is secure only when every name of
#                             its CNAME chain is.
#   ; servfail NAME [TYPE...] answer SERVFAIL (a bogus or broken zone).
#   ; refused NAME [TYPE...]  answer REFUSED.
#   ; timeout NAME [TYPE...]  never answer (UDP: silence; TCP: the
#                             connection stays open without a reply).
#   ; delay NAME SECONDS [TYPE...]  answer after SECONDS.
#   Directives are also applied to each CNAME target of a chain.  Other
#   comments are ignored.
#
# QUERY LOG (--log), one line per query:
#   TRANSPORT NAME TYPE RCODE ANCOUNT QFLAGS RFLAGS
#   TRANSPORT udp|tcp; NAME lower case without the final dot ("." for the
#   root); TYPE as text (MX, TLSA, TYPE65534 ...); RCODE NOERROR, NXDOMAIN,
#   SERVFAIL, REFUSED, FORMERR, NOTIMP, or TIMEOUT for a query left
#   unanswered; ANCOUNT the answer records sent; QFLAGS the query's flags
#   (rd, ad, cd, and do / edns=PAYLOAD for EDNS), RFLAGS the reply's (ra,
#   ad, tc ...), each comma-separated, "-" when empty.  Example:
#     udp _25._tcp.mx1.example.test TLSA NOERROR 1 rd,ad rd,ra,ad
#   A zone that failed to load adds "ZONE-ERROR reason" lines.

import argparse
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

from listen_util import parse_listen, watch

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tokenizer
import dns.zone
import dns.zonefile

OUR_PAYLOAD = 1232
MAX_CHAIN = 16
DIRECTIVE = re.compile(
    r"^\s*;\s*(signed|unsigned|servfail|refused|timeout|delay)\s+(\S+)"
    r"((?:\s+\S+)*)\s*$", re.IGNORECASE)


class ZoneData:
    """One loaded zone: nodes, the names that exist, the directives."""

    def __init__(self, nodes=None, error=None, directives=()):
        self.nodes = nodes or {}
        self.error = error
        self.directives = list(directives)
        self.existing = set()
        for name in self.nodes:
            while True:
                self.existing.add(name)
                if name == dns.name.root:
                    break
                name = name.parent()


def parse_directives(text):
    out = []
    for line in text.splitlines():
        m = DIRECTIVE.match(line)
        if not m:
            continue
        kind = m.group(1).lower()
        name = dns.name.from_text(m.group(2), dns.name.root)
        args = m.group(3).split()
        seconds = 0.0
        if kind == "delay":
            if not args:
                raise ValueError("delay NAME SECONDS [TYPE...] expected: %r"
                                 % line)
            seconds = float(args.pop(0))
        types = {dns.rdatatype.from_text(t) for t in args}
        if kind in ("signed", "unsigned") and types:
            raise ValueError("%s takes no types: %r" % (kind, line))
        out.append((kind, name, types, seconds))
    return out


def load_zone(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    zone = dns.zone.Zone(dns.name.root, relativize=False)
    with zone.writer(True) as txn:
        tok = dns.tokenizer.Tokenizer(text, os.path.basename(path))
        dns.zonefile.Reader(tok, dns.rdataclass.IN, txn,
                            allow_directives=True, default_ttl=300).read()
    return ZoneData(dict(zone.nodes), None, parse_directives(text))


class Server:
    def __init__(self, cfg):
        self.cfg = cfg
        self.lock = threading.Lock()
        self.log_lock = threading.Lock()
        self.stamp = None
        self.data = ZoneData(error="not loaded yet")
        self.stop = threading.Event()

    # ------------------------------------------------------------ zone

    def zone(self, force=False):
        with self.lock:
            try:
                st = os.stat(self.cfg.zone)
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                stamp = None
            if force or stamp != self.stamp:
                self.stamp = stamp
                if stamp is None:
                    self.data = ZoneData()   # no file: an empty zone
                else:
                    try:
                        self.data = load_zone(self.cfg.zone)
                    except Exception as error:  # any parse failure
                        self.data = ZoneData(error="%s: %s" % (
                            type(error).__name__, error))
                        self.log("ZONE-ERROR %s" % self.data.error)
            return self.data

    def directive(self, data, name, rdtype, kinds):
        """The first directive of KINDS that covers name/rdtype."""
        for kind, at, types, seconds in data.directives:
            if kind in kinds and name.is_subdomain(at) and (
                    not types or rdtype in types):
                return kind, seconds
        return None, 0.0

    def secure(self, data, name):
        best = None
        for kind, at, _, _ in data.directives:
            if kind in ("signed", "unsigned") and name.is_subdomain(at):
                if best is None or len(at) > len(best[1]):
                    best = (kind, at)
        return best is not None and best[0] == "signed"

    def node(self, data, name):
        node = data.nodes.get(name)
        if node is not None or name in data.existing:
            return node
        # RFC 4592: the closest encloser's wildcard, if any.
        parent = name
        while parent != dns.name.root:
            parent = parent.parent()
            if parent in data.existing:
                return data.nodes.get(dns.name.Name(("*",) + parent.labels))
        return None

    # ---------------------------------------------------------- answer

    def answer(self, query):
        """-> (response or None for no reply, delay seconds)."""
        data = self.zone()
        response = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
        response.flags |= dns.flags.RA
        if query.edns >= 0 and query.ednsflags & dns.flags.DO:
            response.ednsflags |= dns.flags.DO
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response, 0.0
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response, 0.0
        question = query.question[0]
        if data.error is not None:
            response.set_rcode(dns.rcode.SERVFAIL)
            return response, 0.0
        if question.rdclass != dns.rdataclass.IN:
            response.set_rcode(dns.rcode.REFUSED)
            return response, 0.0
        name, rdtype = question.name, question.rdtype
        delay = 0.0
        chain = []
        rcode = dns.rcode.NOERROR
        for _ in range(MAX_CHAIN):
            chain.append(name)
            kind, seconds = self.directive(
                data, name, rdtype, ("servfail", "refused", "timeout"))
            if kind == "timeout":
                return None, 0.0
            if kind in ("servfail", "refused"):
                response.answer = []
                response.set_rcode(dns.rcode.SERVFAIL if kind == "servfail"
                                   else dns.rcode.REFUSED)
                return response, delay
            kind, seconds = self.directive(data, name, rdtype, ("delay",))
            delay += seconds
            node = self.node(data, name)
            if node is None:
                if name not in data.existing:
                    rcode = dns.rcode.NXDOMAIN
                break
            if rdtype == dns.rdatatype.ANY:
                for rds in node:
                    response.answer.append(self.rrset(name, rds))
                break
            rds = node.get_rdataset(dns.rdataclass.IN, rdtype)
            if rds is not None:
                response.answer.append(self.rrset(name, rds))
                break
            cname = node.get_rdataset(dns.rdataclass.IN,
                                      dns.rdatatype.CNAME)
            if cname is None:
                break
            response.answer.append(self.rrset(name, cname))
            name = cname[0].target
        else:
            response.answer = []
            rcode = dns.rcode.SERVFAIL       # a CNAME loop
        response.set_rcode(rcode)
        asked = (query.flags & dns.flags.AD or
                 (query.edns >= 0 and query.ednsflags & dns.flags.DO))
        if asked and rcode != dns.rcode.SERVFAIL and all(
                self.secure(data, n) for n in chain):
            response.flags |= dns.flags.AD
        return response, delay

    @staticmethod
    def rrset(name, rds):
        rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype, rds.covers)
        rrset.update(rds)
        return rrset

    def wire(self, query, response, limit):
        try:
            return response.to_wire(max_size=limit)
        except dns.exception.TooBig:
            short = dns.message.make_response(query, our_payload=OUR_PAYLOAD)
            short.flags = response.flags | dns.flags.TC
            short.ednsflags = response.ednsflags
            short.set_rcode(response.rcode())
            return short.to_wire(max_size=limit)

    # ------------------------------------------------------------- log

    def log(self, line):
        if not self.cfg.log:
            return
        with self.log_lock:
            with open(self.cfg.log, "a") as f:
                f.write(line + "\n")

    def log_query(self, transport, query, response, wire):
        q = query.question[0] if query.question else None
        name = "-"
        rdtype = "-"
        if q is not None:
            name = q.name.to_text(omit_final_dot=True).lower() or "."
            rdtype = dns.rdatatype.to_text(q.rdtype)
        qflags = flag_list(query.flags)
        if query.edns >= 0:
            if query.ednsflags & dns.flags.DO:
                qflags.append("do")
            qflags.append("edns=%d" % query.payload)
        if response is None:
            rcode, count, rflags = "TIMEOUT", 0, []
        else:
            sent = dns.message.from_wire(wire)
            rcode = dns.rcode.to_text(sent.rcode())
            count = sum(len(r) for r in sent.answer)
            rflags = flag_list(sent.flags)
        self.log("%s %s %s %s %d %s %s" % (
            transport, name, rdtype, rcode, count,
            ",".join(qflags) or "-", ",".join(rflags) or "-"))

    # -------------------------------------------------------- transport

    def handle(self, transport, data, limit):
        """-> wire reply or None."""
        try:
            query = dns.message.from_wire(data)
        except Exception:
            if len(data) < 12:
                return None
            # FORMERR with the query's ID, as resolvers do.
            return data[:2] + b"\x81\x01" + b"\0" * 8
        response, delay = self.answer(query)
        if delay:
            time.sleep(delay)
        wire = None
        if response is not None:
            wire = self.wire(query, response, limit)
        self.log_query(transport, query, response, wire)
        return wire

    def serve_udp(self, sock):
        while not self.stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except OSError:
                return
            threading.Thread(target=self.udp_one, args=(sock, data, peer),
                             daemon=True).start()

    def udp_one(self, sock, data, peer):
        limit = 512
        try:
            query = dns.message.from_wire(data)
            if query.edns >= 0:
                limit = max(512, min(query.payload, 65535))
        except Exception:
            pass
        wire = self.handle("udp", data, limit)
        if wire is not None:
            try:
                sock.sendto(wire, peer)
            except OSError:
                pass

    def serve_tcp(self, sock):
        while not self.stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self.tcp_one, args=(conn,),
                             daemon=True).start()

    def tcp_one(self, conn):
        with conn:
            conn.settimeout(30)
            try:
                while True:
                    head = recv_exact(conn, 2)
                    if head is None:
                        return
                    data = recv_exact(conn, struct.unpack("!H", head)[0])
                    if data is None:
                        return
                    wire = self.handle("tcp", data, 65535)
                    if wire is not None:
                        conn.sendall(struct.pack("!H", len(wire)) + wire)
            except OSError:
                return

    def serve_control(self, directory):
        ctl = os.path.join(directory, "ctl")
        reply = os.path.join(directory, "ctl-reply")
        fd = os.open(ctl, os.O_RDWR)     # never EOF, never blocks on open
        pending = b""
        while not self.stop.is_set():
            chunk = os.read(fd, 4096)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                words = line.decode("utf-8", "replace").split()
                if len(words) != 2 or words[0] != "reload":
                    continue
                data = self.zone(force=True)
                status = "ok" if data.error is None else (
                    "error: " + data.error.replace("\n", " "))
                out = os.open(reply, os.O_RDWR)
                os.write(out, ("%s %s\n" % (words[1], status)).encode())
                os.close(out)


def flag_list(flags):
    names = []
    for bit, text in ((dns.flags.QR, None), (dns.flags.AA, "aa"),
                      (dns.flags.TC, "tc"), (dns.flags.RD, "rd"),
                      (dns.flags.RA, "ra"), (dns.flags.AD, "ad"),
                      (dns.flags.CD, "cd")):
        if text and flags & bit:
            names.append(text)
    return names


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def main(argv):
    p = argparse.ArgumentParser(description="test DNS resolver")
    p.add_argument("--zone", required=True)
    p.add_argument("--log")
    p.add_argument("--listen", type=parse_listen,
                   default=("127.0.0.53", 53))
    p.add_argument("--control")
    p.add_argument("--ready-fifo")
    p.add_argument("--watch-pid", type=int, default=0)
    cfg = p.parse_args(argv)
    server = Server(cfg)
    host, port = cfg.listen
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        udp = socket.socket(family, socket.SOCK_DGRAM)
        udp.bind((host, port))
        tcp = socket.socket(family, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind((host, port))
        tcp.listen(64)
    except OSError as error:
        print("dns_server.py: %s:%d: %s" % (host, port, error),
              file=sys.stderr)
        return 2
    if cfg.control:
        for name in ("ctl", "ctl-reply"):
            path = os.path.join(cfg.control, name)
            if not os.path.exists(path):
                os.mkfifo(path)
    server.zone()
    threads = [threading.Thread(target=server.serve_udp, args=(udp,)),
               threading.Thread(target=server.serve_tcp, args=(tcp,))]
    if cfg.control:
        threads.append(threading.Thread(target=server.serve_control,
                                        args=(cfg.control,)))
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
