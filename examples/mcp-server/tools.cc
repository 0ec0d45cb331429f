#include "tools.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "calculator.h"
#include "summarize.h"
#include "idp/core/crypto.h"
#include "idp/core/random.h"
#include "idp/mcp/audit.h"
#include "idp/mcp/rate_limit.h"

namespace example {

namespace bj = boost::json;
namespace mcp = idp::mcp;
using boost::asio::awaitable;

namespace {

constexpr const char* kClientIdPattern = "^C-[0-9]{4}$";

bj::object string_prop(std::string_view description) {
  return {{"type", "string"}, {"description", description}};
}

// {"type":"object","properties":{f:{"type":"string"},...},"required":[f,...]}
bj::object strings_object(std::initializer_list<const char*> fields) {
  bj::object props;
  bj::array required;
  for (const char* f : fields) {
    props[f] = bj::object{{"type", "string"}};
    required.emplace_back(f);
  }
  return {{"type", "object"}, {"properties", std::move(props)}, {"required", std::move(required)}};
}

mcp::ToolAnnotations read_only_local() {
  mcp::ToolAnnotations a;
  a.read_only_hint = true;
  a.open_world_hint = false;
  return a;
}

// Who owns outbox messages: the verified caller (sub, else client_id), never a value the caller
// chooses.
std::string owner_of(const mcp::ToolContext& ctx) {
  const auto& id = ctx.identity();
  if (!id.authenticated) return "anonymous";
  return mcp::principal_of(id, "");
}

mcp::CallToolResult tool_error(std::string message) { return mcp::CallToolResult::error(message); }

mcp::Tool calculator_tool() {
  mcp::Tool t;
  t.name = "calculator";
  t.title = "Calculator";
  t.description =
      "Evaluate an arithmetic expression (+ - * / ^, parentheses, sqrt, sin, cos, log, ...).";
  auto expr = string_prop("for example (12.5 + 7) * 3 or sqrt(2) / 4");
  expr["maxLength"] = static_cast<std::int64_t>(kMaxLength);
  expr["minLength"] = 1;
  t.input_schema = {{"type", "object"},
                    {"properties", bj::object{{"expression", expr}}},
                    {"required", bj::array{"expression"}},
                    {"additionalProperties", false}};
  t.output_schema =
      bj::object{{"type", "object"},
                 {"properties", bj::object{{"expression", bj::object{{"type", "string"}}},
                                           {"result", bj::object{{"type", "number"}}}}},
                 {"required", bj::array{"expression", "result"}}};
  t.annotations = read_only_local();
  return t;
}

mcp::Tool address_tool() {
  mcp::Tool t;
  t.name = "get_client_address";
  t.title = "Client address";
  t.description = "Look up a client's postal address (and e-mail) by client id, e.g. C-1001.";
  auto id = string_prop("the client id, C- and four digits");
  id["pattern"] = kClientIdPattern;
  t.input_schema = {{"type", "object"},
                    {"properties", bj::object{{"client_id", id}}},
                    {"required", bj::array{"client_id"}},
                    {"additionalProperties", false}};
  t.output_schema =
      strings_object({"client_id", "name", "street", "city", "postal_code", "country", "email"});
  t.annotations = read_only_local();
  return t;
}

mcp::Tool email_tool() {
  mcp::Tool t;
  t.name = "send_verification_email";
  t.title = "Send verification e-mail";
  t.description =
      "Send a verification e-mail to a client or an address; returns the outbox message id and "
      "status.";
  auto id = string_prop("send to this client's address on file");
  id["pattern"] = kClientIdPattern;
  auto email = string_prop("send to this address");
  email["format"] = "email";
  email["maxLength"] = 254;
  auto subject = string_prop("the subject line (default: Please verify your e-mail address)");
  subject["maxLength"] = 200;
  subject["pattern"] = "^[^\\r\\n]*$";  // one header line: no line breaks
  auto key = string_prop("the same key on a retried call sends the message once");
  key["pattern"] = "^[A-Za-z0-9._:-]{1,128}$";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       bj::object{
           {"client_id", id}, {"email", email}, {"subject", subject}, {"idempotency_key", key}}},
      {"anyOf", bj::array{bj::object{{"required", bj::array{"client_id"}}},
                          bj::object{{"required", bj::array{"email"}}}}},
      {"additionalProperties", false}};
  t.output_schema = bj::object{
      {"type", "object"},
      {"properties",
       bj::object{{"message_id", bj::object{{"type", "string"}}},
                  {"status",
                   bj::object{{"type", "string"}, {"enum", bj::array{"queued", "sent", "failed"}}}},
                  {"to", bj::object{{"type", "string"}}}}},
      {"required", bj::array{"message_id", "status", "to"}}};
  t.annotations = mcp::ToolAnnotations{};
  t.annotations->destructive_hint = false;
  t.annotations->idempotent_hint = true;  // with an idempotency_key
  t.annotations->open_world_hint = true;
  return t;
}

