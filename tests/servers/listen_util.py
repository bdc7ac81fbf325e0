"""listen_util.py - what the loopback test servers of the direct-delivery
suites share: the --listen ADDR:PORT argument, and a watcher that stops a
server when the test shell that started it is gone."""

import argparse
import os
import re
import time


def parse_listen(text):
    m = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):([0-9]{1,5})$",
                 text)
    if not m:
        raise argparse.ArgumentTypeError("ADDR:PORT expected: %r" % text)
    return (m.group(1) or m.group(2), int(m.group(3)))


def watch(pid, stop):
    while not stop.is_set():
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            stop.set()
            return
        except PermissionError:
            pass
        time.sleep(0.5)
