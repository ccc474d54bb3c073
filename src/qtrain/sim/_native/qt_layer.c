/*
 * Layer drivers (see qt_layer.h).  Every pass of the plan is one qt_par_run job over
 * (sample, tile) items; a tile is worked on in place (contiguous pass) or in a per-thread
 * buffer (strided pass, or the pass that carries a fused permutation).
 */
#include "qt_layer.h"

#include "qt_gf2.h"
#include "qt_kernels.h"
#include "qt_perm.h"
#include "qt_plan.h"
#include "qt_pool.h"
#include "qt_rows.h"

qt_tuning qt_tune = {32768, 32768, 256, 3, 2, 1 << 16, 1, 1, 0.35, 0.75, 64};

static void *qt_aligned_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

/* can the job's permutation be fused into pass fp?  fills v and the lane tables */
static int qt_fusable(const qt_layer_job *J, const qt_pass *fp, int *vout, int32_t (*tab)[16])
{
#if QT_AVX512
    const int esize = qt_kernels[J->dt].esize;
    const int v = qt_ilog2((size_t)(64 / esize));
    const size_t V = (size_t)1 << v;
    const int lpe = esize / 4;
    if (v > J->n) return 0;
    size_t Llo[16];
    for (size_t e = 0; e < V; e++) {
        Llo[e] = qt_lin(e, J->Lcols);
        if (Llo[e] >= V) return 0;
    }
    const int rowbits = fp->contiguous ? fp->T : fp->c;
    if (rowbits < v) return 0;
    if (J->fuse == 1) { /* scatter: need the inverse of the low block */
        size_t inv[16];
        int seen = 0;
        for (size_t e = 0; e < V; e++) {
            inv[Llo[e]] = e;
            seen |= 1 << Llo[e];
        }
        if (seen != (1 << V) - 1) return 0;
        for (size_t x = 0; x < V; x++)
            for (int l = 0; l < 16; l++)
                tab[x][l] = (int32_t)(inv[((size_t)l / (size_t)lpe) ^ x] * (size_t)lpe + (size_t)l % (size_t)lpe);
    } else {
        qt_lane_table(Llo, v, esize, tab);
    }
    *vout = v;
    return 1;
#else
    (void)J; (void)fp; (void)vout; (void)tab;
    return 0;
#endif
}

typedef struct {
    char *ctx;        /* factored-kernel context */
    double *lacc;     /* adjoint lane accumulators */
    char *buf, *gbuf; /* tile buffers */
    int pass;         /* pass the context was prepared for (-1: none) */
    size_t prepped_b; /* sample it was prepared for */
    int fac;          /* context valid (factored kernels usable) */
} qt_slot;

typedef struct {
    qt_layer_job *J;
    const qt_pass *p;
    int ip, fused, buffered, esize, adj, v;
    size_t ntiles, total, ntasks, nrows, rowbytes, rowvecs, mstride;
    const size_t *rowoff, *Lroff, *Lrow;
    const int32_t (*tab)[16];
    qt_slot *slots;
} qt_pass_run;

static inline double *qt_sample_cross(const qt_layer_job *J, double *cr, size_t b)
{
    return cr + (J->per_sample ? b * (size_t)J->nw * 8 : 0);
}

static void qt_layer_fin(void *arg, int slot)
{
    qt_pass_run *R = (qt_pass_run *)arg;
    qt_slot *sl = &R->slots[slot];
    qt_layer_job *J = R->J;
    if (R->adj && sl->fac && sl->pass == R->ip) {
        double *cr = J->cross + J->crstride * (size_t)slot;
        qt_kernels[J->dt].ffin(sl->ctx, sl->lacc, qt_sample_cross(J, cr, sl->prepped_b));
    }
    sl->pass = -1;
    sl->fac = 0;
}

