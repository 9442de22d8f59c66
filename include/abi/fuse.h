/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The subset of the FUSE wire protocol (7.x) that Miura's virtio-fs client
 * speaks to virtiofsd. Facts from Linux's include/uapi/linux/fuse.h,
 * expressed in our own definitions; sizes are pinned by static asserts (and
 * compared with the Linux header in the host unit test).
 *
 * On virtio-fs (virtio 1.2 §5.11.6) one request is one descriptor chain:
 * device-readable fuse_in_header + op struct (+ names or write data), then
 * device-writable fuse_out_header + reply struct (or read data). All fields
 * are little-endian, which is the native order on x86-64.
 */
#ifndef MIURA_ABI_FUSE_H
#define MIURA_ABI_FUSE_H

#include <stdint.h>

#define FUSE_KERNEL_VERSION 7
#define FUSE_ROOT_ID        1
#define FUSE_NAME_MAX       255 /* longest name component, without the NUL */

/* ---- opcodes */
enum fuse_opcode {
    FUSE_LOOKUP = 1,
    FUSE_FORGET = 2, /* no reply */
    FUSE_GETATTR = 3,
    FUSE_SETATTR = 4,
    FUSE_READLINK = 5,
    FUSE_SYMLINK = 6,
    FUSE_MKNOD = 8,
    FUSE_MKDIR = 9,
    FUSE_UNLINK = 10,
    FUSE_RMDIR = 11,
    FUSE_RENAME = 12,
    FUSE_LINK = 13,
    FUSE_OPEN = 14,
    FUSE_READ = 15,
    FUSE_WRITE = 16,
    FUSE_STATFS = 17,
    FUSE_RELEASE = 18,
    FUSE_FSYNC = 20,
    FUSE_FLUSH = 25,
    FUSE_INIT = 26,
    FUSE_OPENDIR = 27,
    FUSE_READDIR = 28,
    FUSE_RELEASEDIR = 29,
    FUSE_FSYNCDIR = 30,
    FUSE_ACCESS = 34,
    FUSE_CREATE = 35,
    FUSE_INTERRUPT = 36,
    FUSE_DESTROY = 38,
    FUSE_BATCH_FORGET = 42,
    FUSE_READDIRPLUS = 44,
    FUSE_RENAME2 = 45,
    FUSE_LSEEK = 46,
    FUSE_SYNCFS = 50,
};

/* ---- FUSE_INIT flags (fuse_init_in.flags / fuse_init_out.flags) */
#define FUSE_ASYNC_READ          (1u << 0)
#define FUSE_POSIX_LOCKS         (1u << 1)
#define FUSE_FILE_OPS            (1u << 2)
#define FUSE_ATOMIC_O_TRUNC      (1u << 3)
#define FUSE_EXPORT_SUPPORT      (1u << 4)
#define FUSE_BIG_WRITES          (1u << 5) /* obsolete: implied since 7.x */
#define FUSE_DONT_MASK           (1u << 6)
#define FUSE_SPLICE_WRITE        (1u << 7)
#define FUSE_SPLICE_MOVE         (1u << 8)
#define FUSE_SPLICE_READ         (1u << 9)
#define FUSE_FLOCK_LOCKS         (1u << 10)
#define FUSE_HAS_IOCTL_DIR       (1u << 11)
#define FUSE_AUTO_INVAL_DATA     (1u << 12)
#define FUSE_DO_READDIRPLUS      (1u << 13)
#define FUSE_READDIRPLUS_AUTO    (1u << 14)
#define FUSE_ASYNC_DIO           (1u << 15)
#define FUSE_WRITEBACK_CACHE     (1u << 16)
#define FUSE_NO_OPEN_SUPPORT     (1u << 17)
#define FUSE_PARALLEL_DIROPS     (1u << 18)
#define FUSE_HANDLE_KILLPRIV     (1u << 19)
#define FUSE_POSIX_ACL           (1u << 20)
#define FUSE_ABORT_ERROR         (1u << 21)
#define FUSE_MAX_PAGES           (1u << 22) /* init_out.max_pages is valid (7.28) */
#define FUSE_CACHE_SYMLINKS      (1u << 23)
#define FUSE_NO_OPENDIR_SUPPORT  (1u << 24)
#define FUSE_EXPLICIT_INVAL_DATA (1u << 25)
#define FUSE_MAP_ALIGNMENT       (1u << 26)
#define FUSE_SUBMOUNTS           (1u << 27)
#define FUSE_HANDLE_KILLPRIV_V2  (1u << 28)
#define FUSE_SETXATTR_EXT        (1u << 29)
#define FUSE_INIT_EXT            (1u << 30) /* flags2 is valid (7.36) */

/* ---- FATTR_* bits of fuse_setattr_in.valid */
#define FATTR_MODE      (1u << 0)
#define FATTR_UID       (1u << 1)
#define FATTR_GID       (1u << 2)
#define FATTR_SIZE      (1u << 3)
#define FATTR_ATIME     (1u << 4)
#define FATTR_MTIME     (1u << 5)
#define FATTR_FH        (1u << 6)
#define FATTR_ATIME_NOW (1u << 7)
#define FATTR_MTIME_NOW (1u << 8)
#define FATTR_LOCKOWNER (1u << 9)
#define FATTR_CTIME     (1u << 10)

