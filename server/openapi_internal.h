/*
 * server/openapi_internal.h — private to the OpenAPI builder (server/openapi*.c): the small
 * JSON helpers the document's parts share (server/openapi_build.c). Everything returns a new
 * reference.
 */
#ifndef RESTABLE_SERVER_OPENAPI_INTERNAL_H
#define RESTABLE_SERVER_OPENAPI_INTERNAL_H

#include "server/app.h"

/* {"$ref": "#/components/<section>/<name>"} */
json_t *srv_openapi_ref(const char *section, const char *name);
/* {"application/json": {"schema": schema}} — steals schema */
json_t *srv_openapi_json_content(json_t *schema);
/* A response object {"description", "content": application/json schema, "headers":
 * X-Request-Id} — steals schema. Every response restable sends carries X-Request-Id. */
json_t *srv_openapi_response(const char *description, json_t *schema);
/* The same without a body (204). */
json_t *srv_openapi_empty_response(const char *description);
/* A response whose body is not JSON: content_type with a string schema. */
json_t *srv_openapi_text_response(const char *description, const char *content_type);
/* Adds header (a components/headers name) to a response object. */
void srv_openapi_add_header(json_t *response, const char *header);
/* Adds the shared error responses named by their codes ("400", "401", ...) to responses. */
void srv_openapi_add_errors(json_t *responses, const char *const *codes);
/* Adds the errors any request can get, whatever its route: framing, limits, overload, bugs
 * (400, 413, 414, 431, 500, 501, 503, 505). */
void srv_openapi_add_any_request_errors(json_t *responses);
/* The operation's security requirements for a policy, plus "x-restable-policy" and the 401 /
 * 403 responses the policy can produce. A route that reads tokens can answer 401 even
 * without a JWT key (then every presented token is refused). */
void srv_openapi_apply_policy(json_t *operation, const struct cfg_config *config,
                              const struct cfg_policy *policy);
/* components/responses: every error status restable answers, each with the header it always
 * carries and the limit behind it (413, 414, 431). */
json_t *srv_openapi_error_components(const struct cfg_config *config);
/* An operation {"operationId", "summary", "tags": [tag], "responses"} — steals responses;
 * the errors any request can get are added. */
json_t *srv_openapi_operation(const char *id_prefix, const char *table, const char *summary,
                              json_t *responses);

/* Adds the paths and the component schemas and parameters of one table
 * (server/openapi_table.c). */
void srv_openapi_add_table(json_t *paths, json_t *components, const struct cfg_config *config,
                           const struct cfg_table *table);

/* Adds POST /batch/ (server/openapi_batch.c). */
void srv_openapi_add_batch(json_t *paths, const struct cfg_config *config);

#endif
