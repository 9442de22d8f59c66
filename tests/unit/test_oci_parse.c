/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * miura-oci's pure parts: config.json into struct oci_spec (jansson), the
 * microVM settings derived from it (memory, CPUs, ports, shares, the
 * appliance's words), and the PVH image check.
 */
#include <elf.h>
#include <string.h>
#include <sys/resource.h>

#include "common/pvh_image.h"
#include "oci/spec.h"
#include "oci/vmconfig.h"
#include "test.h"

static int parse(const char *json, struct oci_spec *s, char *err)
{
    return oci_spec_parse(json, strlen(json), s, err, 256);
}

/* A config.json shaped like podman's, cut down to what matters. */
static const char podman_like[] =
    "{\"ociVersion\":\"1.0.2-dev\",\"process\":{\"user\":{\"uid\":0,\"gid\":0},"
    "\"args\":[\"/webserver\",\"root=/www\"],\"env\":[\"PATH=/usr/bin\"],\"cwd\":\"/\","
    "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1048576,\"soft\":1048576}],"
    "\"terminal\":false},\"root\":{\"path\":\"/var/lib/x/merged\"},\"hostname\":\"h\","
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/tmp\",\"options\":[\"bind\"]},"
    "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/etc/hosts\","
    "\"options\":[\"bind\",\"rprivate\"]},"
    "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/srv/data\","
    "\"options\":[\"rbind\",\"ro\"]}],"
    "\"annotations\":{\"io.container.manager\":\"libpod\"},"
    "\"linux\":{\"resources\":{\"memory\":{\"limit\":67108864},\"cpu\":{\"quota\":150000,"
    "\"period\":100000,\"shares\":512},\"pids\":{\"limit\":2048}},"
    "\"cgroupsPath\":\"/libpod_parent/libpod-abc\",\"namespaces\":[{\"type\":\"pid\"},"
    "{\"type\":\"network\",\"path\":\"/run/netns/web\"},{\"type\":\"mount\"}]}}";

TEST(spec_podman_like)
{
    struct oci_spec s;
    char err[256];
    CHECK_EQ(parse(podman_like, &s, err), 0);
    CHECK_STR(s.root_path, "/var/lib/x/merged");
    CHECK_EQ(s.argc, 2);
    CHECK_STR(s.argv[0], "/webserver");
    CHECK_STR(s.argv[1], "root=/www");
    CHECK(!s.terminal);
    CHECK_EQ(s.nrlimits, 1);
    CHECK_EQ(s.rlimits[0].resource, RLIMIT_NOFILE);
    CHECK_EQ(s.rlimits[0].hard, 1048576);
    CHECK_EQ(s.nmounts, 4);
    CHECK(!s.mounts[0].bind);
    CHECK(s.mounts[1].bind && s.mounts[3].bind && s.mounts[3].readonly);
    CHECK_EQ(s.netns, OCI_NETNS_PATH);
    CHECK_STR(s.netns_path, "/run/netns/web");
    CHECK(!s.userns);
    CHECK_STR(s.cgroups_path, "/libpod_parent/libpod-abc");
    CHECK_EQ(s.mem_limit, 67108864);
    CHECK_EQ(s.cpu_quota, 150000);
    CHECK_EQ(s.cpu_period, 100000);
    CHECK_EQ(s.cpu_shares, 512);
    CHECK_EQ(s.pids_limit, 2048);
    CHECK_STR(oci_spec_annotation(&s, "io.container.manager"), "libpod");
    CHECK(oci_spec_annotation(&s, "nope") == NULL);
    CHECK(!oci_spec_is_sandbox(&s));
    oci_spec_free(&s);
}

TEST(spec_minimal_and_defaults)
{
    struct oci_spec s;
    char err[256];
    CHECK_EQ(parse("{\"ociVersion\":\"1.1.0\",\"root\":{\"path\":\"rootfs\"},"
                   "\"process\":{\"args\":[\"/a\"]},\"linux\":{\"namespaces\":[{\"type\":"
                   "\"network\"},{\"type\":\"user\"}]},\"annotations\":{\"io.kubernetes.cri."
                   "container-type\":\"sandbox\"}}",
                   &s, err),
             0);
    CHECK_EQ(s.netns, OCI_NETNS_NEW);
    CHECK(s.userns);
    CHECK_EQ(s.mem_limit, -1);
    CHECK_EQ(s.cpu_quota, -1);
    CHECK(s.cgroups_path == NULL);
    CHECK(oci_spec_is_sandbox(&s));
    oci_spec_free(&s);
    CHECK_EQ(parse("{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
                   "\"process\":{\"args\":[\"/a\"]}}",
                   &s, err),
             0);
    CHECK(s.annotations != NULL); /* an empty object, so state always has one */
    CHECK_EQ(s.netns, OCI_NETNS_HOST);
    oci_spec_free(&s);
}

/* Each bad config.json fails with a cause that names the field. */
TEST(spec_errors_name_the_field)
{
    static const struct {
        const char *json, *cause;
    } bad[] = {
        {"", "config.json: line"},
        {"[1]", "want a JSON object"},
        {"{\"ociVersion\":\"0.9\"}", "ociVersion: want 1.x"},
        {"{\"ociVersion\":\"1.0\",\"root\":{}}", "root.path: missing"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"}}", "process: missing"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[]}}",
         "process.args: want a non-empty array"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\",3]}}",
         "process.args[1]"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\"],"
         "\"rlimits\":[{\"type\":\"RLIMIT_NOPE\",\"soft\":1,\"hard\":1}]}}",
         "unknown type 'RLIMIT_NOPE'"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\"]},"
         "\"mounts\":[{\"destination\":\"rel\"}]}",
         "mounts[0].destination: want an absolute path"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\"]},"
         "\"linux\":{\"namespaces\":[{\"type\":\"network\",\"path\":\"x\"}]}}",
         "linux.namespaces[0].path: want an absolute path"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\"]},"
         "\"annotations\":{\"k\":1}}",
         "annotations.k: want a string"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/a\"]},"
         "\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}}",
         "linux.resources.memory.limit: want an integer"},
        {"{\"ociVersion\":\"1.0\",\"ociVersion\":\"1.0\"}", "duplicate"},
        {"{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":[\"/"
         "a\\u0000b\"]}}",
         "is not allowed"}, /* jansson refuses NUL bytes itself */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct oci_spec s;
        char err[256] = "";
        CHECK_EQ(parse(bad[i].json, &s, err), -1);
        if (!strstr(err, bad[i].cause)) {
            test_fail(__FILE__, __LINE__, "case %zu: cause '%s' lacks '%s'", i, err, bad[i].cause);
            return;
        }
        CHECK(strchr(err, '\n') == NULL);
        CHECK(s.doc == NULL);
    }
}

