// How the offline planner fills a tool's arguments from its input schema. Values with a clear
// signal come first, for any parameter: "name value" pairs ("limit 5", "status: sent"), enum
// values named in the question, values that fit a pattern or a format (ids, e-mail addresses,
// dates, URLs), arithmetic expressions. Required parameters then take what is left by position:
// numbers in order, a quoted text, the question itself for a query parameter. A required value
// the part of the question lacks is looked for in the whole question, then in this turn's tool
// results (chaining); what is still missing is asked for, never guessed.
#include <algorithm>
#include <cmath>
#include <set>

#include "idp/core/json_util.h"
#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {
namespace {

namespace bj = boost::json;

// Parameter names that want a search or question text.
bool is_query_param(std::string_view name) {
  static const std::set<std::string_view> kNames{
      "query",        "question",    "prompt",       "q",          "request",       "ask",
      "task",         "instruction", "instructions", "user_query", "user_question", "search",
      "search_query", "input_text"};
  return kNames.contains(lowercase(name));
}
bool name_has(std::string_view name, std::string_view word) {
  return lowercase(name).find(word) != std::string::npos;
}

// Key for comparing field names: lowercase letters and digits only.
std::string field_key(std::string_view name) {
  std::string out;
  for (char c : lowercase(name)) {
    if (std::isalnum(static_cast<unsigned char>(c))) out += c;
  }
  return out;
}

struct Used {
  std::set<std::pair<const Analysis*, std::size_t>> entities;  // (analysis, entity index)
};

class Filler {
 public:
  Filler(const ToolSpec& tool, const Evidence& evidence) : tool_(tool), evidence_(evidence) {
    props_ = ::idp::json::find_object(tool.input_schema, "properties");
    if (const auto* req = ::idp::json::find_array(tool.input_schema, "required")) {
      for (const auto& r : *req) {
        if (r.is_string()) required_.emplace_back(r.get_string());
      }
    }
    for (std::string_view key : {"anyOf", "oneOf"}) {
      const auto* alts = ::idp::json::find_array(tool.input_schema, key);
      if (!alts) continue;
      for (const auto& alt : *alts) {
        const auto* o = alt.if_object();
        const auto* req = o ? ::idp::json::find_array(*o, "required") : nullptr;
        if (!req) continue;
        std::vector<std::string> names;
        for (const auto& r : *req) {
          if (r.is_string()) names.emplace_back(r.get_string());
        }
        if (!names.empty()) alternatives_.push_back(std::move(names));
      }
    }
  }

  Arguments run(const Analysis& part, const Analysis& whole) {
    if (!props_) {
      result_.missing = required_;
      return result_;
    }
    fill_from(part, /*only_required=*/false);
    if (&whole != &part) fill_from(whole, /*only_required=*/true);
    result_.filled_from_question = result_.args.size();
    for (const auto& name : wanted()) {
      if (result_.args.contains(name)) continue;
      if (auto v = from_evidence(name)) result_.args[name] = std::move(*v);
    }
    for (const auto& name : required_) {
      if (result_.args.contains(name)) continue;
      const bj::object& schema = property_schema(tool_, name);
      if (const auto* d = schema.if_contains("default")) result_.args[name] = *d;
    }
    for (const auto& name : required_) {
      if (!result_.args.contains(name)) result_.missing.push_back(name);
    }
    if (!alternatives_.empty() && !alternative_satisfied()) {
      result_.alternatives = result_.missing.empty();
      for (const auto& alt : alternatives_) {
        for (const auto& name : alt) {
          if (!result_.args.contains(name) &&
              std::find(result_.missing.begin(), result_.missing.end(), name) ==
                  result_.missing.end()) {
            result_.missing.push_back(name);
          }
        }
      }
    }
    return result_;
  }

 private:
  bool is_required(std::string_view name) const {
    return std::find(required_.begin(), required_.end(), name) != required_.end();
  }
  bool alternative_satisfied() const {
    return std::any_of(alternatives_.begin(), alternatives_.end(), [&](const auto& alt) {
      return std::all_of(alt.begin(), alt.end(),
                         [&](const std::string& n) { return result_.args.contains(n); });
    });
  }
  bool is_wanted(const std::string& name) const {
    auto w = wanted();
    return std::find(w.begin(), w.end(), name) != w.end();
  }
  // Required names, then the names of unsatisfied alternatives.
  std::vector<std::string> wanted() const {
    std::vector<std::string> out = required_;
    if (!alternative_satisfied()) {
      for (const auto& alt : alternatives_) out.insert(out.end(), alt.begin(), alt.end());
    }
    return out;
  }

