// jsonfast.cc: whole JSON documents checked by simdjson (see jsonfast.h).
#include <config.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>
#ifdef __SSE2__
#include <immintrin.h>
#endif

#include "jsonfast.h"

namespace {

// Deeper documents are left to json_parse, whose own limit is higher.
constexpr size_t max_depth = 256;

// json_fast_fields follows at most this many paths (a bit each).
constexpr size_t max_wants = 64;

// A path json_fast_fields asked for, split at its dots, and its value in
// the document last loaded On-Demand.
struct want {
	std::string path;
	const char *given;	// json_fast_fields' pointer, compared first
	std::vector<std::string_view> step;	// into path
	json_fast_val v;
	bool read;		// v is of the document last loaded
};

}  // namespace

struct json_fast {
	simdjson::dom::parser parser;
	char *pad = nullptr;	// the text, copied with simdjson's padding after it
	size_t cap = 0;
	char *minified = nullptr;	// minify's output, to learn whether text was compact
	size_t mcap = 0;
	bool padded_input = false;	// texts come with padding: no copy
	int vectors = 0;	// json_fast_vectors' level, the best by default
	const char *text = nullptr;	// the text last parsed, where simdjson read it
	simdjson::dom::element root;	// what json_fast_load loaded
	std::vector<json_fast_item> items;	// json_fast_items' answer

	// json_fast_fields: the paths read On-Demand, and their values in
	// the document last loaded so (lazy) rather than into root.
	simdjson::ondemand::parser od;
	simdjson::ondemand::document odoc;
	std::vector<want> wants;
	uint64_t first[256] = {};	// the wants whose first key starts so
	bool check_rest = false;	// other values checked, not skipped
	bool lazy = false;
	bool escapes = false;	// the text has a backslash somewhere
};

static int best_vectors();

extern "C" struct json_fast *
json_fast_new(void)
{
	json_fast *f = new (std::nothrow) json_fast;

	if (f == nullptr)
		return nullptr;
	if (f->parser.allocate(1 << 16, max_depth) != simdjson::SUCCESS ||
	    f->od.allocate(1 << 16, max_depth) != simdjson::SUCCESS) {
		delete f;
		return nullptr;
	}
	f->vectors = best_vectors();
	return f;
}

extern "C" void
json_fast_free(struct json_fast *f)
{
	if (f == nullptr)
		return;
	std::free(f->pad);
	std::free(f->minified);
	delete f;
}

// Grow *p to hold n bytes and the padding; false when memory is short.
static bool
reserve(char **p, size_t *cap, size_t n)
{
	size_t want = n + simdjson::SIMDJSON_PADDING;

	if (want <= *cap)
		return true;
	char *q = static_cast<char *>(std::realloc(*p, want));
	if (q == nullptr)
		return false;
	*p = q;
	*cap = want;
	return true;
}

static_assert(JSON_FAST_PADDING >= simdjson::SIMDJSON_PADDING,
    "JSON_FAST_PADDING must cover simdjson's padding");

extern "C" void
json_fast_padded_input(struct json_fast *f)
{
	f->padded_input = true;
}

// Text with simdjson's padding after it: where it is, or a copy; NULL
// when memory is short.
static const char *
padded(json_fast *f, const char *text, size_t len)
{
	if (f->padded_input)
		return text;
	if (!reserve(&f->pad, &f->cap, len))
		return nullptr;
	std::memcpy(f->pad, text, len);
	std::memset(f->pad + len, 0, simdjson::SIMDJSON_PADDING);
	return f->pad;
}

// Parse text into the parser's document; false when simdjson refuses it.
// Text that is not known to be padded is copied into padding first.
static bool
parse(json_fast *f, const char *text, size_t len, simdjson::dom::element *root)
{
	const char *at = padded(f, text, len);

	if (at == nullptr)
		return false;
	f->text = at;
	if (len > f->parser.capacity() &&
	    f->parser.allocate(len, max_depth) != simdjson::SUCCESS)
		return false;
	return f->parser.parse(at, len, false).get(*root) == simdjson::SUCCESS;
}

