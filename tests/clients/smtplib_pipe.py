#!/usr/bin/python3
# smtplib_pipe.py - Python's smtplib as an independent SMTP client of
# `outbox -bs`, over a pipe instead of a socket.  For tests/bs-clients.bats.
#
# usage: smtplib_pipe.py SCENARIO OUTBOX [ARG...]
#   Starts `OUTBOX ARG... -bs` (e.g. OUTBOX -C CONFIG) with subprocess and
#   talks to it through smtplib.SMTP, whose socket is replaced by the
#   child's stdin (sendall) and stdout (the reply file): every command,
#   reply parser, dot-stuffing and extension handling is smtplib's own.
#
# SCENARIO (each checks the replies it gets; the test checks the smarthost)
#   two        EHLO (checks the advertised extensions), NOOP, VRFY, HELP,
#              two messages with sendmail(), RSET, QUIT.
#   pipelined  MAIL, RCPT, RCPT, DATA written in one go (PIPELINING), the
#              four replies read afterwards, then the data; then RSET and
#              NOOP pipelined as well.
#   big        one message of 2 MiB (sendmail, with SIZE= when offered).
#   dot        a message whose body has a line of a single dot, "..", and
#              lines starting with dots: smtplib dot-stuffs, outbox must
#              un-stuff and the smarthost receive the body intact.
#   refused    a message to refused@example.com (the test smarthost is told
#              to refuse it): smtplib must raise (recipients refused, or a
#              5xx to the final dot); then a good message in the same
#              session.
#   8bit       an 8-bit UTF-8 body with BODY=8BITMIME, then a message with
#              a UTF-8 address and SMTPUTF8.
# Every scenario ends with QUIT and waits for outbox.
#
# Options (before SCENARIO): --save-body FILE writes the body of the last
#   message sent, as it should arrive (CRLF lines, un-stuffed), to FILE.
#
# Output: one line per observation ("greeting 220 ...", "mail 1 sent",
#   "exit 0" ...).  Exit status: 0 when every reply was as expected, 1 with
#   "FAIL: ..." on stderr otherwise, 2 for a usage error.  The whole run is
#   bounded by a 60 s alarm (exit 1), so a stuck dialogue cannot hang a test.

import signal
import smtplib
import subprocess
import sys
import tempfile

SENDER = "alice@example.com"


