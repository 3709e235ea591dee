// cmd_model_resize.c: `lathe model resize-vocab` — the model side of
// vocabulary augmentation: grows a checkpoint's embedding and LM-head rows to
// an augmented tokenizer (`lathe tokenizer augment`), each new row the mean of
// its pieces' rows under the old tokenizer.
#include <stdio.h>

#include "cli/cli.h"
#include "lathe/resize_vocab.h"

static void help(void) {
    printf("usage: lathe model resize-vocab --model DIR --tokenizer DIR --out DIR\n"
           "                                [--dtype f32|bf16|f16]\n\n"
           "Grows the model's vocabulary to an augmented tokenizer's: rows of old ids are\n"
           "kept, each new token's embedding (and LM-head) row is the mean of the rows of the\n"
           "pieces that spelled it under the old tokenizer (DIR/vocab_augment.json, written by\n"
           "`lathe tokenizer augment`). Writes the model and the tokenizer to --out.\n\n"
           "  --model DIR      the checkpoint (config.json + model.safetensors)\n"
           "  --tokenizer DIR  the augmented tokenizer directory\n"
           "  -o, --out DIR    output checkpoint directory\n"
           "  --dtype T        storage dtype of model.safetensors (default f32)\n");
}

int lt_cli_model_resize_vocab(int argc, char **argv) {
    const char *model_dir = NULL, *tok_dir = NULL, *out = NULL, *dtype_text = "f32";
    const lt_cli_opt opts[] = {{"--model", .value = &model_dir},
                               {"--tokenizer", .value = &tok_dir},
                               {"--out", .value = &out, .alias = "-o"},
                               {"--dtype", .value = &dtype_text},
                               {0}};
    int rc = lt_cli_parse("model resize-vocab", argc, argv, opts, NULL, 0, NULL, help);
    if (rc >= 0) return rc;
    if (!model_dir || !tok_dir || !out)
        return lt_cli_usage_error("model resize-vocab",
                                  "--model, --tokenizer and --out are required");
    lt_dtype dtype;
    lt_status st = lt_dtype_parse(dtype_text, &dtype);
    lt_model *m = NULL, *grown = NULL;
    lt_tokenizer *tok = NULL;
    lt_augment_map map = {0};
    char *map_path = lt_path_join(tok_dir, "vocab_augment.json");
    if (!st && !map_path)
        st = lt_error_nomem("the path of vocab_augment.json",
                            strlen(tok_dir) + sizeof "/vocab_augment.json");
    if (!st) st = lt_augment_map_load(&map, map_path);
    if (!st) st = lt_tokenizer_load(&tok, tok_dir);
    if (!st) st = lt_model_load(&m, model_dir);
    if (!st) st = lt_model_resize_vocab(&grown, m, &map);
    if (!st) st = lt_model_save(grown, out, dtype);
    if (!st) st = lt_tokenizer_save(tok, out);
    if (!st)
        printf("wrote %s: vocabulary %lld -> %lld rows (%d initialised from their pieces)\n", out,
               (long long)m->cfg.vocab, (long long)grown->cfg.vocab, (int)map.n);
    lt_free(map_path);
    lt_augment_map_free(&map);
    lt_tokenizer_free(tok);
    lt_model_free(m);
    lt_model_free(grown);
    return lt_cli_report("model resize-vocab", st);
}
