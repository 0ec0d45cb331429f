// The agent loop and the orchestrator (AgentRunner) against MCP servers started in this
// process on 127.0.0.1, with a scripted model: what a user of `idp-agents ask` or of the chat
// would notice. Tool uses of one answer run at once; tool errors go back to the model; the
// iteration cap, cancellation (the server hears notifications/cancelled) and the deadlines end
// a turn with a clear error; sub-agents answer through the orchestrator, and a silent one is
// given up on; odd tool names reach the model sanitized and the server as they are; results
// are cut for the model but whole in the events; tables come out as data; <thinking> never
// shows.
#include <map>
#include <regex>
#include <set>

#include "agent_test_support.h"

namespace idp::agents::test {
namespace {

bool speaks_as(const llm::ModelRequest& r, std::string_view agent) {
  return r.system.starts_with("You are " + std::string(agent) + ",");
}
bool is_orchestrator(const llm::ModelRequest& r) {
  return r.system.starts_with("You are an orchestrator");
}
bool has_results(const llm::ModelRequest& r) { return !last_results(r).empty(); }

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " | ") + p;
  return out;
}

std::string str(const Event& e, std::string_view key) {
  const bj::value* v = e.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::size_t index_of(const Outcome& o, std::string_view type, bool last = false) {
  std::size_t found = o.events.size();
  for (std::size_t i = 0; i < o.events.size(); ++i) {
    if (event_type(o.events[i]) != type) continue;
    found = i;
    if (!last) break;
  }
  return found;
}

TEST_F(AgentLoopTest, ToolUsesOfOneAnswerRunAtOnceAndTheModelAnswersFromTheirResults) {
  auto& srv = server();
  srv.add("pair1", Behaviour::kPair);
  srv.add("pair2", Behaviour::kPair);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (!has_results(r)) return Step{.text = "Let me check. ", .uses = {use("pair1"), use("pair2")}};
    return Step{.text = "Both said: " + joined(last_results(r))};
  });
  start_agents({{"pairs", &srv}}, model);

  Outcome o = ask("are they together?");
  ASSERT_TRUE(o.result.ok) << o.dump();
  // Each pair tool answers "together" only when the other one is in flight at the same time.
  EXPECT_NE(o.result.final_text.find("together"), std::string::npos) << o.result.final_text;
  EXPECT_EQ(o.result.final_text.find("alone"), std::string::npos) << o.result.final_text;

  EXPECT_EQ(o.types().front(), "turn_start");
  EXPECT_EQ(o.types().back(), "final");
  EXPECT_EQ(str(o.events.back(), "text"), o.result.final_text);
  EXPECT_LT(index_of(o, "tool_start", true), index_of(o, "tool_end")) << o.dump();
  auto starts = o.of_type("tool_start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(str(starts[0], "agent_id"), "pairs");
  EXPECT_EQ(str(starts[0], "tool"), "pair1");
  EXPECT_EQ(str(starts[0], "call_id"), "call-1");
  EXPECT_EQ(str(starts[1], "call_id"), "call-2");
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 2u);
  EXPECT_FALSE(ends[0].at("is_error").as_bool());
  EXPECT_EQ(ends[0].at("output").at("content").at(0).at("text").as_string(), "together");
  EXPECT_TRUE(ends[0].at("ms").is_int64());

  std::string streamed;
  for (const auto& e : o.of_type("text_delta")) {
    EXPECT_FALSE(e.contains("agent_id")) << "the answering agent is not a sub-agent";
    streamed += str(e, "text");
  }
  EXPECT_EQ(streamed, "Let me check. " + o.result.final_text);
  auto usage = o.of_type("usage");
  ASSERT_EQ(usage.size(), 1u);
  EXPECT_EQ(usage[0].at("input_tokens").as_int64(), 200);
  EXPECT_EQ(o.result.usage.output_tokens, 20);

  // The turn's messages: the question, the tool uses, their results, the answer.
  ASSERT_EQ(o.result.new_messages.size(), 4u);
  EXPECT_EQ(o.result.new_messages[0].text(), "are they together?");
  EXPECT_EQ(o.result.new_messages[1].tool_uses().size(), 2u);
  EXPECT_EQ(o.result.new_messages[2].role, llm::Role::kUser);
  EXPECT_EQ(o.result.new_messages[3].role, llm::Role::kAssistant);
  // The model was told the results are data.
  EXPECT_NE(model->requests()[0].system.find("not instructions"), std::string::npos);
  EXPECT_NE(joined(last_results(model->requests()[1])).find("<tool_result tool=\"pair1\">"),
            std::string::npos);
}

