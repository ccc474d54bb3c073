/*
 * Type-generic tile kernels for qtrain's native accelerator.
 *
 * This file is NOT compiled on its own: _qtnative.c includes it four times, with
 *   R     : float | double          (real scalar type)
 *   CPX   : 0 | 1                    (1: interleaved complex (re, im))
 *   KSUF  : name suffix token        (f32r, f64r, f32c, f64c)
 * and, when QT_AVX512 is set, the vector macros for R (VEC, VW, VLOGW, VLOAD, ...).
 *
 * A "tile" is a contiguous buffer of 2**T elements; the gates act on local element
 * bit positions lbits[g] (stride 2**lbits[g]).  Gate g uses the 2x2 matrix
 * mats + gidx[g] * 4 * NR (row-major, real or interleaved complex); herm=1 uses
 * its conjugate transpose.  Cross accumulators are indexed by the global gate id
 * gidx[g]: cross[gidx*8 + (2*r + c)*2 + {0: re, 1: im}].
 */

#define KN(name) QT_CAT(name, KSUF)
#define NR (1 + CPX) /* reals per element */

/* m[8] = re00, im00, re01, im01, re10, im10, re11, im11 (im = 0 for real). */
static inline void KN(load_mat)(const R *mt, int herm, R *m)
{
#if CPX
    if (!herm) {
        for (int i = 0; i < 8; i++) m[i] = mt[i];
    } else { /* H = M^H: H00 = conj M00, H01 = conj M10, H10 = conj M01, H11 = conj M11 */
        m[0] = mt[0]; m[1] = -mt[1];
        m[2] = mt[4]; m[3] = -mt[5];
        m[4] = mt[2]; m[5] = -mt[3];
        m[6] = mt[6]; m[7] = -mt[7];
    }
#else
    m[1] = m[3] = m[5] = m[7] = 0;
    m[0] = mt[0];
    m[6] = mt[3];
    if (!herm) { m[2] = mt[1]; m[4] = mt[2]; }
    else       { m[2] = mt[2]; m[4] = mt[1]; }
#endif
}

/* ------------------------------------------------------------------------- */
/* portable scalar path (any T; also the fallback without AVX-512)            */
/* ------------------------------------------------------------------------- */

#if !CPX
static inline __attribute__((always_inline)) void KN(small_apply_s)(R *restrict buf, size_t len, const int S,
                                                               const R *m);
#endif
static void KN(tile_apply_sc)(R *restrict buf, int T, int ng, const int *lbits,
                              const int *gidx, const R *mats, int herm)
{
    const size_t len = (size_t)1 << T;
    for (int g = 0; g < ng; g++) {
        R m[8];
        KN(load_mat)(mats + (size_t)gidx[g] * 4 * NR, herm, m);
        const size_t s = (size_t)1 << lbits[g];
#if !CPX
        if (len >= 32 && s < 16) {
            switch (s) {
            case 1: KN(small_apply_s)(buf, len, 1, m); break;
            case 2: KN(small_apply_s)(buf, len, 2, m); break;
            case 4: KN(small_apply_s)(buf, len, 4, m); break;
            default: KN(small_apply_s)(buf, len, 8, m); break;
            }
            continue;
        }
#endif
        for (size_t i0 = 0; i0 < len; i0 += 2 * s) {
            R *restrict a = buf + i0 * NR;
            R *restrict b = buf + (i0 + s) * NR;
#if CPX
            for (size_t j = 0; j < s; j++) {
                const R ar = a[2 * j], ai = a[2 * j + 1], br = b[2 * j], bi = b[2 * j + 1];
                a[2 * j]     = m[0] * ar - m[1] * ai + m[2] * br - m[3] * bi;
                a[2 * j + 1] = m[0] * ai + m[1] * ar + m[2] * bi + m[3] * br;
                b[2 * j]     = m[4] * ar - m[5] * ai + m[6] * br - m[7] * bi;
                b[2 * j + 1] = m[4] * ai + m[5] * ar + m[6] * bi + m[7] * br;
            }
#else
            const R m00 = m[0], m01 = m[2], m10 = m[4], m11 = m[6];
            for (size_t j = 0; j < s; j++) {
                const R x0 = a[j], x1 = b[j];
                a[j] = m00 * x0 + m01 * x1;
                b[j] = m10 * x0 + m11 * x1;
            }
#endif
        }
    }
}

#if !CPX
/* small strides (s = 1, 2, 4, 8) on 32-element chunks with a compile-time pair map,
   so that the compiler can vectorise them; returns 0 if not applicable */
#define QT_SMALL_MAP(S, q) ((((q) / (S)) * 2 * (S)) + ((q) % (S)))
static inline __attribute__((always_inline)) void KN(small_apply_s)(R *restrict buf, size_t len, const int S,
                                                               const R *m)
{
    const R m00 = m[0], m01 = m[2], m10 = m[4], m11 = m[6];
    for (size_t i = 0; i < len; i += 32) {
        R *c = buf + i;
        R x0[16], x1[16];
        for (int q = 0; q < 16; q++) {
            x0[q] = c[QT_SMALL_MAP(S, q)];
            x1[q] = c[QT_SMALL_MAP(S, q) + S];
        }
        for (int q = 0; q < 16; q++) {
            c[QT_SMALL_MAP(S, q)] = m00 * x0[q] + m01 * x1[q];
            c[QT_SMALL_MAP(S, q) + S] = m10 * x0[q] + m11 * x1[q];
        }
    }
}
#endif

#if !CPX
static inline __attribute__((always_inline)) void KN(small_adj_s)(R *restrict ps, R *restrict gs, size_t len,
                                                             const int S, const R *m, double *c)
{
    const R h00 = m[0], h01 = m[2], h10 = m[4], h11 = m[6];
    R a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
    for (size_t i = 0; i < len; i += 32) {
        R *p = ps + i, *q_ = gs + i;
        R x0[16], x1[16], y0[16], y1[16];
        for (int q = 0; q < 16; q++) {
            x0[q] = p[QT_SMALL_MAP(S, q)];
            x1[q] = p[QT_SMALL_MAP(S, q) + S];
            y0[q] = q_[QT_SMALL_MAP(S, q)];
            y1[q] = q_[QT_SMALL_MAP(S, q) + S];
        }
        for (int q = 0; q < 16; q++) {
            a0[q] += y0[q] * x0[q]; a1[q] += y0[q] * x1[q];
            a2[q] += y1[q] * x0[q]; a3[q] += y1[q] * x1[q];
        }
        for (int q = 0; q < 16; q++) {
            p[QT_SMALL_MAP(S, q)] = h00 * x0[q] + h01 * x1[q];
            p[QT_SMALL_MAP(S, q) + S] = h10 * x0[q] + h11 * x1[q];
            q_[QT_SMALL_MAP(S, q)] = h00 * y0[q] + h01 * y1[q];
            q_[QT_SMALL_MAP(S, q) + S] = h10 * y0[q] + h11 * y1[q];
        }
    }
    for (int q = 0; q < 16; q++) {
        c[0] += a0[q]; c[2] += a1[q]; c[4] += a2[q]; c[6] += a3[q];
    }
}
#endif