mcp::Tool outbox_tool() {
  mcp::Tool t;
  t.name = "list_outbox";
  t.title = "Outbox";
  t.description = "List messages in the e-mail outbox.";
  t.input_schema = {
      {"type", "object"},
      {"properties",
       bj::object{{"status", bj::object{{"type", "string"},
                                        {"enum", bj::array{"queued", "sent", "failed"}},
                                        {"description", "only messages with this status"}}},
                  {"limit", bj::object{{"type", "integer"},
                                       {"minimum", 1},
                                       {"maximum", 100},
                                       {"description", "at most this many, newest first (20)"}}}}},
      {"additionalProperties", false}};
  bj::object message = strings_object({"message_id", "to", "subject", "status", "created_at"});
  t.output_schema = bj::object{
      {"type", "object"},
      {"properties", bj::object{{"messages", bj::object{{"type", "array"}, {"items", message}}}}},
      {"required", bj::array{"messages"}}};
  t.annotations = mcp::ToolAnnotations{};
  t.annotations->read_only_hint = true;
  return t;
}

std::string arg(const bj::object& args, std::string_view name) {
  auto it = args.find(name);
  return it != args.end() && it->value().is_string() ? std::string(it->value().get_string())
                                                     : std::string();
}

}  // namespace

std::expected<void, std::string> add_tools(mcp::ServerGuard& guard, Store& store, Mailer* mailer,
                                           std::chrono::milliseconds summarize_delay) {
  auto add = [&](mcp::Tool tool, mcp::ToolHandler handler) -> std::expected<void, std::string> {
    std::string name = tool.name;
    if (auto r = guard.add_tool(std::move(tool), std::move(handler)); !r) {
      return std::unexpected("cannot add tool " + name + ": " + r.error().message());
    }
    return {};
  };

  auto calc = add(calculator_tool(),
                  [](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
                    std::string expression = arg(args, "expression");
                    auto v = evaluate(expression);
                    if (!v) co_return tool_error("Cannot evaluate the expression: " + v.error());
                    mcp::CallToolResult r;
                    r.content.push_back(mcp::content::text(format_number(*v)));
                    r.structured_content = bj::object{{"expression", expression}, {"result", *v}};
                    co_return r;
                  });
  if (!calc) return calc;

  auto address = add(
      address_tool(),
      [&store](const bj::object& args, mcp::ToolContext&) -> awaitable<mcp::CallToolResult> {
        std::string id = arg(args, "client_id");
        auto found = store.find_client(id);
        if (!found) throw std::runtime_error(found.error());
        if (!*found)
          co_return tool_error("No client with id " + id + " (known ids look like C-1001)");
        const ClientRecord& c = **found;
        mcp::CallToolResult r;
        r.content.push_back(mcp::content::text(fmt::format(
            "{}\n{}\n{} {}\n{}\n{}", c.name, c.street, c.postal_code, c.city, c.country, c.email)));
        r.structured_content = bj::object{{"client_id", c.client_id},
                                          {"name", c.name},
                                          {"street", c.street},
                                          {"city", c.city},
                                          {"postal_code", c.postal_code},
                                          {"country", c.country},
                                          {"email", c.email}};
        co_return r;
      });
  if (!address) return address;

  auto send = add(
      email_tool(),
      [&store, mailer](const bj::object& args,
                       mcp::ToolContext& ctx) -> awaitable<mcp::CallToolResult> {
        std::string client_id = arg(args, "client_id"), email = arg(args, "email");
        std::string subject = arg(args, "subject");
        if (subject.empty()) subject = "Please verify your e-mail address";
        std::string name;
        if (!client_id.empty()) {
          auto found = store.find_client(client_id);
          if (!found) throw std::runtime_error(found.error());
          if (!*found) co_return tool_error("No client with id " + client_id);
          if (!email.empty() && email != (*found)->email) {
            co_return tool_error("client_id " + client_id +
                                 " has another e-mail address on file; give client_id or email, "
                                 "not both");
          }
          email = (*found)->email;
          name = (*found)->name;
        }
        NewMessage m;
        m.owner = owner_of(ctx);
        m.client_id = client_id;
        m.to = email;
        m.subject = subject;
        m.idempotency_key = arg(args, "idempotency_key");
        m.request_digest = idp::crypto::sha256_hex(mcp::canonical_json(bj::value(
            bj::object{{"client_id", client_id}, {"email", email}, {"subject", subject}})));
        // The body is plain text of our own making; the only caller value in it is the verified
        // address on file's owner name (from our database), never HTML.
        std::string code = idp::random_token(6);
        m.body = fmt::format(
            "Hello{}{},\n\nplease confirm that this is your e-mail address with the code {}.\n\n"
            "If you did not ask for this, ignore this message.\n",
            name.empty() ? "" : " ", name, code);
        auto queued = store.enqueue(m);
        if (!queued) co_return tool_error(queued.error());
        if (queued->created && mailer) mailer->wake();
        const OutboxMessage& out = queued->message;
        mcp::CallToolResult r;
        r.content.push_back(mcp::content::text(
            fmt::format("{} {} to {}{}", out.message_id, out.status, out.to,
                        queued->created ? "" : " (already queued with this idempotency_key)")));
        r.structured_content =
            bj::object{{"message_id", out.message_id}, {"status", out.status}, {"to", out.to}};
        co_return r;
      });
  if (!send) return send;

  // Reads the document in ten steps over the delay; as a task, each step's progress message is
  // the task's statusMessage.
  auto summary = add(
      summarize_tool(),
      [summarize_delay](const bj::object& args,
                        mcp::ToolContext& ctx) -> awaitable<mcp::CallToolResult> {
        const std::string text = arg(args, "text");
        constexpr int kSteps = 10;
        for (int i = 0; i < kSteps; ++i) {
          ctx.progress(i, kSteps,
                       fmt::format("read {}% of {} characters", i * 100 / kSteps, text.size()));
          if (!co_await ctx.sleep(summarize_delay / kSteps)) {
            co_return tool_error("summarize_document was cancelled");
          }
        }
        ctx.progress(kSteps, kSteps, "summary ready");
        co_return summary_result(summarize(text));
      });
  if (!summary) return summary;

  return add(
      outbox_tool(),
      [&store](const bj::object& args, mcp::ToolContext& ctx) -> awaitable<mcp::CallToolResult> {
        int limit = 20;
        if (auto it = args.find("limit"); it != args.end() && it->value().is_int64()) {
          limit = static_cast<int>(it->value().get_int64());
        }
        auto list = store.list(owner_of(ctx), arg(args, "status"), limit);
        if (!list) throw std::runtime_error(list.error());
        bj::array messages;
        std::string text;
        for (const auto& m : *list) {
          messages.push_back(bj::object{{"message_id", m.message_id},
                                        {"to", m.to},
                                        {"subject", m.subject},
                                        {"status", m.status},
                                        {"created_at", m.created_at}});
          text += fmt::format("{}  {}  {}  {}  {}\n", m.created_at, m.status, m.message_id, m.to,
                              m.subject);
        }
        mcp::CallToolResult r;
        r.content.push_back(mcp::content::text(text.empty() ? "The outbox is empty." : text));
        r.structured_content = bj::object{{"messages", std::move(messages)}};
        co_return r;
      });
}

}  // namespace example
