/*
 * server/validate.h — private to server/: validating JSON body rows for writes.
 */
#ifndef RESTABLE_SERVER_VALIDATE_H
#define RESTABLE_SERVER_VALIDATE_H

#include "server/app.h"

/* UPSERT: as CREATE, but a serial primary key may be sent (it names the row to update). */
enum srv_write_mode { SRV_WRITE_CREATE, SRV_WRITE_UPSERT, SRV_WRITE_REPLACE, SRV_WRITE_PATCH };

/* A validated row: the assignments and the texts they point to are in the validator's arena. */
struct srv_row_values {
    struct orm_assignment *assignments;
    size_t count;
};

/* Validates object; appends {"field","message"} objects to errors for every problem and
 * returns -1 when any was found. path_pk: the canonical primary key of the row route, or NULL.
 * Everything out holds is allocated from arena (the request's), in both cases. */
int srv_row_validate(struct rs_arena *arena, const struct cfg_table *table, json_t *object,
                     enum srv_write_mode mode, const char *path_pk, struct srv_row_values *out,
                     json_t *errors);

#endif
