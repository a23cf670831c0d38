// bench/json-floor.cc: how fast the fastest JSON parser in Debian reads a
// file of NDJSON, as a floor for our commands' figures: a command that
// parses its input with it cannot go faster on the same machine.
//
//   json-floor rows FILE    map FILE, parse every line (simdjson's
//                           parse_many), visit every member two levels
//                           down, then again formatting every number
//                           (std::to_chars, shortest): what csa-merge must
//                           at least do to read views and write rows
//   json-floor lines FILE   parse each line on its own, as csa-eh-send
//                           checks a line before it is sent
//   json-floor keys FILE    each line On-Demand: simdjson's stage 1 (the
//                           structure and UTF-8 checked) and every key of
//                           the root object read, no value: what
//                           csa-window does at least when it reads only
//                           the fields its query uses
//   json-floor check FILE   each line On-Demand with every value checked
//                           (objects and arrays walked, numbers and
//                           literals read, strings left to stage 1), as
//                           csa-window reads a line without escapes by
//                           default (its walk is not linked here: this
//                           builds with g++ alone), and hashed
//                           (XXH3, of which its row ids are made): the
//                           least csa-window does per line without --lazy
//   json-floor least FILE   check, with the five fields the preset uses read
//                           in the same walk, and the preset's sums by
//                           region and 5-minute window kept in a hash
//                           table, as in window: the least a program that
//                           checks what csa-window checks does for this
//                           query (no late events, no digests, no rows)
//   json-floor window FILE  the same as lines, then csa-window --preset earthquake's
//                           sums by region and 5-minute window in a hash
//                           table (no late events, no digests, no rows
//                           written): the least a command that checks
//                           each line with simdjson does for that query
//
// Prints the seconds of each pass on one line.  Built by the bench scripts
// (g++ -O2 -std=c++17 ... -lsimdjson -lxxhash); not part of the package.
#include <charconv>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <simdjson.h>
#include <xxhash.h>

namespace {

double
seconds()
{
	return std::chrono::duration<double>(
	    std::chrono::steady_clock::now().time_since_epoch()).count();
}

// The file mapped, with simdjson's padding readable after it: an anonymous
// mapping one page and the padding longer, the file mapped over its start.
const char *
map_padded(const char *path, size_t *len)
{
	struct stat sb;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &sb) < 0) {
		std::perror(path);
		return nullptr;
	}
	*len = static_cast<size_t>(sb.st_size);
	void *base = mmap(nullptr, *len + simdjson::SIMDJSON_PADDING + 4096,
	    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED || (*len > 0 && mmap(base, *len, PROT_READ,
	    MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, fd, 0) == MAP_FAILED)) {
		std::perror(path);
		return nullptr;
	}
	close(fd);
	return static_cast<const char *>(base);
}

struct tally {
	long docs = 0, numbers = 0;
	size_t printed = 0;
};

void
visit(simdjson::dom::element el, int depth, bool format, tally *t)
{
	char out[32];

	if (el.is_number()) {
		t->numbers++;
		if (format)
			t->printed += static_cast<size_t>(std::to_chars(out, out + sizeof(out),
			    el.get_double().value_unsafe()).ptr - out);
	} else if (el.is_object() && depth < 3) {
		simdjson::dom::object o = el.get_object().value_unsafe();

		for (auto member : o)
			visit(member.value, depth + 1, format, t);
	}
}

bool
rows(const char *text, size_t len, bool format, tally *t)
{
	simdjson::dom::parser parser;
	simdjson::dom::document_stream docs;

	if (parser.parse_many(reinterpret_cast<const uint8_t *>(text), len, 1 << 20).get(docs))
		return false;
	for (auto doc : docs) {
		simdjson::dom::element el;

		if (doc.get(el))
			return false;
		visit(el, 0, format, t);
		t->docs++;
	}
	return true;
}

// Hand each line (p, n) to each; false from each stops.  The bytes after
// a line are the next line: readable, as simdjson's padding must be.
template <typename F>
bool
split_lines(const char *text, size_t len, F each)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = static_cast<const char *>(std::memchr(p, '\n',
		    static_cast<size_t>(end - p)));
		size_t n = static_cast<size_t>((nl ? nl : end) - p);

		if (!each(p, n))
			return false;
		p += n + 1;
	}
	return true;
}

