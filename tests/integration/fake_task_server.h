// The fake MCP server of mcp_client_tasks_test.cc, as its test fixture: it records every
// request and runs its tasks by the number of polls (see that file). /v1 speaks the experimental
// tasks of 2025-11-25, /v2 the 2026-07-28 tasks extension. Test-only, one includer.
#pragma once
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "../lib/run_coroutine.h"
#include "idp/core/json_util.h"
#include "idp/http/server.h"
#include "idp/mcp/client.h"
#include "idp/mcp/jsonrpc.h"
#include "raw_http.h"

namespace idp::mcp::tasks_test {

namespace bj = boost::json;
using boost::asio::awaitable;
using std::chrono::milliseconds;


struct Seen {
  std::string path;
  std::string method;
  bj::object params;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "<none>" : it->second;
  }
  bool declares_extension() const {
    const bj::object* meta = ::idp::json::find_object(params, "_meta");
    const bj::object* caps =
        meta ? ::idp::json::find_object(*meta, "io.modelcontextprotocol/clientCapabilities") : nullptr;
    const bj::object* ext = caps ? ::idp::json::find_object(*caps, "extensions") : nullptr;
    return ext && ext->contains(kTasksExtension);
  }
  std::string task_id() const {
    const bj::string* id = ::idp::json::find_string(params, "taskId");
    return id ? std::string(*id) : std::string();
  }
};

struct FakeTask {
  std::string id;
  std::string tool;
  std::string status = "working";
  std::string message = "queued";
  int polls = 0;
  std::chrono::steady_clock::time_point created = std::chrono::steady_clock::now();
  bj::object answer;  // the input a v2 "ask" task got through tasks/update
};

class McpClientTasks : public ::testing::Test {
 protected:
  void SetUp() override {
    forget_protocol_eras();
    start_server(0);
  }
  void TearDown() override {
    if (restarter_.joinable()) restarter_.join();
    stop_server();
  }
  void start_server(std::uint16_t port) {
    http::ServerOptions ho;
    ho.port = port;
    ho.threads = 1;
    ho.shutdown_grace = milliseconds(300);
    http_ = std::make_unique<http::Server>(ho);
    http_->route_prefix("*", "/", [this](const http::Request& req, http::Responder& res) {
      return serve(req, res);
    });
    auto started = http_->start();
    ASSERT_TRUE(started) << started.error().message();
    port_ = *started;
  }
  void stop_server() {
    if (!http_) return;
    http_->stop();
    http_->wait();
    http_.reset();
  }
  // The server goes away (every connection closed) and comes back on the same port.
  void restart_server() {
    stop_server();
    start_server(port_);
    restarted_.set();
  }
  std::string at(std::string_view path) const {
    return fmt::format("http://127.0.0.1:{}{}", port_, path);
  }

  std::vector<Seen> seen(std::string_view method = {}) {
    std::lock_guard lock(mu_);
    std::vector<Seen> out;
    for (const auto& s : seen_) {
      if (method.empty() || s.method == method) out.push_back(s);
    }
    return out;
  }

  static bj::object text_result(std::string text) {
    return bj::object{{"content", bj::array{bj::object{{"type", "text"}, {"text", text}}}}};
  }
  static bj::object tool(std::string name, std::string support) {
    bj::object t{{"name", name}, {"inputSchema", bj::object{{"type", "object"}}}};
    if (!support.empty()) t["execution"] = bj::object{{"taskSupport", support}};
    return t;
  }

  // The task as tasks/get shows it (v1: Task; v2: DetailedTask).
  bj::object task_json(const FakeTask& t, bool v2) const {
    bj::object o{{"taskId", t.id},
                 {"status", t.status},
                 {"statusMessage", t.message},
                 {"createdAt", "2026-12-05T05:00:00Z"},
                 {"lastUpdatedAt", "2026-12-05T05:00:01Z"}};
    if (v2) {
      o["ttlMs"] = 60000;
      o["pollIntervalMs"] = poll_ms_.load();
      if (t.status == "completed") o["result"] = text_result("done " + t.tool + " " + t.id);
      if (t.status == "failed") o["error"] = bj::object{{"code", -32603}, {"message", "the disk is full"}};
      if (t.status == "input_required") {
        bj::object who{{"method", "elicitation/create"},
                       {"params", bj::object{{"message", "Who?"},
                                             {"requestedSchema", bj::object{{"type", "object"}}}}}};
        o["inputRequests"] = bj::object{{"who", who}};
      }
    } else {
      o["ttl"] = 60000;
      o["pollInterval"] = poll_ms_.load();
    }
    return o;
  }