// Whether JSON text that simdjson accepted has white space between its
// tokens, told without minify's copy when that is cheap: with no backslash
// in the text, every quote opens or closes a string, so a space is inside
// one when an odd number of quotes comes before it.  -1 when not told so
// (a backslash, a tab, a line break): minify answers.  Minify was a fifth
// of the time of checking a Capture body of USGS events (whose places
// have spaces in them).  These are the portable loops; scan_blocks tells
// the same in one pass where the machine has SSE2.
static int
spaced(const char *text, size_t len)
{
	const unsigned char *u = reinterpret_cast<const unsigned char *>(text);
	const char *p = text, *end = text + len;
	unsigned char other = 0, odd = 0;	// bytes: 16 or 32 to a vector
	size_t from = 0;

	// Plain loops, which the compiler turns into vector code.
	for (size_t i = 0; i < len; i++)
		other |= static_cast<unsigned char>((u[i] == '\\') | (u[i] < 0x20));
	if (other)
		return -1;
	while ((p = static_cast<const char *>(std::memchr(p, ' ', static_cast<size_t>(end - p)))) !=
	    nullptr) {
		size_t to = static_cast<size_t>(p - text);

		for (size_t i = from; i < to; i++)
			odd ^= static_cast<unsigned char>(u[i] == '"');
		if (!odd)
			return 1;
		from = to + 1;
		p++;
	}
	return 0;
}

#ifdef __SSE2__
// The bits of a mask each XORed with all those below it: bit i is the
// parity of the quotes up to byte i.
static inline uint64_t
prefix_xor(uint64_t m)
{
	m ^= m << 1;
	m ^= m << 2;
	m ^= m << 4;
	m ^= m << 8;
	m ^= m << 16;
	m ^= m << 32;
	return m;
}

// One block of 64 bytes as a bit a byte: quotes; white space, the bytes
// up to ' ' (those min leaves alone), which in text simdjson accepted
// are spaces in strings or white space between tokens; the byte key;
// backslashes, by position only in the last block (exact), elsewhere by
// whether there is any.
struct block_bits {
	uint64_t q, ws, k, bs;
};

// What is carried from block to block.
struct scan_state {
	uint64_t inside;	// all ones when a string is open where a block starts
	uint64_t lastq;		// 1 when the block before ended with a quote
	uint64_t pairs;
};

// The last block's bits past len cleared.
static inline void
clip(block_bits *b, size_t n)
{
	uint64_t valid = (uint64_t{1} << n) - 1;

	b->q &= valid;
	b->ws &= valid;
	b->k &= valid;
	b->bs &= valid;
}

// One block's bits taken in order: -1 (a backslash: minify answers), 1
// (white space where the quotes before it are even in number), else 2,
// to go on.
static inline int
step(const block_bits &b, scan_state *st)
{
	if (b.bs != 0)
		return -1;
	if (b.ws != 0 && (b.ws & ~(prefix_xor(b.q) ^ st->inside)) != 0)
		return 1;
	st->pairs |= b.k & (b.q << 1 | st->lastq);
	st->inside ^= uint64_t{0} - static_cast<uint64_t>(__builtin_parityll(b.q));
	st->lastq = b.q >> 63;
	return 2;
}

/*
 * spaced() in one pass over blocks of 64 bytes, told by block functions
 * of a vector width (full blocks, and the last one, read past len into
 * the padding, up to 63 bytes): a bit a byte for the quotes and the white
 * space, and the quotes' parity carried from block to block, as
 * simdjson's stage 1 does.  Only a backslash leaves the answer to minify.
 * *pair: whether a quote is followed by the byte first somewhere (a key or
 * string starting so); told only when 0 is returned.
 */
template <block_bits (*full)(const char *, unsigned char),
    block_bits (*part)(const char *, unsigned char)>
static inline __attribute__((always_inline)) int
scan_blocks(const char *text, size_t len, unsigned char first, bool *pair)
{
	scan_state st = { 0, 0, 0 };
	int rc;

	for (size_t i = 0; i < len; i += 64) {
		block_bits b;

		if (len - i >= 64) {
			b = full(text + i, first);
		} else {
			b = part(text + i, first);
			clip(&b, len - i);
		}
		if ((rc = step(b, &st)) != 2)
			return rc;
	}
	*pair = st.pairs != 0;
	return 0;
}

