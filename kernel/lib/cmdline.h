/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Kernel command line parsing. The command line comes from the VMM, so every
 * function here accepts arbitrary bytes and never reads or writes outside the
 * strings it is given.
 */
#ifndef MIURA_LIB_CMDLINE_H
#define MIURA_LIB_CMDLINE_H

#include <stdint.h>

/*
 * Splits the NUL-terminated buf in place into words separated by spaces, tabs,
 * CR or LF. Double quotes group: `a "b c"d` is the two words `a` and `b cd`;
 * the quote characters are removed, an unterminated quote runs to the end of
 * buf, and `""` alone is an empty word. words[i] points into buf, each word
 * NUL-terminated.
 *
 * Returns the number of words stored, 0..max_words. Words after the first
 * max_words are ignored and that part of buf is left as it was; a caller that
 * must know whether words were dropped passes one slot more than it needs
 * and checks for a full array. max_words <= 0 or buf == NULL gives 0.
 */
int cmdline_split(char *buf, char **words, int max_words);

/*
 * Looks key up among n words: the value of the LAST word "key=value" (so a
 * later word overrides an earlier one), "" for a bare word "key" or for
 * "key=", and NULL when no word has that key. A word's key is the part before
 * its first '=', compared exactly (case-sensitive). The result points into
 * the word.
 */
const char *cmdline_value(char *const *words, int n, const char *key);

/*
 * Parses an unsigned number at the start of s: decimal ("010" is ten) or hex
 * with 0x/0X, optionally followed by one size suffix K, M, G or T (either
 * case; 1024-based). Parsing stops at the first character that does not
 * belong to the number, so "512@0xfeb00e00:12" can be read piece by piece.
 *
 * Returns the number of characters consumed (> 0) and stores the value in
 * *out; or -EINVAL when s does not start with a number (also "0x" with no hex
 * digit) and -ERANGE when the value does not fit in 64 bits; *out is then
 * left alone. A caller that wants the whole string checks s[result] == '\0'.
 */
int cmdline_u64(const char *s, uint64_t *out);

#endif
