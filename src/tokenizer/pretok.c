// pretok.c: the regex pre-tokenizer on PCRE2 (UTF + UCP, JIT). It cuts text
// into pre-tokens exactly as the Rust `tokenizers` library's Split(Isolated)
// does with Oniguruma: every match is a pre-token, and so is every gap between
// matches.
//
// PCRE2 and Oniguruma disagree on a few characters, so patterns are rewritten
// before compiling:
//  * `\s`: PCRE2 (UCP) also counts U+180E MONGOLIAN VOWEL SEPARATOR as space;
//    Oniguruma follows Unicode, where it has been a format character since
//    6.3. `\s` becomes [\t-\r\x{85}\p{Z}], which is Oniguruma's set.
//  * `\p{L}`, `\p{N}`: Debian 12's PCRE2 10.42 knows Unicode 14; the Rust
//    library's Oniguruma knows Unicode 16. The letters and numbers added in
//    Unicode 15.0-16.0 are listed below and added to those classes (harmless
//    with a newer PCRE2, which already has them).
// tests/test_tokenizer_classes.c checks every code point against the Rust library.
// The Llama 3 pattern (and Qwen2's) on ASCII text goes through a hand-written scanner
// (pretok_llama3.c), PCRE2 taking every match the scanner cannot decide.
#include <stdio.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

// Unicode 15.0-16.0 additions to General_Category L and N.
#define EXTRA_LETTERS                                                                      \
    "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"       \
    "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}" \
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"   \
    "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"  \
    "\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}"            \
    "\\x{16D40}-\\x{16D6C}\\x{18CFF}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}"             \
    "\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}"  \
    "\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{323AF}"
#define EXTRA_NUMBERS                                                                      \
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}" \
    "\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}" \
    "\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}"
#define SPACE_SET "\\t-\\r\\x{85}\\p{Z}"

static lt_status emit(lt_bytes *b, const char *s) { return lt_bytes_append(b, s, strlen(s)); }

// One escape at pattern[i] (a backslash); appends its rewrite and advances *i.
static lt_status rewrite_escape(lt_bytes *out, const char *pattern, size_t *i, bool in_class) {
    const char *p = pattern + *i;
    char c = p[1];
    if (c == 0) return lt_error(LT_ERR_FORMAT, "pre-tokenizer regex ends in a lone backslash");
    if (c == 'Q')
        return lt_error(LT_ERR_UNSUPPORTED,
                        "pre-tokenizer regex: \\Q...\\E quoting is not supported");
    if (c == 's') {
        *i += 2;
        return emit(out, in_class ? SPACE_SET : "[" SPACE_SET "]");
    }
    if (c == 'S') {
        if (in_class)
            return lt_error(LT_ERR_UNSUPPORTED,
                            "pre-tokenizer regex: \\S inside a character class is not supported");
        *i += 2;
        return emit(out, "[^" SPACE_SET "]");
    }
    if (c == 'p' || c == 'P') {
        // \p{L}, \pL, \p{N}, \pN: the classes whose Unicode version matters here.
        char name = 0;
        size_t len = 0;
        if (p[2] == '{' && (p[3] == 'L' || p[3] == 'N') && p[4] == '}') {
            name = p[3];
            len = 5;
        } else if (p[2] == 'L' || p[2] == 'N') {
            name = p[2];
            len = 3;
        }
        if (name) {
            const char *base = name == 'L' ? "\\p{L}" EXTRA_LETTERS : "\\p{N}" EXTRA_NUMBERS;
            if (c == 'P' && in_class)
                return lt_error(LT_ERR_UNSUPPORTED,
                                "pre-tokenizer regex: \\P{%c} inside a character class is not "
                                "supported",
                                name);
            *i += len;
            if (in_class) return emit(out, base);
            LT_TRY(emit(out, c == 'P' ? "[^" : "["));
            LT_TRY(emit(out, base));
            return emit(out, "]");
        }
    }
    *i += 2;
    return lt_bytes_append(out, p, 2);
}

static lt_status rewrite_into(lt_bytes *out, const char *pattern) {
    bool in_class = false;
    size_t i = 0;
    while (pattern[i]) {
        char c = pattern[i];
        if (c == '\\') {
            LT_TRY(rewrite_escape(out, pattern, &i, in_class));
        } else if (c == '[' && !in_class) {
            // A class opens; a ']' right after '[' or '[^' is a literal.
            in_class = true;
            size_t n = 1;
            if (pattern[i + n] == '^') n++;
            if (pattern[i + n] == ']') n++;
            LT_TRY(lt_bytes_append(out, pattern + i, n));
            i += n;
        } else if (in_class && c == '[') {
            if (pattern[i + 1] != ':')
                return lt_error(LT_ERR_UNSUPPORTED,
                                "pre-tokenizer regex: nested character classes are not supported");
            const char *end = strstr(pattern + i, ":]");
            if (!end) return lt_error(LT_ERR_FORMAT, "pre-tokenizer regex: unterminated [: class");
            size_t n = (size_t)(end + 2 - (pattern + i));
            LT_TRY(lt_bytes_append(out, pattern + i, n));
            i += n;
        } else if (in_class && c == '&' && pattern[i + 1] == '&') {
            return lt_error(LT_ERR_UNSUPPORTED,
                            "pre-tokenizer regex: class intersection '&&' is not supported");
        } else {
            if (in_class && c == ']') in_class = false;
            LT_TRY(lt_bytes_append(out, &c, 1));
            i++;
        }
    }
    if (in_class) return lt_error(LT_ERR_FORMAT, "pre-tokenizer regex: unterminated '['");
    return NULL;
}