// Which of 16 bytes are those of a vector of cmpeq's, as bits from at.
static inline uint64_t
bits(__m128i eq, int at)
{
	return static_cast<uint64_t>(static_cast<uint32_t>(_mm_movemask_epi8(eq))) << at;
}

// One block with SSE2, which every x86-64 has: on the bodies of
// capture-read.sh, 64 ns a body where spaced() and a memchr search for
// "_eh" took 150 ns.
template <bool last>
static inline block_bits
block_sse2(const char *p, unsigned char first)
{
	const __m128i quote = _mm_set1_epi8('"'), space = _mm_set1_epi8(' '),
	    bslash = _mm_set1_epi8('\\'), key = _mm_set1_epi8(static_cast<char>(first));
	block_bits b = { 0, 0, 0, 0 };
	__m128i o = _mm_setzero_si128();

	for (int j = 0; j < 64; j += 16) {
		__m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + j));

		b.q |= bits(_mm_cmpeq_epi8(v, quote), j);
		b.ws |= bits(_mm_cmpeq_epi8(_mm_min_epu8(v, space), v), j);
		b.k |= bits(_mm_cmpeq_epi8(v, key), j);
		if (last)
			b.bs |= bits(_mm_cmpeq_epi8(v, bslash), j);
		else
			o = _mm_or_si128(o, _mm_cmpeq_epi8(v, bslash));
	}
	if (!last)
		b.bs = bits(o, 0);
	return b;
}

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define JSON_FAST_AVX2 1
// One block with AVX2, 32 bytes to a compare, where the machine has it
// (json_fast_new asks): about 50 ns a body of capture-read.sh where SSE2
// took 64, and 26M instructions on two of its files where SSE2 took 45M.
__attribute__((target("avx2"))) static inline uint64_t
bits_avx2(__m256i eq, int at)
{
	return static_cast<uint64_t>(static_cast<uint32_t>(_mm256_movemask_epi8(eq))) << at;
}

template <bool last>
__attribute__((target("avx2"))) static inline block_bits
block_avx2(const char *p, unsigned char first)
{
	const __m256i quote = _mm256_set1_epi8('"'), space = _mm256_set1_epi8(' '),
	    bslash = _mm256_set1_epi8('\\'), key = _mm256_set1_epi8(static_cast<char>(first));
	block_bits b = { 0, 0, 0, 0 };
	__m256i o = _mm256_setzero_si256();

	for (int j = 0; j < 64; j += 32) {
		__m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p + j));

		b.q |= bits_avx2(_mm256_cmpeq_epi8(v, quote), j);
		b.ws |= bits_avx2(_mm256_cmpeq_epi8(_mm256_min_epu8(v, space), v), j);
		b.k |= bits_avx2(_mm256_cmpeq_epi8(v, key), j);
		if (last)
			b.bs |= bits_avx2(_mm256_cmpeq_epi8(v, bslash), j);
		else
			o = _mm256_or_si256(o, _mm256_cmpeq_epi8(v, bslash));
	}
	if (!last)
		b.bs = bits_avx2(o, 0);
	return b;
}


// scan_blocks with AVX2 blocks, inlined into a function built for AVX2.
__attribute__((target("avx2"))) static int
scan_avx2(const char *text, size_t len, unsigned char first, bool *pair)
{
	return scan_blocks<block_avx2<false>, block_avx2<true>>(text, len, first, pair);
}
#endif
#endif

// Whether text has "key" (its quotes too) anywhere, as a key or in a
// string: where key's first byte follows a quote, looked at closely.
static bool
has_quoted(const char *text, size_t len, const char *key, size_t klen)
{
	const char *end = text + len, *q = text;

	while ((q = static_cast<const char *>(std::memchr(q, key[0],
	    static_cast<size_t>(end - q)))) != nullptr) {
		if (q > text && q[-1] == '"' && static_cast<size_t>(end - q) > klen &&
		    std::memcmp(q, key, klen) == 0 && q[klen] == '"')
			return true;
		q++;
	}
	return false;
}