TEST_F(AgentLoopTest, ToolErrorsGoBackToTheModelWhichRecovers) {
  auto& srv = server();
  srv.add("broken", Behaviour::kError);
  srv.add_adder();
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    std::string results = joined(last_results(r));
    if (results.empty()) return Step{.uses = {use("broken"), use("made_up_tool")}};
    if (results.find("ERROR") != std::string::npos) {
      return Step{.uses = {use("add", R"({"a":2,"b":3})")}};
    }
    return Step{.text = "The sum is " + results};
  });
  start_agents({{"calc", &srv}}, model);

  Outcome o = ask("add two and three");
  ASSERT_TRUE(o.result.ok) << o.dump();
  auto requests = model->requests();
  ASSERT_EQ(requests.size(), 3u);
  auto errors = last_results(requests[1]);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_TRUE(errors[0].starts_with("ERROR ")) << errors[0];
  EXPECT_NE(errors[0].find("broken failed on purpose"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("there is no tool named made_up_tool; the tools are: broken, add"),
            std::string::npos)
      << errors[1];
  EXPECT_NE(o.result.final_text.find('5'), std::string::npos) << o.result.final_text;
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 2u);  // the made-up tool never reached a server
  EXPECT_TRUE(ends[0].at("is_error").as_bool());
  EXPECT_FALSE(ends[1].at("is_error").as_bool());
  EXPECT_EQ(ends[1].at("output").at("structuredContent").at("sum").to_number<double>(), 5);
}

TEST_F(AgentLoopTest, TheIterationCapEndsTheTurnWithAClearMessage) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(
      [](const llm::ModelRequest&) { return Step{.uses = {use("echo")}}; });
  LoopLimits limits;
  limits.max_iterations = 3;
  start_agents({{"looper", &srv}}, model, limits);

  Outcome o = ask("go on forever");
  EXPECT_FALSE(o.result.ok);
  ASSERT_TRUE(o.result.error);
  EXPECT_EQ(o.result.error->code(), ErrorCode::kResourceExhausted);
  EXPECT_EQ(model->requests().size(), 3u);
  EXPECT_EQ(srv.calls().size(), 2u);  // the third answer's tool use is not run: nothing reads it
  ASSERT_EQ(o.types().back(), "error");
  EXPECT_EQ(str(o.events.back(), "code"), "resource_exhausted");
  EXPECT_NE(str(o.events.back(), "message").find("stopped after 3 model calls"), std::string::npos)
      << o.dump();
  // The stored turn stays a valid conversation: every tool use has a result, the assistant
  // speaks last.
  const auto& m = o.result.new_messages;
  ASSERT_GE(m.size(), 3u);
  EXPECT_EQ(m.back().role, llm::Role::kAssistant);
  EXPECT_TRUE(m.back().tool_uses().empty());
  EXPECT_NE(llm::to_json(m[m.size() - 2]).at("content").at(0).at("type").as_string(), "text");
}

TEST_F(AgentLoopTest, CancellingATurnCancelsItsToolCallAtTheServer) {
  auto& srv = server(/*legacy_only=*/true);
  srv.add("slow", Behaviour::kSlow);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (!has_results(r)) return Step{.uses = {use("slow")}};
    return Step{.text = "should not be asked again"};
  });
  start_agents({{"waiter", &srv}}, model);

  auto cancel = std::make_shared<CancelSignal>();
  TurnRequest request;
  request.question = "wait for it";
  auto running = start_turn(request, cancel);
  ASSERT_TRUE(wait_signal(srv.call_seen()));
  cancel->cancel();
  Outcome o = running.get();

  EXPECT_FALSE(o.result.ok);
  ASSERT_TRUE(o.result.error);
  EXPECT_EQ(o.result.error->code(), ErrorCode::kCancelled);
  EXPECT_EQ(o.types().back(), "error");
  EXPECT_EQ(str(o.events.back(), "code"), "cancelled");
  EXPECT_EQ(model->requests().size(), 1u);
  // The server heard notifications/cancelled and its handler stopped.
  ASSERT_TRUE(wait_signal(srv.cancel_seen()));
  EXPECT_GE(srv.cancelled_notifications(), 1);
  EXPECT_TRUE(wait_signal(srv.slow_call_cancelled()));
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_TRUE(ends[0].at("is_error").as_bool());
}

