/*
 * CPython bindings of the gate programs (qt_prog) and block programs (qt_blocks); registered
 * in the method table of qt_bindings.c.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qt_bindings.h"
#include "qt_blocks.h"
#include "qt_common.h"
#include "qt_prog.h"


/* (B, n, dt, ops, nops, tab0..tab4, rows0..rows4) starting at args[i0] */
static int gp_parse(gp_prog *P, PyObject *const *args, int i0)
{
    Py_ssize_t B, n, dt, nops, v;
    char *ops;
    memset(P, 0, sizeof *P);
    if (get_ssize(args[i0], &B) || get_ssize(args[i0 + 1], &n) || get_ssize(args[i0 + 2], &dt) ||
        get_ptr(args[i0 + 3], &ops) || get_ssize(args[i0 + 4], &nops))
        return -1;
    if (dt < 0 || dt > 3 || n < 1 || n > GP_MAX_QUBITS || B < 1 || nops < 0 || nops > (1 << 24)) {
        PyErr_SetString(PyExc_ValueError, "gate program: bad dtype code / size");
        return -1;
    }
    P->B = (size_t)B;
    P->n = (int)n;
    gp_set_dtype(P, (int)dt);
    P->ops = (const int32_t *)ops;
    P->nops = (int)nops;
    for (int t = 0; t < GP_NT; t++) {
        char *p;
        if (get_ptr(args[i0 + 5 + t], &p) || get_ssize(args[i0 + 5 + GP_NT + t], &v)) return -1;
        P->tab[t] = p;
        P->rows[t] = (long)v;
    }
    const int o = gp_bad_op(P);
    if (o >= 0) {
        const int32_t *op = P->ops + 4 * o;
        PyErr_Format(PyExc_ValueError, "gate program: op %d (%d, %d, %d, %d) is invalid", o, op[0], op[1],
                     op[2], op[3]);
        return -1;
    }
    return 0;
}

/* prog_forward(state, B, n, dt, ops, nops, tab x5, rows x5, nthreads): state in place */
PyObject *py_prog_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    gp_prog P;
    Py_ssize_t nth;
    if (check_nargs(nargs, 17, "prog_forward") || gp_parse(&P, args, 1) || get_ptr(args[0], &P.psi) ||
        get_ssize(args[16], &nth))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    gp_run_forward(&P, (int)nth);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* prog_adjoint(psi, g, B, n, dt, ops, nops, tab x5, rows x5, grad x4, nthreads):
   psi, g in place; gradient tables (0 = not wanted) overwritten */
PyObject *py_prog_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    gp_prog P;
    Py_ssize_t nth;
    if (check_nargs(nargs, 22, "prog_adjoint") || gp_parse(&P, args, 2) || get_ptr(args[0], &P.psi) ||
        get_ptr(args[1], &P.g) || get_ssize(args[21], &nth))
        return NULL;
    for (int t = 0; t < 4; t++)
        if (get_ptr(args[17 + t], &P.grad[t])) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = gp_run_adjoint(&P, (int)nth);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* shared checks of the block-program calls */
static int blocks_parse(const char *name, Py_ssize_t B, Py_ssize_t n, Py_ssize_t dt, Py_ssize_t nb,
                        const int64_t *desc, Py_ssize_t tot)
{
    if (dt < 0 || dt > 3 || n < 1 || n > QT_MAXQ || B < 1 || nb < 0 || nb > INT32_MAX) {
        PyErr_Format(PyExc_ValueError, "%s: bad dtype code / size", name);
        return -1;
    }
    const int bad = qt_blocks_check(desc, (int)nb, (int)n, tot);
    if (bad) {
        PyErr_Format(PyExc_ValueError, "%s: block %d is invalid", name, bad - 1);
        return -1;
    }
    return 0;
}

/* blocks_forward(state, spare, B, n, dt, nblocks, desc, mats, total_nw, nthreads) -> 0 or 1:
   which of (state, spare) holds the result; the other is scratch */
PyObject *py_blocks_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    char *buf[2], *descp, *mats;
    Py_ssize_t B, n, dt, nb, tot, nth;
    if (check_nargs(nargs, 10, "blocks_forward") || get_ptr(args[0], &buf[0]) || get_ptr(args[1], &buf[1]) ||
        get_ssize(args[2], &B) || get_ssize(args[3], &n) || get_ssize(args[4], &dt) || get_ssize(args[5], &nb) ||
        get_ptr(args[6], &descp) || get_ptr(args[7], &mats) || get_ssize(args[8], &tot) ||
        get_ssize(args[9], &nth) || blocks_parse("blocks_forward", B, n, dt, nb, (const int64_t *)descp, tot))
        return NULL;
    int which = 0, rc;
    Py_BEGIN_ALLOW_THREADS
    rc = qt_blocks_forward(buf, (size_t)B, (int)n, (int)dt, (int)nb, (const int64_t *)descp, mats, (int)nth, &which);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    return PyLong_FromLong(which);
}

/* blocks_adjoint(psi, g, psi_spare, g_spare, B, n, dt, nblocks, desc_inverse, mats, total_nw,
   cross, nthreads) -> 0 or 1: which pair holds (psi, g) before the first block.  cross
   (total_nw, 2, 2), state dtype, receives each layer's cross matrix (see layer_adjoint_). */
PyObject *py_blocks_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    char *ps[2], *gs[2], *descp, *mats, *cross_out;
    Py_ssize_t B, n, dt, nb, tot, nth;
    if (check_nargs(nargs, 13, "blocks_adjoint") || get_ptr(args[0], &ps[0]) || get_ptr(args[1], &gs[0]) ||
        get_ptr(args[2], &ps[1]) || get_ptr(args[3], &gs[1]) || get_ssize(args[4], &B) ||
        get_ssize(args[5], &n) || get_ssize(args[6], &dt) || get_ssize(args[7], &nb) ||
        get_ptr(args[8], &descp) || get_ptr(args[9], &mats) || get_ssize(args[10], &tot) ||
        get_ptr(args[11], &cross_out) || get_ssize(args[12], &nth) ||
        blocks_parse("blocks_adjoint", B, n, dt, nb, (const int64_t *)descp, tot))
        return NULL;
    int which = 0, rc;
    Py_BEGIN_ALLOW_THREADS
    rc = qt_blocks_adjoint(ps, gs, (size_t)B, (int)n, (int)dt, (int)nb, (const int64_t *)descp, mats, cross_out,
                           (int)nth, &which);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    return PyLong_FromLong(which);
}
