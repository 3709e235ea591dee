// resize_vocab.h: the model side of vocabulary augmentation — growing a
// model's embedding and LM-head rows to an augmented tokenizer, each new row
// initialised to the mean of the rows of its pieces under the old tokenizer
// (ChipNeMo), so a new token starts where its spelling pointed.
#ifndef LATHE_RESIZE_VOCAB_H
#define LATHE_RESIZE_VOCAB_H

#include "lathe/model.h"
#include "lathe/tokenizer.h"

// Builds a new model with vocab = max(m's vocab, largest new id + 1): every
// tensor is copied; embedding (and untied LM-head) rows of old ids are kept;
// each id in `map` gets the mean of its pieces' rows (a new id below the old
// vocab, an unused padding row, is overwritten); any other new row gets the
// mean of all old rows. Pieces must be ids of the old model.
lt_status lt_model_resize_vocab(lt_model **out, const lt_model *m, const lt_augment_map *map);

#endif
