#include <zlib.h>

/* inflateInit2 is a macro; this is its function form for Swift. */
static inline int gantry_inflate_init_gzip(z_stream *s) { return inflateInit2(s, 15 + 32); }
