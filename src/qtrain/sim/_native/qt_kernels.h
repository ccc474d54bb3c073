/*
 * Dispatch table of the tile kernels (qt_tile.inc instantiated per dtype in qt_kernels.c),
 * indexed by the dtype code: 0 float32, 1 float64, 2 complex64, 3 complex128.
 */
#ifndef QT_KERNELS_H
#define QT_KERNELS_H

#include "qt_common.h"

/* forward: apply the ng gates (local bits lbits, matrices mats[gidx]) to a 2**T tile */
typedef void (*qt_tile_apply_fn)(void *buf, int T, int ng, const int *lbits, const int *gidx,
                                 const void *mats, int herm);
/* adjoint: undo the gates on psi and g, adding the cross sums to cross[gidx * 8 ...] */
typedef void (*qt_tile_adj_fn)(void *ps, void *gs, int T, int ng, const int *lbits,
                               const int *gidx, const void *mats, double *cross);
/* cross sums (double, 8 per gate) -> (nw, 2, 2) array of the dtype */
typedef void (*qt_store_cross_fn)(const double *cross, void *out, int nw);
/* factored kernels: context size for 2**T tiles, preparation (0: a gate does not factor),
   forward, adjoint (lane accumulators) and the fold of the lane accumulators into cross */
typedef size_t (*qt_fctx_bytes_fn)(int T);
typedef int (*qt_fprep_fn)(void *ctx, int T, int ng, const int *lbits, const int *gidx,
                           const void *mats, int herm);
typedef void (*qt_frun_apply_fn)(const void *ctx, void *buf);
typedef void (*qt_frun_adj_fn)(const void *ctx, void *ps, void *gs, double *lacc);
typedef void (*qt_ffinal_fn)(const void *ctx, double *lacc, double *cross);

typedef struct {
    qt_tile_apply_fn ap;
    qt_tile_adj_fn adj;
    qt_store_cross_fn sc;
    qt_fctx_bytes_fn fbytes;
    qt_fprep_fn fprep;
    qt_frun_apply_fn fap;
    qt_frun_adj_fn fadj;
    qt_ffinal_fn ffin;
    int esize; /* bytes per element */
    int nr;    /* reals per element */
} qt_kernel_set;

extern const qt_kernel_set qt_kernels[4];

#endif /* QT_KERNELS_H */
