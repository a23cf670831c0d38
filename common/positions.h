/* positions.h: where a stage stands in each hub partition, as one line of its state. */
#ifndef CSA_POSITIONS_H
#define CSA_POSITIONS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

/*
 * The stage that durably takes events owns their positions (csa(7),
 * FAILURE AND RECOVERY).  csa-window writes them as one line of its state,
 * right after the header, and csa-eh-recv --positions reads the same line:
 *
 *     {"positions":{"0":812,"3":640},"out_length":123456}
 *
 * "positions" maps a partition number to the last sequence number taken
 * from it (a partition not named: nothing taken); "out_length" is the
 * length of the output file the state vouches for (absent: none).
 */
#define POS_MAX 1024	/* partitions 0 to POS_MAX - 1 */

struct positions {
	int64_t last[POS_MAX];	/* -1: nothing taken from the partition */
	int64_t out_length;	/* -1: no output file */
};

/* Nothing taken, no output. */
void pos_init(struct positions *p);

/* Append the line, with its newline. */
void pos_put(const struct positions *p, struct buf *b);

/* Read a line: 1 when it is a positions line (*p filled), 0 when it is
 * another line, -1 when it is a damaged positions line. */
int pos_parse(struct positions *p, const char *line, size_t len);

/* Find the line in a whole state text: 1 found, 0 none (*p as by
 * pos_init), -1 damaged. */
int pos_find(struct positions *p, const char *text, size_t len);

/* The same from a file: 1 found, 0 none or no such file, -1 with ERR_IO
 * when it cannot be read or the line is damaged. */
int pos_read_file(const char *path, struct positions *p, struct err *e);

#endif
