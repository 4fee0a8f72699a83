// SPDX-License-Identifier: MIT
/*
 * /proc/<pid>/fail-nth and /proc/<pid>/task/<tid>/fail-nth under
 * `uiommu exec`: the kernel's per-thread fault-injection file
 * (Documentation/fault-injection/fault-injection.rst, "proc entries"),
 * served by the preload over uiommu's per-thread fail-the-Nth switch
 * (uiommu_fail_nth_task, src/lib/fault_inject.c), so that a program that
 * sweeps a system call's failure paths the kernel's way (the iommufd
 * selftests' iommufd_fail_nth) sweeps uiommu's allocation and pin sites.
 *
 * The paths, for this process only (another process's /proc entries go to
 * the C library): /proc/thread-self/fail-nth (the calling thread),
 * /proc/self/fail-nth and /proc/<pid>/fail-nth (the thread-group leader,
 * whose tid is the pid), /proc/self/task/<tid>/fail-nth and
 * /proc/<pid>/task/<tid>/fail-nth (that thread; ENOENT when it is none of
 * this process's, as the kernel's lookup answers; numbers as the kernel
 * spells them, no leading zero).  Absolute paths through open, openat and
 * their 64-bit and fortified variants.
 *
 * The file, as the kernel's (fs/proc/base.c, 6.12):
 *   write: the text is an unsigned int as kstrtouint_from_user reads it
 *     (the first 34 bytes; base 0: 0x.. hex, 0.. octal, else decimal; an
 *     optional '+', one trailing newline; EINVAL for anything else, ERANGE
 *     past UINT_MAX); it arms the thread's count (0 disarms) and returns
 *     the whole count written; the file position does not move; ESRCH once
 *     the thread exited.
 *   read, pread: "%u\n" of the count left, read from the file position
 *     (pread: the offset given; EINVAL if negative): "0\n" once the fault
 *     was injected (or when unarmed), the count left otherwise.
 *   lseek: ESPIPE (the file has no llseek).
 *   Reading on a write-only fd, writing on a read-only one: EBADF.
 *
 * Objects and lifetimes: each open file is one entry of files[]: the real
 * fd that holds its number (an empty memfd of its own, with the caller's
 * O_CLOEXEC), its inode, the thread it is for, the access mode and the file
 * position; the entry lives until close().  An entry whose fd no longer
 * holds that inode (closed or replaced behind the preload: dup2 over it,
 * close_range) is dropped at its next lookup, so the number's new file is
 * the C library's again.  A fork's child inherits the fds and the table
 * alike.  Not served: dup/dup2/fcntl(F_DUPFD) copies of such an fd (they
 * are the empty memfd), and the fds a program keeps across execve (the new
 * image's preload does not know them).
 *
 * The debugfs attributes of the fault-injection capabilities
 * (/sys/kernel/debug/failslab/ and fail_page_alloc/, "Configure fault-
 * injection capabilities behavior" in that documentation), for the ones
 * that describe how uiommu injects, with uiommu's fixed values: every heap
 * allocation (failslab) and frame allocation (fail_page_alloc) may be
 * failed, whether it could sleep or not, and nothing is logged:
 *   failslab/ignore-gfp-wait, fail_page_alloc/ignore-gfp-wait,
 *   fail_page_alloc/ignore-gfp-highmem   "N\n" (a bool)
 *   failslab/verbose, fail_page_alloc/verbose   "0\n"
 * A write of the value the attribute has (as the kernel reads a bool:
 * y/Y/1/n/N/0, "on"/"off"; a number: base 0, one newline) succeeds and
 * changes nothing; any other value is EINVAL (uiommu cannot inject the
 * other way).  The other attributes (probability, interval, times, ...)
 * are not served: uiommu has no random injection, only fail-nth.  So a
 * program that prepares fault injection the way iommufd_fail_nth does
 * (opendir("/sys/kernel/debug/"), then openat(dirfd, "failslab/..."),
 * readdir for the fail* directories) finds it.  The directories are a real
 * tree made on first use under $TMPDIR (/tmp), uiommu-debugfs-XXXXXX, with
 * empty files for the attributes, so opendir, readdir and fstat work on
 * it; opendir of /sys/kernel/debug[/] and of its two directories goes there,
 * and an open of an attribute, by its absolute path or relative to a
 * directory fd of that tree, is served here like a fail-nth file.  The
 * process that made the tree removes it at exit.
 *
 * Locking: files_lock guards files[] and the tree's creation; 'nr_files'
 * makes the lookup of every other fd one relaxed load while none is open.
 */
