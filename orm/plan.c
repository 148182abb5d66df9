/*
 * orm/plan.c — the steps of a schema change, collected by orm/diff_*.c and turned into a
 * migration's two sections (forwards phase by phase; backwards the exact reverse). Destructive
 * steps are written commented out unless the caller allows them, so nothing is dropped by
 * accident. No I/O here: `migrations check` prints the drift lines (orm/migrate.c).
 */
#include <stdlib.h>
#include <string.h>

#include "orm/diff_internal.h"

void orm_plan_add(struct orm_plan *plan, enum orm_phase phase, bool is_destructive,
                  const char *description, const char *forwards, const char *backwards)
{
    plan->steps = xrealloc(plan->steps, (plan->count + 1) * sizeof *plan->steps);
    plan->steps[plan->count++] = (struct orm_step){
        .phase = phase,
        .description = xstrdup_or_null(description),
        .forwards = xstrdup(forwards),
        .backwards = xstrdup(backwards),
        .is_destructive = is_destructive,
    };
}

void orm_plan_free(struct orm_plan *plan)
{
    for (size_t i = 0; i < plan->count; i++) {
        free(plan->steps[i].description);
        free(plan->steps[i].forwards);
        free(plan->steps[i].backwards);
    }
    free(plan->steps);
    memset(plan, 0, sizeof *plan);
}

/* Every line of sql prefixed with "-- ". */
static void append_commented(struct sb *out, const char *sql)
{
    for (const char *line = sql; *line;) {
        const char *newline = strchr(line, '\n');
        size_t length = newline ? (size_t)(newline - line) : strlen(line);
        sb_append(out, "-- ");
        sb_append_n(out, line, length);
        sb_append_char(out, '\n');
        line += length + (newline ? 1 : 0);
    }
}

static bool is_held_back(const struct orm_step *step, bool allow_destructive)
{
    return step->is_destructive && !allow_destructive;
}

static void append_step(struct sb *out, const struct orm_step *step, const char *sql,
                        bool is_forwards, bool allow_destructive)
{
    if (!is_held_back(step, allow_destructive)) {
        sb_append(out, sql);
        return;
    }
    if (is_forwards) {
        sb_append(out, "-- DESTRUCTIVE, not applied: ");
        sb_append(out, step->description ? step->description : "part of the change above");
        sb_append(out, "\n-- It loses data. To apply it, uncomment it, or write the migration "
                       "again with\n-- `restable migrations new --auto --allow-destructive`.\n");
    }
    append_commented(out, sql);
}

size_t orm_plan_render(const struct orm_plan *plan, bool allow_destructive, struct sb *forwards,
                       struct sb *backwards)
{
    size_t held_back = 0;
    /* forwards: phase by phase, in the order found within a phase */
    int last_phase = -1;
    for (int phase = 0; phase < ORM_PHASE_COUNT; phase++) {
        for (size_t i = 0; i < plan->count; i++) {
            const struct orm_step *step = &plan->steps[i];
            if ((int)step->phase != phase || !*step->forwards)
                continue;
            if (last_phase >= 0 && last_phase != phase)
                sb_append_char(forwards, '\n');
            last_phase = phase;
            append_step(forwards, step, step->forwards, true, allow_destructive);
            if (is_held_back(step, allow_destructive) && step->description)
                held_back++;
        }
    }
    /* backwards: the exact reverse */
    last_phase = -1;
    for (int phase = ORM_PHASE_COUNT; phase-- > 0;) {
        for (size_t i = plan->count; i-- > 0;) {
            const struct orm_step *step = &plan->steps[i];
            if ((int)step->phase != phase || !*step->backwards)
                continue;
            if (last_phase >= 0 && last_phase != phase)
                sb_append_char(backwards, '\n');
            last_phase = phase;
            append_step(backwards, step, step->backwards, false, allow_destructive);
        }
    }
    return held_back;
}
