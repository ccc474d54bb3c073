/*
 * The CPython module qtrain.sim._native._qtnative (no torch headers): every function takes
 * raw data pointers (tensor.data_ptr()) and sizes; the Python wrapper (__init__.py and its
 * modules) validates the tensors, these functions check what would make the C code read or
 * write out of bounds.  Each releases the GIL while it computes.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "qt_bindings.h"
#include "qt_blocks.h"
#include "qt_common.h"
#include "qt_gf2.h"
#include "qt_layer.h"
#include "qt_perm.h"

/* ------------------------------------------------------------------------- */
/* argument helpers                                                          */
/* ------------------------------------------------------------------------- */

/* parse wires (sequence of ints) into element bit positions; validates range and distinctness */
static int parse_wires(PyObject *seq, int n, int *wbits, int *nw)
{
    PyObject *fast = PySequence_Fast(seq, "wires must be a sequence of ints");
    if (!fast) return -1;
    const Py_ssize_t len = PySequence_Fast_GET_SIZE(fast);
    PyObject **items = PySequence_Fast_ITEMS(fast);
    uint64_t seen = 0;
    if (len > n || len > QT_MAXQ) {
        PyErr_Format(PyExc_ValueError, "%zd wires given for a %d-qubit state", len, n);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        const long w = PyLong_AsLong(items[i]);
        if (w == -1 && PyErr_Occurred()) {
            PyErr_Clear();
            PyErr_SetString(PyExc_ValueError, "wires must be ints");
            goto fail;
        }
        if (w < 0 || w >= n) {
            PyErr_Format(PyExc_ValueError, "wire %ld out of range for %d qubits", w, n);
            goto fail;
        }
        if ((seen >> w) & 1) {
            PyErr_Format(PyExc_ValueError, "wire %ld given twice", w);
            goto fail;
        }
        seen |= (uint64_t)1 << w;
        wbits[i] = n - 1 - (int)w;
    }
    *nw = (int)len;
    Py_DECREF(fast);
    return 0;
fail:
    Py_DECREF(fast);
    return -1;
}

/* parse n permutation columns (ints < 2**n) */
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

/* an affine map (c0, cols) on n bits: c0 must be < 2**n */
static int parse_affine(PyObject *oc0, PyObject *ocols, int n, size_t *c0, size_t *cols)
{
    Py_ssize_t c;
    if (get_ssize(oc0, &c) || parse_cols(ocols, n, cols)) return -1;
    if (c < 0 || (size_t)c >= ((size_t)1 << n)) {
        PyErr_SetString(PyExc_ValueError, "bad constant");
        return -1;
    }
    *c0 = (size_t)c;
    return 0;
}

/* common layer arguments (st, B, n, dtype, wires, mats, per_sample, nthreads) at the given
   positions of args */
static int parse_layer(PyObject *const *args, qt_layer_job *J, int ist, int iB, int in, int idt,
                       int iw, int im, int ips, int ith)
{
    Py_ssize_t B, n, dt, ps, nth;
    char *mats;
    memset(J, 0, sizeof *J);
    if (get_ptr(args[ist], &J->st) || get_ssize(args[iB], &B) || get_ssize(args[in], &n) ||
        get_ssize(args[idt], &dt) || get_ptr(args[im], &mats) || get_ssize(args[ips], &ps) ||
        get_ssize(args[ith], &nth))
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
    J->nthreads = (int)nth;
    return 0;
}

static int parse_esize(PyObject *o, Py_ssize_t n, Py_ssize_t B, int *esize)
{
    Py_ssize_t es;
    if (get_ssize(o, &es)) return -1;
    if (n < 0 || n > QT_MAXQ || B < 0 || !(es == 4 || es == 8 || es == 16)) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return -1;
    }
    *esize = (int)es;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* layers                                                                    */
/* ------------------------------------------------------------------------- */

