// Conversation memory as the agent loop sends it to a model. The stored history keeps every
// message of every turn; what a model sees is a window of it:
//  - the last N user turns (a user message with text; a message of tool results is not a user
//    turn), with everything after the first of them;
//  - tool results of earlier turns shortened to a few KB each (with a marker), since the model
//    already answered from them; the current turn's results are untouched.
// close_conversation() keeps a history that ended early (cancelled, failed, capped) a valid
// alternation for the next turn: every tool use gets a result and the last message is the
// assistant's. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "idp/llm/model.h"

namespace idp::agents {

// Bytes a tool result of an earlier turn keeps in the window.
inline constexpr std::size_t kOldToolResultBytes = 2048;

bool is_user_turn(const llm::Message& message);

// The messages to send: `messages` (history and this turn's, oldest first) cut to the last
// `user_turns` user turns (0: all), earlier turns' tool results shortened. `current_from` is the
// index in `messages` where this turn begins: results from there on are kept whole.
std::vector<llm::Message> conversation_window(const std::vector<llm::Message>& messages,
                                              std::size_t user_turns, std::size_t current_from);

// Makes `messages` end with an assistant message: tool uses left without a result get an error
// result saying `note`, and an assistant text "(no answer: <note>)" follows a user message.
void close_conversation(std::vector<llm::Message>& messages, std::string_view note);

}  // namespace idp::agents