  // One poll: the task moves on (working "step N" until polls_to_finish_, then completed); a
  // held task stays working; an "ask" task (v2) waits for its input first.
  void advance(FakeTask& t) {
    if (t.status != "working" && t.status != "input_required") return;
    ++t.polls;
    if (t.tool == "ask" && t.answer.empty()) {
      t.status = "input_required";
      t.message = "waiting for a name";
      return;
    }
    const bool due = t.tool == "timed" ? std::chrono::steady_clock::now() - t.created >= done_after_
                                       : t.polls >= polls_to_finish_;
    if (t.tool == "held" || !due) {
      t.status = "working";
      t.message = fmt::format("step {}", t.polls);
      if (t.polls == 2) second_poll_.set();
      return;
    }
    t.status = t.tool == "broken" ? "failed" : t.tool == "quit" ? "cancelled" : "completed";
    t.message = t.status == "cancelled" ? "the operator stopped it" : "";
  }

  // One answer: HTTP status, body, and the session id to hand out.
  struct Reply {
    int status = 200;
    std::string body;
    std::string session;
  };
  static Reply ok(const bj::value& id, const bj::object& result, std::string session = {}) {
    return Reply{200, jsonrpc::response(id, result), std::move(session)};
  }
  static Reply fault(int status, const bj::value& id, int code, std::string message) {
    return Reply{status, jsonrpc::error_response(id, {code, std::move(message), std::nullopt}), ""};
  }

  // The server's whole logic, not a coroutine (the GCC 12 rule): serve() only sends its answer.
  Reply answer(const Seen& s, const bj::value& id) {
    const bool v2 = s.path == "/v2";
    if (id.is_null()) return Reply{202, "", ""};  // a notification
    if (s.method == "initialize") {
      bj::object caps{{"tools", bj::object{}},
                      {"tasks", bj::object{{"list", bj::object{}},
                                           {"cancel", bj::object{}},
                                           {"requests", bj::object{{"tools", bj::object{{"call", bj::object{}}}}}}}}};
      bj::object result{{"protocolVersion", s.params.at("protocolVersion")},
                        {"capabilities", std::move(caps)},
                        {"serverInfo", bj::object{{"name", "fake-tasks"}, {"version", "1.0"}}}};
      std::string session = fmt::format("sess-{}", ++sessions_);
      {
        std::lock_guard lock(mu_);
        session_ = session;
      }
      return ok(id, std::move(result), session);
    }
    if (s.method == "server/discover") {
      if (!v2) return fault(400, id, -32601, "Method not found");
      bj::object result{{"resultType", "complete"},
                        {"supportedVersions", bj::array{"2026-07-28"}},
                        {"capabilities", bj::object{{"tools", bj::object{}},
                                                    {"extensions", bj::object{{kTasksExtension, bj::object{}}}}}}};
      return ok(id, std::move(result));
    }
    if (!v2) {
      std::string session;
      {
        std::lock_guard lock(mu_);
        session = session_;
        if (forget_session_) {
          forget_session_ = false;
          session_.clear();
        }
      }
      if (s.header("mcp-session-id") != session || session.empty()) {
        return Reply{404, R"({"error":"unknown session"})", ""};
      }
    }
    if (s.method == "tools/list") {
      bj::array tools{tool("slow", "required"), tool("maybe", "optional"), tool("plain", ""),
                      tool("held", "required"), tool("broken", "required"), tool("quit", "required"),
                      tool("timed", "required")};
      return ok(id, bj::object{{"tools", std::move(tools)}});
    }
    if (s.method == "tools/call") {
      std::string name(s.params.at("name").as_string());
      const bool as_task = v2 ? (s.declares_extension() && name != "plain") : s.params.contains("task");
      if (!as_task) return ok(id, text_result("at once " + name));
      FakeTask t;
      t.id = fmt::format("t-{}", ++tasks_made_);
      t.tool = name;
      bj::object shown = task_json(t, v2);
      {
        std::lock_guard lock(mu_);
        tasks_[t.id] = t;
      }
      bj::object result;
      if (v2) {
        result = std::move(shown);
        result["resultType"] = "task";
      } else {
        result = bj::object{{"task", std::move(shown)}};
      }
      return ok(id, std::move(result));
    }
    if (!s.method.starts_with("tasks/")) {
      return fault(200, id, -32601, "Method not found: " + s.method);
    }
    if (s.method == "tasks/get" && fail_gets_.load() > 0) {
      --fail_gets_;
      return Reply{503, "upstream unavailable", ""};
    }
    std::string tid = s.task_id();
    std::optional<FakeTask> found;
    {
      std::lock_guard lock(mu_);
      auto it = tasks_.find(tid);
      if (it != tasks_.end()) {
        FakeTask& t = it->second;
        if (s.method == "tasks/get") advance(t);
        if (s.method == "tasks/cancel" && (t.status == "working" || t.status == "input_required")) {
          t.status = "cancelled";
          t.message = "cancelled by the client";
        }
        if (s.method == "tasks/update") {
          const bj::object* r = ::idp::json::find_object(s.params, "inputResponses");
          if (r) t.answer = *r;
          t.status = "working";
          t.message = "got the name";
        }
        found = t;
      }
    }
    if (!found) return fault(200, id, -32602, "no such task " + tid);
    bj::object result;
    if (s.method == "tasks/get") {
      result = task_json(*found, v2);
      if (v2) result["resultType"] = "complete";
    } else if (s.method == "tasks/result") {
      result = text_result("done " + found->tool + " " + found->id);
      result["_meta"] = bj::object{{"io.modelcontextprotocol/related-task", bj::object{{"taskId", found->id}}}};
    } else if (s.method == "tasks/cancel") {
      result = v2 ? bj::object{{"resultType", "complete"}} : task_json(*found, false);
    } else {
      result = bj::object{{"resultType", "complete"}};  // tasks/update
    }
    return ok(id, std::move(result));
  }