// A tool that allows tasks runs as one, in both protocol eras: the turn shows each change of
// the task's status as a tool_progress event between the call's tool_start and tool_end, and
// the model gets the task's result.
TEST_F(AgentLoopTest, AToolThatAllowsTasksRunsAsOneAndShowsItsProgress) {
  for (bool legacy : {false, true}) {
    auto& srv = server(legacy);
    srv.add("digest", Behaviour::kTask);
    auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
      if (!has_results(r)) return Step{.uses = {use("digest")}};
      return Step{.text = "It said: " + joined(last_results(r))};
    });
    start_agents({{"docs", &srv}}, model);
    Outcome o = ask("digest it");
    ASSERT_TRUE(o.result.ok) << o.dump();
    EXPECT_NE(o.result.final_text.find("done"), std::string::npos) << o.result.final_text;
    auto progress = o.of_type("tool_progress");
    ASSERT_GE(progress.size(), 2u) << o.dump();
    EXPECT_EQ(str(progress.front(), "call_id"), "call-1");
    EXPECT_EQ(str(progress.front(), "agent_id"), "docs");
    EXPECT_EQ(str(progress.front(), "tool"), "digest");
    EXPECT_EQ(str(progress.front(), "status"), "working");
    EXPECT_FALSE(str(progress.front(), "task_id").empty());
    EXPECT_EQ(str(progress.back(), "status"), "completed");
    bool stepped = false;
    for (const auto& e : progress) stepped |= str(e, "message").starts_with("step ");
    EXPECT_TRUE(stepped) << o.dump();
    EXPECT_LT(index_of(o, "tool_start"), index_of(o, "tool_progress")) << o.dump();
    EXPECT_LT(index_of(o, "tool_progress", true), index_of(o, "tool_end")) << o.dump();
    net::co_spawn(ioc_, registry_->stop(), net::use_future).get();
    runner_.reset();
    registry_.reset();
  }
}

// The user's Stop while a tool runs as a task: the task is cancelled on the server
// (tasks/cancel), and the turn ends cancelled.
TEST_F(AgentLoopTest, StoppingATurnCancelsItsTaskOnTheServer) {
  auto& srv = server();
  srv.add("long_job", Behaviour::kTaskSlow);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (!has_results(r)) return Step{.uses = {use("long_job")}};
    return Step{.text = "should not be asked again"};
  });
  start_agents({{"jobs", &srv}}, model);

  auto cancel = std::make_shared<CancelSignal>();
  auto working = std::make_shared<CancelSignal>();
  TurnRequest request;
  request.question = "run the long job";
  auto running = start_turn(request, cancel, [working](const Event& e) {
    if (event_type(e) == "tool_progress") working->cancel();
  });
  ASSERT_TRUE(wait_signal(working));
  cancel->cancel();
  Outcome o = running.get();
  EXPECT_EQ(str(o.events.back(), "code"), "cancelled");
  ASSERT_TRUE(wait_signal(srv.task_cancel_seen()));
  EXPECT_TRUE(wait_signal(srv.slow_call_cancelled()));  // the tool itself stopped
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_TRUE(ends[0].at("is_error").as_bool());
}

