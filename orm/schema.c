/* orm/schema.c — placeholder until written */
