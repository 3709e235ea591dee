// scaler.c: dynamic loss scaling for f16 training (Micikevicius et al. 2018),
// with the constants and the update rule of PyTorch's GradScaler
// (torch._amp_update_scale_): back off and skip on overflow, grow after a run
// of finite steps. The state is a few numbers, stored as 28 bytes.
#include "lathe/optim.h"

#include <math.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the loss-scaler state format is written with memcpy: little-endian hosts only"
#endif

void lt_scaler_init(lt_loss_scaler *s) {
    s->scale = 65536.0f;
    s->growth_tracker = 0;
    s->growth_interval = 2000;
    s->growth_factor = 2.0f;
    s->backoff_factor = 0.5f;
}

bool lt_scaler_update(lt_loss_scaler *s, bool grads_finite) {
    if (!grads_finite) {
        s->scale *= s->backoff_factor;
        s->growth_tracker = 0;
        return false;
    }
    int32_t successful = s->growth_tracker + 1;
    if (successful >= s->growth_interval) {
        float grown = s->scale * s->growth_factor;
        if (isfinite(grown)) s->scale = grown;
        s->growth_tracker = 0;
    } else {
        s->growth_tracker = successful;
    }
    return true;
}

#define SCALER_MAGIC "LTSCALER" // 8 bytes, no NUL

void lt_scaler_state_encode(const lt_loss_scaler *s, uint8_t out[LT_SCALER_STATE_SIZE]) {
    memcpy(out, SCALER_MAGIC, 8);
    memcpy(out + 8, &s->scale, 4);
    memcpy(out + 12, &s->growth_tracker, 4);
    memcpy(out + 16, &s->growth_interval, 4);
    memcpy(out + 20, &s->growth_factor, 4);
    memcpy(out + 24, &s->backoff_factor, 4);
}

lt_status lt_scaler_state_decode(lt_loss_scaler *s, const void *data, size_t size,
                                 const char *source) {
    const uint8_t *in = data;
    if (!source) source = "loss-scaler state";
    if (size != LT_SCALER_STATE_SIZE || memcmp(in, SCALER_MAGIC, 8) != 0)
        return lt_error(LT_ERR_FORMAT,
                        "%s: not a loss-scaler state (%zu bytes, expected %d starting with "
                        "'" SCALER_MAGIC "')",
                        source, size, LT_SCALER_STATE_SIZE);
    lt_loss_scaler t;
    memcpy(&t.scale, in + 8, 4);
    memcpy(&t.growth_tracker, in + 12, 4);
    memcpy(&t.growth_interval, in + 16, 4);
    memcpy(&t.growth_factor, in + 20, 4);
    memcpy(&t.backoff_factor, in + 24, 4);
    if (!(isfinite(t.scale) && t.scale > 0.0f))
        return lt_error(LT_ERR_FORMAT, "%s: loss scale %g must be finite and > 0", source,
                        (double)t.scale);
    if (t.growth_interval < 1)
        return lt_error(LT_ERR_FORMAT, "%s: growth interval %d must be >= 1", source,
                        (int)t.growth_interval);
    if (t.growth_tracker < 0 || t.growth_tracker >= t.growth_interval)
        return lt_error(LT_ERR_FORMAT, "%s: growth tracker %d is outside [0, %d)", source,
                        (int)t.growth_tracker, (int)t.growth_interval);
    if (!(isfinite(t.growth_factor) && t.growth_factor > 1.0f))
        return lt_error(LT_ERR_FORMAT, "%s: growth factor %g must be finite and > 1", source,
                        (double)t.growth_factor);
    if (!(t.backoff_factor > 0.0f && t.backoff_factor < 1.0f))
        return lt_error(LT_ERR_FORMAT, "%s: backoff factor %g must be in (0, 1)", source,
                        (double)t.backoff_factor);
    *s = t;
    return NULL;
}
