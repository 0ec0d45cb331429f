// How the offline planner picks tools: each tool gets a profile of weighted words (its name,
// schema titles, parameter names, description, and the tool names a sub-agent's description
// lists), the question's keywords are scored against it, and values in the question that the
// tool's schema can take add to the score. Also: capability questions and splitting a question
// into parts.
#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "idp/core/json_util.h"
#include "idp/llm/offline_planner.h"

namespace idp::llm::offline {
namespace {

namespace bj = boost::json;

constexpr double kNameWeight = 3.0;
constexpr double kTitleWeight = 2.5;  // schema title, tool names listed in a description
constexpr double kParamWeight = 1.5;
constexpr double kDescriptionWeight = 1.0;
constexpr double kPartialFactor = 0.7;  // "calculate" for "calculator"
constexpr double kCoverageBonus = 2.0;  // times the share of the name's words asked for
constexpr double kExpressionBonus = 4.0;
constexpr double kValueBonus = 1.5;
constexpr double kEnumBonus = 2.0;      // a value of the tool's enum named in the question
constexpr double kUnaskedAction = 3.0;  // penalty: the tool acts, the question never says so
// Values of a question looked at for the value bonuses (a question is not a data dump).
constexpr std::size_t kMaxScoredValues = 64;

// Words of a tool name that say nothing about what it does.
bool generic_name_word(std::string_view w) {
  return w == "tool" || w == "agent" || w == "api" || w == "mcp" || w == "fetch" || w == "run" ||
         w == "do" || w == "call" || w == "test";
}

std::size_t common_prefix(std::string_view a, std::string_view b) {
  std::size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// 1 for the same word, kPartialFactor for a shared stem ("verify"/"verification"), else 0.
double word_match(std::string_view q, std::string_view p) {
  if (q == p) return 1.0;
  std::size_t shorter = std::min(q.size(), p.size());
  std::size_t prefix = common_prefix(q, p);
  if ((shorter >= 4 && prefix == shorter) || prefix >= 5) return kPartialFactor;
  return 0.0;
}

// Words a question may use for a tool's word; tried when the word itself does not match.
const std::vector<std::string_view>& synonyms(std::string_view w) {
  static const std::map<std::string_view, std::vector<std::string_view>> kSynonyms{
      {"total", {"sum", "amount"}},     {"sum", {"total", "add"}},    {"message", {"email"}},
      {"remove", {"delete"}},           {"delete", {"remove"}},       {"find", {"search", "look"}},
      {"search", {"find", "look"}},     {"lookup", {"look", "find"}}, {"display", {"list"}},
      {"compute", {"calculate"}},       {"evaluate", {"calculate"}},  {"location", {"address"}},
      {"quantity", {"count", "number"}}};
  static const std::vector<std::string_view> kNone;
  auto it = kSynonyms.find(w);
  return it == kSynonyms.end() ? kNone : it->second;
}
constexpr double kSynonymFactor = 0.8;

struct Profile {
  std::map<std::string, double> words;  // word -> highest weight
  std::vector<std::string> name_words;
  std::string text;  // name, description and parameter text, lowercase
};

void add(Profile& p, const std::vector<std::string>& words, double weight) {
  for (const auto& w : words) {
    double& slot = p.words[w];
    slot = std::max(slot, weight);
  }
}

std::vector<std::string> normalized(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  for (const auto& w : words) {
    if (is_stop_word(w)) continue;
    std::string n = normalize_word(w);
    if (!n.empty() && !is_stop_word(n) && std::find(out.begin(), out.end(), n) == out.end()) {
      out.push_back(std::move(n));
    }
  }
  return out;
}

const bj::object* properties_of(const ToolSpec& tool) {
  return ::idp::json::find_object(tool.input_schema, "properties");
}

// "... The tools available are: get_client_address, calculator." -> the tool names.
std::vector<std::string> listed_tool_words(std::string_view description) {
  static constexpr std::string_view kMarker = "tools available are:";
  std::string low = lowercase(description);
  auto at = low.find(kMarker);
  if (at == std::string::npos) return {};
  std::size_t from = at + kMarker.size();
  std::size_t to = from;
  // The list ends at a sentence end: ". " or a line break.
  while (to < low.size() && low[to] != '\n' &&
         !(low[to] == '.' && (to + 1 == low.size() || low[to + 1] == ' '))) {
    ++to;
  }
  return normalized(split_identifier(description.substr(from, to - from)));
}

Profile profile_of(const ToolSpec& tool) {
  Profile p;
  for (const auto& w : normalized(split_identifier(tool.name))) {
    if (!generic_name_word(w)) p.name_words.push_back(w);
  }
  add(p, p.name_words, kNameWeight);
  if (const auto* title = ::idp::json::find_string(tool.input_schema, "title")) {
    add(p, keywords_of(*title), kTitleWeight);
  }
  add(p, keywords_of(tool.description), kDescriptionWeight);
  add(p, listed_tool_words(tool.description), kTitleWeight);
  p.text = lowercase(tool.name) + " " + lowercase(tool.description);
  if (const auto* props = properties_of(tool)) {
    for (const auto& [name, schema] : *props) {
      add(p, normalized(split_identifier(name)), kParamWeight);
      p.text += " " + lowercase(name);
      if (const auto* s = schema.if_object()) {
        if (const auto* d = ::idp::json::find_string(*s, "description")) {
          add(p, keywords_of(*d), kDescriptionWeight);
          p.text += " " + lowercase(*d);
        }
        if (const auto* t = ::idp::json::find_string(*s, "title")) {
          add(p, keywords_of(*t), kParamWeight);
        }
      }
    }
  }
  return p;
}

bool mentions_any(std::string_view text, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return text.find(w) != std::string_view::npos; });
}

// Letters -> 'A', digits -> '9': "C-1001" and "C-2002" have the same shape.
std::string shape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::isdigit(static_cast<unsigned char>(c))) {
      out += '9';
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      out += 'A';
    } else {
      out += c;
    }
  }
  return out;
}

