#!/usr/bin/python3
"""A real HTTP(S) server for the tests: serves USGS files from a directory,
with ETag and Last-Modified validators, gzip for .gz files, errors injected on
request, and an emulation of the FDSN event service over one GeoJSON file.

Usage: usgs_server.py ROOT PORTFILE LOGFILE [--fdsn FILE] [--max-allowed N]
                      [--tls CERT KEY]

Injected faults, as query parameters of any file request:
  fail=CODE&times=N   the first N requests of this URL answer CODE
  retry_after=S       send Retry-After: S with the injected answer
  truncate=N          send only the first N bytes of the body
  etag=empty          send an empty ETag header (and never answer 304)
The server writes its port to PORTFILE once it listens, and one line per
request to LOGFILE: "<epoch seconds> <status> <path?query>".
"""
import email.utils
import gzip
import hashlib
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


class State:
    root = "."
    log = None
    fdsn = None
    max_allowed = 20000
    counts = {}
    lock = threading.Lock()


def parse_time(s):
    """FDSN times: ISO 8601, with or without Z and fraction; epoch ms back."""
    s = s.rstrip("Z")
    frac = 0
    if "." in s:
        s, f = s.split(".", 1)
        frac = int((f + "000")[:3])
    t = time.strptime(s, "%Y-%m-%dT%H:%M:%S") if "T" in s else time.strptime(s, "%Y-%m-%d")
    return int(timegm(t)) * 1000 + frac


def timegm(t):
    import calendar
    return calendar.timegm(t)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def record(self, status):
        # The time the request arrived, not when its answer was ready.
        with State.lock:
            with open(State.log, "a") as f:
                f.write("%.3f %d %s\n" % (self.arrived, status, self.path))

    def answer(self, status, body=b"", headers=None):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.record(status)

    def do_GET(self):
        self.arrived = time.time()
        url = urlsplit(self.path)
        q = {k: v[-1] for k, v in parse_qs(url.query).items()}
        if "fail" in q:
            with State.lock:
                n = State.counts.get(self.path, 0)
                State.counts[self.path] = n + 1
            if n < int(q.get("times", "1000000")):
                hdr = {}
                if "retry_after" in q:
                    hdr["Retry-After"] = q["retry_after"]
                return self.answer(int(q["fail"]), b"injected failure\n", hdr)
        if State.fdsn and url.path.endswith("/query"):
            return self.fdsn_query(q, count=False)
        if State.fdsn and url.path.endswith("/count"):
            return self.fdsn_query(q, count=True)
        self.serve_file(url.path, q)

    def serve_file(self, path, q):
        name = os.path.normpath(path.lstrip("/"))
        if name.startswith(".."):
            return self.answer(403)
        full = os.path.join(State.root, name)
        gz = False
        if not os.path.isfile(full) and os.path.isfile(full + ".gz"):
            full, gz = full + ".gz", True
        if not os.path.isfile(full):
            return self.answer(404, b"not found\n")
        with open(full, "rb") as f:
            body = f.read()
        headers = {"Content-Type": "application/json"}
        if gz:
            if "gzip" in self.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
            else:
                body = gzip.decompress(body)
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
        mtime = int(os.path.getmtime(full))
        headers["ETag"] = etag if q.get("etag") != "empty" else ""
        headers["Last-Modified"] = email.utils.formatdate(mtime, usegmt=True)
        inm = self.headers.get("If-None-Match")
        if inm is not None and headers["ETag"] and inm == headers["ETag"]:
            return self.answer(304, b"", {"ETag": etag})
        if "truncate" in q:
            body = body[: int(q["truncate"])]
        self.answer(200, body, headers)

    def fdsn_query(self, q, count):
        feats = State.fdsn["features"]
        start = parse_time(q["starttime"]) if "starttime" in q else None
        end = parse_time(q["endtime"]) if "endtime" in q else None
        upd = parse_time(q["updatedafter"]) if "updatedafter" in q else None
        minmag = float(q["minmagnitude"]) if "minmagnitude" in q else None
        sel = []
        for f in feats:
            p = f["properties"]
            if start is not None and p["time"] < start:
                continue
            if end is not None and p["time"] > end:
                continue
            if upd is not None and p["updated"] <= upd:
                continue
            if minmag is not None and (p["mag"] is None or p["mag"] < minmag):
                continue
            sel.append(f)
        if count:
            body = json.dumps({"count": len(sel), "maxAllowed": State.max_allowed})
            return self.answer(200, body.encode(), {"Content-Type": "application/json"})
        if len(sel) > State.max_allowed:
            msg = "Error 400: Bad Request\n\n%d matching events exceeds search limit of %d.\n" % (
                len(sel), State.max_allowed)
            return self.answer(400, msg.encode())
        if q.get("orderby") == "time-asc":
            sel.sort(key=lambda f: f["properties"]["time"])
        doc = {"type": "FeatureCollection", "metadata": {"count": len(sel)}, "features": sel}
        self.answer(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})


def main(argv):
    root, portfile, logfile = argv[1:4]
    rest = argv[4:]
    State.root, State.log = root, logfile
    tls = None
    while rest:
        opt = rest.pop(0)
        if opt == "--fdsn":
            with open(rest.pop(0)) as f:
                State.fdsn = json.load(f)
        elif opt == "--max-allowed":
            State.max_allowed = int(rest.pop(0))
        elif opt == "--tls":
            tls = (rest.pop(0), rest.pop(0))
    open(logfile, "a").close()
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(tls[0], tls[1])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
