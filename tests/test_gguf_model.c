// test_gguf_model.c: lathe models through GGUF. The q/k permutation is
// checked two independent ways: row by row against the formula of llama.cpp's
// converter written out here, and by the property it exists for — attention
// scores with llama.cpp's adjacent-pair RoPE on the exported weights equal
// those with Hugging Face's rotate-half RoPE on the originals. Round trips
// (export, then lt_gguf_model_open and lathe's import) give every tensor back
// exactly in f32 and as the scalar bf16/f16 rounding of the original, and q8_0
// within its quantization bound, for `tiny` and a heterogeneous `deci` model
// with Llama 3 rope_scaling (rope_freqs checked against Meta's formula written
// here). The metadata llama.cpp reads is checked key by key; the layer kinds
// llama.cpp cannot run are refused with the layer named and nothing written;
// malformed model files get their own errors.
#include <math.h>
#include <unistd.h>

#include "lathe/gguf.h"
#include "lathe/model.h"
#include "lt_test.h"
#include "tokenizer/tok_internal.h"

static const char *tmpdir;

static const char *tmp_path(const char *name) {
    static char b[8][512];
    static int next = 0;
    char *p = b[next++ & 7];
    snprintf(p, sizeof b[0], "%s/%s", tmpdir, name);
    return p;
}

static const char *TEXT =
    "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money "
    "in my purse, and nothing particular to interest me on shore, I thought I would sail about a "
    "little and see the watery part of the world. It is a way I have of driving off the spleen "
    "and regulating the circulation. <think>Whenever I find myself</think> growing grim about "
    "the mouth; whenever it is a damp, drizzly November in my soul...";

// A byte-level BPE of 300 ids (256 bytes, 36 merges, 8 specials): the
// models' vocabulary of 512 leaves ids 300..511 unused.
static lt_tokenizer *make_tokenizer_with(const char *pattern) {
    lt_bpe_train_opts o = {.vocab_size = 300, .pattern = pattern};
    lt_bpe_trainer *tr = NULL;
    lt_tokenizer *tok = NULL;
    if (lt_bpe_trainer_init(&tr, &o) || lt_bpe_trainer_feed(tr, TEXT, strlen(TEXT)) ||
        lt_bpe_trainer_finish(tr, &tok)) {
        fprintf(stderr, "tokenizer training failed\n");
        exit(2);
    }
    lt_bpe_trainer_free(tr);
    return tok;
}

static lt_tokenizer *make_tokenizer(void) { return make_tokenizer_with(NULL); }

static lt_model *make_model(const lt_config *cfg, uint64_t seed) {
    lt_model *m = NULL;
    lt_status st = lt_model_init(&m, cfg);
    if (st) {
        fprintf(stderr, "%s\n", lt_status_message(st));
        exit(2);
    }
    lt_model_init_random(m, seed);
    // Norm weights away from 1, so a norm read from the wrong place shows.
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].ndim == 1)
            for (int64_t k = 0; k < m->tensors[i].numel; k++)
                m->params[m->tensors[i].offset + k] = 1.0f + 0.01f * (float)(k % 7);
    return m;
}

static lt_gguf_weight *model_weights(const lt_model *m) {
    lt_gguf_weight *w = calloc((size_t)m->n_tensors, sizeof *w);
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        snprintf(w[i].name, sizeof w[i].name, "%s", p->name);
        w[i].dtype = LT_F32;
        w[i].ndim = p->ndim;
        w[i].shape[0] = p->shape[0];
        w[i].shape[1] = p->ndim == 2 ? p->shape[1] : 0;
        w[i].data = m->params + p->offset;
    }
    return w;
}

static const char *TEMPLATE =
    "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}";

static lt_status export_model(const lt_model *m, const lt_tokenizer *tok, const char *path,
                              lt_dtype type) {
    lt_gguf_weight *w = model_weights(m);
    lt_gguf_export_opts o = {.type = type, .chat_template = TEMPLATE, .add_bos = 1};
    lt_status st = lt_gguf_export(path, &m->cfg, w, m->n_tensors, tok, &o);
    free(w);
    return st;
}

// A heterogeneous model llama.cpp's deci runs: GQA (2 kv heads) + SwiGLU 256;
// no-op attention + SwiGLU 256; linear attention + SwiGLU 512; no-op + no-op;
// GQA (4 kv heads) + SwiGLU 256. Untied, with Llama 3 rope_scaling whose
// three frequency regions all occur at head_dim 16.
static void hetero_config(lt_config *c) {
    LT_CHECK_OK(lt_config_preset(c, "tiny-hetero"));
    lt_free(c->blocks);
    c->n_layers = 5;
    c->blocks = calloc(5, sizeof *c->blocks);
    const lt_block_config b[5] = {
        {.attn = LT_ATTN_GQA, .n_kv_heads = 2, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256},
        {.attn = LT_ATTN_NOOP, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256},
        {.attn = LT_ATTN_LINEAR, .ffn = LT_FFN_SWIGLU, .ffn_dim = 512},
        {.attn = LT_ATTN_NOOP, .ffn = LT_FFN_NOOP},
        {.attn = LT_ATTN_GQA, .n_kv_heads = 4, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256},
    };
    memcpy(c->blocks, b, sizeof b);
    c->rope.llama3 = true;
    c->rope.factor = 16;
    c->rope.low_freq_factor = 2;
    c->rope.high_freq_factor = 8;
    c->rope.original_max_position_embeddings = 4096;
}

static const lt_gguf_tensor *tensor(const lt_gguf *g, const char *name) {
    const lt_gguf_tensor *t = lt_gguf_find_tensor(g, name);
    LT_CHECK_MSG(t != NULL, "missing tensor %s", name);
    return t;
}

static float f32_at(const void *data, int64_t i) {
    float f;
    memcpy(&f, (const char *)data + 4 * i, 4);
    return f;
}

// ---------------------------------------------------------------- the permutation

