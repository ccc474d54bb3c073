/*
 * Gate-program kernels for one dtype; included by _qtnative.c with R (float/double), CPX (0/1)
 * and KSUF defined.  A gate program is a list of 1- and 2-qubit matrices applied gate by gate
 * to one sample's state, which is small (a few KiB for the 6-12 qubit circuits this serves) and
 * stays in L1/L2 for the whole program.  Plain C loops; the compiler vectorises the inner ones.
 *
 * Complex numbers are interleaved (re, im).  Matrices are row-major 2x2 or 4x4.
 * Adjoint step of one gate psi_after = M phi:  phi = M^H psi_after, g_before = M^H g_after,
 * and the gradient dL/dM = sum g_after phi^H (torch's convention: g = dL/d conj(psi)).
 */

#define GP(name) QT_CAT(name, KSUF)

#if CPX
#define GP_NR 2
#else
#define GP_NR 1
#endif

/* y = M x for a 2x2 matrix on bit sb */
static void GP(gp_apply1)(R *s, size_t N, int sb, const R *m)
{
    const size_t st = (size_t)1 << sb;
#if CPX
    const R ar = m[0], ai = m[1], br = m[2], bi = m[3], cr = m[4], ci = m[5], dr = m[6], di = m[7];
    for (size_t h = 0; h < N; h += 2 * st) {
        R *restrict p = s + 2 * h, *restrict q = s + 2 * (h + st);
        for (size_t l = 0; l < st; l++) {
            const R xr = p[2 * l], xi = p[2 * l + 1], yr = q[2 * l], yi = q[2 * l + 1];
            p[2 * l] = ar * xr - ai * xi + br * yr - bi * yi;
            p[2 * l + 1] = ar * xi + ai * xr + br * yi + bi * yr;
            q[2 * l] = cr * xr - ci * xi + dr * yr - di * yi;
            q[2 * l + 1] = cr * xi + ci * xr + dr * yi + di * yr;
        }
    }
#else
    const R a = m[0], b = m[1], c = m[2], d = m[3];
    for (size_t h = 0; h < N; h += 2 * st) {
        R *restrict p = s + h, *restrict q = s + h + st;
        for (size_t l = 0; l < st; l++) {
            const R x = p[l], y = q[l];
            p[l] = a * x + b * y;
            q[l] = c * x + d * y;
        }
    }
#endif
}

/* adjoint of gp_apply1 on psi and g; adds dL/dM to acc (4 values, x2 for complex) when given */
static void GP(gp_adj1)(R *psi, R *g, size_t N, int sb, const R *m, double *acc)
{
    const size_t st = (size_t)1 << sb;
#if CPX
    /* M^H = [[a*, c*], [b*, d*]] */
    const R ar = m[0], ai = -m[1], br = m[4], bi = -m[5], cr = m[2], ci = -m[3], dr = m[6], di = -m[7];
    double c00r = 0, c00i = 0, c01r = 0, c01i = 0, c10r = 0, c10i = 0, c11r = 0, c11i = 0;
    for (size_t h = 0; h < N; h += 2 * st) {
        R *restrict p = psi + 2 * h, *restrict q = psi + 2 * (h + st);
        R *restrict u = g + 2 * h, *restrict v = g + 2 * (h + st);
        for (size_t l = 0; l < st; l++) {
            const R xr = p[2 * l], xi = p[2 * l + 1], yr = q[2 * l], yi = q[2 * l + 1];
            const R f0r = ar * xr - ai * xi + br * yr - bi * yi, f0i = ar * xi + ai * xr + br * yi + bi * yr;
            const R f1r = cr * xr - ci * xi + dr * yr - di * yi, f1i = cr * xi + ci * xr + dr * yi + di * yr;
            const R g0r = u[2 * l], g0i = u[2 * l + 1], g1r = v[2 * l], g1i = v[2 * l + 1];
            if (acc) { /* g_r * conj(phi_c) */
                c00r += g0r * f0r + g0i * f0i; c00i += g0i * f0r - g0r * f0i;
                c01r += g0r * f1r + g0i * f1i; c01i += g0i * f1r - g0r * f1i;
                c10r += g1r * f0r + g1i * f0i; c10i += g1i * f0r - g1r * f0i;
                c11r += g1r * f1r + g1i * f1i; c11i += g1i * f1r - g1r * f1i;
            }
            p[2 * l] = f0r; p[2 * l + 1] = f0i; q[2 * l] = f1r; q[2 * l + 1] = f1i;
            u[2 * l] = ar * g0r - ai * g0i + br * g1r - bi * g1i;
            u[2 * l + 1] = ar * g0i + ai * g0r + br * g1i + bi * g1r;
            v[2 * l] = cr * g0r - ci * g0i + dr * g1r - di * g1i;
            v[2 * l + 1] = cr * g0i + ci * g0r + dr * g1i + di * g1r;
        }
    }
    if (acc) {
        acc[0] += c00r; acc[1] += c00i; acc[2] += c01r; acc[3] += c01i;
        acc[4] += c10r; acc[5] += c10i; acc[6] += c11r; acc[7] += c11i;
    }
#else
    const R a = m[0], b = m[2], c = m[1], d = m[3]; /* M^T */
    double c00 = 0, c01 = 0, c10 = 0, c11 = 0;
    for (size_t h = 0; h < N; h += 2 * st) {
        R *restrict p = psi + h, *restrict q = psi + h + st;
        R *restrict u = g + h, *restrict v = g + h + st;
        for (size_t l = 0; l < st; l++) {
            const R x = p[l], y = q[l];
            const R f0 = a * x + b * y, f1 = c * x + d * y;
            const R g0 = u[l], g1 = v[l];
            if (acc) {
                c00 += g0 * f0; c01 += g0 * f1; c10 += g1 * f0; c11 += g1 * f1;
            }
            p[l] = f0; q[l] = f1;
            u[l] = a * g0 + b * g1;
            v[l] = c * g0 + d * g1;
        }
    }
    if (acc) {
        acc[0] += c00; acc[1] += c01; acc[2] += c10; acc[3] += c11;
    }
#endif
}

