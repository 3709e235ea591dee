// profile.c: the op names of lt_profile (profile.h), shared by the trainer's
// and the engine's --profile output.
#include <string.h>

#include "lathe/profile.h"

static const char *const op_names[LT_OP_COUNT] = {
    "embedding", "rmsnorm",  "qkv proj",      "rope",     "attention", "o proj", "ffn gate+up",
    "swiglu",    "ffn down", "linear blocks", "residual", "lm head",   "loss",   "16-bit storage"};

const char *lt_op_name(lt_op op) { return op < LT_OP_COUNT ? op_names[op] : "?"; }

void lt_profile_enable(lt_profile *p, bool on) {
    p->on = on;
    if (on) memset(p->seconds, 0, sizeof p->seconds);
}