/* (re)prepare the slot's factored context for sample b (matrices m) when needed */
static inline void qt_slot_prepare(const qt_pass_run *R, qt_slot *sl, size_t b, const char *m, double *cr)
{
    const qt_layer_job *J = R->J;
    const qt_pass *p = R->p;
    if (!(p->ng && sl->ctx && (sl->prepped_b == (size_t)-1 || (J->per_sample && b != sl->prepped_b))))
        return;
    if (R->adj && sl->fac) /* flush the previous sample's lane sums */
        qt_kernels[J->dt].ffin(sl->ctx, sl->lacc, qt_sample_cross(J, cr, sl->prepped_b));
    sl->fac = qt_kernels[J->dt].fprep(sl->ctx, p->T, p->ng, p->lbits, p->gidx, m, R->adj);
    sl->prepped_b = b;
}

/* bring tile `base` of sample b into the slot's buffers (or gather it through the fused map);
   sets the tile pointers *ts, *tg */
static inline void qt_tile_in(const qt_pass_run *R, qt_slot *sl, size_t b, size_t base, char *s, char *gs,
                              int direct, char **ts, char **tg)
{
    const qt_layer_job *J = R->J;
    const size_t off = base * (size_t)R->esize;
#if !QT_AVX512
    (void)J;
    (void)b;
#endif
    if (!R->buffered) {
        *ts = s + off;
        *tg = R->adj ? gs + off : NULL;
        return;
    }
#if QT_AVX512
    if (R->fused && J->fuse == 2) {
        const size_t bytes = b * ((size_t)1 << J->n) * (size_t)R->esize;
        const size_t Lb = qt_lin(base, J->Lcols) ^ J->Lc;
        qt_rows_perm(direct ? s + off : sl->buf, (char *)J->src + bytes, R->Lroff, R->nrows, R->rowvecs,
                     R->Lrow, Lb, R->v, R->tab, 0);
        if (R->adj)
            qt_rows_perm(direct ? gs + off : sl->gbuf, (char *)J->gsrc + bytes, R->Lroff, R->nrows,
                         R->rowvecs, R->Lrow, Lb, R->v, R->tab, 0);
    } else
#endif
    {
        qt_copy_rows(sl->buf, s + off, R->rowoff, R->nrows, R->rowbytes, 1);
        if (R->adj) qt_copy_rows(sl->gbuf, gs + off, R->rowoff, R->nrows, R->rowbytes, 1);
    }
    *ts = direct ? s + off : sl->buf;
    *tg = direct ? (R->adj ? gs + off : NULL) : sl->gbuf;
}

/* write a buffered tile back (or scatter it through the fused map) */
static inline void qt_tile_out(const qt_pass_run *R, qt_slot *sl, size_t b, size_t base, char *s, char *gs)
{
    const qt_layer_job *J = R->J;
    const size_t off = base * (size_t)R->esize;
#if QT_AVX512
    if (R->fused && J->fuse == 1) {
        const size_t Lb = qt_lin(base, J->Lcols) ^ J->Lc;
        qt_rows_perm(sl->buf, J->dst + b * ((size_t)1 << J->n) * (size_t)R->esize, R->Lroff, R->nrows,
                     R->rowvecs, R->Lrow, Lb, R->v, R->tab, 1);
        return;
    }
#else
    (void)J;
    (void)b;
#endif
    if (R->adj) qt_copy_rows(sl->gbuf, gs + off, R->rowoff, R->nrows, R->rowbytes, 0);
    qt_copy_rows(sl->buf, s + off, R->rowoff, R->nrows, R->rowbytes, 0);
}

