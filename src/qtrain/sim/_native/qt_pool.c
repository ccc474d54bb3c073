/*
 * Thread pool.  The caller (slot 0) works too and helpers (slots 1..) claim tasks through one
 * atomic ticket.  The caller only waits for tasks that a helper has actually claimed, never
 * for a helper to show up: on a loaded machine a descheduled helper costs nothing.  Helpers
 * spin briefly after a job, then sleep on a condition variable.  When the machine cannot run
 * our threads side by side (see the back-off in qt_par_run), jobs run serially for a while.
 */
#include "qt_pool.h"

#if QT_THREADS
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>

#define QT_SPIN_ITERS 2000 /* helper spin before sleeping (~50 us here) */

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
        jb->fn(jb->arg, nx, slot);
        ran++;
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
        for (long i = 0; (g == seen || (g & 1)) && i < QT_SPIN_ITERS; i++) {
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

/* publish a job to the helpers (caller holds qt_pool.master); returns its generation */
static uint32_t qt_publish(qt_task_fn fn, qt_fin_fn fin, void *arg, size_t ntasks, int nslots)
{
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
    if (atomic_load(&qt_pool.sleeping) > 0) {
        pthread_mutex_lock(&qt_pool.mu);
        pthread_cond_broadcast(&qt_pool.cv);
        pthread_mutex_unlock(&qt_pool.mu);
    }
    return g;
}

/* After a parallel job that started at (t0 wall, c0 cpu), the caller stopped working at t1
   and the job ended at (t2, c2): decide whether the next jobs should run serially. */
static void qt_update_backoff(double t0, double c0, double t1, double t2, double c2)
{
    if (t2 - t0 <= 20e-6) return;
    /* Two signs that the machine cannot run our threads side by side: the caller waits long
       for helper-held tasks, or the caller itself is descheduled for a good part of the job
       (it shares a core with our helper or other work). */
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
    } else if (++qt_good_jobs >= 16) {
        qt_backoff_len = 0; /* parallel runs well again */
    }
}

/* run a job on the caller and the helpers (caller holds qt_pool.master, nhelpers > 0) */
static void qt_run_parallel(qt_task_fn fn, qt_fin_fn fin, void *arg, size_t ntasks, int nslots)
{
    const double t0 = qt_now(), c0 = qt_cpu_now();
    if (nslots > qt_pool.nhelpers + 1) nslots = qt_pool.nhelpers + 1;
    const uint32_t g = qt_publish(fn, fin, arg, ntasks, nslots);
    const qt_job_t jb = qt_pool.job;
    if (qt_claim_loop(&jb, g, 0, 0) && fin) fin(arg, 0);
    const double t1 = qt_now();
    /* wait for the tasks that helpers claimed, and for their fin() */
    long spins = 0;
    while (atomic_load(&qt_pool.done) < (uint32_t)ntasks ||
           atomic_load(&qt_pool.flushed) < atomic_load(&qt_pool.active)) {
        if (++spins < 4000)
            qt_pause();
        else
            sched_yield(); /* let a descheduled helper finish its task */
    }
    qt_update_backoff(t0, c0, t1, qt_now(), qt_cpu_now());
}
#endif /* QT_THREADS */

void qt_par_run(qt_task_fn fn, qt_fin_fn fin, void *arg, size_t ntasks, int nslots)
{
    if (ntasks == 0) return;
#if QT_THREADS
    if (nslots > 1 && ntasks > 1 && ntasks < 0xffffffffu && pthread_mutex_trylock(&qt_pool.master) == 0) {
        qt_pool_grow(nslots - 1);
        int ran = 0;
        if (qt_backoff > 0 && qt_tune.backoff_jobs > 0) {
            qt_backoff--;
        } else if (qt_pool.nhelpers > 0) {
            qt_run_parallel(fn, fin, arg, ntasks, nslots);
            ran = 1;
        }
        pthread_mutex_unlock(&qt_pool.master);
        if (ran) return;
    }
#else
    (void)nslots;
#endif
    for (size_t t = 0; t < ntasks; t++) fn(arg, t, 0);
    if (fin) fin(arg, 0);
}

int qt_threads(int nthreads, size_t total_bytes)
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
