// logic.c: the second symbolic task — evaluate a boolean expression of
// true/false with and, or, not. The working reduces the leftmost innermost
// operation one at a time ("true and false = false") and rewrites the rest
// ("now: not false or true"), so every line is one small lookup.
#include <string.h>

#include "tasks/tasks_internal.h"

#define LOGIC_MAX_NODES 16

typedef enum { NODE_LITERAL, NODE_AND, NODE_OR } node_kind;

typedef struct {
    node_kind kind;
    bool value;   // literals
    bool negated; // "not" in front
    int left, right;
} logic_node;

typedef struct {
    logic_node nodes[LOGIC_MAX_NODES];
    int n;
} logic_tree;

// A random tree with `leaves` literals; returns the root's index.
static int build(logic_tree *t, lt_rng *rng, int leaves, double p_not) {
    int at = t->n++;
    logic_node *nd = &t->nodes[at];
    nd->negated = lt_rng_uniform(rng) < p_not;
    if (leaves == 1) {
        nd->kind = NODE_LITERAL;
        nd->value = lt_rng_below(rng, 2);
        return at;
    }
    nd->kind = lt_rng_below(rng, 2) ? NODE_AND : NODE_OR;
    int split = (int)lt_tasks_draw(rng, 1, leaves - 1);
    int left = build(t, rng, split, p_not);
    int right = build(t, rng, leaves - split, p_not);
    t->nodes[at].left = left;
    t->nodes[at].right = right;
    return at;
}

// Writes a node; operands that are themselves and/or go in parentheses, so
// no reader needs to know whether "and" binds tighter than "or".
static lt_status render(lt_bytes *out, const logic_tree *t, int at, bool top) {
    const logic_node *nd = &t->nodes[at];
    if (nd->negated) LT_TRY(lt_tasks_printf(out, "not "));
    if (nd->kind == NODE_LITERAL) return lt_tasks_printf(out, "%s", nd->value ? "true" : "false");
    bool parens = nd->negated || !top;
    if (parens) LT_TRY(lt_tasks_printf(out, "("));
    LT_TRY(render(out, t, nd->left, false));
    LT_TRY(lt_tasks_printf(out, nd->kind == NODE_AND ? " and " : " or "));
    LT_TRY(render(out, t, nd->right, false));
    return parens ? lt_tasks_printf(out, ")") : NULL;
}

static const char *word(bool v) { return v ? "true" : "false"; }

// The leftmost innermost reducible node (a negated literal, or an and/or of
// two plain literals), or -1 when the tree is one plain literal.
static int reducible(const logic_tree *t, int at) {
    const logic_node *nd = &t->nodes[at];
    if (nd->kind != NODE_LITERAL) {
        int found = reducible(t, nd->left);
        if (found < 0) found = reducible(t, nd->right);
        if (found >= 0) return found;
        const logic_node *l = &t->nodes[nd->left], *r = &t->nodes[nd->right];
        if (l->kind == NODE_LITERAL && !l->negated && r->kind == NODE_LITERAL && !r->negated)
            return at;
        return -1;
    }
    return nd->negated ? at : -1;
}

// One reduction: its line, and the node becomes a literal (keeping its own "not"
// when an and/or is reduced, which the next step then takes).
static lt_status reduce(lt_bytes *out, logic_tree *t, int at) {
    logic_node *nd = &t->nodes[at];
    if (nd->kind == NODE_LITERAL) {
        LT_TRY(lt_tasks_printf(out, "not %s = %s", word(nd->value), word(!nd->value)));
        nd->value = !nd->value;
        nd->negated = false;
        return NULL;
    }
    bool a = t->nodes[nd->left].value, b = t->nodes[nd->right].value;
    bool v = nd->kind == NODE_AND ? (a && b) : (a || b);
    LT_TRY(lt_tasks_printf(out, "%s %s %s = %s", word(a), nd->kind == NODE_AND ? "and" : "or",
                           word(b), word(v)));
    nd->kind = NODE_LITERAL;
    nd->value = v;
    return NULL;
}

static const char *logic_phrasings[] = {
    "Evaluate the boolean expression: %s",
    "Is this true or false? %s",
    "What is the value of %s?",
    "Compute the truth value of: %s",
    "Simplify to true or false: %s",
};

// Level L: L+2 literals (level 1 has 2,048 distinct expressions), "not" on
// each node with probability 0.3.
lt_status lt_tasks_gen_bool(lt_task_problem *p, int level, lt_rng *rng) {
    logic_tree t = {.n = 0};
    int root = build(&t, rng, level + 2, 0.3);
    const char *pattern = logic_phrasings[lt_rng_below(rng, 5)];
    lt_bytes expr = {0}, prompt = {0}, answer = {0}, thinking = {0}, key = {0};
    lt_status st = render(&expr, &t, root, true);
    if (!st) st = lt_tasks_printf(&prompt, pattern, expr.data);
    if (!st) st = lt_tasks_printf(&key, "bool %s", expr.data);
    for (int at = reducible(&t, root); !st && at >= 0; at = reducible(&t, root)) {
        st = reduce(&thinking, &t, at);
        if (!st && reducible(&t, root) >= 0) {
            st = lt_tasks_printf(&thinking, "\nnow: ");
            if (!st) st = render(&thinking, &t, root, true);
            if (!st) st = lt_tasks_printf(&thinking, "\n");
        }
    }
    if (!st && thinking.n == 0) // a lone literal: nothing to work
        st = lt_tasks_printf(&thinking, "%s", word(t.nodes[root].value));
    if (!st) st = lt_tasks_printf(&answer, "%s", word(t.nodes[root].value));
    if (!st) st = lt_tasks_finish(p, &prompt, &answer, &thinking, &key);
    lt_bytes_free(&expr);
    lt_bytes_free(&prompt);
    lt_bytes_free(&answer);
    lt_bytes_free(&thinking);
    lt_bytes_free(&key);
    return st;
}