static void KN(tile_adj_sc)(R *restrict ps, R *restrict gs, int T, int ng, const int *lbits,
                            const int *gidx, const R *mats, double *cross)
{
    const size_t len = (size_t)1 << T;
    for (int g = 0; g < ng; g++) {
        R m[8];
        KN(load_mat)(mats + (size_t)gidx[g] * 4 * NR, 1, m);
        const size_t s = (size_t)1 << lbits[g];
        double c[8] = {0, 0, 0, 0, 0, 0, 0, 0};
#if !CPX
        if (len >= 32 && s < 16) {
            switch (s) {
            case 1: KN(small_adj_s)(ps, gs, len, 1, m, c); break;
            case 2: KN(small_adj_s)(ps, gs, len, 2, m, c); break;
            case 4: KN(small_adj_s)(ps, gs, len, 4, m, c); break;
            default: KN(small_adj_s)(ps, gs, len, 8, m, c); break;
            }
            double *cc = cross + (size_t)gidx[g] * 8;
            for (int i = 0; i < 8; i++) cc[i] += c[i];
            continue;
        }
#endif
        for (size_t i0 = 0; i0 < len; i0 += 2 * s) {
            R *restrict p0 = ps + i0 * NR, *restrict p1 = ps + (i0 + s) * NR;
            R *restrict g0 = gs + i0 * NR, *restrict g1 = gs + (i0 + s) * NR;
#if CPX
            for (size_t j = 0; j < s; j++) {
                const R ar = p0[2 * j], ai = p0[2 * j + 1], br = p1[2 * j], bi = p1[2 * j + 1];
                const R cr = g0[2 * j], ci = g0[2 * j + 1], dr = g1[2 * j], di = g1[2 * j + 1];
                /* g_r * conj(psi_c) */
                c[0] += (double)cr * ar + (double)ci * ai; c[1] += (double)ci * ar - (double)cr * ai;
                c[2] += (double)cr * br + (double)ci * bi; c[3] += (double)ci * br - (double)cr * bi;
                c[4] += (double)dr * ar + (double)di * ai; c[5] += (double)di * ar - (double)dr * ai;
                c[6] += (double)dr * br + (double)di * bi; c[7] += (double)di * br - (double)dr * bi;
                p0[2 * j]     = m[0] * ar - m[1] * ai + m[2] * br - m[3] * bi;
                p0[2 * j + 1] = m[0] * ai + m[1] * ar + m[2] * bi + m[3] * br;
                p1[2 * j]     = m[4] * ar - m[5] * ai + m[6] * br - m[7] * bi;
                p1[2 * j + 1] = m[4] * ai + m[5] * ar + m[6] * bi + m[7] * br;
                g0[2 * j]     = m[0] * cr - m[1] * ci + m[2] * dr - m[3] * di;
                g0[2 * j + 1] = m[0] * ci + m[1] * cr + m[2] * di + m[3] * dr;
                g1[2 * j]     = m[4] * cr - m[5] * ci + m[6] * dr - m[7] * di;
                g1[2 * j + 1] = m[4] * ci + m[5] * cr + m[6] * di + m[7] * dr;
            }
#else
            const R h00 = m[0], h01 = m[2], h10 = m[4], h11 = m[6];
            size_t j = 0;
            if (s >= 16) { /* 16 independent partial sums: vectorisable without fast-math */
                R a0[16] = {0}, a1[16] = {0}, a2[16] = {0}, a3[16] = {0};
                for (; j + 16 <= s; j += 16)
                    for (int l = 0; l < 16; l++) {
                        const R x0 = p0[j + l], x1 = p1[j + l], y0 = g0[j + l], y1 = g1[j + l];
                        a0[l] += y0 * x0; a1[l] += y0 * x1; a2[l] += y1 * x0; a3[l] += y1 * x1;
                        p0[j + l] = h00 * x0 + h01 * x1; p1[j + l] = h10 * x0 + h11 * x1;
                        g0[j + l] = h00 * y0 + h01 * y1; g1[j + l] = h10 * y0 + h11 * y1;
                    }
                for (int l = 0; l < 16; l++) {
                    c[0] += a0[l]; c[2] += a1[l]; c[4] += a2[l]; c[6] += a3[l];
                }
            }
            for (; j < s; j++) {
                const R x0 = p0[j], x1 = p1[j], y0 = g0[j], y1 = g1[j];
                c[0] += (double)y0 * x0; c[2] += (double)y0 * x1;
                c[4] += (double)y1 * x0; c[6] += (double)y1 * x1;
                p0[j] = h00 * x0 + h01 * x1; p1[j] = h10 * x0 + h11 * x1;
                g0[j] = h00 * y0 + h01 * y1; g1[j] = h10 * y0 + h11 * y1;
            }
#endif
        }
        double *cc = cross + (size_t)gidx[g] * 8;
        for (int i = 0; i < 8; i++) cc[i] += c[i];
    }
}

/* ------------------------------------------------------------------------- */
/* AVX-512 path                                                              */
/* ------------------------------------------------------------------------- */
#if QT_AVX512

#if CPX
#define NHC 8 /* high-gate coefficient vectors: R00 I00 R01 I01 R10 I10 R11 I11 */
#define NIC 4 /* in-register coefficient vectors: C0r C0i C1r C1i */
#define NACC 8
#define NIA 4
#else
#define NHC 4 /* m00 m01 m10 m11 */
#define NIC 2 /* C0 C1 */
#define NACC 4
#define NIA 2
#endif
#define PMIN CPX /* lowest lane bit that is a qubit bit */

static inline __attribute__((always_inline)) VEC KN(vpartner)(VEC x, const int P)
{
    switch (P) {
    case 0: return VPART0(x);
    case 1: return VPART1(x);
    case 2: return VPART2(x);
#if VLOGW > 3
    case 3: return VPART3(x);
#endif
    default: return x;
    }
}

/* vector (-im, +im, -im, +im, ...) */
static inline VEC KN(vimag)(R im) { return VBLEND(VMASK0, VSET1(-im), VSET1(im)); }

static inline void KN(make_hc)(const R *m, VEC *c)
{
#if CPX
    for (int e = 0; e < 4; e++) {
        c[2 * e] = VSET1(m[2 * e]);
        c[2 * e + 1] = KN(vimag)(m[2 * e + 1]);
    }
#else
    c[0] = VSET1(m[0]); c[1] = VSET1(m[2]); c[2] = VSET1(m[4]); c[3] = VSET1(m[6]);
#endif
}

static inline void KN(make_ic)(const R *m, int P, VEC *c)
{
    const VMASK_T k = VMASKP(P);
#if CPX
    c[0] = VBLEND(k, VSET1(m[0]), VSET1(m[6]));
    c[1] = VBLEND(k, KN(vimag)(m[1]), KN(vimag)(m[7]));
    c[2] = VBLEND(k, VSET1(m[2]), VSET1(m[4]));
    c[3] = VBLEND(k, KN(vimag)(m[3]), KN(vimag)(m[5]));
#else
    c[0] = VBLEND(k, VSET1(m[0]), VSET1(m[6]));
    c[1] = VBLEND(k, VSET1(m[2]), VSET1(m[4]));
#endif
}

/* (x0, x1) <- (m00 x0 + m01 x1, m10 x0 + m11 x1) */
static inline __attribute__((always_inline)) void KN(hpair)(VEC *x0, VEC *x1, const VEC *c)
{
    const VEC a = *x0, b = *x1;
#if CPX
    const VEC sa = VSWAP(a), sb = VSWAP(b);
    *x0 = VFMA(c[3], sb, VFMA(c[2], b, VFMA(c[1], sa, VMUL(c[0], a))));
    *x1 = VFMA(c[7], sb, VFMA(c[6], b, VFMA(c[5], sa, VMUL(c[4], a))));
#else
    *x0 = VFMA(c[1], b, VMUL(c[0], a));
    *x1 = VFMA(c[3], b, VMUL(c[2], a));
#endif
}

