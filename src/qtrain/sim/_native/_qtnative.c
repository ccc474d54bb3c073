/*
 * qtrain native accelerator: cache-blocked, vectorised state-vector kernels.
 *
 * A tiny CPython extension (no torch headers): every function takes raw data
 * pointers (tensor.data_ptr()) and sizes; the Python wrapper in __init__.py
 * validates the tensors.  See __init__.py for the semantics of each entry point.
 *
 * Layout: state (B, 2**n), batch first, contiguous; qubit q is element bit
 * n-1-q.  Complex = interleaved (re, im).
 *
 * Blocking: a layer of commuting single-qubit gates is applied in as few passes
 * as possible.  Pass type "contiguous": tiles of 2**T consecutive elements
 * (gates on element bits < T), processed in place.  Pass type "strided": a tile
 * is 2**|S| rows of 2**c consecutive elements (rows selected by the high bits S),
 * copied into a cache-sized buffer, processed, copied back.  Inside a tile, gates
 * on lane bits inside a SIMD register are done with in-register shuffles, the
 * others in register-blocked groups of K gates (2**K vectors live in registers).
 *
 * Factored gates (AVX-512 path): each output row of a 2x2 gate is written as
 * pivot * (x_pivot + r * x_other) with |r| <= 2, i.e. one FMA per output; the
 * pivots of all gates of a pass form a diagonal applied once when the tile is
 * stored.  In the adjoint, psi and g then carry the same partial diagonal; for
 * unitary gates its modulus is constant, so the cross sums only need a scalar
 * fix-up.  Gates that do not factor (or non-unitary ones in the adjoint) use the
 * plain 2x2 kernels.
 *
 * Linear (GF(2)-affine) index maps, e.g. CNOT networks, are applied as one SIMD
 * lane shuffle per register; layer_apply_perm fuses the map into the last pass.
 *
 * Threads: a small pthread pool (see qt_par_run), no OpenMP.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if !defined(_WIN32) && !defined(QT_NO_THREADS)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
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

/* ------------------------------------------------------------------------- */
/* tuning knobs (settable from Python for experiments)                       */
/* ------------------------------------------------------------------------- */
static struct {
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
} qt_tune = {32768, 32768, 256, 3, 2, 1 << 16, 1, 1, 0.35, 0.75, 64};

/* insert a zero bit at position b */
static inline size_t qt_ins0(size_t x, int b)
{
    return ((x >> b) << (b + 1)) | (x & (((size_t)1 << b) - 1));
}

/* ------------------------------------------------------------------------- */
/* kernel instantiations                                                     */
/* ------------------------------------------------------------------------- */

/* float, real */
#if QT_AVX512
#define VEC __m512
#define VW 16
#define VLOGW 4
#define VMASK_T __mmask16
#define VLOAD(p) _mm512_loadu_ps(p)
#define VSTORE(p, x) _mm512_storeu_ps((p), (x))
#define VSET1(a) _mm512_set1_ps(a)
#define VMUL(a, b) _mm512_mul_ps((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_ps((a), (b), (c))
#define VZERO() _mm512_setzero_ps()
#define VBLEND(k, a, b) _mm512_mask_blend_ps((k), (a), (b))
#define VSWAP(x) _mm512_permute_ps((x), 0xB1)
#define VPART0(x) _mm512_permute_ps((x), 0xB1)
#define VPART1(x) _mm512_permute_ps((x), 0x4E)
#define VPART2(x) _mm512_shuffle_f32x4((x), (x), 0xB1)
#define VPART3(x) _mm512_shuffle_f32x4((x), (x), 0x4E)
#define VMASK0 ((__mmask16)0xAAAA)
static const __mmask16 qt_mask_f32[4] = {0xAAAA, 0xCCCC, 0xF0F0, 0xFF00};
#define VMASKP(P) qt_mask_f32[P]
#endif

#define R float
#define CPX 0
#define KSUF f32r
#include "_qtnative_kern.c"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f32c
#include "_qtnative_kern.c"
#undef CPX
#undef KSUF
#undef R

#if QT_AVX512
#undef VEC
#undef VW
#undef VLOGW
#undef VMASK_T
#undef VLOAD
#undef VSTORE
#undef VSET1
#undef VMUL
#undef VFMA
#undef VZERO
#undef VBLEND
#undef VSWAP
#undef VPART0
#undef VPART1
#undef VPART2
#undef VPART3
#undef VMASK0
#undef VMASKP
#define VEC __m512d
#define VW 8
#define VLOGW 3
#define VMASK_T __mmask8
#define VLOAD(p) _mm512_loadu_pd(p)
#define VSTORE(p, x) _mm512_storeu_pd((p), (x))
#define VSET1(a) _mm512_set1_pd(a)
#define VMUL(a, b) _mm512_mul_pd((a), (b))
#define VFMA(a, b, c) _mm512_fmadd_pd((a), (b), (c))
#define VZERO() _mm512_setzero_pd()
#define VBLEND(k, a, b) _mm512_mask_blend_pd((k), (a), (b))
#define VSWAP(x) _mm512_permute_pd((x), 0x55)
#define VPART0(x) _mm512_permute_pd((x), 0x55)
#define VPART1(x) _mm512_shuffle_f64x2((x), (x), 0xB1)
#define VPART2(x) _mm512_shuffle_f64x2((x), (x), 0x4E)
#define VMASK0 ((__mmask8)0xAA)
static const __mmask8 qt_mask_f64[3] = {0xAA, 0xCC, 0xF0};
#define VMASKP(P) qt_mask_f64[P]
#endif

#define R double
#define CPX 0
#define KSUF f64r
#include "_qtnative_kern.c"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f64c
#include "_qtnative_kern.c"
#undef CPX
#undef KSUF
#undef R

typedef void (*tile_apply_fn)(void *, int, int, const int *, const int *, const void *, int);
typedef void (*tile_adj_fn)(void *, void *, int, int, const int *, const int *, const void *,
                            double *);
typedef void (*store_cross_fn)(const double *, void *, int);
typedef size_t (*fctx_bytes_fn)(int);
typedef int (*fprep_fn)(void *, int, int, const int *, const int *, const void *, int);
typedef void (*frun_apply_fn)(const void *, void *);
typedef void (*frun_adj_fn)(const void *, void *, void *, double *);
typedef void (*ffinal_fn)(const void *, double *, double *);

/* dtype codes: 0 float32, 1 float64, 2 complex64, 3 complex128 */
static const struct {
    tile_apply_fn ap;
    tile_adj_fn adj;
    store_cross_fn sc;
    fctx_bytes_fn fbytes;
    fprep_fn fprep;
    frun_apply_fn fap;
    frun_adj_fn fadj;
    ffinal_fn ffin;
    int esize; /* bytes per element */
    int nr;    /* reals per element */
} KT[4] = {
    {tile_apply_f32r, tile_adj_f32r, store_cross_f32r, fctx_bytes_f32r, fprep_f32r,
     frun_apply_f32r, frun_adj_f32r, ffinal_f32r, 4, 1},
    {tile_apply_f64r, tile_adj_f64r, store_cross_f64r, fctx_bytes_f64r, fprep_f64r,
     frun_apply_f64r, frun_adj_f64r, ffinal_f64r, 8, 1},
    {tile_apply_f32c, tile_adj_f32c, store_cross_f32c, fctx_bytes_f32c, fprep_f32c,
     frun_apply_f32c, frun_adj_f32c, ffinal_f32c, 8, 2},
    {tile_apply_f64c, tile_adj_f64c, store_cross_f64c, fctx_bytes_f64c, fprep_f64c,
     frun_apply_f64c, frun_adj_f64c, ffinal_f64c, 16, 2},
};

/* ------------------------------------------------------------------------- */
/* threading helpers                                                         */
/* ------------------------------------------------------------------------- */

static inline int qt_ilog2(size_t x)
{
    int l = 0;
    while (((size_t)1 << (l + 1)) <= x) l++;
    return l;
}

