// The parts of the offline planner (the `offline` model of make_offline_model(), providers.h):
// a deterministic planner that answers questions with the tools it is given, no language model
// involved. Each part is a pure function over its inputs so that it can be tested on its own and
// so that converse() is a function of the request alone (same request, same answer):
//
//   analyse()         the question: values (quoted strings, e-mail addresses, dates, numbers,
//                     arithmetic expressions, URLs, id-like words) and the keywords left over
//                     (offline_text.cc, offline_expression.cc)
//   score_tool()      how well a tool fits the question: its name, schema title, description and
//                     parameter names against the keywords, plus the values its schema can take
//                     (offline_match.cc)
//   fill_arguments()  the arguments, by the input schema, from the question and from earlier
//                     tool results; what stays missing (offline_args.cc, offline_schema.cc)
//   write_*()         the answer: tool lists, questions back, results as text, a table or a
//                     chart block (offline_answer.cc)
//   decide()          one assistant turn from the conversation state (offline_planner.cc)
//
// docs/offline-planner.md describes the rules and the answer shapes.
//
// Thread-safety: every function here is pure (no shared state); call them from any thread.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "idp/llm/model.h"

namespace idp::llm::offline {

// ---- The question (offline_text.cc) ----

enum class EntityKind {
  kQuoted,      // 'text', "text", “text”, `text` (value: without the quotes)
  kUrl,         // http(s)://...
  kEmail,       // a.b@example.com
  kDate,        // 2026-11-02, 2026/11/02, 2 November 2026, Nov 2, 2026 (value: ISO date)
  kExpression,  // (12.5 + 7) * 3, 12 plus 30, sqrt(16) (value: normalized with + - * / ^)
  kNumber,      // 40, -2.5, 1,200.50, $30, 15% (value: as written, number: the value)
  kId,          // a word with digits and letters or inner - _ : / . (C-1001, INV_7, v2)
  kWord,        // any other word (used for "name value" pairs such as "status queued")
};

struct Entity {
  EntityKind kind = EntityKind::kWord;
  std::string value;
  std::size_t begin = 0;  // byte span in the analysed text
  std::size_t end = 0;
  double number = 0;  // kNumber
};

struct Analysis {
  std::string text;                   // the text analysed
  std::vector<Entity> entities;       // in text order, not overlapping
  std::vector<std::string> keywords;  // normalized words outside values, no stop words, unique
};

Analysis analyse(std::string_view text);

// Lowercase, "e-mail" -> "email", plural and -ing/-ed endings taken off ("addresses" ->
// "address", "counting" -> "count"); the form keywords are compared in.
std::string normalize_word(std::string_view word);
bool is_stop_word(std::string_view lowercase_word);
// Keywords of free text (a description): words split, normalized, stop words dropped, in order,
// repeated words kept once.
std::vector<std::string> keywords_of(std::string_view text);
// Words of an identifier: "getClientAddress", "get_client-address" -> {"get","client","address"}.
std::vector<std::string> split_identifier(std::string_view name);
// ASCII lowercase (other bytes unchanged).
std::string lowercase(std::string_view text);
bool is_email_address(std::string_view text);
bool is_iso_date(std::string_view text);  // YYYY-MM-DD, a real day
// "postal_code" -> "Postal code".
std::string humanize(std::string_view name);
// Shortest text that reads back as the same double: 58.5 -> "58.5", 42.0 -> "42".
std::string format_number(double value);

// ---- Matching (offline_match.cc) ----

// A tool is used only when its score reaches this (e.g. one word of its name in the question and
// a value it takes, or two words of its name).
inline constexpr double kConfidentScore = 3.0;

double score_tool(const Analysis& question, const ToolSpec& tool);

struct ToolScore {
  std::size_t index = 0;  // into the tool list
  double score = 0;
};
// All tools by score, best first; ties keep the order of the list.
std::vector<ToolScore> rank_tools(const Analysis& question, const std::vector<ToolSpec>& tools);
// The best tool when it is confident.
std::optional<ToolScore> best_tool(const Analysis& question, const std::vector<ToolSpec>& tools);

// "Which tools do you have?", "What can you do?", "list your tools", "help".
bool is_capability_question(std::string_view question);

// Byte ranges of the question's parts ("... C-1001 and what is 12*3?" -> two), split at "?", ";",
// sentence ends and "and"/"also"/"then", never inside a value.
struct Span {
  std::size_t begin = 0;
  std::size_t end = 0;
};
std::vector<Span> split_question(const Analysis& question);

// A sub-agent tool of an orchestrator: one required string parameter named like a question
// ("query", "question", "prompt", ...). Its value is the question (or its part) itself.
bool takes_whole_question(const ToolSpec& tool);

// ---- Arguments (offline_args.cc) ----

// Values seen in tool results of this turn, for chaining: structured results (json blocks, and
// text blocks that are JSON) and the texts.
struct Evidence {
  std::vector<boost::json::value> structured;
  std::vector<std::string> texts;
};

struct Arguments {
  boost::json::object args;
  // Required parameters no value was found for. With anyOf/oneOf alternatives of required
  // parameters, the names of the alternative that is closest to complete, or all of them.
  std::vector<std::string> missing;
  bool alternatives = false;             // `missing` lists alternatives: one of them is enough
  std::size_t filled_from_question = 0;  // values taken from the question (not from results)
};

// `part` is the part of the question for this tool; a required value not found in it is looked
// for in `whole` and then in `evidence`.
Arguments fill_arguments(const ToolSpec& tool, const Analysis& part, const Analysis& whole,
                         const Evidence& evidence);

// Whether `value` fits the parameter's schema (type, format, pattern, enum, bounds); in
// offline_schema.cc with the two helpers below.
bool fits_schema(const boost::json::value& value, const boost::json::object& schema);
// The schema's type ("string", ...; the first non-null one of a list; "string" for a schema
// with only enum/pattern/format; "" when it says nothing) and its format, lowercase.
std::string schema_type(const boost::json::object& schema);
std::string schema_format(const boost::json::object& schema);
// A JSON number as a double (int64, uint64 or double); nullopt for anything else.
std::optional<double> number_value(const boost::json::value& value);

// The schema of one parameter (an empty object when the tool has none by that name).
const boost::json::object& property_schema(const ToolSpec& tool, std::string_view name);

// A parameter that takes an arithmetic expression ("expression", "formula", or so described).
bool is_expression_param(std::string_view name, const boost::json::object& schema);

// What a parameter expects, in words (offline_answer.cc): "a value like C-1001 (pattern
// ^C-[0-9]{4}$)", "one of queued, sent, failed", "an e-mail address", ...
std::string describe_expected(const ToolSpec& tool, std::string_view name);

// A tool that can provide `field` for another: its name or description mentions the field, and
// its own required arguments come from the question. Returns its index and arguments.
struct Provider {
  std::size_t index = 0;
  boost::json::object args;
};
std::optional<Provider> find_provider(const std::vector<ToolSpec>& tools, std::size_t target,
                                      std::string_view field, const Analysis& question);

// ---- Answers (offline_answer.cc) ----

// A tool result's text blocks, joined by line breaks.
std::string result_text(const ToolResultBlock& result);
// Its structured value: the json block, else a text block holding a JSON object or array.
std::optional<boost::json::value> structured_result(const ToolResultBlock& result);

// {"responseType":"table","data":{"headers":[{"id","label"}],"rows":[{"id","data":{..}}]}}
// from an array of objects, or the first array-of-objects member of an object. Cells are
// display strings; nested values are compact JSON.
std::optional<boost::json::object> table_block(const boost::json::value& structured);
// {"responseType":"plotData","data":{"type":"bar|line|pie","data":{"labels":[..],
// "datasets":[{"label","data":[numbers]}]}}} from a labelled series of numbers (an object of
// label -> number, or rows with one text column and number columns); `type` "bar"|"line"|"pie".
std::optional<boost::json::object> plot_block(const boost::json::value& structured,
                                              std::string_view type);
// The chart kind a question asks for ("bar", "line", "pie"), nullopt when it asks for none.
std::optional<std::string> chart_request(std::string_view question);
// "```json\n{...}\n```"
std::string fence(const boost::json::object& block);

std::string write_tool_list(const std::vector<ToolSpec>& tools);
std::string write_no_match(const std::vector<ToolSpec>& tools);
std::string write_no_tools();
// The question back for missing arguments. Starts with kAskPrefix, so that the next user turn
// can be read as the answer to it.
inline constexpr std::string_view kAskPrefix = "I need more information to call ";
std::string write_missing(const ToolSpec& tool, const Arguments& arguments);

// One tool call with its result, as the answer reports it.
struct Outcome {
  std::string tool;  // its name
  boost::json::object input;
  const ToolResultBlock* result = nullptr;
};
struct Written {
  std::string text;  // with the fenced block, when there is one, after its one-line summary
  std::optional<boost::json::object> block;  // a table or chart, at most one per answer
};
// The answer for the outcomes of one part of the question. `block_free`: whether this part may
// still carry the answer's table/chart block (later ones are written as Markdown tables).
// `several`: the answer has other parts, so each text result is introduced by its tool's name.
Written write_outcomes(const std::vector<Outcome>& outcomes, std::string_view question,
                       bool block_free, bool several = false);

// ---- The turn (offline_planner.cc) ----

struct Decision {
  std::vector<ToolUseBlock> tool_uses;  // when not empty: call these (stop reason tool_use)
  std::string text;                     // else: the final answer (never empty)
};
// One assistant turn from the request alone. Errors: kInvalidArgument when the request has no
// user question.
Result<Decision> decide(const ModelRequest& request);

}  // namespace idp::llm::offline
