#!/usr/bin/python3
"""A webhook receiver for the tests: records the body of every POST.

Usage: webhook_server.py PORTFILE LOGFILE [--fail N] [--delay S]

It listens on 127.0.0.1 (a port of its own choosing, written to PORTFILE
once it listens) and appends each POST body to LOGFILE as one line, with
its Content-Type before it and a tab between: what the alert sink sent,
in the order it came.  With --fail N the first N POSTs are answered 503
and not recorded, as a receiver that is down for a moment; with --delay
S each POST is answered S seconds after it came, so a test can look at
the sender while it waits.
"""
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    log = None
    fail = 0
    delay = 0.0
    lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code):
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        time.sleep(State.delay)
        with State.lock:
            if State.fail > 0:
                State.fail -= 1
                self.answer(503)
                return
            with open(State.log, "ab") as f:
                ctype = self.headers.get("Content-Type", "").encode()
                f.write(ctype + b"\t" + body.replace(b"\n", b"\\n") + b"\n")
        self.answer(204)

    def do_GET(self):
        self.answer(405)


def main():
    args = sys.argv[1:]
    if len(args) < 2 or len(args) % 2:
        sys.exit("usage: webhook_server.py PORTFILE LOGFILE [--fail N] [--delay S]")
    State.log = args[1]
    for opt, val in zip(args[2::2], args[3::2]):
        if opt == "--fail":
            State.fail = int(val)
        elif opt == "--delay":
            State.delay = float(val)
        else:
            sys.exit("webhook_server.py: unknown option " + opt)
    open(State.log, "ab").close()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(args[0] + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(args[0] + ".tmp", args[0])
    srv.serve_forever()


if __name__ == "__main__":
    main()
