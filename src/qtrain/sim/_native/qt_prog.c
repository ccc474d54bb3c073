/* Gate programs (see qt_prog.h). */
#include "qt_prog.h"

#include "qt_kernels.h"
#include "qt_pool.h"

static inline int gp_arity(int t)
{
    t &= GP_TMASK;
    return (t == GP_SH1 || t == GP_PS1) ? 1 : 2;
}

static inline size_t gp_row(const gp_prog *P, const int32_t *op, size_t b)
{
    const int t = op[0] & GP_TMASK;
    size_t r = (size_t)op[3];
    if (t == GP_PS1 || t == GP_PS2) r += b * (size_t)P->rows[t];
    return r * (gp_arity(t) == 1 ? 4 : 16) * P->esize;
}

static inline const char *gp_matrix(const gp_prog *P, const int32_t *op, size_t b)
{
    return P->tab[op[0] & GP_TMASK] + gp_row(P, op, b);
}

static inline char *gp_grad_ptr(const gp_prog *P, const int32_t *op, size_t b)
{
    return P->grad[op[0] & GP_TMASK] + gp_row(P, op, b);
}

static inline size_t gp_acc_offset(const gp_prog *P, int t, int row)
{
    const size_t base = (t == GP_SH1) ? 0 : (size_t)P->rows[GP_SH1] * 4 * P->nr;
    return base + (size_t)row * (t == GP_SH1 ? 4 : 16) * P->nr;
}

#define R float
#define CPX 0
#define KSUF f32r
#include "qt_prog_kern.inc"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f32c
#include "qt_prog_kern.inc"
#undef CPX
#undef KSUF
#undef R
#define R double
#define CPX 0
#define KSUF f64r
#include "qt_prog_kern.inc"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f64c
#include "qt_prog_kern.inc"
#undef CPX
#undef KSUF
#undef R

static void gp_forward_task(void *arg, size_t task, int slot)
{
    (void)slot;
    const gp_prog *P = (const gp_prog *)arg;
    size_t b0, b1;
    qt_task_range(P->B, P->ntasks, task, &b0, &b1);
    switch (P->dt) {
    case 0: gp_forward_f32r(P, P->psi, b0, b1); break;
    case 1: gp_forward_f64r(P, P->psi, b0, b1); break;
    case 2: gp_forward_f32c(P, P->psi, b0, b1); break;
    default: gp_forward_f64c(P, P->psi, b0, b1); break;
    }
}

static void gp_adjoint_task(void *arg, size_t task, int slot)
{
    const gp_prog *P = (const gp_prog *)arg;
    size_t b0, b1;
    qt_task_range(P->B, P->ntasks, task, &b0, &b1);
    double *acc = P->acc + (size_t)slot * P->nacc;
    switch (P->dt) {
    case 0: gp_adjoint_f32r(P, P->psi, P->g, b0, b1, acc); break;
    case 1: gp_adjoint_f64r(P, P->psi, P->g, b0, b1, acc); break;
    case 2: gp_adjoint_f32c(P, P->psi, P->g, b0, b1, acc); break;
    default: gp_adjoint_f64c(P, P->psi, P->g, b0, b1, acc); break;
    }
}


void gp_set_dtype(gp_prog *P, int dt)
{
    P->dt = dt;
    P->nr = qt_kernels[dt].nr;
    P->esize = (size_t)qt_kernels[dt].esize;
}

int gp_bad_op(const gp_prog *P)
{
    for (int o = 0; o < P->nops; o++) { /* never index out of a table or the state */
        const int32_t *op = P->ops + 4 * o;
        const int t = op[0] & GP_TMASK;
        const int bad = op[0] < 0 || op[0] > (GP_TMASK | GP_CTRL) || t >= GP_NT ||
                        ((op[0] & GP_CTRL) && gp_arity(t) != 2) || op[1] < 0 || op[1] >= P->n ||
                        (gp_arity(t) == 2 && (op[2] < 0 || op[2] >= P->n || op[2] == op[1])) ||
                        op[3] < 0 || op[3] >= P->rows[t] || P->tab[t] == NULL;
        if (bad) return o;
    }
    return -1;
}

static int gp_threads(gp_prog *P, int nth)
{
    const int nt = qt_threads(nth, P->B * ((size_t)1 << P->n) * P->esize);
    P->ntasks = qt_ntasks(P->B, nt);
    return nt;
}

void gp_run_forward(gp_prog *P, int nthreads)
{
    const int nt = gp_threads(P, nthreads);
    qt_par_run(gp_forward_task, NULL, P, P->ntasks, nt);
}

int gp_run_adjoint(gp_prog *P, int nthreads)
{
    const int nt = gp_threads(P, nthreads);
    P->nacc = ((size_t)P->rows[GP_SH1] * 4 + (size_t)P->rows[GP_SH2] * 16) * (size_t)P->nr;
    double stack_acc[512];
    double *acc = stack_acc;
    const size_t need = P->nacc * (size_t)nt + 1;
    if (need > sizeof stack_acc / sizeof(double)) {
        acc = (double *)calloc(need, sizeof(double));
        if (!acc) return -1;
    } else {
        memset(stack_acc, 0, need * sizeof(double));
    }
    P->acc = acc;
    for (int t = GP_PS1; t <= GP_PS2; t += 2) /* per-sample gradients are accumulated in place */
        if (P->grad[t]) memset(P->grad[t], 0, P->B * (size_t)P->rows[t] * (t == GP_PS1 ? 4 : 16) * P->esize);
    qt_par_run(gp_adjoint_task, NULL, P, P->ntasks, nt);
    for (int s = 1; s < nt; s++) /* fold the helpers' buffers into slot 0 */
        for (size_t j = 0; j < P->nacc; j++) acc[j] += acc[(size_t)s * P->nacc + j];
    switch (P->dt) {
    case 0: gp_store_shared_f32r(P, acc); break;
    case 1: gp_store_shared_f64r(P, acc); break;
    case 2: gp_store_shared_f32c(P, acc); break;
    default: gp_store_shared_f64c(P, acc); break;
    }
    if (acc != stack_acc) free(acc);
    P->acc = NULL;
    return 0;
}
