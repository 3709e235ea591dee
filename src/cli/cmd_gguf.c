// cmd_gguf.c: the GGUF commands — `lathe export gguf` (a model directory as a
// GGUF llama.cpp runs), `lathe import gguf` (a GGUF back to a Hugging Face
// directory) and `lathe quantize` (re-store a model's weights as q8_0, bf16,
// f16 or f32 in a GGUF).
#include <stdio.h>

#include "cli/cli.h"
#include "lathe/gguf.h"

static lt_status parse_type(const char *flag, const char *text, lt_dtype *out) {
    lt_status st = lt_dtype_parse(text, out);
    if (st) return lt_error_prefix(st, "%s", flag);
    return NULL;
}

// ---------------------------------------------------------------- export gguf

static void export_help(void) {
    printf("usage: lathe export gguf MODEL_DIR OUT.gguf [--dtype f32|f16|bf16|q8_0]\n\n"
           "Writes the model as a GGUF file that llama.cpp runs: architecture 'llama' when\n"
           "every layer has the same shape, 'deci' (per-layer head counts and FFN widths)\n"
           "otherwise, with the tokenizer and the chat template. MODEL_DIR holds config.json,\n"
           "the safetensors weights, tokenizer.json and tokenizer_config.json.\n\n"
           "  --dtype T  storage of the matrices and the embedding (default f32); norms stay\n"
           "             f32; q8_0 falls back to f16 for a matrix whose rows are not a\n"
           "             multiple of 32 (--type T is accepted too)\n\n"
           "llama.cpp cannot represent a linear-replacement FFN, a layer with attention but\n"
           "a no-op FFN, a no-op last layer, or a no-op attention in layer 0: such a model\n"
           "is refused with the layer named (docs/FORMATS.md).\n");
}

static int export_gguf(int argc, char **argv) {
    const char *type_text = "f32", *pos[2];
    int n_pos = 0;
    const lt_cli_opt opts[] = {{"--dtype", .value = &type_text, .alias = "--type"}, {0}};
    int rc = lt_cli_parse("export gguf", argc, argv, opts, pos, 2, &n_pos, export_help);
    if (rc >= 0) return rc;
    if (n_pos != 2) return lt_cli_usage_error("export gguf", "give MODEL_DIR and OUT.gguf");
    lt_dtype type;
    lt_status st = parse_type("--dtype", type_text, &type);
    if (!st) st = lt_gguf_export_dir(pos[0], pos[1], type);
    if (!st) printf("wrote %s (%s)\n", pos[1], lt_dtype_name(type));
    return lt_cli_report("export gguf", st);
}

static const lt_cli_command export_commands[] = {
    {"gguf", export_gguf, "write a GGUF file llama.cpp runs"},
};

int cmd_export(int argc, char **argv) {
    return lt_cli_dispatch("export", export_commands,
                           sizeof export_commands / sizeof *export_commands, argc, argv);
}

// ---------------------------------------------------------------- import gguf

static void import_help(void) {
    printf("usage: lathe import gguf IN.gguf OUT_DIR [--dtype f32|bf16|f16]\n\n"
           "Writes a Hugging Face model directory from a 'llama' or 'deci' GGUF file:\n"
           "config.json, model.safetensors, tokenizer.json and tokenizer_config.json (with\n"
           "the chat template). q/k rows are put back in Hugging Face order; q8_0 weights\n"
           "are dequantized.\n\n"
           "  --dtype T   storage dtype of model.safetensors (default f32)\n");
}

static int import_gguf(int argc, char **argv) {
    const char *dtype_text = "f32", *pos[2];
    int n_pos = 0;
    const lt_cli_opt opts[] = {{.flag = "--dtype", .value = &dtype_text}, {.flag = NULL}};
    int rc = lt_cli_parse("import gguf", argc, argv, opts, pos, 2, &n_pos, import_help);
    if (rc >= 0) return rc;
    if (n_pos != 2) return lt_cli_usage_error("import gguf", "give IN.gguf and OUT_DIR");
    lt_dtype dtype;
    lt_status st = parse_type("--dtype", dtype_text, &dtype);
    if (!st && dtype != LT_F32 && dtype != LT_BF16 && dtype != LT_F16)
        st = lt_error(LT_ERR_ARG, "--dtype: safetensors weights are f32, bf16 or f16");
    if (!st) st = lt_gguf_import(pos[0], pos[1], dtype);
    if (!st) printf("wrote %s (%s)\n", pos[1], lt_dtype_name(dtype));
    return lt_cli_report("import gguf", st);
}

static const lt_cli_command import_commands[] = {
    {"gguf", import_gguf, "write a Hugging Face model directory from a GGUF file"},
};

int cmd_import(int argc, char **argv) {
    return lt_cli_dispatch("import", import_commands,
                           sizeof import_commands / sizeof *import_commands, argc, argv);
}

// ---------------------------------------------------------------- quantize

static void quantize_help(void) {
    printf("usage: lathe quantize IN OUT.gguf --dtype q8_0|bf16|f16|f32\n\n"
           "Writes a GGUF file with the model's matrices and embedding stored as --dtype\n"
           "(norms stay f32). IN is a model directory or a .gguf file; q8_0 is GGUF's Q8_0\n"
           "(blocks of 32 int8 values with one f16 scale), computed as llama.cpp does.\n"
           "--type T is accepted for --dtype T.\n");
}

int cmd_quantize(int argc, char **argv) {
    const char *type_text = NULL, *pos[2];
    int n_pos = 0;
    const lt_cli_opt opts[] = {{"--dtype", .value = &type_text, .alias = "--type"}, {0}};
    int rc = lt_cli_parse("quantize", argc, argv, opts, pos, 2, &n_pos, quantize_help);
    if (rc >= 0) return rc;
    if (n_pos != 2) return lt_cli_usage_error("quantize", "give IN and OUT.gguf");
    if (!type_text) return lt_cli_usage_error("quantize", "--dtype is required");
    lt_dtype type;
    lt_status st = parse_type("--dtype", type_text, &type);
    if (!st)
        st = lt_path_is_dir(pos[0]) ? lt_gguf_export_dir(pos[0], pos[1], type)
                                    : lt_gguf_requantize(pos[0], pos[1], type);
    if (!st) printf("wrote %s (%s)\n", pos[1], lt_dtype_name(type));
    return lt_cli_report("quantize", st);
}