// Row t of head h in the file holds, as in llama.cpp's converter (reshape to
// (heads, 2, D/2, C), swap the middle axes): for even t the Hugging Face row
// t/2 of the head, for odd t the row D/2 + (t-1)/2.
static void test_permutation_rows(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 1);
    lt_tokenizer *tok = make_tokenizer();
    const int64_t C = 64, D = 16;
    const lt_param *q = lt_model_find(m, "model.layers.1.self_attn.q_proj.weight");
    const lt_param *k = lt_model_find(m, "model.layers.1.self_attn.k_proj.weight");
    for (int64_t r = 0; r < 64; r++)
        for (int64_t c = 0; c < C; c++)
            m->params[q->offset + r * C + c] = (float)r + (float)c / 1024;
    for (int64_t r = 0; r < 32; r++)
        for (int64_t c = 0; c < C; c++)
            m->params[k->offset + r * C + c] = -(float)r - (float)c / 1024;
    const char *path = tmp_path("perm.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, path));
    if (!g) return;
    const lt_gguf_tensor *tq = tensor(g, "blk.1.attn_q.weight"),
                         *tk = tensor(g, "blk.1.attn_k.weight");
    LT_CHECK(tq && tq->ne[0] == C && tq->ne[1] == 64 && tk && tk->ne[1] == 32);
    int bad = 0;
    for (int64_t h = 0; tq && tk && h < 4; h++)
        for (int64_t t = 0; t < D; t++) {
            int64_t hf = h * D + (t % 2 == 0 ? t / 2 : D / 2 + (t - 1) / 2);
            for (int64_t c = 0; c < C; c += 21) {
                bad += f32_at(tq->data, (h * D + t) * C + c) != (float)hf + (float)c / 1024;
                if (h < 2)
                    bad += f32_at(tk->data, (h * D + t) * C + c) != -(float)hf - (float)c / 1024;
            }
        }
    LT_CHECK_INT(bad, 0);
    // v is not permuted.
    const lt_param *v = lt_model_find(m, "model.layers.1.self_attn.v_proj.weight");
    const lt_gguf_tensor *tv = tensor(g, "blk.1.attn_v.weight");
    LT_CHECK(tv && memcmp(tv->data, m->params + v->offset, (size_t)v->numel * 4) == 0);
    lt_gguf_close(g);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// RoPE as Hugging Face applies it (pairs x[i], x[i + D/2]) and as llama.cpp
// does for `llama`/`deci` (pairs x[2i], x[2i + 1]); angle pos * base^(-2i/D).
static void rope_halves(double *x, int64_t D, int64_t pos, double base) {
    for (int64_t i = 0; i < D / 2; i++) {
        double a = (double)pos * pow(base, -2.0 * (double)i / (double)D);
        double x0 = x[i], x1 = x[i + D / 2];
        x[i] = x0 * cos(a) - x1 * sin(a);
        x[i + D / 2] = x1 * cos(a) + x0 * sin(a);
    }
}

static void rope_pairs(double *x, int64_t D, int64_t pos, double base) {
    for (int64_t i = 0; i < D / 2; i++) {
        double a = (double)pos * pow(base, -2.0 * (double)i / (double)D);
        double x0 = x[2 * i], x1 = x[2 * i + 1];
        x[2 * i] = x0 * cos(a) - x1 * sin(a);
        x[2 * i + 1] = x1 * cos(a) + x0 * sin(a);
    }
}

// rows [row0, row0 + D) of W (rows, C) times u (C), in double.
static void head_matvec(double *out, const void *W, int64_t row0, int64_t D, int64_t C,
                        const double *u) {
    for (int64_t r = 0; r < D; r++) {
        double s = 0;
        for (int64_t c = 0; c < C; c++) s += (double)f32_at(W, (row0 + r) * C + c) * u[c];
        out[r] = s;
    }
}

static double dot(const double *a, const double *b, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

// The score of query head h at position pq against its kv head at pk is the
// same with llama.cpp's RoPE on the exported rows as with Hugging Face's on
// the original rows (any other row order breaks it).
static void test_permutation_preserves_scores(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 2);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path("scores.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, path));
    if (!g) return;
    const int64_t C = 64, D = 16, H = 4, KVH = 2;
    const double base = 500000.0;
    lt_rng rng;
    lt_rng_seed(&rng, 7);
    double u[64], w[64];
    for (int i = 0; i < C; i++) u[i] = lt_rng_normal(&rng), w[i] = lt_rng_normal(&rng);
    const float *Wq =
        m->params + lt_model_find(m, "model.layers.0.self_attn.q_proj.weight")->offset;
    const float *Wk =
        m->params + lt_model_find(m, "model.layers.0.self_attn.k_proj.weight")->offset;
    const lt_gguf_tensor *gq = tensor(g, "blk.0.attn_q.weight"),
                         *gk = tensor(g, "blk.0.attn_k.weight");
    double worst = 0, scale = 0, moved = 0;
    for (int64_t h = 0; gq && gk && h < H; h++) {
        int64_t kvh = h / (H / KVH);
        for (int64_t pq = 0; pq < 40; pq += 13)
            for (int64_t pk = 0; pk <= pq; pk += 7) {
                double q[16], k[16], q2[16], k2[16];
                head_matvec(q, Wq, h * D, D, C, u);
                head_matvec(k, Wk, kvh * D, D, C, w);
                head_matvec(q2, gq->data, h * D, D, C, u);
                head_matvec(k2, gk->data, kvh * D, D, C, w);
                double plain = dot(q2, k2, D);
                rope_halves(q, D, pq, base), rope_halves(k, D, pk, base);
                rope_pairs(q2, D, pq, base), rope_pairs(k2, D, pk, base);
                double hf = dot(q, k, D), cpp = dot(q2, k2, D);
                worst = fmax(worst, fabs(hf - cpp));
                scale = fmax(scale, fabs(hf));
                if (pq != pk) moved = fmax(moved, fabs(cpp - plain));
            }
    }
    LT_CHECK_MSG(worst <= 1e-9 * fmax(scale, 1e-3), "scores differ by %g (scale %g)", worst, scale);
    LT_CHECK_MSG(moved > 1e-3 * scale, "RoPE did not change the scores (%g): the test is vacuous",
                 moved);
    lt_gguf_close(g);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// ---------------------------------------------------------------- round trips

// Every weight of the model opened from the GGUF equals the original: exactly
// (f32), or as the scalar conversion of the original (bf16/f16 matrices).
static void check_weights(const lt_gguf_model *gm, const lt_model *m, lt_dtype type) {
    LT_CHECK_INT(gm->n_weights, m->n_tensors);
    int bad = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        const lt_gguf_weight *w = lt_gguf_model_find(gm, p->name);
        LT_CHECK_MSG(w != NULL, "no weight %s", p->name);
        if (!w) continue;
        LT_CHECK(w->ndim == p->ndim && w->shape[0] == p->shape[0] &&
                 (p->ndim == 1 || w->shape[1] == p->shape[1]));
        lt_dtype want = p->ndim == 1 ? LT_F32 : type;
        LT_CHECK_MSG(w->dtype == want, "%s is %s", p->name, lt_dtype_name(w->dtype));
        for (int64_t k = 0; k < p->numel; k++) {
            float x = m->params[p->offset + k];
            uint16_t h;
            if (w->dtype == LT_F32) {
                bad += f32_at(w->data, k) != x;
            } else {
                memcpy(&h, (const char *)w->data + 2 * k, 2);
                bad += h != (w->dtype == LT_BF16 ? lt_f32_to_bf16(x) : lt_f32_to_f16(x));
            }
        }
    }
    LT_CHECK_INT(bad, 0);
}

static void check_config(const lt_config *a, const lt_config *b) {
    LT_CHECK_INT(a->arch, b->arch);
    LT_CHECK_INT(a->hidden, b->hidden);
    LT_CHECK_INT(a->n_layers, b->n_layers);
    LT_CHECK_INT(a->n_heads, b->n_heads);
    LT_CHECK_INT(a->head_dim, b->head_dim);
    LT_CHECK_INT(a->vocab, b->vocab);
    LT_CHECK_INT(a->max_positions, b->max_positions);
    LT_CHECK(a->rms_eps == b->rms_eps);
    LT_CHECK(a->rope.theta == b->rope.theta);
    LT_CHECK_INT(a->rope.llama3, b->rope.llama3);
    if (a->rope.llama3 && b->rope.llama3) {
        LT_CHECK(a->rope.factor == b->rope.factor);
        LT_CHECK(a->rope.low_freq_factor == b->rope.low_freq_factor);
        LT_CHECK(a->rope.high_freq_factor == b->rope.high_freq_factor);
        LT_CHECK_INT(a->rope.original_max_position_embeddings,
                     b->rope.original_max_position_embeddings);
    }
    LT_CHECK_INT(a->tie_embeddings, b->tie_embeddings);
    for (int64_t i = 0; i < a->n_layers && a->n_layers == b->n_layers; i++) {
        const lt_block_config *x = &a->blocks[i], *y = &b->blocks[i];
        LT_CHECK_MSG(x->attn == y->attn && x->ffn == y->ffn, "layer %lld kinds", (long long)i);
        if (x->attn == LT_ATTN_GQA) LT_CHECK_INT(x->n_kv_heads, y->n_kv_heads);
        if (x->ffn == LT_FFN_SWIGLU) LT_CHECK_INT(x->ffn_dim, y->ffn_dim);
    }
}

static void check_tokenizer(lt_tokenizer *a, lt_tokenizer *b) {
    LT_CHECK(b != NULL);
    if (!b) return;
    LT_CHECK_INT(lt_tokenizer_n_vocab(a), lt_tokenizer_n_vocab(b));
    LT_CHECK_INT(lt_tokenizer_n_merges(a), lt_tokenizer_n_merges(b));
    LT_CHECK_INT(lt_tokenizer_bos(a), lt_tokenizer_bos(b));
    LT_CHECK_INT(lt_tokenizer_eos(a), lt_tokenizer_eos(b));
    LT_CHECK_INT(lt_tokenizer_pad(a), lt_tokenizer_pad(b));
    const char *text = "<|begin_of_text|>Whenever I find myself <think>growing</think> grim, 42 é!";
    lt_ids x = {0}, y = {0};
    LT_CHECK_OK(lt_tokenizer_encode(a, text, strlen(text), 0, &x));
    LT_CHECK_OK(lt_tokenizer_encode(b, text, strlen(text), 0, &y));
    LT_CHECK(x.n == y.n && x.n > 0 && memcmp(x.data, y.data, x.n * sizeof *x.data) == 0);
    for (int32_t id = 0; id < lt_tokenizer_n_vocab(a); id++)
        LT_CHECK_INT(lt_tokenizer_is_special(a, id), lt_tokenizer_is_special(b, id));
    lt_ids_free(&x);
    lt_ids_free(&y);
}

static void roundtrip(const lt_config *cfg, lt_dtype type, const char *name) {
    lt_model *m = make_model(cfg, 5);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path(name);
    LT_CHECK_OK(export_model(m, tok, path, type));
    lt_gguf_model *gm = NULL;
    LT_CHECK_OK(lt_gguf_model_open(&gm, path));
    if (gm) {
        LT_CHECK_OK(lt_config_validate(&gm->cfg, "opened"));
        check_config(&gm->cfg, &m->cfg);
        check_weights(gm, m, type);
        check_tokenizer(tok, gm->tokenizer);
        LT_CHECK_STR(gm->chat_template, TEMPLATE);
        // Weights other than q/k point into the file, 32-byte aligned.
        const lt_gguf_weight *e = lt_gguf_model_find(gm, "model.embed_tokens.weight");
        const lt_gguf_tensor *t = lt_gguf_find_tensor(gm->file, "token_embd.weight");
        LT_CHECK(e && t && e->data == t->data && (uintptr_t)e->data % 32 == 0);
        const lt_gguf_weight *q = lt_gguf_model_find(gm, "model.layers.0.self_attn.q_proj.weight");
        t = lt_gguf_find_tensor(gm->file, "blk.0.attn_q.weight");
        LT_CHECK(q && t && q->data != t->data);
    }
    // lathe import gguf: the same tensors in model.safetensors.
    if (type == LT_F32) {
        const char *dir = tmp_path("imported");
        LT_CHECK_OK(lt_gguf_import(path, dir, LT_F32));
        lt_model *back = NULL;
        LT_CHECK_OK(lt_model_load(&back, dir));
        if (back) {
            check_config(&back->cfg, &m->cfg);
            LT_CHECK_INT(back->n_params, m->n_params);
            for (int i = 0; i < m->n_tensors; i++) {
                const lt_param *p = &m->tensors[i], *bp = lt_model_find(back, p->name);
                LT_CHECK(bp && memcmp(back->params + bp->offset, m->params + p->offset,
                                      (size_t)p->numel * 4) == 0);
            }
        }
        lt_tokenizer *tb = NULL;
        LT_CHECK_OK(lt_tokenizer_load(&tb, dir));
        check_tokenizer(tok, tb);
        char *cfg_text = NULL;
        size_t n;
        LT_CHECK_OK(
            lt_file_read_all(tmp_path("imported/tokenizer_config.json"), &cfg_text, &n, 1 << 20));
        LT_CHECK(cfg_text &&
                 strstr(cfg_text, "\"chat_template\":\t\"{{ bos_token }}{% for m in messages %}"));
        LT_CHECK(cfg_text && strstr(cfg_text, "\"add_bos_token\":\ttrue"));
        lt_free(cfg_text);
        lt_tokenizer_free(tb);
        lt_model_free(back);
        LT_CHECK_OK(lt_remove_tree(dir));
    }
    lt_gguf_model_close(gm);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    unlink(path);
}

static void test_roundtrip_tiny(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    roundtrip(&cfg, LT_F32, "tiny-f32.gguf");
    roundtrip(&cfg, LT_BF16, "tiny-bf16.gguf");
    roundtrip(&cfg, LT_F16, "tiny-f16.gguf");
    lt_config_free(&cfg);
}

static void test_roundtrip_hetero(void) {
    lt_config cfg;
    hetero_config(&cfg);
    roundtrip(&cfg, LT_F32, "het-f32.gguf");
    roundtrip(&cfg, LT_BF16, "het-bf16.gguf");
    lt_config_free(&cfg);
}

// q8_0: each value within (1/2 + 127 * 2^-11) * amax/127 of the original,
// amax the largest |x| of its block of 32: half a step of d = amax/127, plus
// the f16 rounding of d (relative 2^-11) times |q| <= 127.
static void test_q8_0_roundtrip(void) {
    lt_config cfg;
    hetero_config(&cfg);
    lt_model *m = make_model(&cfg, 6);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path("q8.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_Q8_0));
    lt_gguf_model *gm = NULL;
    LT_CHECK_OK(lt_gguf_model_open(&gm, path));
    int checked = 0, bad = 0;
    for (int i = 0; gm && i < m->n_tensors; i++) {
        const lt_param *p = &m->tensors[i];
        const lt_gguf_weight *w = lt_gguf_model_find(gm, p->name);
        if (!w) continue;
        const float *x = m->params + p->offset;
        if (p->ndim == 1) {
            LT_CHECK(w->dtype == LT_F32 && memcmp(w->data, x, (size_t)p->numel * 4) == 0);
            continue;
        }
        LT_CHECK(w->dtype == LT_Q8_0);
        for (int64_t b = 0; b < p->numel / 32; b++) {
            const uint8_t *blk = (const uint8_t *)w->data + b * 34;
            uint16_t dh;
            memcpy(&dh, blk, 2);
            double d = lt_f16_to_f32(dh), amax = 0;
            for (int k = 0; k < 32; k++) amax = fmax(amax, fabs(x[b * 32 + k]));
            double bound = (0.5 + 127.0 / 2048.0) * amax / 127.0 * (1 + 1e-6);
            for (int k = 0; k < 32; k++) {
                double v = d * (double)(int8_t)blk[2 + k];
                bad += fabs(v - x[b * 32 + k]) > bound;
                checked++;
            }
        }
    }
    LT_CHECK(checked > 100000);
    LT_CHECK_INT(bad, 0);
    if (gm) {
        int64_t ft;
        LT_CHECK_OK(lt_gguf_get_int(gm->file, "general.file_type", &ft));
        LT_CHECK_INT(ft, 7);
    }
    // Imported: the dequantized values.
    const char *dir = tmp_path("q8-imported");
    LT_CHECK_OK(lt_gguf_import(path, dir, LT_F32));
    lt_model *back = NULL;
    LT_CHECK_OK(lt_model_load(&back, dir));
    if (back && gm) {
        const lt_gguf_weight *g = lt_gguf_model_find(gm, "model.layers.2.mlp.gate_proj.weight");
        const lt_param *p = lt_model_find(back, "model.layers.2.mlp.gate_proj.weight");
        int mismatch = 0;
        for (int64_t k = 0; g && p && k < p->numel; k++) {
            const uint8_t *blk = (const uint8_t *)g->data + (k / 32) * 34;
            uint16_t dh;
            memcpy(&dh, blk, 2);
            float v = lt_f16_to_f32(dh) * (float)(int8_t)blk[2 + k % 32];
            mismatch += back->params[p->offset + k] != v;
        }
        LT_CHECK_INT(mismatch, 0);
    }
    lt_model_free(back);
    LT_CHECK_OK(lt_remove_tree(dir));
    lt_gguf_model_close(gm);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
    unlink(path);
}

// lathe quantize on a GGUF: q8_0 -> q8_0 keeps the blocks; f32 -> bf16 rounds.
static void test_requantize(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 8);
    lt_tokenizer *tok = make_tokenizer();
    const char *f32 = tmp_path("rq-f32.gguf"), *q8 = tmp_path("rq-q8.gguf"),
               *q8b = tmp_path("rq-q8b.gguf"), *bf = tmp_path("rq-bf16.gguf");
    LT_CHECK_OK(export_model(m, tok, f32, LT_F32));
    LT_CHECK_OK(export_model(m, tok, q8, LT_Q8_0));
    LT_CHECK_OK(lt_gguf_requantize(q8, q8b, LT_Q8_0));
    LT_CHECK_OK(lt_gguf_requantize(f32, bf, LT_BF16));
    char *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    LT_CHECK_OK(lt_file_read_all(q8, &a, &na, 1 << 24));
    LT_CHECK_OK(lt_file_read_all(q8b, &b, &nb, 1 << 24));
    LT_CHECK(a && b && na == nb && memcmp(a, b, na) == 0);
    lt_free(a);
    lt_free(b);
    lt_gguf_model *gm = NULL;
    LT_CHECK_OK(lt_gguf_model_open(&gm, bf));
    if (gm) check_weights(gm, m, LT_BF16);
    lt_gguf_model_close(gm);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// ---------------------------------------------------------------- metadata and tensors

static void check_u32(const lt_gguf *g, const char *key, int64_t want) {
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, key);
    LT_CHECK_MSG(kv && kv->type == LT_GGUF_UINT32, "%s must be a uint32", key);
    int64_t v = -1;
    if (kv) LT_CHECK_OK(lt_gguf_kv_int(g, kv, 0, &v));
    LT_CHECK_MSG(v == want, "%s = %lld, expected %lld", key, (long long)v, (long long)want);
}

static void check_f32(const lt_gguf *g, const char *key, float want) {
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, key);
    LT_CHECK_MSG(kv && kv->type == LT_GGUF_FLOAT32, "%s must be a float32", key);
    double v = 0;
    if (kv) LT_CHECK_OK(lt_gguf_kv_float(g, kv, 0, &v));
    LT_CHECK_MSG((float)v == want, "%s = %g", key, v);
}

static void check_str(const lt_gguf *g, const char *key, const char *want) {
    const char *s = "";
    size_t n = 0;
    LT_CHECK_OK(lt_gguf_get_str(g, key, &s, &n));
    LT_CHECK_MSG(n == strlen(want) && memcmp(s, want, n) == 0, "%s = '%.*s'", key, (int)n, s);
}

static void check_i32_array(const lt_gguf *g, const char *key, const int64_t *want, int n) {
    const lt_gguf_kv *kv = lt_gguf_find_kv(g, key);
    LT_CHECK_MSG(kv && kv->type == LT_GGUF_ARRAY && kv->elem_type == LT_GGUF_INT32 &&
                     kv->n == (uint64_t)n,
                 "%s must be an int32 array of %d", key, n);
    for (int i = 0; kv && i < n && kv->n == (uint64_t)n; i++) {
        int64_t v;
        LT_CHECK_OK(lt_gguf_kv_int(g, kv, (uint64_t)i, &v));
        LT_CHECK_MSG(v == want[i], "%s[%d] = %lld, expected %lld", key, i, (long long)v,
                     (long long)want[i]);
    }
}

static void test_metadata_llama(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 3);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path("meta.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, path));
    if (!g) return;
    LT_CHECK_INT(lt_gguf_version(g), 3);
    check_str(g, "general.architecture", "llama");
    check_u32(g, "general.file_type", 0);
    check_u32(g, "llama.context_length", 2048);
    check_u32(g, "llama.embedding_length", 64);
    check_u32(g, "llama.block_count", 2);
    check_u32(g, "llama.feed_forward_length", 128);
    check_u32(g, "llama.attention.head_count", 4);
    check_u32(g, "llama.attention.head_count_kv", 2);
    check_u32(g, "llama.attention.key_length", 16);
    check_u32(g, "llama.attention.value_length", 16);
    check_u32(g, "llama.rope.dimension_count", 16);
    check_u32(g, "llama.vocab_size", 512);
    check_f32(g, "llama.rope.freq_base", 500000.0f);
    check_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    check_str(g, "tokenizer.ggml.model", "gpt2");
    check_str(g, "tokenizer.ggml.pre", "llama-bpe");
    check_str(g, "tokenizer.chat_template", TEMPLATE);
    check_u32(g, "tokenizer.ggml.bos_token_id", lt_tokenizer_bos(tok));
    check_u32(g, "tokenizer.ggml.eos_token_id", lt_tokenizer_eos(tok));
    check_u32(g, "tokenizer.ggml.padding_token_id", lt_tokenizer_pad(tok));
    bool add_bos = false;
    LT_CHECK_OK(lt_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos));
    LT_CHECK(add_bos);
    LT_CHECK(lt_gguf_find_kv(g, "lathe.rope_scaling.factor") == NULL);
    // Tokens: byte-level spellings, the specials as their text (control; the
    // thinking delimiters user-defined), unused ids as [PADn].
    const lt_gguf_kv *tokens = lt_gguf_find_kv(g, "tokenizer.ggml.tokens");
    const lt_gguf_kv *types = lt_gguf_find_kv(g, "tokenizer.ggml.token_type");
    LT_CHECK(tokens && tokens->n == 512 && types && types->n == 512 &&
             types->elem_type == LT_GGUF_INT32);
    const char *s;
    size_t n;
    int64_t type;
    if (tokens && types && tokens->n == 512) {
        int32_t space = lt_tokenizer_find(tok, " ", 1), bos = lt_tokenizer_bos(tok);
        int32_t think = lt_tokenizer_find(tok, "<think>", 7);
        LT_CHECK_OK(lt_gguf_kv_str(g, tokens, (uint64_t)space, &s, &n));
        LT_CHECK(n == 2 && memcmp(s, "\xc4\xa0", 2) == 0); // 'Ġ'
        LT_CHECK_OK(lt_gguf_kv_int(g, types, (uint64_t)space, &type));
        LT_CHECK_INT(type, 1);
        LT_CHECK_OK(lt_gguf_kv_str(g, tokens, (uint64_t)bos, &s, &n));
        LT_CHECK(n == 17 && memcmp(s, "<|begin_of_text|>", 17) == 0);
        LT_CHECK_OK(lt_gguf_kv_int(g, types, (uint64_t)bos, &type));
        LT_CHECK_INT(type, 3);
        LT_CHECK_OK(lt_gguf_kv_int(g, types, (uint64_t)think, &type));
        LT_CHECK_INT(type, 4);
        LT_CHECK_OK(lt_gguf_kv_str(g, tokens, 300, &s, &n));
        LT_CHECK(n == 8 && memcmp(s, "[PAD300]", 8) == 0);
        LT_CHECK_OK(lt_gguf_kv_int(g, types, 511, &type));
        LT_CHECK_INT(type, 5);
    }
    // Merges: "left right" whose concatenation (without the space) is a token.
    const lt_gguf_kv *merges = lt_gguf_find_kv(g, "tokenizer.ggml.merges");
    LT_CHECK(merges && merges->n == (uint64_t)lt_tokenizer_n_merges(tok));
    for (uint64_t r = 0; merges && tokens && r < merges->n; r++) {
        LT_CHECK_OK(lt_gguf_kv_str(g, merges, r, &s, &n));
        const char *sp = memchr(s, ' ', n);
        LT_CHECK(sp != NULL);
        if (!sp) break;
        char joined[256];
        size_t a = (size_t)(sp - s), b = n - a - 1;
        memcpy(joined, s, a);
        memcpy(joined + a, sp + 1, b);
        bool found = false;
        for (uint64_t id = 0; id < 300 && !found; id++) {
            const char *t;
            size_t tn;
            LT_CHECK_OK(lt_gguf_kv_str(g, tokens, id, &t, &tn));
            found = tn == a + b && memcmp(t, joined, tn) == 0;
        }
        LT_CHECK_MSG(found, "merge %llu '%.*s' makes no token", (unsigned long long)r, (int)n, s);
    }
    // Tensors: tied (no output.weight), norms f32 with ne {64}.
    LT_CHECK_INT(lt_gguf_n_tensors(g), 1 + 2 * 9 + 1);
    LT_CHECK(lt_gguf_find_tensor(g, "output.weight") == NULL);
    const lt_gguf_tensor *t = tensor(g, "blk.1.ffn_down.weight");
    LT_CHECK(t && t->ne[0] == 128 && t->ne[1] == 64);
    t = tensor(g, "output_norm.weight");
    LT_CHECK(t && t->n_dims == 1 && t->ne[0] == 64 && t->dtype == LT_F32);
    t = tensor(g, "token_embd.weight");
    LT_CHECK(t && t->ne[0] == 64 && t->ne[1] == 512);
    lt_gguf_close(g);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// Meta's Llama 3 frequency adjustment, as the divisor of each pair's frequency.
static double llama3_factor(int64_t i, const lt_config *c) {
    double freq = pow(c->rope.theta, -2.0 * (double)i / (double)c->head_dim);
    double wavelen = 2 * M_PI / freq, orig = (double)c->rope.original_max_position_embeddings;
    if (wavelen < orig / c->rope.high_freq_factor) return 1;
    if (wavelen > orig / c->rope.low_freq_factor) return c->rope.factor;
    double smooth = (orig / wavelen - c->rope.low_freq_factor) /
                    (c->rope.high_freq_factor - c->rope.low_freq_factor);
    return 1 / ((1 - smooth) / c->rope.factor + smooth);
}

static void test_metadata_deci(void) {
    lt_config cfg;
    hetero_config(&cfg);
    lt_model *m = make_model(&cfg, 4);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path("deci.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_F16));
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, path));
    if (!g) return;
    check_str(g, "general.architecture", "deci");
    check_u32(g, "general.file_type", 1);
    check_u32(g, "deci.block_count", 5);
    check_i32_array(g, "deci.attention.head_count", (const int64_t[]){4, 0, 4, 0, 4}, 5);
    check_i32_array(g, "deci.attention.head_count_kv", (const int64_t[]){2, 0, 0, 0, 4}, 5);
    check_i32_array(g, "deci.feed_forward_length", (const int64_t[]){256, 256, 512, 0, 256}, 5);
    check_u32(g, "deci.rope.dimension_count", 16);
    check_u32(g, "deci.vocab_size", 512);
    // The tensors each layer kind has in llama.cpp's deci.
    const char *present[] = {"blk.0.attn_norm.weight", "blk.0.attn_q.weight",
                             "blk.0.ffn_norm.weight",  "blk.1.ffn_gate.weight",
                             "blk.2.attn_norm.weight", "blk.2.attn_output.weight",
                             "blk.2.ffn_up.weight",    "blk.4.attn_k.weight",
                             "output.weight",          "rope_freqs.weight"};
    const char *absent[] = {"blk.1.attn_norm.weight", "blk.1.attn_q.weight",
                            "blk.2.attn_q.weight",    "blk.2.attn_k.weight",
                            "blk.3.attn_norm.weight", "blk.3.ffn_norm.weight",
                            "blk.3.ffn_up.weight"};
    for (size_t i = 0; i < sizeof present / sizeof *present; i++) tensor(g, present[i]);
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++)
        LT_CHECK_MSG(lt_gguf_find_tensor(g, absent[i]) == NULL, "%s should not exist", absent[i]);
    LT_CHECK_INT(lt_gguf_n_tensors(g), 1 + 1 + 9 + 4 + 6 + 0 + 9 + 2);
    const lt_gguf_tensor *t = tensor(g, "blk.2.attn_output.weight");
    LT_CHECK(t && t->ne[0] == 64 && t->ne[1] == 64 && t->dtype == LT_F16);
    t = tensor(g, "blk.0.attn_norm.weight");
    LT_CHECK(t && t->dtype == LT_F32);
    // rope_freqs against Meta's formula; all three regions occur.
    t = tensor(g, "rope_freqs.weight");
    int ones = 0, full = 0, smooth = 0;
    for (int64_t i = 0; t && i < 8; i++) {
        double want = llama3_factor(i, &cfg), got = f32_at(t->data, i);
        LT_CHECK_CLOSE(got, want, 0, 1e-6);
        ones += want == 1, full += want == cfg.rope.factor,
            smooth += want > 1 && want < cfg.rope.factor;
    }
    LT_CHECK(t && t->dtype == LT_F32 && t->ne[0] == 8 && ones && full && smooth);
    double f;
    LT_CHECK_OK(lt_gguf_get_float(g, "lathe.rope_scaling.factor", &f));
    LT_CHECK(f == 16);
    lt_gguf_close(g);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// ---------------------------------------------------------------- refusals

