#!/usr/bin/env python3
"""A stand-in for Event Hubs' REST send endpoint, over TLS on 127.0.0.1.

It checks what the service checks: the SAS token (signature, key name,
expiry, resource), the content type, and the batch format; it records each
accepted message as a JSON line in --out.  --answer makes every request get
that status; --fail gives the statuses of the first requests, in order.

    eh_rest_server.py --cert C --key K --port-file F --key-name N
        --sas-key S --out OUT [--answer 401] [--fail 503,503]
"""
import argparse
import base64
import hashlib
import hmac
import http.server
import json
import os
import ssl
import sys
import time
import urllib.parse

LIMIT = 1024 * 1024


def check_token(header, args, resource):
    """None when the token is good, else why not."""
    prefix = "SharedAccessSignature "
    if not header or not header.startswith(prefix):
        return "no SharedAccessSignature"
    fields = dict(urllib.parse.parse_qsl(header[len(prefix):], keep_blank_values=True))
    for k in ("sr", "sig", "se", "skn"):
        if k not in fields:
            return "token lacks " + k
    if fields["skn"] != args.key_name:
        return "unknown key name"
    if int(fields["se"]) <= time.time():
        return "token expired"
    if not resource.startswith(fields["sr"]):
        return "token for another resource: " + fields["sr"]
    signed = urllib.parse.quote(fields["sr"], safe="") + "\n" + fields["se"]
    want = base64.b64encode(hmac.new(args.sas_key.encode(), signed.encode(),
                                     hashlib.sha256).digest()).decode()
    if not hmac.compare_digest(want, fields["sig"]):
        return "bad signature"
    return None


def make_handler(args, state):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("eh_rest_server: " + (fmt % a) + "\n")

        def answer(self, status, text=""):
            body = text.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            data = self.rfile.read(length)
            state["requests"] += 1
            if args.answer:
                return self.answer(args.answer, "told to")
            if state["fail"]:
                return self.answer(state["fail"].pop(0), "busy")
            path = urllib.parse.urlsplit(self.path).path
            resource = "https://127.0.0.1:%d%s" % (state["port"], path)
            why = check_token(self.headers.get("Authorization"), args, resource)
            if why:
                sys.stderr.write("eh_rest_server: 401: %s\n" % why)
                return self.answer(401, why)
            if self.headers.get("Content-Type") != "application/vnd.microsoft.servicebus.json":
                return self.answer(415, "content type")
            if len(data) >= LIMIT:
                return self.answer(413, "batch over 1 MB")
            parts = path.strip("/").split("/")
            if parts[-1] != "messages" or len(parts) not in (2, 4):
                return self.answer(404, "no such entity")
            try:
                batch = json.loads(data)
                assert isinstance(batch, list) and batch
                for m in batch:
                    assert isinstance(m, dict) and isinstance(m["Body"], str)
                    assert set(m) <= {"Body", "BrokerProperties", "UserProperties"}
                    bp = m.get("BrokerProperties", {})
                    assert set(bp) <= {"PartitionKey"}
            except (AssertionError, ValueError, KeyError, TypeError):
                return self.answer(400, "not the batch format")
            with open(args.out, "a") as out:
                for m in batch:
                    out.write(json.dumps({
                        "eventhub": parts[0],
                        "partition": int(parts[2]) if len(parts) == 4 else None,
                        "partition_key": m.get("BrokerProperties", {}).get("PartitionKey"),
                        "body": m["Body"],
                        "batch": state["requests"]}) + "\n")
            return self.answer(201)

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--key-name", required=True)
    p.add_argument("--sas-key", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--answer", type=int, default=0)
    p.add_argument("--fail", default="")
    args = p.parse_args()
    state = {"requests": 0, "port": 0,
             "fail": [int(x) for x in args.fail.split(",") if x]}
    server = http.server.HTTPServer(("127.0.0.1", 0), make_handler(args, state))
    state["port"] = server.server_address[1]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % state["port"])
    os.rename(tmp, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