bool has_entity(const Analysis& q, EntityKind kind) {
  return std::any_of(q.entities.begin(), q.entities.end(),
                     [&](const Entity& e) { return e.kind == kind; });
}

// What the values of the question are worth to this tool: a parameter that takes one of them.
double value_bonus(const Analysis& q, const ToolSpec& tool, const Profile& profile) {
  double bonus = 0;
  bool expression = has_entity(q, EntityKind::kExpression);
  if (expression && mentions_any(profile.text, {"calculat", "arithmetic", "math", "expression",
                                                "formula", "evaluat", "comput"})) {
    bonus += kExpressionBonus;
  }
  if (takes_whole_question(tool)) {
    // A sub-agent: compare the question's ids and values with its description (samples).
    auto words = analyse(tool.description);
    std::size_t seen = 0;
    for (const auto& e : q.entities) {
      if (e.kind != EntityKind::kId || ++seen > kMaxScoredValues) continue;
      bool same_shape =
          std::any_of(words.entities.begin(), words.entities.end(), [&](const Entity& d) {
            return d.kind == EntityKind::kId && shape(d.value) == shape(e.value);
          });
      if (same_shape) {
        bonus += kValueBonus;
        break;
      }
    }
    if (has_entity(q, EntityKind::kEmail) && mentions_any(profile.text, {"email", "e-mail"})) {
      bonus += 1.0;
    }
    if (has_entity(q, EntityKind::kDate) && mentions_any(profile.text, {"date"})) bonus += 1.0;
    if (has_entity(q, EntityKind::kNumber) &&
        mentions_any(profile.text, {"number", "amount", "sum", "total", "add", "count"})) {
      bonus += 1.0;
    }
    return bonus;
  }
  const bj::object* props = properties_of(tool);
  if (!props) return bonus;
  std::size_t numbers = std::count_if(q.entities.begin(), q.entities.end(), [](const Entity& e) {
    return e.kind == EntityKind::kNumber;
  });
  std::size_t numeric_params = 0;
  bool number_list = false;
  for (const auto& [name, schema_value] : *props) {
    const bj::object* schema = schema_value.if_object();
    if (!schema) continue;
    const auto* type = ::idp::json::find_string(*schema, "type");
    if (type && (*type == "number" || *type == "integer")) ++numeric_params;
    if (type && *type == "array") {
      const auto* items = ::idp::json::find_object(*schema, "items");
      const auto* it = items ? ::idp::json::find_string(*items, "type") : nullptr;
      if (it && (*it == "number" || *it == "integer")) number_list = true;
    }
    // Any value of the question this parameter takes (enum values are compared as words).
    bool constrained =
        schema->contains("pattern") || schema->contains("format") || schema->contains("enum");
    std::string pname = lowercase(name);
    bool taken = false;
    std::size_t seen = 0;
    for (const auto& e : q.entities) {
      if (e.kind == EntityKind::kWord || ++seen > kMaxScoredValues) continue;
      if (e.kind == EntityKind::kNumber && !schema->contains("pattern")) continue;
      bool fits = constrained && fits_schema(bj::value(e.value), *schema);
      bool named = (e.kind == EntityKind::kEmail && pname.find("email") != std::string::npos) ||
                   (e.kind == EntityKind::kDate && pname.find("date") != std::string::npos) ||
                   (e.kind == EntityKind::kUrl && (pname.find("url") != std::string::npos ||
                                                   pname.find("uri") != std::string::npos));
      if (fits || named) {
        taken = true;
        break;
      }
    }
    if (!taken && schema->contains("enum")) {
      seen = 0;
      for (const auto& e : q.entities) {
        if (e.kind == EntityKind::kWord && ++seen > kMaxScoredValues) break;
        if (e.kind == EntityKind::kWord && fits_schema(bj::value(lowercase(e.value)), *schema)) {
          taken = true;
          break;
        }
      }
    }
    if (taken) bonus += schema->contains("enum") ? kEnumBonus : kValueBonus;
  }
  // Numbers for number parameters: all of them used is a better fit than some left over.
  if ((number_list && numbers >= 2) || (numeric_params > 0 && numbers == numeric_params)) {
    bonus += 1.0;
  } else if (numeric_params > 0 && numbers > numeric_params) {
    bonus += 0.5;
  }
  return bonus;
}

