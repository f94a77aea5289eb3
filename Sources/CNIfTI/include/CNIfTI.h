/* Forwarding header for libnifti2 (Debian libnifti-dev). Only the NIfTI-2 API is used: it reads and
   writes NIfTI-1 too, and mixing it with libniftiio clashes (same symbols, different structs).
   HAVE_ZLIB matches the Debian build, so znzptr has the same layout the library was compiled with. */
#ifndef GANTRY_CNIFTI_H
#define GANTRY_CNIFTI_H
#ifndef HAVE_ZLIB
#define HAVE_ZLIB 1
#endif
#include "/usr/include/nifti/nifti2_io.h"

/* Small helpers so Swift need not index C fixed arrays (imported as tuples). */
int64_t gantry_nim_dim(const nifti_image *nim, int i);
double gantry_nim_pixdim(const nifti_image *nim, int i);
void gantry_nim_set_dim(nifti_image *nim, int i, int64_t v);
void gantry_nim_set_pixdim(nifti_image *nim, int i, double v);
double gantry_dmat(const nifti_dmat44 *m, int r, int c);
void gantry_set_dmat(nifti_dmat44 *m, int r, int c, double v);
void gantry_nim_set_descrip(nifti_image *nim, const char *s);
const char *gantry_nim_descrip(const nifti_image *nim);
#endif