/* layer_apply(state_ptr, B, n, dtype, wires, mats_ptr, per_sample, nthreads) */
static PyObject *py_layer_apply(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    qt_layer_job J;
    if (check_nargs(nargs, 8, "layer_apply") || parse_layer(args, &J, 0, 1, 2, 3, 4, 5, 6, 7)) return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = qt_run_layer(&J);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* layer_apply_perm(state, out, B, n, dtype, wires, mats, per_sample, c0, cols, nthreads):
   out[b, k] = (layer state)[b, c0 ^ A k]; state is clobbered. */
static PyObject *py_layer_apply_perm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    qt_layer_job J;
    size_t c0, cols[QT_MAXQ];
    if (check_nargs(nargs, 11, "layer_apply_perm") || parse_layer(args, &J, 0, 2, 3, 4, 5, 6, 7, 10) ||
        get_ptr(args[1], &J.dst) || parse_affine(args[8], args[9], J.n, &c0, cols))
        return NULL;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = qt_layer_apply_perm(&J, c0, cols);
    Py_END_ALLOW_THREADS
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

static PyObject *layer_adjoint_common(qt_layer_job *J, char *cross_out, size_t c0, const size_t *cols)
{
    double *cr = (double *)calloc(qt_cross_doubles(J), sizeof(double));
    if (!cr) return PyErr_NoMemory();
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = qt_layer_adjoint(J, cr, cross_out, c0, cols);
    Py_END_ALLOW_THREADS
    free(cr);
    if (rc) return PyErr_NoMemory();
    Py_RETURN_NONE;
}

/* layer_adjoint(psi_ptr, g_ptr, B, n, dtype, wires, mats_ptr, per_sample, cross_ptr, nthreads) */
static PyObject *py_layer_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    qt_layer_job J;
    char *cross_out;
    if (check_nargs(nargs, 10, "layer_adjoint") || parse_layer(args, &J, 0, 2, 3, 4, 5, 6, 7, 9) ||
        get_ptr(args[1], &J.gst) || get_ptr(args[8], &cross_out))
        return NULL;
    if (J.gst == NULL) {
        PyErr_SetString(PyExc_ValueError, "null gradient pointer");
        return NULL;
    }
    return layer_adjoint_common(&J, cross_out, 0, NULL);
}

/* layer_adjoint_perm(psi, g, psi_out, g_out, B, n, dtype, wires, mats, per_sample, cross, c0,
   cols, nthreads): psi_out = layer^H(psi[c0 ^ A k]), same for g, cross taken in between. */
static PyObject *py_layer_adjoint_perm(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    qt_layer_job J;
    char *cross_out, *src, *gsrc;
    size_t c0, cols[QT_MAXQ];
    if (check_nargs(nargs, 14, "layer_adjoint_perm") || parse_layer(args, &J, 2, 4, 5, 6, 7, 8, 9, 13) ||
        get_ptr(args[0], &src) || get_ptr(args[1], &gsrc) || get_ptr(args[3], &J.gst) ||
        get_ptr(args[10], &cross_out) || parse_affine(args[11], args[12], J.n, &c0, cols))
        return NULL;
    if (J.gst == NULL) {
        PyErr_SetString(PyExc_ValueError, "null gradient pointer");
        return NULL;
    }
    J.src = src;
    J.gsrc = gsrc;
    return layer_adjoint_common(&J, cross_out, c0, cols);
}

/* ------------------------------------------------------------------------- */
/* permutations                                                              */
/* ------------------------------------------------------------------------- */

static PyObject *cols_tuple(const size_t *cols, int n)
{
    PyObject *tc = PyTuple_New(n);
    if (!tc) return NULL;
    for (int j = 0; j < n; j++) {
        PyObject *x = PyLong_FromSize_t(cols[j]);
        if (!x) {
            Py_DECREF(tc);
            return NULL;
        }
        PyTuple_SET_ITEM(tc, j, x);
    }
    return tc;
}

/* perm_analyze(idx_ptr, idx64, n) -> (linear: bool, c0: int, cols: tuple[int]);
   ValueError if an index is out of range */
static PyObject *py_perm_analyze(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    char *p;
    Py_ssize_t i64, n;
    if (check_nargs(nargs, 3, "perm_analyze") || get_ptr(args[0], &p) || get_ssize(args[1], &i64) ||
        get_ssize(args[2], &n))
        return NULL;
    if (n < 0 || n > QT_MAXQ) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return NULL;
    }
    size_t c0 = 0, cols[QT_MAXQ];
    long long badval = 0;
    int res;
    Py_BEGIN_ALLOW_THREADS
    res = qt_perm_analyze(p, (int)i64, (int)n, &c0, cols, &badval);
    Py_END_ALLOW_THREADS
    if (res < 0) {
        PyErr_Format(PyExc_ValueError, "index value %lld out of range [0, %zu)", badval, (size_t)1 << n);
        return NULL;
    }
    PyObject *tc = cols_tuple(cols, res ? (int)n : 0);
    if (!tc) return NULL;
    return Py_BuildValue("(OnN)", res ? Py_True : Py_False, (Py_ssize_t)c0, tc);
}

