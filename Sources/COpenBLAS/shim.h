#include <cblas.h>
/* OpenBLAS thread control (declared in openblas_config/cblas.h; repeated here for clarity). */

/* LAPACK's Hermitian eigensolver (Fortran symbol exported by libopenblas; Debian ships no lapacke.h
   with OpenBLAS). Trailing size_t arguments are the Fortran hidden lengths of the character args. */
#include <stddef.h>
void cheevd_(const char *jobz, const char *uplo, const int *n, void *a, const int *lda, float *w,
             void *work, const int *lwork, float *rwork, const int *lrwork, int *iwork, const int *liwork,
             int *info, size_t jobz_len, size_t uplo_len);
