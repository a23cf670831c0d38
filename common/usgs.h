/* usgs.h: a USGS GeoJSON feature projected onto the event line of csa(7). */
#ifndef CSA_USGS_H
#define CSA_USGS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "json.h"

/* The properties of a feature that make an event. */
enum usgs_prop {
	USGS_MAG, USGS_PLACE, USGS_TIME, USGS_UPDATED, USGS_TYPE, USGS_TSUNAMI, USGS_ALERT,
	USGS_STATUS, USGS_MAGTYPE, USGS_NET, USGS_IDS, USGS_TITLE, USGS_URL, USGS_NPROPS
};

/* Where the parts of one feature are: tokens of its document, -1 when absent. */
struct usgs_feature {
	int id, coords;
	int prop[USGS_NPROPS];
};

/* A slice of an event line: raw JSON string text, without the quotes. */
struct usgs_span {
	size_t off, len;
};

/* What usgs_check and usgs_event learn of a feature. */
struct usgs_event {
	int64_t time, updated;		/* epoch ms; updated is time when absent */
	struct usgs_span id, ids;	/* in the event line, once written */
	const char *why;		/* why the feature cannot be an event */
};

/* The reference partition rule: a coarse region from the epicentre. */
const char *usgs_region(double lat, double lon);

/* Find the parts of feature token f of d, in one pass over it. */
void usgs_scan(const struct json_doc *d, int f, struct usgs_feature *ft);

/* Can the feature be an event?  0 with ev's times and the epicentre, or -1
 * with ev->why. */
int usgs_check(const struct json_doc *d, const struct usgs_feature *ft, struct usgs_event *ev,
    double *lon, double *lat);

/* Name a feature for a message: its id, else its title or url, else its
 * index (from 0) in the document; into out (size bytes). */
void usgs_name(const struct json_doc *d, const struct usgs_feature *ft, long index,
    char *out, size_t size);

/* Write the event line of a feature into b (replacing what was there),
 * stamped with ingested (RFC 3339), filling in ev.  0, or -1 when the
 * feature cannot be an event. */
int usgs_event(const struct json_doc *d, const struct usgs_feature *ft, const char *ingested,
    struct buf *b, struct usgs_event *ev);

#endif
