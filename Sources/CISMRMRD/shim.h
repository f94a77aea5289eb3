#include <ismrmrd/ismrmrd.h>
#include <ismrmrd/dataset.h>

/* complex_float_t is C99 `float complex`, which Swift does not import: the samples as float pairs. */
static inline const float *gantry_acquisition_samples(const ISMRMRD_Acquisition *acq) { return (const float *)acq->data; }
