// cmd_distill.c: `lathe distill` — knowledge distillation of a teacher model
// into a student (same tokenizer, any architecture): the trainer of `lathe
// train` / `lathe sft` (flags, checkpoints, resume, metrics) with its loss
// replaced by the KD objective of objective.h through lt_train_objective.
// Per micro-batch the teacher runs (full logits or its top k), then the
// student's KL to it (+ optional cross-entropy and hidden-state cosine terms).
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lathe/objective.h"
#include "lathe/tokenizer.h"
#include "lathe/train.h"

static void help(void) {
    printf(
        "usage: lathe distill --teacher DIR --init-from STUDENT_DIR --data SHARD[:W]|CHAT.jsonl[:W]...\n"
        "                     --out DIR [options]\n\n"
        "Distils the teacher's next-token distributions into the student (Hinton et al. 2015):\n"
        "per micro-batch the teacher runs on the batch, and the student learns\n"
        "  loss = (1 - w) tau^2 KL(p_teacher,tau || q_student,tau) + w CE(student, target)\n"
        "         [+ h sum_l mean(1 - cos(student h_l, teacher h_l))]\n"
        "over the counted targets. The student may have another architecture but must share the\n"
        "teacher's tokenizer (same vocabulary size; tokenizer.json identical when both have one).\n"
        "--data takes token shards (as lathe train) or chat JSONL files ending in .jsonl (as lathe\n"
        "sft: rendered with the tokenizer, loss on assistant tokens only); repeated --data blend.\n\n"
        "Writes DIR/checkpoints/step-N/, DIR/latest and DIR/metrics.jsonl, whose lines carry the\n"
        "loss and its parts: kl (mean KL at tau), ce (the student's cross-entropy) and, with\n"
        "--hidden-weight, cos (mean 1 - cosine summed over the layers); validation reports\n"
        "val_loss as the student's cross-entropy, with val_kl beside it.\n\n"
        "  --teacher DIR        the teacher model directory (required)\n"
        "  --temperature T      softmax temperature tau of both distributions (default 1)\n"
        "  --top-k K            keep only the teacher's top K logits per position, (N, K) ids and\n"
        "                       values instead of (N, V) logits (default 0: the full vocabulary)\n"
        "  --ce-weight W        weight w of the hard-label cross-entropy (default 0)\n"
        "  --hidden-weight H    weight of the hidden-state cosine term (default 0: off); needs the\n"
        "                       student's layer count and hidden size to equal the teacher's\n"
        "  --hidden-layers L,.. hidden states compared (0 = embeddings, 1..n_layers = block\n"
        "                       outputs; default every block output)\n"
        "  --skip-bad           chat data: skip malformed lines and examples longer than --seq\n"
        "                       (each kind counted) instead of failing\n"
        "  --val SHARD|CHAT.jsonl  held-out data: the student's loss and KL to the teacher\n"
        "  --batch, --seq, --global-batch, --steps, --lr, --min-lr, --warmup, --schedule,\n"
        "  --decay-frac, --beta1, --beta2, --eps, --weight-decay, --clip, --dtype, --loss-scale,\n"
        "  --seed, --log-every, --eval-every, --eval-batches, --save-every, --keep-last, --resume,\n"
        "  --stop-after, --threads, --run-name, --grad-stats-every   as in `lathe train --help`\n"
        "  --dry-run            print the memory the run needs (the teacher's included) and exit\n");
}

// The distillation objective's state: the teacher, its kept outputs, and the
// parts summed since the trainer last took them.
enum { PART_KL, PART_CE, PART_COS };
typedef struct {
    lt_model *teacher;
    lt_acts *scratch; // the teacher's activations, (B, T)
    float *logits;    // (N, V) teacher logits (full KD)
    int32_t *ids;     // (N, k) teacher top-k ids
    float *values;    // (N, k) teacher top-k logits
    float **hidden;   // (L+1) teacher hidden states (N, C), listed layers only
    float **dhidden;  // (L+1) student hidden-state gradients, filled by lt_objective_hidden_cos
    int64_t *layers, n_layers; // the --hidden-layers list (NULL: every block output)
    float tau;
    int64_t k;
    double ce_weight, hidden_weight;
    double sums[3], val_sums[3];
    int parts[3], n_parts; // the parts logged, in order (no kl when ce_weight is 1: no soft term)
} distill;

