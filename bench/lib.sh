# SPDX-License-Identifier: BSD-2-Clause
# Shared by the bench scripts: source it.

# Median of the numbers on standard input, one per line ("-" when none).
median() {
    sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'
}
