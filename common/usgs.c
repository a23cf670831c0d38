/* usgs.c: a USGS GeoJSON feature projected onto the event line of csa(7);
 * csa-usgs-fetch's, kept apart so that tests/fuzz reaches it too. */
#include <config.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usgs.h"

/* The reference producer's rule, so that its queries keep their meaning. */
const char *
usgs_region(double lat, double lon)
{
	if (lat > 50)
		return "alaska";
	if (lat > 18 && lat < 22 && lon > -162 && lon < -154)
		return "hawaii";
	if (lon < -115)
		return "us-west";
	if (lon < -90)
		return "us-central";
	return "us-east";
}

struct key {
	const char *name;
	size_t len;
};
#define KEY(s) { s, sizeof(s) - 1 }

/* The names of enum usgs_prop, as the USGS writes them. */
static const struct key prop_keys[USGS_NPROPS] = {
	KEY("mag"), KEY("place"), KEY("time"), KEY("updated"), KEY("type"),
	KEY("tsunami"), KEY("alert"), KEY("status"), KEY("magType"), KEY("net"),
	KEY("ids"), KEY("title"), KEY("url")
};

/* The members of a feature that usgs_scan looks for. */
enum { F_ID, F_PROPERTIES, F_GEOMETRY, F_N };
static const struct key feature_keys[F_N] = { KEY("id"), KEY("properties"), KEY("geometry") };
#undef KEY

/*
 * One pass over the members of object obj: out[i] is the value of the
 * member named keys[i], else -1 (none, or obj is not an object).  A feed
 * has thousands of features.
 */
static void
scan_members(const struct json_doc *d, int obj, const struct key *keys, int nkeys, int *out)
{
	int c = obj + 1;

	for (int i = 0; i < nkeys; i++)
		out[i] = -1;
	if (json_type(d, obj) != JSON_OBJECT)
		return;
	for (int i = 0; i < d->tok[obj].size; i++, c = json_skip(d, c + 1)) {
		size_t k;
		const char *key = json_raw(d, c, &k);

		for (int p = 0; p < nkeys; p++)
			if (keys[p].len == k && memcmp(keys[p].name, key, k) == 0) {
				out[p] = c + 1;
				break;
			}
	}
}

void
usgs_scan(const struct json_doc *d, int f, struct usgs_feature *ft)
{
	int top[F_N];

	scan_members(d, f, feature_keys, F_N, top);
	ft->id = top[F_ID];
	ft->coords = json_member(d, top[F_GEOMETRY], "coordinates", 11);
	scan_members(d, top[F_PROPERTIES], prop_keys, USGS_NPROPS, ft->prop);
}

/* Whether token t is a string with something in it. */
static bool
nonblank(const struct json_doc *d, int t)
{
	return json_type(d, t) == JSON_STRING && d->tok[t].end > d->tok[t].start;
}

/* For warnings about a feature that was skipped: its id, else its title or
 * url, else its index (an empty string names nothing). */
void
usgs_name(const struct json_doc *d, const struct usgs_feature *ft, long index,
    char *out, size_t size)
{
	char *s = NULL;

	if (nonblank(d, ft->id))
		s = json_strdup(d, ft->id);
	else if (nonblank(d, ft->prop[USGS_TITLE]))
		s = json_strdup(d, ft->prop[USGS_TITLE]);
	else if (nonblank(d, ft->prop[USGS_URL]))
		s = json_strdup(d, ft->prop[USGS_URL]);
	if (s)
		snprintf(out, size, "feature %ld (%s)", index + 1, s);
	else
		snprintf(out, size, "feature %ld", index + 1);
	free(s);
}

/* Write "name": and token t (null when t is -1); returns where t's text went. */
static struct usgs_span
put_field(struct buf *b, const char *name, const struct json_doc *d, int t)
{
	struct usgs_span sp;

	json_key(b, name);
	sp.off = b->len;
	if (t < 0)
		json_put_null(b);
	else
		json_put_token(b, d, t);
	sp.len = b->len - sp.off;
	if (json_type(d, t) == JSON_STRING) {	/* the text inside the quotes */
		sp.off++;
		sp.len -= 2;
	} else {
		sp.len = 0;
	}
	return sp;
}

/* An event needs an id, an epicentre and a time. */
int
usgs_check(const struct json_doc *d, const struct usgs_feature *ft, struct usgs_event *pe,
    double *lon, double *lat)
{
	if (!nonblank(d, ft->id))
		return pe->why = "no id", -1;
	if (json_type(d, ft->coords) != JSON_ARRAY ||
	    json_number(d, json_elem(d, ft->coords, 0), lon) < 0 ||
	    json_number(d, json_elem(d, ft->coords, 1), lat) < 0)
		return pe->why = "no geometry", -1;
	if (json_int64(d, ft->prop[USGS_TIME], &pe->time) < 0)
		return pe->why = "no time", -1;
	if (json_int64(d, ft->prop[USGS_UPDATED], &pe->updated) < 0)
		pe->updated = pe->time;
	return 0;
}

/* The names follow the reference producer (DESIGN.md, Events). */
int
usgs_event(const struct json_doc *d, const struct usgs_feature *ft, const char *ingested,
    struct buf *b, struct usgs_event *pe)
{
	int depth = json_elem(d, ft->coords, 2);
	int tu = json_type(d, ft->prop[USGS_UPDATED]) == JSON_NUMBER ? ft->prop[USGS_UPDATED] :
	    ft->prop[USGS_TIME];
	double lon, lat;
	const char *region;

	if (usgs_check(d, ft, pe, &lon, &lat) < 0)
		return -1;
	region = usgs_region(lat, lon);
	buf_reset(b);
	buf_addc(b, '{');
	pe->id = put_field(b, "event_id", d, ft->id);
	put_field(b, "magnitude", d, ft->prop[USGS_MAG]);
	put_field(b, "place", d, ft->prop[USGS_PLACE]);
	put_field(b, "time", d, ft->prop[USGS_TIME]);
	put_field(b, "updated", d, tu);
	put_field(b, "longitude", d, json_elem(d, ft->coords, 0));
	put_field(b, "latitude", d, json_elem(d, ft->coords, 1));
	put_field(b, "depth_km", d, json_type(d, depth) == JSON_NUMBER ? depth : -1);
	put_field(b, "event_type", d, ft->prop[USGS_TYPE]);
	put_field(b, "tsunami_flag", d, ft->prop[USGS_TSUNAMI]);
	put_field(b, "alert_level", d, ft->prop[USGS_ALERT]);
	put_field(b, "status", d, ft->prop[USGS_STATUS]);
	put_field(b, "mag_type", d, ft->prop[USGS_MAGTYPE]);
	put_field(b, "net", d, ft->prop[USGS_NET]);
	pe->ids = put_field(b, "ids", d, ft->prop[USGS_IDS]);
	json_key(b, "source");
	json_put_str(b, "usgs", 4);
	json_key(b, "region");
	json_put_str(b, region, strlen(region));
	json_key(b, "ingested_at");
	json_put_str(b, ingested, strlen(ingested));
	buf_addc(b, '}');
	return 0;
}
