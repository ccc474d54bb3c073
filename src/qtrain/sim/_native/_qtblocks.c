/*
 * Block programs: a whole circuit made of shared single-qubit layers and linear (GF(2)-affine)
 * permutations, run in one call forward and one call backward (the adjoint walk), on the
 * cache-blocked layer kernels.  Included by _qtnative.c after the layer drivers and the Python
 * helpers.  It removes the per-stage Python call and argument checks (about 10 us forward and
 * 25 us backward per block), which dominate 13-qubit Quantum-Train circuits.
 *
 * Descriptor: int64 records of QT_BLK_REC values per block:
 *   [0] kind (1: layer, 2: permutation, 3: layer then permutation)
 *   [1] nw   [2] first matrix of the block in the packed (total_nw, 2, 2) mats   [3] c0
 *   [4 .. 4 + QT_MAXQ) wire bits      [4 + QT_MAXQ .. 4 + 2 QT_MAXQ) permutation columns
 * The forward descriptor holds the permutations, the adjoint one their inverses.
 */

#define QT_BLK_REC (4 + 2 * QT_MAXQ)

static int blk_fill(qt_layer_job *J, const int64_t *r, int dt, size_t B, int n, const char *mats, int nth)
{
    memset(J, 0, sizeof *J);
    J->dt = dt;
    J->B = B;
    J->n = n;
    J->nw = (int)r[1];
    for (int i = 0; i < J->nw; i++) J->wbits[i] = (int)r[4 + i];
    J->mats = mats + (size_t)r[2] * 4 * (size_t)KT[dt].esize;
    J->nthreads = nth;
    return 0;
}

static int blk_check(const int64_t *desc, int nblocks, int n, int64_t total_nw)
{
    const size_t N = (size_t)1 << n;
    for (int b = 0; b < nblocks; b++) {
        const int64_t *r = desc + (size_t)b * QT_BLK_REC;
        if (r[0] < 1 || r[0] > 3 || r[1] < 0 || r[1] > n || r[2] < 0 || r[2] + r[1] > total_nw ||
            r[3] < 0 || (size_t)r[3] >= N)
            return b + 1;
        uint64_t seen = 0;
        for (int i = 0; i < r[1]; i++) {
            const int64_t w = r[4 + i];
            if (w < 0 || w >= n || ((seen >> w) & 1)) return b + 1;
            seen |= (uint64_t)1 << w;
        }
        for (int j = 0; j < n && (r[0] & 2); j++)
            if (r[4 + QT_MAXQ + j] < 0 || (size_t)r[4 + QT_MAXQ + j] >= N) return b + 1;
    }
    return 0;
}

/* blocks_forward(state, spare, B, n, dt, nblocks, desc, mats, total_nw, nthreads) -> 0 or 1:
   which of (state, spare) holds the result; the other is scratch */
static PyObject *py_blocks_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 10, "blocks_forward")) return NULL;
    char *buf[2], *descp, *mats;
    Py_ssize_t B, n, dt, nb, tot, nth;
    if (get_ptr(args[0], &buf[0]) || get_ptr(args[1], &buf[1]) || get_ssize(args[2], &B) ||
        get_ssize(args[3], &n) || get_ssize(args[4], &dt) || get_ssize(args[5], &nb) ||
        get_ptr(args[6], &descp) || get_ptr(args[7], &mats) || get_ssize(args[8], &tot) ||
        get_ssize(args[9], &nth))
        return NULL;
    if (dt < 0 || dt > 3 || n < 1 || n > QT_MAXQ || B < 1 || nb < 0) {
        PyErr_SetString(PyExc_ValueError, "blocks_forward: bad dtype code / size");
        return NULL;
    }
    const int64_t *desc = (const int64_t *)descp;
    const int bad = blk_check(desc, (int)nb, (int)n, tot);
    if (bad) {
        PyErr_Format(PyExc_ValueError, "blocks_forward: block %d is invalid", bad - 1);
        return NULL;
    }
    int cur = 0, rc = 0;
    const int es = KT[dt].esize;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = 0; b < nb && rc == 0; b++) {
        const int64_t *r = desc + (size_t)b * QT_BLK_REC;
        size_t cols[QT_MAXQ];
        for (int j = 0; j < n; j++) cols[j] = (size_t)r[4 + QT_MAXQ + j];
        qt_layer_job J;
        blk_fill(&J, r, (int)dt, (size_t)B, (int)n, mats, (int)nth);
        J.st = buf[cur];
        if (r[0] == 1) {
            rc = run_layer(&J);
        } else if (r[0] == 2) {
            run_perm_linear(buf[cur], buf[1 - cur], (size_t)B, (int)n, es, (size_t)r[3], cols, (int)nth);
            cur = 1 - cur;
        } else {
            J.dst = buf[1 - cur];
            rc = 1;
            if ((qt_tune.fuse & 1) && qt_gf2_inverse(cols, J.n, J.Lcols)) {
                J.Lc = qt_lin((size_t)r[3], J.Lcols);
                J.fuse = 1;
                rc = run_layer(&J);
            }
            if (rc == 1) {
                J.fuse = 0;
                rc = run_layer(&J);
                if (rc == 0) run_perm_linear(J.st, J.dst, J.B, J.n, es, (size_t)r[3], cols, J.nthreads);
            }
            cur = 1 - cur;
        }
    }
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    return PyLong_FromLong(cur);
}

