/* orm/query.c — placeholder until written */
