/*
 * auth/keyset.c — the key set verification reads, published RCU-style: an immutable set
 * behind an atomic pointer, merged from three parts (the static keys of the config, the
 * jwks_file's, the jwks_url's). Readers load the pointer between auth_keyset_enter and
 * auth_keyset_leave, which only count readers in flight: no lock on the request path. A
 * publisher (the refresher thread, SIGHUP, start-up; one at a time) builds a new set, swaps
 * the pointer, and frees a replaced set only after seeing zero readers in flight: every reader
 * that could hold it had entered before the swap, so it has left by then.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/auth_internal.h"

int auth_keyset_slot_init(struct auth_keyset_slot *slot, struct auth_key_set *static_keys)
{
    memset(slot, 0, sizeof *slot);
    if (pthread_mutex_init(&slot->publish_lock, NULL) != 0)
        return -1;
    slot->static_keys = static_keys;
    struct auth_key_set *first = xcalloc(1, sizeof *first);
    first->keys = xcalloc(static_keys->count + 1, sizeof *first->keys);
    for (size_t i = 0; i < static_keys->count; i++)
        auth_key_copy(&first->keys[first->count++], &static_keys->keys[i]);
    first->generation = 1;
    atomic_store(&slot->current, first);
    atomic_store(&slot->generation, 1);
    return 0;
}

/* Frees replaced sets when no reader is in flight; called by publishers, under the lock. */
static void reclaim(struct auth_keyset_slot *slot)
{
    if (atomic_load(&slot->readers) != 0)
        return;
    while (slot->retired) {
        struct auth_key_set *next = slot->retired->retired;
        auth_key_set_free(slot->retired);
        slot->retired = next;
    }
}

void auth_keyset_slot_destroy(struct auth_keyset_slot *slot)
{
    /* no reader is left: the HTTP workers have stopped */
    auth_key_set_free(atomic_load(&slot->current));
    atomic_store(&slot->readers, 0);
    reclaim(slot);
    auth_key_set_free(slot->static_keys);
    auth_key_set_free(slot->file_keys);
    auth_key_set_free(slot->url_keys);
    pthread_mutex_destroy(&slot->publish_lock);
}

const struct auth_key_set *auth_keyset_enter(struct auth_keyset_slot *slot)
{
    atomic_fetch_add(&slot->readers, 1);
    return atomic_load(&slot->current);
}

void auth_keyset_leave(struct auth_keyset_slot *slot)
{
    atomic_fetch_sub(&slot->readers, 1);
}

size_t auth_keyset_count(struct auth_keyset_slot *slot)
{
    size_t count = auth_keyset_enter(slot)->count;
    auth_keyset_leave(slot);
    return count;
}

/* Two keys are the same when every field that decides a verification is. */
static bool same_key(const struct auth_key *a, const struct auth_key *b)
{
    if ((a->kid == NULL) != (b->kid == NULL) || (a->kid && strcmp(a->kid, b->kid) != 0) ||
        a->algorithm != b->algorithm || a->family != b->family ||
        a->secret_length != b->secret_length)
        return false;
    if (a->secret)
        return memcmp(a->secret, b->secret, a->secret_length) == 0;
    return EVP_PKEY_eq(a->public_key, b->public_key) == 1;
}

static bool same_set(const struct auth_key_set *a, const struct auth_key_set *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++)
        if (!same_key(&a->keys[i], &b->keys[i]))
            return false;
    return true;
}

/* The kid, if any, that two parts both hold. */
static const char *shared_kid(const struct auth_key_set *a, const struct auth_key_set *b)
{
    for (size_t i = 0; a && b && i < a->count; i++)
        for (size_t j = 0; a->keys[i].kid && j < b->count; j++)
            if (b->keys[j].kid && strcmp(a->keys[i].kid, b->keys[j].kid) == 0)
                return a->keys[i].kid;
    return NULL;
}

static struct auth_key_set *merge(const struct auth_key_set *const *parts, size_t part_count)
{
    size_t total = 0;
    for (size_t p = 0; p < part_count; p++)
        total += parts[p] ? parts[p]->count : 0;
    struct auth_key_set *set = xcalloc(1, sizeof *set);
    set->keys = xcalloc(total + 1, sizeof *set->keys);
    for (size_t p = 0; p < part_count; p++)
        for (size_t i = 0; parts[p] && i < parts[p]->count; i++)
            auth_key_copy(&set->keys[set->count++], &parts[p]->keys[i]);
    return set;
}

/* "a, b, c" of the kids in a not in b, for the log line. */
static void list_missing(const struct auth_key_set *a, const struct auth_key_set *b, struct sb *out)
{
    for (size_t i = 0; i < a->count; i++) {
        bool is_found = false;
        for (size_t j = 0; !is_found && j < b->count; j++)
            is_found = same_key(&a->keys[i], &b->keys[j]);
        if (!is_found)
            sb_appendf(out, "%s%s", out->length ? ", " : "",
                       a->keys[i].kid ? a->keys[i].kid : "(no kid)");
    }
}

static void log_change(const struct auth_key_set *old, const struct auth_key_set *new,
                       const char *source)
{
    struct sb added = {0}, removed = {0};
    list_missing(new, old, &added);
    list_missing(old, new, &removed);
    auth_log("info", "auth keys changed (%s): %zu keys now; added: %s; removed: %s", source,
             new->count, added.length ? sb_text(&added) : "none",
             removed.length ? sb_text(&removed) : "none");
    sb_free(&added);
    sb_free(&removed);
}

int auth_keyset_replace(struct auth_keyset_slot *slot, enum auth_keyset_part which,
                        struct auth_key_set *part, const char *source, struct rs_error *error)
{
    pthread_mutex_lock(&slot->publish_lock);
    struct auth_key_set **target = which == AUTH_PART_FILE ? &slot->file_keys : &slot->url_keys;
    const struct auth_key_set *others[2] = {
        slot->static_keys, which == AUTH_PART_FILE ? slot->url_keys : slot->file_keys};
    for (size_t i = 0; i < 2; i++) {
        const char *kid = shared_kid(part, others[i]);
        if (kid) {
            rs_error_set(error, RS_FAILED, NULL,
                         "kid \"%.64s\" is already held by another key source", kid);
            pthread_mutex_unlock(&slot->publish_lock);
            auth_key_set_free(part);
            return -1;
        }
    }
    auth_key_set_free(*target);
    *target = part;
    const struct auth_key_set *parts[3] = {slot->static_keys, slot->file_keys, slot->url_keys};
    struct auth_key_set *merged = merge(parts, 3);
    struct auth_key_set *old = atomic_load(&slot->current);
    if (same_set(merged, old)) {
        auth_key_set_free(merged); /* an unchanged refresh: readers keep their cache entries */
    } else {
        merged->generation = old->generation + 1;
        atomic_store(&slot->current, merged);
        atomic_store(&slot->generation, merged->generation);
        log_change(old, merged, source);
        old->retired = slot->retired;
        slot->retired = old;
    }
    reclaim(slot);
    pthread_mutex_unlock(&slot->publish_lock);
    return 0;
}
