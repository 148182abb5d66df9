/* auth/verify.c — placeholder until written */