// The whole-turn deadline holds while a tool runs as a task, and cancels the task.
TEST_F(AgentLoopTest, TheTurnDeadlineCancelsARunningTask) {
  auto& srv = server(/*legacy_only=*/true);
  srv.add("long_job", Behaviour::kTaskSlow);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (!has_results(r)) return Step{.uses = {use("long_job")}};
    return Step{.text = "should not be asked again"};
  });
  LoopLimits limits;
  limits.turn_deadline = 400ms;
  start_agents({{"jobs", &srv}}, model, limits);
  Outcome o = ask("run the long job");
  EXPECT_EQ(str(o.events.back(), "code"), "timeout") << o.dump();
  EXPECT_TRUE(wait_signal(srv.task_cancel_seen()));
  EXPECT_TRUE(wait_signal(srv.slow_call_cancelled()));
  EXPECT_GE(o.of_type("tool_progress").size(), 1u);
}

TEST_F(AgentLoopTest, CancellingStopsTheModelStream) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(
      [](const llm::ModelRequest&) { return Step{.hang = true}; });
  start_agents({{"thinker", &srv}}, model);

  auto cancel = std::make_shared<CancelSignal>();
  TurnRequest request;
  request.question = "think hard";
  auto running = start_turn(request, cancel);
  ASSERT_TRUE(wait_signal(model->hanging()));
  cancel->cancel();
  Outcome o = running.get();
  ASSERT_TRUE(o.result.error);
  EXPECT_EQ(o.result.error->code(), ErrorCode::kCancelled);
  EXPECT_EQ(str(o.events.back(), "code"), "cancelled");
  EXPECT_EQ(o.result.new_messages.back().role, llm::Role::kAssistant);
}

TEST_F(AgentLoopTest, TheTurnDeadlineEndsASilentModel) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(
      [](const llm::ModelRequest&) { return Step{.hang = true}; });
  LoopLimits limits;
  limits.turn_deadline = 200ms;
  start_agents({{"thinker", &srv}}, model, limits);

  Outcome o = ask("think forever");
  ASSERT_TRUE(o.result.error);
  EXPECT_EQ(o.result.error->code(), ErrorCode::kTimeout);
  EXPECT_EQ(str(o.events.back(), "code"), "timeout");
  EXPECT_NE(str(o.events.back(), "message").find("turn deadline"), std::string::npos);
}

// The scripted sub-agents and orchestrator of the two-agent tests.
Step two_agent_script(const llm::ModelRequest& r) {
  if (is_orchestrator(r)) {
    if (!has_results(r)) {
      return Step{.text = "Asking both. ",
                  .uses = {use("calc", R"({"query":"What is 2 + 3?"})"),
                           use("mail", R"({"query":"Who is a.b?"})")}};
    }
    return Step{.text = "Summary: " + joined(last_results(r))};
  }
  if (speaks_as(r, "calc")) {
    if (!has_results(r)) return Step{.uses = {use("add", R"({"a":2,"b":3})")}};
    return Step{.text = "calc says " + joined(last_results(r))};
  }
  if (speaks_as(r, "mail")) {
    if (!has_results(r)) return Step{.uses = {use("lookup", R"({"who":"a.b"})")}};
    return Step{.text = "mail says " + joined(last_results(r))};
  }
  if (speaks_as(r, "quiet")) return Step{.hang = true, .deaf = true};
  return Step{.error = Error(ErrorCode::kInternal, "unexpected system prompt: " + r.system)};
}

