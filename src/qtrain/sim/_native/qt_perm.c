/* Permutations of the basis index (see qt_perm.h). */
#include "qt_perm.h"

#include "qt_gf2.h"
#include "qt_pool.h"

void qt_lane_table(const size_t *Llo, int v, int esize, int32_t (*tab)[16])
{
    const size_t V = (size_t)1 << v;
    const int lpe = esize / 4; /* 32-bit lanes per element */
    for (size_t x = 0; x < V; x++)
        for (int l = 0; l < 16; l++) {
            size_t e = (size_t)l / (size_t)lpe, sub = (size_t)l % (size_t)lpe;
            tab[x][l] = (int32_t)((Llo[e] ^ x) * (size_t)lpe + sub);
        }
}

static inline void qt_copy_elem(char *d, const char *s, int esize)
{
    switch (esize) {
    case 4: *(uint32_t *)d = *(const uint32_t *)s; break;
    case 8: *(uint64_t *)d = *(const uint64_t *)s; break;
    default: memcpy(d, s, (size_t)esize); break;
    }
}

typedef struct {
    const char *src;
    char *dst;
    size_t B, N, per, ntasks; /* per: work items per sample */
    int n, esize, v;
    size_t c0;
    const size_t *cols, *pre;
    const int32_t (*tab)[16];
    const void *idx;
    int idx64;
} qt_perm_run;

#if QT_AVX512
static void qt_perm_vec_task(void *arg, size_t task, int slot)
{
    (void)slot;
    const qt_perm_run *P = (const qt_perm_run *)arg;
    const int v = P->v, n = P->n;
    const size_t nvec = P->per, mask = ((size_t)1 << v) - 1;
    size_t lo, hi;
    qt_task_range(P->B * nvec, P->ntasks, task, &lo, &hi);
    size_t it = lo;
    while (it < hi) {
        const size_t b = it / nvec;
        size_t m = it % nvec;
        const size_t mend = (hi - b * nvec) < nvec ? (hi - b * nvec) : nvec;
        const char *sb = P->src + b * P->N * (size_t)P->esize;
        char *db = P->dst + b * P->N * (size_t)P->esize;
        size_t s = P->c0; /* s = c0 ^ L(m << v) */
        for (int j = v; j < n; j++)
            if ((m >> (j - v)) & 1) s ^= P->cols[j];
        for (;;) {
            const __m512i idx = _mm512_loadu_si512((const void *)P->tab[s & mask]);
            const __m512i x = _mm512_loadu_si512((const void *)(sb + (s >> v) * 64));
            _mm512_storeu_si512((void *)(db + m * 64), _mm512_permutexvar_epi32(idx, x));
            m++;
            if (m >= mend) break;
            s ^= P->pre[__builtin_ctzll((unsigned long long)m)];
        }
        it = b * nvec + m;
    }
}
#endif

static void qt_perm_sc_task(void *arg, size_t task, int slot)
{
    (void)slot;
    const qt_perm_run *P = (const qt_perm_run *)arg;
    const size_t N = P->N;
    const int esize = P->esize;
    size_t lo, hi;
    qt_task_range(P->B * N, P->ntasks, task, &lo, &hi);
    size_t it = lo;
    while (it < hi) {
        const size_t b = it / N;
        size_t k = it % N;
        const size_t kend = (hi - b * N) < N ? (hi - b * N) : N;
        const char *sb = P->src + b * N * (size_t)esize;
        char *db = P->dst + b * N * (size_t)esize;
        size_t s = P->c0;
        for (int j = 0; j < P->n; j++)
            if ((k >> j) & 1) s ^= P->cols[j];
        for (;;) {
            qt_copy_elem(db + k * (size_t)esize, sb + s * (size_t)esize, esize);
            k++;
            if (k >= kend) break;
            s ^= P->pre[__builtin_ctzll((unsigned long long)k)];
        }
        it = b * N + k;
    }
}