static void qt_layer_task(void *arg, size_t task, int slot)
{
    qt_pass_run *R = (qt_pass_run *)arg;
    qt_layer_job *J = R->J;
    const qt_pass *p = R->p;
    qt_slot *sl = &R->slots[slot];
    const qt_kernel_set *K = &qt_kernels[J->dt];
    const int adj = R->adj;
    const size_t sbytes = ((size_t)1 << J->n) * (size_t)R->esize; /* bytes per sample */
    double *cr = adj ? J->cross + J->crstride * (size_t)slot : NULL;
    if (sl->pass != R->ip) {
        sl->pass = R->ip;
        sl->prepped_b = (size_t)-1;
        sl->fac = 0;
    }
    /* a contiguous tile gathered through the map lands directly in its final place */
    const int direct = R->fused && J->fuse == 2 && p->contiguous;
    size_t lo, hi;
    qt_task_range(R->total, R->ntasks, task, &lo, &hi);
    for (size_t it = lo; it < hi; it++) {
        const size_t b = it / R->ntiles, t = it % R->ntiles;
        const char *m = J->mats + (J->per_sample ? b * R->mstride : 0);
        char *s = J->st + b * sbytes;
        char *gs = adj ? J->gst + b * sbytes : NULL;
        qt_slot_prepare(R, sl, b, m, cr);
        const size_t base = p->contiguous ? (t << p->T) : qt_deposit(t, p->freeb, p->nfree);
        char *ts, *tg;
        qt_tile_in(R, sl, b, base, s, gs, direct, &ts, &tg);
        if (p->ng) {
            if (adj) {
                if (sl->fac) K->fadj(sl->ctx, ts, tg, sl->lacc);
                else K->adj(ts, tg, p->T, p->ng, p->lbits, p->gidx, m, qt_sample_cross(J, cr, b));
            } else {
                if (sl->fac) K->fap(sl->ctx, ts);
                else K->ap(ts, p->T, p->ng, p->lbits, p->gidx, m, 0);
            }
        }
        if (R->buffered && !direct) qt_tile_out(R, sl, b, base, s, gs);
    }
}

/* Plan the passes; with a fused permutation, put the pass that carries it last (scatter) or
   first (gather).  Returns the number of passes. */
static int qt_layer_plan(const qt_layer_job *J, qt_pass *passes)
{
    const int adj = J->gst != NULL;
    int np = qt_plan_passes(J->n, J->nw, J->wbits, qt_kernels[J->dt].esize,
                            adj ? qt_tune.tile_bytes_adj : qt_tune.tile_bytes_apply, qt_tune.row_bytes, passes);
    if (J->fuse && np == 0) { /* no gates: a plain copy pass through the map */
        qt_pass *p = &passes[0];
        p->T = J->n < 12 ? J->n : 12;
        p->contiguous = 1;
        p->ng = 0;
        np = 1;
    }
    if (!J->fuse || np <= 1) return np;
    /* Fuse the map into the pass whose rows it keeps contiguous (the map sends the row's low
       bits into themselves), preferring the longest rows: then the permuted copy streams
       through memory.  Preference (measured): apply+scatter -> the strided pass (its copy-out
       becomes the scatter); gather+adjoint -> the contiguous pass (its source blocks are
       contiguous). */
    const int pref_strided = J->fuse == 1;
    int best = -1, bestscore = -1;
    for (int i = 0; i < np; i++) {
        const int rb = passes[i].contiguous ? passes[i].T : passes[i].c;
        int keeps = 1;
        for (int j = 0; j < rb && keeps; j++) keeps = (J->Lcols[j] >> rb) == 0;
        const int score = rb + ((passes[i].contiguous ^ pref_strided) ? 64 : 0);
        if (keeps && score > bestscore) {
            best = i;
            bestscore = score;
        }
    }
    if (best < 0) best = J->fuse == 1 ? np - 1 : 0;
    const int want = J->fuse == 1 ? np - 1 : 0;
    if (best != want) {
        qt_pass tmp = passes[want];
        passes[want] = passes[best];
        passes[best] = tmp;
    }
    return np;
}

/* One allocation: per-thread slots (factored context, lane accumulators, tile buffers), then
   the slot array and the row offset tables.  Returns NULL on allocation failure. */
