/* HDF5's type/property identifiers are macros over mutable globals, which Swift cannot import
   (and Swift 6 would reject as not concurrency-safe). These accessors expose them as functions. */
#include <hdf5.h>

static inline hid_t gantry_H5T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t gantry_H5T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t gantry_H5T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t gantry_H5T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t gantry_H5T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t gantry_H5T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t gantry_H5T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t gantry_H5T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t gantry_H5T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t gantry_H5T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t gantry_H5T_C_S1(void) { return H5T_C_S1; }
static inline hid_t gantry_H5P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t gantry_H5P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t gantry_H5S_ALL(void) { return H5S_ALL; }
static inline unsigned gantry_H5F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned gantry_H5F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned gantry_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline hid_t gantry_H5E_DEFAULT(void) { return H5E_DEFAULT; }
static inline void gantry_H5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline size_t gantry_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hid_t gantry_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
/* File access that refuses to close a file while objects in it are still open, instead of
   closing them: libhdf5 1.10 crashes closing a damaged attribute at file close (found by fuzzing). */
static inline hid_t gantry_H5P_semi_close_access(void) {
    hid_t p = H5Pcreate(H5P_FILE_ACCESS);
    if (p >= 0) H5Pset_fclose_degree(p, H5F_CLOSE_SEMI);
    return p;
}
