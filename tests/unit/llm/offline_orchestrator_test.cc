// The offline model as an orchestrator: its tools are sub-agents ("<id>_agent", {query}), as
// the agent loop writes them. Routing by the agents' descriptions and tool lists, a question
// split between two agents, sub-agent answers passed through.
#include "offline_test_loop.h"

namespace idp::llm {
namespace {

using namespace offline_test;

// As the agent loop's orchestrator writes them: "Ask the agent '<name>': <description>", the
// description ending with the agent's tool list.
std::vector<ToolSpec> agent_tools() {
  const char* query = R"({"type":"object","properties":{"query":{"type":"string",
      "description":"the question for this agent, complete on its own"}},"required":["query"]})";
  return {spec("crm_agent",
               "Ask the agent 'CRM': Client records: postal addresses and verification e-mails. "
               "The tools available are: get_client_address, send_verification_email, "
               "list_outbox.",
               query),
          spec("calc_agent",
               "Ask the agent 'Calculator': Evaluates arithmetic. The tools available are: "
               "calculator.",
               query),
          spec("document_tools_agent",
               "Ask the agent 'Document Tools': Counts words, finds dates and adds up amounts in "
               "document text. The tools available are: word_count, find_dates, sum_amounts.",
               query)};
}

Reply agents(const ToolUseBlock& u) {
  std::string q(u.input.at("query").as_string());
  if (u.name == "crm_agent") return text_reply("Client C-1001 lives at 12 Analytical Row, London.");
  if (u.name == "document_tools_agent") return text_reply("The total is 6.");
  return text_reply(q.find("12*3") != std::string::npos ? "12*3 = 36" : "I cannot compute that.");
}

TEST(OfflineOrchestrator, RoutesToTheSubAgentThatFits) {
  Turn t = ask(agent_tools(), "What is the address of client C-1001?", agents);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.calls[0].input, obj(R"({"query":"What is the address of client C-1001?"})"));
  EXPECT_EQ(t.text, "Client C-1001 lives at 12 Analytical Row, London.");
}

TEST(OfflineOrchestrator, RoutesByTheSubAgentsToolList) {
  Turn t = ask(agent_tools(), "Sum the amounts 1, 2 and 3", agents);
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "document_tools_agent");
  EXPECT_EQ(t.text, "The total is 6.");
  Turn none = ask(agent_tools(), "What is the weather in Paris?", agents);
  EXPECT_TRUE(none.calls.empty());
  EXPECT_TRUE(
      none.text.starts_with("I could not match your question to a tool; the tools are: "
                            "crm_agent, calc_agent, document_tools_agent."));
}

TEST(OfflineOrchestrator, SplitsAQuestionForTwoAgents) {
  Turn t = ask(agent_tools(), "What is the address of client C-1001 and what is 12*3?", agents);
  ASSERT_EQ(t.calls_per_step, std::vector<std::size_t>{2});
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.calls[0].input, obj(R"({"query":"What is the address of client C-1001"})"));
  EXPECT_EQ(t.calls[1].name, "calc_agent");
  EXPECT_EQ(t.calls[1].input, obj(R"({"query":"what is 12*3"})"));
  EXPECT_EQ(t.text,
            "**crm_agent**: Client C-1001 lives at 12 Analytical Row, London.\n\n"
            "**calc_agent**: 12*3 = 36");
}

TEST(OfflineOrchestrator, PassesASubAgentTableThrough) {
  std::string sub =
      "list_outbox returned 1 messages:\n\n```json\n{\"responseType\":\"table\",\"data\":{}}\n```";
  Turn t = ask(agent_tools(), "List the outbox messages",
               [&](const ToolUseBlock&) { return text_reply(sub); });
  ASSERT_EQ(t.calls.size(), 1u);
  EXPECT_EQ(t.calls[0].name, "crm_agent");
  EXPECT_EQ(t.text, sub);
}

TEST(OfflineOrchestrator, ListsItsAgents) {
  Turn t = ask(agent_tools(), "Which tools do you have?", agents);
  EXPECT_TRUE(t.calls.empty());
  EXPECT_TRUE(t.text.starts_with("I can pass your question to these agents:\n- **crm_agent**: "))
      << t.text;
}

}  // namespace
}  // namespace idp::llm
