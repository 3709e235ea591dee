// data.h: training data — token shards (a small checksummed binary format,
// written crash-safely and read through mmap with full validation), turning
// text and JSONL into shards, and the one blending loader that draws (B, T)
// batches of ids and next-token targets from sources blended by weight (token
// shards here, chat datasets in chat_data.h, any other through a small table
// of functions), with a cursor that can be saved into a checkpoint and
// restored exactly. The formats are specified byte by byte in docs/DATA.md.
#ifndef LATHE_DATA_H
#define LATHE_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lathe/base.h"
#include "lathe/tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---------------------------------------------------------------- shards

#define LT_SHARD_VERSION 1
#define LT_SHARD_HEADER_BYTES 64

// What a shard's header says (all validated when the shard is opened).
typedef struct {
    uint32_t version;
    uint32_t token_bytes;  // 2 (uint16 tokens) when vocab <= 65536, else 4 (uint32)
    uint32_t vocab;        // every token id is < vocab
    int32_t bos, eos;      // the tokenizer's BOS / EOS ids, -1 when it has none
    uint64_t n_tokens;     // tokens of all documents, concatenated
    uint64_t n_docs;       // documents; document d is tokens [doc_start(d), doc_start(d+1))
    uint64_t n_text_bytes; // bytes of raw text the tokens came from (for bits per byte)
    uint64_t checksum;     // FNV-1a 64, see docs/DATA.md
} lt_shard_info;

// Token width the format uses for a vocabulary: 2 or 4 bytes.
uint32_t lt_shard_token_bytes(int64_t vocab);

// Writing: documents are appended one at a time and streamed to
// "<path>.tmp.<pid>"; commit writes the document table and header, fsyncs and
// renames. Nothing appears at `path` unless commit succeeds.
typedef struct lt_shard_writer lt_shard_writer;
// vocab in [1, 2^31); bos/eos are recorded in the header (-1: none).
lt_status lt_shard_writer_open(lt_shard_writer **out, const char *path, int64_t vocab, int32_t bos,
                               int32_t eos);
// Appends one document: n >= 1 ids, each in [0, vocab), that came from
// `text_bytes` bytes of text. The ids are written as given (the caller adds
// BOS/EOS; lt_data_tokenize does).
lt_status lt_shard_writer_add(lt_shard_writer *w, const int32_t *ids, size_t n,
                              uint64_t text_bytes);
// Documents, tokens and text bytes added so far (any pointer may be NULL).
void lt_shard_writer_counts(const lt_shard_writer *w, uint64_t *n_docs, uint64_t *n_tokens,
                            uint64_t *n_text_bytes);
// Finishes the file and frees the writer, also on failure (then nothing is written).
lt_status lt_shard_writer_commit(lt_shard_writer *w);
// Removes the temporary file and frees the writer. NULL is fine.
void lt_shard_writer_abort(lt_shard_writer *w);

// Reading: maps the file and validates everything (size, magic, version,
// token width, checksum, document table, every token id) before returning;
// each failure is its own message naming the file.
typedef struct lt_shard lt_shard;
lt_status lt_shard_open(lt_shard **out, const char *path);
void lt_shard_close(lt_shard *s); // NULL is fine
const lt_shard_info *lt_shard_get_info(const lt_shard *s);
const char *lt_shard_path(const lt_shard *s);
// Copies tokens [start, start + n) as int32; LT_ERR_RANGE past the end.
lt_status lt_shard_read(const lt_shard *s, uint64_t start, uint64_t n, int32_t *out);
int32_t lt_shard_token(const lt_shard *s, uint64_t i); // i < n_tokens
// First token of document d, for d in [0, n_docs]; doc_start(n_docs) == n_tokens.
uint64_t lt_shard_doc_start(const lt_shard *s, uint64_t d);
// The document holding token i (i < n_tokens), by binary search.
uint64_t lt_shard_doc_of(const lt_shard *s, uint64_t i);
// Fails unless every token id fits a model with `model_vocab` embedding rows
// (the shard's vocab <= model_vocab), naming both sizes.
lt_status lt_shard_check_vocab(const lt_shard *s, int64_t model_vocab);

// One window of T + 1 tokens starting at `start` (start + T < n_tokens):
// ids = tokens [start, start + T), targets = tokens [start + 1, start + T + 1).
// segments (may be NULL) number the documents inside the window 0, 1, 2...
// (a new one begins at each document start); positions (may be NULL) count
// from 0 at the window start and again at each document start. All (T).
void lt_shard_window(const lt_shard *s, uint64_t start, int64_t T, int32_t *ids, int32_t *targets,
                     int32_t *segments, int32_t *positions);

// ---------------------------------------------------------------- tokenize

