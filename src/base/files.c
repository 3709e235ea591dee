// files.c: read-only mappings, whole-file reads, crash-safe writes
// (temporary name, fsync, rename) and small path helpers.
#define _GNU_SOURCE // nftw
#include "lathe/base.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

lt_status lt_mmap_open(lt_mmap *m, const char *path) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return lt_error(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lt_error(LT_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lt_error(LT_ERR_IO, "%s: not a regular file", path);
    }
    m->path = lt_strdup(path);
    if (!m->path) {
        close(fd);
        return lt_error_prefix(lt_error_nomem("a copy of the path", strlen(path) + 1), "%s", path);
    }
    m->size = (size_t)st.st_size;
    if (m->size > 0) {
        void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            lt_mmap_close(m);
            return lt_error(LT_ERR_IO, "%s: cannot map: %s", path, strerror(e));
        }
        m->data = p;
    }
    close(fd);
    return NULL;
}

void lt_mmap_close(lt_mmap *m) {
    if (m->data) munmap((void *)m->data, m->size);
    free(m->path);
    memset(m, 0, sizeof *m);
}

lt_status lt_file_read_all(const char *path, char **out, size_t *size_out, size_t max_size) {
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return lt_error(LT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lt_error(LT_ERR_IO, "%s: not a regular file", path);
    }
    size_t size = (size_t)st.st_size;
    if (size > max_size) {
        fclose(f);
        return lt_error(LT_ERR_RANGE, "%s: %zu bytes, more than the %zu allowed", path, size,
                        max_size);
    }
    char *buf;
    lt_status s = lt_alloc((void **)&buf, size + 1, path);
    if (s) {
        fclose(f);
        return s;
    }
    size_t got = fread(buf, 1, size, f);
    fclose(f);
    if (got != size) {
        lt_free(buf);
        return lt_error(LT_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, size);
    }
    buf[size] = 0;
    *out = buf;
    if (size_out) *size_out = size;
    return NULL;
}

lt_status lt_file_create(lt_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->fd = -1;
    size_t n = strlen(path) + 32;
    f->path = lt_strdup(path);
    f->tmp_path = malloc(n);
    if (!f->path || !f->tmp_path) {
        lt_file_abort(f);
        return lt_error_prefix(lt_error_nomem("the file's names", 2 * n), "%s", path);
    }
    snprintf(f->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
    f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (f->fd < 0) {
        lt_status s = lt_error(LT_ERR_IO, "%s: cannot create: %s", f->tmp_path, strerror(errno));
        free(f->tmp_path);
        f->tmp_path = NULL;
        lt_file_abort(f);
        return s;
    }
    return NULL;
}

lt_status lt_file_write(lt_file *f, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t w = write(f->fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return lt_error(LT_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
        f->written += (uint64_t)w;
    }
    return NULL;
}

lt_status lt_file_commit(lt_file *f) {
    lt_status s = NULL;
    if (fsync(f->fd) != 0)
        s = lt_error(LT_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (!s && close(f->fd) != 0)
        s = lt_error(LT_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    f->fd = -1;
    if (!s && rename(f->tmp_path, f->path) != 0)
        s = lt_error(LT_ERR_IO, "%s: rename failed: %s", f->path, strerror(errno));
    if (s) {
        lt_file_abort(f);
        return s;
    }
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    return NULL;
}

void lt_file_abort(lt_file *f) {
    if (f->fd >= 0) close(f->fd);
    if (f->tmp_path) unlink(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

lt_status lt_file_write_all(const char *path, const void *data, size_t n) {
    lt_file f;
    LT_TRY(lt_file_create(&f, path));
    lt_status s = lt_file_write(&f, data, n);
    if (s) {
        lt_file_abort(&f);
        return s;
    }
    return lt_file_commit(&f);
}

bool lt_path_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

lt_status lt_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return lt_error(LT_ERR_IO, "%s: cannot open directory: %s", path, strerror(errno));
    int rc = fsync(fd), e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL)
        return lt_error(LT_ERR_IO, "%s: fsync failed: %s", path, strerror(e));
    return NULL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

lt_status lt_remove_tree(const char *path) {
    if (!lt_path_exists(path)) return NULL;
    if (nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return lt_error(LT_ERR_IO, "%s: cannot remove: %s", path, strerror(errno));
    return NULL;
}

void lt_fault_point(const char *point) {
    const char *want = getenv("LATHE_FAULT");
    if (want && strcmp(want, point) == 0) abort();
}

bool lt_path_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

lt_status lt_mkdir_p(const char *path) {
    char *p = lt_strdup(path);
    if (!p)
        return lt_error_prefix(lt_error_nomem("a copy of the path", strlen(path) + 1), "%s", path);
    for (char *c = p + 1;; c++) {
        if (*c == '/' || *c == 0) {
            char saved = *c;
            *c = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                lt_status s =
                    lt_error(LT_ERR_IO, "%s: cannot create directory: %s", p, strerror(errno));
                free(p);
                return s;
            }
            *c = saved;
            if (saved == 0) break;
        }
    }
    free(p);
    if (!lt_path_is_dir(path))
        return lt_error(LT_ERR_IO, "%s: exists and is not a directory", path);
    return NULL;
}

char *lt_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *s = malloc(a + b + 2);
    if (!s) return NULL;
    memcpy(s, dir, a);
    size_t k = a;
    if (a > 0 && dir[a - 1] != '/') s[k++] = '/';
    memcpy(s + k, name, b + 1);
    return s;
}

double lt_time_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
