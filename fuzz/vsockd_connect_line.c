/* SPDX-License-Identifier: BSD-2-Clause */
/* Fuzz: the CONNECT line parser, fed whole and in pieces; both must agree. */
#include <stdint.h>
#include <stdlib.h>

#include "vsockd/connect_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct connect_line whole, pieces;
    if (size < 1)
        return 0;
    size_t step = data[0] % 7 + 1;
    data++;
    size--;
    connect_line_init(&whole);
    size_t used_whole = connect_line_feed(&whole, data, size);
    connect_line_init(&pieces);
    size_t used_pieces = 0;
    for (size_t off = 0; off < size && pieces.status == CONNECT_LINE_MORE; off += step) {
        size_t n = size - off < step ? size - off : step;
        used_pieces += connect_line_feed(&pieces, data + off, n);
    }
    if (used_whole > size || used_whole != used_pieces || whole.status != pieces.status)
        abort();
    if (whole.status == CONNECT_LINE_DONE &&
        (whole.port > UINT32_MAX || whole.port != pieces.port || data[used_whole - 1] != '\n'))
        abort();
    if (used_whole > CONNECT_LINE_MAX)
        abort(); /* bounded */
    return 0;
}
