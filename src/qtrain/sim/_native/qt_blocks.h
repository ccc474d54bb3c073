/*
 * Block programs: a whole circuit made of shared single-qubit layers and linear (GF(2)-affine)
 * permutations, run in one call forward and one call backward (the adjoint walk), on the
 * cache-blocked layer kernels.  It removes the per-stage Python call and argument checks
 * (about 10 us forward and 25 us backward per block), which dominate 13-qubit Quantum-Train
 * circuits.
 *
 * Descriptor: int64 records of QT_BLK_REC values per block:
 *   [0] kind (1: layer, 2: permutation, 3: layer then permutation)
 *   [1] nw   [2] first matrix of the block in the packed (total_nw, 2, 2) mats   [3] c0
 *   [4 .. 4 + QT_MAXQ) wire bits      [4 + QT_MAXQ .. 4 + 2 QT_MAXQ) permutation columns
 * The forward descriptor holds the permutations, the adjoint one their inverses.
 */
#ifndef QT_BLOCKS_H
#define QT_BLOCKS_H

#include "qt_common.h"

#define QT_BLK_REC (4 + 2 * QT_MAXQ)

/* 0 if every record is valid, else 1 + the index of the first invalid block */
int qt_blocks_check(const int64_t *desc, int nblocks, int n, int64_t total_nw);

/* Run the blocks forward on buf[0] with buf[1] as the spare; *which: the buffer that holds
   the result.  Returns 0, or -1 on allocation failure. */
int qt_blocks_forward(char *buf[2], size_t B, int n, int dt, int nblocks, const int64_t *desc,
                      const char *mats, int nthreads, int *which);

/* Adjoint walk from the last block to the first on (ps[0], gs[0]) with (ps[1], gs[1]) as
   spares; each layer's cross matrix goes to cross_out at the block's matrix offset (dtype of
   the state); *which: the pair that holds psi and g before the first block.  Returns 0 or -1. */
int qt_blocks_adjoint(char *ps[2], char *gs[2], size_t B, int n, int dt, int nblocks,
                      const int64_t *desc, const char *mats, char *cross_out, int nthreads, int *which);

#endif /* QT_BLOCKS_H */