static int qt_threads(int nthreads, size_t total_bytes)
{
#if QT_THREADS
    if (nthreads < 1) nthreads = 1;
    if (nthreads > QT_MAXTH) nthreads = QT_MAXTH;
    if ((long)total_bytes < qt_tune.min_par_bytes) nthreads = 1;
    return nthreads;
#else
    (void)nthreads;
    (void)total_bytes;
    return 1;
#endif
}

/* ------------------------------------------------------------------------- */
/* thread pool                                                               */
/*                                                                           */
/* qt_par_run(fn, fin, arg, ntasks, nslots) runs fn(arg, task, slot) for all  */
/* tasks; the calling thread (slot 0) works too and helpers (slots 1..) claim */
/* tasks dynamically.  The caller only waits for tasks that a helper has      */
/* actually claimed, never for a helper to show up: on a loaded machine a     */
/* descheduled helper costs nothing.  fin(arg, slot) runs once in every slot  */
/* that ran a task, before qt_par_run returns.  Helpers spin briefly after a  */
/* job, then sleep on a condition variable.                                   */
/* ------------------------------------------------------------------------- */
typedef void (*qt_task_fn)(void *arg, size_t task, int slot);
typedef void (*qt_fin_fn)(void *arg, int slot);

#if QT_THREADS
typedef struct {
    qt_task_fn fn;
    qt_fin_fn fin;
    void *arg;
    uint32_t ntasks;
    int nslots;
} qt_job_t;

static struct {
    pthread_mutex_t mu;      /* sleeping helpers */
    pthread_cond_t cv;
    pthread_mutex_t master;  /* one job at a time */
    int nhelpers;
    _Atomic uint32_t seq;    /* seqlock over job: odd while being written */
    qt_job_t job;
    _Atomic uint64_t ticket; /* (seq << 32) | next task */
    _Atomic uint32_t done, active, flushed;
    _Atomic int sleeping;
} qt_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

static long qt_spin_iters = 2000; /* helper spin before sleeping (~50 us here) */
/* Oversubscription guard: when the caller keeps waiting for tasks held by helpers that the OS
   does not run (a loaded machine), run serially for a while, then try again. */
static double qt_wait_ewma = 0.0;
static int qt_backoff = 0;

static int qt_strikes = 0;
static int qt_backoff_len = 0; /* grows while parallel attempts keep failing */
static int qt_good_jobs = 0;

static inline double qt_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double qt_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static struct { /* counters for diagnostics (racy increments are fine) */
    unsigned long long jobs, tasks, helper_tasks, yields, wakeups, backoffs, serial_jobs;
    double task_time[2];
    unsigned long long task_count[2];
} qt_stats;

static inline void qt_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* claim and run tasks of job generation g; returns the number of tasks run */
static uint32_t qt_claim_loop(const qt_job_t *jb, uint32_t g, int slot, int count_active)
{
    uint32_t ran = 0;
    for (;;) {
        uint64_t tk = atomic_load(&qt_pool.ticket);
        if ((uint32_t)(tk >> 32) != g) break;
        const uint32_t nx = (uint32_t)tk;
        if (nx >= jb->ntasks) break;
        if (!atomic_compare_exchange_weak(&qt_pool.ticket, &tk, tk + 1)) continue;
        if (ran == 0 && count_active) atomic_fetch_add(&qt_pool.active, 1);
        const double ts0 = qt_now();
        jb->fn(jb->arg, nx, slot);
        qt_stats.task_time[slot ? 1 : 0] += qt_now() - ts0;
        qt_stats.task_count[slot ? 1 : 0]++;
        ran++;
        if (slot) qt_stats.helper_tasks++;
        atomic_fetch_add(&qt_pool.done, 1);
    }
    return ran;
}

static void *qt_helper_main(void *varg)
{
    const int slot = (int)(intptr_t)varg;
    uint32_t seen = atomic_load(&qt_pool.seq);
    for (;;) {
        uint32_t g = atomic_load(&qt_pool.seq);
        for (long i = 0; (g == seen || (g & 1)) && i < qt_spin_iters; i++) {
            qt_pause();
            g = atomic_load(&qt_pool.seq);
        }
        if (g == seen || (g & 1)) {
            pthread_mutex_lock(&qt_pool.mu);
            atomic_fetch_add(&qt_pool.sleeping, 1);
            while ((g = atomic_load(&qt_pool.seq)) == seen || (g & 1))
                pthread_cond_wait(&qt_pool.cv, &qt_pool.mu);
            atomic_fetch_sub(&qt_pool.sleeping, 1);
            pthread_mutex_unlock(&qt_pool.mu);
        }
        qt_job_t jb = qt_pool.job; /* seqlock read */
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load(&qt_pool.seq) != g) continue; /* replaced meanwhile: look again */
        seen = g;
        if (slot >= jb.nslots) continue;
        if (qt_claim_loop(&jb, g, slot, 1)) {
            if (jb.fin) jb.fin(jb.arg, slot);
            atomic_fetch_add(&qt_pool.flushed, 1);
        }
    }
    return NULL;
}

static void qt_pool_atfork_child(void)
{
    /* helper threads do not exist in a forked child: start afresh */
    pthread_mutex_init(&qt_pool.mu, NULL);
    pthread_cond_init(&qt_pool.cv, NULL);
    pthread_mutex_init(&qt_pool.master, NULL);
    qt_pool.nhelpers = 0;
    atomic_store(&qt_pool.sleeping, 0);
}

static void qt_pool_grow(int want)
{
    static int atfork_done = 0;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, qt_pool_atfork_child);
        atfork_done = 1;
    }
    while (qt_pool.nhelpers < want) {
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 1 << 20);
        const int rc = pthread_create(&th, &at, qt_helper_main, (void *)(intptr_t)(qt_pool.nhelpers + 1));
        pthread_attr_destroy(&at);
        if (rc != 0) break;
        qt_pool.nhelpers++;
    }
}
#endif

