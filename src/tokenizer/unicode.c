// unicode.c: the little Unicode the tokenizer needs — strict UTF-8 validation,
// the White_Space property, and GPT-2's byte-level alphabet, which gives each
// of the 256 byte values a printable character so that vocabularies can be
// written as JSON strings.
#include <pthread.h>
#include <string.h>

#include "tokenizer/tok_internal.h"

int lt_utf8_seq_len(const uint8_t *s, size_t n, uint32_t *cp) {
    uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int len;
    uint32_t c, min;
    if (b >= 0xC2 && b <= 0xDF) {
        len = 2;
        c = b & 0x1F;
        min = 0x80;
    } else if (b >= 0xE0 && b <= 0xEF) {
        len = 3;
        c = b & 0x0F;
        min = 0x800;
    } else if (b >= 0xF0 && b <= 0xF4) {
        len = 4;
        c = b & 0x07;
        min = 0x10000;
    } else {
        return 0;
    }
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
    *cp = c;
    return len;
}

size_t lt_utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        // ASCII runs 8 bytes at a time: the common case for text and code.
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        int len = lt_utf8_seq_len(s + i, n - i, &cp);
        if (len == 0) return i;
        i += (size_t)len;
    }
    return n;
}

bool lt_unicode_is_space(uint32_t cp) {
    if (cp <= 0x20) return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D);
    if (cp < 0x85) return false;
    return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
           cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// GPT-2's mapping: the printable Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ')
// stand for themselves; the other 68 bytes, in increasing order, take the code
// points 256, 257, ... (so ' ' is 'Ġ' U+0120 and '\n' is 'Ċ' U+010A).
static bool byte_is_printable(int b) {
    return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

uint32_t lt_bytelevel_char(uint8_t byte) {
    if (byte_is_printable(byte)) return byte;
    uint32_t shifted = 0;
    for (int b = 0; b < byte; b++)
        if (!byte_is_printable(b)) shifted++;
    return 256 + shifted;
}

int lt_bytelevel_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t k = cp - 256;
    for (int b = 0; b < 256; b++)
        if (!byte_is_printable(b) && k-- == 0) return b;
    return -1;
}

// Precomputed UTF-8 spellings of the 256 byte-level characters (all 1 or 2 bytes).
static struct {
    uint8_t len[256];
    char utf8[256][2];
    int16_t byte_of[256 + 68];
} alphabet;

static pthread_once_t alphabet_once = PTHREAD_ONCE_INIT;

static void alphabet_build(void) {
    for (int b = 0; b < 256; b++) {
        uint32_t cp = lt_bytelevel_char((uint8_t)b);
        if (cp < 0x80) {
            alphabet.len[b] = 1;
            alphabet.utf8[b][0] = (char)cp;
        } else {
            alphabet.len[b] = 2;
            alphabet.utf8[b][0] = (char)(0xC0 | (cp >> 6));
            alphabet.utf8[b][1] = (char)(0x80 | (cp & 0x3F));
        }
    }
    for (uint32_t cp = 0; cp < 256 + 68; cp++)
        alphabet.byte_of[cp] = (int16_t)lt_bytelevel_byte(cp);
}

static void alphabet_init(void) { pthread_once(&alphabet_once, alphabet_build); }

lt_status lt_bytelevel_encode(lt_bytes *out, const void *raw, size_t n) {
    alphabet_init();
    const uint8_t *p = raw;
    for (size_t i = 0; i < n; i++)
        LT_TRY(lt_bytes_append(out, alphabet.utf8[p[i]], alphabet.len[p[i]]));
    return NULL;
}

ptrdiff_t lt_bytelevel_decode(uint8_t *dst, const char *text, size_t n) {
    alphabet_init();
    const uint8_t *s = (const uint8_t *)text;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp;
        int len = lt_utf8_seq_len(s + i, n - i, &cp);
        if (len == 0 || cp >= 256 + 68 || alphabet.byte_of[cp] < 0) return -1;
        dst[k++] = (uint8_t)alphabet.byte_of[cp];
        i += (size_t)len;
    }
    return (ptrdiff_t)k;
}
