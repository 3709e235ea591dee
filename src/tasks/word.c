// word.c: multi-step arithmetic word problems. A story is a start quantity
// and 2-4 events (gain, loss, groups gained, groups lost, equal shares,
// multiplying), each told by its scenario's own English sentence, with names
// and objects varied. The working has one line per event holding every
// intermediate result ("3*5=15, 12+15=27"), in the order the story tells them.
#include <string.h>

#include "tasks/tasks_internal.h"

typedef enum {
    EV_GAIN,
    EV_LOSE,
    EV_GROUPS,
    EV_LOSE_GROUPS,
    EV_SHARE,
    EV_TIMES,
    EV_COUNT
} event_kind;

// Placeholders: {N} the person, {F} a second person, {O} the objects, {A} {B} the numbers.
typedef struct {
    const char *objects[4];       // plural nouns; NULL-terminated when fewer
    const char *start;            // uses {A}: the start quantity
    const char *events[EV_COUNT]; // NULL: the event does not fit this story
    const char *question;
} scenario;

static const scenario scenarios[] = {
    {{"apples", "pears", "plums", "peaches"},
     "{N} picks {A} {O} in the orchard.",
     {"Later {N} picks {A} more {O}.", "{N} gives {A} {O} to {F}.",
      "{F} hands {N} {A} baskets with {B} {O} in each.",
      "{N} bakes {A} pies and uses {B} {O} for each pie.",
      "{N} splits the {O} equally into {A} bags and keeps just one bag.",
      "{F} gives {N} enough {O} to have {A} times as many."},
     "How many {O} does {N} have now?"},
    {{"books", "novels", "comics", NULL},
     "A library shelf holds {A} {O}.",
     {"The librarian {N} adds {A} new {O} to the shelf.", "Readers borrow {A} {O} from the shelf.",
      "{N} unpacks {A} boxes of {O} onto the shelf, {B} {O} per box.",
      "{A} classes borrow {B} {O} each from the shelf.", NULL, NULL},
     "How many {O} are on the shelf now?"},
    {{"cookies", "muffins", "cupcakes", "rolls"},
     "{N} bakes {A} {O} in the morning.",
     {"Later {N} bakes {A} more {O}.", "{N} sells {A} {O} to customers.",
      "{N} bakes {A} more trays with {B} {O} on each tray.", "{A} customers each buy {B} {O}.",
      "{N} packs the {O} equally into {A} boxes and gives away all boxes but one.",
      "A big order comes in, so {N} bakes until there are {A} times as many {O}."},
     "How many {O} does {N} have now?"},
    {{"marbles", "stickers", "cards", "stamps"},
     "{N} has {A} {O}.",
     {"{F} gives {N} {A} more {O}.", "{N} trades away {A} {O}.",
      "{N} buys {A} packs of {O} with {B} {O} in each pack.", "{N} gives {A} friends {B} {O} each.",
      "{N} shares the {O} equally among {A} people, {N} included, and keeps one share.",
      "{N}'s collection grows to {A} times its size."},
     "How many {O} does {N} have now?"},
    {{"dollars", NULL},
     "{N} has {A} {O} in a piggy bank.",
     {"{N} earns {A} {O} walking dogs.", "{N} spends {A} {O} on a book.",
      "{N} mows {A} lawns and earns {B} {O} for each.",
      "{N} buys {A} tickets that cost {B} {O} each.",
      "{N} divides the money equally into {A} envelopes and keeps one envelope.",
      "{F} matches the savings, so {N} has {A} times as much."},
     "How many {O} does {N} have now?"},
    {{"eggs", NULL},
     "{N}'s hens lay {A} {O} on Monday.",
     {"Then the hens lay {A} more {O}.", "{N} uses {A} {O} to make breakfast.",
      "{N} finds {A} more nests with {B} {O} in each.", "{N} sells {A} cartons of {B} {O}.",
      "{N} puts the {O} equally into {A} baskets and gives {F} all baskets but one.", NULL},
     "How many {O} does {N} have now?"},
    {{"pencils", "crayons", "erasers", "markers"},
     "A classroom has {A} {O}.",
     {"{N} brings {A} more {O} to class.", "{A} {O} get lost during the week.",
      "The school sends {A} boxes of {O} with {B} {O} in each box.",
      "{A} students each take {B} {O} home.", NULL, NULL},
     "How many {O} does the classroom have now?"},
    {{"passengers", NULL},
     "{N} drives a bus that leaves the station with {A} {O}.",
     {"At a stop {A} people get on.", "At another stop {A} people get off.",
      "{A} groups of {B} tourists get on.", "{A} families of {B} get off.", NULL, NULL},
     "How many {O} are on the bus now?"},
    {{"fish", NULL},
     "{N}'s aquarium has {A} {O}.",
     {"{N} adds {A} more {O}.", "{N} moves {A} {O} to a pond.",
      "{N} buys {A} bags with {B} {O} in each bag.", "{N} gives {A} neighbours {B} {O} each.",
      "{N} splits the {O} equally among {A} tanks and gives away all tanks but one.",
      "After the {O} breed, there are {A} times as many."},
     "How many {O} does {N} have now?"},
    {{"points", NULL},
     "{N} scores {A} {O} in the first round of a game.",
     {"In another round {N} scores {A} more {O}.", "{N} loses {A} {O} for a penalty.",
      "{N} wins {A} bonus rounds worth {B} {O} each.",
      "{N} misses {A} questions and loses {B} {O} for each.", NULL,
      "A power-up multiplies {N}'s {O} by {A}."},
     "How many {O} does {N} have now?"},
    {{"tulips", "roses", "daisies", "sunflowers"},
     "{N} plants {A} {O} in the garden.",
     {"Then {N} plants {A} more {O}.", "Rabbits eat {A} of the {O}.",
      "{N} plants {A} more rows with {B} {O} in each row.",
      "{N} cuts {A} bunches of {B} {O} for friends.", NULL, NULL},
     "How many {O} are in the garden now?"},
    {{"t-shirts", "hats", "scarves", "mugs"},
     "A shop has {A} {O} in stock.",
     {"A delivery brings {A} more {O}.", "The shop sells {A} {O} in the morning.",
      "{N} orders {A} crates of {O} with {B} in each crate.", "{A} customers buy {B} {O} each.",
      "{N} splits the {O} equally among {A} branches and keeps one share in this shop.", NULL},
     "How many {O} does the shop have now?"},
};
#define N_SCENARIOS (sizeof scenarios / sizeof scenarios[0])