static void qt_par_run(qt_task_fn fn, qt_fin_fn fin, void *arg, size_t ntasks, int nslots)
{
    if (ntasks == 0) return;
#if QT_THREADS
    if (nslots > 1 && ntasks > 1 && ntasks < 0xffffffffu && pthread_mutex_trylock(&qt_pool.master) == 0) {
        qt_pool_grow(nslots - 1);
        if (qt_backoff > 0 && qt_tune.backoff_jobs > 0) {
            qt_backoff--;
            qt_stats.serial_jobs++;
        } else if (qt_pool.nhelpers > 0) {
            const double t0 = qt_now(), c0 = qt_cpu_now();
            if (nslots > qt_pool.nhelpers + 1) nslots = qt_pool.nhelpers + 1;
            const uint32_t g0 = atomic_load(&qt_pool.seq);
            atomic_store(&qt_pool.seq, g0 + 1); /* odd: being written */
            atomic_thread_fence(memory_order_release);
            qt_pool.job.fn = fn;
            qt_pool.job.fin = fin;
            qt_pool.job.arg = arg;
            qt_pool.job.ntasks = (uint32_t)ntasks;
            qt_pool.job.nslots = nslots;
            atomic_store(&qt_pool.done, 0);
            atomic_store(&qt_pool.active, 0);
            atomic_store(&qt_pool.flushed, 0);
            const uint32_t g = g0 + 2;
            atomic_store(&qt_pool.ticket, (uint64_t)g << 32);
            atomic_store(&qt_pool.seq, g); /* published */
            qt_stats.jobs++;
            qt_stats.tasks += ntasks;
            if (atomic_load(&qt_pool.sleeping) > 0) {
                qt_stats.wakeups++;
                pthread_mutex_lock(&qt_pool.mu);
                pthread_cond_broadcast(&qt_pool.cv);
                pthread_mutex_unlock(&qt_pool.mu);
            }
            const qt_job_t jb = qt_pool.job;
            if (qt_claim_loop(&jb, g, 0, 0) && fin) fin(arg, 0);
            const double t1 = qt_now();
            /* wait for the tasks that helpers claimed, and for their fin() */
            long spins = 0;
            while (atomic_load(&qt_pool.done) < (uint32_t)ntasks ||
                   atomic_load(&qt_pool.flushed) < atomic_load(&qt_pool.active)) {
                if (++spins < 4000)
                    qt_pause();
                else {
                    sched_yield(); /* let a descheduled helper finish its task */
                    qt_stats.yields++;
                }
            }
            const double t2 = qt_now(), c2 = qt_cpu_now();
            if (t2 - t0 > 20e-6) {
                /* Two signs that the machine cannot run our threads side by side: the caller
                   waits long for helper-held tasks, or the caller itself is descheduled for a
                   good part of the job (it shares a core with our helper or other work). */
                qt_wait_ewma = 0.8 * qt_wait_ewma + 0.2 * ((t2 - t1) / (t2 - t0));
                qt_strikes = (c2 - c0 < qt_tune.min_run_frac * (t2 - t0)) ? qt_strikes + 1 : 0;
                if (qt_wait_ewma > qt_tune.max_wait_frac || qt_strikes >= 2) {
                    /* exponential back-off: 1x, 2x, ... 64x backoff_jobs while it keeps failing */
                    qt_backoff_len = qt_backoff_len ? qt_backoff_len * 2 : qt_tune.backoff_jobs;
                    if (qt_backoff_len > 64 * qt_tune.backoff_jobs) qt_backoff_len = 64 * qt_tune.backoff_jobs;
                    qt_backoff = qt_backoff_len;
                    qt_wait_ewma = 0.0;
                    qt_strikes = 0;
                    qt_good_jobs = 0;
                    qt_stats.backoffs++;
                } else if (++qt_good_jobs >= 16) {
                    qt_backoff_len = 0; /* parallel runs well again */
                }
            }
            pthread_mutex_unlock(&qt_pool.master);
            return;
        }
        pthread_mutex_unlock(&qt_pool.master);
    }
#else
    (void)nslots;
#endif
    for (size_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    if (fin) fin(arg, 0);
}

/* how many tasks to cut `items` work items into for dynamic claiming */
static size_t qt_ntasks(size_t items, int nslots)
{
    if (nslots <= 1) return 1;
    size_t t = (size_t)nslots * 16;
    return t < items ? t : items;
}

static inline void qt_task_range(size_t items, size_t ntasks, size_t task, size_t *lo, size_t *hi)
{
    *lo = items * task / ntasks;
    *hi = items * (task + 1) / ntasks;
}

static void *qt_aligned_alloc(size_t bytes)
{
    void *p = NULL;
    if (bytes == 0) bytes = 64;
    if (posix_memalign(&p, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
    return p;
}

/* ------------------------------------------------------------------------- */
/* pass planning                                                             */
/* ------------------------------------------------------------------------- */
typedef struct {
    int T;          /* log2(elements per tile) */
    int contiguous; /* 1: tiles are consecutive blocks of 2**T elements */
    int c;          /* strided: log2(row length) */
    int nS;         /* strided: number of row-selecting bits */
    int S[QT_MAXQ]; /* strided: row-selecting element bits (ascending) */
    int nfree;      /* strided: bits enumerating tiles */
    int freeb[QT_MAXQ];
    int ng;
    int gidx[QT_MAXQ];  /* gate ids */
    int lbits[QT_MAXQ]; /* local bit of each gate inside the tile */
} qt_pass;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void plan_strided(qt_pass *p, int n, int c, const int *bits, int nb, const int *wbits,
                         int nw)
{
    /* tile = element bits [0, c) + bits[0..nb) (all >= c, ascending) */
    p->contiguous = 0;
    p->c = c;
    p->nS = nb;
    for (int i = 0; i < nb; i++) p->S[i] = bits[i];
    p->T = c + nb;
    p->nfree = 0;
    for (int b = c; b < n; b++) {
        int in = 0;
        for (int i = 0; i < nb; i++) in |= (bits[i] == b);
        if (!in) p->freeb[p->nfree++] = b;
    }
    p->ng = 0;
    for (int g = 0; g < nw; g++) {
        int lb = -1;
        if (wbits[g] < c) lb = wbits[g];
        for (int i = 0; i < nb; i++)
            if (bits[i] == wbits[g]) lb = c + i;
        if (lb >= 0) {
            p->gidx[p->ng] = g;
            p->lbits[p->ng] = lb;
            p->ng++;
        }
    }
}

/* Returns number of passes written to ps (<= QT_MAXQ). wbits: element bit of each gate. */
static int plan_passes(int n, int nw, const int *wbits, int esize, long tile_bytes,
                       long row_bytes, qt_pass *ps)
{
    int Tmax = qt_ilog2((size_t)(tile_bytes / esize > 2 ? tile_bytes / esize : 2));
    int c = qt_ilog2((size_t)(row_bytes / esize > 1 ? row_bytes / esize : 1));
    if (c > Tmax - 1) c = Tmax - 1;
    if (c < 0) c = 0;
    if (nw == 0) return 0;
    if (n <= Tmax) { /* whole sample is one tile */
        qt_pass *p = &ps[0];
        p->T = n;
        p->contiguous = 1;
        p->ng = nw;
        for (int g = 0; g < nw; g++) {
            p->gidx[g] = g;
            p->lbits[g] = wbits[g];
        }
        return 1;
    }
    int sorted[QT_MAXQ];
    for (int g = 0; g < nw; g++) sorted[g] = wbits[g];
    qsort(sorted, (size_t)nw, sizeof(int), cmp_int);
    int nhigh = 0, nlow = 0, next = 0;
    for (int g = 0; g < nw; g++) {
        nhigh += sorted[g] >= Tmax;
        nlow += sorted[g] < Tmax;
        next += sorted[g] >= c;
    }
    int np = 0;
    if (nhigh == 0) {
        qt_pass *p = &ps[np++];
        p->T = Tmax;
        p->contiguous = 1;
        p->ng = nw;
        for (int g = 0; g < nw; g++) {
            p->gidx[g] = g;
            p->lbits[g] = wbits[g];
        }
        return np;
    }
    if (next <= Tmax - c) { /* a single strided pass holds every gate */
        plan_strided(&ps[np++], n, c, sorted + (nw - next), next, wbits, nw);
        return np;
    }
    if (nlow > 0) {
        qt_pass *p = &ps[np++];
        p->T = Tmax;
        p->contiguous = 1;
        p->ng = 0;
        for (int g = 0; g < nw; g++)
            if (wbits[g] < Tmax) {
                p->gidx[p->ng] = g;
                p->lbits[p->ng] = wbits[g];
                p->ng++;
            }
    }
    /* high gates in chunks of Tmax - c bits; the last chunk may be padded with
       nothing (smaller tile). */
    const int *hi = sorted + nlow;
    int chunk = Tmax - c, done = 0;
    while (done < nhigh) {
        int k = nhigh - done < chunk ? nhigh - done : chunk;
        /* rows as long as the tile budget allows (fewer, longer streams) */
        int ck = Tmax - k;
        if (ck < c) ck = c;
        qt_pass *p = &ps[np++];
        plan_strided(p, n, ck, hi + done, k, wbits, nw);
        /* drop gates with bit < c from strided passes (already applied) */
        int ng = 0;
        for (int g = 0; g < p->ng; g++)
            if (p->lbits[g] >= p->c) {
                p->gidx[ng] = p->gidx[g];
                p->lbits[ng] = p->lbits[g];
                ng++;
            }
        p->ng = ng;
        done += k;
    }
    return np;
}

static inline size_t qt_deposit(size_t t, const int *bits, int nb)
{
    size_t o = 0;
    for (int i = 0; i < nb; i++) o |= ((t >> i) & 1) << bits[i];
    return o;
}

__attribute__((noinline, optimize("no-tree-loop-distribute-patterns"))) static void
qt_copy_rows(char *restrict dst, const char *restrict src, const size_t *rowoff, size_t nrows,
             size_t rowbytes, int in)
{
    /* in=1: dst(buffer) <- src rows; in=0: src rows <- dst(buffer) */
#if QT_AVX512
    if ((rowbytes & 63) == 0) {
        const size_t nv = rowbytes >> 6;
        for (size_t r = 0; r < nrows; r++) {
            char *b = dst + r * rowbytes;
            char *m = (char *)src + rowoff[r];
            if (in)
                for (size_t v = 0; v < nv; v++)
                    _mm512_storeu_si512((void *)(b + 64 * v), _mm512_loadu_si512((const void *)(m + 64 * v)));
            else
                for (size_t v = 0; v < nv; v++)
                    _mm512_storeu_si512((void *)(m + 64 * v), _mm512_loadu_si512((const void *)(b + 64 * v)));
        }
        return;
    }
#endif
    for (size_t r = 0; r < nrows; r++) {
        if (in)
            memcpy(dst + r * rowbytes, src + rowoff[r], rowbytes);
        else
            memcpy((char *)src + rowoff[r], dst + r * rowbytes, rowbytes);
    }
}

/* ------------------------------------------------------------------------- */
/* linear (GF(2)) index maps                                                 */
/* ------------------------------------------------------------------------- */
static inline size_t qt_lin(size_t x, const size_t *cols)
{
    size_t r = 0;
    while (x) {
        r ^= cols[__builtin_ctzll((unsigned long long)x)];
        x &= x - 1;
    }
    return r;
}

/* inverse of the n x n GF(2) matrix with columns cols; returns 0 if singular */
static int qt_gf2_inverse(const size_t *cols, int n, size_t *inv)
{
    size_t a[QT_MAXQ], b[QT_MAXQ]; /* rows of [A | I] */
    for (int i = 0; i < n; i++) {
        a[i] = 0;
        for (int j = 0; j < n; j++) a[i] |= ((cols[j] >> i) & 1) << j;
        b[i] = (size_t)1 << i;
    }
    for (int c = 0; c < n; c++) {
        int piv = -1;
        for (int r = c; r < n; r++)
            if ((a[r] >> c) & 1) { piv = r; break; }
        if (piv < 0) return 0;
        size_t t = a[c]; a[c] = a[piv]; a[piv] = t;
        t = b[c]; b[c] = b[piv]; b[piv] = t;
        for (int r = 0; r < n; r++)
            if (r != c && ((a[r] >> c) & 1)) { a[r] ^= a[c]; b[r] ^= b[c]; }
    }
    for (int j = 0; j < n; j++) {
        inv[j] = 0;
        for (int i = 0; i < n; i++) inv[j] |= ((b[i] >> j) & 1) << i;
    }
    return 1;
}

/* ------------------------------------------------------------------------- */
/* layer drivers                                                             */
/* ------------------------------------------------------------------------- */
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

#if QT_AVX512
/* rows of a tile <-> memory through the linear map (one SIMD register = 2**v elements) */
static void qt_rows_perm(char *restrict buf, char *restrict mem, const size_t *Lroff, size_t nrows,
                         size_t rowvecs, const size_t *Lrow, size_t Lbase, int v,
                         const int32_t (*tab)[16], int scatter)
{
    const size_t mask = ((size_t)1 << v) - 1;
    for (size_t r = 0; r < nrows; r++) {
        const size_t s0 = Lbase ^ Lroff[r];
        char *b = buf + r * rowvecs * 64;
        for (size_t u = 0; u < rowvecs; u++) {
            const size_t s = s0 ^ Lrow[u];
            const __m512i idx = _mm512_loadu_si512((const void *)tab[s & mask]);
            char *m = mem + (s >> v) * 64;
            if (scatter)
                _mm512_storeu_si512((void *)m, _mm512_permutexvar_epi32(idx, _mm512_loadu_si512((const void *)(b + u * 64))));
            else
                _mm512_storeu_si512((void *)(b + u * 64), _mm512_permutexvar_epi32(idx, _mm512_loadu_si512((const void *)m)));
        }
    }
}
#endif

/* can the job's permutation be fused?  fills v and the lane tables */
static int qt_fusable(const qt_layer_job *J, const qt_pass *fp, int *vout, int32_t (*tab)[16])
{
#if QT_AVX512
    const int esize = KT[J->dt].esize;
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
        for (size_t x = 0; x < V; x++)
            for (int l = 0; l < 16; l++)
                tab[x][l] = (int32_t)((Llo[(size_t)l / (size_t)lpe] ^ x) * (size_t)lpe + (size_t)l % (size_t)lpe);
    }
    *vout = v;
    return 1;
#else
    (void)J; (void)fp; (void)vout; (void)tab;
    return 0;
#endif
}

static int run_perm_linear(const char *src, char *dst, size_t B, int n, int esize, size_t c0,
                           const size_t *cols, int nthreads);

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

static void qt_layer_fin(void *arg, int slot)
{
    qt_pass_run *R = (qt_pass_run *)arg;
    qt_slot *sl = &R->slots[slot];
    qt_layer_job *J = R->J;
    if (R->adj && sl->fac && sl->pass == R->ip) {
        double *cr = J->cross + J->crstride * (size_t)slot;
        KT[J->dt].ffin(sl->ctx, sl->lacc, cr + (J->per_sample ? sl->prepped_b * (size_t)J->nw * 8 : 0));
    }
    sl->pass = -1;
    sl->fac = 0;
}

static void qt_layer_task(void *arg, size_t task, int slot)
{
    qt_pass_run *R = (qt_pass_run *)arg;
    qt_layer_job *J = R->J;
    const qt_pass *p = R->p;
    qt_slot *sl = &R->slots[slot];
    const int dt = J->dt, esize = R->esize, adj = R->adj;
    const size_t N = (size_t)1 << J->n;
    double *cr = adj ? J->cross + J->crstride * (size_t)slot : NULL;
    if (sl->pass != R->ip) {
        sl->pass = R->ip;
        sl->prepped_b = (size_t)-1;
        sl->fac = 0;
    }
    size_t lo, hi;
    qt_task_range(R->total, R->ntasks, task, &lo, &hi);
    for (size_t it = lo; it < hi; it++) {
        const size_t b = it / R->ntiles, t = it % R->ntiles;
        const char *m = J->mats + (J->per_sample ? b * R->mstride : 0);
        double *crb = adj ? cr + (J->per_sample ? b * (size_t)J->nw * 8 : 0) : NULL;
        char *s = J->st + b * N * (size_t)esize;
        char *gs = adj ? J->gst + b * N * (size_t)esize : NULL;
        if (p->ng && sl->ctx && (sl->prepped_b == (size_t)-1 || (J->per_sample && b != sl->prepped_b))) {
            if (adj && sl->fac) /* flush the previous sample's lane sums */
                KT[dt].ffin(sl->ctx, sl->lacc, cr + (J->per_sample ? sl->prepped_b * (size_t)J->nw * 8 : 0));
            sl->fac = KT[dt].fprep(sl->ctx, p->T, p->ng, p->lbits, p->gidx, m, adj);
            sl->prepped_b = b;
        }
        const size_t base = p->contiguous ? (t << p->T) : qt_deposit(t, p->freeb, p->nfree);
        const size_t off = base * (size_t)esize;
        char *ts, *tg;
        /* a contiguous tile gathered through the map lands directly in its final place */
        const int direct = R->fused && J->fuse == 2 && p->contiguous;
        if (R->buffered) {
#if QT_AVX512
            if (R->fused && J->fuse == 2) {
                const size_t Lb = qt_lin(base, J->Lcols) ^ J->Lc;
                qt_rows_perm(direct ? s + off : sl->buf, (char *)J->src + b * N * (size_t)esize, R->Lroff,
                             R->nrows, R->rowvecs, R->Lrow, Lb, R->v, R->tab, 0);
                if (adj)
                    qt_rows_perm(direct ? gs + off : sl->gbuf, (char *)J->gsrc + b * N * (size_t)esize,
                                 R->Lroff, R->nrows, R->rowvecs, R->Lrow, Lb, R->v, R->tab, 0);
            } else
#endif
            {
                qt_copy_rows(sl->buf, s + off, R->rowoff, R->nrows, R->rowbytes, 1);
                if (adj) qt_copy_rows(sl->gbuf, gs + off, R->rowoff, R->nrows, R->rowbytes, 1);
            }
            ts = direct ? s + off : sl->buf;
            tg = direct ? (adj ? gs + off : NULL) : sl->gbuf;
        } else {
            ts = s + off;
            tg = adj ? gs + off : NULL;
        }
        if (p->ng) {
            if (adj) {
                if (sl->fac) KT[dt].fadj(sl->ctx, ts, tg, sl->lacc);
                else KT[dt].adj(ts, tg, p->T, p->ng, p->lbits, p->gidx, m, crb);
            } else {
                if (sl->fac) KT[dt].fap(sl->ctx, ts);
                else KT[dt].ap(ts, p->T, p->ng, p->lbits, p->gidx, m, 0);
            }
        }
        if (R->buffered && !direct) {
#if QT_AVX512
            if (R->fused && J->fuse == 1) {
                const size_t Lb = qt_lin(base, J->Lcols) ^ J->Lc;
                qt_rows_perm(sl->buf, J->dst + b * N * (size_t)esize, R->Lroff, R->nrows, R->rowvecs,
                             R->Lrow, Lb, R->v, R->tab, 1);
            } else
#endif
            {
                if (adj) qt_copy_rows(sl->gbuf, gs + off, R->rowoff, R->nrows, R->rowbytes, 0);
                qt_copy_rows(sl->buf, s + off, R->rowoff, R->nrows, R->rowbytes, 0);
            }
        }
    }
}

/* Returns 0 on success, -1 on allocation failure; with J->fuse != 0 and a plan that
   cannot be fused, returns 1 without doing anything. */
static int run_layer(qt_layer_job *J)
{
    const int dt = J->dt, esize = KT[dt].esize, nr = KT[dt].nr;
    const int adj = J->gst != NULL;
    const size_t N = (size_t)1 << J->n;
    qt_pass passes[QT_MAXQ];
    int np = plan_passes(J->n, J->nw, J->wbits, esize,
                         adj ? qt_tune.tile_bytes_adj : qt_tune.tile_bytes_apply,
                         qt_tune.row_bytes, passes);
    if (J->fuse && np == 0) { /* no gates: a plain copy pass through the map */
        qt_pass *p = &passes[0];
        p->T = J->n < 12 ? J->n : 12;
        p->contiguous = 1;
        p->ng = 0;
        np = 1;
    }
    if (np == 0 || J->B == 0) return 0;
    if (J->fuse && np > 1) {
        /* Fuse the map into the pass whose rows it keeps contiguous (the map sends the row's
           low bits into themselves), preferring the longest rows: then the permuted copy
           streams through memory.  That pass goes last (scatter) or first (gather). */
        /* Preference (measured): apply+scatter -> the strided pass (its copy-out becomes the
           scatter); gather+adjoint -> the contiguous pass (its source blocks are contiguous). */
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
    }
    const int fpass = J->fuse == 1 ? np - 1 : 0;
    int v = 0;
    int32_t tab[16][16];
    if (J->fuse && !qt_fusable(J, &passes[fpass], &v, tab)) return 1;
    int maxT = 0, maxS = 0, anybuf = 0;
    for (int i = 0; i < np; i++) {
        if (passes[i].T > maxT) maxT = passes[i].T;
        if (!passes[i].contiguous) {
            anybuf = 1;
            if (passes[i].nS > maxS) maxS = passes[i].nS;
        }
    }
    if (J->fuse) anybuf = 1;
    const int nt = qt_threads(J->nthreads, J->B * N * (size_t)esize * (adj ? 2 : 1));
    const size_t tilebytes = ((size_t)esize << maxT);
    const size_t ctxbytes = qt_tune.factored ? ((KT[dt].fbytes(maxT) + 63) & ~(size_t)63) : 0;
    const size_t nrowmax = (size_t)1 << maxS;
    const size_t nlrow = J->fuse ? ((size_t)1 << (maxT > v ? maxT - v : 0)) : 0;
    const size_t laccbytes = (adj && ctxbytes) ? sizeof(double) * (size_t)J->nw * 8 * 16 : 0;
    size_t perthread = ctxbytes + laccbytes + (anybuf ? tilebytes * (adj ? 2 : 1) : 0);
    perthread = (perthread + 63) & ~(size_t)63; /* the context holds SIMD vectors */
    const size_t shared = sizeof(size_t) * (2 * nrowmax + nlrow) + sizeof(qt_slot) * (size_t)nt;
    char *work = (char *)qt_aligned_alloc(perthread * (size_t)nt + shared);
    if (!work) return -1;
    qt_slot *slots = (qt_slot *)(work + perthread * (size_t)nt);
    size_t *rowoff = (size_t *)(slots + nt);
    size_t *Lroff = rowoff + nrowmax;
    size_t *Lrow = Lroff + nrowmax;
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
    qt_pass_run R;
    memset(&R, 0, sizeof(R));
    R.J = J;
    R.slots = slots;
    R.esize = esize;
    R.adj = adj;
    R.v = v;
    R.tab = (const int32_t(*)[16])tab;
    R.mstride = (size_t)J->nw * 4 * nr * (esize / nr); /* bytes of one sample's mats */
    R.rowoff = rowoff;
    R.Lroff = Lroff;
    R.Lrow = Lrow;
    for (int ip = 0; ip < np; ip++) {
        const qt_pass *p = &passes[ip];
        R.p = p;
        R.ip = ip;
        R.fused = J->fuse && ip == fpass;
        R.buffered = !p->contiguous || R.fused;
        R.ntiles = N >> p->T;
        R.total = J->B * R.ntiles;
        R.nrows = R.rowbytes = R.rowvecs = 0;
        if (R.buffered) {
            const int rb = p->contiguous ? p->T : p->c;
            R.nrows = p->contiguous ? 1 : (size_t)1 << p->nS;
            R.rowbytes = (size_t)esize << rb;
            for (size_t r = 0; r < R.nrows; r++)
                rowoff[r] = p->contiguous ? 0 : qt_deposit(r, p->S, p->nS) * (size_t)esize;
            if (R.fused) {
                R.rowvecs = (size_t)1 << (rb - v);
                for (size_t r = 0; r < R.nrows; r++) Lroff[r] = qt_lin(rowoff[r] / (size_t)esize, J->Lcols);
                for (size_t u = 0; u < R.rowvecs; u++) Lrow[u] = qt_lin(u << v, J->Lcols);
            }
        }
        R.ntasks = qt_ntasks(R.total, nt);
        qt_par_run(qt_layer_task, qt_layer_fin, &R, R.ntasks, nt);
    }
    free(work);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* permutations                                                              */
/* ------------------------------------------------------------------------- */

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

/* out[b, k] = in[b, c0 ^ L(k)], L linear with L(e_j) = cols[j]. */
static int run_perm_linear(const char *src, char *dst, size_t B, int n, int esize, size_t c0,
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
        const size_t V = (size_t)1 << v;
        const int lpe = esize / 4; /* 32-bit lanes per element */
        int32_t tab[16][16];
        size_t Llo[16];
        for (size_t e = 0; e < V; e++) Llo[e] = qt_lin(e, cols);
        for (size_t x = 0; x < V; x++)
            for (int l = 0; l < 16; l++) {
                size_t e = (size_t)l / (size_t)lpe, sub = (size_t)l % (size_t)lpe;
                tab[x][l] = (int32_t)((Llo[e] ^ x) * (size_t)lpe + sub);
            }
        P.v = v;
        P.tab = (const int32_t(*)[16])tab;
        P.per = N >> v;
        P.ntasks = qt_ntasks(B * P.per, nt);
        qt_par_run(qt_perm_vec_task, NULL, &P, P.ntasks, nt);
        return 0;
    }
#endif
    P.per = N;
    P.ntasks = qt_ntasks(B * N, nt);
    qt_par_run(qt_perm_sc_task, NULL, &P, P.ntasks, nt);
    return 0;
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

static int run_perm_index(const char *src, char *dst, size_t B, int n, int esize, const void *idx,
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
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Python glue                                                               */
/* ------------------------------------------------------------------------- */

static int get_ptr(PyObject *o, char **p)
{
    void *v = PyLong_AsVoidPtr(o);
    if (v == NULL && PyErr_Occurred()) return -1;
    *p = (char *)v;
    return 0;
}

static int get_ssize(PyObject *o, Py_ssize_t *x)
{
    *x = PyLong_AsSsize_t(o);
    if (*x == -1 && PyErr_Occurred()) return -1;
    return 0;
}

static int check_nargs(Py_ssize_t nargs, Py_ssize_t want, const char *name)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s expects %zd arguments, got %zd", name, want, nargs);
        return -1;
    }
    return 0;
}

/* parse wires (sequence of ints) into element bit positions; validates range and distinctness */
static int parse_wires(PyObject *seq, int n, int *wbits, int *nw)
{
    PyObject *fast = PySequence_Fast(seq, "wires must be a sequence of ints");
    if (!fast) return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    if (len > n || len > QT_MAXQ) {
        Py_DECREF(fast);
        PyErr_Format(PyExc_ValueError, "%zd wires given for a %d-qubit state", len, n);
        return -1;
    }
    PyObject **items = PySequence_Fast_ITEMS(fast);
    uint64_t seen = 0;
    for (Py_ssize_t i = 0; i < len; i++) {
        long w = PyLong_AsLong(items[i]);
        if (w == -1 && PyErr_Occurred()) {
            Py_DECREF(fast);
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "wires must be ints");
            return -1;
        }
        if (w < 0 || w >= n) {
            Py_DECREF(fast);
            PyErr_Format(PyExc_ValueError, "wire %ld out of range for %d qubits", w, n);
            return -1;
        }
        if ((seen >> w) & 1) {
            Py_DECREF(fast);
            PyErr_Format(PyExc_ValueError, "wire %ld given twice", w);
            return -1;
        }
        seen |= (uint64_t)1 << w;
        wbits[i] = n - 1 - (int)w;
    }
    *nw = (int)len;
    Py_DECREF(fast);
    return 0;
}

static int parse_cols(PyObject *seq, int n, size_t *cols)
{
    PyObject *fast = PySequence_Fast(seq, "cols must be a sequence");
    if (!fast) return -1;
    if (PySequence_Fast_GET_SIZE(fast) != n) {
        Py_DECREF(fast);
        PyErr_SetString(PyExc_ValueError, "cols length mismatch");
        return -1;
    }
    const size_t N = (size_t)1 << n;
    for (Py_ssize_t j = 0; j < n; j++) {
        cols[j] = PyLong_AsSize_t(PySequence_Fast_GET_ITEM(fast, j));
        if (PyErr_Occurred() || cols[j] >= N) {
            Py_DECREF(fast);
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "bad cols");
            return -1;
        }
    }
    Py_DECREF(fast);
    return 0;
}

