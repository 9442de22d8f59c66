/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the OK-line parser, fed whole and in pieces of a size the first byte
 * picks; both must agree on the outcome, the port and the bytes consumed, a
 * DONE line must really be "OK <digits>[\r]\n", and the bound must hold.
 */
#include <stdint.h>
#include <stdlib.h>

#include "proxy/ok_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ok_line whole, pieces;
    if (size < 1)
        return 0;
    size_t step = data[0] % 7 + 1;
    data++;
    size--;
    ok_line_init(&whole);
    size_t used_whole = ok_line_feed(&whole, data, size);
    ok_line_init(&pieces);
    size_t used_pieces = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        used_pieces += ok_line_feed(&pieces, data + off, n);
    }
    if (used_whole > size || used_whole != used_pieces || whole.status != pieces.status ||
        used_whole > OK_LINE_MAX)
        abort();
    if (whole.status == OK_LINE_MORE && used_whole != size)
        abort(); /* MORE consumes everything */
    if (whole.status == OK_LINE_DONE) {
        if (whole.port > UINT32_MAX || whole.port != pieces.port || used_whole < 5 ||
            data[0] != 'O' || data[1] != 'K' || data[2] != ' ' || data[used_whole - 1] != '\n')
            abort();
        /* Recompute the port from the digits. */
        uint64_t port = 0;
        size_t i = 3;
        for (; i < used_whole && data[i] >= '0' && data[i] <= '9'; i++)
            port = port * 10 + (uint64_t)(data[i] - '0');
        if (i == 3 || port != whole.port)
            abort();
        if (!(i == used_whole - 1 || (i == used_whole - 2 && data[i] == '\r')))
            abort();
    }
    return 0;
}
