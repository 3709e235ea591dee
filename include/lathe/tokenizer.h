// tokenizer.h: byte-level BPE tokenizers in the Hugging Face `tokenizer.json`
// format — loading and saving, encoding exactly as the Rust `tokenizers`
// library does (Llama 3 included), decoding, and the special tokens the rest of
// lathe needs (BOS, EOS, PAD, chat headers, <think>).
//
// Encoding: special/added tokens are matched in the raw text first and never
// split; the text between them is cut into pre-tokens by the tokenizer's regex
// (PCRE2, rewritten where PCRE2 and Oniguruma disagree); each pre-token's bytes
// are mapped to BPE symbols and merged by rank. Text that is not valid UTF-8 is
// still encoded losslessly: every byte that is not part of a valid UTF-8
// sequence becomes a pre-token of its own, so decode(encode(x)) == x for every
// byte string x (unless an added token with lstrip/rstrip swallows whitespace,
// as in the Rust library).
#ifndef LATHE_TOKENIZER_H
#define LATHE_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe/base.h"

#ifdef __cplusplus
extern "C" {
#endif

// Token ids are kept below this bound so id arrays stay a sane size whatever a file says
// (tokenizer files, GGUF vocabularies, augmentation maps).
#define LT_TOK_MAX_ID (1 << 24)

// ---------------------------------------------------------------- buffers

// A growable array of token ids. Zero-initialise, append with the lathe
// functions that take one, release with lt_ids_free.
typedef struct {
    int32_t *data;
    size_t n, cap;
} lt_ids;
lt_status lt_ids_push(lt_ids *v, int32_t id);
lt_status lt_ids_reserve(lt_ids *v, size_t extra); // room for `extra` more ids
void lt_ids_free(lt_ids *v);

// A growable byte buffer, always NUL-terminated after data[n] once allocated
// (the bytes themselves may contain NULs).
typedef struct {
    char *data;
    size_t n, cap;
} lt_bytes;
lt_status lt_bytes_append(lt_bytes *b, const void *data, size_t n);
void lt_bytes_free(lt_bytes *b);

// ---------------------------------------------------------------- tokenizer

typedef struct lt_tokenizer lt_tokenizer;

// Loads a tokenizer from a tokenizer.json file, or from a directory holding
// tokenizer.json and (optionally) tokenizer_config.json, which sets BOS, EOS
// and PAD. Unsupported features (normalizers, other models, BPE dropout, ...)
// fail with LT_ERR_UNSUPPORTED naming the field. The post-processor is kept
// for saving but not applied (BOS/EOS are added by flags); truncation and
// padding settings are ignored.
lt_status lt_tokenizer_load(lt_tokenizer **out, const char *path);
// Parses tokenizer.json text; `source` names it in error messages.
lt_status lt_tokenizer_from_json(lt_tokenizer **out, const char *text, size_t len,
                                 const char *source);
// Reads BOS/EOS/PAD (and added special tokens) from a tokenizer_config.json.
lt_status lt_tokenizer_read_config(lt_tokenizer *tok, const char *path);
// Writes tokenizer.json (crash-safely).
lt_status lt_tokenizer_save_json(const lt_tokenizer *tok, const char *path);
// A model directory carries its tokenizer: lt_tokenizer_dir_check says whether `dir` holds a
// tokenizer.json whose ids fit a model vocabulary of `vocab`; lt_tokenizer_dir_copy copies
// tokenizer.json and tokenizer_config.json (those present) from `from` into `to`.
lt_status lt_tokenizer_dir_check(const char *dir, int64_t vocab);
lt_status lt_tokenizer_dir_copy(const char *from, const char *to);
// Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed).
lt_status lt_tokenizer_save(const lt_tokenizer *tok, const char *dir);
// A second handle on the same tables with its own cache and scratch space:
// encoding is not thread-safe per handle, so give each thread its own.
lt_status lt_tokenizer_dup(lt_tokenizer **out, const lt_tokenizer *tok);
void lt_tokenizer_free(lt_tokenizer *tok);

// ---------------------------------------------------------------- encode / decode

typedef enum {
    LT_ENCODE_BOS = 1,        // prepend the BOS token (error if the tokenizer has none)
    LT_ENCODE_EOS = 2,        // append the EOS token (error if the tokenizer has none)
    LT_ENCODE_NO_SPECIAL = 4, // treat added/special token text as plain text
} lt_encode_flags;

// Appends the ids of `len` bytes of `text` (any bytes) to `out`.
lt_status lt_tokenizer_encode(lt_tokenizer *tok, const void *text, size_t len, unsigned flags,
                              lt_ids *out);

typedef enum {
    LT_DECODE_SKIP_SPECIAL = 1, // leave out tokens marked special
} lt_decode_flags;

// Appends the bytes of ids[0..n) to `out`; an id outside the vocabulary is an
// LT_ERR_RANGE error naming its position.
lt_status lt_tokenizer_decode(const lt_tokenizer *tok, const int32_t *ids, size_t n, unsigned flags,
                              lt_bytes *out);

// ---------------------------------------------------------------- vocabulary

// 1 + the largest id (model vocabulary and added tokens): the embedding rows a
// model needs.
int32_t lt_tokenizer_n_vocab(const lt_tokenizer *tok);
// Number of BPE merges.
int32_t lt_tokenizer_n_merges(const lt_tokenizer *tok);
// The id of a token given by its bytes (an added token's content, or a model
// token's raw bytes, not its byte-level spelling); -1 when there is none.
int32_t lt_tokenizer_find(const lt_tokenizer *tok, const char *bytes, size_t len);
// Raw bytes of a token (an added token's content); NULL for an unused id.
const char *lt_tokenizer_token(const lt_tokenizer *tok, int32_t id, size_t *len);
bool lt_tokenizer_is_special(const lt_tokenizer *tok, int32_t id);
// Special ids, -1 when the tokenizer has none.
int32_t lt_tokenizer_bos(const lt_tokenizer *tok);
int32_t lt_tokenizer_eos(const lt_tokenizer *tok);
int32_t lt_tokenizer_pad(const lt_tokenizer *tok);

// ---------------------------------------------------------------- training

// The special tokens a trained tokenizer reserves unless told otherwise, in id
// order after the BPE vocabulary: BOS, EOS, PAD, the chat header tokens, and
// the thinking delimiters (added as non-special tokens, so decoding with
// LT_DECODE_SKIP_SPECIAL keeps them).
extern const char *const lt_tokenizer_default_specials[];
extern const int lt_tokenizer_n_default_specials;

typedef struct {
    int32_t vocab_size;    // all ids: 256 bytes + merges + special tokens
    int64_t min_frequency; // a pair is merged only if seen this often (0 means 2)
    const char *pattern;   // pre-tokenizer regex; NULL: Llama 3's (llama-bpe)
    // Every digit a token of its own: Qwen2's regex (Llama 3's with \p{N} for
    // \p{N}{1,3}) and no ignore_merges, as Qwen2's tokenizer.json and
    // llama.cpp's "qwen2" pre-tokenizer have it. Not with `pattern`.
    bool split_digits;
    const char *const *specials; // NULL: lt_tokenizer_default_specials
    int n_specials;
    const char *const *extra_specials; // appended after `specials`
    int n_extra_specials;
    lt_progress progress; // reports merges done
} lt_bpe_train_opts;

// Byte-level BPE training. Text is fed in documents (each pre-tokenized on its
// own, like encoding would); finishing learns merges by the classic rule (the
// most frequent adjacent pair, ties to the smallest pair of ids) with
// incremental pair counts and a priority queue over unique pre-tokens. Byte
// ids follow the byte-level alphabet's order ('!' is 0), as GPT-2's and Llama
// 3's do, and the result sets ignore_merges (as llama.cpp does for llama-bpe).
// Deterministic: the same documents give the same tokenizer.
typedef struct lt_bpe_trainer lt_bpe_trainer;
lt_status lt_bpe_trainer_init(lt_bpe_trainer **out, const lt_bpe_train_opts *opts);
lt_status lt_bpe_trainer_feed(lt_bpe_trainer *tr, const void *text, size_t len);
// Learns the merges and builds the tokenizer; the trainer is spent afterwards.
lt_status lt_bpe_trainer_finish(lt_bpe_trainer *tr, lt_tokenizer **out);
void lt_bpe_trainer_free(lt_bpe_trainer *tr);
// Trains on files, one document each.
lt_status lt_tokenizer_train(lt_tokenizer **out, const char *const *files, int n_files,
                             const lt_bpe_train_opts *opts);

// ---------------------------------------------------------------- vocabulary augmentation

// A piece of text in memory.
typedef struct {
    const void *data;
    size_t len;
} lt_text_span;

typedef struct {
    int32_t n_add;        // tokens to add, at most
    int32_t domain_vocab; // ids of the domain BPE (0: max(2000, 264 + 4 * n_add))
    int64_t min_count;    // a new token occurs at least this often in the domain text (0: 2)
    // its rate in general text is at most this times its domain rate (0: 0.1)
    double max_general_ratio;
    lt_progress progress;
} lt_augment_opts;

typedef struct {
    int32_t id;                          // in the augmented tokenizer
    int64_t domain_count, general_count; // occurrences under the domain BPE
    lt_ids pieces;                       // the token's bytes encoded by the base tokenizer
} lt_augment_token;

typedef struct {
    int32_t base_vocab;       // the base tokenizer's n_vocab: new ids start here
    lt_augment_token *tokens; // (n) in id order
    int32_t n;
} lt_augment_map;
void lt_augment_map_free(lt_augment_map *m);

// ChipNeMo-style vocabulary augmentation: trains a domain BPE on the domain
// text; keeps its tokens that the base vocabulary lacks, that occur at least
// min_count times in the domain text and are rare in the general text; and
// appends the most frequent n_add of them after the base vocabulary (base ids
// unchanged) with the domain BPE's merge for each (so that encoding produces
// them; a token whose parts are not available is skipped). A token whose merge
// would fire on the given general text, or that equals one of its pre-tokens,
// is skipped too: the general text encodes exactly as under the base.
lt_status lt_tokenizer_augment(lt_tokenizer **out, lt_augment_map *map, lt_tokenizer *base,
                               const lt_text_span *domain, int n_domain,
                               const lt_text_span *general, int n_general,
                               const lt_augment_opts *opts);
// The same on files (one document each).
lt_status lt_tokenizer_augment_files(lt_tokenizer **out, lt_augment_map *map, lt_tokenizer *base,
                                     const char *const *domain, int n_domain,
                                     const char *const *general, int n_general,
                                     const lt_augment_opts *opts);
// vocab_augment.json: base_vocab, and per new token its id, byte-level
// spelling, counts and base pieces — what `lathe model resize-vocab` needs to
// initialise each new embedding row as the mean of its pieces' rows.
lt_status lt_augment_map_save(const lt_augment_map *m, const lt_tokenizer *aug, const char *path);
lt_status lt_augment_map_load(lt_augment_map *m, const char *path);

// ---------------------------------------------------------------- GGUF vocabulary

// The tokenizer as llama.cpp's GGUF metadata holds it (tokenizer.ggml.*: a
// "gpt2" byte-level BPE with its pre-tokenizer name, token types, merges and
// special ids). The GGUF reader and writer are lathe/gguf.h's.
typedef struct lt_gguf lt_gguf;
typedef struct lt_gguf_writer lt_gguf_writer;
// *out is NULL when the file has no tokenizer.ggml.model.
lt_status lt_tokenizer_from_gguf(lt_tokenizer **out, const lt_gguf *g);
// Writes the tables for n_vocab ids (the model's rows: ids the tokenizer does
// not use are written as unused "[PADn]" tokens, as llama.cpp's converter does).
lt_status lt_tokenizer_to_gguf(const lt_tokenizer *tok, lt_gguf_writer *w, int64_t n_vocab);
// Whether encoding should start with BOS when tokenizer_config.json does not
// say: a TemplateProcessing post-processor that opens with BOS says so;
// otherwise lathe's convention holds (every training document begins with
// BOS), so yes when there is a BOS token.
bool lt_tokenizer_default_add_bos(const lt_tokenizer *tok);

#ifdef __cplusplus
}
#endif
#endif