/* common argument parsing: (st, B, n, dtype, wires, mats, per_sample) at positions given */
static int parse_layer(PyObject *const *args, qt_layer_job *J, int ist, int iB, int in, int idt,
                       int iw, int im, int ips)
{
    Py_ssize_t B, n, dt, ps;
    char *mats;
    if (get_ptr(args[ist], &J->st) || get_ssize(args[iB], &B) || get_ssize(args[in], &n) ||
        get_ssize(args[idt], &dt) || get_ptr(args[im], &mats) || get_ssize(args[ips], &ps))
        return -1;
    if (dt < 0 || dt > 3 || n < 0 || n > QT_MAXQ || B < 0) {
        PyErr_SetString(PyExc_ValueError, "bad dtype code / size");
        return -1;
    }
    J->dt = (int)dt;
    J->B = (size_t)B;
    J->n = (int)n;
    if (parse_wires(args[iw], J->n, J->wbits, &J->nw)) return -1;
    J->mats = mats;
    J->per_sample = (int)ps;
    return 0;
}

/* layer_apply(state_ptr, B, n, dtype, wires, mats_ptr, per_sample, nthreads) */
static PyObject *py_layer_apply(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 8, "layer_apply")) return NULL;
    qt_layer_job J;
    memset(&J, 0, sizeof(J));
    Py_ssize_t nth;
    if (parse_layer(args, &J, 0, 1, 2, 3, 4, 5, 6) || get_ssize(args[7], &nth)) return NULL;
    J.nthreads = (int)nth;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = run_layer(&J);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* layer_apply_perm(state, out, B, n, dtype, wires, mats, per_sample, c0, cols, nthreads):
   out[b, k] = (layer state)[b, c0 ^ A k]; state is clobbered. */
