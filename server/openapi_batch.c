/*
 * server/openapi_batch.c — POST /batch/ in the OpenAPI document: the request (1 to 100
 * operations, each a method, a writable table, an id and a body, where a string "$N.col" takes
 * a column of operation N's row), the answer (a status and, for POST and PATCH, the row, per
 * operation), the errors (those of the single routes, each naming the operation at fault), and
 * a token that is optional: each operation is checked against its own table's policy.
 */
#include <stdio.h>

#include "server/openapi_internal.h"

static const char reference_text[] =
    "a string that is exactly \"$N.col\" is replaced by column col of the row operation N "
    "(an earlier POST or PATCH) answered";

static json_t *operation_schema(const struct cfg_config *config)
{
    json_t *tables = json_array();
    for (size_t i = 0; i < config->table_count; i++)
        if (!config->tables[i].read_only)
            json_array_append_new(tables, json_string(config->tables[i].name));
    json_t *id = json_pack("{s:[s,s],s:s}", "type", "integer", "string", "description",
                           "the row's primary key (PUT, PATCH, DELETE), or \"$N.col\"");
    char description[400];
    snprintf(description, sizeof description,
             "the row to write, as the single route takes it (POST, PUT, PATCH); %s",
             reference_text);
    json_t *body = json_pack("{s:s,s:s}", "type", "object", "description", description);
    return json_pack("{s:s,s:[s,s],s:{s:{s:[s,s,s,s]},s:{s:s,s:o},s:o,s:o},s:b}", "type", "object",
                     "required", "method", "table", "properties", "method", "enum", "POST", "PUT",
                     "PATCH", "DELETE", "table", "type", "string", "enum", tables, "id", id, "body",
                     body, "additionalProperties", 0);
}

static json_t *request_schema(const struct cfg_config *config)
{
    return json_pack("{s:s,s:[s],s:{s:{s:s,s:i,s:i,s:o}},s:b}", "type", "object", "required",
                     "operations", "properties", "operations", "type", "array", "minItems", 1,
                     "maxItems", 100, "items", operation_schema(config), "additionalProperties", 0);
}

static json_t *answer_schema(void)
{
    json_t *result =
        json_pack("{s:s,s:[s],s:{s:{s:s,s:[i,i,i]},s:{s:s,s:s}},s:b}", "type", "object", "required",
                  "status", "properties", "status", "type", "integer", "enum", 200, 201, 204,
                  "body", "type", "object", "description",
                  "the row (POST: the whole row created, as GET /T/{pk}/ reads it; PATCH: the row "
                  "updated); PUT and DELETE answer no body",
                  "additionalProperties", 0);
    return json_pack("{s:s,s:[s],s:{s:{s:s,s:o}},s:b}", "type", "object", "required", "results",
                     "properties", "results", "type", "array", "items", result,
                     "additionalProperties", 0);
}

void srv_openapi_add_batch(json_t *paths, const struct cfg_config *config)
{
    json_t *operation = srv_openapi_operation(
        "batch", NULL, "run up to 100 row writes on any tables in one transaction: all or nothing",
        json_pack("{s:o}", "200",
                  srv_openapi_response("every operation's answer, in order", answer_schema())));
    json_object_set_new(
        operation, "description",
        json_string("Every operation is checked (its table's write or delete policy, the body, "
                    "its references) before any runs. The first that fails rolls all of them "
                    "back, and the answer is its error with \"operation\": N."));
    srv_openapi_add_errors(
        json_object_get(operation, "responses"),
        (const char *const[]){"403", "404", "405", "409", "415", "422", "428", "504", NULL});
    /* the token is optional here: each operation's table policy asks for one or not */
    srv_openapi_apply_policy(operation, config, &(struct cfg_policy){.kind = CFG_POLICY_PUBLIC});
    json_object_del(operation, "x-restable-policy");
    json_object_set_new(operation, "requestBody",
                        json_pack("{s:b,s:o}", "required", 1, "content",
                                  srv_openapi_json_content(request_schema(config))));
    char path[300];
    snprintf(path, sizeof path, "%sbatch/", config->server.base_path);
    json_object_set_new(paths, path, json_pack("{s:o}", "post", operation));
}
