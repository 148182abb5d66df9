/*
 * server/http_loop.c — one thread for HTTP and the database (server.threads = 1). MHD runs
 * without threads of its own; the pool's event loop watches MHD's epoll descriptor and runs
 * MHD once a round, right after the round's query results were read and their callbacks
 * resumed the connections, and before the round's new queries are sent. A request is then
 * received, queried and answered by one thread: no hand-off between an MHD worker and the
 * pool's thread, no wake-up of one by the other (docs/decisions.md, bench/RESULTS.md).
 *
 * Only the loop thread calls MHD while the pool lives; after orm_pool_free has joined it,
 * the thread shutting down drives MHD itself to send the last answers.
 */
#include <limits.h>
#include <unistd.h>

#include "server/app.h"

bool srv_http_loop_wanted(const struct srv_sizing *sizing)
{
    /* server.threads 1, or 0 on one usable CPU */
    return sizing->threads == 1;
}

/* One round of MHD, on the pool's loop thread; returns how soon MHD wants the next. */
static int run_http(void *context)
{
    struct srv_app *app = context;
    MHD_run(app->daemon);
    /* MHD takes a resumed connection back in one run and writes its answer in the next: run
     * again now rather than on the next wake-up */
    if (atomic_exchange(&app->has_resumed, false))
        MHD_run(app->daemon);
    /* 0 when MHD has work left that its descriptor will not announce (a connection it knows
     * to be ready, e.g. in the middle of sending a large file) */
    MHD_UNSIGNED_LONG_LONG wait_ms = 0;
    if (MHD_get_timeout(app->daemon, &wait_ms) != MHD_YES)
        return -1;
    return wait_ms > INT_MAX ? INT_MAX : (int)wait_ms;
}

void srv_http_loop_resumed(struct srv_app *app)
{
    if (!app->is_shared_loop)
        return; /* MHD's own threads take resumed connections up themselves */
    atomic_store(&app->has_resumed, true);
    /* the resume may come from another thread (a replica's pool, the login's hashing thread)
     * while the loop sleeps on descriptors that will not announce it: wake it */
    orm_pool_poke_driver(app->pool);
}

void srv_http_loop_attach(struct srv_app *app)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(app->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    orm_pool_drive(app->pool, info->epoll_fd, run_http, app);
}

void srv_http_loop_run(struct srv_app *app)
{
    run_http(app);
}
