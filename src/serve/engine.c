// engine.c: the engine thread of `lathe serve` — admits queued jobs into
// free slots, steps every active request together through lt_gen_step (one
// batched forward per step: continuous batching), appends each step's text to
// its job and wakes the HTTP handlers. A cancelled job (client gone, timeout)
// is ended with lt_gen_cancel, so its slot frees at the next step.
#include <stdlib.h>
#include <string.h>

#include "serve/serve.h"

lt_serve_job *lt_serve_job_new(void) {
    lt_serve_job *job = calloc(1, sizeof *job);
    if (!job) return NULL;
    job->params = lt_gen_params_default();
    job->refs = 1;
    return job;
}

static void job_free(lt_serve_job *job) {
    lt_ids_free(&job->prompt);
    lt_bytes_free(&job->reasoning);
    lt_bytes_free(&job->content);
    for (int i = 0; i < LT_GEN_MAX_STOP; i++) free(job->stop[i]);
    free(job->error);
    free(job);
}

static void release_locked(lt_serve_job *job) {
    if (--job->refs == 0) job_free(job);
}

void lt_serve_release(lt_serve_engine *se, lt_serve_job *job) {
    if (!job) return;
    pthread_mutex_lock(&se->mu);
    release_locked(job);
    pthread_mutex_unlock(&se->mu);
}

void lt_serve_cancel_locked(lt_serve_engine *se, lt_serve_job *job) {
    if (job->done || job->cancel) return;
    job->cancel = true;
    pthread_cond_signal(&se->work);
}

bool lt_serve_submit(lt_serve_engine *se, lt_serve_job *job) {
    pthread_mutex_lock(&se->mu);
    // jobs in the queue beyond the slots about to free up wait; at most max_queue of them
    int free_slots = se->slots - se->n_active;
    bool ok =
        !se->stop && !se->fatal && se->queued < se->max_queue + (free_slots > 0 ? free_slots : 0);
    if (ok) {
        job->refs++;
        job->next = NULL;
        if (se->queue_tail)
            se->queue_tail->next = job;
        else
            se->queue_head = job;
        se->queue_tail = job;
        se->queued++;
        pthread_cond_signal(&se->work);
    }
    pthread_mutex_unlock(&se->mu);
    return ok;
}

// Marks a job finished with an error message and lets go of the engine's reference.
static void fail_locked(lt_serve_job *job, const char *message) {
    if (!job->error) job->error = strdup(message);
    job->done = true;
    job->finish = LT_GEN_CANCELLED;
    release_locked(job);
}

static lt_serve_job *find_active(lt_serve_engine *se, int64_t id, lt_serve_job ***link) {
    lt_serve_job **p = &se->active;
    for (; *p; p = &(*p)->next)
        if ((*p)->id == id) {
            *link = p;
            return *p;
        }
    return NULL;
}

static bool append(lt_bytes *b, const char *text, size_t n) {
    if (n == 0) return true;
    lt_status s = lt_bytes_append(b, text, n);
    lt_status_free(s);
    return s == NULL;
}

// lt_gen_step's callback (runs on the engine thread, mutex not held).
static void on_event(void *user, const lt_gen_event *ev) {
    lt_serve_engine *se = user;
    pthread_mutex_lock(&se->mu);
    lt_serve_job **link = NULL;
    lt_serve_job *job = find_active(se, ev->request, &link);
    if (job) {
        bool ok = append(&job->reasoning, ev->reasoning, ev->reasoning_len) &&
                  append(&job->content, ev->content, ev->content_len);
        if (!job->first_token_time && ev->generated_tokens > 0)
            job->first_token_time = lt_time_now();
        job->prompt_tokens = ev->prompt_tokens;
        job->cached_tokens = ev->cached_tokens;
        job->completion_tokens = ev->generated_tokens;
        if (!ok && !job->error) {
            job->error = strdup("out of memory while collecting the answer");
            if (!job->cancel_sent) lt_gen_cancel(se->gen, job->id);
            job->cancel_sent = true;
        }
        if (ev->finish != LT_GEN_RUNNING) {
            job->finish = ev->finish;
            job->done = true;
            *link = job->next;
            se->n_active--;
            release_locked(job);
        }
    }
    pthread_mutex_unlock(&se->mu);
}

