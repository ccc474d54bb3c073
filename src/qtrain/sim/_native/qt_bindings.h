/*
 * Shared pieces of the CPython bindings (qt_bindings.c: module, layers, permutations, tuning;
 * qt_bindings_prog.c: gate and block programs).  Include after Python.h.
 */
#ifndef QT_BINDINGS_H
#define QT_BINDINGS_H

static inline int get_ptr(PyObject *o, char **p)
{
    void *v = PyLong_AsVoidPtr(o);
    if (v == NULL && PyErr_Occurred()) return -1;
    *p = (char *)v;
    return 0;
}

static inline int get_ssize(PyObject *o, Py_ssize_t *x)
{
    *x = PyLong_AsSsize_t(o);
    if (*x == -1 && PyErr_Occurred()) return -1;
    return 0;
}

static inline int check_nargs(Py_ssize_t nargs, Py_ssize_t want, const char *name)
{
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "%s expects %zd arguments, got %zd", name, want, nargs);
        return -1;
    }
    return 0;
}

/* METH_FASTCALL functions of qt_bindings_prog.c */
PyObject *py_prog_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_prog_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_blocks_forward(PyObject *self, PyObject *const *args, Py_ssize_t nargs);
PyObject *py_blocks_adjoint(PyObject *self, PyObject *const *args, Py_ssize_t nargs);

#endif /* QT_BINDINGS_H */
