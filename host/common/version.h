/* SPDX-License-Identifier: BSD-2-Clause */
/* The release that miura, miura-vsockd, miura-proxy and miura-oci report
 * with --version: one number for the host tools of one build. */
#ifndef MIURA_HOST_VERSION_H
#define MIURA_HOST_VERSION_H

#define MIURA_VERSION "0.2.0"

#endif
