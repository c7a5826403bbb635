/* SHA-256 as lowercase hex (nettle's implementation). */
#ifndef FLATLINE_REPORTS_SHA256_H
#define FLATLINE_REPORTS_SHA256_H

#include <stddef.h>

#define FL_SHA256_HEX_LEN 64
void fl_sha256_hex(const void *data, size_t len, char out[FL_SHA256_HEX_LEN + 1]);

#endif
