# SPDX-License-Identifier: BSD-2-Clause
# The static web server appliance: HTTP/1.1 over vsock, files over virtio-fs.
APPS += webserver
# WEBSERVER_HTTP_SRCS: its HTTP files without I/O (host tests and fuzzers build them).
WEBSERVER_HTTP_SRCS := apps/webserver/http_file.c apps/webserver/http_range.c apps/webserver/mime.c
WEBSERVER_SRCS := apps/webserver/main.c apps/webserver/filecache.c $(WEBSERVER_HTTP_SRCS)
webserver_SRCS := $(WEBSERVER_SRCS) apps/webserver/listing_none.c
webserver_COMPONENTS := sched fs net virtio_fs virtio_vsock virtio_console virtio_mmio http

# The same appliance with directory listings (listing=1): listing.c and the
# directory-reading half of the Filesystem unit, kept out of the default image.
# It carries both transports, so one image serves every machine.
APPS += webserver_listing
webserver_listing_SRCS := $(WEBSERVER_SRCS) apps/webserver/listing.c
webserver_listing_COMPONENTS := $(webserver_COMPONENTS) virtio_pci

# The same appliance for PCI machines (QEMU q35 and pc, Cloud Hypervisor):
# the virtio-pci transport, ACPI and PCI instead of virtio-mmio, which keeps
# the default image for microvm within its size budget (docs/virtio.md).
APPS += webserver_pci
webserver_pci_SRCS := $(webserver_SRCS)
webserver_pci_COMPONENTS := sched fs net virtio_fs virtio_vsock virtio_console virtio_pci http