/* y = M x for a 4x4 matrix; local index = 2 * bit(sa) + bit(sb) */
static void GP(gp_apply2)(R *s, size_t N, int sa, int sb, const R *m)
{
    const int lo = sa < sb ? sa : sb, hi = sa < sb ? sb : sa;
    const size_t da = (size_t)1 << sa, db = (size_t)1 << sb, n4 = N >> 2;
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi);
        const size_t ix[4] = {k, k | db, k | da, k | da | db};
#if CPX
        R xr[4], xi[4];
        for (int c = 0; c < 4; c++) { xr[c] = s[2 * ix[c]]; xi[c] = s[2 * ix[c] + 1]; }
        for (int r = 0; r < 4; r++) {
            const R *mr = m + 8 * r;
            R yr = 0, yi = 0;
            for (int c = 0; c < 4; c++) {
                yr += mr[2 * c] * xr[c] - mr[2 * c + 1] * xi[c];
                yi += mr[2 * c] * xi[c] + mr[2 * c + 1] * xr[c];
            }
            s[2 * ix[r]] = yr; s[2 * ix[r] + 1] = yi;
        }
#else
        R x[4];
        for (int c = 0; c < 4; c++) x[c] = s[ix[c]];
        for (int r = 0; r < 4; r++) {
            const R *mr = m + 4 * r;
            s[ix[r]] = mr[0] * x[0] + mr[1] * x[1] + mr[2] * x[2] + mr[3] * x[3];
        }
#endif
    }
}

/* adjoint of gp_apply2; adds dL/dM (16 values, x2 for complex) to acc when given */
static void GP(gp_adj2)(R *psi, R *g, size_t N, int sa, int sb, const R *m, double *acc)
{
    const int lo = sa < sb ? sa : sb, hi = sa < sb ? sb : sa;
    const size_t da = (size_t)1 << sa, db = (size_t)1 << sb, n4 = N >> 2;
    double cr_[16] = {0}, ci_[16] = {0};
    (void)ci_;
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi);
        const size_t ix[4] = {k, k | db, k | da, k | da | db};
#if CPX
        R xr[4], xi[4], gr[4], gi[4], fr[4], fi[4];
        for (int c = 0; c < 4; c++) {
            xr[c] = psi[2 * ix[c]]; xi[c] = psi[2 * ix[c] + 1];
            gr[c] = g[2 * ix[c]]; gi[c] = g[2 * ix[c] + 1];
        }
        for (int r = 0; r < 4; r++) { /* (M^H x)_r = sum_c conj(m[c][r]) x_c */
            R yr = 0, yi = 0, hr = 0, hi_ = 0;
            for (int c = 0; c < 4; c++) {
                const R mr = m[8 * c + 2 * r], mi = -m[8 * c + 2 * r + 1];
                yr += mr * xr[c] - mi * xi[c]; yi += mr * xi[c] + mi * xr[c];
                hr += mr * gr[c] - mi * gi[c]; hi_ += mr * gi[c] + mi * gr[c];
            }
            fr[r] = yr; fi[r] = yi;
            psi[2 * ix[r]] = yr; psi[2 * ix[r] + 1] = yi;
            g[2 * ix[r]] = hr; g[2 * ix[r] + 1] = hi_;
        }
        if (acc)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) {
                    cr_[4 * r + c] += gr[r] * fr[c] + gi[r] * fi[c];
                    ci_[4 * r + c] += gi[r] * fr[c] - gr[r] * fi[c];
                }