static void refuse(const lt_config *cfg, const char *needle) {
    lt_model *m = make_model(cfg, 1);
    lt_tokenizer *tok = make_tokenizer();
    const char *path = tmp_path("refused.gguf");
    LT_CHECK_ERR(export_model(m, tok, path, LT_F32), LT_ERR_UNSUPPORTED, needle);
    LT_CHECK_MSG(access(path, F_OK) != 0, "%s was written", path);
    lt_tokenizer_free(tok);
    lt_model_free(m);
}

static void test_refusals(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny-hetero"));
    refuse(&cfg, "layer 2 has a linear-replacement FFN");
    lt_config_free(&cfg);
    hetero_config(&cfg);
    cfg.blocks[1] = (lt_block_config){.attn = LT_ATTN_GQA, .n_kv_heads = 1, .ffn = LT_FFN_NOOP};
    refuse(&cfg, "layer 1 has gqa attention but a no-op FFN");
    cfg.blocks[1] = (lt_block_config){.attn = LT_ATTN_LINEAR, .ffn = LT_FFN_NOOP};
    refuse(&cfg, "layer 1 has linear attention but a no-op FFN");
    cfg.blocks[1] = (lt_block_config){.attn = LT_ATTN_NOOP, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256};
    cfg.blocks[4] = (lt_block_config){.attn = LT_ATTN_NOOP, .ffn = LT_FFN_NOOP};
    refuse(&cfg, "layer 4, the last, is a no-op");
    cfg.blocks[4] = (lt_block_config){
        .attn = LT_ATTN_GQA, .n_kv_heads = 4, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256};
    cfg.blocks[0] = (lt_block_config){.attn = LT_ATTN_NOOP, .ffn = LT_FFN_SWIGLU, .ffn_dim = 256};
    refuse(&cfg, "layer 0 has no-op attention");
    lt_config_free(&cfg);
}