typedef struct {
    float tau;
    int64_t k;
    double ce_weight, hidden_weight;
    const char *layers; // the --hidden-layers text (NULL: every block output)
} distill_flags;

static lt_status teacher_pass(distill *d, const lt_batch *b) {
    if (d->k > 0)
        return lt_objective_teacher_forward_top_k(d->teacher, d->scratch, b, d->k, d->ids,
                                                  d->values, d->hidden);
    return lt_objective_teacher_forward(d->teacher, d->scratch, b, d->logits, d->hidden);
}

static lt_status distill_train(void *ctx, lt_acts *a, const lt_batch *b, double normaliser,
                               float dloss_scale, lt_loss *out, const float *const **dhidden) {
    distill *d = ctx;
    LT_TRY(teacher_pass(d, b));
    lt_loss ce, kd, cos = {0};
    if (d->hidden_weight > 0) {
        const lt_config *tc = &d->teacher->cfg;
        LT_TRY(lt_objective_hidden_cos(a, (const float *const *)d->hidden, tc->n_layers, tc->hidden,
                                       b->targets, d->layers, d->n_layers, d->hidden_weight,
                                       normaliser, dloss_scale, d->dhidden, &cos));
        *dhidden = (const float *const *)d->dhidden;
    }
    LT_TRY(lt_objective_xent_eval(a, b->targets,
                                  &ce)); // before the KD objective overwrites the logits
    if (d->k > 0)
        LT_TRY(lt_objective_kd_sparse(a, d->ids, d->values, d->k, b->targets, d->tau, d->ce_weight,
                                      normaliser, dloss_scale, &kd));
    else
        LT_TRY(lt_objective_kd(a, d->logits, b->targets, d->tau, 0, d->ce_weight, normaliser,
                               dloss_scale, &kd));
    // The KD loss is (1 - w) tau^2 KL + w CE per target: its KL part follows.
    double soft = (1 - d->ce_weight) * (double)d->tau * (double)d->tau;
    d->sums[PART_KL] += soft > 0 ? (kd.loss_sum - d->ce_weight * ce.loss_sum) / soft : 0;
    d->sums[PART_CE] += ce.loss_sum;
    if (d->hidden_weight > 0) d->sums[PART_COS] += cos.loss_sum / d->hidden_weight;
    *out = (lt_loss){.loss_sum = kd.loss_sum + cos.loss_sum, .n_counted = kd.n_counted};
    out->loss = out->n_counted > 0 ? out->loss_sum / (double)out->n_counted : 0;
    return NULL;
}

// Validation: the student's cross-entropy is the loss; the KL to the teacher a part.
static lt_status distill_eval(void *ctx, lt_acts *a, const lt_batch *b, lt_loss *out) {
    distill *d = ctx;
    LT_TRY(teacher_pass(d, b));
    LT_TRY(lt_objective_xent_eval(a, b->targets, out));
    lt_loss kd;
    if (d->k > 0)
        LT_TRY(
            lt_objective_kd_sparse(a, d->ids, d->values, d->k, b->targets, d->tau, 0, 0, 1, &kd));
    else
        LT_TRY(lt_objective_kd(a, d->logits, b->targets, d->tau, 0, 0, 0, 1, &kd));
    d->val_sums[PART_KL] += kd.loss_sum / ((double)d->tau * (double)d->tau);
    d->val_sums[PART_CE] += out->loss_sum;
    return NULL;
}

static void distill_take_parts(void *ctx, bool val, double *sums) {
    distill *d = ctx;
    double *from = val ? d->val_sums : d->sums;
    for (int i = 0; i < d->n_parts; i++) sums[i] += from[d->parts[i]];
    for (int i = 0; i < 3; i++) from[i] = 0;
}

