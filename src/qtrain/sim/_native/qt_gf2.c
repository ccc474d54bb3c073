/* GF(2) algebra of basis-index maps (see qt_gf2.h). */
#include "qt_gf2.h"

int qt_gf2_inverse(const size_t *cols, int n, size_t *inv)
{
    size_t a[QT_MAXQ], b[QT_MAXQ]; /* rows of [A | I] */
    for (int i = 0; i < n; i++) {
        a[i] = 0;
        for (int j = 0; j < n; j++) a[i] |= ((cols[j] >> i) & 1) << j;
        b[i] = (size_t)1 << i;
    }
    for (int c = 0; c < n; c++) { /* Gauss-Jordan elimination */
        int piv = -1;
        for (int r = c; r < n; r++)
            if ((a[r] >> c) & 1) {
                piv = r;
                break;
            }
        if (piv < 0) return 0;
        size_t t = a[c];
        a[c] = a[piv];
        a[piv] = t;
        t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = 0; r < n; r++)
            if (r != c && ((a[r] >> c) & 1)) {
                a[r] ^= a[c];
                b[r] ^= b[c];
            }
    }
    for (int j = 0; j < n; j++) { /* rows of A^-1 -> columns */
        inv[j] = 0;
        for (int i = 0; i < n; i++) inv[j] |= ((b[i] >> j) & 1) << i;
    }
    return 1;
}

int qt_affine_inverse(size_t c0, const size_t *cols, int n, size_t *c_inv, size_t *inv)
{
    /* y = c0 ^ L x  <=>  x = L^-1 c0 ^ L^-1 y */
    if (!qt_gf2_inverse(cols, n, inv)) return 0;
    *c_inv = qt_lin(c0, inv);
    return 1;
}

#define QT_IDX(k) (idx64 ? (long long)((const int64_t *)index)[k] : (long long)((const int32_t *)index)[k])

int qt_perm_analyze(const void *index, int idx64, int n, size_t *c0, size_t *cols, long long *badval)
{
    const size_t N = (size_t)1 << n;
    for (size_t k = 0; k < N; k++) {
        const long long v = QT_IDX(k);
        if (v < 0 || (unsigned long long)v >= (unsigned long long)N) {
            *badval = v;
            return -1;
        }
    }
    /* candidate map from the images of 0 and of the unit vectors, then check every index:
       from k - 1 to k the bits 0..ctz(k) flip, so L(k) = L(k - 1) ^ pre[ctz(k)] with
       pre[j] = cols[0] ^ ... ^ cols[j] */
    size_t pre[QT_MAXQ], a = 0;
    *c0 = (size_t)QT_IDX(0);
    for (int j = 0; j < n; j++) {
        cols[j] = (size_t)QT_IDX((size_t)1 << j) ^ *c0;
        a ^= cols[j];
        pre[j] = a;
    }
    size_t e = *c0;
    for (size_t k = 1; k < N; k++) {
        e ^= pre[__builtin_ctzll((unsigned long long)k)];
        if ((size_t)QT_IDX(k) != e) return 0;
    }
    return 1;
}
#undef QT_IDX