static void test_export_errors(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 1);
    lt_tokenizer *tok = make_tokenizer();
    lt_gguf_weight *w = model_weights(m);
    lt_gguf_export_opts o = {.type = LT_F32, .add_bos = -1};
    const char *path = tmp_path("err.gguf");
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors - 1, tok, &o), LT_ERR_FORMAT,
                 "missing tensor 'model.norm.weight'");
    snprintf(w[3].name, sizeof w[3].name, "model.layers.0.self_attn.q_proj.bias");
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors, tok, &o), LT_ERR_FORMAT,
                 "missing tensor");
    free(w);
    w = model_weights(m);
    w[2].shape[0] = 32;
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors, tok, &o), LT_ERR_FORMAT,
                 "has shape [32, 64]");
    free(w);
    w = model_weights(m);
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors, NULL, &o), LT_ERR_ARG,
                 "needs the tokenizer");
    o.type = LT_I32;
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors, tok, &o), LT_ERR_ARG, "--type i32");
    o.type = LT_F32;
    m->cfg.vocab = 200; // fewer embedding rows than token ids
    LT_CHECK_ERR(lt_gguf_export(path, &m->cfg, w, m->n_tensors, tok, &o), LT_ERR_FORMAT,
                 "the tokenizer has 300 ids");
    m->cfg.vocab = 512;
    LT_CHECK(access(path, F_OK) != 0);
    free(w);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// ---------------------------------------------------------------- malformed model files