static bool fake_is_dir(const char *path)
{
    return strncmp(path, "/srv", 4) == 0 || strcmp(path, "/tmp") == 0;
}

TEST(vm_from_podman_like)
{
    struct oci_spec s;
    struct oci_vm vm;
    char err[256];
    CHECK_EQ(parse(podman_like, &s, err), 0);
    CHECK_EQ(oci_vm_from_spec(&s, 3, fake_is_dir, &vm, err, sizeof(err)), 0);
    CHECK_EQ(vm.mem_mib, 64 - OCI_HOST_OVERHEAD_MIB);
    CHECK_EQ(vm.cpus, 2); /* 1.5 CPUs of quota round up */
    CHECK_EQ(vm.npublish, 1);
    CHECK_STR(vm.publish[0].addr, "0.0.0.0");
    CHECK_EQ(vm.publish[0].host_port, 80);
    CHECK_EQ(vm.publish[0].guest_port, 80);
    /* /dev/shm skipped, /etc/hosts (a file the engine adds) skipped quietly */
    CHECK_EQ(vm.nshares, 1);
    CHECK_STR(vm.shares[0].source, "/srv/data");
    CHECK_STR(vm.shares[0].destination, "/data");
    CHECK(strstr(vm.notes, "mount /data: read-only is not enforced") != NULL);
    CHECK(strstr(vm.notes, "/etc/hosts") == NULL);
    CHECK_STR(vm.append, "root=/www");
    oci_spec_free(&s);
}

