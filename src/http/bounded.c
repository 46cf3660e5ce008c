/* bounded.c — answers that stay bounded at any store size: the limit/offset
 * of a paginated list, and a file answered from disk in blocks instead of
 * being read into memory. */
#include "http/request.h"

#include "util/timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdatomic.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Blocks a file is sent in: the only buffer the answer needs. */
#define FILE_BLOCK_BYTES (64 * 1024)

int http_query_page(struct http_req *r, long long *limit, long long *offset)
{
    if (http_query_int(r, "limit", HTTP_PAGE_MAX, 1, HTTP_PAGE_MAX, limit) ||
        http_query_int(r, "offset", 0, 0, INT64_MAX / 2, offset))
        return -1;
    return 0;
}

void http_total_header(struct http_req *r, long long total)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", total);
    http_header(r, "X-Total-Count", n);
}

struct file_stream {
    int fd;
};

static ssize_t read_block(void *cls, uint64_t offset, char *buf, size_t max)
{
    struct file_stream *f = cls;
    ssize_t n;
    do
        n = pread(f->fd, buf, max, (off_t)offset);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0) /* the file shrank: its announced length cannot be met */
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void close_stream(void *cls)
{
    struct file_stream *f = cls;
    if (!f)
        return;
    close(f->fd);
    free(f);
}

int http_file(struct http_req *r, int status, const char *path, const char *content_type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat st;
    struct file_stream *f = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(f = malloc(sizeof *f))) {
        close(fd);
        return -1;
    }
    /* Regular file: reads never block; keep it simple for pread. */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    f->fd = fd;
    if (ulfius_set_stream_response(r->resp, (unsigned)status, read_block, close_stream,
                                   (uint64_t)st.st_size, FILE_BLOCK_BYTES, f) != U_OK) {
        close_stream(f);
        return -1;
    }
    r->status = status;
    http_header(r, "Content-Type", content_type);
    return 0;
}

/* When memory was last given back (monotonic µs); one process, one server. */
static atomic_llong last_trim_us;

void http_memory_after_answer(void)
{
    int64_t now = time_mono_us();
    long long last = atomic_load(&last_trim_us);
    /* At most once a second, and only the thread that wins the exchange. */
    if (now - last < USEC_PER_SEC ||
        !atomic_compare_exchange_strong(&last_trim_us, &last, (long long)now))
        return;
    malloc_trim(0);
}
