/* config/config_errors.c — placeholder until written */