static const char *names[] = {"Mia",  "Liam",  "Ava",  "Noah", "Emma",  "Omar", "Zoe",
                              "Ravi", "Lena",  "Kofi", "Sara", "Yuki",  "Ben",  "Ines",
                              "Tom",  "Priya", "Leo",  "Nora", "Diego", "Hana"};
#define N_NAMES (sizeof names / sizeof names[0])

typedef struct {
    const char *name, *friend_name, *object;
    int64_t a, b;
} fill_vars;

// Appends a template sentence with its placeholders filled in.
static lt_status fill(lt_bytes *out, const char *tpl, const fill_vars *v) {
    for (const char *c = tpl; *c; c++) {
        if (c[0] == '{' && c[1] && c[2] == '}') {
            switch (c[1]) {
            case 'N': LT_TRY(lt_tasks_printf(out, "%s", v->name)); break;
            case 'F': LT_TRY(lt_tasks_printf(out, "%s", v->friend_name)); break;
            case 'O': LT_TRY(lt_tasks_printf(out, "%s", v->object)); break;
            case 'A': LT_TRY(lt_tasks_printf(out, "%lld", (long long)v->a)); break;
            case 'B': LT_TRY(lt_tasks_printf(out, "%lld", (long long)v->b)); break;
            default: return lt_error(LT_ERR_INTERNAL, "word template '%s': bad placeholder", tpl);
            }
            c += 2;
            continue;
        }
        LT_TRY(lt_bytes_append(out, c, 1));
    }
    return NULL;
}

// Number ranges per level (index level - 1).
static const int n_events[] = {2, 3, 4, 4};
static const int64_t start_max[] = {20, 50, 99, 200};
static const int64_t step_max[] = {9, 20, 40, 80};
static const int64_t groups_max[] = {3, 5, 9, 12};
static const int64_t size_max[] = {5, 10, 12, 25};
static const int64_t times_limit[] = {50, 100, 200, 300};

// Draws the numbers of one event on quantity x; false when it cannot happen now.
static bool draw_event(lt_rng *rng, event_kind kind, int lv, int64_t x, int64_t *a, int64_t *b) {
    switch (kind) {
    case EV_GAIN: *a = lt_tasks_draw(rng, 2, step_max[lv]); return true;
    case EV_LOSE:
        if (x < 3) return false; // at least 2 go, at least 1 stays
        *a = lt_tasks_draw(rng, 2, x - 1 < step_max[lv] ? x - 1 : step_max[lv]);
        return true;
    case EV_GROUPS:
        *a = lt_tasks_draw(rng, 2, groups_max[lv]);
        *b = lt_tasks_draw(rng, 2, size_max[lv]);
        return true;
    case EV_LOSE_GROUPS:
        for (int tries = 0; tries < 8; tries++) {
            *a = lt_tasks_draw(rng, 2, groups_max[lv]);
            *b = lt_tasks_draw(rng, 2, size_max[lv]);
            if (*a * *b < x) return true;
        }
        return false;
    case EV_SHARE: {
        int64_t divisors[8];
        int n = 0;
        for (int64_t d = 2; d <= 9; d++)
            if (x % d == 0 && x / d >= 2) divisors[n++] = d;
        if (n == 0) return false;
        *a = divisors[lt_rng_below(rng, (uint32_t)n)];
        return true;
    }
    case EV_TIMES:
        if (x > times_limit[lv]) return false;
        *a = lt_tasks_draw(rng, 2, 3);
        return true;
    default: return false;
    }
}

