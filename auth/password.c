/* auth/password.c — placeholder until written */
