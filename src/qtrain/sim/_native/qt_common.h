/*
 * Shared definitions of the native kernels: build switches, limits, tuning knobs and small
 * bit helpers.  Every translation unit of the extension includes this first (the bindings
 * after Python.h).
 *
 * Layout: state (B, 2**n), batch first, contiguous; qubit q is element bit n-1-q.
 * Complex = interleaved (re, im).  dtype codes: 0 float32, 1 float64, 2 complex64,
 * 3 complex128.
 */
#ifndef QT_COMMON_H
#define QT_COMMON_H

#ifndef _GNU_SOURCE /* posix_memalign, clock_gettime, sched_yield under -std=c11 */
#define _GNU_SOURCE
#endif

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32) && !defined(QT_NO_THREADS)
#define QT_THREADS 1
#else
#define QT_THREADS 0
#endif

#if defined(__AVX512F__) && !defined(QT_NO_AVX512)
#include <immintrin.h>
#define QT_AVX512 1
#else
#define QT_AVX512 0
#endif

#define QT_CAT_(a, b) a##_##b
#define QT_CAT(a, b) QT_CAT_(a, b)
#define QT_MAXQ 48 /* max qubits */
#define QT_MAXTH 64 /* max threads */

/* Tuning knobs, settable from Python (set_tuning) for experiments and tests. */
typedef struct {
    long tile_bytes_apply; /* bytes per tile, layer_apply */
    long tile_bytes_adj;   /* bytes per tile per array, layer_adjoint */
    long row_bytes;        /* min contiguous row bytes in strided tiles */
    int ka;                /* register-blocking group size (apply), 1..4 */
    int kb;                /* register-blocking group size (adjoint), 1..3 */
    long min_par_bytes;    /* below this total size run single-threaded */
    int factored;          /* use the factored (1 FMA per output) kernels when possible */
    int fuse;              /* bit 0: fuse layer+permute (forward); bit 1: permute+adjoint.
                              Measured here: the forward fusion saves a sweep, the adjoint one
                              was slower than permuting first, so it is off by default. */
    double max_wait_frac;  /* pool: back off to serial when waiting for helpers exceeds this */
    double min_run_frac;   /* pool: ... or when the caller ran less than this part of a job */
    int backoff_jobs;      /* pool: serial jobs before trying the helpers again (0: never back off) */
} qt_tuning;

extern qt_tuning qt_tune; /* defined in qt_layer.c */

/* insert a zero bit at position b */
static inline size_t qt_ins0(size_t x, int b)
{
    return ((x >> b) << (b + 1)) | (x & (((size_t)1 << b) - 1));
}

/* floor(log2(x)) for x >= 1 */
static inline int qt_ilog2(size_t x)
{
    int l = 0;
    while (((size_t)1 << (l + 1)) <= x) l++;
    return l;
}

/* spread the low nb bits of t to the positions bits[0..nb) */
static inline size_t qt_deposit(size_t t, const int *bits, int nb)
{
    size_t o = 0;
    for (int i = 0; i < nb; i++) o |= ((t >> i) & 1) << bits[i];
    return o;
}

#endif /* QT_COMMON_H */
