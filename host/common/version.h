/* SPDX-License-Identifier: BSD-2-Clause */
/* The release every host program reports with --version (and miura-oci's
 * `version`); one number for the tools and the images they run. */
#ifndef MIURA_HOST_VERSION_H
#define MIURA_HOST_VERSION_H

#define MIURA_VERSION "0.2.0"

#endif
