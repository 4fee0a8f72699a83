/* SPDX-License-Identifier: MIT */
/*
 * The kernel's fault-injection files under `uiommu exec` (tools/fail_nth.c):
 * the per-thread fail-nth file and the debugfs attributes; the preload's
 * calls into it.
 */
#ifndef UIOMMU_TOOLS_FAIL_NTH_H
#define UIOMMU_TOOLS_FAIL_NTH_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* path names a fail-nth file of this process: *tid is the thread it is
 * for, or -1 when the path names no thread of it (open: ENOENT) */
bool fail_nth_path(const char *path, pid_t *tid);
/* open it for thread tid with open(2)'s flags: an fd, or -1 and errno */
int fail_nth_open(pid_t tid, int flags);
/* the debugfs fault-injection attributes: path (absolute, or relative to
 * dirfd) names one; open it */
bool fault_attr_path(int dirfd, const char *path);
int fault_attr_open(int dirfd, const char *path, int flags);
/* the directory of the rendered tree that stands for a /sys/kernel/debug
 * directory path (into buf), or NULL when path is none of them */
const char *fault_attr_dir(const char *path, char *buf, size_t len);
/* fd is one of those files (fail-nth or attribute) */
bool fail_nth_fd(int fd);
/* read(2), pread(2), write(2), pwrite(2), lseek(2) and close(2) on such
 * an fd: their results, -1 and errno */
ssize_t fail_nth_read(int fd, void *buf, size_t n);
ssize_t fail_nth_pread(int fd, void *buf, size_t n, off_t off);
ssize_t fail_nth_write(int fd, const void *buf, size_t n);
ssize_t fail_nth_pwrite(int fd, const void *buf, size_t n, off_t off);
off_t fail_nth_lseek(int fd, off_t off, int whence);
int fail_nth_close(int fd);

#endif /* UIOMMU_TOOLS_FAIL_NTH_H */
