/*
 * GF(2) algebra of basis-index maps.  A linear map L on n-bit indices is given by its columns
 * cols[j] = L(e_j) (bit masks); an affine map is x -> c0 ^ L(x).  Networks of CNOT, SWAP and
 * X gates are affine maps of the basis index.
 */
#ifndef QT_GF2_H
#define QT_GF2_H

#include "qt_common.h"

/* L(x) = XOR of cols[j] over the set bits j of x */
static inline size_t qt_lin(size_t x, const size_t *cols)
{
    size_t r = 0;
    while (x) {
        r ^= cols[__builtin_ctzll((unsigned long long)x)];
        x &= x - 1;
    }
    return r;
}

/* inverse of the n x n GF(2) matrix with columns cols; returns 0 if singular */
int qt_gf2_inverse(const size_t *cols, int n, size_t *inv);

/* inverse of the affine map x -> c0 ^ L(x): y -> *c_inv ^ L^-1(y) with *c_inv = L^-1(c0);
   returns 0 if L is singular */
int qt_affine_inverse(size_t c0, const size_t *cols, int n, size_t *c_inv, size_t *inv);

/* Is index[k] (int32, or int64 when idx64) over k < 2**n an affine map c0 ^ L(k)?
   Returns -1 if a value is outside [0, 2**n) (*badval set), else 1 (affine: *c0 and cols[0..n)
   set) or 0 (not affine). */
int qt_perm_analyze(const void *index, int idx64, int n, size_t *c0, size_t *cols, long long *badval);

#endif /* QT_GF2_H */
