// pretok_llama3.c: a hand-written scanner for the Llama 3 (cl100k) pre-
// tokenizer regex on ASCII text — the regex is most of the encoding time, and
// English and code are mostly ASCII. It decides one match at a time, exactly
// as the regex would, and gives up (returns 0) whenever a byte whose class
// matters is not ASCII; the caller then takes that one match from PCRE2.
//
// The regex, alternatives tried in order at each position:
//   1 (?i:'s|'t|'re|'ve|'m|'ll|'d)
//   2 [^\r\n\p{L}\p{N}]?\p{L}+
//   3 \p{N}{1,3}
//   4  ?[^\s\p{L}\p{N}]+[\r\n]*
//   5 \s*[\r\n]+
//   6 \s+(?!\S)
//   7 \s+
// In ASCII, \p{L} is [A-Za-z], \p{N} is [0-9] and \s is [\t\n\v\f\r ].
// Qwen2's regex is the same with \p{N} for alternative 3 (max_digits 1).
#include "tokenizer/tok_internal.h"

enum { C_OTHER = 0, C_LETTER, C_DIGIT, C_SPACE, C_NEWLINE, C_HIGH, C_END };

static const uint8_t ascii_class[128] = {
    ['\t'] = C_SPACE, ['\n'] = C_NEWLINE, ['\v'] = C_SPACE, ['\f'] = C_SPACE, ['\r'] = C_NEWLINE,
    [' '] = C_SPACE,  ['0'] = C_DIGIT,    ['1'] = C_DIGIT,  ['2'] = C_DIGIT,  ['3'] = C_DIGIT,
    ['4'] = C_DIGIT,  ['5'] = C_DIGIT,    ['6'] = C_DIGIT,  ['7'] = C_DIGIT,  ['8'] = C_DIGIT,
    ['9'] = C_DIGIT,  ['A'] = C_LETTER,   ['B'] = C_LETTER, ['C'] = C_LETTER, ['D'] = C_LETTER,
    ['E'] = C_LETTER, ['F'] = C_LETTER,   ['G'] = C_LETTER, ['H'] = C_LETTER, ['I'] = C_LETTER,
    ['J'] = C_LETTER, ['K'] = C_LETTER,   ['L'] = C_LETTER, ['M'] = C_LETTER, ['N'] = C_LETTER,
    ['O'] = C_LETTER, ['P'] = C_LETTER,   ['Q'] = C_LETTER, ['R'] = C_LETTER, ['S'] = C_LETTER,
    ['T'] = C_LETTER, ['U'] = C_LETTER,   ['V'] = C_LETTER, ['W'] = C_LETTER, ['X'] = C_LETTER,
    ['Y'] = C_LETTER, ['Z'] = C_LETTER,   ['a'] = C_LETTER, ['b'] = C_LETTER, ['c'] = C_LETTER,
    ['d'] = C_LETTER, ['e'] = C_LETTER,   ['f'] = C_LETTER, ['g'] = C_LETTER, ['h'] = C_LETTER,
    ['i'] = C_LETTER, ['j'] = C_LETTER,   ['k'] = C_LETTER, ['l'] = C_LETTER, ['m'] = C_LETTER,
    ['n'] = C_LETTER, ['o'] = C_LETTER,   ['p'] = C_LETTER, ['q'] = C_LETTER, ['r'] = C_LETTER,
    ['s'] = C_LETTER, ['t'] = C_LETTER,   ['u'] = C_LETTER, ['v'] = C_LETTER, ['w'] = C_LETTER,
    ['x'] = C_LETTER, ['y'] = C_LETTER,   ['z'] = C_LETTER,
};

static inline int cls(const uint8_t *t, size_t len, size_t i) {
    if (i >= len) return C_END;
    return t[i] < 0x80 ? ascii_class[t[i]] : C_HIGH;
}

// Lower-case ASCII letter, or 0 for anything else (non-ASCII included).
static inline int lower(const uint8_t *t, size_t len, size_t i) {
    if (i >= len || t[i] >= 0x80 || ascii_class[t[i]] != C_LETTER) return 0;
    return t[i] | 0x20;
}

// Alternative 1. Returns the match length (2 or 3), 0 for no match, -1 when
// a non-ASCII byte could take part (case folding: 'ſ' matches 's').
static int contraction(const uint8_t *t, size_t len, size_t i) {
    if (i + 1 < len && t[i + 1] >= 0x80) return -1;
    int a = lower(t, len, i + 1);
    if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
    int want = a == 'r' || a == 'v' ? 'e' : a == 'l' ? 'l' : 0;
    if (!want) return 0;
    if (i + 2 < len && t[i + 2] >= 0x80) return -1;
    return lower(t, len, i + 2) == want ? 3 : 0;
}

// End of a run of `c`-class bytes from i, or 0 if the run stops at a non-ASCII byte.
static inline size_t run_end(const uint8_t *t, size_t len, size_t i, int c) {
    while (i < len && t[i] < 0x80 && ascii_class[t[i]] == c) i++;
    return i < len && t[i] >= 0x80 ? 0 : i;
}

// Whitespace run (spaces and newlines), same convention.
static inline size_t space_end(const uint8_t *t, size_t len, size_t i) {
    while (i < len && t[i] < 0x80 &&
           (ascii_class[t[i]] == C_SPACE || ascii_class[t[i]] == C_NEWLINE))
        i++;
    return i < len && t[i] >= 0x80 ? 0 : i;
}

size_t lt_pretok_llama3_ascii(const uint8_t *t, size_t len, size_t i, int max_digits) {
    int c = cls(t, len, i);
    if (c == C_HIGH || c == C_END) return 0;
    if (t[i] == '\'') {
        int n = contraction(t, len, i);
        if (n < 0) return 0;
        if (n > 0) return i + (size_t)n;
    }
    int next = cls(t, len, i + 1);
    if (c == C_LETTER) return run_end(t, len, i, C_LETTER); // 2, without the prefix
    if (c == C_DIGIT) {                                     // 3
        size_t j = i + 1, end = i + (size_t)max_digits;
        while (j < end && cls(t, len, j) == C_DIGIT) j++;
        if (j < end && cls(t, len, j) == C_HIGH) return 0; // a non-ASCII digit?
        return j;
    }
    if (c != C_NEWLINE) { // 2 with its one-byte prefix
        if (next == C_HIGH) return 0;
        if (next == C_LETTER) return run_end(t, len, i + 1, C_LETTER);
    }
    if (c == C_OTHER || (t[i] == ' ' && next == C_OTHER)) { // 4
        size_t j = run_end(t, len, t[i] == ' ' ? i + 1 : i, C_OTHER);
        if (!j) return 0;
        while (j < len && (t[j] == '\r' || t[j] == '\n')) j++;
        return j;
    }
    // Whitespace: 5, 6 or 7.
    size_t j = space_end(t, len, i);
    if (!j) return 0;
    size_t last_newline = 0;
    for (size_t k = i; k < j; k++)
        if (t[k] == '\r' || t[k] == '\n') last_newline = k + 1;
    if (last_newline) return last_newline; // 5
    if (j == len || j - i == 1) return j;  // 6 at the end, or 7
    return j - 1;                          // 6: leave the last space to the next word
}