// How a plain-text input is cut into documents (JSONL inputs: one per line).
typedef enum {
    LT_SPLIT_FILE = 0, // the whole file is one document
    LT_SPLIT_LINE,     // every line is a document
    LT_SPLIT_BLANK,    // paragraphs: documents are separated by one or more blank lines
} lt_text_split;
// Parses "file" | "line" | "blank".
lt_status lt_text_split_parse(const char *name, lt_text_split *out);

typedef struct {
    lt_tokenizer *tokenizer;   // must have BOS and EOS: each document is BOS + text + EOS
    const char *const *inputs; // files ending in .jsonl are JSONL ({"<text_key>": "..."} a line)
    int n_inputs;
    const char *out_path; // training shard
    const char *val_path; // validation shard; required when val_fraction > 0
    double val_fraction;  // in [0, 1): share of documents held out
    uint64_t seed;        // decides (with each document's text) which are held out
    lt_text_split split;
    const char *text_key; // JSONL field; NULL means "text"
    bool allow_special;   // match special-token text in the input (default: plain text)
    lt_progress progress; // bytes of input read
} lt_tokenize_opts;

typedef struct {
    uint64_t n_docs, n_tokens, n_text_bytes;
} lt_shard_counts;

typedef struct {
    lt_shard_counts train, val;
    uint64_t n_empty;       // empty documents skipped
    uint64_t n_input_bytes; // bytes of all input files
} lt_tokenize_stats;

// Tokenizes every input into the training shard (and the validation shard).
// A document goes to validation when a hash of (seed, its text) falls below
// val_fraction, so the split does not depend on input order and identical
// documents land on the same side. Malformed JSONL fails naming file and
// line; on any failure neither shard is written.
lt_status lt_data_tokenize(const lt_tokenize_opts *opts, lt_tokenize_stats *stats);

// ---------------------------------------------------------------- blending specs

// Parses a --data value "PATH:WEIGHT" (or "PATH", weight 1) into a new path
// (lt_free it) and a weight. The weight is the text after the last ':' and
// must be a finite number > 0; when that text is not a number, the whole
// value is taken as a path if such a file exists, otherwise it is an error
// naming the value.
lt_status lt_data_spec_parse(const char *spec, char **path, double *weight);

// ---------------------------------------------------------------- the blending loader

// One loader core serves every kind of training data (token shards here, chat
// JSONL in chat_data.h, and whatever comes next): it blends sources by
// weight, shuffles each source's rows per epoch, keeps an exact cursor with
// one versioned state codec, and checks vocabularies. A source only says how
// many rows an epoch has and how to fill one: the table below. docs/DATA.md
// shows how to add a source, in a few dozen lines.
typedef struct lt_loader lt_loader;

#define LT_DATA_MAX_FINGERPRINT 4 // words a source's fingerprint may have, its checksum included

typedef struct {
    // What the source and one of its rows are called in messages
    // ("data source" and "chunk", "dataset" and "row").
    const char *source_noun, *row_noun;
    // The names of the counts that, followed by a checksum, identify the data
    // in a cursor: {"tokens", NULL} makes the fingerprint (n_tokens, checksum).
    // At most LT_DATA_MAX_FINGERPRINT - 1 names. Their number fixes the
    // source's record in the cursor: 8 bytes per word + 24.
    const char *const *fingerprint_names;
    // The source's name in messages (a path).
    const char *(*name)(const void *ctx);
    // The counts named above, then the checksum.
    void (*fingerprint)(const void *ctx, uint64_t *words);
    // Prepares one epoch of rows of T tokens and says how many (>= 1, < 2^32).
    // Its randomness comes from rng, seeded by (seed, source index, epoch)
    // alone; the loader then shuffles the rows with the same rng. So any epoch
    // can be rebuilt from the cursor without storing it.
    lt_status (*plan_epoch)(void *ctx, int64_t T, lt_rng *rng, uint64_t *n_rows);
    // Fills row `row` (< n_rows) of the planned epoch: ids, targets (T) with
    // negative targets ignored by the loss; segments, positions (T) may be NULL.
    lt_status (*fill_row)(void *ctx, int64_t T, uint64_t row, int32_t *ids, int32_t *targets,
                          int32_t *segments, int32_t *positions);
    // Fails unless every id fits a model with model_vocab embedding rows.
    lt_status (*check_vocab)(const void *ctx, int64_t model_vocab);
    void (*free)(void *ctx); // NULL is fine
} lt_data_source_ops;

typedef struct {
    const lt_data_source_ops *ops;
    void *ctx;
} lt_data_source;

typedef struct {
    const lt_data_source *sources; // (n_sources) the loader owns each ctx from here on
    const double *weights;         // (n_sources) > 0, normalised by the loader; NULL: all equal
    int n_sources;
    int64_t B, T; // batch rows, tokens per row
    uint64_t seed;
    const char *magic; // 8 bytes naming the cursor's kind; NULL: "LTCURSOR"
    const char *label; // the loader in messages; NULL: "loader"
} lt_loader_source_opts;

