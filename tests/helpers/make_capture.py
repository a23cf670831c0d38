#!/usr/bin/python3
"""make_capture.py OUT [--codec null|deflate|snappy] [--schema 5|4|other]
[--bodies json|pretty|text|mixed] [--count N] [--block N] [--deep I]
[--props plain|rich|odd] [--offsets odd]: write a Capture
file with python3-avro, independently of csa's writer.  Records: sequence
numbers 0..N-1, Offset 100*i, EnqueuedTimeUtc from 12/9/2022 5:10:16 PM
on, one second apart, x-opt-enqueued-time to match.  --block sets how
many records go in a block (default all in one).  --deep I makes record I's
body 500,000 nested arrays (1 MB), deeper than JSON readers go.
--props rich gives Properties of every kind the union holds (with the
schema "wide", booleans and ints too, before long in the union) and keys
that JSON must escape; odd writes them as Avro allows but python3-avro
never does: in two blocks, the first with a negative count and its byte
size, and the key "n" twice (the later value wins, in the earlier place),
with 19 keys more, the first of them different from record to record.
--offsets odd gives Offsets that are not plain digits (ODD_OFFSETS, in
turn), two records a second, and no x-opt-enqueued-time."""
import argparse, datetime, io, json
import avro.datafile, avro.io, avro.schema

P = argparse.ArgumentParser()
P.add_argument("out")
P.add_argument("--codec", default="null")
P.add_argument("--schema", default="5")
P.add_argument("--bodies", default="json")
P.add_argument("--count", type=int, default=10)
P.add_argument("--block", type=int, default=0)
P.add_argument("--deep", type=int, default=-1)
P.add_argument("--props", default="plain")
P.add_argument("--offsets", default="plain")
a = P.parse_args()

props = '["long","double","string","bytes","null"]' if a.schema == "5" else '["long","double","string","bytes"]'
if a.schema == "wide":
    props = '["boolean","int","long","double","string","bytes","null"]'
text = ('{"type":"record","name":"EventData","namespace":"Microsoft.ServiceBus.Messaging","fields":['
        '{"name":"SequenceNumber","type":"long"},{"name":"Offset","type":"string"},'
        '{"name":"EnqueuedTimeUtc","type":"string"},'
        '{"name":"SystemProperties","type":{"type":"map","values":["long","double","string","bytes"]}},'
        '{"name":"Properties","type":{"type":"map","values":%s}},'
        '{"name":"Body","type":["null","bytes"]}]}' % props)
if a.schema == "other":
    text = '{"type":"record","name":"Reading","fields":[{"name":"x","type":"long"}]}'
schema = avro.schema.parse(text)
t0 = datetime.datetime(2022, 12, 9, 17, 10, 16)

class Pairs(dict):
    """A map with its entries in order, repeats allowed: written by OddWriter."""
    def __init__(self, pairs):
        super().__init__(pairs)
        self.pairs = pairs

class OddWriter(avro.io.DatumWriter):
    def write_map(self, writers_schema, datum, encoder):
        if not isinstance(datum, Pairs):
            return super().write_map(writers_schema, datum, encoder)
        pairs = datum.pairs
        half = len(pairs) // 2
        first = io.BytesIO()
        e = avro.io.BinaryEncoder(first)
        for key, val in pairs[:half]:
            e.write_utf8(key)
            self.write_data(writers_schema.values, val, e)
        encoder.write_long(-half)
        encoder.write_long(len(first.getvalue()))
        encoder.write(first.getvalue())
        encoder.write_long(len(pairs) - half)
        for key, val in pairs[half:]:
            encoder.write_utf8(key)
            self.write_data(writers_schema.values, val, encoder)
        encoder.write_long(0)

ODD_OFFSETS = ["0", "007", "+5", " 5", "-0", "-5", "", "12a", "00", "123456789012345678",
               "1234567890123456789", "9223372036854775807", "9223372036854775808", "5 ",
               "\u00e9\"1"]

def properties(i):
    if a.props == "plain":
        return {"source": "test", "n": i} if a.schema in ("5", "wide") else {}
    p = [("source", "test"), ("n", i), ("x", i * 0.25), ("esc\"key\\\u00e9", "line\nbreak \u2603"),
         ("raw", b"\x00\x01bytes\xff"), ("none", None)]
    if a.schema == "wide":
        p += [("flag", i % 2 == 0), ("big", 1 << 40)]
    if a.props == "odd":
        # A key that differs from record to record, more keys than the
        # reader keeps the JSON of, then "n" again.
        p += [("k%d" % (i % 3), i)] + [("m%d" % j, j) for j in range(18)]
        p.append(("n", 1000 + i))
        return Pairs(p)
    return dict(p)

def body(i):
    if i == a.deep:
        return b"[" * 500000 + b"]" * 500000
    doc = {"i": i, "name": "event %d" % i, "v": i * 1.5, "tags": ["a", "b"]}
    kind = a.bodies if a.bodies != "mixed" else ("json", "pretty", "text")[i % 3]
    if kind == "json":
        return json.dumps(doc).encode()
    if kind == "pretty":
        return json.dumps(doc, indent=2).encode()
    return ("plain text %d, not JSON" % i).encode()

with open(a.out, "wb") as f:
    w = avro.datafile.DataFileWriter(f, OddWriter(), schema, codec=a.codec)
    for i in range(a.count):
        if a.schema == "other":
            w.append({"x": i})
        else:
            odd = a.offsets == "odd"
            t = t0 + datetime.timedelta(seconds=i // 2 if odd else i)
            ms = int((t - datetime.datetime(1970, 1, 1)).total_seconds() * 1000)
            sysp = {"x-opt-enqueued-time": ms}
            if odd:
                sysp = {}
            hour = t.hour % 12 or 12
            w.append({"SequenceNumber": i,
                      "Offset": ODD_OFFSETS[i % len(ODD_OFFSETS)] if odd else str(100 * i),
                      "EnqueuedTimeUtc": "%d/%d/%d %d:%02d:%02d %s" % (
                          t.month, t.day, t.year, hour, t.minute, t.second, "AM" if t.hour < 12 else "PM"),
                      "SystemProperties": sysp,
                      "Properties": properties(i),
                      "Body": body(i)})
        if a.block and (i + 1) % a.block == 0:
            w.sync()
    w.close()
