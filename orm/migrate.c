/* orm/migrate.c — placeholder until written */
