/*
 * Pass planner: a layer of commuting single-qubit gates is applied in as few sweeps ("passes")
 * over the state as possible, each pass working on cache-sized tiles.
 *
 * Pass type "contiguous": tiles of 2**T consecutive elements (gates on element bits < T),
 * processed in place.  Pass type "strided": a tile is 2**nS rows of 2**c consecutive elements
 * (rows selected by the high bits S), copied into a buffer, processed, copied back.
 */
#ifndef QT_PLAN_H
#define QT_PLAN_H

#include "qt_common.h"

typedef struct {
    int T;          /* log2(elements per tile) */
    int contiguous; /* 1: tiles are consecutive blocks of 2**T elements */
    int c;          /* strided: log2(row length) */
    int nS;         /* strided: number of row-selecting bits */
    int S[QT_MAXQ]; /* strided: row-selecting element bits (ascending) */
    int nfree;      /* strided: bits enumerating tiles */
    int freeb[QT_MAXQ];
    int ng;
    int gidx[QT_MAXQ];  /* gate ids */
    int lbits[QT_MAXQ]; /* local bit of each gate inside the tile */
} qt_pass;

/* Plan the passes of a layer of nw gates on an n-qubit state; wbits: element bit of each gate,
   esize: bytes per element.  Writes at most QT_MAXQ passes to ps and returns their number. */
int qt_plan_passes(int n, int nw, const int *wbits, int esize, long tile_bytes, long row_bytes,
                   qt_pass *ps);

#endif /* QT_PLAN_H */
