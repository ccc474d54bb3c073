/*
 * Gate programs: a whole circuit of 1- and 2-qubit matrices run in one call, forward and
 * adjoint, one sample's state at a time (it is small and stays in cache for the whole program).
 *
 * ops: int32 (nops, 4) rows (table, wire0, wire1, row).  Tables (dtype of the state):
 *   0 shared 2x2 (R, 2, 2)      1 per-sample 2x2 (B, R, 2, 2)
 *   2 shared 4x4 (R, 4, 4)      3 per-sample 4x4 (B, R, 4, 4)      4 constant 4x4 (R, 4, 4)
 * The adjoint writes dL/d(table) for tables 0-3 (sum over the batch for the shared ones, the
 * accumulation in float64) and leaves psi, g as the state / gradient before the first gate.
 */
#ifndef QT_PROG_H
#define QT_PROG_H

#include "qt_common.h"

enum { GP_SH1 = 0, GP_PS1 = 1, GP_SH2 = 2, GP_PS2 = 3, GP_C2 = 4, GP_NT = 5 };
/* op[0] = table | GP_CTRL: a 4x4 of the form diag(I, U) (control = wire0); applied as U on the
   control-1 subspace, and only the U block of its gradient is computed (the rest is left 0). */
#define GP_TMASK 7
#define GP_CTRL 8
#define GP_MAX_QUBITS 30

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

/* Set P's dtype-derived fields (nr, esize) from P->dt. */
void gp_set_dtype(gp_prog *P, int dt);

/* Index of the first op that would read outside a table or the state, or -1 if none. */
int gp_bad_op(const gp_prog *P);

/* Run the program on every sample of P->psi, in place. */
void gp_run_forward(gp_prog *P, int nthreads);

/* Adjoint walk on P->psi, P->g in place; fills the gradient tables P->grad[0..3] that are
   not NULL.  Returns 0, or -1 on allocation failure. */
int gp_run_adjoint(gp_prog *P, int nthreads);

#endif /* QT_PROG_H */
