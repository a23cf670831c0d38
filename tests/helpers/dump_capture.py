#!/usr/bin/python3
"""dump_capture.py FILE...: every record of Capture Avro files, read with
python3-avro, as one JSON line: file, seq, offset, enqueued, system
properties, properties, body (text).  Prints the schema of each file to
stderr with --schema."""
import json, sys
import avro.datafile, avro.io

args = sys.argv[1:]
show_schema = "--schema" in args
for path in [a for a in args if a != "--schema"]:
    with open(path, "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
        if show_schema:
            sys.stderr.write(r.meta["avro.schema"].decode() + "\n")
        for rec in r:
            body = rec["Body"]
            print(json.dumps({
                "file": path,
                "seq": rec["SequenceNumber"],
                "offset": rec["Offset"],
                "enqueued": rec["EnqueuedTimeUtc"],
                "sys": rec["SystemProperties"],
                "props": rec["Properties"],
                "body": body.decode("utf-8") if body is not None else None,
            }))
