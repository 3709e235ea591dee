// fp.c: f32 <-> bf16 / f16 conversion. One rule (see base.h) for the scalar and
// the SIMD paths so that results never depend on which one ran.
#include "lathe/base.h"

#include <immintrin.h>
#include <string.h>

static inline uint32_t f32_bits(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}
static inline float bits_f32(uint32_t u) {
    float x;
    memcpy(&x, &u, 4);
    return x;
}

uint16_t lt_f32_to_bf16(float x) {
    uint32_t u = f32_bits(x);
    uint32_t exponent = u & 0x7f800000u;
    if (exponent == 0) return (uint16_t)((u >> 16) & 0x8000u); // zero or subnormal -> signed zero
    if (exponent == 0x7f800000u) {
        if (u & 0x007fffffu) return (uint16_t)((u >> 16) | 0x0040u); // NaN: quiet
        return (uint16_t)(u >> 16);                                  // inf
    }
    uint32_t rounding_bias = 0x7fffu + ((u >> 16) & 1u); // ties to even
    return (uint16_t)((u + rounding_bias) >> 16);
}

float lt_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t lt_f32_to_f16(float x) {
    uint32_t u = f32_bits(x);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t exponent = (u >> 23) & 0xffu;
    uint32_t mantissa = u & 0x007fffffu;
    if (exponent == 0xff) {
        if (mantissa) return (uint16_t)(sign | 0x7e00u | (mantissa >> 13)); // NaN: quiet
        return (uint16_t)(sign | 0x7c00u);
    }
    if (exponent == 0) return sign; // zero or f32 subnormal (far below f16's range)
    int32_t e = (int32_t)exponent - 127 + 15;
    if (e >= 31) return (uint16_t)(sign | 0x7c00u);
    if (e <= 0) {
        // f16 subnormal: shift the full significand right, round to nearest even.
        if (e < -10) return sign; // below half the smallest subnormal
        uint32_t significand = mantissa | 0x00800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t result = significand >> shift;
        uint32_t remainder = significand & ((1u << shift) - 1u);
        uint32_t half = 1u << (shift - 1);
        if (remainder > half || (remainder == half && (result & 1u))) result++;
        return (uint16_t)(sign | result);
    }
    uint32_t result = ((uint32_t)e << 10) | (mantissa >> 13);
    uint32_t remainder = mantissa & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u)))
        result++; // may carry into the exponent, up to inf: correct
    return (uint16_t)(sign | result);
}

float lt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    if (exponent == 0) {
        if (mantissa == 0) return bits_f32(sign);
        // subnormal: value = mantissa * 2^-24, exact in f32
        float v = (float)mantissa * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exponent == 31) return bits_f32(sign | 0x7f800000u | (mantissa << 13));
    return bits_f32(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

void lt_f32_to_bf16_array_ref(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = lt_f32_to_bf16(src[i]);
}

void lt_f32_to_f16_array_ref(uint16_t *dst, const float *src, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = lt_f32_to_f16(src[i]);
}

void lt_f32_to_bf16_array(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
#if defined(__AVX512BF16__) && defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(src + i);
        __m256bh b = _mm512_cvtneps_pbh(v);
        _mm256_storeu_si256((__m256i *)(dst + i), (__m256i)b);
    }
#endif
    for (; i < n; i++) dst[i] = lt_f32_to_bf16(src[i]);
}

void lt_bf16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(src + i));
        __m512i w = _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16);
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(w));
    }
#endif
    for (; i < n; i++) dst[i] = lt_bf16_to_f32(src[i]);
}

void lt_f32_to_f16_array(uint16_t *dst, const float *src, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        __m512 v = _mm512_loadu_ps(src + i);
        __m256i h = _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm256_storeu_si256((__m256i *)(dst + i), h);
    }
#endif
    for (; i < n; i++) dst[i] = lt_f32_to_f16(src[i]);
}

void lt_f16_to_f32_array(float *dst, const uint16_t *src, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
    }
#endif
    for (; i < n; i++) dst[i] = lt_f16_to_f32(src[i]);
}

const char *lt_dtype_name(lt_dtype t) {
    switch (t) {
    case LT_F32: return "f32";
    case LT_BF16: return "bf16";
    case LT_F16: return "f16";
    case LT_Q8_0: return "q8_0";
    case LT_I32: return "i32";
    default: return "?";
    }
}

lt_status lt_dtype_parse(const char *name, lt_dtype *out) {
    static const lt_dtype all[] = {LT_F32, LT_BF16, LT_F16, LT_Q8_0};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (name && strcmp(name, lt_dtype_name(all[i])) == 0) {
            *out = all[i];
            return NULL;
        }
    }
    return lt_error(LT_ERR_ARG, "unknown dtype '%s' (expected f32, bf16, f16 or q8_0)",
                    name ? name : "(null)");
}

size_t lt_dtype_size(lt_dtype t) {
    switch (t) {
    case LT_F32: return 4;
    case LT_BF16: return 2;
    case LT_F16: return 2;
    case LT_I32: return 4;
    default: return 0;
    }
}