// One working line for an event, appended to thinking and key; returns the new quantity.
static lt_status work_event(lt_bytes *thinking, lt_bytes *key, event_kind kind, int64_t x,
                            int64_t a, int64_t b, int64_t *x_out) {
    long long X = x, A = a, B = b;
    switch (kind) {
    case EV_GAIN:
        *x_out = x + a;
        LT_TRY(lt_tasks_printf(thinking, "%lld+%lld=%lld", X, A, X + A));
        break;
    case EV_LOSE:
        *x_out = x - a;
        LT_TRY(lt_tasks_printf(thinking, "%lld-%lld=%lld", X, A, X - A));
        break;
    case EV_GROUPS:
        *x_out = x + a * b;
        LT_TRY(lt_tasks_printf(thinking, "%lld*%lld=%lld, %lld+%lld=%lld", A, B, A * B, X, A * B,
                               X + A * B));
        break;
    case EV_LOSE_GROUPS:
        *x_out = x - a * b;
        LT_TRY(lt_tasks_printf(thinking, "%lld*%lld=%lld, %lld-%lld=%lld", A, B, A * B, X, A * B,
                               X - A * B));
        break;
    case EV_SHARE:
        *x_out = x / a;
        LT_TRY(lt_tasks_printf(thinking, "%lld/%lld=%lld", X, A, X / A));
        break;
    case EV_TIMES:
        *x_out = x * a;
        LT_TRY(lt_tasks_printf(thinking, "%lld*%lld=%lld", X, A, X * A));
        break;
    default: return lt_error(LT_ERR_INTERNAL, "word problem: unknown event %d", (int)kind);
    }
    static const char *ops[] = {"+%lld", "-%lld", "+%lld*%lld", "-%lld*%lld", "/%lld", "*%lld"};
    LT_TRY(lt_tasks_printf(key, " "));
    return lt_tasks_printf(key, ops[kind], A, B);
}

static lt_status build_word(lt_task_problem *p, int level, lt_rng *rng, lt_bytes *prompt,
                            lt_bytes *thinking, lt_bytes *key, lt_bytes *answer) {
    int lv = level - 1;
    const scenario *sc = &scenarios[lt_rng_below(rng, N_SCENARIOS)];
    int n_objects = 0;
    while (n_objects < 4 && sc->objects[n_objects]) n_objects++;
    uint32_t who = lt_rng_below(rng, N_NAMES);
    fill_vars v = {.name = names[who],
                   .friend_name = names[(who + 1 + lt_rng_below(rng, N_NAMES - 1)) % N_NAMES],
                   .object = sc->objects[lt_rng_below(rng, (uint32_t)n_objects)],
                   .a = lt_tasks_draw(rng, 5, start_max[lv])};
    int64_t x = v.a;
    LT_TRY(fill(prompt, sc->start, &v));
    LT_TRY(lt_tasks_printf(thinking, "start: %lld %s\n", (long long)x, v.object));
    LT_TRY(lt_tasks_printf(key, "word %lld", (long long)x));
    event_kind prev = EV_COUNT;
    for (int e = 0; e < n_events[lv]; e++) {
        event_kind kind = EV_GAIN;
        v.b = 0;
        for (int tries = 0; tries < 20; tries++) {
            event_kind k = (event_kind)lt_rng_below(rng, EV_COUNT);
            if (k != prev && sc->events[k] && draw_event(rng, k, lv, x, &v.a, &v.b)) {
                kind = k;
                break;
            }
            if (tries == 19) draw_event(rng, EV_GAIN, lv, x, &v.a, &v.b);
        }
        LT_TRY(lt_tasks_printf(prompt, " "));
        LT_TRY(fill(prompt, sc->events[kind], &v));
        LT_TRY(work_event(thinking, key, kind, x, v.a, v.b, &x));
        prev = kind;
        if (e + 1 < n_events[lv]) LT_TRY(lt_tasks_printf(thinking, "\n"));
    }
    LT_TRY(lt_tasks_printf(prompt, " "));
    LT_TRY(fill(prompt, sc->question, &v));
    LT_TRY(lt_tasks_printf(answer, "%lld", (long long)x));
    return lt_tasks_finish(p, prompt, answer, thinking, key);
}

// Level 1: 2 events, numbers up to 20; 2: 3 events, up to 50; 3: 4 events, up
// to 99; 4: 4 events, up to 200 with larger groups.
lt_status lt_tasks_gen_word(lt_task_problem *p, int level, lt_rng *rng) {
    lt_bytes prompt = {0}, thinking = {0}, key = {0}, answer = {0};
    lt_status st = build_word(p, level, rng, &prompt, &thinking, &key, &answer);
    lt_bytes_free(&prompt);
    lt_bytes_free(&thinking);
    lt_bytes_free(&key);
    lt_bytes_free(&answer);
    return st;
}
