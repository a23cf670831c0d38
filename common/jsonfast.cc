// jsonfast.cc: whole JSON documents checked by simdjson (see jsonfast.h).
#include <config.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include <simdjson.h>

#include "jsonfast.h"

namespace {

// Deeper documents are left to json_parse, whose own limit is higher.
constexpr size_t max_depth = 256;

}  // namespace

struct json_fast {
	simdjson::dom::parser parser;
	char *pad = nullptr;	// the text, copied with simdjson's padding after it
	size_t cap = 0;
	char *minified = nullptr;	// minify's output, to learn whether text was compact
	size_t mcap = 0;
	bool padded_input = false;	// texts come with padding: no copy
	const char *text = nullptr;	// the text last parsed, where simdjson read it
	simdjson::dom::element root;	// what json_fast_load loaded
	std::vector<json_fast_item> items;	// json_fast_items' answer
};

extern "C" struct json_fast *
json_fast_new(void)
{
	json_fast *f = new (std::nothrow) json_fast;

	if (f == nullptr)
		return nullptr;
	if (f->parser.allocate(1 << 16, max_depth) != simdjson::SUCCESS) {
		delete f;
		return nullptr;
	}
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

// Parse text into the parser's document; false when simdjson refuses it.
// Text that is not known to be padded is copied into padding first.
static bool
parse(json_fast *f, const char *text, size_t len, simdjson::dom::element *root)
{
	const char *at = text;

	if (!f->padded_input) {
		if (!reserve(&f->pad, &f->cap, len))
			return false;
		std::memcpy(f->pad, text, len);
		std::memset(f->pad + len, 0, simdjson::SIMDJSON_PADDING);
		at = f->pad;
	}
	f->text = at;
	if (len > f->parser.capacity() &&
	    f->parser.allocate(len, max_depth) != simdjson::SUCCESS)
		return false;
	return f->parser.parse(at, len, false).get(*root) == simdjson::SUCCESS;
}

extern "C" int
json_fast_check(struct json_fast *f, const char *text, size_t len, bool *object, bool *compact)
{
	simdjson::dom::element root;

	if (!parse(f, text, len, &root))
		return 0;
	*object = root.is_object();
	if (compact != nullptr) {
		size_t n = 0;

		if (!reserve(&f->minified, &f->mcap, len) ||
		    simdjson::minify(f->text, len, f->minified, n) != simdjson::SUCCESS)
			return 0;
		*compact = n == len;
	}
	return 1;
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

extern "C" int
json_fast_load(struct json_fast *f, const char *text, size_t len, bool *object)
{
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