static PyObject *py_layer_apply_perm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 11, "layer_apply_perm")) return NULL;
    qt_layer_job J;
    memset(&J, 0, sizeof(J));
    Py_ssize_t nth, c0;
    size_t cols[QT_MAXQ];
    if (parse_layer(args, &J, 0, 2, 3, 4, 5, 6, 7) || get_ptr(args[1], &J.dst) ||
        get_ssize(args[8], &c0) || get_ssize(args[10], &nth))
        return NULL;
    if (parse_cols(args[9], J.n, cols)) return NULL;
    if (c0 < 0 || (size_t)c0 >= ((size_t)1 << J.n)) {
        PyErr_SetString(PyExc_ValueError, "bad constant");
        return NULL;
    }
    J.nthreads = (int)nth;
    int rc = 1;
    Py_BEGIN_ALLOW_THREADS
    if ((qt_tune.fuse & 1) && qt_gf2_inverse(cols, J.n, J.Lcols)) { /* scatter: x -> A^-1 (x ^ c0) */
        J.Lc = qt_lin((size_t)c0, J.Lcols);
        J.fuse = 1;
        rc = run_layer(&J);
    }
    if (rc == 1) { /* not fusable: layer in place, then the permutation */
        J.fuse = 0;
        rc = run_layer(&J);
        if (rc == 0)
            run_perm_linear(J.st, J.dst, J.B, J.n, KT[J.dt].esize, (size_t)c0, cols, J.nthreads);
    }
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *layer_adjoint_common(qt_layer_job *J, char *cross_out, int fuse, size_t c0,
                                      const size_t *cols)
{
    const size_t nsets = J->per_sample ? J->B : 1;
    J->crstride = nsets * (size_t)J->nw * 8;
    const int maxth = J->nthreads > 1 ? J->nthreads : 1;
    int rc = 0;
    double *cr = (double *)calloc(J->crstride * (size_t)maxth + 1, sizeof(double));
    if (!cr) return PyErr_NoMemory();
    J->cross = cr;
    Py_BEGIN_ALLOW_THREADS
    if (fuse) {
        for (int j = 0; j < J->n; j++) J->Lcols[j] = cols[j];
        J->Lc = c0;
        J->fuse = 2;
        rc = (qt_tune.fuse & 2) ? run_layer(J) : 1;
        if (rc == 1) { /* not fusable: permute both, then the adjoint in place */
            J->fuse = 0;
            const int es = KT[J->dt].esize;
            run_perm_linear(J->src, J->st, J->B, J->n, es, c0, cols, J->nthreads);
            run_perm_linear(J->gsrc, J->gst, J->B, J->n, es, c0, cols, J->nthreads);
            rc = run_layer(J);
        }
    } else {
        rc = run_layer(J);
    }
    if (rc == 0) {
        for (int t = 1; t < maxth; t++)
            for (size_t i = 0; i < J->crstride; i++) cr[i] += cr[J->crstride * (size_t)t + i];
        const size_t ostride = (size_t)J->nw * 4 * (size_t)KT[J->dt].esize; /* bytes per sample */
        for (size_t s = 0; s < nsets; s++)
            KT[J->dt].sc(cr + s * (size_t)J->nw * 8, cross_out + s * ostride, J->nw);
    }
    Py_END_ALLOW_THREADS
    free(cr);
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* layer_adjoint(psi_ptr, g_ptr, B, n, dtype, wires, mats_ptr, per_sample, cross_ptr, nthreads) */
static PyObject *py_layer_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 10, "layer_adjoint")) return NULL;
    qt_layer_job J;
    memset(&J, 0, sizeof(J));
    Py_ssize_t nth;
    char *cross_out;
    if (parse_layer(args, &J, 0, 2, 3, 4, 5, 6, 7) || get_ptr(args[1], &J.gst) ||
        get_ptr(args[8], &cross_out) || get_ssize(args[9], &nth))
        return NULL;
    if (J.gst == NULL) {
        PyErr_SetString(PyExc_ValueError, "null gradient pointer");
        return NULL;
    }
    J.nthreads = (int)nth;
    return layer_adjoint_common(&J, cross_out, 0, 0, NULL);
}

