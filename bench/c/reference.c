// dynamic-subset, the per-request logic hand-written in C: the compiled-language reference for the benchmark
// (docs/performance.md). Same ABI exports, same host calls per request as the AssemblyScript filter
// (docs/behaviour.md).
//
// Not a product: the JSON reader understands the benchmark's configurations (objects, arrays, strings with
// simple escapes, true/false/null; numbers skipped) and validates only what it needs to build its tables.
// No libc: a chunked bump allocator. Host-returned data and per-request work go to a scratch arena that is
// reset when no stream is live; configuration tables go to a permanent arena (a reconfiguration leaks the old
// tables, which is fine for a benchmark that configures once).
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define IMPORT(name) __attribute__((import_module("env"), import_name(#name)))
#define EXPORT(name) __attribute__((export_name(#name)))

IMPORT(proxy_log) u32 proxy_log(u32 level, const u8 *msg, u32 size);
IMPORT(proxy_get_log_level) u32 proxy_get_log_level(u32 *level);
IMPORT(proxy_get_buffer_bytes) u32 proxy_get_buffer_bytes(u32 type, u32 start, u32 max, u8 **ptr, u32 *size);
IMPORT(proxy_get_header_map_value) u32 proxy_get_header_map_value(u32 map, const u8 *key, u32 key_size, u8 **ptr,
                                                                 u32 *size);
IMPORT(proxy_add_header_map_value) u32 proxy_add_header_map_value(u32 map, const u8 *key, u32 key_size,
                                                                 const u8 *val, u32 val_size);
IMPORT(proxy_replace_header_map_value) u32 proxy_replace_header_map_value(u32 map, const u8 *key, u32 key_size,
                                                                         const u8 *val, u32 val_size);
IMPORT(proxy_remove_header_map_value) u32 proxy_remove_header_map_value(u32 map, const u8 *key, u32 key_size);
IMPORT(proxy_get_property) u32 proxy_get_property(const u8 *path, u32 path_size, u8 **ptr, u32 *size);
IMPORT(proxy_set_property) u32 proxy_set_property(const u8 *path, u32 path_size, const u8 *val, u32 val_size);
IMPORT(proxy_send_local_response) u32 proxy_send_local_response(u32 status, const u8 *details, u32 details_size,
                                                               const u8 *body, u32 body_size, const u8 *headers,
                                                               u32 headers_size, int32_t grpc_status);
IMPORT(proxy_define_metric) u32 proxy_define_metric(u32 type, const u8 *name, u32 name_size, u32 *id);
IMPORT(proxy_increment_metric) u32 proxy_increment_metric(u32 id, int64_t delta);
IMPORT(proxy_call_foreign_function) u32 proxy_call_foreign_function(const u8 *name, u32 name_size, const u8 *args,
                                                                   u32 args_size, u8 **ptr, u32 *size);

enum { MAP_REQUEST = 0, MAP_RESPONSE = 2, BUFFER_PLUGIN_CONFIG = 7, LOG_INFO = 2, LOG_ERROR = 4 };
enum { MAX_KEYS = 64, MAX_ROUTE_HEADERS = 256, MAX_VALUE = 8192, MAX_DEPTH = 32 };

// ---------------------------------------------------------------- memory

void *memcpy(void *d, const void *s, size_t n) { __builtin_memcpy(d, s, n); return d; }
void *memset(void *d, int c, size_t n) { __builtin_memset(d, c, n); return d; }
size_t strlen(const char *s) {
  size_t n = 0;
  while (s[n]) n++;
  return n;
}
int memcmp(const void *a, const void *b, size_t n) {
  const u8 *x = a, *y = b;
  for (size_t i = 0; i < n; i++)
    if (x[i] != y[i]) return x[i] - y[i];
  return 0;
}

extern u8 __heap_base;
static u32 page_top; // first byte not yet handed to an arena

typedef struct Chunk { struct Chunk *next; u32 size; } Chunk;
typedef struct { Chunk *first, *cur; u32 used; } Arena;
static Arena scratch, perm;

static Chunk *new_chunk(u32 need) {
  if (!page_top) page_top = ((u32)&__heap_base + 15) & ~15u;
  u32 size = need + sizeof(Chunk) > 65536 ? (need + sizeof(Chunk) + 65535) & ~65535u : 65536;
  u32 end = page_top + size, have = __builtin_wasm_memory_size(0) * 65536u;
  if (end > have && __builtin_wasm_memory_grow(0, (end - have + 65535) / 65536) == (size_t)-1) return 0;
  Chunk *c = (Chunk *)page_top;
  page_top = end;
  c->next = 0;
  c->size = size - sizeof(Chunk);
  return c;
}

static void *arena_alloc(Arena *a, u32 n) {
  n = (n + 7) & ~7u;
  if (a->cur && a->used + n <= a->cur->size) {
    void *p = (u8 *)(a->cur + 1) + a->used;
    a->used += n;
    return p;
  }
  // reuse the following chunks of a reset arena before taking new pages
  Chunk *c = a->cur ? a->cur->next : a->first;
  while (c && c->size < n) c = c->next;
  if (!c) {
    c = new_chunk(n);
    if (!c) return 0;
    if (a->cur) { c->next = a->cur->next; a->cur->next = c; } else a->first = c;
  }
  a->cur = c;
  a->used = n;
  return c + 1;
}

static void arena_reset(Arena *a) { a->cur = a->first; a->used = 0; }

EXPORT(malloc) void *guest_malloc(u32 size) { return arena_alloc(&scratch, size ? size : 1); }
EXPORT(proxy_on_memory_allocate) void *proxy_on_memory_allocate(u32 size) { return guest_malloc(size); }
EXPORT(proxy_abi_version_0_2_1) void proxy_abi_version_0_2_1(void) {}
EXPORT(_initialize) void _initialize(void) {}

// ---------------------------------------------------------------- strings

typedef struct { const u8 *p; u32 n; } str;
#define LIT(s) ((str){(const u8 *)(s), sizeof(s) - 1})

static bool str_eq(str a, str b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }
static int str_cmp(str a, str b) {
  u32 n = a.n < b.n ? a.n : b.n;
  int c = memcmp(a.p, b.p, n);
  return c ? c : (int)a.n - (int)b.n;
}

// A growable byte buffer in the scratch arena (doubling; the old block is abandoned to the arena).
typedef struct { u8 *p; u32 n, cap; Arena *a; } Buf;
static void buf_put(Buf *b, const u8 *s, u32 n) {
  if (b->n + n > b->cap) {
    u32 cap = (b->n + n) * 2 + 32;
    u8 *p = arena_alloc(b->a, cap);
    if (b->n) memcpy(p, b->p, b->n);
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}
static void buf_str(Buf *b, str s) { buf_put(b, s.p, s.n); }
static void buf_byte(Buf *b, u8 c) { buf_put(b, &c, 1); }
static str buf_done(Buf *b) { return (str){b->p, b->n}; }

static u32 fnv(str s, u32 h) {
  for (u32 i = 0; i < s.n; i++) h = (h ^ s.p[i]) * 16777619u;
  return h;
}

// Open-addressing map str -> int (values >= 0), built once in on_configure.
typedef struct { str *keys; int *vals; u32 mask; } Map;
static void map_init(Map *m, u32 count) {
  u32 cap = 8;
  while (cap < count * 2) cap <<= 1;
  m->keys = arena_alloc(&perm, cap * sizeof(str));
  m->vals = arena_alloc(&perm, cap * sizeof(int));
  memset(m->keys, 0, cap * sizeof(str));
  m->mask = cap - 1;
}
static int map_get(const Map *m, str k) {
  if (!m->keys) return -1;
  for (u32 i = fnv(k, 2166136261u) & m->mask;; i = (i + 1) & m->mask) {
    if (!m->keys[i].p) return -1;
    if (str_eq(m->keys[i], k)) return m->vals[i];
  }
}
static void map_put(Map *m, str k, int v) { // first entry wins
  for (u32 i = fnv(k, 2166136261u) & m->mask;; i = (i + 1) & m->mask) {
    if (!m->keys[i].p) { m->keys[i] = k; m->vals[i] = v; return; }
    if (str_eq(m->keys[i], k)) return;
  }
}

// ---------------------------------------------------------------- JSON (minimal reader)

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct J { u8 type; str s; str key; struct J *first, *next; u32 count; } J;
typedef struct { const u8 *p, *end; } Parser;

static void skip_ws(Parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t')) ps->p++;
}

static bool parse_string(Parser *ps, str *out) {
  if (ps->p >= ps->end || *ps->p != '"') return false;
  ps->p++;
  Buf b = {0, 0, 0, &perm};
  while (ps->p < ps->end && *ps->p != '"') {
    u8 c = *ps->p++;
    if (c == '\\') {
      if (ps->p >= ps->end) return false;
      c = *ps->p++;
      switch (c) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case 'b': c = '\b'; break;
        case 'f': c = '\f'; break;
        case 'u': return false; // not needed by the benchmark's configurations
        default: break;          // \" \\ \/
      }
    }
    buf_byte(&b, c);
  }
  if (ps->p >= ps->end) return false;
  ps->p++;
  *out = b.n ? buf_done(&b) : (str){(const u8 *)"", 0};
  return true;
}

static J *parse_value(Parser *ps, int depth) {
  skip_ws(ps);
  if (ps->p >= ps->end || depth > MAX_DEPTH) return 0;
  J *j = arena_alloc(&scratch, sizeof(J));
  memset(j, 0, sizeof(J));
  u8 c = *ps->p;
  if (c == '{' || c == '[') {
    j->type = c == '{' ? J_OBJ : J_ARR;
    ps->p++;
    J **tail = &j->first;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == (c == '{' ? '}' : ']')) { ps->p++; return j; }
    for (;;) {
      str key = {0, 0};
      if (c == '{') {
        skip_ws(ps);
        if (!parse_string(ps, &key)) return 0;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p++ != ':') return 0;
      }
      J *v = parse_value(ps, depth + 1);
      if (!v) return 0;
      v->key = key;
      *tail = v;
      tail = &v->next;
      j->count++;
      skip_ws(ps);
      if (ps->p >= ps->end) return 0;
      u8 d = *ps->p++;
      if (d == ',') continue;
      if (d == (c == '{' ? '}' : ']')) return j;
      return 0;
    }
  }
  if (c == '"') { j->type = J_STR; return parse_string(ps, &j->s) ? j : 0; }
  static const struct { const char *word; u8 len, type; } words[] = {{"true", 4, J_TRUE}, {"false", 5, J_FALSE},
                                                                     {"null", 4, J_NULL}};
  for (int i = 0; i < 3; i++)
    if (ps->end - ps->p >= words[i].len && memcmp(ps->p, words[i].word, words[i].len) == 0) {
      ps->p += words[i].len;
      j->type = words[i].type;
      return j;
    }
  if (c == '-' || (c >= '0' && c <= '9')) {
    while (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+' || *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' ||
                               (*ps->p >= '0' && *ps->p <= '9')))
      ps->p++;
    j->type = J_NUM;
    return j;
  }
  return 0;
}