// The best vector code this machine has: 2 AVX2, 1 SSE2, 0 none.
static int
best_vectors()
{
#if defined(JSON_FAST_AVX2)
	if (__builtin_cpu_supports("avx2"))
		return 2;
#endif
#ifdef __SSE2__
	return 1;
#else
	return 0;
#endif
}

extern "C" int
json_fast_vectors(struct json_fast *f, int most)
{
	int best = best_vectors();

	f->vectors = most < best ? most : best;
	return f->vectors;
}

// Whether the text accepted (f->text, padded) is compact, into *compact;
// with key, whether it has "key" into *has_key.  False when memory is
// short.
static bool
compactness(json_fast *f, size_t len, const char *key, bool *compact, bool *has_key)
{
	size_t klen = key != nullptr ? std::strlen(key) : 0, n = 0;
	unsigned char first = klen > 0 ? static_cast<unsigned char>(key[0]) : 0;
	bool pair = true;	// a quote before key's first byte, or not known
	int sp;

	switch (f->vectors) {
#if defined(JSON_FAST_AVX2)
	case 2:
		sp = scan_avx2(f->text, len, first, &pair);
		break;
#endif
#ifdef __SSE2__
	case 1:
		sp = scan_blocks<block_sse2<false>, block_sse2<true>>(f->text, len, first,
		    &pair);
		break;
#endif
	default:
		sp = spaced(f->text, len);
		(void)first;	// the portable loops leave "key" to has_quoted
		break;
	}
	if (key != nullptr)
		*has_key = klen > 0 && pair && has_quoted(f->text, len, key, klen);
	if (sp >= 0) {
		*compact = sp == 0;
		return true;
	}
	if (!reserve(&f->minified, &f->mcap, len) ||
	    simdjson::minify(f->text, len, f->minified, n) != simdjson::SUCCESS)
		return false;
	*compact = n == len;
	return true;
}

extern "C" int
json_fast_check(struct json_fast *f, const char *text, size_t len, bool *object, bool *compact)
{
	simdjson::dom::element root;

	if (!parse(f, text, len, &root))
		return 0;
	*object = root.is_object();
	return compact == nullptr || compactness(f, len, nullptr, compact, nullptr);
}

extern "C" int
json_fast_check_key(struct json_fast *f, const char *text, size_t len, const char *key,
    bool *object, bool *compact, bool *has_key)
{
	simdjson::dom::element root;

	if (!parse(f, text, len, &root))
		return 0;
	*object = root.is_object();
	return compactness(f, len, key, compact, has_key);
}

// Whether text may hold the integer -0, which simdjson reads as 0 where
// strtod gives -0.0 (a string with "-0" in it makes a false alarm).
static bool
negative_zero(const char *text, size_t len)
{
	const char *p = text, *end = text + len;

	// memchr, not memmem: dashes are few, and glibc's memmem is slow for
	// a needle of two bytes.
	while ((p = static_cast<const char *>(std::memchr(p, '-', static_cast<size_t>(end - p)))) !=
	    nullptr) {
		if (++p == end || *p != '0')
			continue;
		if (++p == end || !(std::isdigit(static_cast<unsigned char>(*p)) || *p == '.' ||
		    *p == 'e' || *p == 'E'))
			return true;
	}
	return false;
}

// Split each wanted path into its steps again (the strings may have moved).
static void
split_wants(json_fast *f)
{
	std::memset(f->first, 0, sizeof(f->first));
	for (size_t i = 0; i < f->wants.size(); i++) {
		want &w = f->wants[i];
		std::string_view p(w.path);

		w.step.clear();
		for (size_t dot; (dot = p.find('.')) != std::string_view::npos; p.remove_prefix(dot + 1))
			w.step.push_back(p.substr(0, dot));
		w.step.push_back(p);
		// An empty key's first byte is its closing quote.
		f->first[static_cast<unsigned char>(w.step[0].empty() ? '"' : w.step[0][0])] |=
		    uint64_t{1} << i;
	}
}