/* layer_adjoint_perm(psi, g, psi_out, g_out, B, n, dtype, wires, mats, per_sample, cross, c0,
   cols, nthreads): psi_out = layer^H(psi[c0 ^ A k]), same for g, cross taken in between. */
static PyObject *py_layer_adjoint_perm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 14, "layer_adjoint_perm")) return NULL;
    qt_layer_job J;
    memset(&J, 0, sizeof(J));
    Py_ssize_t nth, c0;
    char *cross_out, *src, *gsrc;
    size_t cols[QT_MAXQ];
    if (parse_layer(args, &J, 2, 4, 5, 6, 7, 8, 9) || get_ptr(args[0], &src) ||
        get_ptr(args[1], &gsrc) || get_ptr(args[3], &J.gst) || get_ptr(args[10], &cross_out) ||
        get_ssize(args[11], &c0) || get_ssize(args[13], &nth))
        return NULL;
    if (parse_cols(args[12], J.n, cols)) return NULL;
    if (c0 < 0 || (size_t)c0 >= ((size_t)1 << J.n) || J.gst == NULL) {
        PyErr_SetString(PyExc_ValueError, "bad constant / pointer");
        return NULL;
    }
    J.src = src;
    J.gsrc = gsrc;
    J.nthreads = (int)nth;
    return layer_adjoint_common(&J, cross_out, 1, (size_t)c0, cols);
}