static J *member(const J *obj, const char *name) {
  if (!obj || obj->type != J_OBJ) return 0;
  str k = {(const u8 *)name, (u32)strlen(name)};
  for (J *m = obj->first; m; m = m->next)
    if (str_eq(m->key, k)) return m;
  return 0;
}
static bool get_str(const J *obj, const char *name, str *out) {
  J *m = member(obj, name);
  if (!m || m->type != J_STR || !m->s.n) return false;
  *out = m->s;
  return true;
}

// ------------------------------------------------ value checks (docs/behaviour.md "Routing decision", step 2)

static bool is_alnum(u8 c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static bool valid_label_value(str v) {
  if (v.n == 0 || v.n > 63 || !is_alnum(v.p[0]) || !is_alnum(v.p[v.n - 1])) return false;
  for (u32 i = 1; i + 1 < v.n; i++) {
    u8 c = v.p[i];
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

static bool valid_ipv4(const u8 *p, u32 n) {
  u32 parts = 0, i = 0;
  while (i < n) {
    u32 start = i, v = 0;
    while (i < n && p[i] >= '0' && p[i] <= '9' && i - start < 3) v = v * 10 + (p[i++] - '0');
    if (i == start || v > 255 || (i - start > 1 && p[start] == '0')) return false;
    if (++parts == 4) return i == n;
    if (i >= n || p[i++] != '.') return false;
  }
  return false;
}

static bool is_hex(u8 c) { return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'f'); }

static bool valid_ipv6(const u8 *p, u32 n) {
  u32 groups = 0, i = 0;
  bool gap = false;
  if (n >= 2 && p[0] == ':' && p[1] == ':') { gap = true; i = 2; if (n == 2) return true; }
  else if (n && p[0] == ':') return false;
  while (i < n) {
    u32 start = i;
    while (i < n && is_hex(p[i]) && i - start < 4) i++;
    if (i < n && p[i] == '.') { // embedded IPv4 as the last two groups
      if (!valid_ipv4(p + start, n - start)) return false;
      groups += 2;
      break;
    }
    if (i == start) return false;
    groups++;
    if (i == n) break;
    if (p[i] != ':') return false;
    i++;
    if (i < n && p[i] == ':') {
      if (gap) return false;
      gap = true;
      i++;
      if (i == n) break;
    } else if (i == n) return false;
  }
  return gap ? groups < 8 : groups == 8;
}

static bool valid_ip(str v) { return valid_ipv4(v.p, v.n) || valid_ipv6(v.p, v.n); }

// ---------------------------------------------------------------- key sources (docs/configuration.md)

static bool is_ows(u8 c) { return c == ' ' || c == '\t'; }
static bool is_tchar(u8 c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~': return true;
  }
  return false;
}
static bool is_baggage_octet(u8 c) { return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\'; }
static u32 skip_ows(const u8 *p, u32 i, u32 end) { while (i < end && is_ows(p[i])) i++; return i; }
static u32 trim_end(const u8 *p, u32 start, u32 end) { while (end > start && is_ows(p[end - 1])) end--; return end; }
static u32 find_byte(const u8 *p, u32 i, u32 end, u8 c) { while (i < end && p[i] != c) i++; return i; }
static bool span_eq(const u8 *p, u32 start, u32 end, str name) {
  return end - start == name.n && memcmp(p + start, name.p, name.n) == 0;
}

static int hex_value(u8 c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 32;
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
/** The byte of a valid "%XX" at i (before end), or -1. */
static int escaped(const u8 *p, u32 i, u32 end) {
  if (i + 2 >= end || p[i] != '%') return -1;
  int hi = hex_value(p[i + 1]), lo = hex_value(p[i + 2]);
  return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}
/** Decodes p[*i] onward by one byte: %XX, '+' as space when plus, else the byte itself. */
static u8 decode_next(const u8 *p, u32 *i, u32 end, bool plus) {
  int e = escaped(p, *i, end);
  if (e >= 0) { *i += 3; return (u8)e; }
  u8 c = p[(*i)++];
  return plus && c == '+' ? ' ' : c;
}
/** The decoded length of v in out (cap bytes), or -1 when longer. */
static int percent_decode(str v, bool plus, u8 *out, u32 cap) {
  u32 i = 0, n = 0;
  while (i < v.n) {
    if (n == cap) return -1;
    out[n++] = decode_next(v.p, &i, v.n, plus);
  }
  return (int)n;
}

/** RFC 6265 Cookie header: the first cookie named `name`, whitespace trimmed, one pair of quotes removed. */
static bool find_cookie(str h, str name, str *out) {
  for (u32 start = 0; start < h.n;) {
    u32 end = find_byte(h.p, start, h.n, ';');
    u32 ns = skip_ows(h.p, start, end), eq = find_byte(h.p, ns, end, '=');
    if (eq < end && span_eq(h.p, ns, trim_end(h.p, ns, eq), name)) {
      u32 vs = skip_ows(h.p, eq + 1, end), ve = trim_end(h.p, vs, end);
      if (ve - vs >= 2 && h.p[vs] == '"' && h.p[ve - 1] == '"') { vs++; ve--; }
      *out = (str){h.p + vs, ve - vs};
      return true;
    }
    start = end + 1;
  }
  return false;
}

/** The query of :path (after '?', before '#'): the raw value of the first parameter whose decoded name is `name`. */
static bool find_query(str path, str name, str *out) {
  u32 qend = find_byte(path.p, 0, path.n, '#');
  for (u32 start = find_byte(path.p, 0, qend, '?') + 1; start < qend;) {
    u32 end = find_byte(path.p, start, qend, '&'), eq = find_byte(path.p, start, end, '=');
    u32 i = start, k = 0;
    while (i < eq && k < name.n && decode_next(path.p, &i, eq, true) == name.p[k]) k++;
    if (i == eq && k == name.n) {
      u32 vs = eq + 1 < end ? eq + 1 : end;
      *out = (str){path.p + vs, end - vs};
      return true;
    }
    start = end + 1;
  }
  return false;
}

/** W3C baggage: the raw value of the last member `key`; false when absent, malformed or beyond 64 / 8192. */
static bool find_baggage(str h, str key, str *out) {
  if (h.n > 8192) return false;
  bool found = false;
  u32 members = 0, i = 0;
  for (;;) {
    i = skip_ows(h.p, i, h.n);
    u32 ks = i;
    while (i < h.n && is_tchar(h.p[i])) i++;
    u32 ke = i;
    i = skip_ows(h.p, i, h.n);
    if (ke == ks || i >= h.n || h.p[i] != '=') return false;
    u32 vs = skip_ows(h.p, i + 1, h.n), ve = vs;
    while (ve < h.n && is_baggage_octet(h.p[ve])) ve++;
    i = skip_ows(h.p, ve, h.n);
    while (i < h.n && h.p[i] == ';') { // properties: checked, ignored
      i = skip_ows(h.p, i + 1, h.n);
      u32 ps = i;
      while (i < h.n && is_tchar(h.p[i])) i++;
      if (i == ps) return false;
      i = skip_ows(h.p, i, h.n);
      if (i < h.n && h.p[i] == '=') {
        i = skip_ows(h.p, i + 1, h.n);
        while (i < h.n && is_baggage_octet(h.p[i])) i++;
        i = skip_ows(h.p, i, h.n);
      }
    }
    if (++members > 64) return false;
    if (span_eq(h.p, ks, ke, key)) { *out = (str){h.p + vs, ve - vs}; found = true; }
    if (i == h.n) return found;
    if (h.p[i] != ',') return false;
    i++;
  }
}

// ---------------------------------------------------------------- configuration tables

enum { FB_UNSET, FB_NO, FB_ANY, FB_DEFAULT };
enum { OUT_SUBSET, OUT_ANY, OUT_DEFAULT, OUT_NO, OUT_NO_SELECTOR, OUT_UNMATCHABLE, OUT_COUNT };
static const char *const OUTCOME_METRICS[] = {
    "dynamic_subset_outcome=.=subset;.;dynamic_subset_outcomes_total",
    "dynamic_subset_outcome=.=fallback_any;.;dynamic_subset_outcomes_total",
    "dynamic_subset_outcome=.=fallback_default;.;dynamic_subset_outcomes_total",
    "dynamic_subset_outcome=.=no_fallback;.;dynamic_subset_outcomes_total",
    "dynamic_subset_outcome=.=no_selector;.;dynamic_subset_outcomes_total",
    "dynamic_subset_outcome=.=unmatchable;.;dynamic_subset_outcomes_total"};

/** Where a catalog-mode request goes: one internal header to write. */
typedef struct { u32 strip; str value, decision; bool is_endpoint; } Target;
enum { SRC_HEADER, SRC_COOKIE, SRC_QUERY, SRC_BAGGAGE }; // where a mapping reads its value
typedef struct { u32 slot; int key; str def; bool has_def; u8 source; str name; } Mapping;
typedef struct { str *headers; u32 nheaders; Mapping *m; u32 n; } Route;
typedef struct {
  u64 mask;
  u32 nkeys;
  u8 keys[MAX_KEYS]; // ascending = byte order of the key names
  int policy;        // effective: the selector's own, else the service's
  Map tuples;        // catalog: values joined by NUL, in `keys` order -> targets[i]
  Target *targets;
} Selector;

typedef struct {
  u32 nkeys;
  str keys[MAX_KEYS]; // sorted by byte order, so decision strings come out sorted
  u32 key_strip[MAX_KEYS];
  int ip_key;
  Selector *sel;
  u32 nsel;
  int fallback;
  Route *routes;
  Map route_by_name;
  bool has_named;
  int any_route;
  Target *default_target; // catalog mode; 0: the catalog has no default subset
  str response_session;   // catalog mode with %ip%: removed from responses
} Service;

typedef struct {
  bool catalog, response_header, configured, debug, clear_route_cache_available;
  Service *services;
  u32 nservices;
  Map by_cluster, by_host;
  str *strip;
  u32 nstrip, strip_cap;
  u32 max_route_headers;
} Root;

typedef struct { bool defined; u32 requests, rejected, outcome[OUT_COUNT]; } Metrics;
static Metrics metrics; // per VM, like the filter's (every root updates the same counters)

static int fallback_of(str s) {
  if (str_eq(s, LIT("NO_FALLBACK"))) return FB_NO;
  if (str_eq(s, LIT("ANY_ENDPOINT"))) return FB_ANY;
  if (str_eq(s, LIT("DEFAULT_SUBSET"))) return FB_DEFAULT;
  return -1;
}

static str lower_copy(str s) {
  u8 *p = arena_alloc(&perm, s.n ? s.n : 1);
  for (u32 i = 0; i < s.n; i++) p[i] = s.p[i] >= 'A' && s.p[i] <= 'Z' ? s.p[i] + 32 : s.p[i];
  return (str){p, s.n};
}

static str concat(str a, str b) {
  Buf buf = {0, 0, 0, &perm};
  buf_str(&buf, a);
  buf_str(&buf, b);
  return buf_done(&buf);
}

static int key_index(const Service *s, str k) {
  for (u32 i = 0; i < s->nkeys; i++)
    if (str_eq(s->keys[i], k)) return i;
  return -1;
}

/** Collects a key (sorted insertion); false when a service uses too many keys. */
static bool add_key(Service *s, str k) {
  if (key_index(s, k) >= 0) return true;
  if (s->nkeys == MAX_KEYS) return false;
  u32 i = s->nkeys++;
  while (i > 0 && str_cmp(s->keys[i - 1], k) > 0) { s->keys[i] = s->keys[i - 1]; i--; }
  s->keys[i] = k;
  return true;
}

static str key_header(str prefix, str key) {
  static const char HEX[] = "0123456789abcdef";
  Buf b = {0, 0, 0, &perm};
  buf_str(&b, prefix);
  for (u32 i = 0; i < key.n; i++) {
    u8 c = key.p[i];
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-') buf_byte(&b, c);
    else { buf_byte(&b, '%'); buf_byte(&b, HEX[c >> 4]); buf_byte(&b, HEX[c & 15]); }
  }
  return buf_done(&b);
}

static str base64(str in) {
  static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Buf b = {0, 0, 0, &perm};
  for (u32 i = 0; i < in.n; i += 3) {
    u32 v = in.p[i] << 16 | (i + 1 < in.n ? in.p[i + 1] << 8 : 0) | (i + 2 < in.n ? in.p[i + 2] : 0);
    buf_byte(&b, T[v >> 18]);
    buf_byte(&b, T[(v >> 12) & 63]);
    buf_byte(&b, i + 1 < in.n ? T[(v >> 6) & 63] : '=');
    buf_byte(&b, i + 2 < in.n ? T[v & 63] : '=');
  }
  return buf_done(&b);
}

static u32 add_strip(Root *r, str h) {
  for (u32 i = 0; i < r->nstrip; i++)
    if (str_eq(r->strip[i], h)) return i;
  if (r->nstrip == r->strip_cap) {
    r->strip_cap = r->strip_cap * 2 + 8;
    str *grown = arena_alloc(&perm, r->strip_cap * sizeof(str));
    if (r->nstrip) memcpy(grown, r->strip, r->nstrip * sizeof(str));
    r->strip = grown;
  }
  r->strip[r->nstrip] = h;
  return r->nstrip++;
}

/** The IP of "ip:port" or "[ipv6]:port". */
static str address_ip(str address) {
  u32 colon = address.n;
  while (colon > 0 && address.p[colon - 1] != ':') colon--;
  if (colon < 2) return (str){address.p, 0};
  return address.p[0] == '[' ? (str){address.p + 1, colon - 3} : (str){address.p, colon - 1};
}

/** The value of label `key` in a labels object, or {0, 0}. */
static str label_of(const J *labels, str key) {
  for (J *l = labels ? labels->first : 0; l; l = l->next)
    if (str_eq(l->key, key) && l->type == J_STR) return l->s;
  return (str){0, 0};
}

static str decision_text(const Service *s, const Selector *sel, const str *values) {
  Buf b = {0, 0, 0, &perm};
  buf_str(&b, LIT("subset:"));
  for (u32 k = 0; k < sel->nkeys; k++) {
    if (k) buf_byte(&b, ',');
    buf_str(&b, s->keys[sel->keys[k]]);
    buf_byte(&b, '=');
    buf_str(&b, values[k]);
  }
  return buf_done(&b);
}

static str join_tuple(const str *values, u32 n, Arena *a) {
  Buf b = {0, 0, 0, a};
  for (u32 k = 0; k < n; k++) {
    if (k) buf_byte(&b, 0);
    buf_str(&b, values[k]);
  }
  return buf_done(&b);
}

static Target *new_target(Root *r, str header, str value, str decision, bool is_endpoint) {
  Target *t = arena_alloc(&perm, sizeof(Target));
  t->strip = add_strip(r, header);
  t->value = value;
  t->decision = decision;
  t->is_endpoint = is_endpoint;
  return t;
}

typedef struct { str token, session; const J *subsets, *endpoints; u32 nsubsets, nendpoints; } Catalog;

/** Fills the tuple -> target map of one selector: subsets with exactly its keys, or endpoints for %ip%. */
static void catalog_targets(Root *r, Service *s, Selector *sel, const Catalog *c, str prefix) {
  u32 cap = c->nsubsets + c->nendpoints;
  map_init(&sel->tuples, cap);
  sel->targets = arena_alloc(&perm, (cap + 1) * sizeof(Target));
  u32 n = 0;
  str values[MAX_KEYS];
  bool pins = s->ip_key >= 0 && (sel->mask >> s->ip_key & 1);
  for (const J *e = pins ? c->endpoints : c->subsets; e; e = e->next) {
    const J *labels = member(e, "labels");
    str address = {0, 0}, name = {0, 0};
    if (pins) get_str(e, "address", &address);
    else if (!get_str(e, "name", &name) || !labels || labels->count != sel->nkeys) continue;
    bool complete = true;
    for (u32 k = 0; k < sel->nkeys && complete; k++) {
      int key = sel->keys[k];
      values[k] = key == s->ip_key ? address_ip(address) : label_of(labels, s->keys[key]);
      complete = values[k].p != 0;
    }
    if (!complete) continue;
    str tuple = join_tuple(values, sel->nkeys, &perm);
    if (map_get(&sel->tuples, tuple) >= 0) continue; // the first entry for a tuple wins
    str decision = decision_text(s, sel, values);
    Target *t = pins ? new_target(r, c->session, base64(address), decision, true)
                     : new_target(r, concat(prefix, LIT("subset")), concat(concat(name, LIT(".")), c->token), decision,
                                  false);
    sel->targets[n] = *t;
    map_put(&sel->tuples, tuple, n++);
  }
}

/** The DEFAULT_SUBSET target: the subset whose labels equal defaultSubset (or the endpoint, for %ip%). */
static Target *default_target(Root *r, Service *s, const J *wanted, const Catalog *c, str prefix) {
  if (!wanted || wanted->type != J_OBJ) return 0;
  str decision = LIT("fallback:DEFAULT_SUBSET");
  str ip = label_of(wanted, LIT("%ip%"));
  for (const J *e = ip.p ? c->endpoints : c->subsets; e; e = e->next) {
    const J *labels = member(e, "labels");
    str address = {0, 0}, name = {0, 0};
    if (ip.p) {
      get_str(e, "address", &address);
      if (!str_eq(address_ip(address), ip)) continue;
    } else if (!get_str(e, "name", &name) || !labels || labels->count != wanted->count) continue;
    bool all = true;
    for (const J *w = wanted->first; w && all; w = w->next) {
      if (ip.p && str_eq(w->key, LIT("%ip%"))) continue;
      str v = label_of(labels, w->key);
      all = v.p && str_eq(v, w->s);
    }
    if (!all) continue;
    return ip.p ? new_target(r, c->session, base64(address), decision, true)
                : new_target(r, concat(prefix, LIT("subset")), concat(concat(name, LIT(".")), c->token), decision,
                             false);
  }
  (void)s;
  return 0;
}

static bool build_service(Root *r, Service *s, const J *js, str prefix) {
  const J *ds = member(js, "dynamicSubset");
  const J *sels = member(ds, "subsetSelectors");
  if (!sels || sels->type != J_ARR || !sels->count) return false;
  const J *routes = member(js, "routes"), *defsub = member(ds, "defaultSubset");
  str fb;
  s->fallback = get_str(ds, "fallbackPolicy", &fb) ? fallback_of(fb) : FB_NO;
  if (s->fallback < 0) return false;
  Catalog c = {0};
  const J *cat = r->catalog ? member(js, "catalog") : 0;
  if (r->catalog) {
    if (!cat || !get_str(cat, "routeToken", &c.token)) return false;
    const J *subsets = member(cat, "subsets"), *eps = member(cat, "endpoints");
    c.subsets = subsets ? subsets->first : 0;
    c.nsubsets = subsets ? subsets->count : 0;
    c.endpoints = eps ? eps->first : 0;
    c.nendpoints = eps ? eps->count : 0;
    c.session = get_str(cat, "sessionHeader", &c.session) ? lower_copy(c.session) : concat(prefix, LIT("host"));
    add_strip(r, c.session);
  }
  // keys: selectors, mappings, defaultSubset
  for (const J *sel = sels->first; sel; sel = sel->next) {
    const J *keys = member(sel, "keys");
    if (!keys || keys->type != J_ARR || !keys->count) return false;
    for (const J *k = keys->first; k; k = k->next)
      if (k->type != J_STR || !add_key(s, k->s)) return false;
  }
  for (const J *rt = routes ? routes->first : 0; rt; rt = rt->next) {
    const J *maps = member(rt, "headerToDynamicSubsetKey");
    for (const J *m = maps ? maps->first : 0; m; m = m->next) {
      str key;
      if (!get_str(m, "key", &key) || !add_key(s, key)) return false;
    }
  }
  for (const J *d = defsub ? defsub->first : 0; d; d = d->next)
    if (!add_key(s, d->key)) return false;
  s->ip_key = key_index(s, LIT("%ip%"));
  for (u32 i = 0; i < s->nkeys; i++) s->key_strip[i] = add_strip(r, key_header(prefix, s->keys[i]));
  // selectors
  s->nsel = sels->count;
  s->sel = arena_alloc(&perm, s->nsel * sizeof(Selector));
  bool pins = false;
  u32 i = 0;
  for (const J *sel = sels->first; sel; sel = sel->next, i++) {
    Selector *x = &s->sel[i];
    memset(x, 0, sizeof(*x));
    int own = get_str(sel, "fallbackPolicy", &fb) ? fallback_of(fb) : FB_UNSET;
    if (own < 0) return false;
    x->policy = own != FB_UNSET ? own : s->fallback;
    for (const J *k = member(sel, "keys")->first; k; k = k->next) x->mask |= 1ull << key_index(s, k->s);
    for (u32 b = 0; b < s->nkeys; b++)
      if (x->mask >> b & 1) x->keys[x->nkeys++] = b;
    pins |= s->ip_key >= 0 && (x->mask >> s->ip_key & 1);
    if (r->catalog) catalog_targets(r, s, x, &c, prefix);
  }
  // routes
  u32 nroutes = routes && routes->type == J_ARR ? routes->count : 0;
  s->routes = arena_alloc(&perm, (nroutes + 1) * sizeof(Route));
  map_init(&s->route_by_name, nroutes);
  s->any_route = -1;
  i = 0;
  for (const J *rt = routes ? routes->first : 0; rt; rt = rt->next, i++) {
    const J *maps = member(rt, "headerToDynamicSubsetKey");
    Route *x = &s->routes[i];
    u32 n = maps && maps->type == J_ARR ? maps->count : 0;
    if (n > MAX_ROUTE_HEADERS) return false; // the reference's fixed per-request buffer
    x->m = arena_alloc(&perm, (n + 1) * sizeof(Mapping));
    x->headers = arena_alloc(&perm, (n + 1) * sizeof(str));
    for (const J *m = maps ? maps->first : 0; m; m = m->next, x->n++) {
      str header, key, name = {0, 0};
      u8 source = SRC_HEADER;
      if (get_str(m, "header", &name)) header = lower_copy(name);
      else if (get_str(m, "cookie", &name)) { source = SRC_COOKIE; header = LIT("cookie"); }
      else if (get_str(m, "query", &name)) { source = SRC_QUERY; header = LIT(":path"); }
      else if (get_str(m, "baggage", &name)) { source = SRC_BAGGAGE; header = LIT("baggage"); }
      else return false;
      if (!get_str(m, "key", &key)) return false;
      Mapping *mp = &x->m[x->n];
      mp->source = source;
      mp->name = name;
      str lower = header;
      mp->slot = x->nheaders;
      for (u32 h = 0; h < x->nheaders; h++)
        if (str_eq(x->headers[h], lower)) mp->slot = h;
      if (mp->slot == x->nheaders) x->headers[x->nheaders++] = lower;
      mp->key = key_index(s, key);
      mp->has_def = get_str(m, "defaultValue", &mp->def);
    }
    if (x->nheaders > r->max_route_headers) r->max_route_headers = x->nheaders;
    str name;
    if (get_str(rt, "name", &name)) { map_put(&s->route_by_name, name, i); s->has_named = true; }
    else if (s->any_route < 0) s->any_route = i;
  }
  if (r->catalog) {
    s->default_target = default_target(r, s, defsub, &c, prefix);
    pins |= s->default_target && s->default_target->is_endpoint;
    if (pins) s->response_session = c.session;
  }
  return true;
}

static bool build_root(Root *r, const J *cfg) {
  memset(r, 0, sizeof(*r));
  r->clear_route_cache_available = true;
  str mode, prefix = LIT("x-dynamic-subset-");
  if (!cfg) { // the empty configuration: a no-op that still strips the two fixed headers
    add_strip(r, concat(prefix, LIT("subset")));
    add_strip(r, concat(prefix, LIT("host")));
    return true;
  }
  if (cfg->type != J_OBJ) return false;
  if (get_str(cfg, "mode", &mode)) {
    if (str_eq(mode, LIT("catalog"))) r->catalog = true;
    else if (!str_eq(mode, LIT("metadata"))) return false;
  }
  get_str(cfg, "headerPrefix", &prefix);
  const J *rh = member(cfg, "responseHeader");
  r->response_header = rh && rh->type == J_TRUE;
  add_strip(r, concat(prefix, LIT("subset")));
  add_strip(r, concat(prefix, LIT("host")));
  const J *svcs = member(cfg, "services");
  r->nservices = svcs && svcs->type == J_ARR ? svcs->count : 0;
  r->services = arena_alloc(&perm, (r->nservices + 1) * sizeof(Service));
  memset(r->services, 0, (r->nservices + 1) * sizeof(Service));
  map_init(&r->by_cluster, r->nservices);
  map_init(&r->by_host, r->nservices);
  u32 i = 0;
  for (const J *js = svcs ? svcs->first : 0; js; js = js->next, i++) {
    str name;
    if (!build_service(r, &r->services[i], js, prefix)) return false;
    if (get_str(js, "cluster", &name)) map_put(&r->by_cluster, name, i);
    else if (get_str(js, "host", &name)) map_put(&r->by_host, name, i);
    else return false;
  }
  return true;
}

// ---------------------------------------------------------------- contexts

typedef struct { u32 id; Root cfg; } RootSlot;
typedef struct { u32 id, root; str decision, session; bool replied_locally; } Stream;
enum { ROOTS = 8, STREAMS = 256 };
static RootSlot roots[ROOTS];
static Stream streams[STREAMS];
static u32 live_streams;

static Root *root_of(u32 id) {
  for (u32 i = 0; i < ROOTS; i++)
    if (roots[i].id == id) return &roots[i].cfg;
  return 0;
}

EXPORT(proxy_on_context_create) void proxy_on_context_create(u32 id, u32 parent) {
  if (!parent) {
    for (u32 i = 0; i < ROOTS; i++)
      if (!roots[i].id) {
        roots[i].id = id;
        build_root(&roots[i].cfg, 0); // the empty configuration until on_configure
        roots[i].cfg.configured = true;
        return;
      }
    return;
  }
  Stream *st = &streams[id % STREAMS];
  memset(st, 0, sizeof(*st));
  st->id = id;
  st->root = parent;
  live_streams++;
}

EXPORT(proxy_on_vm_start) u32 proxy_on_vm_start(u32 id, u32 size) { (void)id; (void)size; return 1; }

static void log_str(u32 level, str s) { proxy_log(level, s.p, s.n); }

static void define_metrics(void) {
  if (metrics.defined) return;
  str req = LIT("dynamic_subset_requests_total"), rej = LIT("dynamic_subset_config_rejected_total");
  proxy_define_metric(0, req.p, req.n, &metrics.requests);
  proxy_define_metric(0, rej.p, rej.n, &metrics.rejected);
  for (u32 i = 0; i < OUT_COUNT; i++)
    proxy_define_metric(0, (const u8 *)OUTCOME_METRICS[i], strlen(OUTCOME_METRICS[i]), &metrics.outcome[i]);
  metrics.defined = true;
}

EXPORT(proxy_on_configure) u32 proxy_on_configure(u32 id, u32 size) {
  Root *cur = root_of(id);
  if (!cur) return 0;
  u32 level = LOG_INFO;
  proxy_get_log_level(&level);
  define_metrics();
  u8 *data = 0;
  u32 len = 0;
  if (size) proxy_get_buffer_bytes(BUFFER_PLUGIN_CONFIG, 0, size, &data, &len);
  Root next;
  bool ok;
  if (!len) {
    ok = build_root(&next, 0);
  } else {
    Parser ps = {data, data + len};
    J *cfg = parse_value(&ps, 0);
    skip_ws(&ps);
    ok = cfg && ps.p == ps.end && build_root(&next, cfg);
  }
  if (!live_streams) arena_reset(&scratch);
  if (!ok) {
    log_str(LOG_ERROR, LIT("configuration rejected (C reference: minimal reader)"));
    proxy_increment_metric(metrics.rejected, 1);
    return 0;
  }
  next.configured = true;
  next.debug = level <= 1;
  *cur = next;
  log_str(LOG_INFO, LIT("configured (C reference)"));
  return 1;
}

// ---------------------------------------------------------------- the request path

enum { V_UNSET, V_VALID, V_UNMATCHABLE };
enum { NOT_FOUND = 1, UNIMPLEMENTED = 12 };

static str get_property(str path) {
  u8 *p = 0;
  u32 n = 0;
  if (proxy_get_property(path.p, path.n, &p, &n) != 0) return (str){0, 0};
  return (str){p ? p : (const u8 *)"", n};
}

static int find_service(const Root *r, str cluster) {
  int i = map_get(&r->by_cluster, cluster);
  if (i >= 0 || !r->nservices) return i;
  // Istio: outbound|<port>||<host>
  str pre = LIT("outbound|");
  if (cluster.n <= pre.n || memcmp(cluster.p, pre.p, pre.n) != 0) return -1;
  u32 k = pre.n;
  while (k < cluster.n && cluster.p[k] >= '0' && cluster.p[k] <= '9') k++;
  if (k == pre.n || k + 2 > cluster.n || cluster.p[k] != '|' || cluster.p[k + 1] != '|') return -1;
  return map_get(&r->by_host, (str){cluster.p + k + 2, cluster.n - k - 2});
}

/** What decide() asks the request path to do. */
typedef struct {
  u32 nwrites, write_strip[MAX_KEYS];
  str write_value[MAX_KEYS];
  bool clear_route_cache, local_reply;
  str decision;
  int outcome;
} Decision;

static void route_to(Decision *d, const Target *t) {
  d->write_strip[0] = t->strip;
  d->write_value[0] = t->value;
  d->nwrites = 1;
  d->clear_route_cache = !t->is_endpoint;
  d->decision = t->decision;
}

/** Catalog mode, on a miss or without a selector (docs/behaviour.md "Routing decision", step 4). */
static void fall_back(const Service *s, int policy, Decision *d) {
  if (policy == FB_ANY) { d->decision = LIT("fallback:ANY_ENDPOINT"); d->outcome = OUT_ANY; return; }
  if (policy == FB_DEFAULT && s->default_target) { route_to(d, s->default_target); d->outcome = OUT_DEFAULT; return; }
  d->local_reply = true;
  d->decision = LIT("fallback:NO_FALLBACK");
  d->outcome = OUT_NO;
}

/** A mapping's raw value from its header's value (absent: p == 0). */
static bool source_value(const Mapping *m, str header, str *out) {
  if (!header.p) return false;
  switch (m->source) {
    case SRC_COOKIE: return find_cookie(header, m->name, out);
    case SRC_QUERY: return find_query(header, m->name, out);
    case SRC_BAGGAGE: return find_baggage(header, m->name, out);
    default: *out = header; return true;
  }
}

static void decide(const Root *r, const Service *s, const Route *rt, const str *header_values, Decision *d) {
  // 1-2: resolve keys and check values
  str vals[MAX_KEYS];
  u8 state[MAX_KEYS];
  static u8 decoded[MAX_KEYS][63]; // decoded query / baggage values; written headers point here until the next request
  memset(state, V_UNSET, s->nkeys);
  for (u32 i = 0; rt && i < rt->n; i++) {
    const Mapping *m = &rt->m[i];
    str v = {0, 0};
    u8 st = V_VALID;
    if (source_value(m, header_values[m->slot], &v) && v.n > 0) {
      if (v.n > MAX_VALUE) st = V_UNMATCHABLE;
      else if (m->source == SRC_QUERY || m->source == SRC_BAGGAGE) {
        int n = percent_decode(v, m->source == SRC_QUERY, decoded[m->key], sizeof decoded[0]);
        if (n < 0) st = V_UNMATCHABLE;
        else v = (str){decoded[m->key], (u32)n};
      }
      if (st == V_VALID && !(m->key == s->ip_key ? valid_ip(v) : valid_label_value(v))) st = V_UNMATCHABLE;
    } else if (m->has_def) {
      v = m->def;
    } else {
      continue; // unset: an earlier value of the key stays
    }
    state[m->key] = st;
    vals[m->key] = v;
  }
  // 3: the selector with the most keys, all resolved; ties to the earlier one
  u64 present = 0;
  for (u32 k = 0; k < s->nkeys; k++)
    if (state[k] != V_UNSET) present |= 1ull << k;
  const Selector *sel = 0;
  for (u32 i = 0; i < s->nsel; i++)
    if ((s->sel[i].mask & ~present) == 0 && (!sel || s->sel[i].nkeys > sel->nkeys)) sel = &s->sel[i];
  if (!sel) {
    if (r->catalog) fall_back(s, s->fallback, d);
    else d->decision = LIT("none");
    d->outcome = OUT_NO_SELECTOR;
    return;
  }
  bool unmatchable = false;
  for (u32 k = 0; k < sel->nkeys; k++) unmatchable |= state[sel->keys[k]] == V_UNMATCHABLE;
  // 4: metadata mode writes the keys; catalog mode looks the tuple up
  if (!r->catalog) {
    Buf b = {0, 0, 0, &scratch};
    buf_str(&b, LIT("subset:"));
    for (u32 k = 0; k < sel->nkeys; k++) {
      int key = sel->keys[k];
      str v = state[key] == V_UNMATCHABLE ? LIT("~invalid~") : vals[key];
      d->write_strip[k] = s->key_strip[key];
      d->write_value[k] = v;
      if (k) buf_byte(&b, ',');
      buf_str(&b, s->keys[key]);
      buf_byte(&b, '=');
      buf_str(&b, v);
    }
    d->nwrites = sel->nkeys;
    d->decision = buf_done(&b);
    d->outcome = unmatchable ? OUT_UNMATCHABLE : OUT_SUBSET;
    return;
  }
  int target = -1;
  if (!unmatchable) {
    str values[MAX_KEYS];
    for (u32 k = 0; k < sel->nkeys; k++) values[k] = vals[sel->keys[k]];
    target = map_get(&sel->tuples, join_tuple(values, sel->nkeys, &scratch));
  }
  if (target >= 0) {
    route_to(d, &sel->targets[target]);
    d->outcome = OUT_SUBSET;
    return;
  }
  fall_back(s, sel->policy, d);
  if (unmatchable) d->outcome = OUT_UNMATCHABLE;
}

/** docs/behaviour.md "Security": every internal header removed, except the ones the decision writes, which are replaced. */
static void strip_internal_headers(const Root *r, const Decision *d) {
  u32 n = d ? d->nwrites : 0;
  for (u32 i = 0; i < n; i++) {
    str h = r->strip[d->write_strip[i]], v = d->write_value[i];
    proxy_replace_header_map_value(MAP_REQUEST, h.p, h.n, v.p, v.n);
  }
  for (u32 i = 0; i < r->nstrip; i++) {
    bool written = false;
    for (u32 w = 0; w < n && !written; w++) written = d->write_strip[w] == i;
    if (!written) proxy_remove_header_map_value(MAP_REQUEST, r->strip[i].p, r->strip[i].n);
  }
}

static void clear_route_cache(Root *r) {
  if (!r->clear_route_cache_available) return;
  str ff = LIT("clear_route_cache");
  u8 *p = 0;
  u32 n = 0;
  u32 rc = proxy_call_foreign_function(ff.p, ff.n, (const u8 *)"", 0, &p, &n);
  if (rc == NOT_FOUND || rc == UNIMPLEMENTED) r->clear_route_cache_available = false;
}

static void send_503(const Root *r, const Stream *st) {
  str details = LIT("dynamic_subset_no_fallback"), body = LIT("no healthy upstream");
  u8 pairs[512];
  u32 size = 0;
  if (r->response_header && st->decision.n < 400) { // one pair: count, sizes, "x-dynamic-subset\0<decision>\0"
    str h = LIT("x-dynamic-subset");
    u32 header[3] = {1, h.n, st->decision.n};
    memcpy(pairs, header, 12);
    memcpy(pairs + 12, h.p, h.n);
    pairs[12 + h.n] = 0;
    memcpy(pairs + 13 + h.n, st->decision.p, st->decision.n);
    pairs[13 + h.n + st->decision.n] = 0;
    size = 14 + h.n + st->decision.n;
  }
  proxy_send_local_response(503, details.p, details.n, body.p, body.n, pairs, size, -1);
}

static u32 handle_request(Stream *st, Root *r) {
  str cluster = get_property(LIT("xds\0cluster_name"));
  int si = cluster.p ? find_service(r, cluster) : -1;
  if (si < 0) {
    strip_internal_headers(r, 0);
    return 0;
  }
  const Service *s = &r->services[si];
  int ri = -1;
  if (s->has_named) {
    str name = get_property(LIT("xds\0route_name"));
    if (name.p) ri = map_get(&s->route_by_name, name);
  }
  if (ri < 0) ri = s->any_route;
  const Route *rt = ri >= 0 ? &s->routes[ri] : 0;
  str header_values[MAX_ROUTE_HEADERS];
  for (u32 h = 0; rt && h < rt->nheaders; h++) {
    u8 *p = 0;
    u32 n = 0;
    bool found = proxy_get_header_map_value(MAP_REQUEST, rt->headers[h].p, rt->headers[h].n, &p, &n) == 0;
    header_values[h] = found ? (str){p, n} : (str){0, 0};
  }
  Decision d;
  d.nwrites = 0;
  d.clear_route_cache = d.local_reply = false;
  decide(r, s, rt, header_values, &d);
  strip_internal_headers(r, &d);
  if (d.clear_route_cache) clear_route_cache(r);
  str prop = LIT("dynamic_subset");
  proxy_set_property(prop.p, prop.n, d.decision.p, d.decision.n);
  proxy_increment_metric(metrics.requests, 1);
  proxy_increment_metric(metrics.outcome[d.outcome], 1);
  if (r->debug) log_str(1, d.decision);
  st->session = s->response_session;
  if (r->response_header) st->decision = d.decision;
  if (d.local_reply) {
    send_503(r, st);
    st->replied_locally = true;
    return 1;
  }
  return 0;
}

EXPORT(proxy_on_request_headers) u32 proxy_on_request_headers(u32 id, u32 n, u32 eos) {
  (void)n; (void)eos;
  Stream *st = &streams[id % STREAMS];
  Root *r = st->id == id ? root_of(st->root) : 0;
  if (!r || !r->configured) return 0;
  return handle_request(st, r);
}

EXPORT(proxy_on_response_headers) u32 proxy_on_response_headers(u32 id, u32 n, u32 eos) {
  (void)n; (void)eos;
  Stream *st = &streams[id % STREAMS];
  if (st->id != id) return 0;
  if (st->session.n) proxy_remove_header_map_value(MAP_RESPONSE, st->session.p, st->session.n);
  if (st->decision.n && !st->replied_locally) {
    str h = LIT("x-dynamic-subset");
    proxy_replace_header_map_value(MAP_RESPONSE, h.p, h.n, st->decision.p, st->decision.n);
  }
  return 0;
}

EXPORT(proxy_on_log) void proxy_on_log(u32 id) { (void)id; }
EXPORT(proxy_on_done) u32 proxy_on_done(u32 id) { (void)id; return 1; }

EXPORT(proxy_on_delete) void proxy_on_delete(u32 id) {
  Stream *st = &streams[id % STREAMS];
  if (st->id == id && st->root) {
    st->id = 0;
    if (live_streams && --live_streams == 0) arena_reset(&scratch);
    return;
  }
  for (u32 i = 0; i < ROOTS; i++)
    if (roots[i].id == id) memset(&roots[i], 0, sizeof(roots[i]));
}