TEST_F(AgentLoopTest, TheOrchestratorAsksTwoAgentsAtOnceAndAnswersFromBoth) {
  auto& calc = server();
  calc.add_adder();
  auto& mail = server();
  mail.add("lookup", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(two_agent_script);
  start_agents({{"calc", &calc}, {"mail", &mail}}, model);

  Outcome o = ask("What is 2 + 3, and who is a.b?");
  ASSERT_TRUE(o.result.ok) << o.dump();
  EXPECT_NE(o.result.final_text.find("calc says"), std::string::npos) << o.result.final_text;
  EXPECT_NE(o.result.final_text.find("mail says"), std::string::npos) << o.result.final_text;
  EXPECT_NE(o.result.final_text.find(R"(lookup {"who":"a.b"})"), std::string::npos)
      << o.result.final_text;

  // The orchestrator's tools are the agents, each taking {query}; its prompt lists them.
  auto requests = model->requests();
  const llm::ModelRequest& first = requests.front();
  ASSERT_TRUE(is_orchestrator(first));
  ASSERT_EQ(first.tools.size(), 2u);
  EXPECT_EQ(first.tools[0].name, "calc");
  EXPECT_EQ(first.tools[1].name, "mail");
  EXPECT_EQ(first.tools[0].input_schema.at("required"), bj::array{"query"});
  EXPECT_NE(first.system.find("calc does things."), std::string::npos);
  EXPECT_NE(first.system.find("\"ask mail\""), std::string::npos);

  auto turn_start = o.events.front();
  EXPECT_EQ(turn_start.at("agent_ids"), (bj::array{"calc", "mail"}));
  auto starts = o.of_type("subagent_start");
  ASSERT_EQ(starts.size(), 2u);
  EXPECT_EQ(str(starts[0], "agent_id"), "calc");
  EXPECT_EQ(str(starts[0], "query"), "What is 2 + 3?");
  // Both sub-agents were asked before either answered.
  EXPECT_LT(index_of(o, "subagent_start", true), index_of(o, "subagent_end")) << o.dump();
  for (const auto& e : o.of_type("subagent_end")) EXPECT_FALSE(e.at("is_error").as_bool());
  std::set<std::string> tool_agents;
  std::map<std::string, std::string> call_of;  // agent -> call_id of its subagent_start
  for (const auto& e : starts) call_of[str(e, "agent_id")] = str(e, "call_id");
  for (const auto& e : o.of_type("tool_start")) {
    tool_agents.insert(str(e, "agent_id"));
    EXPECT_EQ(str(e, "parent_call_id"), call_of[str(e, "agent_id")]) << bj::serialize(e);
  }
  EXPECT_EQ(tool_agents, (std::set<std::string>{"calc", "mail"}));
  // A sub-agent's text is marked with its id; the orchestrator's is the answer.
  std::string answer, calc_text;
  for (const auto& e : o.of_type("text_delta")) {
    if (!e.contains("agent_id")) answer += str(e, "text");
    EXPECT_EQ(e.contains("agent_id"), e.contains("parent_call_id")) << bj::serialize(e);
    if (str(e, "agent_id") == "calc") calc_text += str(e, "text");
  }
  EXPECT_EQ(answer, "Asking both. " + o.result.final_text);
  EXPECT_TRUE(calc_text.starts_with("calc says")) << calc_text;
  // The stored turn is the orchestrator's conversation.
  ASSERT_EQ(o.result.new_messages.size(), 4u);
  EXPECT_EQ(o.result.new_messages[1].tool_uses().size(), 2u);
}

TEST_F(AgentLoopTest, ASilentSubAgentIsGivenUpOnAtItsDeadline) {
  auto& calc = server();
  calc.add_adder();
  auto& quiet = server();
  quiet.add("nothing", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (is_orchestrator(r) && !has_results(r)) {
      return Step{.uses = {use("quiet", R"({"query":"anything?"})"),
                           use("calc", R"({"query":"What is 2 + 3?"})")}};
    }
    if (is_orchestrator(r)) return Step{.text = "Got: " + joined(last_results(r))};
    return two_agent_script(r);
  });
  LoopLimits limits;
  limits.subagent_deadline = 300ms;
  start_agents({{"calc", &calc}, {"quiet", &quiet}}, model, limits);

  Outcome o = ask("ask both");
  model->release();  // the silent model ignored its cancellation; let it end now
  ASSERT_TRUE(o.result.ok) << o.dump();
  EXPECT_NE(o.result.final_text.find("the agent quiet did not answer within 0.3 s"),
            std::string::npos)
      << o.result.final_text;
  EXPECT_NE(o.result.final_text.find("calc says"), std::string::npos) << o.result.final_text;
  bool quiet_failed = false;
  for (const auto& e : o.of_type("subagent_end")) {
    if (str(e, "agent_id") == "quiet") quiet_failed = e.at("is_error").as_bool();
  }
  EXPECT_TRUE(quiet_failed) << o.dump();
  EXPECT_EQ(o.types().back(), "final");
}