// Parse each line on its own and hand its root object to each (false
// from each stops); false when a line is not a JSON object.
template <typename F>
bool
each_line(const char *text, size_t len, F each)
{
	simdjson::dom::parser parser;

	return split_lines(text, len, [&](const char *p, size_t n) {
		simdjson::dom::element el;
		simdjson::dom::object o;

		return !parser.parse(p, n, false).get(el) && !el.get_object().get(o) && each(o);
	});
}

bool
lines(const char *text, size_t len, tally *t)
{
	return each_line(text, len, [t](simdjson::dom::object) {
		t->docs++;
		return true;
	});
}

// Each line On-Demand: its text, document and root object to each
// (false from each stops); false when a line is not a JSON object.
template <typename F>
bool
each_object(const char *text, size_t len, F each)
{
	simdjson::ondemand::parser parser;

	return split_lines(text, len, [&](const char *p, size_t n) {
		simdjson::ondemand::document doc;
		simdjson::ondemand::object o;

		return !parser.iterate(simdjson::padded_string_view(p, n,
		    n + simdjson::SIMDJSON_PADDING)).get(doc) && !doc.get_object().get(o) &&
		    each(p, n, doc, o);
	});
}

bool
keys(const char *text, size_t len, tally *t)
{
	return each_object(text, len, [t](const char *, size_t, simdjson::ondemand::document &,
	    simdjson::ondemand::object &o) {
		for (auto member : o) {
			simdjson::ondemand::field f;

			if (std::move(member).get(f))
				return false;
			t->numbers += *f.key().raw() == 'r';
		}
		t->docs++;
		return true;
	});
}

bool check_container(simdjson::ondemand::value &v, simdjson::ondemand::json_type t, int depth);

// Whether v is JSON in full, read without keeping anything.  Values and
// fields by reference, as common/jsonfast.cc reads them (copies of them
// cost a third more here).
inline bool
check_value(simdjson::ondemand::value &v, int depth)
{
	simdjson::ondemand::json_type t;
	simdjson::ondemand::raw_json_string r;
	double d;
	bool b;

	if (v.type().get(t))
		return false;
	switch (t) {
	case simdjson::ondemand::json_type::string:
		return !v.get_raw_json_string().get(r);
	case simdjson::ondemand::json_type::number:
		return !v.get_double().get(d);
	case simdjson::ondemand::json_type::boolean:
		return !v.get_bool().get(b);
	case simdjson::ondemand::json_type::null:
		return !v.is_null().get(b) && b;
	default:
		return check_container(v, t, depth);
	}
}

bool
check_container(simdjson::ondemand::value &v, simdjson::ondemand::json_type t, int depth)
{
	simdjson::ondemand::object o;
	simdjson::ondemand::array a;

	if (depth > 512)
		return false;
	if (t == simdjson::ondemand::json_type::object) {
		if (v.get_object().get(o))
			return false;
		for (auto member : o)
			if (member.error() || !check_value(member.value_unsafe().value(), depth + 1))
				return false;
		return true;
	}
	if (t != simdjson::ondemand::json_type::array || v.get_array().get(a))
		return false;
	for (auto item : a)
		if (item.error() || !check_value(item.value_unsafe(), depth + 1))
			return false;
	return true;
}

bool
check(const char *text, size_t len, tally *t)
{
	return each_object(text, len, [t](const char *p, size_t n,
	    simdjson::ondemand::document &doc, simdjson::ondemand::object &o) {
		const char *after;

		for (auto member : o)
			if (member.error() || !check_value(member.value_unsafe().value(), 1))
				return false;
		t->numbers += static_cast<long>(XXH3_64bits(p, n) & 1);
		t->docs++;
		return doc.current_location().get(after) == simdjson::OUT_OF_BOUNDS;
	});
}

// The earthquake preset's aggregates of one group.
struct sums {
	long n = 0, nm = 0, nd = 0, sig = 0, ts = 0;
	double sm = 0, mx = 0, mn = 0, sd = 0;
};

// The fields of one event the preset reads; NaN where one is missing or
// not a number (a JSON number is never NaN).
struct fields {
	double time = NAN, m = NAN, d = NAN, ts = NAN;
	std::string_view region;
};

// The preset's groups, by region and 5-minute window, and their sums.
struct groups {
	std::unordered_map<std::string, sums> map;
	std::string key;

