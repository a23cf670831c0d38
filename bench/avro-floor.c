/*
 * bench/avro-floor.c: avro-c alone walking every record of Capture
 * files, for a share of csa-capture-read's figures: each file's header
 * is read by avro-c (the metadata map, for the writer's schema), then
 * every record of each block is skipped field by field (the fields'
 * schemas found once) with avro_skip_data, which decodes each long and
 * length and steps over the bytes.  Each file is read into memory at
 * once and walked there.  csa-capture-read asks avro-c to decode the
 * same longs and lengths, so this is about what avro-c costs it; not a
 * strict floor, as skipping the body with avro_skip_data costs a little
 * more than csa-capture-read's reading it (callgrind: 233M instructions
 * on two of the bench's files, against 206M in avro-c for the body copy).
 *
 *   avro-floor FILE...   prints the records walked and the seconds taken
 *
 * Built by bench/capture-read.sh (cc -O2 ... -lavro); not part of the
 * package.  Files with a codec other than null are refused.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <avro.h>

static double
seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
fail(const char *path, const char *what)
{
	fprintf(stderr, "avro-floor: %s: %s: %s\n", path, what, avro_strerror());
	return -1;
}

/* The records of one file (read into *buf) walked; their count, or -1. */
static long
walk(const char *path, char **buf, size_t *cap)
{
	FILE *f = fopen(path, "rb");
	avro_reader_t in;
	avro_schema_t meta_s, long_s, schema = NULL, field[16];
	avro_value_iface_t *meta_i, *long_i;
	avro_value_t meta, num, v;
	char magic[4], sync[16], end[16];
	const void *text;
	size_t tlen, len, pos, used, nfields;
	long records = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || ftell(f) < 0) {
		perror(path);
		return -1;
	}
	len = (size_t)ftell(f);
	rewind(f);
	if (len > *cap && (*buf = realloc(*buf, *cap = len)) == NULL)
		return fail(path, "memory");
	if (fread(*buf, 1, len, f) != len) {
		perror(path);
		return -1;
	}
	fclose(f);
	in = avro_reader_memory(*buf, (int64_t)len);
	meta_s = avro_schema_map(avro_schema_bytes());
	long_s = avro_schema_long();
	meta_i = avro_generic_class_from_schema(meta_s);
	long_i = avro_generic_class_from_schema(long_s);
	avro_generic_value_new(meta_i, &meta);
	avro_generic_value_new(long_i, &num);
	if (avro_read(in, magic, 4) != 0 || memcmp(magic, "Obj\1", 4) != 0 ||
	    avro_value_read(in, &meta) != 0 || avro_read(in, sync, 16) != 0)
		return fail(path, "header");
	if (avro_value_sizeof(&meta, &pos) != 0)
		return fail(path, "header");
	pos += 4 + 16;	/* where the blocks start */
	if (avro_value_get_by_name(&meta, "avro.codec", &v, NULL) == 0 &&
	    (avro_value_get_bytes(&v, &text, &tlen) != 0 || tlen != 4 ||
	    memcmp(text, "null", 4) != 0))
		return fail(path, "a codec other than null");
	if (avro_value_get_by_name(&meta, "avro.schema", &v, NULL) != 0 ||
	    avro_value_get_bytes(&v, &text, &tlen) != 0 ||
	    avro_schema_from_json_length(text, tlen, &schema) != 0 || !is_avro_record(schema) ||
	    (nfields = avro_schema_record_size(schema)) > 16)
		return fail(path, "schema");
	for (size_t k = 0; k < nfields; k++)
		field[k] = avro_schema_record_field_get_by_index(schema, (int)k);
	while (pos < len) {	/* a block: its count, its size, its records, the marker */
		int64_t count, size;

		if (avro_value_read(in, &num) != 0 || avro_value_get_long(&num, &count) != 0 ||
		    avro_value_sizeof(&num, &used) != 0)
			return fail(path, "block header");
		pos += used;
		if (avro_value_read(in, &num) != 0 || avro_value_get_long(&num, &size) != 0 ||
		    avro_value_sizeof(&num, &used) != 0 || size < 0)
			return fail(path, "block header");
		pos += used + (size_t)size + 16;
		for (int64_t i = 0; i < count; i++, records++)
			for (size_t k = 0; k < nfields; k++)
				if (avro_skip_data(in, field[k]) != 0)
					return fail(path, "record");
		if (avro_read(in, end, 16) != 0 || memcmp(end, sync, 16) != 0)
			return fail(path, "sync marker");
	}
	avro_value_decref(&meta);
	avro_value_decref(&num);
	avro_value_iface_decref(meta_i);
	avro_value_iface_decref(long_i);
	avro_schema_decref(meta_s);
	avro_schema_decref(long_s);
	avro_schema_decref(schema);
	avro_reader_free(in);
	return records;
}

int
main(int argc, char **argv)
{
	char *buf = NULL;
	size_t cap = 0;
	long total = 0, n;
	double t0 = seconds();

	if (argc < 2) {
		fprintf(stderr, "usage: avro-floor FILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if ((n = walk(argv[i], &buf, &cap)) < 0)
			return 1;
		total += n;
	}
	printf("%ld %.3f\n", total, seconds() - t0);
	free(buf);
	return 0;
}