static inline __attribute__((always_inline)) VEC KN(inreg_one)(VEC x, const int P, const VEC *c)
{
    const VEC px = KN(vpartner)(x, P);
#if CPX
    const VEC sx = VSWAP(x), psx = KN(vpartner)(sx, P);
    return VFMA(c[3], psx, VFMA(c[2], px, VFMA(c[1], sx, VMUL(c[0], x))));
#else
    return VFMA(c[1], px, VMUL(c[0], x));
#endif
}

static inline __attribute__((always_inline)) VEC KN(inreg_apply)(VEC x, int inmask, VEC (*ic)[NIC])
{
    _Pragma("GCC unroll 4")
    for (int P = PMIN; P < VLOGW; P++)
        if ((inmask >> P) & 1) x = KN(inreg_one)(x, P, ic[P]);
    return x;
}

static inline __attribute__((always_inline)) void
KN(grp_apply)(R *restrict buf, size_t nvec, const int K, const int *vb, VEC (*hc)[NHC],
              int inmask, VEC (*ic)[NIC])
{
    size_t voff[16];
    for (int j = 0; j < (1 << K); j++) {
        size_t o = 0;
        for (int i = 0; i < K; i++)
            if ((j >> i) & 1) o += (size_t)1 << vb[i];
        voff[j] = o * VW;
    }
    const size_t nb = nvec >> K;
    for (size_t t = 0; t < nb; t++) {
        size_t base = t;
        for (int i = 0; i < K; i++) base = qt_ins0(base, vb[i]);
        R *p = buf + base * VW;
        VEC v[16];
        _Pragma("GCC unroll 16")
        for (int j = 0; j < (1 << K); j++) v[j] = VLOAD(p + voff[j]);
        if (inmask) {
            _Pragma("GCC unroll 16")
            for (int j = 0; j < (1 << K); j++) v[j] = KN(inreg_apply)(v[j], inmask, ic);
        }
        _Pragma("GCC unroll 4")
        for (int i = 0; i < K; i++) {
            _Pragma("GCC unroll 16")
            for (int j = 0; j < (1 << K); j++) {
                if ((j >> i) & 1) continue;
                KN(hpair)(&v[j], &v[j | (1 << i)], hc[i]);
            }
        }
        _Pragma("GCC unroll 16")
        for (int j = 0; j < (1 << K); j++) VSTORE(p + voff[j], v[j]);
    }
}

/* collect high gates (sorted by lane bit) and in-register gates */
static inline int KN(classify)(int T, int ng, const int *lbits, const int *gidx, const R *mats,
                               int herm, int *hb, int *hg, VEC (*hc)[NHC], int *inmask,
                               int *ig, VEC (*ic)[NIC])
{
    int nh = 0;
    *inmask = 0;
    (void)T;
    for (int g = 0; g < ng; g++) {
        R m[8];
        KN(load_mat)(mats + (size_t)gidx[g] * 4 * NR, herm, m);
        const int P = lbits[g] + CPX;
        if (P < VLOGW) {
            *inmask |= 1 << P;
            ig[P] = gidx[g];
            KN(make_ic)(m, P, ic[P]);
        } else {
            int pos = nh++;
            while (pos > 0 && hb[pos - 1] > P) {
                hb[pos] = hb[pos - 1];
                hg[pos] = hg[pos - 1];
                for (int e = 0; e < NHC; e++) hc[pos][e] = hc[pos - 1][e];
                pos--;
            }
            hb[pos] = P;
            hg[pos] = gidx[g];
            KN(make_hc)(m, hc[pos]);
        }
    }
    return nh;
}

static void KN(tile_apply_vec)(R *restrict buf, int T, int ng, const int *lbits, const int *gidx,
                               const R *mats, int herm)
{
    const size_t nvec = (size_t)1 << (T + CPX - VLOGW);
    VEC hc[QT_MAXQ][NHC];
    VEC ic[VLOGW][NIC];
    int hb[QT_MAXQ], hg[QT_MAXQ], ig[VLOGW], inmask;
    const int nh = KN(classify)(T, ng, lbits, gidx, mats, herm, hb, hg, hc, &inmask, ig, ic);
    if (nh == 0) {
        if (inmask) KN(grp_apply)(buf, nvec, 0, NULL, hc, inmask, ic);
        return;
    }
    int pos = 0, first = 1;
    const int kmax = qt_tune.ka;
    while (pos < nh) {
        int K = nh - pos;
        if (K > kmax) K = kmax;
        int vb[4];
        for (int i = 0; i < K; i++) vb[i] = hb[pos + i] - VLOGW;
        const int im = first ? inmask : 0;
        switch (K) {
        case 1: KN(grp_apply)(buf, nvec, 1, vb, hc + pos, im, ic); break;
        case 2: KN(grp_apply)(buf, nvec, 2, vb, hc + pos, im, ic); break;
        case 3: KN(grp_apply)(buf, nvec, 3, vb, hc + pos, im, ic); break;
        default: KN(grp_apply)(buf, nvec, 4, vb, hc + pos, im, ic); break;
        }
        pos += K;
        first = 0;
    }
}

/* ---- adjoint ---- */

static inline double KN(vsum_sel)(VEC x, unsigned sel)
{
    R tmp[VW];
    VSTORE(tmp, x);
    double s = 0;
    for (int l = 0; l < VW; l++)
        if ((sel >> l) & 1) s += tmp[l];
    return s;
}

#define QT_ALLW ((unsigned)((1u << VW) - 1u))
#define QT_ALLW2 QT_ALLW

/* accumulate a high gate's vector accumulators into cross (double) */
static inline void KN(reduce_hacc)(const VEC *a, double *cc)
{
#if CPX
    for (int rc = 0; rc < 4; rc++) {
        cc[2 * rc] += KN(vsum_sel)(a[2 * rc], QT_ALLW);
        cc[2 * rc + 1] += KN(vsum_sel)(a[2 * rc + 1], (unsigned)VMASK0 & QT_ALLW)
                        - KN(vsum_sel)(a[2 * rc + 1], ~(unsigned)VMASK0 & QT_ALLW);
    }
#else
    for (int rc = 0; rc < 4; rc++) cc[2 * rc] += KN(vsum_sel)(a[rc], QT_ALLW);
#endif
}

static inline void KN(reduce_iacc)(const VEC *a, int P, double *cc)
{
    const unsigned b1 = (unsigned)VMASKP(P) & QT_ALLW, b0 = ~b1 & QT_ALLW;
#if CPX
    const unsigned od = (unsigned)VMASK0 & QT_ALLW, ev = ~od & QT_ALLW;
    /* a[0] = y*x, a[1] = y*swap(x), a[2] = y*partner(x), a[3] = y*swap(partner(x)) */
    cc[0] += KN(vsum_sel)(a[0], b0);                                      /* r0c0 */
    cc[1] += KN(vsum_sel)(a[1], b0 & od) - KN(vsum_sel)(a[1], b0 & ev);
    cc[6] += KN(vsum_sel)(a[0], b1);                                      /* r1c1 */
    cc[7] += KN(vsum_sel)(a[1], b1 & od) - KN(vsum_sel)(a[1], b1 & ev);
    cc[2] += KN(vsum_sel)(a[2], b0);                                      /* r0c1 */
    cc[3] += KN(vsum_sel)(a[3], b0 & od) - KN(vsum_sel)(a[3], b0 & ev);
    cc[4] += KN(vsum_sel)(a[2], b1);                                      /* r1c0 */
    cc[5] += KN(vsum_sel)(a[3], b1 & od) - KN(vsum_sel)(a[3], b1 & ev);
#else
    cc[0] += KN(vsum_sel)(a[0], b0);
    cc[6] += KN(vsum_sel)(a[0], b1);
    cc[2] += KN(vsum_sel)(a[1], b0);
    cc[4] += KN(vsum_sel)(a[1], b1);
#endif
}

