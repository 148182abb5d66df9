/* orm/pool.c — placeholder until written */