/* perm_analyze(idx_ptr, idx64, n) -> (linear: bool, c0: int, cols: tuple[int]) ; ValueError if out of range */
static PyObject *py_perm_analyze(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 3, "perm_analyze")) return NULL;
    char *p;
    Py_ssize_t i64, n;
    if (get_ptr(args[0], &p) || get_ssize(args[1], &i64) || get_ssize(args[2], &n)) return NULL;
    if (n < 0 || n > QT_MAXQ) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return NULL;
    }
    const size_t N = (size_t)1 << n;
    int linear = 1, bad = 0;
    size_t c0 = 0, cols[QT_MAXQ], pre[QT_MAXQ];
    long long badval = 0;
    Py_BEGIN_ALLOW_THREADS
#define QT_IDX(k) (i64 ? (long long)((const int64_t *)p)[k] : (long long)((const int32_t *)p)[k])
    for (size_t k = 0; k < N; k++) {
        long long v = QT_IDX(k);
        if (v < 0 || (unsigned long long)v >= (unsigned long long)N) {
            bad = 1;
            badval = v;
            break;
        }
    }
    if (!bad) {
        c0 = (size_t)QT_IDX(0);
        size_t a = 0;
        for (int j = 0; j < n; j++) {
            cols[j] = (size_t)QT_IDX((size_t)1 << j) ^ c0;
            a ^= cols[j];
            pre[j] = a;
        }
        size_t e = c0;
        for (size_t k = 1; k < N; k++) {
            e ^= pre[__builtin_ctzll((unsigned long long)k)];
            if ((size_t)QT_IDX(k) != e) {
                linear = 0;
                break;
            }
        }
    }
#undef QT_IDX
    Py_END_ALLOW_THREADS
    if (bad) {
        PyErr_Format(PyExc_ValueError, "index value %lld out of range [0, %zu)", badval, N);
        return NULL;
    }
    PyObject *tc = PyTuple_New(linear ? n : 0);
    if (!tc) return NULL;
    if (linear)
        for (int j = 0; j < n; j++) PyTuple_SET_ITEM(tc, j, PyLong_FromSize_t(cols[j]));
    return Py_BuildValue("(OnN)", linear ? Py_True : Py_False, (Py_ssize_t)c0, tc);
}

/* perm_linear(src, dst, B, n, esize, c0, cols, nthreads) */
static PyObject *py_perm_linear(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 8, "perm_linear")) return NULL;
    char *src, *dst;
    Py_ssize_t B, n, es, c0, nth;
    if (get_ptr(args[0], &src) || get_ptr(args[1], &dst) || get_ssize(args[2], &B) ||
        get_ssize(args[3], &n) || get_ssize(args[4], &es) || get_ssize(args[5], &c0) ||
        get_ssize(args[7], &nth))
        return NULL;
    if (n < 0 || n > QT_MAXQ || B < 0 || !(es == 4 || es == 8 || es == 16)) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return NULL;
    }
    size_t cols[QT_MAXQ];
    if (parse_cols(args[6], (int)n, cols)) return NULL;
    if (c0 < 0 || (size_t)c0 >= ((size_t)1 << n)) {
        PyErr_SetString(PyExc_ValueError, "bad constant");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    run_perm_linear(src, dst, (size_t)B, (int)n, (int)es, (size_t)c0, cols, (int)nth);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* perm_index(src, dst, B, n, esize, idx_ptr, idx64, nthreads) -- idx must be pre-validated */
static PyObject *py_perm_index(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 8, "perm_index")) return NULL;
    char *src, *dst, *idx;
    Py_ssize_t B, n, es, i64, nth;
    if (get_ptr(args[0], &src) || get_ptr(args[1], &dst) || get_ssize(args[2], &B) ||
        get_ssize(args[3], &n) || get_ssize(args[4], &es) || get_ptr(args[5], &idx) ||
        get_ssize(args[6], &i64) || get_ssize(args[7], &nth))
        return NULL;
    if (n < 0 || n > QT_MAXQ || B < 0 || !(es == 4 || es == 8 || es == 16)) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    run_perm_index(src, dst, (size_t)B, (int)n, (int)es, idx, (int)i64, (int)nth);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* diag_apply(state, B, n, dtype, d_ptr, d_kind (0 same dtype, 1 real part dtype), d_per_sample, nthreads) */
typedef struct {
    char *st;
    const char *d;
    size_t B, N, ntasks;
    int dt, dk, dps, esize;
} qt_diag_run;

static void qt_diag_task(void *arg, size_t task, int slot)
{
    (void)slot;
    const qt_diag_run *D = (const qt_diag_run *)arg;
    const size_t N = D->N;
    size_t lo, hi;
    qt_task_range(D->B * N, D->ntasks, task, &lo, &hi);
    size_t it = lo;
    while (it < hi) {
        const size_t b = it / N, k0 = it % N;
        const size_t kend = (hi - b * N) < N ? (hi - b * N) : N;
        char *s = D->st + b * N * (size_t)D->esize;
        const size_t desize = D->dk ? (size_t)D->esize / 2 : (size_t)D->esize;
        const char *db = D->d + (D->dps ? b * N * desize : 0);
        switch (D->dt * 2 + D->dk) {
        case 0: diag_same_f32r((float *)s, (const float *)db, k0, kend); break;
        case 2: diag_same_f64r((double *)s, (const double *)db, k0, kend); break;
        case 4: diag_same_f32c((float *)s, (const float *)db, k0, kend); break;
        case 5: diag_real_f32c((float *)s, (const float *)db, k0, kend); break;
        case 6: diag_same_f64c((double *)s, (const double *)db, k0, kend); break;
        case 7: diag_real_f64c((double *)s, (const double *)db, k0, kend); break;
        default: break;
        }
        it = b * N + kend;
    }
}