// Add path to the wanted ones (once); false when there are too many to
// follow, or memory is short (then none is followed: documents are read
// whole from the next on).
static bool
add_want(json_fast *f, const char *path, const char *given)
{
	try {
		for (const want &w : f->wants)
			if (w.path == path)
				return true;
		if (f->wants.size() == max_wants)
			return false;
		want &w = f->wants.emplace_back();
		w.path = path;
		w.given = given;
		w.v.type = JSON_FAST_MISSING;
		w.read = false;
		split_wants(f);
	} catch (const std::bad_alloc &) {
		f->wants.clear();
		std::memset(f->first, 0, sizeof(f->first));
		return false;
	}
	return true;
}

extern "C" void
json_fast_fields(struct json_fast *f, const char *const *paths, int n, enum json_fast_rest rest)
{
	f->check_rest = rest == JSON_FAST_CHECK_REST;
	f->wants.clear();
	for (int i = 0; i < n; i++)
		if (paths[i] != nullptr && !add_want(f, paths[i], paths[i])) {
			f->wants.clear();	// every document read whole, as before
			return;
		}
}

// Whether the number s has more than 19 digits before its exponent.
// simdjson 3.0.1's On-Demand get_double reads some of them wrongly: it
// counts the zeros after "0." against the 19 digits that fit, and so
// took 0.00000000050000303500003777... for 5.4e-29 (fuzz-json found it);
// the DOM reads them right.
static bool
long_number(std::string_view s)
{
	size_t digits = 0;

	// Most numbers are too short to be misread: in 21 bytes, at most "0."
	// and 19 digits, which fit.
	if (s.size() <= 21)
		return false;
	for (char c : s) {
		if (c == 'e' || c == 'E')
			break;
		digits += c >= '0' && c <= '9';
	}
	return digits > 19;
}

// A wanted value that is not an array or object into *out; false when it
// is one (its text is json_parse's to give), a number of many digits (the
// DOM's to read), or simdjson refuses it.
static bool
scalar(simdjson::ondemand::value v, json_fast_val *out)
{
	simdjson::ondemand::json_type t;
	std::string_view s;
	bool b;

	if (v.type().get(t) != simdjson::SUCCESS)
		return false;
	switch (t) {
	case simdjson::ondemand::json_type::number:
		// Read as a double: -0 stays -0, as strtod reads it.
		if (long_number(v.raw_json_token()) ||
		    v.get_double().get(out->num) != simdjson::SUCCESS)
			return false;
		out->type = JSON_FAST_NUMBER;
		return true;
	case simdjson::ondemand::json_type::string:
		if (v.get_string().get(s) != simdjson::SUCCESS)
			return false;
		out->type = JSON_FAST_STRING;
		out->str = s.data();
		out->len = s.size();
		return true;
	case simdjson::ondemand::json_type::boolean:
		if (v.get_bool().get(b) != simdjson::SUCCESS)
			return false;
		out->type = b ? JSON_FAST_TRUE : JSON_FAST_FALSE;
		return true;
	case simdjson::ondemand::json_type::null:
		if (v.is_null().get(b) != simdjson::SUCCESS || !b)
			return false;
		out->type = JSON_FAST_NULL;
		return true;
	default:
		return false;
	}
}

// Whether a key has an escape in it.  On-Demand checks escapes only in
// what it unescapes, so such a document is read whole (json_fast_load),
// where a bad escape is found and a good one matches as json_member's do.
static inline bool
has_escape(simdjson::ondemand::raw_json_string key)
{
	// Stage 1 found the string closed: its quote ends this loop.
	for (const char *r = key.raw(); *r != '"'; r++)
		if (*r == '\\')
			return true;
	return false;
}

// Not inlined: check_value, which is, stays small where it is inlined.
static bool check_container(simdjson::ondemand::value &v, simdjson::ondemand::json_type t,
    size_t depth, bool escapes) __attribute__((noinline));

