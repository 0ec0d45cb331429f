// How the offline planner writes its answers: the tool list, the question back for a missing
// argument, and the results of the calls it made: a value in a sentence, an object as a list of
// fields, an array of objects as a table block, a labelled series of numbers as a chart block
// when the question asks for one, text results as they came, errors said plainly.
#include <algorithm>
#include <cctype>

#include "idp/core/json_util.h"
#include "idp/core/text.h"
#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {
namespace {

namespace bj = boost::json;

constexpr std::size_t kMaxColumns = 20;
constexpr std::size_t kMaxRows = 500;
constexpr std::size_t kMaxCell = 500;
constexpr std::size_t kMaxText = 8000;
constexpr std::size_t kMaxDescription = 300;

// Cuts at a UTF-8 boundary, marking the cut.
std::string clip(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  return std::string(utf8_prefix(s, max)) + "…";
}

// One line: whitespace runs become one space.
std::string one_line(std::string_view s) {
  std::string out;
  for (char c : s) {
    bool space = c == ' ' || c == '\n' || c == '\r' || c == '\t';
    if (space) {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else {
      out += c;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string scalar_text(const bj::value& v) {
  if (const auto* s = v.if_string()) return std::string(*s);
  if (v.is_double()) return format_number(v.get_double());
  if (v.is_int64()) return std::to_string(v.get_int64());
  if (v.is_uint64()) return std::to_string(v.get_uint64());
  if (v.is_bool()) return v.get_bool() ? "true" : "false";
  if (v.is_null()) return "";
  return ::idp::json::serialize(v);
}

bool is_scalar(const bj::value& v) { return !v.is_object() && !v.is_array(); }

bool all_objects(const bj::array& a) {
  return !a.empty() &&
         std::all_of(a.begin(), a.end(), [](const bj::value& v) { return v.is_object(); });
}

struct Rows {
  const bj::array* rows = nullptr;
  std::string member;  // the member that held them ("messages"), empty for a bare array
};

// An array of objects, or the first member of an object that is one (possibly empty).
Rows find_rows(const bj::value& v) {
  if (const auto* a = v.if_array()) return all_objects(*a) ? Rows{a, ""} : Rows{};
  if (const auto* o = v.if_object()) {
    for (const auto& [k, child] : *o) {
      if (const auto* a = child.if_array(); a && (a->empty() || all_objects(*a))) {
        if (a->empty() && o->size() > 1) continue;  // an empty list beside other fields
        return Rows{a, std::string(k)};
      }
    }
  }
  return {};
}

bj::value json_number(double d) {
  if (d == static_cast<double>(static_cast<std::int64_t>(d))) {
    return bj::value(static_cast<std::int64_t>(d));
  }
  return bj::value(d);
}

// The columns of rows, in first-seen order.
std::vector<std::string> columns_of(const bj::array& rows) {
  std::vector<std::string> cols;
  for (const auto& r : rows) {
    for (const auto& [k, v] : r.get_object()) {
      std::string key(k);
      if (std::find(cols.begin(), cols.end(), key) == cols.end() && cols.size() < kMaxColumns) {
        cols.push_back(key);
      }
    }
  }
  return cols;
}

std::string markdown_table(const bj::array& rows) {
  auto cols = columns_of(rows);
  auto cell = [](const bj::value* v) {
    std::string s = v ? one_line(clip(scalar_text(*v), kMaxCell)) : std::string();
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
  };
  std::string out = "|";
  for (const auto& c : cols) out += " " + humanize(c) + " |";
  out += "\n|";
  for (std::size_t i = 0; i < cols.size(); ++i) out += " --- |";
  std::size_t n = 0;
  for (const auto& r : rows) {
    if (++n > kMaxRows) break;
    out += "\n|";
    for (const auto& c : cols) out += " " + cell(r.get_object().if_contains(c)) + " |";
  }
  return out;
}

// "client_id: C-1001, limit: 5"
std::string input_summary(const bj::object& input) {
  std::string out;
  for (const auto& [k, v] : input) {
    if (!out.empty()) out += ", ";
    out += std::string(k) + ": " + one_line(clip(scalar_text(v), 80));
  }
  return out;
}

bool has_image(const ToolResultBlock& r) {
  return std::any_of(r.content.begin(), r.content.end(), [](const bj::value& block) {
    const auto* o = block.if_object();
    const auto* type = o ? ::idp::json::find_string(*o, "type") : nullptr;
    return type && *type == "image";
  });
}

// A block the tool wrote itself ({"responseType":"table"|"plotData","data":...}): kept as is.
std::optional<bj::object> own_block(const bj::value& v) {
  const auto* o = v.if_object();
  const auto* type = o ? ::idp::json::find_string(*o, "responseType") : nullptr;
  if (type && (*type == "table" || *type == "plotData") && o->contains("data")) return *o;
  return std::nullopt;
}

// An object's fields as "- Label: value" lines; nested objects one level deep.
std::string field_lines(const bj::object& o) {
  std::string out;
  for (const auto& [k, v] : o) {
    if (const auto* inner = v.if_object()) {
      for (const auto& [ik, iv] : *inner) {
        out += "\n- " + humanize(k) + " " + lowercase(humanize(ik)) + ": " +
               one_line(clip(scalar_text(iv), kMaxCell));
      }
      continue;
    }
    std::string value;
    if (const auto* a = v.if_array(); a && std::all_of(a->begin(), a->end(), is_scalar)) {
      for (const auto& item : *a) value += (value.empty() ? "" : ", ") + scalar_text(item);
    } else {
      value = scalar_text(v);
    }
    out += "\n- " + humanize(k) + ": " + one_line(clip(value, kMaxCell));
  }
  return out;
}

// A structured object that is one value (besides echoes of the input): the sentence for it.
std::optional<std::string> single_value(const bj::object& o, const Outcome& out) {
  const bj::value* only = nullptr;
  std::string key;
  for (const auto& [k, v] : o) {
    if (const auto* in = out.input.if_contains(k); in && *in == v) continue;  // an echo
    if (only) return std::nullopt;
    only = &v;
    key = std::string(k);
  }
  if (!only) return std::nullopt;
  // An expression's result: "(12.5 + 7) * 3 = 58.5".
  for (const auto& [k, v] : out.input) {
    std::string name = lowercase(k);
    if (is_scalar(*only) && v.is_string() &&
        (name == "expression" || name == "expr" || name == "formula" || name == "equation")) {
      return std::string(v.get_string()) + " = " + scalar_text(*only);
    }
  }
  std::string label = lowercase(humanize(key));
  if (is_scalar(*only)) return "The " + label + " is " + scalar_text(*only) + ".";
  if (const auto* a = only->if_array(); a && std::all_of(a->begin(), a->end(), is_scalar)) {
    if (a->empty()) return "No " + label + " found.";
    std::string list;
    for (const auto& item : *a) list += (list.empty() ? "" : ", ") + scalar_text(item);
    return humanize(key) + " (" + std::to_string(a->size()) + "): " + list + ".";
  }
  return std::nullopt;
}

Written write_one(const Outcome& out, std::string_view question, bool block_free, bool several) {
  Written w;
  const std::string& name = out.tool;
  if (!out.result) {
    w.text = name + " gave no result.";
    return w;
  }
  bool image = has_image(*out.result);
  std::string text = result_text(*out.result);
  if (out.result->is_error) {
    std::string why = one_line(clip(text, 1000));
    w.text = name + " failed: " + (why.empty() ? std::string("it did not say why.") : why);
    if (!w.text.ends_with(".")) w.text += ".";
    return w;
  }
  auto structured = structured_result(*out.result);
  std::string lead = name + (out.input.empty() ? "" : " (" + input_summary(out.input) + ")");
  if (structured) {
    if (auto own = own_block(*structured)) {
      if (block_free) {
        w.text = "Here is the result of " + name + ":";
        w.block = std::move(*own);
        return w;
      }
    }
    if (auto type = chart_request(question)) {
      if (auto plot = plot_block(*structured, *type); plot && block_free) {
        w.text = "Here is a " + *type + " chart of the result of " + lead + ":";
        w.block = std::move(*plot);
        return w;
      }
    }
    Rows rows = find_rows(*structured);
    if (rows.rows) {
      std::string what =
          rows.member.empty() ? std::string("rows") : lowercase(humanize(rows.member));
      std::size_t n = rows.rows->size();
      if (n == 0) {
        w.text = lead + " found no " + what + ".";
      } else if (block_free) {
        w.text = lead + " returned " + std::to_string(n) + " " + what + ":";
        w.block = table_block(*structured);
      } else {
        w.text = lead + " returned " + std::to_string(n) + " " + what + ":\n\n" +
                 markdown_table(*rows.rows);
      }
      return w;
    }
    if (const auto* o = structured->if_object()) {
      if (auto sentence = single_value(*o, out)) {
        w.text = several ? name + ": " + *sentence : *sentence;
        return w;
      }
      w.text = lead + ":" + field_lines(*o);
      return w;
    }
    if (const auto* a = structured->if_array()) {
      std::string list;
      for (const auto& item : *a) list += (list.empty() ? "" : ", ") + scalar_text(item);
      w.text = lead + ": " + (list.empty() ? std::string("nothing") : clip(list, kMaxText));
      return w;
    }
  }
  if (!text.empty()) {
    w.text = several ? "**" + name + "**: " + clip(text, kMaxText) : clip(text, kMaxText);
  } else {
    w.text = name + " returned nothing to show.";
  }
  if (image) w.text += "\n(" + name + " also returned an image, not shown here.)";
  return w;
}

}  // namespace

std::string result_text(const ToolResultBlock& r) {
  std::string out;
  for (const auto& block : r.content) {
    const auto* o = block.if_object();
    if (!o) continue;
    const auto* type = ::idp::json::find_string(*o, "type");
    if (type && *type == "text") {
      if (const auto* t = ::idp::json::find_string(*o, "text")) {
        if (!out.empty()) out += "\n";
        out += std::string(*t);
      }
    }
  }
  return out;
}

std::optional<boost::json::value> structured_result(const ToolResultBlock& r) {
  for (const auto& block : r.content) {
    const auto* o = block.if_object();
    const auto* type = o ? ::idp::json::find_string(*o, "type") : nullptr;
    if (type && *type == "json" && o->contains("json")) return o->at("json");
  }
  for (const auto& block : r.content) {
    const auto* o = block.if_object();
    const auto* type = o ? ::idp::json::find_string(*o, "type") : nullptr;
    const auto* text = o ? ::idp::json::find_string(*o, "text") : nullptr;
    if (!type || *type != "text" || !text) continue;
    std::string_view t = *text;
    while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.remove_prefix(1);
    if (t.empty() || (t.front() != '{' && t.front() != '[')) continue;
    if (auto v = ::idp::json::parse(t); v && (v->is_object() || v->is_array())) return *v;
  }
  return std::nullopt;
}

std::optional<boost::json::object> table_block(const boost::json::value& structured) {
  Rows rows = find_rows(structured);
  if (!rows.rows || rows.rows->empty()) return std::nullopt;
  bj::array headers;
  auto cols = columns_of(*rows.rows);
  for (const auto& c : cols) headers.push_back(bj::object{{"id", c}, {"label", humanize(c)}});
  bj::array out_rows;
  std::size_t n = 0;
  for (const auto& r : *rows.rows) {
    if (n >= kMaxRows) break;
    bj::object data;
    for (const auto& c : cols) {
      const bj::value* v = r.get_object().if_contains(c);
      data[c] = v ? clip(scalar_text(*v), kMaxCell) : std::string();
    }
    out_rows.push_back(bj::object{{"id", std::to_string(++n)}, {"data", std::move(data)}});
  }
  return bj::object{
      {"responseType", "table"},
      {"data", bj::object{{"headers", std::move(headers)}, {"rows", std::move(out_rows)}}}};
}

std::optional<boost::json::object> plot_block(const boost::json::value& structured,
                                              std::string_view type) {
  bj::array labels;
  bj::array datasets;
  const bj::value* v = &structured;
  // An object whose only member is the series: {"totals": {...}} or {"months": [...]}.
  if (const auto* o = v->if_object(); o && o->size() == 1 && !is_scalar(o->begin()->value())) {
    v = &o->begin()->value();
  }
  if (const auto* o = v->if_object()) {
    // label -> number
    bj::array data;
    for (const auto& [k, val] : *o) {
      auto n = number_value(val);
      if (!n) return std::nullopt;
      labels.push_back(bj::value(humanize(k)));
      data.push_back(json_number(*n));
    }
    datasets.push_back(bj::object{{"label", "Value"}, {"data", std::move(data)}});
  } else if (const auto* a = v->if_array(); a && all_objects(*a)) {
    // rows with one text column (the labels) and number columns (the datasets)
    const bj::object& first = a->front().get_object();
    std::string label_key;
    std::vector<std::string> number_keys;
    for (const auto& [k, val] : first) {
      if (val.is_string() && label_key.empty()) {
        label_key = std::string(k);
      } else if (number_value(val)) {
        number_keys.emplace_back(k);
      }
    }
    if (label_key.empty() || number_keys.empty()) return std::nullopt;
    std::vector<bj::array> series(number_keys.size());
    for (const auto& row : *a) {
      const bj::object& r = row.get_object();
      const auto* label = ::idp::json::find_string(r, label_key);
      if (!label) return std::nullopt;
      labels.push_back(bj::value(*label));
      for (std::size_t i = 0; i < number_keys.size(); ++i) {
        auto n = ::idp::json::find_number(r, number_keys[i]);
        if (!n) return std::nullopt;
        series[i].push_back(json_number(*n));
      }
    }
    for (std::size_t i = 0; i < number_keys.size(); ++i) {
      datasets.push_back(
          bj::object{{"label", humanize(number_keys[i])}, {"data", std::move(series[i])}});
    }
  } else {
    return std::nullopt;
  }
  if (labels.size() < 2) return std::nullopt;
  if (type == "pie") datasets.resize(1);
  return bj::object{{"responseType", "plotData"},
                    {"data", bj::object{{"type", type},
                                        {"data", bj::object{{"labels", std::move(labels)},
                                                            {"datasets", std::move(datasets)}}}}}};
}

std::optional<std::string> chart_request(std::string_view question) {
  std::string q = " " + lowercase(question) + " ";
  auto has = [&](std::string_view w) { return q.find(w) != std::string::npos; };
  if (has(" pie")) return "pie";
  if (has("line chart") || has("line graph") || has(" trend") || has("over time")) return "line";
  if (has(" chart") || has(" plot") || has(" graph") || has("visuali") || has("histogram") ||
      has(" bar ")) {
    return "bar";
  }
  return std::nullopt;
}

std::string fence(const boost::json::object& block) {
  return "```json\n" + ::idp::json::serialize(block) + "\n```";
}

std::string write_tool_list(const std::vector<ToolSpec>& tools) {
  bool agents = !tools.empty() && std::all_of(tools.begin(), tools.end(), [](const ToolSpec& t) {
    return takes_whole_question(t) && t.name.ends_with("_agent");
  });
  std::string out = agents ? "I can pass your question to these agents:" : "I can use these tools:";
  for (const auto& t : tools) {
    std::string d = one_line(clip(t.description, kMaxDescription));
    out += "\n- **" + t.name + "**" + (d.empty() ? "" : ": " + d);
  }
  out += "\n\nAsk a question one of them can answer. (Offline planner: answers come from the " +
         std::string(agents ? "agents" : "tools") + ", not from a language model.)";
  return out;
}

std::string write_no_match(const std::vector<ToolSpec>& tools) {
  std::string names;
  for (const auto& t : tools) names += (names.empty() ? "" : ", ") + t.name;
  return "I could not match your question to a tool; the tools are: " + names +
         ". Ask about what one of them does (\"Which tools do you have?\" describes each), or "
         "use a language model (--model) for open questions.";
}

std::string write_no_tools() {
  return "I could not answer: no tools are available, and the offline planner answers only with "
         "tools. Add an MCP server to the agent list, or use a language model (--model).";
}

std::string describe_expected(const ToolSpec& tool, std::string_view name) {
  const bj::object& schema = property_schema(tool, name);
  std::string type = schema_type(schema);
  std::string format = schema_format(schema);
  std::vector<std::string> parts;
  if (const auto* d = ::idp::json::find_string(schema, "description"); d && !d->empty()) {
    parts.emplace_back(*d);
  }
  if (const auto* en = ::idp::json::find_array(schema, "enum")) {
    std::string list;
    for (const auto& v : *en) {
      list += (list.empty() ? "" : ", ") +
              (v.is_string() ? std::string(v.get_string()) : ::idp::json::serialize(v));
    }
    parts.push_back("one of " + list);
  } else if (const auto* p = ::idp::json::find_string(schema, "pattern")) {
    // An example that fits: from the schema's examples, else from the descriptions.
    std::string example;
    if (const auto* ex = ::idp::json::find_array(schema, "examples")) {
      for (const auto& v : *ex) {
        if (v.is_string() && fits_schema(v, schema)) {
          example = std::string(v.get_string());
          break;
        }
      }
    }
    for (std::string_view text :
         {parts.empty() ? std::string_view() : parts.front(), std::string_view(tool.description)}) {
      if (!example.empty()) break;
      for (const auto& e : analyse(text).entities) {
        if (e.kind != EntityKind::kWord && fits_schema(bj::value(e.value), schema)) {
          example = e.value;
          break;
        }
      }
    }
    std::string pattern = "`" + std::string(*p) + "`";
    parts.push_back(example.empty() ? "a value matching the pattern " + pattern
                                    : "a value like " + example + " (pattern " + pattern + ")");
  } else if (format == "email" ||
             (format.empty() && lowercase(name).find("email") != std::string::npos)) {
    parts.emplace_back("an e-mail address");
  } else if (format == "date" || format == "date-time") {
    parts.emplace_back("a date (YYYY-MM-DD)");
  } else if (format == "uri" || format == "url") {
    parts.emplace_back("a URL");
  } else if (type == "number" || type == "integer") {
    std::string what = type == "integer" ? "a whole number" : "a number";
    auto min = ::idp::json::find_number(schema, "minimum");
    auto max = ::idp::json::find_number(schema, "maximum");
    if (min && max) what += " from " + format_number(*min) + " to " + format_number(*max);
    parts.push_back(what);
  } else if (type == "boolean") {
    parts.emplace_back("yes or no");
  } else if (type == "array") {
    const auto* items = ::idp::json::find_object(schema, "items");
    std::string it = items ? schema_type(*items) : std::string();
    parts.emplace_back(it == "number" || it == "integer" ? "a list of numbers"
                                                         : "a list of values in quotes");
  } else if (is_expression_param(name, schema)) {
    parts.emplace_back("an arithmetic expression such as (12.5 + 7) * 3");
  } else if (type == "string" || type.empty()) {
    parts.emplace_back("a text, in quotes");
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

std::string write_missing(const ToolSpec& tool, const Arguments& arguments) {
  std::string out = std::string(kAskPrefix) + tool.name + ": ";
  std::vector<std::string> items;
  for (const auto& name : arguments.missing) {
    std::string expected = describe_expected(tool, name);
    items.push_back("`" + name + "`" + (expected.empty() ? "" : " (" + expected + ")"));
  }
  if (arguments.alternatives && items.size() > 1) {
    out += "one of ";
    for (std::size_t i = 0; i < items.size(); ++i) {
      out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
    }
    out += ". Please give one of them.";
    return out;
  }
  out += items.size() == 1 ? "the " : "these: ";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i == 0 ? "" : "; ") + items[i];
  out += items.size() == 1 ? ". Please give it." : ". Please give them.";
  return out;
}

Written write_outcomes(const std::vector<Outcome>& outcomes, std::string_view question,
                       bool block_free, bool several) {
  Written all;
  several = several || outcomes.size() > 1;
  for (const auto& o : outcomes) {
    Written w = write_one(o, question, block_free && !all.block, several);
    if (w.block) w.text += "\n\n" + fence(*w.block);
    if (!all.text.empty()) all.text += "\n\n";
    all.text += w.text;
    if (w.block && !all.block) all.block = std::move(w.block);
  }
  return all;
}

}  // namespace idp::llm::offline
