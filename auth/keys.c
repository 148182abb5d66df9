/*
 * auth/keys.c — verification keys as values: which family a key is (HMAC, RSA, EC on P-256,
 * P-384 or P-521, Ed25519) and so which algorithms it may verify; PEM public keys read from
 * files (RSA under 2048 bits and other curves refused); and the static part of the key set
 * built from the config (the single auth.jwt key and auth.jwt.keys). No token is read here.
 */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

enum auth_key_family auth_algorithm_family(enum cfg_jwt_algorithm algorithm)
{
    switch (algorithm) {
    case CFG_JWT_RS256:
    case CFG_JWT_RS384:
    case CFG_JWT_RS512:
    case CFG_JWT_PS256:
    case CFG_JWT_PS384:
    case CFG_JWT_PS512:
        return AUTH_FAMILY_RSA;
    case CFG_JWT_ES256:
        return AUTH_FAMILY_P256;
    case CFG_JWT_ES384:
        return AUTH_FAMILY_P384;
    case CFG_JWT_ES512:
        return AUTH_FAMILY_P521;
    case CFG_JWT_EDDSA:
        return AUTH_FAMILY_ED25519;
    default:
        return AUTH_FAMILY_HMAC;
    }
}

bool auth_key_fits(const struct auth_key *key, enum cfg_jwt_algorithm algorithm)
{
    if (algorithm == CFG_JWT_NONE || algorithm == CFG_JWT_KEY_SET)
        return false;
    if (key->algorithm != CFG_JWT_NONE)
        return key->algorithm == algorithm;
    return auth_algorithm_family(algorithm) == key->family;
}

int auth_key_family_of(EVP_PKEY *key, enum auth_key_family *family, char *reason, size_t size)
{
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
        if (EVP_PKEY_get_bits(key) < AUTH_MIN_RSA_BITS) {
            snprintf(reason, size, "RSA key of %d bits (%d at least)", EVP_PKEY_get_bits(key),
                     AUTH_MIN_RSA_BITS);
            return -1;
        }
        *family = AUTH_FAMILY_RSA;
        return 0;
    case EVP_PKEY_ED25519:
        *family = AUTH_FAMILY_ED25519;
        return 0;
    case EVP_PKEY_EC:
        break;
    default:
        snprintf(reason, size, "not an RSA, EC or Ed25519 key");
        return -1;
    }
    char group[64] = "";
    size_t length = 0;
    if (EVP_PKEY_get_group_name(key, group, sizeof group, &length) != 1)
        group[0] = '\0';
    /* OpenSSL names the curves by their X9.62 / SEC names; JOSE by the NIST ones */
    if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
        *family = AUTH_FAMILY_P256;
    else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
        *family = AUTH_FAMILY_P384;
    else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
        *family = AUTH_FAMILY_P521;
    else {
        snprintf(reason, size, "EC key on curve %s (P-256, P-384 or P-521 only)",
                 group[0] ? group : "unknown");
        return -1;
    }
    return 0;
}

int auth_key_from_pem_file(struct auth_key *key, const char *path, struct rs_error *error)
{
    BIO *file = BIO_new_file(path, "r");
    if (!file) {
        rs_error_set(error, RS_FAILED, NULL, "cannot read %s: %s", path, strerror(errno));
        ERR_clear_error();
        return -1;
    }
    key->public_key = PEM_read_bio_PUBKEY(file, NULL, NULL, NULL);
    BIO_free(file);
    ERR_clear_error();
    if (!key->public_key) {
        rs_error_set(error, RS_FAILED, NULL,
                     "%s is not a PEM public key (-----BEGIN PUBLIC KEY-----)", path);
        return -1;
    }
    char reason[128];
    if (auth_key_family_of(key->public_key, &key->family, reason, sizeof reason) < 0) {
        rs_error_set(error, RS_FAILED, NULL, "%s: %s", path, reason);
        return -1;
    }
    return 0;
}