static inline __attribute__((always_inline)) void
KN(grp_adj)(R *restrict ps, R *restrict gs, size_t nvec, const int K, const int *vb,
            VEC (*hc)[NHC], VEC (*accout)[NACC])
{
    size_t voff[16];
    for (int j = 0; j < (1 << K); j++) {
        size_t o = 0;
        for (int i = 0; i < K; i++)
            if ((j >> i) & 1) o += (size_t)1 << vb[i];
        voff[j] = o * VW;
    }
    VEC acc[4][NACC];
    _Pragma("GCC unroll 4")
    for (int i = 0; i < K; i++)
        _Pragma("GCC unroll 8")
        for (int e = 0; e < NACC; e++) acc[i][e] = VZERO();
    const size_t nb = nvec >> K;
    for (size_t t = 0; t < nb; t++) {
        size_t base = t;
        for (int i = 0; i < K; i++) base = qt_ins0(base, vb[i]);
        R *p = ps + base * VW;
        R *q = gs + base * VW;
        VEC x[8], y[8];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < (1 << K); j++) {
            x[j] = VLOAD(p + voff[j]);
            y[j] = VLOAD(q + voff[j]);
        }
        _Pragma("GCC unroll 4")
        for (int i = 0; i < K; i++) {
            _Pragma("GCC unroll 8")
            for (int j = 0; j < (1 << K); j++) {
                if ((j >> i) & 1) continue;
                const int j1 = j | (1 << i);
#if CPX
                const VEC s0 = VSWAP(x[j]), s1 = VSWAP(x[j1]);
                acc[i][0] = VFMA(y[j], x[j], acc[i][0]);
                acc[i][1] = VFMA(y[j], s0, acc[i][1]);
                acc[i][2] = VFMA(y[j], x[j1], acc[i][2]);
                acc[i][3] = VFMA(y[j], s1, acc[i][3]);
                acc[i][4] = VFMA(y[j1], x[j], acc[i][4]);
                acc[i][5] = VFMA(y[j1], s0, acc[i][5]);
                acc[i][6] = VFMA(y[j1], x[j1], acc[i][6]);
                acc[i][7] = VFMA(y[j1], s1, acc[i][7]);
#else
                acc[i][0] = VFMA(y[j], x[j], acc[i][0]);
                acc[i][1] = VFMA(y[j], x[j1], acc[i][1]);
                acc[i][2] = VFMA(y[j1], x[j], acc[i][2]);
                acc[i][3] = VFMA(y[j1], x[j1], acc[i][3]);
#endif
                KN(hpair)(&x[j], &x[j1], hc[i]);
                KN(hpair)(&y[j], &y[j1], hc[i]);
            }
        }
        _Pragma("GCC unroll 8")
        for (int j = 0; j < (1 << K); j++) {
            VSTORE(p + voff[j], x[j]);
            VSTORE(q + voff[j], y[j]);
        }
    }
    for (int i = 0; i < K; i++)
        for (int e = 0; e < NACC; e++) accout[i][e] = acc[i][e];
}

static void KN(grp_adj_in)(R *restrict ps, R *restrict gs, size_t nvec, int inmask,
                           VEC (*ic)[NIC], VEC (*accout)[NIA])
{
    VEC acc[VLOGW][NIA];
    for (int P = 0; P < VLOGW; P++)
        for (int e = 0; e < NIA; e++) acc[P][e] = VZERO();
    for (size_t t = 0; t < nvec; t++) {
        VEC x = VLOAD(ps + t * VW), y = VLOAD(gs + t * VW);
        _Pragma("GCC unroll 4")
        for (int P = PMIN; P < VLOGW; P++) {
            if (!((inmask >> P) & 1)) continue;
            const VEC px = KN(vpartner)(x, P);
            const VEC py = KN(vpartner)(y, P);
            const VEC *c = ic[P];
#if CPX
            const VEC sx = VSWAP(x), psx = KN(vpartner)(sx, P);
            const VEC sy = VSWAP(y), psy = KN(vpartner)(sy, P);
            acc[P][0] = VFMA(y, x, acc[P][0]);
            acc[P][1] = VFMA(y, sx, acc[P][1]);
            acc[P][2] = VFMA(y, px, acc[P][2]);
            acc[P][3] = VFMA(y, psx, acc[P][3]);
            x = VFMA(c[3], psx, VFMA(c[2], px, VFMA(c[1], sx, VMUL(c[0], x))));
            y = VFMA(c[3], psy, VFMA(c[2], py, VFMA(c[1], sy, VMUL(c[0], y))));
#else
            acc[P][0] = VFMA(y, x, acc[P][0]);
            acc[P][1] = VFMA(y, px, acc[P][1]);
            x = VFMA(c[1], px, VMUL(c[0], x));
            y = VFMA(c[1], py, VMUL(c[0], y));
#endif
        }
        VSTORE(ps + t * VW, x);
        VSTORE(gs + t * VW, y);
    }
    for (int P = 0; P < VLOGW; P++)
        for (int e = 0; e < NIA; e++) accout[P][e] = acc[P][e];
}

static void KN(tile_adj_vec)(R *restrict ps, R *restrict gs, int T, int ng, const int *lbits,
                             const int *gidx, const R *mats, double *cross)
{
    const size_t nvec = (size_t)1 << (T + CPX - VLOGW);
    VEC hc[QT_MAXQ][NHC];
    VEC ic[VLOGW][NIC];
    int hb[QT_MAXQ], hg[QT_MAXQ], ig[VLOGW], inmask;
    const int nh = KN(classify)(T, ng, lbits, gidx, mats, 1, hb, hg, hc, &inmask, ig, ic);
    int pos = 0;
    const int kmax = qt_tune.kb;
    while (pos < nh) {
        int K = nh - pos;
        if (K > kmax) K = kmax;
        int vb[4];
        VEC acc[4][NACC];
        for (int i = 0; i < K; i++) vb[i] = hb[pos + i] - VLOGW;
        switch (K) {
        case 1: KN(grp_adj)(ps, gs, nvec, 1, vb, hc + pos, acc); break;
        case 2: KN(grp_adj)(ps, gs, nvec, 2, vb, hc + pos, acc); break;
        default: KN(grp_adj)(ps, gs, nvec, 3, vb, hc + pos, acc); break;
        }
        for (int i = 0; i < K; i++) KN(reduce_hacc)(acc[i], cross + (size_t)hg[pos + i] * 8);
        pos += K;
    }
    if (inmask) {
        VEC acc[VLOGW][NIA];
        KN(grp_adj_in)(ps, gs, nvec, inmask, ic, acc);
        for (int P = PMIN; P < VLOGW; P++)
            if ((inmask >> P) & 1) KN(reduce_iacc)(acc[P], P, cross + (size_t)ig[P] * 8);
    }
}

/* ------------------------------------------------------------------------- */
/* factored path: each row of a gate is  pivot * (x_pivot + r * x_other)      */
/* (|r| <= 2), one FMA per output; the pivots form a diagonal that is applied */
/* once per tile pass.  For the adjoint the pivots of a unitary gate have     */
/* equal modulus, so the partially processed psi and g carry the same         */
/* constant-modulus diagonal and the cross sums only need a scalar fix-up.    */
/* ------------------------------------------------------------------------- */
#if CPX
#define NHR 4 /* R0r R0i R1r R1i */
#define NIR 2 /* Rlr Rli */
#else
#define NHR 2 /* R0 R1 */
#define NIR 1 /* Rl */
#endif

