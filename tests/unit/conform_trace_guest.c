/* SPDX-License-Identifier: BSD-2-Clause */
/* conform_trace.c with conform_guest's unit (see conform_trace.h). */
#define CF_UNIT 32768u
#include "conform_trace.c"
