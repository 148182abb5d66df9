/*
 * tests/fuzz/fuzz_config.c — libFuzzer target for the config loader: the input is the text of
 * a restable.json (with ${VAR} substitution against a fixed environment). A config that loads
 * is then handed to everything that consumes one without a database (the `config check`
 * summary, the declared schema and its CREATE statements, each column's JSON Schema and
 * default), since those trust what the loader validated.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "orm/orm.h"
#include "orm/schema_internal.h"
#include "tests/fuzz/fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* overrides would hide what the file says; a fixed variable for ${FUZZ_VAR} */
    static const char *const overrides[] = {"RESTABLE_DATABASE_URL",
                                            "DATABASE_URL",
                                            "RESTABLE_HOST",
                                            "RESTABLE_PORT",
                                            "RESTABLE_JWT_SECRET",
                                            "RESTABLE_CONFIG",
                                            NULL};
    for (int i = 0; overrides[i]; i++)
        unsetenv(overrides[i]);
    setenv("FUZZ_VAR", "fuzz-value", 1);
    setenv("FUZZ_SECRET", "0123456789abcdef0123456789abcdef", 1);
    setenv("FUZZ_EMPTY", "", 1);
    return 0;
}

static void use_config(const struct cfg_config *config)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    fuzz_expect(out != NULL, "open_memstream");
    cfg_print_summary(config, out);
    fclose(out);
    free(text);

    struct sb sql = {0};
    orm_schema_create_sql(config, &sql);
    sb_free(&sql);

    struct orm_declared declared;
    orm_declared_init(&declared, config);
    fuzz_expect(declared.table_count >= config->table_count, "declared every table");
    orm_declared_free(&declared);

    for (size_t t = 0; t < config->table_count; t++) {
        const struct cfg_table *table = &config->tables[t];
        fuzz_expect(table->primary_key < table->column_count, "a primary key column");
        for (size_t c = 0; c < table->column_count; c++) {
            const struct cfg_column *column = &table->columns[c];
            json_decref(orm_column_json_schema(column));
            json_decref(orm_column_default_json(column));
            struct sb type = {0};
            orm_column_ddl_type(column, &type);
            sb_free(&type);
            fuzz_expect(cfg_column_find(table, column->name) == column, "column names unique");
        }
        fuzz_expect(cfg_table_find(config, table->name) == table, "table names unique");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64 * 1024)
        return -1;
    char *text = fuzz_strndup(data, size);
    struct cfg_errors errors;
    struct cfg_config *config = cfg_load_string(text, "/tmp/restable-fuzz/restable.json", &errors);
    if (config) {
        fuzz_expect(errors.count == 0, "a loaded config has no errors");
        use_config(config);
        cfg_free(config);
    } else {
        fuzz_expect(errors.count > 0, "a refused config says why");
        for (size_t i = 0; i < errors.count; i++)
            fuzz_expect(errors.messages[i] && errors.messages[i][0],
                        "error messages say something");
    }
    cfg_errors_free(&errors);
    free(text);
    return 0;
}