typedef struct {
    int T, nh, inmask, insw, dl_trivial;
    int hb[QT_MAXQ], hg[QT_MAXQ], hsw[QT_MAXQ], ig[VLOGW];
    double corr_h[QT_MAXQ], corr_i[VLOGW];
    VEC hr[QT_MAXQ][NHR];
    VEC ir[VLOGW][NIR];
    VEC dl[2]; /* real: Dl; complex: Dl re (dup), Dl im (-,+ pattern) */
    VEC sgn;   /* complex: (-1, +1, ...) */
    R sv[];    /* per vector index scale: real nvec, complex 2*nvec (re, im) */
} KN(fctx);

static size_t KN(fctx_bytes)(int T)
{
    size_t nvec = (T + CPX >= VLOGW) ? ((size_t)1 << (T + CPX - VLOGW)) : 1;
    return sizeof(KN(fctx)) + nvec * NR * sizeof(R) + 64;
}

/* complex helpers on (re, im) doubles */
typedef struct { double re, im; } KN(cd);
static inline KN(cd) KN(cmul)(KN(cd) a, KN(cd) b)
{
    KN(cd) r = {a.re * b.re - a.im * b.im, a.re * b.im + a.im * b.re};
    return r;
}
static inline double KN(cabs2)(KN(cd) a) { return a.re * a.re + a.im * a.im; }
static inline KN(cd) KN(cdiv)(KN(cd) a, KN(cd) b)
{
    double d = KN(cabs2)(b);
    KN(cd) r = {(a.re * b.re + a.im * b.im) / d, (a.im * b.re - a.re * b.im) / d};
    return r;
}

/* factor one gate; returns 0 if not representable. p[2], r[2] complex; *sw partner flag */
static int KN(factor_gate)(const R *m, int adj, KN(cd) *p, KN(cd) *r, int *sw)
{
    KN(cd) e[4];
    for (int i = 0; i < 4; i++) {
        e[i].re = (double)m[2 * i];
        e[i].im = (double)m[2 * i + 1];
    }
    /* e[0]=m00 e[1]=m01 e[2]=m10 e[3]=m11 */
    const double a00 = KN(cabs2)(e[0]), a01 = KN(cabs2)(e[1]), a10 = KN(cabs2)(e[2]),
                 a11 = KN(cabs2)(e[3]);
    const double mself = a00 < a11 ? a00 : a11, mpart = a01 < a10 ? a01 : a10;
    const int s = mpart > mself;
    const KN(cd) piv[2] = {s ? e[1] : e[0], s ? e[2] : e[3]};
    const KN(cd) oth[2] = {s ? e[0] : e[1], s ? e[3] : e[2]};
    for (int row = 0; row < 2; row++) {
        const double ap = KN(cabs2)(piv[row]), ao = KN(cabs2)(oth[row]);
        if (ap == 0.0) {
            if (ao != 0.0 || adj) return 0;
            p[row].re = p[row].im = 0.0;
            r[row].re = r[row].im = 0.0;
            continue;
        }
        if (ao > 4.0 * ap) return 0; /* |r| > 2 */
        p[row] = piv[row];
        r[row] = KN(cdiv)(oth[row], piv[row]);
    }
    if (adj) { /* equal-modulus pivots (unitary) required for the scalar cross fix-up */
        const double q0 = KN(cabs2)(p[0]), q1 = KN(cabs2)(p[1]);
        const double tol = sizeof(R) == 4 ? 1e-5 : 1e-12;
        if (!(q0 > 0.0) || fabs(q0 - q1) > tol * (q0 > q1 ? q0 : q1)) return 0;
    }
    *sw = s;
    return 1;
}

/* prepare a factored context; returns 0 if some gate is not representable */
static int KN(fprep)(void *vctx, int T, int ng, const int *lbits, const int *gidx,
                     const void *vmats, int herm)
{
    KN(fctx) *c = (KN(fctx) *)vctx;
    const R *mats = (const R *)vmats;
    if (T + CPX < VLOGW) return 0;
    const int LB = T + CPX;
    c->T = T;
    c->nh = 0;
    c->inmask = 0;
    c->insw = 0;
    KN(cd) hp[QT_MAXQ][2], ip[VLOGW][2];
    for (int g = 0; g < ng; g++) {
        R m[8];
        KN(cd) p[2], r[2];
        int sw;
        KN(load_mat)(mats + (size_t)gidx[g] * 4 * NR, herm, m);
        if (!KN(factor_gate)(m, herm, p, r, &sw)) return 0;
        const int P = lbits[g] + CPX;
        if (P < VLOGW) {
            const VMASK_T k = VMASKP(P);
            c->inmask |= 1 << P;
            c->insw |= sw << P;
            c->ig[P] = gidx[g];
            ip[P][0] = p[0];
            ip[P][1] = p[1];
#if CPX
            c->ir[P][0] = VBLEND(k, VSET1((R)r[0].re), VSET1((R)r[1].re));
            c->ir[P][1] = VBLEND(k, KN(vimag)((R)r[0].im), KN(vimag)((R)r[1].im));
#else
            c->ir[P][0] = VBLEND(k, VSET1((R)r[0].re), VSET1((R)r[1].re));
#endif
        } else {
            int pos = c->nh++;
            while (pos > 0 && c->hb[pos - 1] > P) {
                c->hb[pos] = c->hb[pos - 1];
                c->hg[pos] = c->hg[pos - 1];
                c->hsw[pos] = c->hsw[pos - 1];
                hp[pos][0] = hp[pos - 1][0];
                hp[pos][1] = hp[pos - 1][1];
                for (int e = 0; e < NHR; e++) c->hr[pos][e] = c->hr[pos - 1][e];
                pos--;
            }
            c->hb[pos] = P;
            c->hg[pos] = gidx[g];
            c->hsw[pos] = sw;
            hp[pos][0] = p[0];
            hp[pos][1] = p[1];
#if CPX
            c->hr[pos][0] = VSET1((R)r[0].re);
            c->hr[pos][1] = KN(vimag)((R)r[0].im);
            c->hr[pos][2] = VSET1((R)r[1].re);
            c->hr[pos][3] = KN(vimag)((R)r[1].im);
#else
            c->hr[pos][0] = VSET1((R)r[0].re);
            c->hr[pos][1] = VSET1((R)r[1].re);
#endif
        }
    }
    /* cross fix-up factors in processing order: high gates ascending, then in-register */
    double run = 1.0;
    for (int i = 0; i < c->nh; i++) {
        c->corr_h[i] = run;
        run *= KN(cabs2)(hp[i][0]);
    }
    for (int P = 0; P < VLOGW; P++)
        if ((c->inmask >> P) & 1) {
            c->corr_i[P] = run;
            run *= KN(cabs2)(ip[P][0]);
        }
    /* lane diagonal of the in-register gates */
    {
        R dre[VW], dim[VW];
        int triv = 1;
        for (int l = 0; l < VW; l++) {
            KN(cd) d = {1.0, 0.0};
            for (int P = PMIN; P < VLOGW; P++)
                if ((c->inmask >> P) & 1) d = KN(cmul)(d, ip[P][(l >> P) & 1]);
            dre[l] = (R)d.re;
            dim[l] = (R)((CPX && (l & 1) == 0) ? -d.im : d.im);
            if (d.re != 1.0 || d.im != 0.0) triv = 0;
        }
        c->dl[0] = VLOAD(dre);
        c->dl[1] = VLOAD(dim);
        c->dl_trivial = triv;
        c->sgn = KN(vimag)((R)1);
    }
    /* per-vector scale table (doubling over vector-index bits), built in place */
    {
        const int nb = LB - VLOGW;
        R *sv = c->sv;
        sv[0] = 1;
#if CPX
        sv[1] = 0;
#endif
        int hpos = 0;
        for (int b = 0; b < nb; b++) {
            const size_t h = (size_t)1 << b;
            if (hpos < c->nh && c->hb[hpos] - VLOGW == b) {
                const KN(cd) p0 = hp[hpos][0], p1 = hp[hpos][1];
                for (size_t v = 0; v < h; v++) {
#if CPX
                    const KN(cd) t = {sv[2 * v], sv[2 * v + 1]};
                    const KN(cd) u1 = KN(cmul)(t, p1), u0 = KN(cmul)(t, p0);
                    sv[2 * (v + h)] = (R)u1.re;
                    sv[2 * (v + h) + 1] = (R)u1.im;
                    sv[2 * v] = (R)u0.re;
                    sv[2 * v + 1] = (R)u0.im;
#else
                    const double t = sv[v];
                    sv[v + h] = (R)(t * p1.re);
                    sv[v] = (R)(t * p0.re);
#endif
                }
                hpos++;
            } else {
                memcpy(sv + h * NR, sv, h * NR * sizeof(R));
            }
        }
    }
    return 1;
}

