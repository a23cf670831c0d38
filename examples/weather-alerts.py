#!/usr/bin/python3
"""weather-alerts.py [FILE...]: weather alerts as the US National Weather
Service serves them (a GeoJSON FeatureCollection, as from
https://api.weather.gov/alerts/active?area=CA, saved or piped in) into
event lines for csa-eh-send, one JSON object a line, as the reference
deployment's weather producer makes them: alert_id, event, severity,
headline, area, onset, expires, ingested_at; and besides, for the layers:
sent (when the alert was issued: the event time to window by, as it only
grows from one poll to the next), effective, ends, status, message_type,
urgency, certainty, sender_name, and latitude and longitude (the mean of
the outer rings' vertices, or null: many alerts name zones and have no
geometry).  Times stay as the NWS writes them (with their offset).

An alert is keyed by its id: a poll repeats the alerts still active, and
an update is a new alert that references the old one, so the batch layer
dedupes with --id alert_id and the speed layer with --dedupe alert_id.
A feature without properties.id, or a document that is not a
FeatureCollection, is reported on stderr with where it is and skipped;
the exit status is then 1, after every good alert went out."""
import datetime, json, signal, sys


def centre(geometry):
    """The mean of the outer rings' vertices (without each ring's closing
    vertex), or None without a geometry."""
    if not geometry:
        return None
    kind, coords = geometry.get("type"), geometry.get("coordinates") or []
    rings = [coords[0]] if kind == "Polygon" and coords else \
        [p[0] for p in coords if p] if kind == "MultiPolygon" else \
        [[coords]] if kind == "Point" else []
    points = [pt for ring in rings for pt in (ring[:-1] if len(ring) > 1 else ring)]
    if not points:
        return None
    return (sum(p[1] for p in points) / len(points), sum(p[0] for p in points) / len(points))


def convert(doc, where, now, out):
    """The alerts of one document onto out; how many features were bad."""
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or \
            not isinstance(doc.get("features"), list):
        print("weather-alerts.py: %s: not a GeoJSON FeatureCollection, skipped" % where,
              file=sys.stderr)
        return 1
    bad = 0
    for i, feature in enumerate(doc["features"]):
        p = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(p, dict) or not p.get("id"):
            print("weather-alerts.py: %s: feature %d: no properties.id, skipped" % (where, i + 1),
                  file=sys.stderr)
            bad += 1
            continue
        c = centre(feature.get("geometry"))
        out.write(json.dumps({
            "alert_id": p["id"],
            "event": p.get("event"),
            "severity": p.get("severity"),
            "headline": p.get("headline"),
            "area": p.get("areaDesc"),
            "onset": p.get("onset"),
            "expires": p.get("expires"),
            "sent": p.get("sent"),
            "effective": p.get("effective"),
            "ends": p.get("ends"),
            "status": p.get("status"),
            "message_type": p.get("messageType"),
            "urgency": p.get("urgency"),
            "certainty": p.get("certainty"),
            "sender_name": p.get("senderName"),
            "latitude": round(c[0], 6) if c else None,
            "longitude": round(c[1], 6) if c else None,
            "ingested_at": now,
        }, separators=(",", ":")) + "\n")
    return bad


def main():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed pipe ends us quietly, as head wants
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    bad = 0
    for name in sys.argv[1:] or ["-"]:
        where = "standard input" if name == "-" else name
        try:
            f = sys.stdin if name == "-" else open(name, encoding="utf-8")
            with f:
                doc = json.load(f)
        except OSError as e:
            print("weather-alerts.py: %s: %s" % (where, e.strerror), file=sys.stderr)
            sys.exit(3)
        except ValueError as e:
            print("weather-alerts.py: %s: not JSON: %s, skipped" % (where, e), file=sys.stderr)
            bad += 1
            continue
        bad += convert(doc, where, now, sys.stdout)
    sys.stdout.flush()
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