// Tools whose name starts with one of these change something (send a mail, delete a record).
// They are only chosen when the question says so: "e-mail of C-1001" must not send one.
bool is_action_verb(std::string_view w) {
  static const std::set<std::string_view> kVerbs{
      "send",   "delete",   "remove", "create",  "update", "cancel",  "submit", "post",
      "pay",    "transfer", "write",  "drop",    "reset",  "approve", "reject", "publish",
      "deploy", "execute",  "purge",  "revoke",  "grant",  "modify",  "edit",   "move",
      "rename", "archive",  "close",  "refund",  "charge", "book",    "insert", "upload",
      "notify", "invite",   "assign", "disable", "enable", "restart", "stop",   "kill"};
  return kVerbs.contains(w);
}

}  // namespace

bool takes_whole_question(const ToolSpec& tool) {
  const bj::object* props = properties_of(tool);
  const bj::array* required = ::idp::json::find_array(tool.input_schema, "required");
  if (!props || !required || required->size() != 1 || !(*required)[0].is_string()) return false;
  std::string name = lowercase((*required)[0].get_string());
  static const std::vector<std::string_view> kNames{
      "query", "question",    "prompt",       "q",          "request",       "ask",
      "task",  "instruction", "instructions", "user_query", "user_question", "input_text",
      "input"};
  if (std::find(kNames.begin(), kNames.end(), name) == kNames.end()) return false;
  auto it = props->find((*required)[0].get_string());
  if (it == props->end() || !it->value().is_object()) return false;
  const auto* type = ::idp::json::find_string(it->value().get_object(), "type");
  return type && *type == "string";
}

double score_tool(const Analysis& question, const ToolSpec& tool) {
  Profile profile = profile_of(tool);
  double score = 0;
  for (const auto& k : question.keywords) {
    double best = 0;
    for (const auto& [word, weight] : profile.words) {
      best = std::max(best, weight * word_match(k, word));
    }
    for (std::string_view syn : synonyms(k)) {
      for (const auto& [word, weight] : profile.words) {
        best = std::max(best, kSynonymFactor * weight * word_match(syn, word));
      }
    }
    score += best;
  }
  if (!profile.name_words.empty()) {
    std::size_t asked = 0;
    for (const auto& n : profile.name_words) {
      bool found = std::any_of(question.keywords.begin(), question.keywords.end(),
                               [&](const std::string& k) { return word_match(k, n) > 0; });
      if (found) ++asked;
    }
    score += kCoverageBonus * static_cast<double>(asked) /
             static_cast<double>(profile.name_words.size());
  }
  // The action a tool's name starts with must be asked for (a verb of the question).
  auto verbs = split_identifier(tool.name);
  auto verb = std::find_if(verbs.begin(), verbs.end(),
                           [](const std::string& w) { return is_action_verb(w); });
  if (verb != verbs.end() && verb - verbs.begin() <= 1) {
    std::string v = normalize_word(*verb);
    bool asked = std::any_of(question.keywords.begin(), question.keywords.end(),
                             [&](const std::string& k) { return word_match(k, v) > 0; });
    if (!asked) score -= kUnaskedAction;
  }
  return score + value_bonus(question, tool, profile);
}