  awaitable<void> serve(const http::Request& req, http::Responder& res) {
    Seen s;
    s.path = std::string(req.path());
    for (const auto& h : req.headers()) {
      std::string lower(h.first);
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      s.headers[lower] = std::string(h.second);
    }
    bj::value id;
    auto body = ::idp::json::parse(req.body());
    if (body && body->is_object()) {
      const bj::object& o = body->as_object();
      if (auto* m = ::idp::json::find_string(o, "method")) s.method = std::string(*m);
      if (auto it = o.find("id"); it != o.end()) id = it->value();
      if (auto* p = ::idp::json::find_object(o, "params")) s.params = *p;
    }
    Reply reply{405, "", ""};
    if (req.method() == "POST") {
      {
        std::lock_guard lock(mu_);
        seen_.push_back(s);
      }
      reply = answer(s, id);
    }
    http::Response r = reply.body.empty() ? http::Response::empty(reply.status)
                       : reply.body.front() == '{' ? http::Response::json(reply.status, reply.body)
                                                   : http::Response::text(reply.status, reply.body);
    if (!reply.session.empty()) r.headers.add("Mcp-Session-Id", reply.session);
    co_await res.send(std::move(r));
  }

  std::unique_ptr<http::Server> http_;
  std::uint16_t port_ = 0;
  std::mutex mu_;
  std::vector<Seen> seen_;
  std::map<std::string, FakeTask> tasks_;
  std::string session_;
  bool forget_session_ = false;
  std::atomic<int> sessions_{0};
  std::atomic<int> tasks_made_{0};
  std::atomic<int> polls_to_finish_{3};
  std::atomic<int> poll_ms_{10};
  std::atomic<int> fail_gets_{0};
  milliseconds done_after_{0};  // "timed" tasks
  test::Event second_poll_;
  test::Event restarted_;
  std::thread restarter_;
};

}  // namespace idp::mcp::tasks_test
