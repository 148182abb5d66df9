/*
 * config/config_admin.c — the "admin" section (SPEC §8): whether GET /admin/ serves the admin
 * UI ("enabled", default true) and the folder its built files are in ("dir", else found beside
 * the binary; see docs/operations.md).
 */
#include "config/config_internal.h"

void cfg_load_admin(struct cfg_loader *loader, const json_t *root, struct cfg_config *config)
{
    const json_t *admin = cfg_get_object(loader, root, "", "admin");
    static const char *const keys[] = {"enabled", "dir", NULL};
    if (admin)
        cfg_check_keys(loader, admin, "admin", keys);
    cfg_get_bool(loader, admin, "admin", "enabled", true, &config->admin.enabled);
    cfg_get_folder(loader, admin, "admin", "dir", config, config->admin.dir,
                   sizeof config->admin.dir);
}