// Checks a student/teacher pair and the flags against the teacher's config.
static lt_status check_pair(const lt_config *tc, const lt_config *sc, const char *teacher_dir,
                            const char *student_dir, const lt_train_opts *o,
                            const distill_flags *f) {
    if (tc->vocab != sc->vocab)
        return lt_error(
            LT_ERR_ARG,
            "the teacher %s has a vocabulary of %lld tokens but the student %s has %lld: distillation needs the same tokenizer",
            teacher_dir, (long long)tc->vocab, student_dir, (long long)sc->vocab);
    if (f->k > tc->vocab)
        return lt_error(LT_ERR_ARG, "--top-k %lld exceeds the vocabulary of %lld tokens",
                        (long long)f->k, (long long)tc->vocab);
    if (o->seq > tc->max_positions)
        return lt_error(LT_ERR_ARG, "--seq %lld exceeds the teacher's max_position_embeddings %lld",
                        (long long)o->seq, (long long)tc->max_positions);
    if (f->hidden_weight > 0 && (tc->n_layers != sc->n_layers || tc->hidden != sc->hidden))
        return lt_error(
            LT_ERR_ARG,
            "--hidden-weight: the teacher has %lld layers of hidden size %lld but the student %lld of %lld; the hidden-state term needs both equal",
            (long long)tc->n_layers, (long long)tc->hidden, (long long)sc->n_layers,
            (long long)sc->hidden);
    return NULL;
}

// Both tokenizer.json files, when both exist, must be the same bytes.
static lt_status check_tokenizers(const char *teacher_dir, const char *student_dir) {
    char *tp = lt_path_join(teacher_dir, "tokenizer.json"),
         *sp = lt_path_join(student_dir, "tokenizer.json");
    char *ta = NULL, *sa = NULL;
    size_t tn = 0, sn = 0;
    lt_status s = tp && sp ? NULL
                           : lt_error_nomem("the paths of the two tokenizer.json files",
                                            strlen(teacher_dir) + strlen(student_dir) +
                                                2 * sizeof "/tokenizer.json");
    if (!s && lt_path_exists(tp) && lt_path_exists(sp)) {
        s = lt_file_read_all(tp, &ta, &tn, SIZE_MAX);
        if (!s) s = lt_file_read_all(sp, &sa, &sn, SIZE_MAX);
        if (!s && (tn != sn || memcmp(ta, sa, tn) != 0))
            s = lt_error(LT_ERR_ARG,
                         "%s and %s differ: the teacher and the student must share one tokenizer",
                         tp, sp);
    }
    lt_free(ta), lt_free(sa), lt_free(tp), lt_free(sp);
    return s;
}

// The teacher's memory: weights, activations of (B, T), kept logits and hidden states.
typedef struct {
    size_t weights, activations, logits, hidden, total;
} teacher_memory;

static int64_t listed_layers(const lt_config *tc, const distill *d) {
    return d->hidden_weight > 0 ? (d->layers ? d->n_layers : tc->n_layers) : 0;
}

static teacher_memory plan_teacher(const lt_config *tc, const lt_train_opts *o, const distill *d) {
    teacher_memory m;
    size_t N = (size_t)(o->batch * o->seq), n_hidden = (size_t)listed_layers(tc, d);
    m.weights = (size_t)lt_config_param_count(tc) * 4;
    m.activations = lt_acts_bytes(tc, LT_F32, o->batch, o->seq);
    m.logits = d->k > 0 ? N * (size_t)d->k * (sizeof(int32_t) + sizeof(float))
                        : N * (size_t)tc->vocab * sizeof(float);
    m.hidden = 2 * n_hidden * N * (size_t)tc->hidden *
               sizeof(float); // the teacher's states and the student's gradients
    m.total = m.weights + m.activations + m.logits + m.hidden;
    return m;
}