#else
        R x[4], gg[4], f[4];
        for (int c = 0; c < 4; c++) { x[c] = psi[ix[c]]; gg[c] = g[ix[c]]; }
        for (int r = 0; r < 4; r++) {
            R y = 0, h = 0;
            for (int c = 0; c < 4; c++) { y += m[4 * c + r] * x[c]; h += m[4 * c + r] * gg[c]; }
            f[r] = y;
            psi[ix[r]] = y;
            g[ix[r]] = h;
        }
        if (acc)
            for (int r = 0; r < 4; r++)
                for (int c = 0; c < 4; c++) cr_[4 * r + c] += gg[r] * f[c];
#endif
    }
    if (acc)
        for (int j = 0; j < 16; j++) {
#if CPX
            acc[2 * j] += cr_[j]; acc[2 * j + 1] += ci_[j];
#else
            acc[j] += cr_[j];
#endif
        }
}

/* controlled 2x2: U (lower-right block of the 4x4 m) on bit sb where bit sa (control) is 1 */
static void GP(gp_apply_ctrl)(R *s, size_t N, int sa, int sb, const R *m)
{
    const int lo = sa < sb ? sa : sb, hi = sa < sb ? sb : sa;
    const size_t da = (size_t)1 << sa, db = (size_t)1 << sb, n4 = N >> 2;
#if CPX
    const R ar = m[20], ai = m[21], br = m[22], bi = m[23], cr = m[28], ci = m[29], dr = m[30], di = m[31];
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi) | da;
        R *p = s + 2 * k, *q = s + 2 * (k | db);
        const R xr = p[0], xi = p[1], yr = q[0], yi = q[1];
        p[0] = ar * xr - ai * xi + br * yr - bi * yi;
        p[1] = ar * xi + ai * xr + br * yi + bi * yr;
        q[0] = cr * xr - ci * xi + dr * yr - di * yi;
        q[1] = cr * xi + ci * xr + dr * yi + di * yr;
    }
#else
    const R a = m[10], b = m[11], c = m[14], d = m[15];
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi) | da;
        const R x = s[k], y = s[k | db];
        s[k] = a * x + b * y;
        s[k | db] = c * x + d * y;
    }
#endif
}

/* adjoint of gp_apply_ctrl; adds the U block of dL/dM to acc (entries (2,2) (2,3) (3,2) (3,3)) */
static void GP(gp_adj_ctrl)(R *psi, R *g, size_t N, int sa, int sb, const R *m, double *acc)
{
    const int lo = sa < sb ? sa : sb, hi = sa < sb ? sb : sa;
    const size_t da = (size_t)1 << sa, db = (size_t)1 << sb, n4 = N >> 2;
#if CPX
    const R ar = m[20], ai = -m[21], br = m[28], bi = -m[29], cr = m[22], ci = -m[23], dr = m[30], di = -m[31];
    double c00r = 0, c00i = 0, c01r = 0, c01i = 0, c10r = 0, c10i = 0, c11r = 0, c11i = 0;
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi) | da;
        R *p = psi + 2 * k, *q = psi + 2 * (k | db), *u = g + 2 * k, *v = g + 2 * (k | db);
        const R xr = p[0], xi = p[1], yr = q[0], yi = q[1];
        const R f0r = ar * xr - ai * xi + br * yr - bi * yi, f0i = ar * xi + ai * xr + br * yi + bi * yr;
        const R f1r = cr * xr - ci * xi + dr * yr - di * yi, f1i = cr * xi + ci * xr + dr * yi + di * yr;
        const R g0r = u[0], g0i = u[1], g1r = v[0], g1i = v[1];
        c00r += g0r * f0r + g0i * f0i; c00i += g0i * f0r - g0r * f0i;
        c01r += g0r * f1r + g0i * f1i; c01i += g0i * f1r - g0r * f1i;
        c10r += g1r * f0r + g1i * f0i; c10i += g1i * f0r - g1r * f0i;
        c11r += g1r * f1r + g1i * f1i; c11i += g1i * f1r - g1r * f1i;
        p[0] = f0r; p[1] = f0i; q[0] = f1r; q[1] = f1i;
        u[0] = ar * g0r - ai * g0i + br * g1r - bi * g1i;
        u[1] = ar * g0i + ai * g0r + br * g1i + bi * g1r;
        v[0] = cr * g0r - ci * g0i + dr * g1r - di * g1i;
        v[1] = cr * g0i + ci * g0r + dr * g1i + di * g1r;
    }
    if (acc) {
        acc[20] += c00r; acc[21] += c00i; acc[22] += c01r; acc[23] += c01i;
        acc[28] += c10r; acc[29] += c10i; acc[30] += c11r; acc[31] += c11i;
    }
