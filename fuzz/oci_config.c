/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Fuzzes miura-oci's reading of config.json (jansson, then the fields it
 * uses) and the microVM settings made from it, then the PVH image check on
 * the same bytes. Besides the sanitizers, it checks contracts: a rejected
 * config leaves nothing to free and a one-line cause; an accepted one gives
 * guest memory and CPUs within the launcher's bounds, at most 7 extra shares
 * whose guest paths are absolute, and appliance words without a '"' outside
 * the quoting.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/pvh_image.h"
#include "oci/spec.h"
#include "oci/vmconfig.h"

static void check(int ok)
{
    if (!ok)
        abort();
}

/* Whether a path "is a directory": decided by its bytes, so both ways are taken. */
static bool fake_is_dir(const char *path)
{
    return (strlen(path) & 1) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct oci_spec s;
    static struct oci_vm vm;
    struct pvh_image img;
    const char *why;
    char err[512];
    if (oci_spec_parse((const char *)data, size, &s, err, sizeof(err)) < 0) {
        check(s.doc == NULL && err[0] != '\0' && strchr(err, '\n') == NULL);
    } else {
        check(s.argc >= 1 && s.root_path && s.annotations);
        uint32_t need = size % 7 + 2;
        if (oci_vm_from_spec(&s, need, fake_is_dir, &vm, err, sizeof(err)) == 0) {
            check(vm.mem_mib >= need && vm.mem_mib <= LAUNCHER_MEM_MAX_MIB);
            check(vm.cpus >= 1 && vm.cpus <= LAUNCHER_CPUS_MAX);
            check(vm.nshares <= PLAN_EXTRA_SHARES_MAX && vm.npublish <= LAUNCHER_PUBLISH_MAX);
            for (unsigned i = 0; i < vm.nshares; i++)
                check(vm.shares[i].destination[0] == '/');
            check(strlen(vm.append) < sizeof(vm.append));
        } else {
            check(strchr(err, '\n') == NULL);
        }
        oci_spec_free(&s);
    }
    if (pvh_image_check(data, size, &img, &why) == 0)
        check(pvh_image_need_mib(&img) >= 2);
    return 0;
}
