/*
 * server/openapi_internal.h — private to the OpenAPI builder (server/openapi*.c): the small
 * JSON helpers the document's parts share. Everything returns a new reference.
 */
#ifndef RESTABLE_SERVER_OPENAPI_INTERNAL_H
#define RESTABLE_SERVER_OPENAPI_INTERNAL_H

#include "server/app.h"

/* {"$ref": "#/components/<section>/<name>"} */
json_t *srv_openapi_ref(const char *section, const char *name);
/* {"application/json": {"schema": schema}} — steals schema */
json_t *srv_openapi_json_content(json_t *schema);
/* A response object {"description", "content": application/json schema} — steals schema */
json_t *srv_openapi_response(const char *description, json_t *schema);
/* Adds the shared error responses named by their codes ("400", "401", ...) to responses. */
void srv_openapi_add_errors(json_t *responses, const char *const *codes);
/* The operation's security requirements for a policy, plus "x-restable-policy" and the 401 /
 * 403 responses the policy can produce. No-op for security when no JWT key is configured. */
void srv_openapi_apply_policy(json_t *operation, const struct cfg_config *config,
                              const struct cfg_policy *policy);
/* An operation {"operationId", "summary", "tags": [tag], "responses"} — steals responses. */
json_t *srv_openapi_operation(const char *id_prefix, const char *table, const char *summary,
                              json_t *responses);

/* Adds the paths and component schemas of one table (server/openapi_table.c). */
void srv_openapi_add_table(json_t *paths, json_t *schemas, const struct cfg_config *config,
                           const struct cfg_table *table);

#endif
