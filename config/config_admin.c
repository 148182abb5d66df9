/*
 * config/config_admin.c — the "admin" section (SPEC §8): whether GET /admin/ serves the admin
 * UI ("enabled", default true) and the folder its built files are in ("dir", else found beside
 * the binary; see docs/operations.md).
 */
#include <string.h>

#include "config/config_internal.h"

void cfg_load_admin(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *admin = cfg_get_object(loader, root, "", "admin");
    static const char *const keys[] = {"enabled", "dir", NULL};
    if (admin)
        cfg_check_keys(loader, admin, "admin", keys);
    cfg_get_bool(loader, admin, "admin", "enabled", true, &config->admin.enabled);
    char *dir = cfg_get_string(loader, admin, "admin", "dir", NULL, CFG_NULLABLE);
    if (!dir)
        return;
    char *resolved = cfg_resolve_path(config, dir);
    if (strlen(resolved) >= sizeof config->admin.dir)
        cfg_error(loader, "admin.dir", "the path is longer than %zu bytes",
                  sizeof config->admin.dir - 1);
    else
        memcpy(config->admin.dir, resolved, strlen(resolved) + 1);
}
