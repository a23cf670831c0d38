/* hub.c: what every hub back end shares: names, defaults and partitioning. */
#include <config.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hub.h"

void
hub_opts_init(struct hub_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->partitions = -1;
	o->retention_ms = -1;
	o->capture = -1;
	o->capture_interval_ms = -1;
	o->capture_size = -1;
	o->lease_ms = -1;
}

char *
hub_default_location(const char *given)
{
	const char *env = getenv("CSA_HUB"), *state, *home;
	struct buf b = { 0 };

	if (given && *given)
		return xstrdup(given);
	if (env && *env)
		return xstrdup(env);
	state = getenv("XDG_STATE_HOME");
	home = getenv("HOME");
	if (state && *state)
		buf_printf(&b, "%s/csa/hub", state);
	else
		buf_printf(&b, "%s/.local/state/csa/hub", home && *home ? home : ".");
	return buf_steal(&b);
}

const char *
hub_default_eventhub(const char *given)
{
	const char *env = getenv("EVENTHUB_NAME");

	if (given && *given)
		return given;
	if (env && *env)
		return env;
	return HUB_DEFAULT_EVENTHUB;
}

/* Kafka's murmur2, as its Java client and librdkafka compute it. */
uint32_t
hub_murmur2(const char *key, size_t len)
{
	const uint32_t m = 0x5bd1e995;
	const unsigned char *d = (const unsigned char *)key;
	uint32_t h = 0x9747b28cU ^ (uint32_t)len;
	size_t i;

	for (i = 0; i + 4 <= len; i += 4) {
		uint32_t k = (uint32_t)d[i] | (uint32_t)d[i + 1] << 8 |
		    (uint32_t)d[i + 2] << 16 | (uint32_t)d[i + 3] << 24;

		k *= m;
		k ^= k >> 24;
		k *= m;
		h *= m;
		h ^= k;
	}
	switch (len & 3) {
	case 3:
		h ^= (uint32_t)d[i + 2] << 16;
		/* fall through */
	case 2:
		h ^= (uint32_t)d[i + 1] << 8;
		/* fall through */
	case 1:
		h ^= d[i];
		h *= m;
	}
	h ^= h >> 13;
	h *= m;
	h ^= h >> 15;
	return h;
}

int
hub_partition_for_key(const char *key, size_t len, int partitions)
{
	return (int)((hub_murmur2(key, len) & 0x7fffffff) % (uint32_t)partitions);
}
