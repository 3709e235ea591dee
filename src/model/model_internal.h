// model_internal.h: what the files of src/model/ (and the config tests) share
// beyond the public model.h and config.h — config.json as a cJSON document,
// which the public API keeps out of sight (no third-party types in
// include/lathe/).
#ifndef LATHE_MODEL_INTERNAL_H
#define LATHE_MODEL_INTERNAL_H

#include "base/json.h"
#include "lathe/config.h"

// Reads a parsed config.json; `source` names it in errors.
lt_status lt_config_from_json(lt_config *c, const cJSON *doc, const char *source);
// Builds the config.json document (DeciLM block_configs when arch is DECILM).
lt_status lt_config_to_json(const lt_config *c, cJSON **out);

#endif
