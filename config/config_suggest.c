/* config/config_suggest.c — placeholder until written */