// Moves queued jobs into free slots (mutex held).
static void admit_locked(lt_serve_engine *se) {
    while (se->queue_head && lt_gen_free_slots(se->gen) > 0) {
        lt_serve_job *job = se->queue_head;
        se->queue_head = job->next;
        if (!se->queue_head) se->queue_tail = NULL;
        se->queued--;
        if (job->cancel) {
            fail_locked(job, "cancelled before it started");
            continue;
        }
        lt_status s = lt_gen_add(se->gen, job->prompt.data, (int64_t)job->prompt.n, &job->params,
                                 -1, &job->id);
        if (s) {
            fail_locked(job, lt_status_message(s));
            lt_status_free(s);
            continue;
        }
        job->started = true;
        job->next = se->active;
        se->active = job;
        se->n_active++;
    }
}

static void *engine_main(void *arg) {
    lt_serve_engine *se = arg;
    pthread_mutex_lock(&se->mu);
    while (!se->stop) {
        admit_locked(se);
        for (lt_serve_job *j = se->active; j; j = j->next)
            if (j->cancel && !j->cancel_sent) {
                lt_gen_cancel(se->gen, j->id);
                j->cancel_sent = true;
            }
        pthread_cond_broadcast(&se->progress);
        if (!se->active) {
            se->batch_now = 0;
            pthread_cond_wait(&se->work, &se->mu);
            continue;
        }
        se->batch_now = se->n_active;
        if (se->batch_now > se->batch_max) se->batch_max = se->batch_now;
        pthread_mutex_unlock(&se->mu);
        lt_status s = lt_gen_step(se->gen, on_event, se);
        pthread_mutex_lock(&se->mu);
        se->steps++;
        if (s) {
            se->fatal = strdup(lt_status_message(s));
            lt_status_free(s);
            break;
        }
    }
    // Stopping (or a failed step): every job still here ends with an error.
    const char *why = se->fatal ? se->fatal : "the server is shutting down";
    while (se->active) {
        lt_serve_job *j = se->active;
        se->active = j->next;
        fail_locked(j, why);
    }
    while (se->queue_head) {
        lt_serve_job *j = se->queue_head;
        se->queue_head = j->next;
        fail_locked(j, why);
    }
    se->queue_tail = NULL;
    se->queued = se->n_active = 0;
    se->running = false;
    pthread_cond_broadcast(&se->progress);
    pthread_mutex_unlock(&se->mu);
    return NULL;
}

lt_status lt_serve_engine_start(lt_serve_engine *se, lt_engine *e, int max_queue) {
    memset(se, 0, sizeof *se);
    se->engine = e;
    se->max_queue = max_queue;
    se->slots = lt_engine_max_seqs(e);
    LT_TRY(lt_gen_init(&se->gen, e));
    pthread_mutex_init(&se->mu, NULL);
    pthread_cond_init(&se->work, NULL);
    pthread_cond_init(&se->progress, NULL);
    se->running = true;
    if (pthread_create(&se->thread, NULL, engine_main, se) != 0) {
        lt_gen_free(se->gen);
        se->gen = NULL;
        return lt_error(LT_ERR_INTERNAL, "could not start the engine thread");
    }
    return NULL;
}

void lt_serve_engine_stop(lt_serve_engine *se) {
    if (!se->gen) return;
    pthread_mutex_lock(&se->mu);
    se->stop = true;
    pthread_cond_signal(&se->work);
    pthread_mutex_unlock(&se->mu);
    pthread_join(se->thread, NULL);
    lt_gen_free(se->gen);
    se->gen = NULL;
    free(se->fatal);
    pthread_mutex_destroy(&se->mu);
    pthread_cond_destroy(&se->work);
    pthread_cond_destroy(&se->progress);
}
