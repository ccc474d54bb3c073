/*
 * Moving the rows of a strided tile between the state and a cache-sized buffer, plainly or
 * through a linear index map (the permutation fused into a layer pass).  Header-only: the
 * layer driver is the one user, and as static functions the compiler may specialise them
 * there (qt_copy_rows per direction, qt_rows_perm inlined into the tile loop).
 */
#ifndef QT_ROWS_H
#define QT_ROWS_H

#include "qt_common.h"

/* in=1: dst (buffer) <- rows src + rowoff[r]; in=0: those rows <- dst.  nrows rows of
   rowbytes each.  The optimize attribute keeps the compiler from turning the 64-byte copy
   loops back into memcpy calls. */
__attribute__((noinline, optimize("no-tree-loop-distribute-patterns"))) static void
qt_copy_rows(char *restrict dst, const char *restrict src, const size_t *rowoff, size_t nrows,
             size_t rowbytes, int in)
{
#if QT_AVX512
    if ((rowbytes & 63) == 0) {
        const size_t nv = rowbytes >> 6;
        for (size_t r = 0; r < nrows; r++) {
            char *b = dst + r * rowbytes;
            char *m = (char *)src + rowoff[r];
            if (in)
                for (size_t v = 0; v < nv; v++)
                    _mm512_storeu_si512((void *)(b + 64 * v), _mm512_loadu_si512((const void *)(m + 64 * v)));
            else
                for (size_t v = 0; v < nv; v++)
                    _mm512_storeu_si512((void *)(m + 64 * v), _mm512_loadu_si512((const void *)(b + 64 * v)));
        }
        return;
    }
#endif
    for (size_t r = 0; r < nrows; r++) {
        if (in)
            memcpy(dst + r * rowbytes, src + rowoff[r], rowbytes);
        else
            memcpy((char *)src + rowoff[r], dst + r * rowbytes, rowbytes);
    }
}

#if QT_AVX512
/* Rows of a tile <-> memory through the linear map (one SIMD register = 2**v elements).
   Row r, vector u of the buffer is memory vector (Lbase ^ Lroff[r] ^ Lrow[u]) >> v, its
   lanes reordered by tab[(...) & (2**v - 1)]; scatter=1 writes memory, 0 reads it. */
static void qt_rows_perm(char *restrict buf, char *restrict mem, const size_t *Lroff, size_t nrows,
                         size_t rowvecs, const size_t *Lrow, size_t Lbase, int v, const int32_t (*tab)[16],
                         int scatter)
{
    const size_t mask = ((size_t)1 << v) - 1;
    for (size_t r = 0; r < nrows; r++) {
        const size_t s0 = Lbase ^ Lroff[r];
        char *b = buf + r * rowvecs * 64;
        for (size_t u = 0; u < rowvecs; u++) {
            const size_t s = s0 ^ Lrow[u];
            const __m512i idx = _mm512_loadu_si512((const void *)tab[s & mask]);
            char *m = mem + (s >> v) * 64;
            if (scatter)
                _mm512_storeu_si512((void *)m, _mm512_permutexvar_epi32(idx, _mm512_loadu_si512((const void *)(b + u * 64))));
            else
                _mm512_storeu_si512((void *)(b + u * 64), _mm512_permutexvar_epi32(idx, _mm512_loadu_si512((const void *)m)));
        }
    }
}
#endif

#endif /* QT_ROWS_H */