static char *qt_layer_workspace(const qt_layer_job *J, const qt_pass *passes, int np, int nt, int v,
                                qt_pass_run *R)
{
    const int adj = R->adj;
    const qt_kernel_set *K = &qt_kernels[J->dt];
    int maxT = 0, maxS = 0, anybuf = J->fuse != 0;
    for (int i = 0; i < np; i++) {
        if (passes[i].T > maxT) maxT = passes[i].T;
        if (!passes[i].contiguous) {
            anybuf = 1;
            if (passes[i].nS > maxS) maxS = passes[i].nS;
        }
    }
    const size_t tilebytes = ((size_t)K->esize << maxT);
    const size_t ctxbytes = qt_tune.factored ? ((K->fbytes(maxT) + 63) & ~(size_t)63) : 0;
    const size_t nrowmax = (size_t)1 << maxS;
    const size_t nlrow = J->fuse ? ((size_t)1 << (maxT > v ? maxT - v : 0)) : 0;
    const size_t laccbytes = (adj && ctxbytes) ? sizeof(double) * (size_t)J->nw * 8 * 16 : 0;
    size_t perthread = ctxbytes + laccbytes + (anybuf ? tilebytes * (adj ? 2 : 1) : 0);
    perthread = (perthread + 63) & ~(size_t)63; /* the context holds SIMD vectors */
    const size_t shared = sizeof(size_t) * (2 * nrowmax + nlrow) + sizeof(qt_slot) * (size_t)nt;
    char *work = (char *)qt_aligned_alloc(perthread * (size_t)nt + shared);
    if (!work) return NULL;
    qt_slot *slots = (qt_slot *)(work + perthread * (size_t)nt);
    for (int i = 0; i < nt; i++) {
        char *w = work + perthread * (size_t)i;
        slots[i].ctx = ctxbytes ? w : NULL;
        slots[i].lacc = laccbytes ? (double *)(w + ctxbytes) : NULL;
        slots[i].buf = anybuf ? w + ctxbytes + laccbytes : NULL;
        slots[i].gbuf = (anybuf && adj) ? slots[i].buf + tilebytes : NULL;
        slots[i].pass = -1;
        slots[i].prepped_b = (size_t)-1;
        slots[i].fac = 0;
        if (laccbytes) memset(slots[i].lacc, 0, laccbytes);
    }
    R->slots = slots;
    R->rowoff = (const size_t *)(slots + nt);
    R->Lroff = R->rowoff + nrowmax;
    R->Lrow = R->Lroff + nrowmax;
    return work;
}

/* per-pass fields of R and the row offset tables */
static void qt_pass_setup(qt_pass_run *R, const qt_pass *p, int ip, int fpass)
{
    qt_layer_job *J = R->J;
    const size_t N = (size_t)1 << J->n;
    const size_t esize = (size_t)R->esize;
    R->p = p;
    R->ip = ip;
    R->fused = J->fuse && ip == fpass;
    R->buffered = !p->contiguous || R->fused;
    R->ntiles = N >> p->T;
    R->total = J->B * R->ntiles;
    R->nrows = R->rowbytes = R->rowvecs = 0;
    if (R->buffered) {
        size_t *rowoff = (size_t *)R->rowoff, *Lroff = (size_t *)R->Lroff, *Lrow = (size_t *)R->Lrow;
        const int rb = p->contiguous ? p->T : p->c;
        R->nrows = p->contiguous ? 1 : (size_t)1 << p->nS;
        R->rowbytes = esize << rb;
        for (size_t r = 0; r < R->nrows; r++) rowoff[r] = p->contiguous ? 0 : qt_deposit(r, p->S, p->nS) * esize;
        if (R->fused) {
            R->rowvecs = (size_t)1 << (rb - R->v);
            for (size_t r = 0; r < R->nrows; r++) Lroff[r] = qt_lin(rowoff[r] / esize, J->Lcols);
            for (size_t u = 0; u < R->rowvecs; u++) Lrow[u] = qt_lin(u << R->v, J->Lcols);
        }
    }
}