// Opens a loader over any sources; on failure it frees every source's ctx.
lt_status lt_loader_open_sources(lt_loader **out, const lt_loader_source_opts *opts);
// Makes opts.n_sources sources with make(&sources[i], i, arg), then opens a loader over them
// with opts' other settings; a failure frees the sources made so far.
lt_status lt_loader_open_made(lt_loader **out, lt_loader_source_opts opts,
                              lt_status (*make)(lt_data_source *src, int i, const void *arg),
                              const void *arg);
void lt_loader_close(lt_loader *l); // NULL is fine

// Draws the next batch: ids, targets (B, T); segments, positions (B, T) may be NULL.
// Each row picks a source with probability weight / sum(weights) (the
// loader's RNG), then takes that source's next row of its epoch's shuffled
// order; a source whose epoch is used up plans its next one first.
lt_status lt_loader_next(lt_loader *l, int32_t *ids, int32_t *targets, int32_t *segments,
                         int32_t *positions);
// The source each row of the last batch came from (B).
const int32_t *lt_loader_row_sources(const lt_loader *l);

int lt_loader_n_sources(const lt_loader *l);
const lt_data_source *lt_loader_source(const lt_loader *l, int i);
double lt_loader_weight(const lt_loader *l, int i); // normalised
// The epoch (0 for the first) that source i's latest row came from.
uint64_t lt_loader_epoch(const lt_loader *l, int i);
uint64_t lt_loader_epoch_rows(const lt_loader *l, int i); // rows in that epoch
uint64_t lt_loader_rows_drawn(const lt_loader *l);
// Every source must fit the model's vocabulary.
lt_status lt_loader_check_vocab(const lt_loader *l, int64_t model_vocab);

// The cursor: RNG, seed, rows drawn and each source's epoch and position, with
// T, the weights and every source's fingerprint, so a cursor is never
// restored onto different data. A loader opened with the same options and
// given a saved state draws exactly the batches the saving loader would have
// drawn next (B may differ: rows are drawn one at a time). The layout is in
// docs/DATA.md.
size_t lt_loader_state_size(const lt_loader *l);
// Writes the state into buf; when cap is too small fails with LT_ERR_RANGE
// and sets *len to the size needed.
lt_status lt_loader_state_save(const lt_loader *l, void *buf, size_t cap, size_t *len);
// Restores a state; on failure the loader is unchanged.
lt_status lt_loader_state_load(lt_loader *l, const void *buf, size_t len);

// ---------------------------------------------------------------- token shard sources

typedef struct {
    const char *const *paths; // shards to blend
    const double *weights;    // (n_sources) > 0, normalised by the loader; NULL: all equal
    int n_sources;
    int64_t B, T; // batch rows, tokens per row
    uint64_t seed;
} lt_loader_opts;

// A shard as a source: it is cut into non-overlapping chunks of T + 1 tokens
// (T new targets each) starting at an offset in [0, T) drawn per epoch, and
// each epoch visits its chunks in a fresh random order; so within an epoch
// every target token is seen once, unlike random window starts that repeat
// some tokens and miss others. Chunks run across document boundaries
// (segments/positions mark them). The source owns the opened shard.
lt_status lt_data_source_shard(lt_data_source *out, const char *path);
// Opens the shards and a loader over them (cursor magic "LTCURSOR").
lt_status lt_loader_open(lt_loader **out, const lt_loader_opts *opts);
// The shard of source i, or NULL when source i is not a token shard.
const lt_shard *lt_loader_shard(const lt_loader *l, int i);

// ---------------------------------------------------------------- validation

// Walks a shard in order, window k = tokens [k T, k T + T] for k = 0, 1, ...,
// so every token after the first is a target exactly once: the last window may
// be short, padded with targets -1 (ignored by the loss) and ids of EOS (or 0).
typedef struct {
    const lt_shard *shard; // borrowed
    int64_t B, T;
    uint64_t next_window, n_windows;
} lt_val_iter;
lt_status lt_val_iter_init(lt_val_iter *it, const lt_shard *shard, int64_t B, int64_t T);
// Fills the next batch (each (B, T); segments/positions may be NULL) and sets
// *n_rows to the rows holding data (0 once the shard is done); rows past
// *n_rows are padding with targets -1.
lt_status lt_val_iter_next(lt_val_iter *it, int32_t *ids, int32_t *targets, int32_t *segments,
                           int32_t *positions, int64_t *n_rows);
void lt_val_iter_rewind(lt_val_iter *it);
// Target tokens counted over a full pass: n_tokens - 1 (0 for an empty shard).
uint64_t lt_val_iter_n_targets(const lt_val_iter *it);

#ifdef __cplusplus
}
#endif
#endif
