#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Prints the QEMU accelerator to use here: "kvm" only when /dev/kvm is real
# hardware virtualisation (vmx/svm in /proc/cpuinfo and no software
# hypervisor module such as kvm_pvm loaded), otherwise "tcg" (DESIGN §5).
if [ -w /dev/kvm ] && grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null &&
    [ ! -d /sys/module/kvm_pvm ]; then
    echo kvm
else
    echo tcg
fi
