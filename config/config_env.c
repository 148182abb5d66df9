/* config/config_env.c — placeholder until written */