#else
    const R a = m[10], b = m[14], c = m[11], d = m[15]; /* U^T */
    double c00 = 0, c01 = 0, c10 = 0, c11 = 0;
    for (size_t i = 0; i < n4; i++) {
        const size_t k = qt_ins0(qt_ins0(i, lo), hi) | da, k1 = k | db;
        const R x = psi[k], y = psi[k1];
        const R f0 = a * x + b * y, f1 = c * x + d * y;
        const R g0 = g[k], g1 = g[k1];
        c00 += g0 * f0; c01 += g0 * f1; c10 += g1 * f0; c11 += g1 * f1;
        psi[k] = f0; psi[k1] = f1;
        g[k] = a * g0 + b * g1;
        g[k1] = c * g0 + d * g1;
    }
    if (acc) {
        acc[10] += c00; acc[11] += c01; acc[14] += c10; acc[15] += c11;
    }
#endif
}

/* run the whole program forward on samples [b0, b1) */
static void GP(gp_forward)(const gp_prog *P, char *state, size_t b0, size_t b1)
{
    const size_t N = (size_t)1 << P->n;
    for (size_t b = b0; b < b1; b++) {
        R *s = (R *)state + b * N * GP_NR;
        for (int o = 0; o < P->nops; o++) {
            const int32_t *op = P->ops + 4 * o;
            const R *m = (const R *)gp_matrix(P, op, b);
            if (gp_arity(op[0]) == 1)
                GP(gp_apply1)(s, N, P->n - 1 - op[1], m);
            else if (op[0] & GP_CTRL)
                GP(gp_apply_ctrl)(s, N, P->n - 1 - op[1], P->n - 1 - op[2], m);
            else
                GP(gp_apply2)(s, N, P->n - 1 - op[1], P->n - 1 - op[2], m);
        }
    }
}

/* walk the program backwards on samples [b0, b1): psi, g in place; shared-table gradients are
   added to acc (per-slot buffer, see gp_acc_offset), per-sample ones written to P->grad */
static void GP(gp_adjoint)(const gp_prog *P, char *psi, char *g, size_t b0, size_t b1, double *acc)
{
    const size_t N = (size_t)1 << P->n;
    for (size_t b = b0; b < b1; b++) {
        R *s = (R *)psi + b * N * GP_NR, *u = (R *)g + b * N * GP_NR;
        for (int o = P->nops - 1; o >= 0; o--) {
            const int32_t *op = P->ops + 4 * o;
            const int t = op[0] & GP_TMASK, one = gp_arity(t) == 1;
            const R *m = (const R *)gp_matrix(P, op, b);
            double tmp[32];
            double *a = NULL;
            if (P->grad[t] != NULL) {
                if (t == GP_SH1 || t == GP_SH2) {
                    a = acc + gp_acc_offset(P, t, op[3]);
                } else {
                    memset(tmp, 0, sizeof tmp);
                    a = tmp;
                }
            }
            if (one)
                GP(gp_adj1)(s, u, N, P->n - 1 - op[1], m, a);
            else if (op[0] & GP_CTRL)
                GP(gp_adj_ctrl)(s, u, N, P->n - 1 - op[1], P->n - 1 - op[2], m, a);
            else
                GP(gp_adj2)(s, u, N, P->n - 1 - op[1], P->n - 1 - op[2], m, a);
            if (a == tmp) { /* per-sample gradient: into its slot (zeroed before the walk) */
                const int cnt = (one ? 4 : 16) * GP_NR;
                R *dst = (R *)gp_grad_ptr(P, op, b);
                for (int j = 0; j < cnt; j++) dst[j] += (R)tmp[j];
            }
        }
    }
}

/* shared-table gradients: sum the per-slot double buffers into the output tables */
static void GP(gp_store_shared)(const gp_prog *P, const double *acc_sum)
{
    for (int t = GP_SH1; t <= GP_SH2; t += 2) {
        if (P->grad[t] == NULL) continue;
        const size_t cnt = (size_t)P->rows[t] * (t == GP_SH1 ? 4 : 16) * GP_NR;
        const double *src = acc_sum + gp_acc_offset(P, t, 0);
        R *dst = (R *)P->grad[t];
        for (size_t j = 0; j < cnt; j++) dst[j] = (R)src[j];
    }
}

#undef GP_NR
#undef GP