/* perm_inverse(n, c0, cols) -> (c0', cols') of the inverse affine map, or None if singular */
static PyObject *py_perm_inverse(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    Py_ssize_t n;
    size_t c0, cols[QT_MAXQ], ci, inv[QT_MAXQ];
    if (check_nargs(nargs, 3, "perm_inverse") || get_ssize(args[0], &n)) return NULL;
    if (n < 0 || n > QT_MAXQ) {
        PyErr_SetString(PyExc_ValueError, "bad size");
        return NULL;
    }
    if (parse_affine(args[1], args[2], (int)n, &c0, cols)) return NULL;
    if (!qt_affine_inverse(c0, cols, (int)n, &ci, inv)) Py_RETURN_NONE;
    PyObject *tc = cols_tuple(inv, (int)n);
    if (!tc) return NULL;
    return Py_BuildValue("(nN)", (Py_ssize_t)ci, tc);
}

/* perm_linear(src, dst, B, n, esize, c0, cols, nthreads) */
static PyObject *py_perm_linear(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    char *src, *dst;
    Py_ssize_t B, n, nth;
    int es;
    size_t c0, cols[QT_MAXQ];
    if (check_nargs(nargs, 8, "perm_linear") || get_ptr(args[0], &src) || get_ptr(args[1], &dst) ||
        get_ssize(args[2], &B) || get_ssize(args[3], &n) || get_ssize(args[7], &nth) ||
        parse_esize(args[4], n, B, &es) || parse_affine(args[5], args[6], (int)n, &c0, cols))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    qt_perm_linear(src, dst, (size_t)B, (int)n, es, c0, cols, (int)nth);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* perm_index(src, dst, B, n, esize, idx_ptr, idx64, nthreads) -- idx must be pre-validated */
static PyObject *py_perm_index(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    char *src, *dst, *idx;
    Py_ssize_t B, n, i64, nth;
    int es;
    if (check_nargs(nargs, 8, "perm_index") || get_ptr(args[0], &src) || get_ptr(args[1], &dst) ||
        get_ssize(args[2], &B) || get_ssize(args[3], &n) || get_ptr(args[5], &idx) ||
        get_ssize(args[6], &i64) || get_ssize(args[7], &nth) || parse_esize(args[4], n, B, &es))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    qt_perm_index(src, dst, (size_t)B, (int)n, es, idx, (int)i64, (int)nth);
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/* ------------------------------------------------------------------------- */
/* tuning, build information, module                                         */
/* ------------------------------------------------------------------------- */

/* set_tuning(tile_bytes_apply, tile_bytes_adj, row_bytes, ka, kb, min_par_bytes, factored, fuse,
   backoff_jobs); -1 keeps a value.  Returns the current settings as a tuple. */
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

static PyObject *py_build_info(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue("{s:O,s:O,s:i,s:i,s:s}", "avx512", QT_AVX512 ? Py_True : Py_False, "threads",
                         QT_THREADS ? Py_True : Py_False, "max_qubits", QT_MAXQ, "block_record", QT_BLK_REC,
                         "compiler",
#ifdef __VERSION__
                         __VERSION__
#else
                         "unknown"
#endif
    );
}

#define QT_FAST(name) {#name, (PyCFunction)(void (*)(void))py_##name, METH_FASTCALL, NULL}

static PyMethodDef methods[] = {
    QT_FAST(layer_apply),
    QT_FAST(layer_adjoint),
    QT_FAST(layer_apply_perm),
    QT_FAST(layer_adjoint_perm),
    QT_FAST(perm_analyze),
    QT_FAST(perm_inverse),
    QT_FAST(perm_linear),
    QT_FAST(perm_index),
    QT_FAST(prog_forward),
    QT_FAST(prog_adjoint),
    QT_FAST(blocks_forward),
    QT_FAST(blocks_adjoint),
    QT_FAST(set_tuning),
    {"build_info", py_build_info, METH_NOARGS, NULL},
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