void qt_perm_linear(const char *src, char *dst, size_t B, int n, int esize, size_t c0,
                    const size_t *cols, int nthreads)
{
    const size_t N = (size_t)1 << n;
    const int nt = qt_threads(nthreads, B * N * (size_t)esize * 2);
    qt_perm_run P;
    memset(&P, 0, sizeof(P));
    P.src = src;
    P.dst = dst;
    P.B = B;
    P.N = N;
    P.n = n;
    P.esize = esize;
    P.c0 = c0;
    P.cols = cols;
    size_t pre[QT_MAXQ];
    P.pre = pre;
    /* vector path: one SIMD register = 2**v elements; needs L(low v bits) within low v bits */
    int v = 0;
#if QT_AVX512
    v = qt_ilog2((size_t)(64 / esize));
    if (v > n) v = 0;
    for (int j = 0; j < v; j++)
        if (cols[j] >> v) v = 0;
#endif
    {
        size_t a = 0;
        for (int t = 0; v + t < n; t++) {
            a ^= cols[v + t];
            pre[t] = a;
        }
    }
#if QT_AVX512
    if (v > 0) {
        int32_t tab[16][16];
        size_t Llo[16];
        for (size_t e = 0; e < ((size_t)1 << v); e++) Llo[e] = qt_lin(e, cols);
        qt_lane_table(Llo, v, esize, tab);
        P.v = v;
        P.tab = (const int32_t(*)[16])tab;
        P.per = N >> v;
        P.ntasks = qt_ntasks(B * P.per, nt);
        qt_par_run(qt_perm_vec_task, NULL, &P, P.ntasks, nt);
        return;
    }
#endif
    P.per = N;
    P.ntasks = qt_ntasks(B * N, nt);
    qt_par_run(qt_perm_sc_task, NULL, &P, P.ntasks, nt);
}

static void qt_perm_idx_task(void *arg, size_t task, int slot)
{
    (void)slot;
    const qt_perm_run *P = (const qt_perm_run *)arg;
    const size_t N = P->N;
    const int esize = P->esize;
    size_t lo, hi;
    qt_task_range(P->B * N, P->ntasks, task, &lo, &hi);
    size_t it = lo;
    while (it < hi) {
        const size_t b = it / N;
        const size_t k0 = it % N;
        const size_t kend = (hi - b * N) < N ? (hi - b * N) : N;
        const char *sb = P->src + b * N * (size_t)esize;
        char *db = P->dst + b * N * (size_t)esize;
#define QT_GATHER(TYPE, ITYPE)                                                        \
    {                                                                                 \
        const ITYPE *ix = (const ITYPE *)P->idx;                                      \
        const TYPE *s_ = (const TYPE *)sb;                                            \
        TYPE *d_ = (TYPE *)db;                                                        \
        for (size_t k = k0; k < kend; k++) d_[k] = s_[ix[k]];                         \
    }
        if (esize == 4) {
            if (P->idx64) QT_GATHER(uint32_t, int64_t) else QT_GATHER(uint32_t, int32_t)
        } else if (esize == 8) {
            if (P->idx64) QT_GATHER(uint64_t, int64_t) else QT_GATHER(uint64_t, int32_t)
        } else {
            typedef struct { uint64_t a, b; } u128;
            if (P->idx64) QT_GATHER(u128, int64_t) else QT_GATHER(u128, int32_t)
        }
#undef QT_GATHER
        it = b * N + kend;
    }
}

void qt_perm_index(const char *src, char *dst, size_t B, int n, int esize, const void *idx,
                   int idx64, int nthreads)
{
    const size_t N = (size_t)1 << n;
    const int nt = qt_threads(nthreads, B * N * (size_t)esize * 2);
    qt_perm_run P;
    memset(&P, 0, sizeof(P));
    P.src = src;
    P.dst = dst;
    P.B = B;
    P.N = N;
    P.n = n;
    P.esize = esize;
    P.idx = idx;
    P.idx64 = idx64;
    P.ntasks = qt_ntasks(B * N, nt);
    qt_par_run(qt_perm_idx_task, NULL, &P, P.ntasks, nt);
}