/* diag_apply(state, B, n, dtype, d_ptr, d_kind (0 same dtype, 1 real part dtype), d_per_sample, nthreads) */
static PyObject *py_diag_apply(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 8, "diag_apply")) return NULL;
    char *st, *d;
    Py_ssize_t B, n, dt, dk, dps, nth;
    if (get_ptr(args[0], &st) || get_ssize(args[1], &B) || get_ssize(args[2], &n) ||
        get_ssize(args[3], &dt) || get_ptr(args[4], &d) || get_ssize(args[5], &dk) ||
        get_ssize(args[6], &dps) || get_ssize(args[7], &nth))
        return NULL;
    if (dt < 0 || dt > 3 || n < 0 || n > QT_MAXQ || B < 0 || (dk && dt < 2)) {
        PyErr_SetString(PyExc_ValueError, "bad dtype code / size");
        return NULL;
    }
    qt_diag_run D;
    D.st = st;
    D.d = d;
    D.B = (size_t)B;
    D.N = (size_t)1 << n;
    D.dt = (int)dt;
    D.dk = dk ? 1 : 0;
    D.dps = dps ? 1 : 0;
    D.esize = KT[dt].esize;
    const int nt = qt_threads((int)nth, D.B * D.N * (size_t)D.esize);
    D.ntasks = qt_ntasks(D.B * D.N, nt);
    Py_BEGIN_ALLOW_THREADS
    qt_par_run(qt_diag_task, NULL, &D, D.ntasks, nt);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* set_tuning(tile_bytes_apply, tile_bytes_adj, row_bytes, ka, kb, min_par_bytes); -1 keeps a value.
   Returns the current settings as a tuple. */
static PyObject *py_set_tuning(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 0 && check_nargs(nargs, 9, "set_tuning")) return NULL;
    if (nargs == 9) {
        Py_ssize_t v[9];
        for (int i = 0; i < 9; i++)
            if (get_ssize(args[i], &v[i])) return NULL;
        if ((v[0] != -1 && (v[0] < 64 || v[0] > (1 << 22))) ||
            (v[1] != -1 && (v[1] < 64 || v[1] > (1 << 22))) || (v[2] != -1 && v[2] < 4) ||
            (v[3] != -1 && (v[3] < 1 || v[3] > 4)) || (v[4] != -1 && (v[4] < 1 || v[4] > 3))) {
            PyErr_SetString(PyExc_ValueError, "bad tuning value");
            return NULL;
        }
        if (v[0] != -1) qt_tune.tile_bytes_apply = v[0];
        if (v[1] != -1) qt_tune.tile_bytes_adj = v[1];
        if (v[2] != -1) qt_tune.row_bytes = v[2];
        if (v[3] != -1) qt_tune.ka = (int)v[3];
        if (v[4] != -1) qt_tune.kb = (int)v[4];
        if (v[5] != -1) qt_tune.min_par_bytes = v[5];
        if (v[6] != -1) qt_tune.factored = v[6] != 0;
        if (v[7] != -1) qt_tune.fuse = (int)v[7];
        if (v[8] != -1) qt_tune.backoff_jobs = (int)v[8];
    }
    return Py_BuildValue("(llliiliii)", qt_tune.tile_bytes_apply, qt_tune.tile_bytes_adj,
                         qt_tune.row_bytes, qt_tune.ka, qt_tune.kb, qt_tune.min_par_bytes,
                         qt_tune.factored, qt_tune.fuse, qt_tune.backoff_jobs);
}

/* pool_stats(reset) -> dict of counters; spin iterations settable with set_spin(n) */
static PyObject *py_pool_stats(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
#if QT_THREADS
    PyObject *d = Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:K,s:K,s:i,s:l}", "jobs", qt_stats.jobs,
                                "tasks", qt_stats.tasks, "helper_tasks", qt_stats.helper_tasks,
                                "yields", qt_stats.yields, "wakeups", qt_stats.wakeups, "backoffs",
                                qt_stats.backoffs, "serial_jobs", qt_stats.serial_jobs, "helpers",
                                qt_pool.nhelpers, "spin", qt_spin_iters);
    if (d) {
        PyObject *x = Py_BuildValue("(dd)", qt_stats.task_count[0] ? 1e6 * qt_stats.task_time[0] / (double)qt_stats.task_count[0] : 0.0,
                                    qt_stats.task_count[1] ? 1e6 * qt_stats.task_time[1] / (double)qt_stats.task_count[1] : 0.0);
        PyDict_SetItemString(d, "us_per_task_caller_helper", x);
        Py_XDECREF(x);
    }
    if (nargs >= 1 && PyObject_IsTrue(args[0])) memset(&qt_stats, 0, sizeof(qt_stats));
    if (nargs >= 2) {
        long v = PyLong_AsLong(args[1]);
        if (v == -1 && PyErr_Occurred()) { Py_XDECREF(d); return NULL; }
        if (v >= 0) qt_spin_iters = v;
    }
    return d;
#else
    (void)args;
    (void)nargs;
    return PyDict_New();
#endif
}

static PyObject *py_build_info(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue("{s:O,s:O,s:i,s:s}", "avx512", QT_AVX512 ? Py_True : Py_False, "threads",
                         QT_THREADS ? Py_True : Py_False, "max_qubits", QT_MAXQ, "compiler",
#ifdef __VERSION__
                         __VERSION__
#else
                         "unknown"
#endif
    );
}

#include "_qtprog.c"
#include "_qtblocks.c"

static PyMethodDef methods[] = {
    {"prog_forward", (PyCFunction)(void (*)(void))py_prog_forward, METH_FASTCALL, NULL},
    {"blocks_forward", (PyCFunction)(void (*)(void))py_blocks_forward, METH_FASTCALL, NULL},
    {"blocks_adjoint", (PyCFunction)(void (*)(void))py_blocks_adjoint, METH_FASTCALL, NULL},
    {"prog_adjoint", (PyCFunction)(void (*)(void))py_prog_adjoint, METH_FASTCALL, NULL},
    {"layer_apply", (PyCFunction)(void (*)(void))py_layer_apply, METH_FASTCALL, NULL},
    {"layer_adjoint", (PyCFunction)(void (*)(void))py_layer_adjoint, METH_FASTCALL, NULL},
    {"layer_apply_perm", (PyCFunction)(void (*)(void))py_layer_apply_perm, METH_FASTCALL, NULL},
    {"layer_adjoint_perm", (PyCFunction)(void (*)(void))py_layer_adjoint_perm, METH_FASTCALL, NULL},
    {"perm_analyze", (PyCFunction)(void (*)(void))py_perm_analyze, METH_FASTCALL, NULL},
    {"perm_linear", (PyCFunction)(void (*)(void))py_perm_linear, METH_FASTCALL, NULL},
    {"perm_index", (PyCFunction)(void (*)(void))py_perm_index, METH_FASTCALL, NULL},
    {"diag_apply", (PyCFunction)(void (*)(void))py_diag_apply, METH_FASTCALL, NULL},
    {"set_tuning", (PyCFunction)(void (*)(void))py_set_tuning, METH_FASTCALL, NULL},
    {"build_info", py_build_info, METH_NOARGS, NULL},
    {"pool_stats", (PyCFunction)(void (*)(void))py_pool_stats, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef moddef = {PyModuleDef_HEAD_INIT, "_qtnative",
                                    "qtrain native state-vector kernels", -1, methods};

PyMODINIT_FUNC PyInit__qtnative(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
#if defined(__AVX512F__)
    if (!__builtin_cpu_supports("avx512f")) {
        PyErr_SetString(PyExc_ImportError,
                        "qtrain native kernels were built with AVX-512 but this CPU lacks it "
                        "(rebuild with QTRAIN_NATIVE_CFLAGS)");
        return NULL;
    }
#endif
#if defined(__AVX2__)
    if (!__builtin_cpu_supports("avx2")) {
        PyErr_SetString(PyExc_ImportError,
                        "qtrain native kernels were built with AVX2 but this CPU lacks it "
                        "(rebuild with QTRAIN_NATIVE_CFLAGS)");
        return NULL;
    }
#endif
#endif
    return PyModule_Create(&moddef);
}
