/*
 * Gate programs: a whole circuit of 1- and 2-qubit matrices run in one call, forward and
 * adjoint.  Included by _qtnative.c after the thread pool and the Python helpers.
 *
 * ops: int32 (nops, 4) rows (table, wire0, wire1, row).  Tables (dtype of the state):
 *   0 shared 2x2 (R, 2, 2)      1 per-sample 2x2 (B, R, 2, 2)
 *   2 shared 4x4 (R, 4, 4)      3 per-sample 4x4 (B, R, 4, 4)      4 constant 4x4 (R, 4, 4)
 * The adjoint writes dL/d(table) for tables 0-3 (sum over the batch for the shared ones, the
 * accumulation in float64) and leaves psi, g as the state / gradient before the first gate.
 * Tasks are chunks of samples; one sample's state is swept gate by gate (it is small).
 */

enum { GP_SH1 = 0, GP_PS1 = 1, GP_SH2 = 2, GP_PS2 = 3, GP_C2 = 4, GP_NT = 5 };
/* op[0] = table | GP_CTRL: a 4x4 of the form diag(I, U) (control = wire0); applied as U on the
   control-1 subspace, and only the U block of its gradient is computed (the rest is left 0). */
#define GP_TMASK 7
#define GP_CTRL 8

typedef struct {
    const int32_t *ops;
    int nops, n, dt, nr; /* nr: reals per element */
    size_t esize, B, ntasks, nacc;
    const char *tab[GP_NT];
    long rows[GP_NT];
    char *grad[GP_NT];
    char *psi, *g;
    double *acc; /* nslots * nacc doubles (shared-table gradients per slot) */
} gp_prog;

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
#include "_qtprog_kern.c"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f32c
#include "_qtprog_kern.c"
#undef CPX
#undef KSUF
#undef R
#define R double
#define CPX 0
#define KSUF f64r
#include "_qtprog_kern.c"
#undef CPX
#undef KSUF
#define CPX 1
#define KSUF f64c
#include "_qtprog_kern.c"
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

/* shared parsing of (B, n, dt, ops, nops, tab0..tab4, rows0..rows4) starting at args[i0] */
static int gp_parse(gp_prog *P, PyObject *const *args, int i0)
{
    Py_ssize_t B, n, dt, nops, v;
    char *ops;
    memset(P, 0, sizeof *P);
    if (get_ssize(args[i0], &B) || get_ssize(args[i0 + 1], &n) || get_ssize(args[i0 + 2], &dt) ||
        get_ptr(args[i0 + 3], &ops) || get_ssize(args[i0 + 4], &nops))
        return -1;
    if (dt < 0 || dt > 3 || n < 1 || n > 30 || B < 1 || nops < 0 || nops > (1 << 24)) {
        PyErr_SetString(PyExc_ValueError, "gate program: bad dtype code / size");
        return -1;
    }
    P->B = (size_t)B;
    P->n = (int)n;
    P->dt = (int)dt;
    P->nr = KT[dt].nr;
    P->esize = (size_t)KT[dt].esize;
    P->ops = (const int32_t *)ops;
    P->nops = (int)nops;
    for (int t = 0; t < GP_NT; t++) {
        char *p;
        if (get_ptr(args[i0 + 5 + t], &p) || get_ssize(args[i0 + 5 + GP_NT + t], &v)) return -1;
        P->tab[t] = p;
        P->rows[t] = (long)v;
    }
    for (int o = 0; o < P->nops; o++) { /* never index out of a table or the state */
        const int32_t *op = P->ops + 4 * o;
        const int t = op[0] & GP_TMASK;
        const int bad = op[0] < 0 || op[0] > (GP_TMASK | GP_CTRL) || t >= GP_NT ||
                        ((op[0] & GP_CTRL) && gp_arity(t) != 2) || op[1] < 0 || op[1] >= n ||
                        (gp_arity(t) == 2 && (op[2] < 0 || op[2] >= n || op[2] == op[1])) ||
                        op[3] < 0 || op[3] >= P->rows[t] || P->tab[t] == NULL;
        if (bad) {
            PyErr_Format(PyExc_ValueError, "gate program: op %d (%d, %d, %d, %d) is invalid", o, op[0],
                         op[1], op[2], op[3]);
            return -1;
        }
    }
    return 0;
}

static int gp_threads(gp_prog *P, Py_ssize_t nth)
{
    const int nt = qt_threads((int)nth, P->B * ((size_t)1 << P->n) * P->esize);
    P->ntasks = qt_ntasks(P->B, nt);
    return nt;
}

/* prog_forward(state, B, n, dt, ops, nops, tab x5, rows x5, nthreads): state in place */
static PyObject *py_prog_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 17, "prog_forward")) return NULL;
    gp_prog P;
    Py_ssize_t nth;
    if (gp_parse(&P, args, 1) || get_ptr(args[0], &P.psi) || get_ssize(args[16], &nth)) return NULL;
    const int nt = gp_threads(&P, nth);
    Py_BEGIN_ALLOW_THREADS
    qt_par_run(gp_forward_task, NULL, &P, P.ntasks, nt);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* prog_adjoint(psi, g, B, n, dt, ops, nops, tab x5, rows x5, grad x4, nthreads):
   psi, g in place; gradient tables (0 = not wanted) overwritten */
static PyObject *py_prog_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (check_nargs(nargs, 22, "prog_adjoint")) return NULL;
    gp_prog P;
    Py_ssize_t nth;
    if (gp_parse(&P, args, 2) || get_ptr(args[0], &P.psi) || get_ptr(args[1], &P.g) ||
        get_ssize(args[21], &nth))
        return NULL;
    for (int t = 0; t < 4; t++)
        if (get_ptr(args[17 + t], &P.grad[t])) return NULL;
    const int nt = gp_threads(&P, nth);
    P.nacc = ((size_t)P.rows[GP_SH1] * 4 + (size_t)P.rows[GP_SH2] * 16) * (size_t)P.nr;
    double stack_acc[512];
    double *acc = stack_acc;
    const size_t need = P.nacc * (size_t)nt + 1;
    if (need > sizeof stack_acc / sizeof(double)) {
        acc = (double *)calloc(need, sizeof(double));
        if (!acc) return PyErr_NoMemory();
    } else {
        memset(stack_acc, 0, need * sizeof(double));
    }
    P.acc = acc;
    for (int t = GP_PS1; t <= GP_PS2; t += 2) /* per-sample gradients are accumulated in place */
        if (P.grad[t]) memset(P.grad[t], 0, P.B * (size_t)P.rows[t] * (t == GP_PS1 ? 4 : 16) * P.esize);
    Py_BEGIN_ALLOW_THREADS
    qt_par_run(gp_adjoint_task, NULL, &P, P.ntasks, nt);
    for (int s = 1; s < nt; s++) /* fold the helpers' buffers into slot 0 */
        for (size_t j = 0; j < P.nacc; j++) acc[j] += acc[(size_t)s * P.nacc + j];
    switch (P.dt) {
    case 0: gp_store_shared_f32r(&P, acc); break;
    case 1: gp_store_shared_f64r(&P, acc); break;
    case 2: gp_store_shared_f32c(&P, acc); break;
    default: gp_store_shared_f64c(&P, acc); break;
    }
    Py_END_ALLOW_THREADS
    if (acc != stack_acc) free(acc);
    Py_RETURN_NONE;
}