/*
 * Whether v, a value no wanted path reaches, is JSON in full, as the DOM
 * parser would find it, read On-Demand without keeping anything: objects
 * and arrays walked (check_container), numbers and literals read by
 * simdjson's checking getters.  Stage 1 found every string closed, in
 * UTF-8 and without raw control characters; in a text with a backslash
 * (escapes) each string is unescaped too, which checks its escapes, and
 * in the others it is only stepped over.  Inlined: most values are
 * scalars, and a call that saves and restores registers cost more than
 * reading them.
 */
static inline __attribute__((always_inline)) bool
check_value(simdjson::ondemand::value &v, size_t depth, bool escapes)
{
	simdjson::ondemand::json_type t;
	simdjson::ondemand::raw_json_string r;
	std::string_view s;
	double d;
	bool b;

	if (v.type().get(t) != simdjson::SUCCESS)
		return false;
	switch (t) {
	case simdjson::ondemand::json_type::string:
		if (escapes)
			return v.get_string().get(s) == simdjson::SUCCESS;
		return v.get_raw_json_string().get(r) == simdjson::SUCCESS;
	case simdjson::ondemand::json_type::number:
		return v.get_double().get(d) == simdjson::SUCCESS;
	case simdjson::ondemand::json_type::boolean:
		return v.get_bool().get(b) == simdjson::SUCCESS;
	case simdjson::ondemand::json_type::null:
		return v.is_null().get(b) == simdjson::SUCCESS && b;
	default:
		return check_container(v, t, depth, escapes);
	}
}

// An object or array v of type t, its members or items checked in turn;
// nesting deeper than the DOM's limit is left to it, before it can use
// up the stack.
static bool
check_container(simdjson::ondemand::value &v, simdjson::ondemand::json_type t, size_t depth,
    bool escapes)
{
	simdjson::ondemand::object o;
	simdjson::ondemand::array a;

	if (depth >= max_depth)
		return false;
	// Fields and values by reference: copies of them made the compiler
	// store and reload them in halves, which stalled.
	if (t == simdjson::ondemand::json_type::object) {
		if (v.get_object().get(o) != simdjson::SUCCESS)
			return false;
		// A key with an escape sends the document to be read whole, as
		// in gather: its escape is checked nowhere else here.
		for (auto member : o)
			if (member.error() != simdjson::SUCCESS ||
			    (escapes && has_escape(member.value_unsafe().key())) ||
			    !check_value(member.value_unsafe().value(), depth + 1, escapes))
				return false;
		return true;
	}
	if (t != simdjson::ondemand::json_type::array || v.get_array().get(a) != simdjson::SUCCESS)
		return false;
	for (auto item : a)
		if (item.error() != simdjson::SUCCESS ||
		    !check_value(item.value_unsafe(), depth + 1, escapes))
			return false;
	return true;
}

// Whether a key is s as written, as json_member compares keys.  Most
// keys differ at once: their ends and first bytes are looked at first
// (the padding after the text makes them readable).
static inline bool
key_is(simdjson::ondemand::raw_json_string key, std::string_view s)
{
	const char *r = key.raw();

	if (s.size() > simdjson::SIMDJSON_PADDING)
		return key == s;
	if (r[s.size()] != '"')
		return false;
	// Names are short: a loop, not a call to memcmp.
	for (size_t i = 0; i < s.size(); i++)
		if (r[i] != s[i])
			return false;
	return true;
}

/*
 * The members of o, depth steps down the wanted paths, whose wants cand
 * (a bit each) may still be found here.  Checking the rest, every key is
 * read, every value no path reaches is checked in full, and the object
 * must end where it should.  Unchecked, the values no path reaches are
 * skipped by their brackets, and the root's members after the last one
 * a path goes into are skipped with them, keys and all.  False: read the
 * document whole.
 */
