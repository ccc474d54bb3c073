/* Pass planner (see qt_plan.h). */
#include "qt_plan.h"

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* one contiguous pass of 2**T-element tiles holding every gate */
static void plan_contiguous_all(qt_pass *p, int T, int nw, const int *wbits)
{
    p->T = T;
    p->contiguous = 1;
    p->ng = nw;
    for (int g = 0; g < nw; g++) {
        p->gidx[g] = g;
        p->lbits[g] = wbits[g];
    }
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

/* the high gates (sorted bits hi[0..nhigh)) in strided passes of up to Tmax - c bits each */
static int plan_high_chunks(qt_pass *ps, int n, int Tmax, int c, const int *hi, int nhigh,
                            int nw, const int *wbits)
{
    int np = 0, done = 0;
    const int chunk = Tmax - c;
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

int qt_plan_passes(int n, int nw, const int *wbits, int esize, long tile_bytes, long row_bytes,
                   qt_pass *ps)
{
    int Tmax = qt_ilog2((size_t)(tile_bytes / esize > 2 ? tile_bytes / esize : 2));
    int c = qt_ilog2((size_t)(row_bytes / esize > 1 ? row_bytes / esize : 1));
    if (c > Tmax - 1) c = Tmax - 1;
    if (c < 0) c = 0;
    if (nw == 0) return 0;
    if (n <= Tmax) { /* whole sample is one tile */
        plan_contiguous_all(&ps[0], n, nw, wbits);
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
    if (nhigh == 0) {
        plan_contiguous_all(&ps[0], Tmax, nw, wbits);
        return 1;
    }
    if (next <= Tmax - c) { /* a single strided pass holds every gate */
        plan_strided(&ps[0], n, c, sorted + (nw - next), next, wbits, nw);
        return 1;
    }
    int np = 0;
    if (nlow > 0) { /* the low gates first, in one contiguous pass */
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
    return np + plan_high_chunks(ps + np, n, Tmax, c, sorted + nlow, nhigh, nw, wbits);
}
