// sampler.h: choosing the next token from a model's logits — greedy,
// temperature, top-k, top-p (nucleus), min-p, the repetition penalty of
// Hugging Face / llama.cpp and the presence / frequency penalties of OpenAI,
// seeded so that a seed fully determines the draws.
//
// One call runs llama.cpp's default chain (common_sampler), in this order:
//
//   penalties -> top-k -> top-p -> min-p -> temperature -> draw
//
// so the filters see the penalized distribution at temperature 1 and the
// temperature only reshapes the tokens that survive them (Hugging Face
// instead applies the temperature first; the two agree when T = 1).
//   * repetition penalty r, for each distinct token in the penalty window:
//     logit > 0 ? logit / r : logit * r;
//   * presence p / frequency f, with c = its count in the window:
//     logit -= p * (c > 0) + f * c;
//   * top-k keeps the k largest logits; top-p keeps the smallest prefix of
//     the tokens sorted by probability whose total reaches top_p of the
//     (top-k renormalized) mass, the token that crosses it included; min-p
//     keeps tokens with p >= min_p * p_max. Ties in logit are ordered by id,
//     lowest first, everywhere (top-k with tied logits keeps the lowest ids).
//   * temperature T > 0 draws from softmax(logit / T) over the survivors;
//     T = 0 is greedy: the argmax of the penalized logits, ties to the lowest
//     id, and no filter changes it.
// Every call after lt_sampler_init allocates nothing; a draw costs one
// uniform number from the sampler's own lt_rng, greedy costs none.
// Speed at 128k vocabularies comes from never sorting the vocabulary: top-k
// is a heap over chunks that cannot beat its smallest entry skipped whole,
// top-p brackets its cut with vectorised mass-above-threshold passes and
// sorts only the few tokens inside the final bracket.
#ifndef LATHE_SAMPLER_H
#define LATHE_SAMPLER_H

#include "lathe/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    float temperature;        // >= 0; 0 = greedy (argmax, ties to the lowest id)
    int32_t top_k;            // >= 0; 0 = off (also off when >= the vocabulary)
    float top_p;              // in (0, 1]; 1 = off
    float min_p;              // in [0, 1]; 0 = off; keeps p >= min_p * p_max
    float repetition_penalty; // > 0; 1 = off
    float presence_penalty;   // any finite value; 0 = off
    float frequency_penalty;  // any finite value; 0 = off
    int32_t penalty_last_n;   // >= 0: the penalties look at the last n history ids; 0 = all
    uint64_t seed;            // seeds the sampler's lt_rng
} lt_sampler_params;

// Neutral defaults: temperature 1 (a plain draw from the model's
// distribution), every filter and penalty off, penalty_last_n 64, seed 0.
// Callers (the CLI, the server) choose their own temperature and filters.
lt_sampler_params lt_sampler_params_default(void);

// LT_ERR_ARG naming the first field out of its range (NaN included), e.g.
// "sampler: top_p is 1.5 (must be in (0, 1]; 1 turns it off)".
lt_status lt_sampler_params_check(const lt_sampler_params *params);

typedef struct lt_sampler lt_sampler;

// Validates `params` and allocates everything a call needs for a vocabulary
// of n_vocab ids (about 20 bytes per id).
lt_status lt_sampler_init(lt_sampler **out, const lt_sampler_params *params, int32_t n_vocab);
void lt_sampler_free(lt_sampler *s);
// Restarts the random stream as if the sampler had been created with `seed`.
void lt_sampler_reseed(lt_sampler *s, uint64_t seed);
const lt_sampler_params *lt_sampler_get_params(const lt_sampler *s);

// Picks the next token.
//   logits (n_vocab): overwritten with the penalized logits (NaN becomes
//     -inf and +inf becomes FLT_MAX), so a caller can read other tokens'
//     penalized values afterwards; filters and temperature leave it alone.
//   history (n_history): the ids generated (and, if the caller wants them
//     penalized, prompt ids) so far, oldest first; only the last
//     penalty_last_n count; ids outside [0, n_vocab) are ignored. May be NULL
//     when n_history is 0.
//   logprob (may be NULL): the natural log of the chosen token's probability
//     under the distribution actually drawn from — after penalties, filters
//     and temperature, renormalized over the survivors (0 when only one
//     survives). Greedy has no such distribution; it reports the log softmax
//     of the penalized logits at temperature 1 (the model's own confidence).
// Returns the token id, or -1 when no logit is above -inf (nothing can be
// chosen; logprob is then -inf).
int32_t lt_sampler_sample(lt_sampler *s, float *logits, const int32_t *history, size_t n_history,
                          float *logprob);

#ifdef __cplusplus
}
#endif
#endif