// Copies a GGUF through the writer, leaving out one key or tensor and
// replacing one string value, to make a model file with one thing wrong.
typedef struct {
    const char *drop_key, *drop_tensor;
    const char *set_key, *set_value; // a string value
    const char *extra_tensor;        // added as a copy of output_norm.weight
    const char *array_key;           // rewritten with one value fewer
} edit;

static void copy_kv(lt_gguf_writer *w, const lt_gguf *g, const lt_gguf_kv *kv, const edit *e) {
    if (e->set_key && strcmp(kv->key, e->set_key) == 0) {
        LT_CHECK_OK(lt_gguf_add_str(w, kv->key, e->set_value, strlen(e->set_value)));
        return;
    }
    if (kv->type == LT_GGUF_ARRAY && kv->elem_type == LT_GGUF_STRING) {
        const char **strs = malloc(kv->n * sizeof *strs);
        size_t *lens = malloc(kv->n * sizeof *lens);
        for (uint64_t i = 0; i < kv->n; i++)
            LT_CHECK_OK(lt_gguf_kv_str(g, kv, i, &strs[i], &lens[i]));
        LT_CHECK_OK(lt_gguf_add_str_array(w, kv->key, strs, lens, kv->n));
        free(strs);
        free(lens);
    } else if (kv->type == LT_GGUF_ARRAY) {
        uint64_t n = kv->n - (e->array_key && strcmp(kv->key, e->array_key) == 0);
        LT_CHECK_OK(lt_gguf_add_array(w, kv->key, kv->elem_type, kv->data, n));
    } else if (kv->type == LT_GGUF_STRING) {
        const char *s;
        size_t n;
        LT_CHECK_OK(lt_gguf_kv_str(g, kv, 0, &s, &n));
        LT_CHECK_OK(lt_gguf_add_str(w, kv->key, s, n));
    } else {
        uint8_t v[8];
        memcpy(v, kv->data,
               kv->type == LT_GGUF_BOOL || kv->type <= 1 ? 1
               : kv->type <= 3                           ? 2
               : kv->type <= 6                           ? 4
                                                         : 8);
        LT_CHECK_OK(lt_gguf_add_scalar(w, kv->key, kv->type, v));
    }
}

