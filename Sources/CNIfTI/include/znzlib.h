/* nifti2_io.h includes <znzlib.h> with angle brackets; this forwards it from /usr/include/nifti. */
#ifndef HAVE_ZLIB
#define HAVE_ZLIB 1
#endif
#include "/usr/include/nifti/znzlib.h"