/* ---- FOPEN_* bits of fuse_open_out.open_flags */
#define FOPEN_DIRECT_IO   (1u << 0)
#define FOPEN_KEEP_CACHE  (1u << 1)
#define FOPEN_NONSEEKABLE (1u << 2)
#define FOPEN_CACHE_DIR   (1u << 3)
#define FOPEN_STREAM      (1u << 4)

/* other per-request flags */
#define FUSE_GETATTR_FH      (1u << 0) /* fuse_getattr_in.getattr_flags */
#define FUSE_RELEASE_FLUSH   (1u << 0) /* fuse_release_in.release_flags */
#define FUSE_FSYNC_FDATASYNC (1u << 0) /* fuse_fsync_in.fsync_flags */
#define FUSE_WRITE_CACHE     (1u << 0) /* fuse_write_in.write_flags */

/* ---- file mode bits as carried in fuse_attr.mode (Linux values) */
#define FUSE_S_IFMT   0170000u
#define FUSE_S_IFSOCK 0140000u
#define FUSE_S_IFLNK  0120000u
#define FUSE_S_IFREG  0100000u
#define FUSE_S_IFBLK  0060000u
#define FUSE_S_IFDIR  0040000u
#define FUSE_S_IFCHR  0020000u
#define FUSE_S_IFIFO  0010000u

/* ---- headers */
struct fuse_in_header {
    uint32_t len; /* whole request, header included */
    uint32_t opcode;
    uint64_t unique; /* request id, echoed in the reply; never 0 */
    uint64_t nodeid;
    uint32_t uid;
    uint32_t gid;
    uint32_t pid;
    uint16_t total_extlen; /* extensions, in 8-byte units (7.36) */
    uint16_t padding;
};

struct fuse_out_header {
    uint32_t len;  /* whole reply, header included */
    int32_t error; /* 0 or a negative errno */
    uint64_t unique;
};

/* ---- attributes and entries */
struct fuse_attr {
    uint64_t ino;
    uint64_t size;
    uint64_t blocks;
    uint64_t atime;
    uint64_t mtime;
    uint64_t ctime;
    uint32_t atimensec;
    uint32_t mtimensec;
    uint32_t ctimensec;
    uint32_t mode;
    uint32_t nlink;
    uint32_t uid;
    uint32_t gid;
    uint32_t rdev;
    uint32_t blksize;
    uint32_t flags;
};

struct fuse_entry_out {
    uint64_t nodeid; /* 0: negative entry (name does not exist) */
    uint64_t generation;
    uint64_t entry_valid; /* cache timeout for the name, seconds */
    uint64_t attr_valid;  /* cache timeout for the attributes, seconds */
    uint32_t entry_valid_nsec;
    uint32_t attr_valid_nsec;
    struct fuse_attr attr;
};

struct fuse_attr_out {
    uint64_t attr_valid;
    uint32_t attr_valid_nsec;
    uint32_t dummy;
    struct fuse_attr attr;
};

/* ---- request arguments */
struct fuse_init_in {
    uint32_t major;
    uint32_t minor;
    uint32_t max_readahead;
    uint32_t flags;
    uint32_t flags2; /* 7.36 */
    uint32_t unused[11];
};

struct fuse_init_out {
    uint32_t major;
    uint32_t minor;
    uint32_t max_readahead;
    uint32_t flags;
    uint16_t max_background;
    uint16_t congestion_threshold;
    uint32_t max_write;
    uint32_t time_gran; /* 7.23 */
    uint16_t max_pages; /* 7.28 */
    uint16_t map_alignment;
    uint32_t flags2; /* 7.36 */
    uint32_t unused[7];
};

/* init_out sizes by protocol minor: <5 just major/minor, 5..22 up to
 * max_write, 23 and later the whole struct. */
#define FUSE_COMPAT_INIT_OUT_SIZE    8
#define FUSE_COMPAT_22_INIT_OUT_SIZE 24

struct fuse_forget_in {
    uint64_t nlookup;
};

struct fuse_getattr_in {
    uint32_t getattr_flags; /* FUSE_GETATTR_FH */
    uint32_t dummy;
    uint64_t fh;
};

struct fuse_setattr_in {
    uint32_t valid; /* FATTR_* */
    uint32_t padding;
    uint64_t fh;
    uint64_t size;
    uint64_t lock_owner;
    uint64_t atime;
    uint64_t mtime;
    uint64_t ctime;
    uint32_t atimensec;
    uint32_t mtimensec;
    uint32_t ctimensec;
    uint32_t mode;
    uint32_t unused4;
    uint32_t uid;
    uint32_t gid;
    uint32_t unused5;
};

struct fuse_mkdir_in {
    uint32_t mode;
    uint32_t umask;
};

struct fuse_rename_in {
    uint64_t newdir;
};

