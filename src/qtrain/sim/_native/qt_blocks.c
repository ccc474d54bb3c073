/* Block programs (see qt_blocks.h). */
#include "qt_blocks.h"

#include "qt_kernels.h"
#include "qt_layer.h"
#include "qt_perm.h"

static void blk_fill(qt_layer_job *J, const int64_t *r, int dt, size_t B, int n, const char *mats, int nth)
{
    memset(J, 0, sizeof *J);
    J->dt = dt;
    J->B = B;
    J->n = n;
    J->nw = (int)r[1];
    for (int i = 0; i < J->nw; i++) J->wbits[i] = (int)r[4 + i];
    J->mats = mats + (size_t)r[2] * 4 * (size_t)qt_kernels[dt].esize;
    J->nthreads = nth;
}

static void blk_cols(const int64_t *r, int n, size_t *cols)
{
    for (int j = 0; j < n; j++) cols[j] = (size_t)r[4 + QT_MAXQ + j];
}

int qt_blocks_check(const int64_t *desc, int nblocks, int n, int64_t total_nw)
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

int qt_blocks_forward(char *buf[2], size_t B, int n, int dt, int nblocks, const int64_t *desc,
                      const char *mats, int nthreads, int *which)
{
    int cur = 0, rc = 0;
    const int es = qt_kernels[dt].esize;
    for (int b = 0; b < nblocks && rc == 0; b++) {
        const int64_t *r = desc + (size_t)b * QT_BLK_REC;
        size_t cols[QT_MAXQ];
        blk_cols(r, n, cols);
        qt_layer_job J;
        blk_fill(&J, r, dt, B, n, mats, nthreads);
        J.st = buf[cur];
        if (r[0] == 1) {
            rc = qt_run_layer(&J);
        } else if (r[0] == 2) {
            qt_perm_linear(buf[cur], buf[1 - cur], B, n, es, (size_t)r[3], cols, nthreads);
            cur = 1 - cur;
        } else {
            J.dst = buf[1 - cur];
            rc = qt_layer_apply_perm(&J, (size_t)r[3], cols);
            cur = 1 - cur;
        }
    }
    *which = cur;
    return rc;
}

int qt_blocks_adjoint(char *ps[2], char *gs[2], size_t B, int n, int dt, int nblocks,
                      const int64_t *desc, const char *mats, char *cross_out, int nthreads, int *which)
{
    int maxnw = 0;
    for (int b = 0; b < nblocks; b++)
        if (desc[(size_t)b * QT_BLK_REC + 1] > maxnw) maxnw = (int)desc[(size_t)b * QT_BLK_REC + 1];
    const int maxth = nthreads > 1 ? nthreads : 1;
    double *cr = (double *)calloc((size_t)maxnw * 8 * (size_t)maxth + 1, sizeof(double));
    if (!cr) return -1;
    int cur = 0, rc = 0;
    const int es = qt_kernels[dt].esize;
    for (int b = nblocks - 1; b >= 0 && rc == 0; b--) {
        const int64_t *r = desc + (size_t)b * QT_BLK_REC;
        size_t cols[QT_MAXQ];
        blk_cols(r, n, cols);
        if (r[0] & 2) { /* undo the permutation first (r holds the inverse map) */
            qt_perm_linear(ps[cur], ps[1 - cur], B, n, es, (size_t)r[3], cols, nthreads);
            qt_perm_linear(gs[cur], gs[1 - cur], B, n, es, (size_t)r[3], cols, nthreads);
            cur = 1 - cur;
        }
        if (r[0] & 1) {
            qt_layer_job J;
            blk_fill(&J, r, dt, B, n, mats, nthreads);
            J.st = ps[cur];
            J.gst = gs[cur];
            memset(cr, 0, (size_t)J.nw * 8 * (size_t)maxth * sizeof(double));
            rc = qt_layer_adjoint(&J, cr, cross_out + (size_t)r[2] * 4 * (size_t)es, 0, NULL);
        }
    }
    free(cr);
    *which = cur;
    return rc;
}
