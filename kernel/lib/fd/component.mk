# SPDX-License-Identifier: BSD-2-Clause
# fd: the one POSIX descriptor table (DESIGN §2) and the calls that take any
# descriptor (read, write, close, fstat, fcntl, poll) and sendfile's dispatch; files (fs) and sockets
# (net) register their objects with it. Descriptors 0-2 are the console.
COMPONENTS += fd
fd_SRCS := kernel/lib/fd/fd.c kernel/lib/fd/poll.c kernel/lib/fd/sendfile.c
fd_DEPS := lib sched