int qt_run_layer(qt_layer_job *J)
{
    const int dt = J->dt, esize = qt_kernels[dt].esize, nr = qt_kernels[dt].nr;
    const int adj = J->gst != NULL;
    const size_t N = (size_t)1 << J->n;
    qt_pass passes[QT_MAXQ];
    const int np = qt_layer_plan(J, passes);
    if (np == 0 || J->B == 0) return 0;
    const int fpass = J->fuse == 1 ? np - 1 : 0;
    int v = 0;
    int32_t tab[16][16];
    if (J->fuse && !qt_fusable(J, &passes[fpass], &v, tab)) return 1;
    const int nt = qt_threads(J->nthreads, J->B * N * (size_t)esize * (adj ? 2 : 1));
    qt_pass_run R;
    memset(&R, 0, sizeof(R));
    R.J = J;
    R.esize = esize;
    R.adj = adj;
    R.v = v;
    R.tab = (const int32_t(*)[16])tab;
    R.mstride = (size_t)J->nw * 4 * nr * (esize / nr); /* bytes of one sample's mats */
    char *work = qt_layer_workspace(J, passes, np, nt, v, &R);
    if (!work) return -1;
    for (int ip = 0; ip < np; ip++) {
        qt_pass_setup(&R, &passes[ip], ip, fpass);
        R.ntasks = qt_ntasks(R.total, nt);
        qt_par_run(qt_layer_task, qt_layer_fin, &R, R.ntasks, nt);
    }
    free(work);
    return 0;
}

int qt_layer_apply_perm(qt_layer_job *J, size_t c0, const size_t *cols)
{
    int rc = 1;
    /* scatter through the inverse map: tile element x goes to A^-1 (x ^ c0) */
    if ((qt_tune.fuse & 1) && qt_affine_inverse(c0, cols, J->n, &J->Lc, J->Lcols)) {
        J->fuse = 1;
        rc = qt_run_layer(J);
    }
    if (rc == 1) { /* not fusable: the layer in place, then the permutation */
        J->fuse = 0;
        rc = qt_run_layer(J);
        if (rc == 0) qt_perm_linear(J->st, J->dst, J->B, J->n, qt_kernels[J->dt].esize, c0, cols, J->nthreads);
    }
    return rc;
}

static int qt_max_slots(const qt_layer_job *J)
{
    return J->nthreads > 1 ? J->nthreads : 1;
}

size_t qt_cross_doubles(const qt_layer_job *J)
{
    const size_t nsets = J->per_sample ? J->B : 1;
    return nsets * (size_t)J->nw * 8 * (size_t)qt_max_slots(J) + 1;
}

int qt_layer_adjoint(qt_layer_job *J, double *cr, char *cross_out, size_t c0, const size_t *cols)
{
    const qt_kernel_set *K = &qt_kernels[J->dt];
    const size_t nsets = J->per_sample ? J->B : 1;
    const int maxth = qt_max_slots(J);
    J->crstride = nsets * (size_t)J->nw * 8;
    J->cross = cr;
    int rc;
    if (cols) {
        for (int j = 0; j < J->n; j++) J->Lcols[j] = cols[j];
        J->Lc = c0;
        J->fuse = 2;
        rc = (qt_tune.fuse & 2) ? qt_run_layer(J) : 1;
        if (rc == 1) { /* not fusable: permute both, then the adjoint in place */
            J->fuse = 0;
            qt_perm_linear(J->src, J->st, J->B, J->n, K->esize, c0, cols, J->nthreads);
            qt_perm_linear(J->gsrc, J->gst, J->B, J->n, K->esize, c0, cols, J->nthreads);
            rc = qt_run_layer(J);
        }
    } else {
        rc = qt_run_layer(J);
    }
    if (rc != 0) return rc;
    for (int t = 1; t < maxth; t++) /* fold the other threads' sums into slot 0 */
        for (size_t i = 0; i < J->crstride; i++) cr[i] += cr[J->crstride * (size_t)t + i];
    const size_t ostride = (size_t)J->nw * 4 * (size_t)K->esize; /* bytes per set */
    for (size_t s = 0; s < nsets; s++) K->sc(cr + s * (size_t)J->nw * 8, cross_out + s * ostride, J->nw);
    return 0;
}
