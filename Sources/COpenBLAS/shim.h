#include <cblas.h>
/* OpenBLAS thread control (declared in openblas_config/cblas.h; repeated here for clarity). */

/* LAPACK's Hermitian eigensolver (Fortran symbol exported by libopenblas; Debian ships no lapacke.h
   with OpenBLAS). Trailing size_t arguments are the Fortran hidden lengths of the character args. */
#include <stddef.h>
void cheevd_(const char *jobz, const char *uplo, const int *n, void *a, const int *lda, float *w,
             void *work, const int *lwork, float *rwork, const int *lrwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);

/* OpenBLAS's run-time kernel choice (DYNAMIC_ARCH builds, as Debian's). Weak, so a build without
   it still links: gantry_openblas_reselect_core then reports 0 and changes nothing. */
#include <stdlib.h>
#include <string.h>
char *openblas_get_corename(void);
void gotoblas_dynamic_init(void) __attribute__((weak));
void gotoblas_dynamic_quit(void) __attribute__((weak));

/* Re-runs OpenBLAS's kernel selection as if OPENBLAS_CORETYPE were `core`, then restores the
   environment. Call before any other thread uses BLAS. Returns 1 when the kernels were reselected. */
static inline int gantry_openblas_reselect_core(const char *core) {
    if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit) return 0;
    const char *old = getenv("OPENBLAS_CORETYPE");
    char *saved = old ? strdup(old) : NULL;
    setenv("OPENBLAS_CORETYPE", core, 1);
    gotoblas_dynamic_quit();
    gotoblas_dynamic_init();
    if (saved) { setenv("OPENBLAS_CORETYPE", saved, 1); free(saved); } else { unsetenv("OPENBLAS_CORETYPE"); }
    return 1;
}