struct fuse_open_in {
    uint32_t flags; /* O_* open flags */
    uint32_t open_flags;
};

struct fuse_create_in {
    uint32_t flags;
    uint32_t mode;
    uint32_t umask;
    uint32_t open_flags;
};

struct fuse_open_out {
    uint64_t fh;
    uint32_t open_flags; /* FOPEN_* */
    uint32_t padding;
};

struct fuse_release_in {
    uint64_t fh;
    uint32_t flags;
    uint32_t release_flags;
    uint64_t lock_owner;
};

struct fuse_flush_in {
    uint64_t fh;
    uint32_t unused;
    uint32_t padding;
    uint64_t lock_owner;
};

/* READ, READDIR and READDIRPLUS */
struct fuse_read_in {
    uint64_t fh;
    uint64_t offset;
    uint32_t size;
    uint32_t read_flags;
    uint64_t lock_owner;
    uint32_t flags;
    uint32_t padding;
};

struct fuse_write_in {
    uint64_t fh;
    uint64_t offset;
    uint32_t size; /* data bytes that follow this struct */
    uint32_t write_flags;
    uint64_t lock_owner;
    uint32_t flags;
    uint32_t padding;
};

struct fuse_write_out {
    uint32_t size; /* bytes written */
    uint32_t padding;
};

struct fuse_fsync_in {
    uint64_t fh;
    uint32_t fsync_flags;
    uint32_t padding;
};

struct fuse_kstatfs {
    uint64_t blocks;
    uint64_t bfree;
    uint64_t bavail;
    uint64_t files;
    uint64_t ffree;
    uint32_t bsize;
    uint32_t namelen;
    uint32_t frsize;
    uint32_t padding;
    uint32_t spare[6];
};

struct fuse_statfs_out {
    struct fuse_kstatfs st;
};

/* ---- directory entries (READDIR, READDIRPLUS replies) */
struct fuse_dirent {
    uint64_t ino;
    uint64_t off; /* cookie to continue reading after this entry */
    uint32_t namelen;
    uint32_t type; /* DT_* (mode >> 12) */
    char name[];   /* namelen bytes, no NUL, then zero padding to 8 */
};

struct fuse_direntplus {
    struct fuse_entry_out entry_out;
    struct fuse_dirent dirent;
};

/* Records are padded to a multiple of 8 bytes. */
#define FUSE_REC_ALIGN(x)           (((x) + 7u) & ~(uint64_t)7u)
#define FUSE_DIRENT_NAME_OFFSET     24u
#define FUSE_DIRENTPLUS_NAME_OFFSET 152u

_Static_assert(sizeof(struct fuse_in_header) == 40, "fuse_in_header");
_Static_assert(sizeof(struct fuse_out_header) == 16, "fuse_out_header");
_Static_assert(sizeof(struct fuse_attr) == 88, "fuse_attr");
_Static_assert(sizeof(struct fuse_entry_out) == 128, "fuse_entry_out");
_Static_assert(sizeof(struct fuse_attr_out) == 104, "fuse_attr_out");
_Static_assert(sizeof(struct fuse_init_in) == 64, "fuse_init_in");
_Static_assert(sizeof(struct fuse_init_out) == 64, "fuse_init_out");
_Static_assert(sizeof(struct fuse_forget_in) == 8, "fuse_forget_in");
_Static_assert(sizeof(struct fuse_getattr_in) == 16, "fuse_getattr_in");
_Static_assert(sizeof(struct fuse_setattr_in) == 88, "fuse_setattr_in");
_Static_assert(sizeof(struct fuse_mkdir_in) == 8, "fuse_mkdir_in");
_Static_assert(sizeof(struct fuse_rename_in) == 8, "fuse_rename_in");
_Static_assert(sizeof(struct fuse_open_in) == 8, "fuse_open_in");
_Static_assert(sizeof(struct fuse_create_in) == 16, "fuse_create_in");
_Static_assert(sizeof(struct fuse_open_out) == 16, "fuse_open_out");
_Static_assert(sizeof(struct fuse_release_in) == 24, "fuse_release_in");
_Static_assert(sizeof(struct fuse_flush_in) == 24, "fuse_flush_in");
_Static_assert(sizeof(struct fuse_read_in) == 40, "fuse_read_in");
_Static_assert(sizeof(struct fuse_write_in) == 40, "fuse_write_in");
_Static_assert(sizeof(struct fuse_write_out) == 8, "fuse_write_out");
_Static_assert(sizeof(struct fuse_fsync_in) == 16, "fuse_fsync_in");
_Static_assert(sizeof(struct fuse_kstatfs) == 80, "fuse_kstatfs");
_Static_assert(sizeof(struct fuse_statfs_out) == 80, "fuse_statfs_out");
_Static_assert(sizeof(struct fuse_dirent) == FUSE_DIRENT_NAME_OFFSET, "fuse_dirent");
_Static_assert(sizeof(struct fuse_direntplus) == FUSE_DIRENTPLUS_NAME_OFFSET, "fuse_direntplus");

#endif