/* blocks_adjoint(psi, g, psi_spare, g_spare, B, n, dt, nblocks, desc_inverse, mats, total_nw,
   cross, nthreads) -> 0 or 1: which pair holds (psi, g) before the first block.  cross
   (total_nw, 2, 2), state dtype, receives each layer's cross matrix (see layer_adjoint_). */
static PyObject *py_blocks_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 13, "blocks_adjoint")) return NULL;
    char *ps[2], *gs[2], *descp, *mats, *cross_out;
    Py_ssize_t B, n, dt, nb, tot, nth;
    if (get_ptr(args[0], &ps[0]) || get_ptr(args[1], &gs[0]) || get_ptr(args[2], &ps[1]) ||
        get_ptr(args[3], &gs[1]) || get_ssize(args[4], &B) || get_ssize(args[5], &n) ||
        get_ssize(args[6], &dt) || get_ssize(args[7], &nb) || get_ptr(args[8], &descp) ||
        get_ptr(args[9], &mats) || get_ssize(args[10], &tot) || get_ptr(args[11], &cross_out) ||
        get_ssize(args[12], &nth))
        return NULL;
    if (dt < 0 || dt > 3 || n < 1 || n > QT_MAXQ || B < 1 || nb < 0) {
        PyErr_SetString(PyExc_ValueError, "blocks_adjoint: bad dtype code / size");
        return NULL;
    }
    const int64_t *desc = (const int64_t *)descp;
    const int bad = blk_check(desc, (int)nb, (int)n, tot);
    if (bad) {
        PyErr_Format(PyExc_ValueError, "blocks_adjoint: block %d is invalid", bad - 1);
        return NULL;
    }
    int maxnw = 0;
    for (Py_ssize_t b = 0; b < nb; b++)
        if (desc[(size_t)b * QT_BLK_REC + 1] > maxnw) maxnw = (int)desc[(size_t)b * QT_BLK_REC + 1];
    const int maxth = nth > 1 ? (int)nth : 1;
    double *cr = (double *)calloc((size_t)maxnw * 8 * (size_t)maxth + 1, sizeof(double));
    if (!cr) return PyErr_NoMemory();
    int cur = 0, rc = 0;
    const int es = KT[dt].esize;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t b = nb - 1; b >= 0 && rc == 0; b--) {
        const int64_t *r = desc + (size_t)b * QT_BLK_REC;
        size_t cols[QT_MAXQ];
        for (int j = 0; j < n; j++) cols[j] = (size_t)r[4 + QT_MAXQ + j];
        if (r[0] & 2) { /* undo the permutation first (r holds the inverse map) */
            run_perm_linear(ps[cur], ps[1 - cur], (size_t)B, (int)n, es, (size_t)r[3], cols, (int)nth);
            run_perm_linear(gs[cur], gs[1 - cur], (size_t)B, (int)n, es, (size_t)r[3], cols, (int)nth);
            cur = 1 - cur;
        }
        if (r[0] & 1) {
            qt_layer_job J;
            blk_fill(&J, r, (int)dt, (size_t)B, (int)n, mats, (int)nth);
            J.st = ps[cur];
            J.gst = gs[cur];
            J.crstride = (size_t)J.nw * 8;
            memset(cr, 0, J.crstride * (size_t)maxth * sizeof(double));
            J.cross = cr;
            rc = run_layer(&J);
            if (rc == 0) {
                for (int t = 1; t < maxth; t++)
                    for (size_t i = 0; i < J.crstride; i++) cr[i] += cr[J.crstride * (size_t)t + i];
                KT[dt].sc(cr, cross_out + (size_t)r[2] * 4 * (size_t)es, J.nw);
            }
        }
    }
    Py_END_ALLOW_THREADS
    free(cr);
    if (rc) return PyErr_NoMemory();
    return PyLong_FromLong(cur);
}