static lt_status open_edited(const char *src, const edit *e) {
    lt_gguf *g = NULL;
    LT_CHECK_OK(lt_gguf_open(&g, src));
    lt_gguf_writer *w = NULL;
    LT_CHECK_OK(lt_gguf_writer_init(&w));
    for (size_t i = 0; g && i < lt_gguf_n_kv(g); i++) {
        const lt_gguf_kv *kv = lt_gguf_kv_at(g, i);
        if (!e->drop_key || strcmp(kv->key, e->drop_key) != 0) copy_kv(w, g, kv, e);
    }
    for (size_t i = 0; g && i < lt_gguf_n_tensors(g); i++) {
        const lt_gguf_tensor *t = lt_gguf_tensor_at(g, i);
        if (e->drop_tensor && strcmp(t->name, e->drop_tensor) == 0) continue;
        LT_CHECK_OK(lt_gguf_add_tensor(w, t->name, t->dtype, t->n_dims, t->ne, t->data));
    }
    const lt_gguf_tensor *norm = g ? lt_gguf_find_tensor(g, "output_norm.weight") : NULL;
    if (e->extra_tensor && norm)
        LT_CHECK_OK(lt_gguf_add_tensor(w, e->extra_tensor, LT_F32, 1, norm->ne, norm->data));
    const char *path = tmp_path("edited.gguf");
    LT_CHECK_OK(lt_gguf_writer_write(w, path));
    lt_gguf_writer_free(w);
    lt_gguf_close(g);
    lt_gguf_model *m = NULL;
    lt_status st = lt_gguf_model_open(&m, path);
    LT_CHECK((m != NULL) == (st == NULL));
    lt_gguf_model_close(m);
    unlink(path);
    return st;
}

