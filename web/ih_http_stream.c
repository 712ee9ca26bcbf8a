/*  ih_http_stream.c: the web layer's streamed answers (ih_req_stream, ih_http.h): a
    body made part by part, each part a worker's job in its client's share, so that an
    export of a million alerts goes out in flat memory and takes its turn with the
    other requests of the same address. */
#include <sys/socket.h>

#include "ih_http.h"
#include "ih_http_int.h"
#include "ih_workq.h"

/*  A stream's state: the front end's callbacks and the part being sent. */
typedef struct {
    ih_http_fill_fn *fill;
    ih_http_free_fn *free_fn;
    void *arg;
    struct MHD_Connection *conn;    /* the connection the stream goes out on */
    ih_http_t *http;
    ih_buf_t buf;
    size_t off;
    bool finished;
    bool failed;
    //  Each part is a worker's job, in its address's share (s_stream_work).
    ih_workq_job_t job;
    uint8_t key [IH_WORKQ_KEY];
    bool pending;                   /* a worker makes the next part */
    bool ready;                     /* it is made: fill_rc is what fill returned */
    int fill_rc;
} s_stream_t;

/*  A stream that fails ends without the last chunk of its chunked body, so that a client
    sees it incomplete, not a short answer that looks whole: MHD_CONTENT_READER_END_WITH_
    ERROR makes libmicrohttpd close the connection without it. With MHD_USE_TURBO (our
    server's) libmicrohttpd 0.9.75 skips the shutdown(2) of a closed connection, and the
    socket stays open until its timeout, the client waiting; so the stream shuts its
    socket's writing side itself: the client reads the end of the connection at once. */
static ssize_t
s_stream_cut (s_stream_t *s)
{
    const union MHD_ConnectionInfo *ci = s->conn
        ? MHD_get_connection_info (s->conn, MHD_CONNECTION_INFO_CONNECTION_FD) : NULL;
    if (ci)
        shutdown (ci->connect_fd, SHUT_WR);
    return MHD_CONTENT_READER_END_WITH_ERROR;
}

/*  A worker's job: the stream's next part; then the connection resumes, and
    s_stream_read sends it. */
static void
s_stream_work (void *arg, bool cancelled)
{
    s_stream_t *s = (s_stream_t *) arg;
    s->fill_rc = cancelled ? -1 : s->fill (s->arg, &s->buf);
    s->pending = false;
    s->ready = true;
    MHD_resume_connection (s->conn);
}

/*  libmicrohttpd asks for more of the body. A part is made by a worker, not here: an
    export's parts are the expensive work of a stream, and they take their turn with
    every other request of the same address. Meanwhile the connection is suspended, and
    this returns 0 (nothing yet); it is called again when the worker resumes it. */
static ssize_t
s_stream_read (void *cls, uint64_t pos, char *out, size_t max)
{
    s_stream_t *s = (s_stream_t *) cls;
    while (s->off == s->buf.len) {
        if (s->finished)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (s->failed)
            return s_stream_cut (s);
        if (s->pending)
            return 0;
        if (!s->ready) {
            ih_buf_reset (&s->buf);
            s->off = 0;
            s->pending = true;
            MHD_suspend_connection (s->conn);
            ih_workq_submit (s->http->workq, &s->job, s->key, s_stream_work, s);
            return 0;
        }
        s->ready = false;
        int rc = s->fill_rc;
        if (rc < 0) {
            //  What is buffered is sent; the connection then closes without the end of
            //  the chunked body, so a client sees the answer as incomplete.
            s->failed = true;
            if (s->buf.len == 0)
                return s_stream_cut (s);
        }
        else
        if (rc == 0)
            s->finished = true;
    }
    size_t n = s->buf.len - s->off;
    if (n > max)
        n = max;
    memcpy (out, s->buf.data + s->off, n);
    s->off += n;
    return (ssize_t) n;
}

static void
s_stream_free (void *cls)
{
    s_stream_t *s = (s_stream_t *) cls;
    if (s->free_fn)
        s->free_fn (s->arg);
    ih_buf_free (&s->buf);
    free (s);
}

int
ih_req_stream (ih_req_t *r, ih_http_fill_fn *fill, ih_http_free_fn *free_fn, void *arg)
{
    s_stream_t *s = (s_stream_t *) calloc (1, sizeof *s);
    if (!s)
        abort ();
    s->fill = fill;
    s->free_fn = free_fn;
    s->arg = arg;
    s->conn = r->conn;
    s->http = r->http;
    ih_http_conn_key (r->conn, s->key);
    ih_buf_init (&s->buf);
    r->resp = MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 32 * 1024, s_stream_read, s,
                                                 s_stream_free);
    if (!r->resp) {
        s_stream_free (s);
        ih_req_error (r, 500, "cannot create the response");
        return -1;
    }
    if (r->status == 0)
        r->status = 200;
    r->etag = false;
    return 0;
}

