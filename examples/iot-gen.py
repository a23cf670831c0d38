#!/usr/bin/python3
"""iot-gen.py [EVENTS [SEED]]: EVENTS (default 20000) IoT telemetry events on
standard output, one JSON object a line, in time order (but for the
retried copies below) over two days from
2026-04-21T00:00Z, shaped as the reference's IoT simulator makes them:
eventId, deviceId, value, type ("temperature" in degrees C, "energy" in
kWh, "humidity" in %), deviceSequenceNumber (per device, from 1),
createdAt (RFC 3339, ms) and complexData (the user at the device, its
firmware and location).  About 0.1% of the events are sent twice, the copy
a few seconds later with the same eventId, as a device retrying a send
whose acknowledgement it lost.  The same SEED gives the same stream."""
import datetime, json, random, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
devices = ["dev-%02d" % i for i in range(1, 11)]
base = {d: 18 + 6 * rng.random() for d in devices}	# each room its own climate
seq = dict.fromkeys(devices, 0)
start = datetime.datetime(2026, 4, 21, tzinfo=datetime.timezone.utc)
step = 2 * 86400 * 1000 / n	# ms between events on average
retries = []	# (time, line) of copies still to send


def stamp(ms):
    at = start + datetime.timedelta(milliseconds=int(ms))
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (at.microsecond // 1000)


out = []
for i in range(n):
    t = (i + rng.random()) * step	# one event in each slot: all within two days
    dev = rng.choice(devices)
    seq[dev] += 1
    kind = rng.choices(["temperature", "energy", "humidity"], [5, 3, 2])[0]
    hour = (t / 3600000) % 24
    if kind == "temperature":
        # Warmer in the afternoon, with noise.
        value = base[dev] + 3 * (1 - abs(hour - 15) / 12) + rng.gauss(0, 0.8)
    elif kind == "energy":
        value = rng.expovariate(1 / 0.35)
    else:
        value = rng.uniform(30, 70)
    ev = {
        "eventId": "%08x-%04x" % (rng.getrandbits(32), i % 65536),
        "deviceId": dev,
        "value": round(value, 3),
        "type": kind,
        "deviceSequenceNumber": seq[dev],
        "createdAt": stamp(t),
        "complexData": {
            "userId": "user-%04d" % rng.randint(1, 1500),
            "firmware": "1.%d.0" % (int(dev[-2:]) % 3),
            "location": {"building": "B%d" % (int(dev[-2:]) % 2 + 1), "floor": int(dev[-2:]) % 4},
        },
    }
    line = json.dumps(ev, separators=(",", ":"))
    while retries and retries[0][0] <= t:
        out.append(retries.pop(0)[1])
    out.append(line)
    if rng.random() < 0.001:
        retries.append((t + rng.uniform(1000, 5000), line))
        retries.sort()
out.extend(r[1] for r in retries)
sys.stdout.write("\n".join(out) + "\n")