/* y <- V (*) y for a lane-wise complex vector given as (re dup, im pattern) */
static inline __attribute__((always_inline)) VEC KN(cmulv)(VEC vr, VEC vi, VEC y)
{
    return VFMA(vr, y, VMUL(vi, VSWAP(y)));
}

static inline __attribute__((always_inline)) VEC KN(fscale)(const KN(fctx) *c, VEC y, size_t vidx)
{
#if CPX
    if (!c->dl_trivial) y = KN(cmulv)(c->dl[0], c->dl[1], y);
    return KN(cmulv)(VSET1(c->sv[2 * vidx]), VMUL(VSET1(c->sv[2 * vidx + 1]), c->sgn), y);
#else
    if (!c->dl_trivial) return VMUL(y, VMUL(c->dl[0], VSET1(c->sv[vidx])));
    return VMUL(y, VSET1(c->sv[vidx]));
#endif
}

/* factored high pair; SW: partner-pivot form */
static inline __attribute__((always_inline)) void KN(fpair)(VEC *x0, VEC *x1, const VEC *r, const int sw)
{
    const VEC a = *x0, b = *x1;
#if CPX
    const VEC sa = VSWAP(a), sb = VSWAP(b);
    if (!sw) {
        *x0 = VFMA(r[0], b, VFMA(r[1], sb, a));
        *x1 = VFMA(r[2], a, VFMA(r[3], sa, b));
    } else {
        *x0 = VFMA(r[0], a, VFMA(r[1], sa, b));
        *x1 = VFMA(r[2], b, VFMA(r[3], sb, a));
    }
#else
    if (!sw) {
        *x0 = VFMA(r[0], b, a);
        *x1 = VFMA(r[1], a, b);
    } else {
        *x0 = VFMA(r[0], a, b);
        *x1 = VFMA(r[1], b, a);
    }
#endif
}

static inline __attribute__((always_inline)) VEC KN(finreg_one)(VEC x, VEC px, int sw, const VEC *r)
{
#if CPX
    if (!sw) return VFMA(r[0], px, VFMA(r[1], VSWAP(px), x));
    return VFMA(r[0], x, VFMA(r[1], VSWAP(x), px));
#else
    if (!sw) return VFMA(r[0], px, x);
    return VFMA(r[0], x, px);
#endif
}

static inline __attribute__((always_inline)) VEC KN(finreg_apply)(const KN(fctx) *c, VEC x)
{
    _Pragma("GCC unroll 4")
    for (int P = PMIN; P < VLOGW; P++)
        if ((c->inmask >> P) & 1)
            x = KN(finreg_one)(x, KN(vpartner)(x, P), (c->insw >> P) & 1, c->ir[P]);
    return x;
}

static inline __attribute__((always_inline)) void
KN(fgrp_apply)(const KN(fctx) *c, R *restrict buf, size_t nvec, const int K, const int SW,
               const int *vb, const VEC (*hr)[NHR], int inreg, int scale)
{
    size_t vo[16];
    for (int j = 0; j < (1 << K); j++) {
        size_t o = 0;
        for (int i = 0; i < K; i++)
            if ((j >> i) & 1) o += (size_t)1 << vb[i];
        vo[j] = o;
    }
    const size_t nb = nvec >> K;
    for (size_t t = 0; t < nb; t++) {
        size_t base = t;
        for (int i = 0; i < K; i++) base = qt_ins0(base, vb[i]);
        R *p = buf + base * VW;
        VEC v[16];
        _Pragma("GCC unroll 16")
        for (int j = 0; j < (1 << K); j++) v[j] = VLOAD(p + vo[j] * VW);
        if (inreg) {
            _Pragma("GCC unroll 16")
            for (int j = 0; j < (1 << K); j++) v[j] = KN(finreg_apply)(c, v[j]);
        }
        _Pragma("GCC unroll 4")
        for (int i = 0; i < K; i++) {
            _Pragma("GCC unroll 16")
            for (int j = 0; j < (1 << K); j++) {
                if ((j >> i) & 1) continue;
                KN(fpair)(&v[j], &v[j | (1 << i)], hr[i], (SW >> i) & 1);
            }
        }
        if (scale) {
            _Pragma("GCC unroll 16")
            for (int j = 0; j < (1 << K); j++) v[j] = KN(fscale)(c, v[j], base + vo[j]);
        }
        _Pragma("GCC unroll 16")
        for (int j = 0; j < (1 << K); j++) VSTORE(p + vo[j] * VW, v[j]);
    }
}

#define QT_FA(KK, SS) KN(fgrp_apply)(c, buf, nvec, KK, SS, vb, (const VEC(*)[NHR])c->hr + pos, inreg, scale)
#define QT_SW1(F, KK) case 0: F(KK, 0); break; case 1: F(KK, 1); break;
#define QT_SW2(F, KK) QT_SW1(F, KK) case 2: F(KK, 2); break; case 3: F(KK, 3); break;
#define QT_SW3(F, KK) QT_SW2(F, KK) case 4: F(KK, 4); break; case 5: F(KK, 5); break; \
    case 6: F(KK, 6); break; case 7: F(KK, 7); break;
#define QT_SW4(F, KK) QT_SW3(F, KK) case 8: F(KK, 8); break; case 9: F(KK, 9); break; \
    case 10: F(KK, 10); break; case 11: F(KK, 11); break; case 12: F(KK, 12); break; \
    case 13: F(KK, 13); break; case 14: F(KK, 14); break; default: F(KK, 15); break;

