/*
 * Moving the rows of a strided tile between the state and a cache-sized buffer, plainly or
 * through a linear index map (the permutation fused into a layer pass).
 */
#ifndef QT_ROWS_H
#define QT_ROWS_H

#include "qt_common.h"

/* in=1: dst (buffer) <- rows src + rowoff[r]; in=0: those rows <- dst.  nrows rows of
   rowbytes each. */
void qt_copy_rows(char *restrict dst, const char *restrict src, const size_t *rowoff, size_t nrows,
                  size_t rowbytes, int in);

#if QT_AVX512
/* Rows of a tile <-> memory through the linear map (one SIMD register = 2**v elements).
   Row r, vector u of the buffer is memory vector (Lbase ^ Lroff[r] ^ Lrow[u]) >> v, its
   lanes reordered by tab[(...) & (2**v - 1)]; scatter=1 writes memory, 0 reads it. */
void qt_rows_perm(char *restrict buf, char *restrict mem, const size_t *Lroff, size_t nrows,
                  size_t rowvecs, const size_t *Lrow, size_t Lbase, int v, const int32_t (*tab)[16],
                  int scatter);
#endif

#endif /* QT_ROWS_H */
