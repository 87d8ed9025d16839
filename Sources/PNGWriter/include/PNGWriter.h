#ifndef GOBOT_PNG_WRITER_H
#define GOBOT_PNG_WRITER_H
#include <stddef.h>

/// Encodes a cairo RGB24 surface (native-endian 0x00RRGGBB words, `stride` bytes a row) as an
/// 8-bit RGB PNG with libpng at zlib `level`, no row filter. Returns 1 and a malloc'ed buffer in
/// *out (free it with `gobot_png_free`), or 0 when libpng reported an error (nothing to free).
int gobot_png_encode_xrgb(const unsigned char *pixels, int width, int height, int stride, int level,
                          unsigned char **out, size_t *out_size);

void gobot_png_free(unsigned char *buffer);

#endif