static void KN(frun_apply)(const void *vctx, void *vbuf)
{
    const KN(fctx) *c = (const KN(fctx) *)vctx;
    R *buf = (R *)vbuf;
    const size_t nvec = (size_t)1 << (c->T + CPX - VLOGW);
    if (c->nh == 0) {
        int vb[1] = {0}, pos = 0, inreg = c->inmask != 0, scale = 1;
        (void)vb;
        (void)pos;
        QT_FA(0, 0);
        return;
    }
    int pos = 0;
    const int kmax = qt_tune.ka;
    while (pos < c->nh) {
        int K = c->nh - pos;
        if (K > kmax) K = kmax;
        int vb[4], sw = 0;
        for (int i = 0; i < K; i++) {
            vb[i] = c->hb[pos + i] - VLOGW;
            sw |= c->hsw[pos + i] << i;
        }
        const int inreg = pos == 0 && c->inmask != 0;
        const int scale = pos + K == c->nh;
        switch (K) {
        case 1: switch (sw) { QT_SW1(QT_FA, 1) } break;
        case 2: switch (sw) { QT_SW2(QT_FA, 2) } break;
        case 3: switch (sw) { QT_SW3(QT_FA, 3) } break;
        default: switch (sw) { QT_SW4(QT_FA, 4) } break;
        }
        pos += K;
    }
}
#undef QT_FA

/* ---- factored adjoint ---- */
static inline __attribute__((always_inline)) void
KN(fgrp_adj)(const KN(fctx) *c, R *restrict ps, R *restrict gs, size_t nvec, const int K,
             const int SW, const int *vb, const VEC (*hr)[NHR], int scale, VEC (*accout)[NACC])
{
    size_t vo[8];
    for (int j = 0; j < (1 << K); j++) {
        size_t o = 0;
        for (int i = 0; i < K; i++)
            if ((j >> i) & 1) o += (size_t)1 << vb[i];
        vo[j] = o;
    }
    VEC acc[4][NACC];
    _Pragma("GCC unroll 4")
    for (int i = 0; i < K; i++)
        _Pragma("GCC unroll 8")
        for (int e = 0; e < NACC; e++) acc[i][e] = VZERO();
    const size_t nb = nvec >> K;
    for (size_t t = 0; t < nb; t++) {
        size_t base = t;
        for (int i = 0; i < K; i++) base = qt_ins0(base, vb[i]);
        R *p = ps + base * VW;
        R *q = gs + base * VW;
        VEC x[8], y[8];
        _Pragma("GCC unroll 8")
        for (int j = 0; j < (1 << K); j++) {
            x[j] = VLOAD(p + vo[j] * VW);
            y[j] = VLOAD(q + vo[j] * VW);
        }
        _Pragma("GCC unroll 4")
        for (int i = 0; i < K; i++) {
            _Pragma("GCC unroll 8")
            for (int j = 0; j < (1 << K); j++) {
                if ((j >> i) & 1) continue;
                const int j1 = j | (1 << i);
#if CPX
                const VEC s0 = VSWAP(x[j]), s1 = VSWAP(x[j1]);
                acc[i][0] = VFMA(y[j], x[j], acc[i][0]);
                acc[i][1] = VFMA(y[j], s0, acc[i][1]);
                acc[i][2] = VFMA(y[j], x[j1], acc[i][2]);
                acc[i][3] = VFMA(y[j], s1, acc[i][3]);
                acc[i][4] = VFMA(y[j1], x[j], acc[i][4]);
                acc[i][5] = VFMA(y[j1], s0, acc[i][5]);
                acc[i][6] = VFMA(y[j1], x[j1], acc[i][6]);
                acc[i][7] = VFMA(y[j1], s1, acc[i][7]);
#else
                acc[i][0] = VFMA(y[j], x[j], acc[i][0]);
                acc[i][1] = VFMA(y[j], x[j1], acc[i][1]);
                acc[i][2] = VFMA(y[j1], x[j], acc[i][2]);
                acc[i][3] = VFMA(y[j1], x[j1], acc[i][3]);
#endif
                KN(fpair)(&x[j], &x[j1], hr[i], (SW >> i) & 1);
                KN(fpair)(&y[j], &y[j1], hr[i], (SW >> i) & 1);
            }
        }
        if (scale) {
            _Pragma("GCC unroll 8")
            for (int j = 0; j < (1 << K); j++) {
                x[j] = KN(fscale)(c, x[j], base + vo[j]);
                y[j] = KN(fscale)(c, y[j], base + vo[j]);
            }
        }
        _Pragma("GCC unroll 8")
        for (int j = 0; j < (1 << K); j++) {
            VSTORE(p + vo[j] * VW, x[j]);
            VSTORE(q + vo[j] * VW, y[j]);
        }
    }
    for (int i = 0; i < K; i++)
        for (int e = 0; e < NACC; e++) accout[i][e] = acc[i][e];
}

static void KN(fgrp_adj_in)(const KN(fctx) *c, R *restrict ps, R *restrict gs, size_t nvec,
                            VEC (*accout)[NIA])
{
    VEC acc[VLOGW][NIA];
    for (int P = 0; P < VLOGW; P++)
        for (int e = 0; e < NIA; e++) acc[P][e] = VZERO();
    const int inmask = c->inmask, insw = c->insw;
    for (size_t t = 0; t < nvec; t++) {
        VEC x = VLOAD(ps + t * VW), y = VLOAD(gs + t * VW);
        _Pragma("GCC unroll 4")
        for (int P = PMIN; P < VLOGW; P++) {
            if (!((inmask >> P) & 1)) continue;
            const VEC px = KN(vpartner)(x, P);
            const VEC py = KN(vpartner)(y, P);
#if CPX
            const VEC sx = VSWAP(x), psx = KN(vpartner)(sx, P);
            acc[P][0] = VFMA(y, x, acc[P][0]);
            acc[P][1] = VFMA(y, sx, acc[P][1]);
            acc[P][2] = VFMA(y, px, acc[P][2]);
            acc[P][3] = VFMA(y, psx, acc[P][3]);
#else
            acc[P][0] = VFMA(y, x, acc[P][0]);
            acc[P][1] = VFMA(y, px, acc[P][1]);
#endif
            const int sw = (insw >> P) & 1;
            x = KN(finreg_one)(x, px, sw, c->ir[P]);
            y = KN(finreg_one)(y, py, sw, c->ir[P]);
        }
        x = KN(fscale)(c, x, t);
        y = KN(fscale)(c, y, t);
        VSTORE(ps + t * VW, x);
        VSTORE(gs + t * VW, y);
    }
    for (int P = 0; P < VLOGW; P++)
        for (int e = 0; e < NIA; e++) accout[P][e] = acc[P][e];
}

#define QT_FB(KK, SS) KN(fgrp_adj)(c, ps, gs, nvec, KK, SS, vb, (const VEC(*)[NHR])c->hr + pos, scale, acc)

/* lane accumulators: lacc[(gate * 8 + slot) * 16 + lane] (double) */
static inline void KN(lacc_add)(double *dst, VEC x, double scale)
{
    const __m512d sc = _mm512_set1_pd(scale);
#if VW == 16
    const __m512d lo = _mm512_cvtps_pd(_mm512_castps512_ps256(x));
    const __m512d hi = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
    _mm512_storeu_pd(dst, _mm512_fmadd_pd(lo, sc, _mm512_loadu_pd(dst)));
    _mm512_storeu_pd(dst + 8, _mm512_fmadd_pd(hi, sc, _mm512_loadu_pd(dst + 8)));
#else
    _mm512_storeu_pd(dst, _mm512_fmadd_pd(x, sc, _mm512_loadu_pd(dst)));
#endif
}