static void test_model_file_errors(void) {
    lt_config cfg;
    hetero_config(&cfg);
    lt_model *m = make_model(&cfg, 1);
    lt_tokenizer *tok = make_tokenizer();
    char path[512];
    snprintf(path, sizeof path, "%s", tmp_path("base.gguf"));
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    LT_CHECK_OK(open_edited(path, &(edit){0}));
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_tensor = "blk.2.ffn_up.weight"}), LT_ERR_FORMAT,
                 "missing tensor 'blk.2.ffn_up.weight'");
    LT_CHECK_ERR(open_edited(path, &(edit){.extra_tensor = "blk.0.attn_q.bias"}),
                 LT_ERR_UNSUPPORTED, "tensor 'blk.0.attn_q.bias' is not part of the model");
    LT_CHECK_ERR(
        open_edited(path, &(edit){.set_key = "general.architecture", .set_value = "qwen2"}),
        LT_ERR_UNSUPPORTED, "architecture 'qwen2' is not supported");
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_key = "deci.block_count"}), LT_ERR_FORMAT,
                 "missing metadata 'deci.block_count'");
    LT_CHECK_ERR(open_edited(path, &(edit){.array_key = "deci.attention.head_count_kv"}),
                 LT_ERR_FORMAT, "deci.attention.head_count_kv has 4 values for 5 layers");
    LT_CHECK_ERR(open_edited(path, &(edit){.set_key = "tokenizer.ggml.pre", .set_value = "falcon"}),
                 LT_ERR_UNSUPPORTED, "tokenizer.ggml.pre 'falcon' is not supported");
    LT_CHECK_ERR(
        open_edited(path, &(edit){.set_key = "tokenizer.ggml.model", .set_value = "llama"}),
        LT_ERR_UNSUPPORTED, "tokenizer.ggml.model 'llama' is not supported");
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_key = "tokenizer.ggml.merges"}), LT_ERR_FORMAT,
                 "tokenizer.ggml.merges must be an array of strings");
    // rope_freqs that no Llama 3 scaling gives (the lathe keys say otherwise).
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_key = "lathe.rope_scaling.low_freq_factor"}),
                 LT_ERR_FORMAT, "missing metadata 'lathe.rope_scaling.low_freq_factor'");
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_tensor = "rope_freqs.weight",
                                           .extra_tensor = "rope_freqs.weight"}),
                 LT_ERR_FORMAT, "rope_freqs.weight must be f32 of 8 values");
    unlink(path);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// Without lathe's keys, rope_freqs is read as Llama 3.1's scaling (low 1,