static int vm_of(const char *json, uint32_t need, struct oci_vm *vm, char *err)
{
    struct oci_spec s;
    int rc;
    if (parse(json, &s, err) < 0)
        return -2;
    rc = oci_vm_from_spec(&s, need, fake_is_dir, vm, err, 256);
    oci_spec_free(&s);
    return rc;
}

#define HEAD "{\"ociVersion\":\"1.0\",\"root\":{\"path\":\"r\"},"

TEST(vm_memory_and_cpus)
{
    struct oci_vm vm;
    char err[256];
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]}}", 3, &vm, err), 0);
    CHECK_EQ(vm.mem_mib, OCI_DEFAULT_MEM_MIB); /* no limit */
    CHECK_EQ(vm.cpus, 1);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"linux\":{\"resources\":{\"memory\":"
                        "{\"limit\":36700160}}}}",
                   3, &vm, err),
             0);
    CHECK_EQ(vm.mem_mib, 3); /* 35 MiB - 32: just what the image needs */
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"linux\":{\"resources\":{\"memory\":"
                        "{\"limit\":16777216}}}}",
                   3, &vm, err),
             -1);
    CHECK(strstr(err, "memory limit 16 MiB is below what the image needs: 3 MiB for the guest") !=
          NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"linux\":{\"resources\":{\"cpu\":"
                        "{\"cpus\":\"0-3,6\",\"quota\":800000,\"period\":100000}}}}",
                   3, &vm, err),
             0);
    CHECK_EQ(vm.cpus, 5); /* the cpuset has fewer than the quota's 8 */
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"linux\":{\"resources\":{\"cpu\":"
                        "{\"cpus\":\"3-1\"}}}}",
                   3, &vm, err),
             -1);
    CHECK(strstr(err, "linux.resources.cpu.cpus: bad list") != NULL);
    CHECK_EQ(oci_cpuset_count("0"), 1);
    CHECK_EQ(oci_cpuset_count("0-63"), 64);
    CHECK_EQ(oci_cpuset_count("1,3,5-6"), 4);
    CHECK_EQ(oci_cpuset_count(""), -1);
    CHECK_EQ(oci_cpuset_count("1,"), -1);
    CHECK_EQ(oci_cpuset_count("-1"), -1);
    CHECK_EQ(oci_cpuset_count("1-"), -1);
    CHECK_EQ(oci_cpuset_count("a"), -1);
}

TEST(vm_ports)
{
    struct oci_vm vm;
    char err[256];
    CHECK_EQ(oci_parse_ports("8080:80, 127.0.0.1:9000:9 443", &vm, err, sizeof(err)), 0);
    CHECK_EQ(vm.npublish, 3);
    CHECK_STR(vm.publish[0].addr, "0.0.0.0");
    CHECK_EQ(vm.publish[0].host_port, 8080);
    CHECK_EQ(vm.publish[0].guest_port, 80);
    CHECK_STR(vm.publish[1].addr, "127.0.0.1");
    CHECK_EQ(vm.publish[1].guest_port, 9);
    CHECK_EQ(vm.publish[2].host_port, 443);
    CHECK_EQ(oci_parse_ports("none", &vm, err, sizeof(err)), 0);
    CHECK_EQ(vm.npublish, 0);
    CHECK_EQ(oci_parse_ports("", &vm, err, sizeof(err)), 0);
    CHECK_EQ(vm.npublish, 0);
    CHECK_EQ(oci_parse_ports("80,80", &vm, err, sizeof(err)), -1);
    CHECK(strstr(err, "port 80 is published twice") != NULL);
    CHECK_EQ(oci_parse_ports("http", &vm, err, sizeof(err)), -1);
    CHECK(strstr(err, "bad entry 'http'") != NULL);
    CHECK_EQ(oci_parse_ports("70000", &vm, err, sizeof(err)), -1);
    CHECK_EQ(oci_parse_ports("1.2.3:80:80", &vm, err, sizeof(err)), -1);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"annotations\":{\"org.miura.ports\":"
                        "\"127.0.0.1:20080:80\"}}",
                   3, &vm, err),
             0);
    CHECK_EQ(vm.npublish, 1);
    CHECK_EQ(vm.publish[0].host_port, 20080);
}