static void distill_free(distill *d) {
    int64_t L = d->teacher ? d->teacher->cfg.n_layers : 0;
    for (int64_t l = 0; l <= L; l++) {
        if (d->hidden) lt_free(d->hidden[l]);
        if (d->dhidden) lt_free(d->dhidden[l]);
    }
    lt_free(d->hidden), lt_free(d->dhidden);
    lt_acts_free(d->scratch);
    lt_model_free(d->teacher);
    lt_free(d->logits), lt_free(d->ids), lt_free(d->values), lt_free(d->layers);
}

static lt_status open_teacher(distill *d, const char *dir, const lt_train_opts *o) {
    LT_TRY(lt_model_load(&d->teacher, dir));
    const lt_config *tc = &d->teacher->cfg;
    int64_t N = o->batch * o->seq, L = tc->n_layers;
    LT_TRY(lt_acts_init(&d->scratch, d->teacher, o->batch, o->seq));
    if (d->k > 0) {
        LT_TRY(
            lt_alloc((void **)&d->ids, (size_t)(N * d->k) * sizeof(int32_t), "teacher top-k ids"));
        LT_TRY(lt_alloc((void **)&d->values, (size_t)(N * d->k) * sizeof(float),
                        "teacher top-k logits"));
    } else {
        LT_TRY(lt_alloc((void **)&d->logits, (size_t)(N * tc->vocab) * sizeof(float),
                        "teacher logits"));
    }
    if (d->hidden_weight <= 0) return NULL;
    for (int64_t i = 0; d->layers && i < d->n_layers; i++)
        if (d->layers[i] < 0 || d->layers[i] > L)
            return lt_error(LT_ERR_ARG, "--hidden-layers: layer %lld is outside 0..%lld",
                            (long long)d->layers[i], (long long)L);
    LT_TRY(
        lt_calloc((void **)&d->hidden, (size_t)(L + 1), sizeof(float *), "teacher hidden states"));
    LT_TRY(lt_calloc((void **)&d->dhidden, (size_t)(L + 1), sizeof(float *),
                     "hidden-state gradients"));
    for (int64_t i = 0; i < listed_layers(tc, d); i++) {
        int64_t l = d->layers ? d->layers[i] : i + 1;
        if (d->hidden[l])
            return lt_error(LT_ERR_ARG, "--hidden-layers: layer %lld is listed twice",
                            (long long)l);
        LT_TRY(lt_alloc((void **)&d->hidden[l], (size_t)(N * tc->hidden) * sizeof(float),
                        "teacher hidden state"));
    }
    return NULL;
}

static bool is_jsonl(const char *spec) {
    const char *p = strstr(spec, ".jsonl");
    while (p && p[6] && p[6] != ':') p = strstr(p + 1, ".jsonl");
    return p != NULL;
}

static lt_status parse_flags(const char *const *text, distill_flags *f, distill *d) {
    double v;
    int64_t k;
    if (text[0]) {
        LT_TRY(lt_cli_parse_double("--temperature", text[0], &v));
        if (!(v > 0) || v > 1e4)
            return lt_error(LT_ERR_ARG, "--temperature %s: expected a number > 0", text[0]);
        f->tau = (float)v;
    }
    if (text[1]) {
        LT_TRY(lt_cli_parse_int("--top-k", text[1], 0, INT32_MAX, &k));
        f->k = k;
    }
    if (text[2]) {
        LT_TRY(lt_cli_parse_double("--ce-weight", text[2], &f->ce_weight));
        if (!(f->ce_weight >= 0 && f->ce_weight <= 1))
            return lt_error(LT_ERR_ARG, "--ce-weight %s: expected 0 to 1", text[2]);
    }
    if (text[3]) {
        LT_TRY(lt_cli_parse_double("--hidden-weight", text[3], &f->hidden_weight));
        if (!(f->hidden_weight >= 0))
            return lt_error(LT_ERR_ARG, "--hidden-weight %s: expected a number >= 0", text[3]);
    }
    d->tau = f->tau, d->k = f->k, d->ce_weight = f->ce_weight, d->hidden_weight = f->hidden_weight;
    if (text[4] && !(f->hidden_weight > 0))
        return lt_error(LT_ERR_ARG,
                        "--hidden-layers needs --hidden-weight > 0 (the hidden-state term is off)");
    if (text[4]) {
        int32_t *ids = NULL;
        int64_t n = 0;
        LT_TRY(lt_cli_parse_ids("--hidden-layers", text[4], &ids, &n));
        lt_status s =
            n > 0 ? lt_alloc((void **)&d->layers, (size_t)n * sizeof(int64_t), "hidden layers")
                  : lt_error(LT_ERR_ARG, "--hidden-layers: no layers given");
        for (int64_t i = 0; !s && i < n; i++) d->layers[i] = ids[i];
        d->n_layers = n;
        lt_free(ids);
        LT_TRY(s);
    }
    return NULL;
}

