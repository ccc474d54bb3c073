/*
 * Layer drivers: a layer of commuting single-qubit gates (one 2x2 matrix per wire, shared or
 * per sample) applied to, or walked back on, a batch of states in the passes planned by
 * qt_plan, optionally with a linear permutation fused into one pass.
 */
#ifndef QT_LAYER_H
#define QT_LAYER_H

#include "qt_common.h"

typedef struct {
    int dt;
    char *st;        /* state / psi (worked on in place) */
    char *gst;       /* gradient (adjoint) or NULL */
    size_t B;
    int n;
    int nw;
    int wbits[QT_MAXQ];
    const char *mats;
    int per_sample;
    double *cross;   /* adjoint: per-thread accumulators */
    size_t crstride; /* doubles per thread */
    int nthreads;
    /* fused permutation: 0 none; 1 the last pass writes tile element x to dst[L(x) ^ Lc]
       (apply then permute); 2 the first pass reads tile element x from src[L(x) ^ Lc]
       (permute then adjoint) */
    int fuse;
    const char *src, *gsrc;
    char *dst;
    size_t Lcols[QT_MAXQ];
    size_t Lc;
} qt_layer_job;

/* Run the layer job.  Returns 0 on success, -1 on allocation failure; with J->fuse != 0 and a
   plan that cannot be fused, returns 1 without doing anything. */
int qt_run_layer(qt_layer_job *J);

/* dst[b, k] = (layer applied to st)[b, c0 ^ L(k)] (L: cols), fused when possible; st is
   clobbered.  Returns 0 or -1 (allocation failure). */
int qt_layer_apply_perm(qt_layer_job *J, size_t c0, const size_t *cols);

/* Doubles of cross scratch qt_layer_adjoint needs for J (per-thread accumulators). */
size_t qt_cross_doubles(const qt_layer_job *J);

/* Adjoint of the layer on J->st (psi) and J->gst (g), in place; with cols != NULL the
   permutation psi <- src[c0 ^ L(k)], g <- gsrc[...] comes first.  The cross matrices, summed
   over the threads, are stored at cross_out as (nsets, nw, 2, 2) of the dtype (nsets: B when
   per sample, else 1).  cr: zeroed scratch of qt_cross_doubles(J) doubles.  Returns 0 or -1. */
int qt_layer_adjoint(qt_layer_job *J, double *cr, char *cross_out, size_t c0, const size_t *cols);

#endif /* QT_LAYER_H */
