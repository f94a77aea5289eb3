#include "CNIfTI.h"
#include <string.h>

int64_t gantry_nim_dim(const nifti_image *nim, int i) { return nim->dim[i]; }
double gantry_nim_pixdim(const nifti_image *nim, int i) { return nim->pixdim[i]; }
void gantry_nim_set_dim(nifti_image *nim, int i, int64_t v) { nim->dim[i] = v; }
void gantry_nim_set_pixdim(nifti_image *nim, int i, double v) { nim->pixdim[i] = v; }
double gantry_dmat(const nifti_dmat44 *m, int r, int c) { return m->m[r][c]; }
void gantry_set_dmat(nifti_dmat44 *m, int r, int c, double v) { m->m[r][c] = v; }
void gantry_nim_set_descrip(nifti_image *nim, const char *s) {
    memset(nim->descrip, 0, sizeof(nim->descrip));
    strncpy(nim->descrip, s, sizeof(nim->descrip) - 1);
}
const char *gantry_nim_descrip(const nifti_image *nim) { return nim->descrip; }