std::vector<ToolScore> rank_tools(const Analysis& question, const std::vector<ToolSpec>& tools) {
  std::vector<ToolScore> out;
  for (std::size_t i = 0; i < tools.size(); ++i) out.push_back({i, score_tool(question, tools[i])});
  std::stable_sort(out.begin(), out.end(),
                   [](const ToolScore& a, const ToolScore& b) { return a.score > b.score; });
  return out;
}

std::optional<ToolScore> best_tool(const Analysis& question, const std::vector<ToolSpec>& tools) {
  auto ranked = rank_tools(question, tools);
  if (ranked.empty() || ranked.front().score < kConfidentScore) return std::nullopt;
  return ranked.front();
}

bool is_capability_question(std::string_view question) {
  std::string q;
  for (char c : lowercase(question)) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
      q += c;
    } else if (!q.empty() && q.back() != ' ') {
      q += ' ';
    }
  }
  while (!q.empty() && q.back() == ' ') q.pop_back();
  if (q == "help" || q == "tools" || q == "list tools" || q == "capabilities") return true;
  static constexpr std::string_view kPhrases[] = {
      "what tools",          "which tools",      "what can you do",     "what do you do",
      "what are you able",   "what can i ask",   "your capabilities",   "list your tools",
      "list the tools",      "list all tools",   "list all the tools",  "list available tools",
      "tools are available", "available tools",  "tools do you have",   "tools you have",
      "tools can you use",   "what agents",      "which agents",        "agents are available",
      "list the agents",     "list your agents", "what functions",      "which functions",
      "what can you help",   "how can you help", "what are your tools", "show me your tools",
      "show your tools",     "show the tools"};
  return std::any_of(std::begin(kPhrases), std::end(kPhrases),
                     [&](std::string_view p) { return q.find(p) != std::string::npos; });
}

std::vector<Span> split_question(const Analysis& question) {
  std::string_view t = question.text;
  std::string low = lowercase(t);
  // Bytes inside a value (a quotation, a date, an expression, ...) never split.
  std::vector<bool> inside(t.size(), false);
  for (const auto& e : question.entities) {
    if (e.kind == EntityKind::kWord) continue;
    for (std::size_t i = e.begin; i < e.end && i < t.size(); ++i) inside[i] = true;
  }
  auto word_at = [&](std::size_t i, std::string_view w) {
    return low.compare(i, w.size(), w) == 0 &&
           (i == 0 || !std::isalnum(static_cast<unsigned char>(low[i - 1]))) &&
           (i + w.size() == low.size() ||
            !std::isalnum(static_cast<unsigned char>(low[i + w.size()])));
  };
  std::vector<Span> cuts;  // separators
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (inside[i]) continue;
    char c = t[i];
    if (c == '?' || c == '!' || c == ';' || c == '\n' ||
        (c == '.' && i + 1 < t.size() && t[i + 1] == ' ')) {
      cuts.push_back({i, i + 1});
    } else {
      for (std::string_view w : {"and then", "and also", "as well as", "and", "also", "then"}) {
        if (word_at(i, w)) {
          cuts.push_back({i, i + w.size()});
          i += w.size() - 1;
          break;
        }
      }
    }
  }
  std::vector<Span> parts;
  std::size_t from = 0;
  auto push = [&](std::size_t b, std::size_t e) {
    while (b < e && std::string_view(" \t,;:.").find(t[b]) != std::string_view::npos) ++b;
    while (e > b && std::string_view(" \t,;:").find(t[e - 1]) != std::string_view::npos) --e;
    if (e > b) parts.push_back({b, e});
  };
  for (const auto& cut : cuts) {
    push(from, cut.begin);
    from = cut.end;
  }
  push(from, t.size());
  if (parts.size() > 8) return {{0, t.size()}};
  return parts;
}

}  // namespace idp::llm::offline