#include "fail_nth.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uiommu/base.h>

#define FAIL_NTH_FILES 64

struct fail_nth_file {
	int fd;	   /* -1: a free entry */
	dev_t dev; /* the memfd's inode, to tell the fd still holds it */
	ino_t ino;
	const struct fault_attr_file *attr; /* NULL: a fail-nth file */
	pid_t tid;
	int accmode; /* O_RDONLY, O_WRONLY, O_RDWR */
	off_t pos;
};

/* The debugfs attributes served, with uiommu's fixed values. */
struct fault_attr_file {
	const char *path; /* below /sys/kernel/debug/ */
	bool is_bool;
	unsigned long long value;
};

static const struct fault_attr_file fault_attrs[] = {
	{"failslab/ignore-gfp-wait", true, 0},
	{"failslab/verbose", false, 0},
	{"fail_page_alloc/ignore-gfp-wait", true, 0},
	{"fail_page_alloc/ignore-gfp-highmem", true, 0},
	{"fail_page_alloc/verbose", false, 0},
};

static const char *const fault_dirs[] = {"failslab", "fail_page_alloc"};

#define DEBUGFS "/sys/kernel/debug"

static char tree[64]; /* the rendered tree, "" until made */
static pid_t tree_owner;

static struct fail_nth_file files[FAIL_NTH_FILES] = {
	[0 ... FAIL_NTH_FILES - 1] = {.fd = -1},
};
static int nr_files;
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

static pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static bool is_thread(pid_t tid)
{
	return tid > 0 &&
	       (!syscall(SYS_tgkill, getpid(), tid, 0) || errno != ESRCH);
}

/* A /proc name for a number, as the kernel's name_to_int reads it: digits
 * only, no leading zero; *end after it. */
static bool proc_number(const char *s, const char **end, pid_t *out)
{
	unsigned long v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p) ||
	    (p[0] == '0' && isdigit((unsigned char)p[1])))
		return false;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (unsigned long)(*p++ - '0');
		if (v > INT_MAX)
			return false;
	}
	*end = p;
	*out = (pid_t)v;
	return true;
}

bool fail_nth_path(const char *path, pid_t *tid)
{
	const char *p, *q;
	pid_t pid, t;

	if (!path || strncmp(path, "/proc/", 6))
		return false;
	p = path + 6;
	if (!strcmp(p, "thread-self/fail-nth")) {
		*tid = gettid_();
		return true;
	}
	if (!strncmp(p, "self/", 5)) {
		pid = getpid();
		p += 5;
	} else if (proc_number(p, &q, &pid) && *q == '/') {
		if (pid != getpid())
			return false; /* another process's: not ours */
		p = q + 1;
	} else {
		return false;
	}
	if (!strcmp(p, "fail-nth")) {
		*tid = pid;
		return true;
	}
	if (strncmp(p, "task/", 5))
		return false;
	p += 5;
	if (!proc_number(p, &q, &t) || strcmp(q, "/fail-nth"))
		return false;
	*tid = is_thread(t) ? t : -1;
	return true;
}