lt_status lt_pretok_rewrite(const char *pattern, char **out) {
    lt_bytes b = {0};
    *out = NULL;
    lt_status st = rewrite_into(&b, pattern);
    if (!st && !b.data) st = lt_bytes_append(&b, "", 0);
    if (st) {
        lt_bytes_free(&b);
        return st;
    }
    *out = b.data;
    return NULL;
}

lt_status lt_pretok_init(lt_pretok *p, lt_pretok_kind kind, const char *pattern) {
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->pattern = lt_strdup(pattern);
    if (!p->pattern) return lt_error_nomem("the pre-tokenizer pattern", strlen(pattern) + 1);
    char *rewritten;
    lt_status st = lt_pretok_rewrite(pattern, &rewritten);
    if (st) {
        lt_pretok_free(p);
        return st;
    }
    int err;
    PCRE2_SIZE err_off;
    p->code = pcre2_compile((PCRE2_SPTR)rewritten, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                            &err, &err_off, NULL);
    lt_free(rewritten);
    if (!p->code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        lt_pretok_free(p);
        return lt_error(LT_ERR_FORMAT, "pre-tokenizer regex does not compile: %s", (char *)msg);
    }
    p->jit = pcre2_jit_compile(p->code, PCRE2_JIT_COMPLETE) == 0;
    p->max_digits = strcmp(pattern, LT_TOK_LLAMA3_PATTERN) == 0  ? 3
                    : strcmp(pattern, LT_TOK_QWEN2_PATTERN) == 0 ? 1
                                                                 : 0;
    p->fast = p->max_digits > 0;
    return NULL;
}

void lt_pretok_free(lt_pretok *p) {
    if (p->code) pcre2_code_free(p->code);
    lt_free(p->pattern);
    memset(p, 0, sizeof *p);
}

lt_status lt_pretok_state_init(lt_pretok_state *s, const lt_pretok *p) {
    memset(s, 0, sizeof *s);
    s->match = pcre2_match_data_create_from_pattern(p->code, NULL);
    s->context = pcre2_match_context_create(NULL);
    // Long runs of one character class (megabytes of spaces) can need deep
    // JIT stacks; the memory is reserved, and only touched when used.
    s->jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, NULL);
    if (!s->match || !s->context || !s->jit_stack) {
        lt_pretok_state_free(s);
        return lt_error(LT_ERR_NOMEM, "pre-tokenizer: cannot allocate regex match state");
    }
    pcre2_jit_stack_assign(s->context, NULL, s->jit_stack);
    return NULL;
}

void lt_pretok_state_free(lt_pretok_state *s) {
    if (s->match) pcre2_match_data_free(s->match);
    if (s->context) pcre2_match_context_free(s->context);
    if (s->jit_stack) pcre2_jit_stack_free(s->jit_stack);
    memset(s, 0, sizeof *s);
}

lt_status lt_pretok_split_valid(const lt_pretok *p, lt_pretok_state *s, const uint8_t *text,
                                size_t len, lt_pretok_fn fn, void *user) {
    size_t off = 0;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(s->match);
    while (off < len) {
        size_t fast_end = p->fast ? lt_pretok_llama3_ascii(text, len, off, p->max_digits) : 0;
        if (fast_end) {
            LT_TRY(fn(user, text + off, fast_end - off));
            off = fast_end;
            continue;
        }
        // PCRE2_NOTEMPTY: an empty match would cut nothing (and never advance).
        int rc =
            p->jit ? pcre2_jit_match(p->code, text, len, off, PCRE2_NOTEMPTY, s->match, s->context)
                   : pcre2_match(p->code, text, len, off, PCRE2_NOTEMPTY | PCRE2_NO_UTF_CHECK,
                                 s->match, s->context);
        if (rc == PCRE2_ERROR_NOMATCH) return fn(user, text + off, len - off);
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return lt_error(LT_ERR_INTERNAL, "pre-tokenizer regex failed at byte %zu: %s", off,
                            (char *)msg);
        }
        size_t start = ov[0], end = ov[1];
        if (start > off) LT_TRY(fn(user, text + off, start - off));
        LT_TRY(fn(user, text + start, end - start));
        off = end;
    }
    return NULL;
}

lt_status lt_pretok_split(const lt_pretok *p, lt_pretok_state *s, const uint8_t *text, size_t len,
                          lt_pretok_fn fn, void *user) {
    size_t pos = 0;
    while (pos < len) {
        size_t valid = lt_utf8_valid_prefix(text + pos, len - pos);
        if (valid) LT_TRY(lt_pretok_split_valid(p, s, text + pos, valid, fn, user));
        pos += valid;
        if (pos < len) LT_TRY(fn(user, text + pos++, 1));
    }
    return NULL;
}
