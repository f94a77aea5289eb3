#include <cblas.h>
/* OpenBLAS thread control (declared in openblas_config/cblas.h; repeated here for clarity). */
