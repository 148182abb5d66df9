/*
 * server/validate.h — private to server/: validating JSON body rows for writes.
 */
#ifndef RESTABLE_SERVER_VALIDATE_H
#define RESTABLE_SERVER_VALIDATE_H

#include "server/app.h"

enum srv_write_mode { SRV_WRITE_CREATE, SRV_WRITE_REPLACE, SRV_WRITE_PATCH };

/* A validated row: assignments point into owned texts. */
struct srv_row_values {
    struct orm_assignment *assignments;
    size_t count;
    char **owned;
};

/* Validates object; appends {"field","message"} objects to errors for every problem and
 * returns -1 when any was found. path_pk: the canonical primary key of the row route, or NULL.
 * Free out with srv_row_values_free in both cases. */
int srv_row_validate(const struct cfg_table *table, json_t *object, enum srv_write_mode mode,
                     const char *path_pk, struct srv_row_values *out, json_t *errors);
void srv_row_values_free(struct srv_row_values *values);

#endif