static int file_open(pid_t tid, const struct fault_attr_file *attr, int flags)
{
	int accmode = flags & O_ACCMODE, fd, i;
	struct stat st;

	if (flags & O_DIRECTORY) {
		errno = ENOTDIR;
		return -1;
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		errno = EEXIST;
		return -1;
	}
	if (accmode == O_ACCMODE) {
		errno = EINVAL;
		return -1;
	}
	fd = (int)syscall(SYS_memfd_create, "uiommu-fault-inject",
			  (flags & O_CLOEXEC) ? MFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	if (syscall(SYS_fstat, fd, &st)) {
		syscall(SYS_close, fd);
		return -1;
	}
	pthread_mutex_lock(&files_lock);
	for (i = 0; i < FAIL_NTH_FILES; i++)
		if (files[i].fd < 0)
			break;
	if (i == FAIL_NTH_FILES) {
		pthread_mutex_unlock(&files_lock);
		syscall(SYS_close, fd);
		errno = EMFILE;
		return -1;
	}
	files[i] = (struct fail_nth_file){.fd = fd,
					  .dev = st.st_dev,
					  .ino = st.st_ino,
					  .attr = attr,
					  .tid = tid,
					  .accmode = accmode};
	__atomic_add_fetch(&nr_files, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&files_lock);
	return fd;
}

int fail_nth_open(pid_t tid, int flags)
{
	if (tid < 0) {
		errno = ENOENT;
		return -1;
	}
	return file_open(tid, NULL, flags);
}

/* ---- the debugfs attributes ------------------------------------------------ */

static void tree_remove(void)
{
	char p[PATH_MAX];

	if (!tree[0] || getpid() != tree_owner)
		return;
	for (size_t i = 0; i < sizeof(fault_attrs) / sizeof(fault_attrs[0]);
	     i++) {
		snprintf(p, sizeof(p), "%s/%s", tree, fault_attrs[i].path);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof(fault_dirs) / sizeof(fault_dirs[0]);
	     i++) {
		snprintf(p, sizeof(p), "%s/%s", tree, fault_dirs[i]);
		rmdir(p);
	}
	rmdir(tree);
}

/* The rendered tree's root ("" when it cannot be made). */
static const char *tree_get(void)
{
	char p[PATH_MAX];
	const char *tmp;
	int fd;

	pthread_mutex_lock(&files_lock);
	if (tree[0]) {
		pthread_mutex_unlock(&files_lock);
		return tree;
	}
	tmp = getenv("TMPDIR");
	snprintf(tree, sizeof(tree), "%s/uiommu-debugfs-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(tree)) {
		tree[0] = '\0';
		pthread_mutex_unlock(&files_lock);
		return tree;
	}
	for (size_t i = 0; i < sizeof(fault_dirs) / sizeof(fault_dirs[0]);
	     i++) {
		snprintf(p, sizeof(p), "%s/%s", tree, fault_dirs[i]);
		mkdir(p, 0755);
	}
	for (size_t i = 0; i < sizeof(fault_attrs) / sizeof(fault_attrs[0]);
	     i++) {
		snprintf(p, sizeof(p), "%s/%s", tree, fault_attrs[i].path);
		fd = (int)syscall(SYS_openat, AT_FDCWD, p,
				  O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			syscall(SYS_close, fd);
	}
	tree_owner = getpid();
	atexit(tree_remove);
	pthread_mutex_unlock(&files_lock);
	return tree;
}

static const struct fault_attr_file *attr_find(const char *rel)
{
	for (size_t i = 0; i < sizeof(fault_attrs) / sizeof(fault_attrs[0]);
	     i++)
		if (!strcmp(rel, fault_attrs[i].path))
			return &fault_attrs[i];
	return NULL;
}

/* path below /sys/kernel/debug ("" for the root itself), or NULL */
static const char *debugfs_rel(const char *path)
{
	size_t n = strlen(DEBUGFS);

	if (!path || strncmp(path, DEBUGFS, n) || (path[n] && path[n] != '/'))
		return NULL;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

const char *fault_attr_dir(const char *path, char *buf, size_t len)
{
	const char *rel = debugfs_rel(path), *t;
	size_t n;

	if (!rel)
		return NULL;
	n = strlen(rel);
	while (n && rel[n - 1] == '/')
		n--;
	if (n) {
		size_t i;

		for (i = 0; i < sizeof(fault_dirs) / sizeof(fault_dirs[0]); i++)
			if (strlen(fault_dirs[i]) == n &&
			    !strncmp(rel, fault_dirs[i], n))
				break;
		if (i == sizeof(fault_dirs) / sizeof(fault_dirs[0]))
			return NULL;
	}
	t = tree_get();
	if (!t[0])
		return NULL;
	snprintf(buf, len, "%s%s%.*s", t, n ? "/" : "", (int)n, rel);
	return buf;
}

/*
 * The attribute dirfd/path names: an absolute /sys/kernel/debug/... path, or
 * one relative to a directory fd of the rendered tree.
 */
static const struct fault_attr_file *attr_of(int dirfd, const char *path)
{
	char dir[PATH_MAX], rel[PATH_MAX], link[64];
	const char *r;
	ssize_t n;

	if (!path)
		return NULL;
	if (path[0] == '/') {
		r = debugfs_rel(path);
		return r ? attr_find(r) : NULL;
	}
	if (dirfd == AT_FDCWD || !tree[0])
		return NULL;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
	n = (ssize_t)syscall(SYS_readlinkat, AT_FDCWD, link, dir,
			     sizeof(dir) - 1);
	if (n <= 0)
		return NULL;
	dir[n] = '\0';
	n = (ssize_t)strlen(tree);
	if (strncmp(dir, tree, (size_t)n) || (dir[n] && dir[n] != '/'))
		return NULL;
	snprintf(rel, sizeof(rel), "%s%s%s", dir[n] ? dir + n + 1 : "",
		 dir[n] ? "/" : "", path);
	return attr_find(rel);
}

bool fault_attr_path(int dirfd, const char *path)
{
	return attr_of(dirfd, path) != NULL;
}

int fault_attr_open(int dirfd, const char *path, int flags)
{
	const struct fault_attr_file *a = attr_of(dirfd, path);

	if (!a) {
		errno = ENOENT;
		return -1;
	}
	return file_open(0, a, flags);
}

/* The entry of fd, with files_lock held; NULL (lock not held) if none. */
static struct fail_nth_file *file_get(int fd)
{
	if (fd < 0 || !__atomic_load_n(&nr_files, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&files_lock);
	for (int i = 0; i < FAIL_NTH_FILES; i++) {
		struct stat st;

		if (files[i].fd != fd)
			continue;
		if (!syscall(SYS_fstat, fd, &st) && st.st_dev == files[i].dev &&
		    st.st_ino == files[i].ino)
			return &files[i];
		/* closed or replaced behind us: the fd is not ours now */
		files[i].fd = -1;
		__atomic_sub_fetch(&nr_files, 1, __ATOMIC_RELEASE);
		break;
	}
	pthread_mutex_unlock(&files_lock);
	return NULL;
}

static void file_put(void)
{
	pthread_mutex_unlock(&files_lock);
}

bool fail_nth_fd(int fd)
{
	struct fail_nth_file *f = file_get(fd);

	if (!f)
		return false;
	file_put();
	return true;
}

/* off < 0: at the file position, which moves */
static ssize_t file_read(int fd, void *buf, size_t n, off_t off)
{
	struct fail_nth_file *f = file_get(fd);
	char num[16];
	size_t len, pos;
	ssize_t ret;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	if (f->accmode == O_WRONLY) {
		file_put();
		errno = EBADF;
		return -1;
	}
	if (f->attr) {
		len = f->attr->is_bool
			      ? (size_t)snprintf(num, sizeof(num), "%c\n",
						 f->attr->value ? 'Y' : 'N')
			      : (size_t)snprintf(num, sizeof(num), "%llu\n",
						 f->attr->value);
	} else if (!is_thread(f->tid)) {
		file_put();
		errno = ESRCH;
		return -1;
	} else {
		len = (size_t)snprintf(num, sizeof(num), "%u\n",
				       uiommu_fail_nth_task_get(f->tid));
	}
	pos = (size_t)(off < 0 ? f->pos : off);
	ret = 0;
	if (pos < len) {
		ret = (ssize_t)(n < len - pos ? n : len - pos);
		memcpy(buf, num + pos, (size_t)ret);
	}
	if (off < 0)
		f->pos += ret;
	file_put();
	return ret;
}

/* kstrtouint_from_user's reading of the text: 0 or -EINVAL / -ERANGE. */
static int parse_ull(const char *ubuf, size_t count, unsigned long long max,
		     unsigned long long *out);

static int parse_uint(const char *ubuf, size_t count, unsigned int *out)
{
	unsigned long long v;
	int ret = parse_ull(ubuf, count, UINT_MAX, &v);

	if (!ret)
		*out = (unsigned int)v;
	return ret;
}

/* kstrtobool's reading: 0 or -EINVAL */
static int parse_bool(const char *ubuf, size_t count, bool *out)
{
	char c0 = count ? ubuf[0] : '\0', c1 = count > 1 ? ubuf[1] : '\0';

	switch (c0) {
	case 'y':
	case 'Y':
	case 't':
	case 'T':
	case '1':
		*out = true;
		return 0;
	case 'n':
	case 'N':
	case 'f':
	case 'F':
	case '0':
		*out = false;
		return 0;
	case 'o':
	case 'O':
		if (c1 == 'n' || c1 == 'N') {
			*out = true;
			return 0;
		}
		if (c1 == 'f' || c1 == 'F') {
			*out = false;
			return 0;
		}
		break;
	}
	return -EINVAL;
}

static int parse_ull(const char *ubuf, size_t count, unsigned long long max,
		     unsigned long long *out)
{
	char s[35]; /* sign, 32 binary digits, newline, NUL */
	unsigned long long v = 0;
	unsigned int base = 10, d;
	const char *p = s;
	bool any = false;

	count = count < sizeof(s) - 1 ? count : sizeof(s) - 1;
	memcpy(s, ubuf, count);
	s[count] = '\0';
	if (*p == '+')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2])) {
		base = 16;
		p += 2;
	} else if (p[0] == '0') {
		base = 8;
	}
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			d = (unsigned int)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned int)(tolower((unsigned char)*p) - 'a' +
					   10);
		else
			break;
		if (d >= base)
			break;
		if (v > (ULLONG_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = true;
	}
	if (!any)
		return -EINVAL;
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

ssize_t fail_nth_read(int fd, void *buf, size_t n)
{
	return file_read(fd, buf, n, -1);
}

ssize_t fail_nth_pread(int fd, void *buf, size_t n, off_t off)
{
	if (off < 0 && fail_nth_fd(fd)) {
		errno = EINVAL;
		return -1;
	}
	return file_read(fd, buf, n, off);
}

ssize_t fail_nth_write(int fd, const void *buf, size_t n)
{
	struct fail_nth_file *f = file_get(fd);
	const struct fault_attr_file *attr;
	unsigned int nth;
	pid_t tid;
	int ret;

	if (!f) {
		errno = EBADF;
		return -1;
	}
	tid = f->tid;
	attr = f->attr;
	ret = f->accmode == O_RDONLY ? -EBADF : 0;
	file_put();
	if (!ret && attr) {
		unsigned long long v = 0;
		bool b = false;

		/* only the value uiommu has: it cannot inject otherwise */
		ret = attr->is_bool ? parse_bool(buf, n, &b)
				    : parse_ull(buf, n, ULLONG_MAX, &v);
		if (!ret &&
		    (attr->is_bool ? (unsigned long long)b : v) != attr->value)
			ret = -EINVAL;
	} else if (!ret)
		ret = parse_uint(buf, n, &nth);
	if (!ret && !attr)
		ret = uiommu_fail_nth_task(tid, nth);
	if (ret) {
		errno = -ret;
		return -1;
	}
	return (ssize_t)n;
}

ssize_t fail_nth_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (off < 0 && fail_nth_fd(fd)) {
		errno = EINVAL;
		return -1;
	}
	return fail_nth_write(fd, buf, n);
}

off_t fail_nth_lseek(int fd, off_t off, int whence)
{
	(void)fd;
	(void)off;
	(void)whence;
	errno = ESPIPE;
	return -1;
}

int fail_nth_close(int fd)
{
	struct fail_nth_file *f = file_get(fd);

	if (!f) {
		errno = EBADF;
		return -1;
	}
	f->fd = -1;
	__atomic_sub_fetch(&nr_files, 1, __ATOMIC_RELEASE);
	file_put();
	return (int)syscall(SYS_close, fd);
}