TEST_F(AgentLoopTest, OddToolNamesReachTheModelSanitizedAndTheServerAsTheyAre) {
  const std::vector<std::string> odd = {
      "get.client address", "größe", "a b", "a_b",
      "a_tool_name_that_is_much_longer_than_sixty_four_characters_allowed_by_the_model_apis"};
  auto& srv = server();
  for (const auto& name : odd) srv.add(name, Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (has_results(r)) return Step{.text = "done"};
    Step s;
    for (const auto& t : r.tools) s.uses.push_back(use(t.name));
    return s;
  });
  start_agents({{"odd", &srv}}, model);

  Outcome o = ask("call them all");
  ASSERT_TRUE(o.result.ok) << o.dump();
  const std::regex allowed("^[a-zA-Z0-9_-]{1,64}$");
  std::set<std::string> model_names;
  auto requests = model->requests();
  for (const auto& t : requests.front().tools) {
    EXPECT_TRUE(std::regex_match(t.name, allowed)) << t.name;
    model_names.insert(t.name);
  }
  EXPECT_EQ(model_names.size(), odd.size()) << "model names must be unique";
  std::set<std::string> called, shown;
  for (const auto& c : srv.calls()) called.insert(c.tool);
  for (const auto& e : o.of_type("tool_start")) shown.insert(str(e, "tool"));
  EXPECT_EQ(called, std::set<std::string>(odd.begin(), odd.end()));
  EXPECT_EQ(shown, called);
}

TEST_F(AgentLoopTest, ALargeResultIsCutForTheModelAndWholeInTheEvent) {
  auto& srv = server();
  srv.add("dump", Behaviour::kBig);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    if (!has_results(r)) return Step{.uses = {use("dump")}};
    return Step{.text = "ok"};
  });
  LoopLimits limits;
  limits.max_tool_result_bytes = 1000;
  start_agents({{"dumper", &srv}}, model, limits);

  Outcome o = ask("dump it");
  ASSERT_TRUE(o.result.ok) << o.dump();
  std::string seen = joined(last_results(model->requests()[1]));
  EXPECT_LT(seen.size(), 1400u);
  EXPECT_NE(seen.find("[... cut: the tool result has 50000 bytes; 1000 are shown."),
            std::string::npos)
      << seen;
  auto ends = o.of_type("tool_end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].at("output").at("content").at(0).at("text").as_string().size(), 50'000u);
}

TEST_F(AgentLoopTest, ATableComesOutAsDataAndThinkingNeverShows) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  const std::string block =
      R"({"responseType":"table","data":{"headers":[{"id":"n","label":"N"}],"rows":[{"id":"1","data":{"n":"1"}}]}})";
  auto model = std::make_shared<ScriptedModel>([block](const llm::ModelRequest&) {
    return Step{.text = "<thinking>my secret plan</thinking>Here is the table:\n\n```json\n" +
                        block + "\n```\n"};
  });
  start_agents({{"tabler", &srv}}, model);

  Outcome o = ask("show a table");
  ASSERT_TRUE(o.result.ok) << o.dump();
  EXPECT_EQ(o.result.final_text, "Here is the table:");
  ASSERT_TRUE(o.result.structured);
  EXPECT_EQ(bj::value(*o.result.structured), ::idp::json::parse(block).value());
  auto data = o.of_type("structured_data");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(str(data[0], "responseType"), "table");
  EXPECT_EQ(data[0].at("data"), ::idp::json::parse(block)->at("data"));
  EXPECT_LT(index_of(o, "structured_data"), index_of(o, "final"));
  for (const auto& e : o.events) {
    EXPECT_EQ(bj::serialize(e).find("secret plan"), std::string::npos) << bj::serialize(e);
  }
}