static bool
gather(json_fast *f, simdjson::ondemand::object o, size_t depth, uint64_t cand)
{
	const bool check = f->check_rest;

	for (auto member : o) {
		simdjson::ondemand::json_type t;
		simdjson::ondemand::object inside;
		uint64_t c, leaf = 0, inner = 0;

		// By reference, as in check_value.
		if (member.error() != simdjson::SUCCESS)
			return false;
		simdjson::ondemand::field &m = member.value_unsafe();
		simdjson::ondemand::value &v = m.value();

		if (f->escapes && has_escape(m.key()))
			return false;
		// Most keys at the root are no want's: told by their first byte.
		c = depth > 0 ? cand : cand & f->first[static_cast<unsigned char>(*m.key().raw())];
		for (; c != 0; c &= c - 1) {
			int i = __builtin_ctzll(c);
			const want &w = f->wants[static_cast<size_t>(i)];

			if (key_is(m.key(), w.step[depth]))
				(w.step.size() == depth + 1 ? leaf : inner) |= uint64_t{1} << i;
		}
		if ((leaf | inner) == 0) {
			if (check && !check_value(v, depth + 1, f->escapes))
				return false;
			continue;
		}
		cand &= ~(leaf | inner);	// the first member of a name counts
		if (leaf != 0) {
			// One want a name (add_want): a path that is a leaf and
			// goes on too wants an object's text.
			if (inner != 0 || !scalar(v, &f->wants[static_cast<size_t>(
			    __builtin_ctzll(leaf))].v))
				return false;
		} else {
			if (v.type().get(t) != simdjson::SUCCESS)
				return false;
			// A step into what is not an object finds nothing.
			if (t != simdjson::ondemand::json_type::object) {
				if (check && !check_value(v, depth + 1, f->escapes))
					return false;
			} else if (v.get_object().get(inside) != simdjson::SUCCESS ||
			    !gather(f, inside, depth + 1, inner)) {
				return false;
			}
		}
		// Unchecked, the root's members after the last wanted one are
		// not read: it is skipped to its end by its brackets.  Only the
		// root: a skip that ends at the last token leaves the iterator
		// there, and an outer skip would read past the tokens stage 1
		// wrote (an object left open, as ` {"a":{"b":1}` for a.b).
		if (!check && cand == 0 && depth == 0) {
			const char *at;

			if (f->odoc.current_location().get(at) == simdjson::OUT_OF_BOUNDS)
				return false;
			return o.raw_json().error() == simdjson::SUCCESS;
		}
	}
	return true;
}

// The wanted values of text (padded), read On-Demand: true when its root
// is an object that ends the text and every wanted value was read.
static bool
lazy_load(json_fast *f, const char *text, size_t len)
{
	simdjson::ondemand::object o;
	const char *after;
	uint64_t all = f->wants.size() == max_wants ? ~uint64_t{0} :
	    (uint64_t{1} << f->wants.size()) - 1;

	for (want &w : f->wants) {
		w.v.type = JSON_FAST_MISSING;
		w.read = true;
	}
	// Most lines have no backslash at all, and so no key or string to
	// look into for escapes.  An integer -0 needs no care here, unlike in
	// the DOM: On-Demand's get_double reads it as -0.0, as strtod does.
	f->escapes = std::memchr(text, '\\', len) != nullptr;
	if (f->od.iterate(simdjson::padded_string_view(text, len,
	    len + simdjson::SIMDJSON_PADDING)).get(f->odoc) != simdjson::SUCCESS ||
	    f->odoc.get_object().get(o) != simdjson::SUCCESS || !gather(f, o, 0, all))
		return false;
	// Past the object's end, nothing but white space.
	return f->odoc.current_location().get(after) == simdjson::OUT_OF_BOUNDS;
}

extern "C" int
json_fast_load(struct json_fast *f, const char *text, size_t len, bool *object)
{
	const char *at;

	f->lazy = false;
	if (!f->wants.empty() && (at = padded(f, text, len)) != nullptr &&
	    lazy_load(f, at, len)) {
		f->lazy = true;
		*object = true;
		return 1;
	}
	// A key with escapes matches differently here (simdjson compares it
	// unescaped, json_member as written): such documents stay with jsmn.
	if (std::memchr(text, '\\', len) != nullptr || negative_zero(text, len) ||
	    !parse(f, text, len, &f->root))
		return 0;
	*object = f->root.is_object();
	return 1;
}

