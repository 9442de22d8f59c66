# SPDX-License-Identifier: BSD-2-Clause
# virtio_console: the console over virtio-console (transmit only), taking
# over from the UART once the device is up (lib/console.h).
COMPONENTS += virtio_console
virtio_console_SRCS := kernel/drivers/console/virtio_console.c
virtio_console_DEPS := virtio lib