TEST_F(AgentLoopTest, TheModelSeesAWindowOfTheLastUserTurns) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(
      [](const llm::ModelRequest&) { return Step{.text = "fine"}; });
  LoopLimits limits;
  limits.window_user_turns = 3;
  start_agents({{"memory", &srv}}, model, limits);

  TurnRequest request;
  request.question = "question 4";
  for (int i = 1; i <= 3; ++i) {
    request.history.push_back(llm::Message::user_text("question " + std::to_string(i)));
    if (i == 2) {
      llm::Message uses{llm::Role::kAssistant, {llm::ToolUseBlock{"t1", "echo", {}}}};
      llm::Message results{llm::Role::kUser,
                           {llm::ToolResultBlock{
                               "t1", bj::array{bj::object{{"type", "text"},
                                                          {"text", std::string(5000, 'y')}}}}}};
      request.history.push_back(uses);
      request.history.push_back(results);
    }
    request.history.push_back(llm::Message::assistant_text("answer " + std::to_string(i)));
  }
  Outcome o = ask(request);
  ASSERT_TRUE(o.result.ok) << o.dump();
  auto requests = model->requests();
  const auto& sent = requests.front().messages;
  ASSERT_FALSE(sent.empty());
  EXPECT_EQ(sent.front().text(), "question 2");
  EXPECT_EQ(sent.back().text(), "question 4");
  ASSERT_EQ(sent.size(), 7u);  // q2, uses, results, a2, q3, a3, q4
  const auto& old = std::get<llm::ToolResultBlock>(sent[2].content[0]);
  std::string old_text = llm::tool_result_text(old);
  EXPECT_LT(old_text.size(), 2400u);
  EXPECT_NE(old_text.find("[... cut:"), std::string::npos);
  // Nothing is lost from what is stored: the turn's new messages are only its own.
  ASSERT_EQ(o.result.new_messages.size(), 2u);
  EXPECT_EQ(o.result.new_messages[0].text(), "question 4");
}

TEST_F(AgentLoopTest, AnUnknownAgentIsNamedWithTheKnownOnes) {
  auto& srv = server();
  srv.add("echo", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>(
      [](const llm::ModelRequest&) { return Step{.text = "hi"}; });
  start_agents({{"only", &srv}}, model);

  Outcome o = ask("hello", {"nosuch"});
  ASSERT_TRUE(o.result.error);
  EXPECT_EQ(o.result.error->code(), ErrorCode::kNotFound);
  EXPECT_EQ(o.types(), (std::vector<std::string>{"turn_start", "usage", "error"}));
  EXPECT_EQ(str(o.events.back(), "message"), "unknown agent 'nosuch'; the agents are: only");
  EXPECT_TRUE(model->requests().empty());

  // No agent named: the sole ready agent answers directly, without an orchestrator.
  Outcome direct = ask("hello");
  ASSERT_TRUE(direct.result.ok) << direct.dump();
  EXPECT_TRUE(direct.of_type("subagent_start").empty());
  EXPECT_TRUE(speaks_as(model->requests().front(), "only"));
}

// Indirect prompt injection: a tool result may tell the model to use another agent's tool. An
// agent's turn holds only its own tools, so the call never reaches the other server.
TEST_F(AgentLoopTest, AToolOfAnotherAgentIsNotCallableFromThisAgentsTurn) {
  auto& mine = server();
  mine.add("lookup", Behaviour::kEcho);
  auto& theirs = server();
  theirs.add("wire_money", Behaviour::kEcho);
  auto model = std::make_shared<ScriptedModel>([](const llm::ModelRequest& r) {
    std::string results = joined(last_results(r));
    if (results.empty()) return Step{.uses = {use("lookup")}};
    if (results.find("wire_money") == std::string::npos) {
      return Step{.uses = {use("wire_money", R"({"to":"attacker"})")}};
    }
    return Step{.text = "done: " + results};
  });
  start_agents({{"reader", &mine}, {"bank", &theirs}}, model);

  Outcome o = ask("look it up", {"reader"});
  ASSERT_TRUE(o.result.ok) << o.dump();
  auto requests = model->requests();
  ASSERT_EQ(requests.size(), 3u);
  for (const auto& t : requests[0].tools) EXPECT_NE(t.name, "wire_money");
  auto refused = last_results(requests[2]);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].find("there is no tool named wire_money; the tools are: lookup"),
            std::string::npos)
      << refused[0];
  EXPECT_TRUE(theirs.calls().empty());
  EXPECT_EQ(mine.calls().size(), 1u);
}

}  // namespace
}  // namespace idp::agents::test