class Failure(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Failure(what)


class PipeSocket:
    """What smtplib needs of a socket: sendall() and close()."""

    def __init__(self, proc):
        self.proc = proc

    def sendall(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close(self):
        if not self.proc.stdin.closed:
            try:
                self.proc.stdin.close()
            except BrokenPipeError:
                pass


class PipeSMTP(smtplib.SMTP):
    """smtplib.SMTP whose connection is a child process's stdin/stdout."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = None
        self.stderr = tempfile.TemporaryFile()
        super().__init__(local_hostname="client.example.com")

    def connect(self, host="", port=0, source_address=None):
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        self.sock = PipeSocket(self.proc)
        # getreply() reads lines from self.file.
        self.file = self.proc.stdout
        code, msg = self.getreply()
        return code, msg

    def exit_status(self):
        self.close()
        try:
            return self.proc.wait(timeout=30)
        finally:
            self.stderr.seek(0)
            err = self.stderr.read().decode("utf-8", "replace")
            if err:
                sys.stderr.write("outbox stderr: " + err)

    def pipeline(self, commands):
        """Send COMMANDS (str lines without CRLF) in one write, then read
        one reply per command: [(code, text), ...]."""
        self.send("".join(c + "\r\n" for c in commands))
        return [self.getreply() for _ in commands]


def show(label, code, msg):
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg
    print(label, code, text.replace("\n", " | "))


def message(subject, body, to="bob@example.com", frm=SENDER):
    return ("From: %s\r\nTo: %s\r\nSubject: %s\r\n\r\n%s"
            % (frm, to, subject, body))


def start(smtp):
    code, msg = smtp.connect()
    show("greeting", code, msg)
    expect(code == 220, "greeting is not 220: %r" % msg)
    expect(b"ESMTP outbox" in msg, "greeting lacks 'ESMTP outbox': %r" % msg)
    code, msg = smtp.ehlo()
    show("ehlo", code, msg.split(b"\n")[0])
    expect(code == 250, "EHLO refused: %d %r" % (code, msg))
    for ext in sorted(smtp.esmtp_features):
        print("ext", ext, smtp.esmtp_features[ext])
    return smtp


def finish(smtp):
    code, msg = smtp.docmd("QUIT")
    show("quit", code, msg)
    expect(code == 221, "QUIT got %d %r" % (code, msg))
    status = smtp.exit_status()
    print("exit", status)
    expect(status == 0, "outbox -bs exited %d after QUIT" % status)


def send(smtp, label, frm, to, msg, **kw):
    refused = smtp.sendmail(frm, to, msg, **kw)
    print(label, "sent", "refused=%r" % (refused,))
    expect(refused == {}, "%s: recipients refused %r" % (label, refused))


def scenario_two(smtp, opts):
    for ext in ("pipelining", "8bitmime", "smtputf8", "size", "dsn",
                "enhancedstatuscodes"):
        expect(smtp.has_extn(ext), "EHLO does not advertise " + ext)
    code, msg = smtp.noop()
    show("noop", code, msg)
    expect(code == 250, "NOOP got %d" % code)
    code, msg = smtp.verify("bob@example.com")
    show("vrfy", code, msg)
    expect(code == 252, "VRFY got %d (RFC 5321 3.5.3: 252)" % code)
    code, msg = smtp.docmd("HELP")
    show("help", code, msg)
    expect(code in (211, 214), "HELP got %d" % code)
    send(smtp, "mail 1", SENDER, ["bob@example.com"],
         message("first", "one\r\n"))
    send(smtp, "mail 2", "carol@example.com",
         ["dave@example.com", "erin@example.com"],
         message("second", "two\r\n", to="dave@example.com, erin@example.com",
                 frm="carol@example.com"))
    code, msg = smtp.rset()
    show("rset", code, msg)
    expect(code == 250, "RSET got %d" % code)


def scenario_pipelined(smtp, opts):
    expect(smtp.has_extn("pipelining"), "EHLO does not advertise PIPELINING")
    replies = smtp.pipeline(["MAIL FROM:<%s>" % SENDER,
                             "RCPT TO:<bob@example.com>",
                             "RCPT TO:<carol@example.com>",
                             "DATA"])
    for verb, (code, msg) in zip(("mail", "rcpt", "rcpt", "data"), replies):
        show(verb, code, msg)
    expect([c for c, _ in replies] == [250, 250, 250, 354],
           "pipelined replies: %r" % replies)
    body = "pipelined body\r\n"
    smtp.send(message("pipelined", body, to="bob@example.com, carol@example.com")
              + ".\r\n")
    code, msg = smtp.getreply()
    show("eom", code, msg)
    expect(code == 250, "end of data got %d %r" % (code, msg))
    save_body(opts, body)
    replies = smtp.pipeline(["RSET", "NOOP"])
    for verb, (code, msg) in zip(("rset", "noop"), replies):
        show(verb, code, msg)
    expect([c for c, _ in replies] == [250, 250],
           "pipelined RSET/NOOP: %r" % replies)


def scenario_big(smtp, opts):
    # 2 MiB of 78-character lines (76 + CRLF), each numbered, so a lost,
    # doubled or reordered line shows.
    lines = []
    size = 0
    n = 0
    while size < 2 * 1024 * 1024:
        n += 1
        line = ("%08d " % n) + ("abcdefghijklmnopqrstuvwxyz0123456789" * 2)[:67]
        lines.append(line + "\r\n")
        size += len(line) + 2
    body = "".join(lines)
    msg = message("big", body)
    print("size", len(msg))
    if smtp.has_extn("size"):
        limit = smtp.esmtp_features["size"].strip()
        expect(not limit or int(limit) == 0 or int(limit) >= len(msg),
               "SIZE %s is below the 2 MiB message" % limit)
    send(smtp, "mail 1", SENDER, ["bob@example.com"], msg)
    save_body(opts, body)


def scenario_dot(smtp, opts):
    body = ("before\r\n.\r\nafter a lone dot\r\n..\r\n.leading dot\r\n"
            "..two leading dots\r\n. dot space\r\n.\r\n")
    send(smtp, "mail 1", SENDER, ["bob@example.com"], message("dots", body))
    save_body(opts, body)


def scenario_refused(smtp, opts):
    try:
        refused = smtp.sendmail(SENDER, ["refused@example.com"],
                                message("refused", "nope\r\n",
                                        to="refused@example.com"))
        raise Failure("sendmail to a refused recipient returned %r"
                      % (refused,))
    except smtplib.SMTPRecipientsRefused as e:
        for rcpt, (code, msg) in e.recipients.items():
            show("refused at rcpt " + rcpt, code, msg)
            expect(500 <= code < 600, "RCPT refusal is not 5xx: %d" % code)
    except smtplib.SMTPDataError as e:
        show("refused at data", e.smtp_code, e.smtp_error)
        expect(500 <= e.smtp_code < 600,
               "end-of-data refusal is not 5xx: %d" % e.smtp_code)
    # smtplib sent RSET after the failure; the session must go on.
    send(smtp, "mail 2", SENDER, ["bob@example.com"],
         message("after refusal", "fine\r\n"))
    save_body(opts, "fine\r\n")


def scenario_8bit(smtp, opts):
    expect(smtp.has_extn("8bitmime"), "EHLO does not advertise 8BITMIME")
    expect(smtp.has_extn("smtputf8"), "EHLO does not advertise SMTPUTF8")
    body = "Grüße aus Köln, 東京\r\n"
    send(smtp, "mail 1", SENDER, ["bob@example.com"],
         message("8bit", body).encode("utf-8"),
         mail_options=["BODY=8BITMIME"])
    send(smtp, "mail 2", "jürgen@example.com", ["zoë@example.com"],
         message("utf8", body, to="zoë@example.com",
                 frm="jürgen@example.com").encode("utf-8"),
         mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    save_body(opts, body)


def save_body(opts, body):
    if opts.get("save_body"):
        with open(opts["save_body"], "wb") as f:
            f.write(body.encode("utf-8"))


SCENARIOS = {
    "two": scenario_two,
    "pipelined": scenario_pipelined,
    "big": scenario_big,
    "dot": scenario_dot,
    "refused": scenario_refused,
    "8bit": scenario_8bit,
}


def main(argv):
    opts = {}
    args = argv[1:]
    if len(args) >= 2 and args[0] == "--save-body":
        opts["save_body"] = args[1]
        args = args[2:]
    if len(args) < 2 or args[0] not in SCENARIOS:
        sys.stderr.write("usage: smtplib_pipe.py [--save-body FILE] "
                         "{%s} OUTBOX [ARG...]\n" % "|".join(SCENARIOS))
        return 2

    def timeout(signum, frame):
        raise Failure("no progress within 60 s")

    signal.signal(signal.SIGALRM, timeout)
    signal.alarm(60)
    smtp = None
    try:
        smtp = PipeSMTP([args[1]] + args[2:] + ["-bs"])
        start(smtp)
        SCENARIOS[args[0]](smtp, opts)
        finish(smtp)
    except (Failure, smtplib.SMTPException) as e:
        sys.stderr.write("FAIL: %s: %s\n" % (type(e).__name__, e))
        if smtp is not None and smtp.proc is not None:
            smtp.proc.kill()
            print("exit", smtp.exit_status())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