void auth_key_clear(struct auth_key *key)
{
    free(key->kid);
    if (key->secret)
        OPENSSL_cleanse(key->secret, key->secret_length);
    free(key->secret);
    EVP_PKEY_free(key->public_key);
    memset(key, 0, sizeof *key);
}

void auth_key_copy(struct auth_key *to, const struct auth_key *from)
{
    *to = *from;
    to->kid = xstrdup_or_null(from->kid);
    if (from->secret) {
        to->secret = xmalloc(from->secret_length);
        memcpy(to->secret, from->secret, from->secret_length);
    }
    if (from->public_key && EVP_PKEY_up_ref(from->public_key) != 1)
        rs_out_of_memory(0);
}

void auth_key_set_free(struct auth_key_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->count; i++)
        auth_key_clear(&set->keys[i]);
    free(set->keys);
    free(set);
}

/* One configured key: the field names the config path for the message. */
static int load_configured(struct auth_key *key, const char *kid, enum cfg_jwt_algorithm algorithm,
                           const char *secret, const char *key_file, const char *field,
                           struct rs_error *error)
{
    key->kid = xstrdup_or_null(kid);
    key->algorithm = algorithm;
    key->family = auth_algorithm_family(algorithm);
    if (key->family == AUTH_FAMILY_HMAC) {
        /* RFC 7518 §3.2: the key must be at least as long as the hash output; 32 bytes is the
         * floor for every HS size, so a short or guessable secret never goes live */
        if (!secret || strlen(secret) < AUTH_MIN_SECRET_BYTES) {
            rs_error_set(error, RS_FAILED, field, "%s.secret: must be at least %d bytes", field,
                         AUTH_MIN_SECRET_BYTES);
            return -1;
        }
        key->secret_length = strlen(secret);
        key->secret = (unsigned char *)xstrdup(secret);
        return 0;
    }
    if (!key_file) {
        rs_error_set(error, RS_FAILED, field, "%s.public_key_file: required for %s", field,
                     cfg_jwt_algorithm_name(algorithm));
        return -1;
    }
    struct rs_error reason = {0};
    enum auth_key_family wanted = key->family;
    int status = auth_key_from_pem_file(key, key_file, &reason);
    if (status < 0 && !key->public_key) {
        rs_error_set(error, RS_FAILED, field, "%s.public_key_file: %s", field, reason.message);
        return -1;
    }
    /* a key read but of a refused kind (RSA-1024, secp256k1) or of another family */
    if (status < 0 || key->family != wanted) {
        static const char *const families[] = {"",
                                               "an RSA key of at least 2048 bits",
                                               "an EC key on curve P-256",
                                               "an EC key on curve P-384",
                                               "an EC key on curve P-521",
                                               "an Ed25519 key"};
        rs_error_set(error, RS_FAILED, field, "%s.public_key_file: %s must be %s for %s", field,
                     key_file, families[wanted], cfg_jwt_algorithm_name(algorithm));
        return -1;
    }
    return 0;
}

struct auth_key_set *auth_static_keys_new(const struct cfg_config *config, struct rs_error *error)
{
    struct auth_key_set *set = xcalloc(1, sizeof *set);
    set->keys = xcalloc(config->auth.key_count + 1, sizeof *set->keys);
    enum cfg_jwt_algorithm single = config->auth.algorithm;
    if (single != CFG_JWT_NONE && single != CFG_JWT_KEY_SET) {
        if (load_configured(&set->keys[0], NULL, single, config->auth.secret,
                            config->auth.public_key_file, "auth.jwt", error) < 0)
            goto fail;
        set->count++;
    }
    for (size_t i = 0; i < config->auth.key_count; i++) {
        const struct cfg_jwt_key *entry = &config->auth.keys[i];
        char field[48];
        snprintf(field, sizeof field, "auth.jwt.keys[%zu]", i);
        if (load_configured(&set->keys[set->count], entry->kid, entry->algorithm, entry->secret,
                            entry->public_key_file, field, error) < 0)
            goto fail;
        set->count++;
    }
    return set;
fail:
    set->count++; /* the half-built key is cleared too */
    auth_key_set_free(set);
    return NULL;
}