extern "C" int
json_fast_value(const struct json_fast *f, const char *path, struct json_fast_val *v)
{
	simdjson::dom::element el = f->root;
	std::string_view s;

	if (f->lazy) {
		for (const want &w : f->wants)
			if (w.given == path) {
				*v = w.v;
				return w.read;
			}
		for (const want &w : f->wants)
			if (w.path == path) {
				*v = w.v;
				return w.read;
			}
		// A path not named to json_fast_fields: its value comes from
		// json_parse this time (the caller's fallback), and from the
		// next document on it is read with the others, found by its
		// text (this pointer may not live as long as f).
		add_want(const_cast<json_fast *>(f), path, nullptr);
		return 0;
	}
	for (const char *p = path; *p != '\0';) {
		const char *dot = std::strchr(p, '.');
		size_t k = dot != nullptr ? static_cast<size_t>(dot - p) : std::strlen(p);

		// A member of what is not an object is missing, as for json_path.
		if (!el.is_object() || el.at_key(std::string_view(p, k)).get(el) != simdjson::SUCCESS) {
			v->type = JSON_FAST_MISSING;
			return 1;
		}
		p += k;
		if (*p == '.')
			p++;
	}
	switch (el.type()) {
	case simdjson::dom::element_type::NULL_VALUE:
		v->type = JSON_FAST_NULL;
		return 1;
	case simdjson::dom::element_type::BOOL:
		v->type = el.get_bool().value_unsafe() ? JSON_FAST_TRUE : JSON_FAST_FALSE;
		return 1;
	case simdjson::dom::element_type::INT64:
	case simdjson::dom::element_type::UINT64:
	case simdjson::dom::element_type::DOUBLE:
		v->type = JSON_FAST_NUMBER;
		v->num = el.get_double().value_unsafe();
		return 1;
	case simdjson::dom::element_type::STRING:
		s = el.get_string().value_unsafe();
		v->type = JSON_FAST_STRING;
		v->str = s.data();
		v->len = s.size();
		return 1;
	default:
		return 0;	// an array or object: its text is json_parse's to give
	}
}

// The members of o onto f->items, objects opened; their count.
static int
flatten(json_fast *f, simdjson::dom::object o)
{
	int count = 0;

	for (simdjson::dom::key_value_pair m : o) {
		size_t at = f->items.size();
		json_fast_item *it = &f->items.emplace_back();
		simdjson::dom::element_type type = m.value.type();

		it->key = m.key.data();
		it->klen = m.key.size();
		switch (type) {
		case simdjson::dom::element_type::NULL_VALUE:
			it->v.type = JSON_FAST_NULL;
			break;
		case simdjson::dom::element_type::BOOL:
			it->v.type = m.value.get_bool().value_unsafe() ? JSON_FAST_TRUE :
			    JSON_FAST_FALSE;
			break;
		case simdjson::dom::element_type::INT64:
			it->v.type = JSON_FAST_NUMBER;
			it->integer = true;
			it->i = m.value.get_int64().value_unsafe();
			it->v.num = static_cast<double>(it->i);
			break;
		case simdjson::dom::element_type::UINT64:
		case simdjson::dom::element_type::DOUBLE:
			it->v.type = JSON_FAST_NUMBER;
			it->v.num = m.value.get_double().value_unsafe();
			break;
		case simdjson::dom::element_type::STRING: {
			std::string_view s = m.value.get_string().value_unsafe();

			it->v.type = JSON_FAST_STRING;
			it->v.str = s.data();
			it->v.len = s.size();
			break;
		}
		case simdjson::dom::element_type::ARRAY:
			it->v.type = JSON_FAST_ARRAY;
			break;
		case simdjson::dom::element_type::OBJECT:
			it->v.type = JSON_FAST_OBJECT;
			// it may move as the items grow: by index from here.
			f->items[at].size = flatten(f, m.value.get_object().value_unsafe());
			break;
		}
		f->items[at].end = static_cast<int>(f->items.size());
		count++;
	}
	return count;
}

extern "C" int
json_fast_items(struct json_fast *f, const struct json_fast_item **items)
{
	if (!f->root.is_object())
		return -1;
	try {
		f->items.clear();
		flatten(f, f->root.get_object().value_unsafe());
	} catch (const std::bad_alloc &) {
		return -1;
	}
	*items = f->items.data();
	return static_cast<int>(f->items.size());
}
