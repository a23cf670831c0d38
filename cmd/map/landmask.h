/* landmask.h: the world's land on a grid of cells, for csa-dashboard's map. */
#ifndef CSA_LANDMASK_H
#define CSA_LANDMASK_H

/*
 * Cell (row, col) covers latitudes 90 - row/4 down a quarter degree and
 * longitudes -180 + col/4 east a quarter degree.  Each row is run lengths,
 * sea and land in turn, sea first: landmask_run[landmask_row[r]] up to
 * (not including) landmask_run[landmask_row[r + 1]].
 */
extern const int landmask_cols, landmask_rows;
extern const unsigned landmask_row[];
extern const unsigned short landmask_run[];

#endif
