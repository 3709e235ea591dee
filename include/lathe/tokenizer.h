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
// fail with LT_ERR_UNSUPPORTED naming the field.
lt_status lt_tokenizer_load(lt_tokenizer **out, const char *path);
// Parses tokenizer.json text; `source` names it in error messages.
lt_status lt_tokenizer_from_json(lt_tokenizer **out, const char *text, size_t len,
                                 const char *source);
// Reads BOS/EOS/PAD (and added special tokens) from a tokenizer_config.json.
lt_status lt_tokenizer_read_config(lt_tokenizer *tok, const char *path);
// Writes tokenizer.json (crash-safely).
lt_status lt_tokenizer_save_json(const lt_tokenizer *tok, const char *path);
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
lt_status lt_tokenizer_decode(const lt_tokenizer *tok, const int32_t *ids, size_t n,
                              unsigned flags, lt_bytes *out);

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
    int32_t vocab_size;          // all ids: 256 bytes + merges + special tokens
    int64_t min_frequency;       // a pair is merged only if seen this often (0 means 2)
    const char *pattern;         // pre-tokenizer regex; NULL: Llama 3's (llama-bpe)
    const char *const *specials; // NULL: lt_tokenizer_default_specials
    int n_specials;
    const char *const *extra_specials; // appended after `specials`
    int n_extra_specials;
    lt_progress progress;        // reports merges done
} lt_bpe_train_opts;

// Byte-level BPE training. Text is fed in documents (each pre-tokenized on its
// own, like encoding would); finishing learns merges by the classic rule (the
// most frequent adjacent pair, ties to the smallest pair of ids) with
// incremental pair counts and a priority queue over unique pre-tokens. Byte
// ids follow the byte-level alphabet's order ('!' is 0), as GPT-2's and Llama
// 3's do, and the result sets ignore_merges (as llama.cpp does for llama-bpe).
// Deterministic: the same documents give the same tokenizer.
typedef struct lt_bpe_trainer lt_bpe_trainer;
lt_status lt_bpe_trainer_new(lt_bpe_trainer **out, const lt_bpe_train_opts *opts);
lt_status lt_bpe_trainer_feed(lt_bpe_trainer *tr, const void *text, size_t len);
// Learns the merges and builds the tokenizer; the trainer is spent afterwards.
lt_status lt_bpe_trainer_finish(lt_bpe_trainer *tr, lt_tokenizer **out);
void lt_bpe_trainer_free(lt_bpe_trainer *tr);
// Trains on files, one document each.
lt_status lt_tokenizer_train(lt_tokenizer **out, const char *const *files, int n_files,
                             const lt_bpe_train_opts *opts);

#ifdef __cplusplus
}
#endif
#endif
