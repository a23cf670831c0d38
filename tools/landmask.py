#!/usr/bin/python3
"""tools/landmask.py: rings of country polygons (from tools/landmask) on
stdin, a C file with the land mask on stdout: a grid of COLS x ROWS cells
of 1/SCALE degree, a cell land when its centre is inside a country.  Each
row is written as run lengths, sea first, which keeps the file small."""
import sys

SCALE = 4                      # cells per degree
COLS, ROWS = 360 * SCALE, 180 * SCALE

countries = {}                 # country -> list of edges
ring = []
country = None


def close_ring():
    global ring
    for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1]):
        if y0 != y1:
            countries.setdefault(country, []).append((x0, y0, x1, y1))
    ring = []


for line in sys.stdin:
    f = line.split()
    if not f:
        close_ring()
    elif f[0] == "P":
        country = f[1]
    else:
        ring.append((float(f[0]), float(f[1])))
close_ring()

mask = [[False] * COLS for _ in range(ROWS)]
for edges in countries.values():
    for row in range(ROWS):
        lat = 90 - (row + 0.5) / SCALE
        xs = sorted(x0 + (lat - y0) * (x1 - x0) / (y1 - y0)
                    for x0, y0, x1, y1 in edges
                    if (y0 <= lat) != (y1 <= lat))
        for a, b in zip(xs[0::2], xs[1::2]):
            # cells whose centre lies in [a, b)
            c0 = max(0, int((a + 180) * SCALE - 0.5 + 1 - 1e-9))
            c1 = min(COLS, int((b + 180) * SCALE - 0.5 + 1 - 1e-9))
            for c in range(c0, c1):
                mask[row][c] = True  # pairs: even-odd within a country

runs = []
starts = []
for row in mask:
    starts.append(len(runs))
    land, n = False, 0
    for cell in row:
        if cell != land:
            runs.append(n)
            land, n = cell, 0
        n += 1
    runs.append(n)
starts.append(len(runs))

out = sys.stdout
out.write("/* landmask.c: land of the world on a %dx%d grid (%g degree cells), made\n"
          " * by tools/landmask from Natural Earth's 1:110m countries (public domain;\n"
          " * Debian's r-cran-rnaturalearthdata).  Generated: do not edit.  See\n"
          " * cmd/map/README.md. */\n" % (COLS, ROWS, 1 / SCALE))
out.write('#include <config.h>\n\n#include "landmask.h"\n\n')
out.write("const int landmask_cols = %d, landmask_rows = %d;\n\n" % (COLS, ROWS))
out.write("/* Row r's runs are landmask_run[landmask_row[r]] up to\n"
          " * landmask_run[landmask_row[r + 1]], sea and land in turn, sea first. */\n")
out.write("const unsigned landmask_row[%d] = {\n" % len(starts))
for i in range(0, len(starts), 10):
    out.write("\t" + ", ".join(str(s) for s in starts[i:i + 10]) + ",\n")
out.write("};\n\nconst unsigned short landmask_run[%d] = {\n" % len(runs))
for i in range(0, len(runs), 14):
    out.write("\t" + ", ".join(str(r) for r in runs[i:i + 14]) + ",\n")
out.write("};\n")
