/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzz: the hybrid vsock port-line parser ("CONNECT <port>\n" or
 * "OK <port>\n", by the first byte's top bit), fed whole and in pieces of a
 * size the first byte picks; both must agree on the outcome, the port and the
 * bytes consumed, a DONE line must really be blanks, the word in any case,
 * blanks, digits, blanks or CRs and "\n" (read again another way), and the
 * bound must hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/port_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct port_line whole, pieces;
    if (size < 1)
        return 0;
    const char *prefix = data[0] & 0x80 ? PORT_LINE_CONNECT : PORT_LINE_OK;
    size_t plen = strlen(prefix);
    size_t step = data[0] % 7 + 1;
    data++;
    size--;
    port_line_init(&whole, prefix);
    size_t used_whole = port_line_feed(&whole, data, size);
    port_line_init(&pieces, prefix);
    size_t used_pieces = 0;
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        used_pieces += port_line_feed(&pieces, data + off, n);
    }
    if (used_whole > size || used_whole != used_pieces || whole.status != pieces.status ||
        used_whole > PORT_LINE_MAX)
        abort();
    if (whole.status == PORT_LINE_MORE && used_whole != size)
        abort(); /* MORE consumes everything */
    if (whole.status == PORT_LINE_DONE) {
        /* Read the line again another way: blanks, the word in any case,
         * blanks, digits, blanks or CRs, the newline. */
        size_t i = 0, wlen = plen - 1;
        while (i < used_whole && (data[i] == ' ' || data[i] == '\t'))
            i++;
        if (whole.port > UINT32_MAX || whole.port != pieces.port || used_whole - i < wlen + 3 ||
            strncasecmp((const char *)data + i, prefix, wlen) != 0 || data[used_whole - 1] != '\n')
            abort();
        i += wlen;
        size_t blanks = i;
        while (data[i] == ' ' || data[i] == '\t')
            i++;
        if (i == blanks)
            abort();
        uint64_t port = 0;
        size_t digits = i;
        for (; i < used_whole && data[i] >= '0' && data[i] <= '9'; i++)
            port = port * 10 + (uint64_t)(data[i] - '0');
        if (i == digits || port != whole.port)
            abort();
        while (data[i] == ' ' || data[i] == '\t' || data[i] == '\r')
            i++;
        if (i != used_whole - 1)
            abort();
    }
    return 0;
}