static lt_status open_chat(const lt_train_opts *o, const char *tok_dir, bool skip_bad,
                           lt_tokenizer **tok, lt_train_data *src) {
    LT_TRY(lt_tokenizer_load(tok, tok_dir));
    lt_train_chat_opts co = {.data = o->data,
                             .n_data = o->n_data,
                             .val = o->val_data,
                             .tokenizer = *tok,
                             .B = o->batch,
                             .T = o->seq,
                             .seed = o->seed,
                             .skip_bad = skip_bad};
    lt_chat_read_stats st;
    char *first_skip = NULL;
    LT_TRY(lt_train_data_chat(src, &co, &st, &first_skip));
    fprintf(stderr, "read %llu conversations: %llu tokens, %llu learned (assistant)\n",
            (unsigned long long)st.n_examples, (unsigned long long)st.n_tokens,
            (unsigned long long)st.n_loss_tokens);
    lt_cli_report_skipped(&st, o->seq, first_skip);
    lt_free(first_skip);
    return NULL;
}

static void print_bytes(const char *label, double bytes) {
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024 && u < 4) bytes /= 1024, u++;
    printf("  %-22s %9.2f %s\n", label, bytes, unit[u]);
}

// Checks the flags, opens the teacher (and the chat data) and trains the student.
static int distill_run(lt_train_opts o, const char *teacher_dir, const char *const *text,
                       bool skip_bad, bool dry, const char *resume) {
    int n_data = o.n_data;
    const char *const *data = o.data;
    if (o.preset || o.config)
        return lt_cli_usage_error(
            "distill",
            "--preset and --config do not apply: the student starts from --init-from STUDENT_DIR");
    if (!teacher_dir) return lt_cli_usage_error("distill", "--teacher DIR is required");
    if (!o.init_from)
        return lt_cli_usage_error(
            "distill", "--init-from STUDENT_DIR is required (the student model directory)");
    if (n_data < 1)
        return lt_cli_usage_error("distill",
                                  "give at least one --data SHARD[:WEIGHT] or CHAT.jsonl[:WEIGHT]");
    if (!o.out_dir) return lt_cli_usage_error("distill", "--out DIR is required");
    int n_chat = 0;
    for (int i = 0; i < n_data; i++) n_chat += is_jsonl(data[i]);
    if (n_chat > 0 && n_chat < n_data)
        return lt_cli_usage_error("distill",
                                  "--data mixes chat JSONL and token shards: give one kind");
    bool chat = n_chat > 0;

    distill_flags f = {.tau = 1.0f};
    distill d = {0};
    lt_config tc = {0}, sc = {0};
    lt_tokenizer *tok = NULL;
    lt_train_data src = {0};
    lt_status s = parse_flags(text, &f, &d);
    if (!s) s = lt_config_load(&tc, teacher_dir);
    if (!s) s = lt_config_load(&sc, o.init_from);
    if (!s) s = check_pair(&tc, &sc, teacher_dir, o.init_from, &o, &f);
    if (!s) s = check_tokenizers(teacher_dir, o.init_from);
    lt_train_objective obj = {
        .ctx = &d, .train = distill_train, .eval = distill_eval, .take_parts = distill_take_parts};
    static const char *const part_names[] = {"kl", "ce", "cos"};
    if (f.ce_weight < 1) d.parts[d.n_parts++] = PART_KL;
    d.parts[d.n_parts++] = PART_CE;
    if (f.hidden_weight > 0) d.parts[d.n_parts++] = PART_COS;
    obj.n_parts = d.n_parts;
    for (int i = 0; i < d.n_parts; i++) obj.part_names[i] = part_names[d.parts[i]];
    if (!s) {
        teacher_memory tm = plan_teacher(&tc, &o, &d);
        obj.memory = tm.total;
        o.objective = &obj;
        if (dry) {
            printf("teacher %s (%lld layers, hidden %lld, vocab %lld):\n", teacher_dir,
                   (long long)tc.n_layers, (long long)tc.hidden, (long long)tc.vocab);
            print_bytes("teacher weights", (double)tm.weights);
            print_bytes("teacher activations", (double)tm.activations);
            if (d.k > 0)
                print_bytes("teacher top-k logits", (double)tm.logits);
            else
                print_bytes("teacher logits", (double)tm.logits);
            if (tm.hidden) print_bytes("hidden states", (double)tm.hidden);
        }
    }
    if (!s && dry) {
        lt_config_free(&tc), lt_config_free(&sc), distill_free(&d);
        return lt_cli_train_dry_run("distill", &o);
    }
    if (!s) {
        char *tp = lt_path_join(o.init_from, "tokenizer.json"),
             *tt = lt_path_join(teacher_dir, "tokenizer.json");
        o.tokenizer_dir = tp && lt_path_exists(tp)   ? o.init_from
                          : tt && lt_path_exists(tt) ? teacher_dir
                                                     : NULL;
        lt_free(tp), lt_free(tt);
        if (!o.tokenizer_dir && chat)
            s = lt_error(LT_ERR_ARG,
                         "neither %s nor %s has a tokenizer.json: chat data is rendered with it",
                         o.init_from, teacher_dir);
        if (!o.tokenizer_dir && !chat)
            fprintf(
                stderr,
                "note: neither the student nor the teacher has a tokenizer.json: checkpoints will carry no tokenizer\n");
    }
    if (!s && chat) s = open_chat(&o, o.tokenizer_dir, skip_bad, &tok, &src);
    if (!s && chat) o.source = &src;
    if (!s) s = open_teacher(&d, teacher_dir, &o);
    lt_train_result r = {0};
    if (!s) lt_cli_train_catch_signals(&o);
    if (!s) s = lt_train_run(&o, lt_cli_train_log, NULL, &r);
    int rc = lt_cli_train_finish("distill", &o, s, &r, resume);
    lt_config_free(&tc), lt_config_free(&sc);
    distill_free(&d);
    lt_train_data_free(&src);
    lt_tokenizer_free(tok);
    return rc;
}

int cmd_distill(int argc, char **argv) {
    const char *teacher_dir = NULL, *text[5] = {NULL};
    bool skip_bad = false;
    const lt_cli_opt own[] = {
        {"--teacher", .value = &teacher_dir},   {"--temperature", .value = &text[0]},
        {"--top-k", .value = &text[1]},         {"--ce-weight", .value = &text[2]},
        {"--hidden-weight", .value = &text[3]}, {"--hidden-layers", .value = &text[4]},
        {"--skip-bad", .present = &skip_bad},   {0}};
    lt_train_opts o;
    lt_cli_list data = {0};
    bool dry;
    char *resume = lt_cli_train_resume_command(argc, argv); // argv as typed
    int rc = lt_cli_train_parse("distill", argc, argv, own, &o, &data, &dry, help);
    if (rc < 0) rc = distill_run(o, teacher_dir, text, skip_bad, dry, resume);
    lt_cli_list_free(&data);
    free(resume);
    return rc;
}
