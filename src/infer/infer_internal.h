// infer_internal.h: the engine's state, shared by engine.c (the step) and
// engine_load.c (building it from a model directory, a model in memory, or GGUF).
#ifndef LATHE_INFER_INTERNAL_H
#define LATHE_INFER_INTERNAL_H

#include "lathe/infer.h"

typedef struct {
    lt_block_config cfg;
    float *attn_norm, *ffn_norm; // (C) f32
    lt_qweight qkv;              // (H*D + 2*KVH*D, C): q, k, v rows stacked
    lt_qweight o;                // (C, H*D)
    lt_qweight linear_attn;      // (C, C)
    lt_qweight gate_up;          // (2F, C): gate rows, then up rows
    lt_qweight down;             // (C, F)
    lt_qweight linear_mlp;       // (C, C)
    int cache;                   // index of this layer's KV cache, -1 without one
} eng_block;

// An item of the running step.
typedef struct {
    int seq;
    int64_t n, p0, t0; // tokens, first position, first row in the step's (T, ...) buffers
} eng_item;

typedef struct {
    int item;
    int64_t g, r0, r1;
} eng_task;

typedef struct {
    void *base;
    size_t len;
} eng_map;

struct lt_engine {
    lt_config cfg;
    lt_tokenizer *tok;
    char *chat_template;
    lt_dtype wdtype;
    eng_block *blocks;          // (n_layers)
    lt_qweight embed;           // (V, C)
    lt_qweight head;            // (V, C); the embedding when tied
    float *final_norm;          // (C)
    float *rope_cos, *rope_sin; // (max_ctx, D/2)
    void **owned;               // every weight buffer, freed with the engine
    int n_owned, cap_owned;
    eng_map *maps; // large weight buffers, mapped for huge pages
    int n_maps, cap_maps;
    size_t weight_bytes, cache_bytes, scratch_bytes;

    int max_seqs;
    int64_t max_ctx, max_step;
    int64_t head_rows; // rows gathered into head_out at a time
    int64_t *seq_len;  // (max_seqs)
    int n_caches;
    float **k_cache, **v_cache; // (n_caches) each (max_seqs, KVH, max_ctx, D)

    // step scratch, sized for max_step tokens
    float *x, *xn, *tmp; // (T, C)
    float *rstd;         // (T) RMSNorm scratch
    float *big;          // (T, max(qkv width, 2F))
    float *q, *att;      // (T, H*D)
    float *hid;          // (T, max F)
    float *scores;       // (n_score_bufs, ROW_BLOCK, max_ctx)
    int n_score_bufs;
    int64_t *tok_seq, *tok_pos;   // (T)
    int64_t *head_src;            // (T) rows of x that want logits this step
    float **head_dst;             // (T) where each row's logits go
    float *head_out;              // (head_rows, V) logits of rows gathered from several items
    eng_item *items;              // (max_seqs)
    eng_task *tasks;              // attention tasks of one layer
    lt_engine_item *decode_items; // (max_seqs)

    lt_profile profile;
};

#endif
