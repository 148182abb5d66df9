/* config/config_summary.c — placeholder until written */