TEST(vm_mounts)
{
    struct oci_vm vm;
    char err[256];
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"mounts\":[{\"destination\":\"/cfg\","
                        "\"type\":\"bind\",\"source\":\"/etc/app.conf\"}]}",
                   3, &vm, err),
             0);
    CHECK_EQ(vm.nshares, 0);
    CHECK(strstr(vm.notes, "mount /cfg: not a directory, so not shared") != NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"mounts\":[{\"destination\":\"/\","
                        "\"type\":\"bind\",\"source\":\"/srv\"}]}",
                   3, &vm, err),
             -1);
    CHECK(strstr(err, "mount /: the rootfs") != NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/a\"]},\"mounts\":[{\"destination\":\"/x\","
                        "\"options\":[\"bind\"],\"source\":\"srv\"}]}",
                   3, &vm, err),
             -1);
    CHECK(strstr(err, "want an absolute source") != NULL);
    /* eight directory mounts: one more than the guest can mount */
    char json[4096];
    size_t n =
        (size_t)snprintf(json, sizeof(json), HEAD "\"process\":{\"args\":[\"/a\"]},\"mounts\":[");
    for (int i = 0; i < 8; i++)
        n += (size_t)snprintf(
            json + n, sizeof(json) - n,
            "%s{\"destination\":\"/d%d\",\"type\":\"bind\",\"source\":\"/srv/%d\"}", i ? "," : "",
            i, i);
    snprintf(json + n, sizeof(json) - n, "]}");
    CHECK_EQ(vm_of(json, 3, &vm, err), -1);
    CHECK(strstr(err, "more than 7 directory mounts") != NULL);
}

TEST(vm_appliance_words)
{
    struct oci_vm vm;
    char err[256];
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/webserver\",\"root=/www\",\"greeting=a b\","
                        "\"\"]}}",
                   3, &vm, err),
             0);
    CHECK_STR(vm.append, "root=/www \"greeting=a b\" \"\"");
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"webserver\"]}}", 3, &vm, err), -1);
    CHECK(strstr(err, "want the absolute path of the appliance's ELF") != NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/w\",\"a\\\"b\"]}}", 3, &vm, err), -1);
    CHECK(strstr(err, "process.args[1]: a '\"' or control character") != NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/w\",\"fs=other\"]}}", 3, &vm, err), -1);
    CHECK(strstr(err, "fs words belong to the runtime") != NULL);
    CHECK_EQ(vm_of(HEAD "\"process\":{\"args\":[\"/w\",\"fs.m1=/etc\"]}}", 3, &vm, err), -1);
}

/* A minimal ELF64 image: one PT_LOAD and, with note, a PT_NOTE holding the PVH entry. */
static size_t make_elf(unsigned char *buf, bool note, uint16_t machine, uint16_t type)
{
    Elf64_Ehdr eh = {0};
    Elf64_Phdr ph[2] = {{0}};
    uint32_t n[3] = {4, 4, 18}, entry = 0x100000;
    memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_ident[EI_DATA] = ELFDATA2LSB;
    eh.e_type = type;
    eh.e_machine = machine;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = note ? 2 : 1;
    ph[0].p_type = PT_LOAD;
    ph[0].p_paddr = 0x100000;
    ph[0].p_memsz = 0x14b000;
    ph[1].p_type = PT_NOTE;
    ph[1].p_offset = sizeof(eh) + 2 * sizeof(Elf64_Phdr);
    ph[1].p_filesz = 20;
    memcpy(buf, &eh, sizeof(eh));
    memcpy(buf + sizeof(eh), ph, sizeof(ph));
    memcpy(buf + ph[1].p_offset, n, 12);
    memcpy(buf + ph[1].p_offset + 12, "Xen", 4);
    memcpy(buf + ph[1].p_offset + 16, &entry, 4);
    return ph[1].p_offset + 20;
}

