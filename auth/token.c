/* auth/token.c — placeholder until written */
