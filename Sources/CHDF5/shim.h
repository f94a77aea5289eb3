/* HDF5's type/property identifiers are macros over mutable globals, which Swift cannot import
   (and Swift 6 would reject as not concurrency-safe). These accessors expose them as functions.
   libhdf5 only writes (HDF5Writer); Gantry reads HDF5 with its own reader. */
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
static inline unsigned gantry_H5F_ACC_EXCL(void) { return H5F_ACC_EXCL; }
static inline void gantry_H5_silence_errors(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }
static inline size_t gantry_H5T_VARIABLE(void) { return H5T_VARIABLE; }
static inline hid_t gantry_H5P_LINK_CREATE(void) { return H5P_LINK_CREATE; }
