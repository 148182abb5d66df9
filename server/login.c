/*
 * server/login.c — POST /auth/login: rate-limited per client address, looks the user up
 * through the pool, then checks the password (PBKDF2, deliberately slow) on a dedicated
 * hashing thread so a burst of logins never stalls the HTTP workers or the pool's loop.
 * An unknown user costs the same work as a wrong password. The job lives in the request's
 * arena: the hashing thread has the request to itself until it resumes the connection.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/app.h"

#define RATE_SLOTS 4096

struct rate_slot {
    char address[48];
    time_t window_start;
    int count;
};

static struct rate_slot rate_slots[RATE_SLOTS];
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;

/* One job per login waiting for the hashing thread; it and its texts are in the request's
 * arena. */
struct login_job {
    struct srv_request *request;
    char *username;
    char *password;    /* wiped when the request ends (wipe_password) */
    char *stored_hash; /* NULL: no such user */
    char *roles_literal;
    struct login_job *next;
};

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static struct login_job *queue_head, *queue_tail;
static pthread_once_t hasher_once = PTHREAD_ONCE_INIT;

static void client_address(struct srv_request *request, char *out, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(request->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, size, "unknown");
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *address = info->client_addr;
    if (address->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)address)->sin_addr, out, (socklen_t)size);
    else if (address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)address)->sin6_addr, out,
                  (socklen_t)size);
}

/* Returns 0 when allowed, else the seconds until the window resets. */
static int rate_limit(const char *address, int per_minute)
{
    unsigned long hash = 5381;
    for (const char *p = address; *p; p++)
        hash = hash * 33 + (unsigned char)*p;
    time_t now = time(NULL);
    pthread_mutex_lock(&rate_lock);
    struct rate_slot *slot = &rate_slots[hash % RATE_SLOTS];
    if (strcmp(slot->address, address) != 0 || now - slot->window_start >= 60) {
        snprintf(slot->address, sizeof slot->address, "%s", address);
        slot->window_start = now;
        slot->count = 0;
    }
    int wait = 0;
    if (slot->count >= per_minute)
        wait = (int)(60 - (now - slot->window_start));
    else
        slot->count++;
    pthread_mutex_unlock(&rate_lock);
    return wait;
}

/* An arena cleanup: the password does not linger in freed memory. */
static void wipe_password(void *password)
{
    memset(password, 0, strlen(password));
}

/* Splits a PostgreSQL text[] literal {a,b} (roles are plain names) into an array. */
static size_t parse_roles(char *literal, const char **roles, size_t capacity)
{
    size_t count = 0;
    if (!literal || literal[0] != '{')
        return 0;
    char *save = NULL;
    for (char *role = strtok_r(literal + 1, ",}", &save); role && count < capacity;
         role = strtok_r(NULL, ",}", &save)) {
        if (*role == '"')
            role++;
        size_t length = strlen(role);
        if (length && role[length - 1] == '"')
            role[length - 1] = '\0';
        if (*role)
            roles[count++] = role;
    }
    return count;
}

static void finish_job(struct login_job *job)
{
    struct srv_request *request = job->request;
    const struct cfg_config *config = request->app->config;
    bool ok =
        auth_password_verify(job->password, job->stored_hash, config->auth.password_iterations);
    if (!ok) {
        srv_respond_error(request, 401, NULL, "wrong username or password");
    } else {
        const char *roles[32];
        size_t role_count = parse_roles(job->roles_literal, roles, 32);
        struct rs_error error = {0};
        char *token = auth_token_issue(config, job->username, NULL, roles, role_count,
                                       config->auth.login_ttl_s, &error);
        if (!token) {
            srv_respond_error(request, 500, NULL,
                              "internal error: cannot issue a token "
                              "(request %s)",
                              request->request_id);
        } else {
            srv_respond_json(request, 200,
                             json_pack("{s:s,s:s,s:i}", "token", token, "token_type", "bearer",
                                       "expires_in", config->auth.login_ttl_s));
            free(token);
        }
    }
    srv_request_resume(request); /* the last touch of the request and of job */
}

static void *hasher_main(void *unused)
{
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&queue_lock);
        while (!queue_head)
            pthread_cond_wait(&queue_ready, &queue_lock);
        struct login_job *job = queue_head;
        queue_head = job->next;
        if (!queue_head)
            queue_tail = NULL;
        pthread_mutex_unlock(&queue_lock);
        finish_job(job);
    }
    return NULL;
}

static void hasher_start(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, hasher_main, NULL) == 0)
        pthread_detach(thread);
}

static void enqueue(void *argument)
{
    struct login_job *job = argument;
    pthread_mutex_lock(&queue_lock);
    job->next = NULL;
    if (queue_tail)
        queue_tail->next = job;
    else
        queue_head = job;
    queue_tail = job;
    pthread_cond_signal(&queue_ready);
    pthread_mutex_unlock(&queue_lock);
}

static void lookup_done(struct srv_request *request, struct orm_outcome *outcome)
{
    struct login_job *job = request->handler_state;
    if (outcome->status != ORM_OK) {
        srv_respond_outcome_error(request, outcome);
        return;
    }
    if (PQntuples(outcome->result) == 1) {
        job->stored_hash = rs_arena_strdup(&request->arena, PQgetvalue(outcome->result, 0, 0));
        job->roles_literal = rs_arena_strdup(&request->arena, PQgetvalue(outcome->result, 0, 1));
    }
    /* Handed over to the hashing thread once the dispatcher is done with the request; that
     * thread answers and resumes the connection. */
    job->request = request;
    request->hand_off = enqueue;
    request->hand_off_argument = job;
}

void srv_handle_login(struct srv_request *request)
{
    const struct cfg_config *config = request->app->config;
    char address[48];
    client_address(request, address, sizeof address);
    int wait = rate_limit(address, config->auth.login_rate_per_minute);
    if (wait > 0) {
        srv_respond_error(request, 429, NULL, "too many login attempts; try again in %d s", wait);
        char seconds[16];
        snprintf(seconds, sizeof seconds, "%d", wait);
        srv_add_header(request, MHD_HTTP_HEADER_RETRY_AFTER, seconds);
        return;
    }
    json_t *body = srv_parse_json_body(request);
    if (!body)
        return;
    const char *username = json_string_value(json_object_get(body, "username"));
    const char *password = json_string_value(json_object_get(body, "password"));
    json_t *errors = json_array();
    if (!username || !*username)
        json_array_append_new(errors, json_pack("{s:s,s:s}", "field", "username", "message",
                                                "a non-empty string is required"));
    if (!password)
        json_array_append_new(
            errors, json_pack("{s:s,s:s}", "field", "password", "message", "a string is required"));
    if (json_array_size(errors) > 0) {
        srv_respond_errors(request, 422, "the body did not validate", errors);
        return;
    }
    json_decref(errors);
    struct login_job *job = rs_arena_calloc(&request->arena, 1, sizeof *job);
    job->username = rs_arena_strdup(&request->arena, username);
    job->password = rs_arena_strdup(&request->arena, password);
    rs_arena_defer(&request->arena, wipe_password, job->password);
    pthread_once(&hasher_once, hasher_start);
    request->handler_state = job;

    struct orm_sql sql = {0};
    sb_append(&sql.text, "SELECT password_hash, roles::text FROM restable_user "
                         "WHERE username = $1::text");
    orm_sql_bind(&sql, job->username);
    srv_run_query(request, &sql, lookup_done);
    orm_sql_free(&sql);
}
