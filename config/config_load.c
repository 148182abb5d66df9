/* config/config_load.c — placeholder until written */
