/* orm/types.c — placeholder until written */
