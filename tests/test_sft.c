// test_sft.c: the trainer on chat data (lt_train_data_chat). Its validation
// loss over a packed held-out file must equal the mean next-token loss over
// assistant tokens only, computed independently: each conversation run alone
// through the model (no packing, no segments) and its log-softmax summed in
// double at the positions whose next token the mask marks as learned.
#include <math.h>

#include "lathe/train.h"
#include "lt_test.h"
#include "lt_byte_tokenizer.h"
#include "tokenizer/tok_internal.h"

static const char *CHATS =
    "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking off\"},{\"role\":\"user\",\"content\":\"2+2?\"},"
    "{\"role\":\"assistant\",\"content\":\"4\"}]}\n"
    "{\"messages\":[{\"role\":\"system\",\"content\":\"detailed thinking on\"},{\"role\":\"user\",\"content\":\"3+4?\"},"
    "{\"role\":\"assistant\",\"content\":\"<think>\\n3+4=7\\n</think>\\n\\nAnswer: 7\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"},"
    "{\"role\":\"user\",\"content\":\"bye now\"},{\"role\":\"assistant\",\"content\":\"ciao\"}]}\n"
    "{\"messages\":[{\"role\":\"user\",\"content\":\"a long question with many words in it\"},"
    "{\"role\":\"assistant\",\"content\":\"ok\"}]}\n";

static char *join(const char *a, const char *b) {
    char *p = malloc(strlen(a) + strlen(b) + 2);
    sprintf(p, "%s/%s", a, b);
    return p;
}

static double last_val = NAN;

static void record(void *user, const lt_train_event *ev) {
    (void)user;
    if (ev->has_val) last_val = ev->val_loss;
}

// Mean -log p(next token) over every example run alone: over the learned
// positions only (*assistant) and over all positions (*all).
static void reference_losses(const lt_model *m, const lt_chat_dataset *d, double *assistant,
                             double *all) {
    double sum_learned = 0, sum_all = 0;
    int64_t n_learned = 0, n_all = 0, V = m->cfg.vocab;
    for (size_t i = 0; i < lt_chat_dataset_n_examples(d); i++) {
        size_t len;
        const uint8_t *mask;
        const int32_t *ids = lt_chat_dataset_example(d, i, &len, &mask, NULL);
        lt_acts *a;
        LT_CHECK_OK(lt_acts_init(&a, m, 1, (int64_t)len));
        lt_batch b = {.B = 1, .T = (int64_t)len, .ids = ids};
        LT_CHECK_OK(lt_model_forward(m, a, &b));
        for (size_t t = 0; t + 1 < len; t++) {
            const float *row = a->logits + (int64_t)t * V; // (V)
            double max = row[0], z = 0;
            for (int64_t v = 1; v < V; v++) max = row[v] > max ? row[v] : max;
            for (int64_t v = 0; v < V; v++) z += exp((double)row[v] - max);
            double nll = max + log(z) - row[ids[t + 1]];
            sum_all += nll, n_all++;
            if (mask[t + 1]) sum_learned += nll, n_learned++;
        }
        lt_acts_free(a);
    }
    *assistant = sum_learned / (double)n_learned;
    *all = sum_all / (double)n_all;
}

static void test_val_loss_counts_assistant_tokens(void) {
    const char *dir = lt_test_tmpdir();
    char *path = join(dir, "chats.jsonl"), *out = join(dir, "run");
    LT_CHECK_OK(lt_file_write_all(path, CHATS, strlen(CHATS)));
    lt_tokenizer *tok = byte_tokenizer();
    const char *specs[1] = {path};
    lt_train_chat_opts co = {
        .data = specs, .n_data = 1, .val = path, .tokenizer = tok, .B = 2, .T = 128, .seed = 3};
    lt_train_data src;
    lt_chat_read_stats st;
    LT_CHECK_OK(lt_train_data_chat(&src, &co, &st, NULL));
    LT_CHECK_INT(st.n_examples, 8); // 4 training + the same 4 held out
    LT_CHECK(src.val_next != NULL);

    // One step at a learning rate far below float resolution leaves the
    // weights as initialised; the evaluation after it sees the initial model.
    lt_train_opts o;
    lt_train_opts_default(&o);
    o.preset = "tiny";
    o.out_dir = out;
    o.source = &src;
    o.batch = 2, o.seq = 128, o.steps = 1;
    o.lr = 1e-30, o.min_lr = 0;
    o.eval_every = 1, o.eval_batches = 0, o.save_every = 0;
    LT_CHECK_OK(lt_train(&o, record, NULL));

    lt_config cfg;
    LT_CHECK_OK(lt_config_preset(&cfg, "tiny"));
    lt_model *m;
    LT_CHECK_OK(lt_model_init(&m, &cfg));
    lt_model_init_random(m, o.init_seed);
    lt_chat_read_opts ro = {.tokenizer = tok, .max_tokens = 128};
    lt_chat_dataset *d;
    LT_CHECK_OK(lt_chat_dataset_load(&d, path, &ro, NULL, NULL));
    double assistant, all;
    reference_losses(m, d, &assistant, &all);
    LT_CHECK_CLOSE(last_val, assistant, 1e-4, 1e-4);
    // The two means differ by far more than the tolerance: the check can tell them apart.
    LT_CHECK_MSG(fabs(all - assistant) > 1e-2,
                 "all-token loss %g too close to the assistant loss %g", all, assistant);

    lt_chat_dataset_free(d);
    lt_model_free(m);
    lt_config_free(&cfg);
    lt_train_data_free(&src);
    lt_tokenizer_free(tok);
    free(path), free(out);
}

int main(void) {
    lt_threads_set(1);
    LT_RUN(test_val_loss_counts_assistant_tokens);
    return lt_test_finish();
}