	void
	add(const fields &f)
	{
		key.assign(std::to_string(static_cast<long long>((f.time + 299999) / 300000)));
		key.append(f.region);
		sums &s = map[key];
		s.n++;
		if (!std::isnan(f.m)) {
			s.mx = s.nm == 0 || f.m > s.mx ? f.m : s.mx;
			s.mn = s.nm == 0 || f.m < s.mn ? f.m : s.mn;
			s.sm += f.m;
			s.nm++;
			s.sig += f.m >= 5;
		}
		if (!std::isnan(f.d)) {
			s.sd += f.d;
			s.nd++;
		}
		s.ts += f.ts == 1;
	}
};

// x set to r's number, when it is one (get sets 0 when it is not).
inline bool
number(simdjson::simdjson_result<double> r, double *x)
{
	double v;

	if (std::move(r).get(v))
		return false;
	*x = v;
	return true;
}

bool
window(const char *text, size_t len, tally *t)
{
	groups g;
	bool ok = each_line(text, len, [&](simdjson::dom::object o) {
		fields f;

		if (!number(o.at_key("time").get_double(), &f.time))
			return false;
		if (o.at_key("region").get_string().get(f.region))
			f.region = "";
		number(o.at_key("magnitude").get_double(), &f.m);
		number(o.at_key("depth_km").get_double(), &f.d);
		number(o.at_key("tsunami_flag").get_double(), &f.ts);
		g.add(f);
		t->docs++;
		return true;
	});

	t->numbers = static_cast<long>(g.map.size());
	return ok;
}

// The same, with the fields read in the check walk of each line.
bool
least(const char *text, size_t len, tally *t)
{
	groups g;
	bool ok = each_object(text, len, [&](const char *p, size_t n,
	    simdjson::ondemand::document &doc, simdjson::ondemand::object &o) {
		const char *after;
		fields f;

		for (auto member : o) {
			if (member.error())
				return false;
			simdjson::ondemand::field &m = member.value_unsafe();
			simdjson::ondemand::value &v = m.value();
			simdjson::ondemand::raw_json_string k = m.key();
			double *x = k == "time" ? &f.time : k == "magnitude" ? &f.m :
			    k == "depth_km" ? &f.d : k == "tsunami_flag" ? &f.ts : nullptr;

			// A wanted value that is not what it is read as is checked.
			if (x != nullptr ? !number(v.get_double(), x) && !check_value(v, 1) :
			    k == "region" ? v.get_string().get(f.region) && !check_value(v, 1) :
			    !check_value(v, 1))
				return false;
		}
		if (std::isnan(f.time))
			return false;
		g.add(f);
		t->numbers += static_cast<long>(XXH3_64bits(p, n) & 1);
		t->docs++;
		return doc.current_location().get(after) == simdjson::OUT_OF_BOUNDS;
	});

	t->numbers = static_cast<long>(g.map.size());
	return ok;
}

}  // namespace

int
main(int argc, char **argv)
{
	size_t len;
	const char *text;
	tally t;
	double t0, t1, t2;

	if (argc != 3 || (std::strcmp(argv[1], "rows") != 0 && std::strcmp(argv[1], "lines") != 0 &&
	    std::strcmp(argv[1], "window") != 0 && std::strcmp(argv[1], "keys") != 0 &&
	    std::strcmp(argv[1], "check") != 0 && std::strcmp(argv[1], "least") != 0)) {
		std::fprintf(stderr, "usage: json-floor rows|lines|keys|check|least|window FILE\n");
		return 2;
	}
	if ((text = map_padded(argv[2], &len)) == nullptr)
		return 1;
	t0 = seconds();
	if (std::strcmp(argv[1], "rows") != 0) {
		std::string mode = argv[1];

		if (!(mode == "lines" ? lines(text, len, &t) : mode == "keys" ?
		    keys(text, len, &t) : mode == "check" ? check(text, len, &t) :
		    mode == "least" ? least(text, len, &t) : window(text, len, &t)))
			return 1;
		std::printf("%.3f\n", seconds() - t0);
		return 0;
	}
	if (!rows(text, len, false, &t))
		return 1;
	t1 = seconds();
	if (!rows(text, len, true, &t))
		return 1;
	t2 = seconds();
	std::printf("%.3f %.3f\n", t1 - t0, t2 - t1);
	return 0;
}