  void fill_from(const Analysis& a, bool only_required) {
    // Signals first, for every parameter; then positions, for required ones.
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& [key, schema_value] : *props_) {
        std::string name(key);
        if (result_.args.contains(name) || !schema_value.is_object()) continue;
        if (only_required && !is_wanted(name)) continue;
        const bj::object& schema = schema_value.get_object();
        auto v = pass == 0 ? by_signal(name, schema, a) : by_position(name, schema, a);
        if (v) result_.args[name] = std::move(*v);
      }
    }
  }

  bool free(const Analysis& a, std::size_t i) const { return !used_.entities.contains({&a, i}); }
  void use(const Analysis& a, std::size_t i) { used_.entities.insert({&a, i}); }

  // The first free entity of the given kinds whose value fits the schema.
  std::optional<bj::value> first_fitting(const Analysis& a, const bj::object& schema,
                                         std::initializer_list<EntityKind> kinds) {
    for (std::size_t i = 0; i < a.entities.size(); ++i) {
      const Entity& e = a.entities[i];
      if (!free(a, i) || std::find(kinds.begin(), kinds.end(), e.kind) == kinds.end()) continue;
      std::string type = schema_type(schema);
      std::optional<bj::value> converted;
      if (type == "number" || type == "integer") {
        converted = convert(e, schema, false);
        if (!converted) continue;
      }
      bj::value v = converted ? *converted : bj::value(e.value);
      if (schema_format(schema) == "date-time" && e.kind == EntityKind::kDate &&
          e.value.size() == 10) {
        v = bj::value(e.value + "T00:00:00Z");
      }
      if (fits_schema(v, schema)) {
        use(a, i);
        return v;
      }
    }
    return std::nullopt;
  }

  // "limit 5", "status: sent", "subject 'Welcome'", "a=2": the value after the parameter's name.
  std::optional<bj::value> keyed(std::string_view name, const bj::object& schema,
                                 const Analysis& a) {
    std::string low = lowercase(a.text);
    std::vector<std::string> forms{lowercase(name)};
    std::string spaced;
    for (const auto& w : split_identifier(name)) spaced += (spaced.empty() ? "" : " ") + w;
    if (spaced != forms[0]) forms.push_back(spaced);
    bool short_name = name.size() < 3;
    for (const auto& form : forms) {
      std::size_t occurrences = 0;
      for (std::size_t at = low.find(form); at != std::string::npos && ++occurrences <= 16;
           at = low.find(form, at + 1)) {
        std::size_t end = at + form.size();
        bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(low[at - 1]));
        bool ends = end == low.size() || !std::isalnum(static_cast<unsigned char>(low[end]));
        if (!starts || !ends) continue;
        bool quoted = std::any_of(a.entities.begin(), a.entities.end(), [&](const Entity& e) {
          return e.kind == EntityKind::kQuoted && e.begin <= at && at < e.end;
        });
        if (quoted) continue;
        std::size_t k = end;
        while (k < low.size() && low[k] == ' ') ++k;
        bool strong = k < low.size() && (low[k] == ':' || low[k] == '=');
        if (short_name && !strong) continue;
        if (strong) ++k;
        // The first entity after the name, past filler words.
        for (std::size_t i = 0; i < a.entities.size(); ++i) {
          const Entity& e = a.entities[i];
          if (e.end <= at) continue;
          if (e.begin < k) {
            // "a=2" is one word: take what follows the '='.
            std::string_view rest = std::string_view(a.text).substr(k, e.end > k ? e.end - k : 0);
            if (e.begin < end && !rest.empty() && strong && free(a, i)) {
              Analysis inner = analyse(rest);
              if (!inner.entities.empty()) {
                if (auto v = convert(inner.entities.front(), schema, true)) {
                  use(a, i);
                  return v;
                }
              }
            }
            continue;
          }
          std::string word = lowercase(e.value);
          if (e.kind == EntityKind::kWord &&
              (word == "is" || word == "of" || word == "to" || word == "as" || word == "be" ||
               word == "set" || word == "equal" || word == "equals" || word == "with" ||
               word == "named" || word == "called" || word == "=" || word == ":")) {
            strong = strong || word == "is" || word == "named" || word == "called";
            continue;
          }
          if (!free(a, i)) break;
          if (auto v = convert(e, schema, strong)) {
            use(a, i);
            return v;
          }
          break;
        }
      }
    }
    return std::nullopt;
  }

  // An entity as a value of this schema, or nullopt. A bare word is only a value of a
  // constrained parameter or after a strong connector ("subject: Welcome").
  std::optional<bj::value> convert(const Entity& e, const bj::object& schema, bool strong) {
    std::string type = schema_type(schema);
    bj::value v;
    if (type == "number" || type == "integer") {
      if (e.kind != EntityKind::kNumber) return std::nullopt;
      bool whole = e.number == std::trunc(e.number) && std::fabs(e.number) < 9e15;
      if (type == "integer" && !whole) return std::nullopt;
      // JSON has one number type: 2 rather than 2.0 when the value is whole.
      v = whole ? bj::value(static_cast<std::int64_t>(e.number)) : bj::value(e.number);
    } else if (type == "boolean") {
      std::string w = lowercase(e.value);
      if (w == "true" || w == "yes" || w == "on") {
        v = true;
      } else if (w == "false" || w == "no" || w == "off") {
        v = false;
      } else {
        return std::nullopt;
      }
    } else if (type == "string" || type.empty()) {
      bool constrained =
          schema.contains("pattern") || schema.contains("format") || schema.contains("enum");
      if (e.kind == EntityKind::kWord && !constrained && !strong) return std::nullopt;
      v = bj::value(e.value);
      if (const auto* en = ::idp::json::find_array(schema, "enum")) {
        for (const auto& option : *en) {
          if (option.is_string() && lowercase(option.get_string()) == lowercase(e.value)) {
            v = option;
          }
        }
      }
    } else {
      return std::nullopt;
    }
    if (!fits_schema(v, schema)) return std::nullopt;
    return v;
  }

  std::optional<bj::value> by_signal(const std::string& name, const bj::object& schema,
                                     const Analysis& a) {
    if (auto v = keyed(name, schema, a)) return v;
    std::string type = schema_type(schema);
    if (const auto* en = ::idp::json::find_array(schema, "enum")) {
      // The enum value named earliest in the question.
      std::string low = lowercase(a.text);
      std::optional<bj::value> best;
      std::size_t best_at = std::string::npos;
      for (const auto& option : *en) {
        if (!option.is_string() || option.get_string().empty()) continue;
        std::string o = lowercase(option.get_string());
        for (std::size_t at = low.find(o); at != std::string::npos; at = low.find(o, at + 1)) {
          bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(low[at - 1]));
          bool ends = at + o.size() == low.size() ||
                      !std::isalnum(static_cast<unsigned char>(low[at + o.size()]));
          if (starts && ends && at < best_at) {
            best_at = at;
            best = option;
          }
        }
      }
      return best;
    }
    if (type == "array") return by_array(schema, a, /*signal=*/true);
    if (type != "string") return std::nullopt;
    std::string format = schema_format(schema);
    if (schema.contains("pattern")) {
      // A pattern that accepts almost anything (a subject line, an idempotency key) must not
      // pull stray words into an optional parameter: optional ones take only ids and quoted text.
      if (!is_required(name)) {
        return first_fitting(a, schema, {EntityKind::kId, EntityKind::kQuoted});
      }
      return first_fitting(
          a, schema,
          {EntityKind::kId, EntityKind::kNumber, EntityKind::kQuoted, EntityKind::kEmail,
           EntityKind::kDate, EntityKind::kUrl, EntityKind::kWord});
    }
    if (format == "email" || (format.empty() && name_has(name, "email"))) {
      return first_fitting(a, schema, {EntityKind::kEmail});
    }
    if (format == "date" || format == "date-time" || (format.empty() && name_has(name, "date"))) {
      return first_fitting(a, schema, {EntityKind::kDate});
    }
    if (format == "uri" || format == "url" || format == "iri" ||
        (format.empty() && (name_has(name, "url") || name_has(name, "uri")))) {
      return first_fitting(a, schema, {EntityKind::kUrl});
    }
    if (is_expression_param(name, schema)) {
      return first_fitting(a, schema, {EntityKind::kExpression});
    }
    return std::nullopt;
  }

  std::optional<bj::value> by_array(const bj::object& schema, const Analysis& a, bool signal) {
    const bj::object* items = ::idp::json::find_object(schema, "items");
    static const bj::object kAny;
    const bj::object& item = items ? *items : kAny;
    std::string type = schema_type(item);
    bj::array out;
    std::vector<std::size_t> taken;
    for (std::size_t i = 0; i < a.entities.size(); ++i) {
      const Entity& e = a.entities[i];
      if (!free(a, i)) continue;
      std::optional<bj::value> v;
      if (type == "number" || type == "integer") {
        if (signal) continue;  // numbers by position only
        v = convert(e, item, false);
      } else if (type == "string" && item.contains("enum")) {
        v = convert(e, item, false);
        if (e.kind != EntityKind::kWord && e.kind != EntityKind::kQuoted) v.reset();
      } else if (type == "string" && (item.contains("pattern") || item.contains("format"))) {
        if (e.kind != EntityKind::kWord) v = convert(e, item, false);
      } else if (type == "string" && !signal && e.kind == EntityKind::kQuoted) {
        v = convert(e, item, true);
      }
      if (v) {
        out.push_back(std::move(*v));
        taken.push_back(i);
      }
    }
    if (out.empty() || !fits_schema(out, schema)) return std::nullopt;
    for (auto i : taken) use(a, i);
    return bj::value(std::move(out));
  }

  std::optional<bj::value> by_position(const std::string& name, const bj::object& schema,
                                       const Analysis& a) {
    std::string type = schema_type(schema);
    bool required = is_required(name);
    if (type == "number" || type == "integer") {
      // An optional number only when it is the tool's one numeric parameter and the question
      // has one number left ("list 5 messages" -> limit 5).
      if (!required && !(numeric_params() == 1 && free_count(a, EntityKind::kNumber) == 1)) {
        return std::nullopt;
      }
      return first_fitting(a, schema, {EntityKind::kNumber});
    }
    if (!required) return std::nullopt;
    if (type == "array") return by_array(schema, a, /*signal=*/false);
    if (type == "boolean") return as_flag(name, a);
    if (type != "string" && !type.empty()) return std::nullopt;
    if (schema.contains("pattern") || schema.contains("format") || schema.contains("enum")) {
      return std::nullopt;  // only a value that fits, found by signal
    }
    if (is_expression_param(name, schema)) return std::nullopt;
    if (is_query_param(name)) {
      bj::value v(a.text);
      return fits_schema(v, schema) ? std::optional<bj::value>(v) : std::nullopt;
    }
    if (auto v = first_fitting(a, schema, {EntityKind::kQuoted})) return v;
    // "Count the words: the quick brown fox" -> the text after the colon.
    auto colon = a.text.find(':');
    if (colon != std::string::npos) {
      std::string rest = a.text.substr(colon + 1);
      rest.erase(0, rest.find_first_not_of(" \t"));
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '?')) rest.pop_back();
      bj::value v(rest);
      if (!rest.empty() && fits_schema(v, schema)) return v;
    }
    return std::nullopt;
  }

  // A required flag: its name in the question means true, "no"/"not"/"without" before it false.
  std::optional<bj::value> as_flag(const std::string& name, const Analysis& a) {
    std::string low = lowercase(a.text);
    auto words = split_identifier(name);
    if (words.empty()) return std::nullopt;
    auto at = low.find(words.front());
    if (at == std::string::npos) return std::nullopt;
    std::string before = low.substr(at >= 12 ? at - 12 : 0, at >= 12 ? 12 : at);
    for (std::string_view neg : {"no ", "not ", "without ", "don't ", "dont "}) {
      if (before.find(neg) != std::string::npos) return bj::value(false);
    }
    return bj::value(true);
  }

  std::size_t numeric_params() const {
    std::size_t n = 0;
    for (const auto& [k, v] : *props_) {
      if (!v.is_object()) continue;
      std::string t = schema_type(v.get_object());
      if (t == "number" || t == "integer") ++n;
    }
    return n;
  }
  std::size_t free_count(const Analysis& a, EntityKind kind) const {
    std::size_t n = 0;
    for (std::size_t i = 0; i < a.entities.size(); ++i) {
      if (a.entities[i].kind == kind && free(a, i)) ++n;
    }
    return n;
  }

  // A value for `name` from this turn's tool results: a field of that name (or ending in it),
  // or, for a constrained parameter, a value in a result text that fits.
  std::optional<bj::value> from_evidence(const std::string& name) {
    const bj::object& schema = property_schema(tool_, name);
    std::string want = field_key(name);
    auto words = split_identifier(name);
    std::string last = words.empty() ? want : field_key(words.back());
    std::optional<bj::value> found;
    auto visit = [&](auto&& self, const bj::value& v, int depth) -> void {
      if (found || depth > 3) return;
      if (const auto* o = v.if_object()) {
        for (const auto& [k, child] : *o) {
          std::string key = field_key(k);
          auto kwords = split_identifier(k);
          std::string klast = kwords.empty() ? key : field_key(kwords.back());
          bool match = key == want || (words.size() > 1 && last == key) ||
                       (kwords.size() > 1 && klast == want);
          if (match && fits_schema(child, schema) && !child.is_object() && !child.is_array()) {
            found = child;
            return;
          }
        }
        for (const auto& [k, child] : *o) self(self, child, depth + 1);
      } else if (const auto* arr = v.if_array()) {
        if (!arr->empty()) self(self, arr->front(), depth + 1);
      }
    };
    for (const auto& s : evidence_.structured) {
      visit(visit, s, 0);
      if (found) return found;
    }
    bool constrained =
        schema.contains("pattern") || !schema_format(schema).empty() || name_has(name, "email");
    if (!constrained) return std::nullopt;
    for (const auto& text : evidence_.texts) {
      Analysis a = analyse(text);
      if (name_has(name, "email") || schema_format(schema) == "email") {
        if (auto v = first_fitting(a, schema, {EntityKind::kEmail})) return v;
      } else if (auto v = first_fitting(a, schema,
                                        {EntityKind::kId, EntityKind::kNumber, EntityKind::kDate,
                                         EntityKind::kUrl, EntityKind::kEmail})) {
        return v;
      }
    }
    return std::nullopt;
  }

  const ToolSpec& tool_;
  const Evidence& evidence_;
  const bj::object* props_ = nullptr;
  std::vector<std::string> required_;
  std::vector<std::vector<std::string>> alternatives_;
  Used used_;
  Arguments result_;
};

}  // namespace