static void KN(frun_adj)(const void *vctx, void *vps, void *vgs, double *lacc)
{
    const KN(fctx) *c = (const KN(fctx) *)vctx;
    R *ps = (R *)vps, *gs = (R *)vgs;
    const size_t nvec = (size_t)1 << (c->T + CPX - VLOGW);
    int pos = 0;
    const int kmax = qt_tune.kb;
    while (pos < c->nh) {
        int K = c->nh - pos;
        if (K > kmax) K = kmax;
        int vb[4], sw = 0;
        VEC acc[4][NACC];
        memset(acc, 0, sizeof(acc)); /* (fully written by fgrp_adj; keeps -Wmaybe-uninitialized quiet) */
        for (int i = 0; i < K; i++) {
            vb[i] = c->hb[pos + i] - VLOGW;
            sw |= c->hsw[pos + i] << i;
        }
        const int scale = (pos + K == c->nh) && c->inmask == 0;
        switch (K) {
        case 1: switch (sw) { QT_SW1(QT_FB, 1) } break;
        case 2: switch (sw) { QT_SW2(QT_FB, 2) } break;
        default: switch (sw) { QT_SW3(QT_FB, 3) } break;
        }
        for (int i = 0; i < K; i++)
            for (int e = 0; e < NACC; e++)
                KN(lacc_add)(lacc + ((size_t)c->hg[pos + i] * 8 + e) * 16, acc[i][e], c->corr_h[pos + i]);
        pos += K;
    }
    if (c->inmask) {
        VEC acc[VLOGW][NIA];
        KN(fgrp_adj_in)(c, ps, gs, nvec, acc);
        for (int P = PMIN; P < VLOGW; P++)
            if ((c->inmask >> P) & 1)
                for (int e = 0; e < NIA; e++)
                    KN(lacc_add)(lacc + ((size_t)c->ig[P] * 8 + e) * 16, acc[P][e], c->corr_i[P]);
    }
}

/* fold the lane accumulators of the context's gates into cross (gate * 8 layout), zero them */
static void KN(ffinal)(const void *vctx, double *lacc, double *cross)
{
    const KN(fctx) *c = (const KN(fctx) *)vctx;
    const unsigned odd = (unsigned)VMASK0 & QT_ALLW2;
    (void)odd;
    for (int i = 0; i < c->nh; i++) {
        double *a = lacc + (size_t)c->hg[i] * 8 * 16, *cc = cross + (size_t)c->hg[i] * 8;
        for (int rc = 0; rc < 4; rc++) {
#if CPX
            const double *re = a + (2 * rc) * 16, *im = a + (2 * rc + 1) * 16;
            for (int l = 0; l < VW; l++) {
                cc[2 * rc] += re[l];
                cc[2 * rc + 1] += ((odd >> l) & 1) ? im[l] : -im[l];
            }
#else
            const double *re = a + rc * 16;
            for (int l = 0; l < VW; l++) cc[2 * rc] += re[l];
#endif
        }
        memset(a, 0, sizeof(double) * 8 * 16);
    }
    for (int P = PMIN; P < VLOGW; P++) {
        if (!((c->inmask >> P) & 1)) continue;
        double *a = lacc + (size_t)c->ig[P] * 8 * 16, *cc = cross + (size_t)c->ig[P] * 8;
        const unsigned b1 = (unsigned)VMASKP(P) & QT_ALLW2;
        for (int l = 0; l < VW; l++) {
            const int hb = (b1 >> l) & 1;
#if CPX
            /* slots: 0 y*x, 1 y*swap(x), 2 y*partner(x), 3 y*swap(partner(x)) */
            const double sg = ((odd >> l) & 1) ? 1.0 : -1.0;
            double *d0 = cc + (hb ? 6 : 0), *d1 = cc + (hb ? 4 : 2);
            d0[0] += a[0 * 16 + l];
            d0[1] += sg * a[1 * 16 + l];
            d1[0] += a[2 * 16 + l];
            d1[1] += sg * a[3 * 16 + l];
#else
            cc[hb ? 6 : 0] += a[0 * 16 + l];
            cc[hb ? 4 : 2] += a[1 * 16 + l];
#endif
        }
        memset(a, 0, sizeof(double) * 8 * 16);
    }
}
#undef QT_FB
#undef QT_SW1
#undef QT_SW2
#undef QT_SW3
#undef QT_SW4
#undef NHR
#undef NIR

#undef NHC
#undef NIC
#undef NACC
#undef NIA
#undef PMIN
#undef QT_ALLW
#undef QT_ALLW2
#endif /* QT_AVX512 */

/* ------------------------------------------------------------------------- */
/* entry points (type-erased)                                                */
/* ------------------------------------------------------------------------- */

static void KN(tile_apply)(void *buf, int T, int ng, const int *lbits, const int *gidx,
                           const void *mats, int herm)
{
#if QT_AVX512
    if (T + CPX >= VLOGW) {
        KN(tile_apply_vec)((R *)buf, T, ng, lbits, gidx, (const R *)mats, herm);
        return;
    }
#endif
    KN(tile_apply_sc)((R *)buf, T, ng, lbits, gidx, (const R *)mats, herm);
}

static void KN(tile_adj)(void *ps, void *gs, int T, int ng, const int *lbits, const int *gidx,
                         const void *mats, double *cross)
{
#if QT_AVX512
    if (T + CPX >= VLOGW) {
        KN(tile_adj_vec)((R *)ps, (R *)gs, T, ng, lbits, gidx, (const R *)mats, cross);
        return;
    }
#endif
    KN(tile_adj_sc)((R *)ps, (R *)gs, T, ng, lbits, gidx, (const R *)mats, cross);
}

#if !QT_AVX512
static size_t KN(fctx_bytes)(int T) { (void)T; return 64; }
static int KN(fprep)(void *c, int T, int ng, const int *lbits, const int *gidx, const void *m, int h)
{
    (void)c; (void)T; (void)ng; (void)lbits; (void)gidx; (void)m; (void)h;
    return 0;
}
static void KN(frun_apply)(const void *c, void *b) { (void)c; (void)b; }
static void KN(frun_adj)(const void *c, void *p, void *g, double *x) { (void)c; (void)p; (void)g; (void)x; }
static void KN(ffinal)(const void *c, double *l, double *x) { (void)c; (void)l; (void)x; }
#endif

/* state *= d (d same element type) over [lo, hi) elements */
static void KN(diag_same)(R *restrict s, const R *restrict d, size_t lo, size_t hi)
{
#if CPX
    for (size_t k = lo; k < hi; k++) {
        const R a = s[2 * k], b = s[2 * k + 1], c = d[2 * k], e = d[2 * k + 1];
        s[2 * k] = a * c - b * e;
        s[2 * k + 1] = a * e + b * c;
    }
#else
    for (size_t k = lo; k < hi; k++) s[k] *= d[k];
#endif
}

#if CPX
/* complex state *= real d */
static void KN(diag_real)(R *restrict s, const R *restrict d, size_t lo, size_t hi)
{
    for (size_t k = lo; k < hi; k++) {
        s[2 * k] *= d[k];
        s[2 * k + 1] *= d[k];
    }
}
#endif

/* cross (double, ng*8 layout) -> output array of R, shape (nw, 2, 2) (complex: interleaved) */
static void KN(store_cross)(const double *c, void *out, int nw)
{
    R *o = (R *)out;
    for (int g = 0; g < nw; g++)
        for (int rc = 0; rc < 4; rc++) {
#if CPX
            o[(size_t)g * 8 + 2 * rc] = (R)c[(size_t)g * 8 + 2 * rc];
            o[(size_t)g * 8 + 2 * rc + 1] = (R)c[(size_t)g * 8 + 2 * rc + 1];
#else
            o[(size_t)g * 4 + rc] = (R)c[(size_t)g * 8 + 2 * rc];
#endif
        }
}

#undef KN
#undef NR
#undef QT_SMALL_MAP
