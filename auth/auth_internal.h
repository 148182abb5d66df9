/*
 * auth/auth_internal.h — private to auth/: base64 helpers shared by token verification,
 * token issuing and password hashing.
 */
#ifndef RESTABLE_AUTH_INTERNAL_H
#define RESTABLE_AUTH_INTERNAL_H

#include <stddef.h>

/* Strict base64url without padding (JWT parts). Caller frees *out. -1 on any bad input. */
int auth_base64url_decode(const char *text, size_t length, unsigned char **out, size_t *out_length);
/* Standard base64 with padding, no newlines. Caller frees. */
char *auth_base64_encode(const unsigned char *data, size_t length);
/* Standard base64 with padding; -1 on bad input. Caller frees *out. */
int auth_base64_decode(const char *text, unsigned char **out, size_t *out_length);

#endif
