/* auth/policy.c — placeholder until written */
