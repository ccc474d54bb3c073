/*
 * Permutations of the basis index, out[b, k] = in[b, index[k]], for every sample b: affine
 * GF(2) maps (CNOT / SWAP / X networks) as a streaming SIMD lane shuffle, any other map as a
 * gather.  esize: bytes per element (4, 8 or 16).
 */
#ifndef QT_PERM_H
#define QT_PERM_H

#include "qt_common.h"

/* out[b, k] = in[b, c0 ^ L(k)], L linear with L(e_j) = cols[j] */
void qt_perm_linear(const char *src, char *dst, size_t B, int n, int esize, size_t c0,
                    const size_t *cols, int nthreads);

/* out[b, k] = in[b, idx[k]]; idx (int32, or int64 when idx64) must be in range */
void qt_perm_index(const char *src, char *dst, size_t B, int n, int esize, const void *idx,
                   int idx64, int nthreads);

/* Lane tables for gathering through a linear map L that maps the low v bits into themselves
   (Llo[e] = L(e) for e < 2**v; a 64-byte register holds 2**v elements): tab[x] is the 32-bit
   lane shuffle (permutexvar index) of a source register whose element index has low bits x. */
void qt_lane_table(const size_t *Llo, int v, int esize, int32_t (*tab)[16]);

#endif /* QT_PERM_H */
