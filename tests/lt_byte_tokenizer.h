// lt_byte_tokenizer.h: the tokenizer chat tests build by hand — one id per
// byte (id = byte value, GPT-2's byte-level alphabet as the vocabulary, no
// merges) and the Llama 3 chat specials at 256..261 (<|begin_of_text|>,
// <|start_header_id|>, <|end_header_id|>, <|eot_id|>, <think>, </think>), so a
// test can write the expected ids of any rendered text byte by byte.
// Include after lt_test.h.
#ifndef LT_BYTE_TOKENIZER_H
#define LT_BYTE_TOKENIZER_H

#include "lt_tok_test.h"

static inline lt_tokenizer *byte_tokenizer(void) {
    cJSON *doc = cJSON_CreateObject();
    cJSON *added = cJSON_AddArrayToObject(doc, "added_tokens");
    const char *specials[] = {"<|begin_of_text|>", "<|start_header_id|>",
                              "<|end_header_id|>", "<|eot_id|>",
                              "<think>",           "</think>"};
    for (int i = 0; i < 6; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", 256 + i);
        cJSON_AddStringToObject(a, "content", specials[i]);
        cJSON_AddBoolToObject(a, "special", true);
        cJSON_AddItemToArray(added, a);
    }
    cJSON *pt = cJSON_AddObjectToObject(doc, "pre_tokenizer");
    cJSON_AddStringToObject(pt, "type", "ByteLevel");
    cJSON *model = cJSON_AddObjectToObject(doc, "model");
    add_byte_vocab(cJSON_AddObjectToObject(model, "vocab"));
    cJSON_AddArrayToObject(model, "merges");
    return tokenizer_from_doc(doc, "bytes.json");
}

#endif