bool is_expression_param(std::string_view name, const boost::json::object& schema) {
  static const std::set<std::string_view> kNames{"expression", "expr",        "formula",
                                                 "equation",   "calculation", "math"};
  if (kNames.contains(lowercase(name))) return true;
  const auto* d = ::idp::json::find_string(schema, "description");
  return d && lowercase(*d).find("expression") != std::string::npos;
}

const boost::json::object& property_schema(const ToolSpec& tool, std::string_view name) {
  static const bj::object kEmpty;
  const auto* props = ::idp::json::find_object(tool.input_schema, "properties");
  if (!props) return kEmpty;
  auto it = props->find(name);
  return it != props->end() && it->value().is_object() ? it->value().get_object() : kEmpty;
}

Arguments fill_arguments(const ToolSpec& tool, const Analysis& part, const Analysis& whole,
                         const Evidence& evidence) {
  Filler filler(tool, evidence);
  return filler.run(part, whole);
}

std::optional<Provider> find_provider(const std::vector<ToolSpec>& tools, std::size_t target,
                                      std::string_view field, const Analysis& question) {
  std::vector<std::string> field_words;
  for (const auto& w : split_identifier(field)) {
    std::string n = normalize_word(w);
    if (!n.empty() && !is_stop_word(n)) field_words.push_back(n);
  }
  if (field_words.empty()) return std::nullopt;
  std::optional<Provider> best;
  double best_score = 0;
  for (std::size_t i = 0; i < tools.size(); ++i) {
    if (i == target) continue;
    const ToolSpec& tool = tools[i];
    // A tool that takes the field as input consumes it; it does not provide it.
    if (const auto* props = ::idp::json::find_object(tool.input_schema, "properties")) {
      bool consumes = std::any_of(props->begin(), props->end(), [&](const auto& kv) {
        return field_key(kv.key()) == field_key(field);
      });
      if (consumes) continue;
    }
    std::vector<std::string> name_words;
    for (const auto& w : split_identifier(tool.name)) name_words.push_back(normalize_word(w));
    auto desc_words = keywords_of(tool.description);
    auto has_all = [&](const std::vector<std::string>& words) {
      return std::all_of(field_words.begin(), field_words.end(), [&](const std::string& f) {
        return std::find(words.begin(), words.end(), f) != words.end();
      });
    };
    double mention = has_all(name_words) ? 2.0 : has_all(desc_words) ? 1.0 : 0.0;
    if (mention == 0) continue;
    Arguments args = fill_arguments(tool, question, question, Evidence{});
    if (!args.missing.empty()) continue;
    if (args.filled_from_question == 0 && mention < 2.0) continue;
    double score = mention + 0.01 * score_tool(question, tool);
    if (score > best_score) {
      best_score = score;
      best = Provider{i, std::move(args.args)};
    }
  }
  return best;
}

}  // namespace idp::llm::offline