TEST(pvh_image)
{
    unsigned char buf[512];
    struct pvh_image img;
    const char *why = "";
    size_t len = make_elf(buf, true, EM_X86_64, ET_EXEC);
    CHECK_EQ(pvh_image_check(buf, len, &img, &why), 0);
    CHECK_EQ(img.entry, 0x100000);
    CHECK_EQ(img.load_end, 0x24b000);
    CHECK_EQ(pvh_image_need_mib(&img), 4);                   /* 2.3 MiB rounded up, + 1 */
    CHECK_EQ(pvh_image_check(buf, len - 1, &img, &why), -1); /* the note runs past the file */
    len = make_elf(buf, false, EM_X86_64, ET_EXEC);
    CHECK_EQ(pvh_image_check(buf, len, &img, &why), -1);
    CHECK(strstr(why, "no PVH entry note") != NULL);
    len = make_elf(buf, true, EM_AARCH64, ET_EXEC);
    CHECK_EQ(pvh_image_check(buf, len, &img, &why), -1);
    CHECK(strstr(why, "not an x86-64 ELF") != NULL);
    len = make_elf(buf, true, EM_X86_64, ET_DYN);
    CHECK_EQ(pvh_image_check(buf, len, &img, &why), -1);
    CHECK(strstr(why, "not an executable ELF") != NULL);
    CHECK_EQ(pvh_image_check((const unsigned char *)"#!/bin/sh\n", 10, &img, &why), -1);
    CHECK_STR(why, "not an ELF file");
    len = make_elf(buf, true, EM_X86_64, ET_EXEC);
    CHECK_EQ(pvh_image_check(buf, 100, &img, &why), -1); /* headers cut off */
    CHECK(strstr(why, "program headers are malformed") != NULL);
}

/* The transports note (Makefile: name "Miura", type 1, a 32-bit mask) after the PVH note. */
TEST(pvh_image_transports)
{
    unsigned char buf[512];
    struct pvh_image img;
    const char *why = "";
    size_t len = make_elf(buf, true, EM_X86_64, ET_EXEC);
    CHECK_EQ(pvh_image_check(buf, len, &img, &why), 0);
    CHECK_EQ(img.transports, PVH_TRANSPORT_MMIO); /* no note: virtio-mmio only */
    Elf64_Phdr note;
    memcpy(&note, buf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), sizeof(note));
    uint32_t n[3] = {6, 4, 1}, mask = PVH_TRANSPORT_MMIO | PVH_TRANSPORT_PCI;
    memcpy(buf + len, n, 12);
    memcpy(buf + len + 12, "Miura\0\0", 8);
    memcpy(buf + len + 20, &mask, 4);
    note.p_filesz += 24;
    memcpy(buf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), &note, sizeof(note));
    CHECK_EQ(pvh_image_check(buf, len + 24, &img, &why), 0);
    CHECK_EQ(img.transports, PVH_TRANSPORT_MMIO | PVH_TRANSPORT_PCI);
    CHECK_EQ(img.entry, 0x100000);
    n[1] = 8; /* a descriptor of the wrong size is not the note */
    memcpy(buf + len, n, 12);
    note.p_filesz += 4;
    memcpy(buf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr), &note, sizeof(note));
    CHECK_EQ(pvh_image_check(buf, len + 28, &img, &why), 0);
    CHECK_EQ(img.transports, PVH_TRANSPORT_MMIO);
    CHECK_EQ(pvh_image_check(buf, len + 20, &img, &why), -1); /* the note runs past the file */
}