// high 4, original 8192) when it matches.
static void test_llama31_rope_without_lathe_keys(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    cfg.rope = (lt_rope_params){.theta = 500000,
                                .llama3 = true,
                                .factor = 8,
                                .low_freq_factor = 1,
                                .high_freq_factor = 4,
                                .original_max_position_embeddings = 8192};
    lt_model *m = make_model(&cfg, 1);
    lt_tokenizer *tok = make_tokenizer();
    char path[512];
    snprintf(path, sizeof path, "%s", tmp_path("l31.gguf"));
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    LT_CHECK_OK(open_edited(path, &(edit){.drop_key = "lathe.rope_scaling.factor"}));
    cfg.rope.factor = 32; // Llama 3.2's factor is also recognised
    lt_model_free(m);
    m = make_model(&cfg, 1);
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    LT_CHECK_OK(open_edited(path, &(edit){.drop_key = "lathe.rope_scaling.factor"}));
    cfg.rope.original_max_position_embeddings = 2048; // not a standard scaling
    lt_model_free(m);
    m = make_model(&cfg, 1);
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    LT_CHECK_ERR(open_edited(path, &(edit){.drop_key = "lathe.rope_scaling.factor"}),
                 LT_ERR_UNSUPPORTED, "(and the file has no lathe.rope_scaling.* keys)");
    unlink(path);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

// A tokenizer with GPT-2's regex is written as pre "gpt-2", one trained with
// split_digits (Qwen2's regex, merges not ignored) as "qwen2", and both read back
// encoding the same; any other regex has no llama.cpp name and is refused.
static void test_pretokenizers(void) {
    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m = make_model(&cfg, 1);
    const char *gpt2 =
        "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
    lt_tokenizer *tok = make_tokenizer_with(gpt2);
    const char *path = tmp_path("gpt2.gguf");
    LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    lt_gguf_model *gm = NULL;
    LT_CHECK_OK(lt_gguf_model_open(&gm, path));
    if (gm) {
        const char *s;
        size_t n;
        LT_CHECK_OK(lt_gguf_get_str(gm->file, "tokenizer.ggml.pre", &s, &n));
        LT_CHECK(n == 5 && memcmp(s, "gpt-2", 5) == 0);
        check_tokenizer(tok, gm->tokenizer);
    }
    lt_gguf_model_close(gm);
    lt_tokenizer_free(tok);
    lt_bpe_train_opts digits = {.vocab_size = 300, .split_digits = true};
    lt_bpe_trainer *tr = NULL;
    tok = NULL;
    LT_CHECK_OK(lt_bpe_trainer_init(&tr, &digits));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_feed(tr, TEXT, strlen(TEXT)));
    if (tr) LT_CHECK_OK(lt_bpe_trainer_finish(tr, &tok));
    lt_bpe_trainer_free(tr);
    if (tok) LT_CHECK_OK(export_model(m, tok, path, LT_F32));
    gm = NULL;
    if (tok) LT_CHECK_OK(lt_gguf_model_open(&gm, path));
    if (gm) {
        const char *s;
        size_t n;
        LT_CHECK_OK(lt_gguf_get_str(gm->file, "tokenizer.ggml.pre", &s, &n));
        LT_CHECK(n == 5 && memcmp(s, "qwen2", 5) == 0);
        LT_CHECK(!gm->tokenizer->core->ignore_merges);
        check_tokenizer(tok, gm->tokenizer);
    }
    lt_gguf_model_close(gm);
    lt_tokenizer_free(tok);
    tok = make_tokenizer_with("\\w+|\\s+|[^\\w\\s]+");
    LT_CHECK_ERR(export_model(m, tok, path, LT_F32), LT_ERR_UNSUPPORTED,
                 "is not Llama 3's, Qwen2's or GPT-2's");
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_config_free(&cfg);
}

int main(void) {
    tmpdir = lt_test_tmpdir();
    LT_RUN(test_permutation_rows);
    LT_RUN(test_permutation_preserves_scores);
    LT_RUN(test_roundtrip_tiny);
    LT_RUN(test_roundtrip_hetero);
    LT_RUN(test_q8_0_roundtrip);
    LT_RUN(test_requantize);
    LT_RUN(test_metadata_llama);
    LT_RUN(test_metadata_deci);
    LT_RUN(test_refusals);
    LT_RUN(test_export_errors);
    LT_RUN(test_model_file_errors);
    LT_RUN(test_llama31_rope_without_lathe_keys);
    LT_RUN(test_pretokenizers);
    lt_status_free(lt_remove_tree(tmpdir));
    return lt_test_finish();
}
