/*
 * A small pthread pool (no OpenMP): qt_par_run(fn, fin, arg, ntasks, nslots) runs
 * fn(arg, task, slot) for every task; the calling thread is slot 0 and works too, helpers
 * (slots 1..) claim tasks dynamically.  Built without threads (QT_NO_THREADS) it runs the
 * tasks in the calling thread.
 */
#ifndef QT_POOL_H
#define QT_POOL_H

#include "qt_common.h"

typedef void (*qt_task_fn)(void *arg, size_t task, int slot);
typedef void (*qt_fin_fn)(void *arg, int slot);

/* Run fn for tasks [0, ntasks) on up to nslots threads; fin(arg, slot), when given, runs once
   in every slot that ran a task, before qt_par_run returns. */
void qt_par_run(qt_task_fn fn, qt_fin_fn fin, void *arg, size_t ntasks, int nslots);

/* threads to use for a job touching total_bytes (1 below qt_tune.min_par_bytes) */
int qt_threads(int nthreads, size_t total_bytes);

/* how many tasks to cut `items` work items into for dynamic claiming */
static inline size_t qt_ntasks(size_t items, int nslots)
{
    if (nslots <= 1) return 1;
    size_t t = (size_t)nslots * 16;
    return t < items ? t : items;
}

/* the items [lo, hi) of task `task` out of ntasks */
static inline void qt_task_range(size_t items, size_t ntasks, size_t task, size_t *lo, size_t *hi)
{
    *lo = items * task / ntasks;
    *hi = items * (task + 1) / ntasks;
}

#endif /* QT_POOL_H */
