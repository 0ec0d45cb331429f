#!/usr/bin/env bash
# openai:MODEL against fake-openai.mjs (the real chat-completions wire format, scripted): text
# streamed in many deltas with usage, a tool call whose arguments arrive in pieces, two tool calls
# in one answer, reasoning (reasoning_content and <think> text), the llama.cpp / Ollama shapes
# (CRLF, SSE comments, empty ids, the whole call in one chunk), the next turn with tool results
# (what we send is recorded), 429 then success, an error in the middle of the stream, the
# non-streaming API, a refused key, cancellation, `idp-agents models check`, and no API key in
# any output or trace log. Then the openai SDK's own stream helper and our model assemble the
# same answers from the same scripted streams.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$IDP_INTEROP_DIR/llm-lib.sh"
require_llm_peers

KEY=sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$IDP_TMP/script.json" <<'EOF'
{"conversations": [
  {"match": "^say hello", "turns": [{"content": "Hello there, this answer arrives in many small pieces.",
                                     "usage": {"input_tokens": 17, "output_tokens": 11}}]},
  {"match": "^weather", "turns": [
    {"content": "Let me look that up.", "chunk_chars": 3,
     "tool_calls": [{"id": "call_w", "name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2, 3], "units": "metric"}}]},
    {"content": "It is {{last_tool_result}} today."}]},
  {"match": "^two tools", "turns": [{"tool_calls": [
      {"id": "call_a", "name": "get_weather", "arguments": {"city": "Lyon"}},
      {"id": "call_b", "name": "get_time", "arguments": {"tz": "Europe/Paris"}}]}]},
  {"match": "^think", "turns": [{"reasoning": "The user wants a number.", "content": "<think>2+2 is 4</think>The answer is 4."}]},
  {"match": "^local server", "turns": [{"split": "whole", "crlf": true, "comments": true, "empty_ids": true,
      "tool_calls": [{"name": "get_weather", "arguments": {"city": "Nice"}}, {"name": "get_time", "arguments": {}}]}]},
  {"match": "^busy", "turns": [{"error": {"status": 429, "body": {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}},
                                "error_times": 1, "content": "worth the wait"}]},
  {"match": "^overloaded", "turns": [{"error": {"status": 503, "body": {"error": {"message": "overloaded"}}}, "content": "never"}]},
  {"match": "^broken", "turns": [{"content": "partial answer", "stream_error": {"message": "the model crashed"}}]},
  {"match": "^slow", "turns": [{"content": "this answer is slow enough to be cancelled halfway through", "chunk_delay_ms": 100}]}
 ],
 "default": {"turns": [{"content": "ok"}]}}
EOF
start_fake BASE FAKE_PID fake-openai.mjs --script "$IDP_TMP/script.json" --api-key "$KEY" --record "$IDP_TMP/record.jsonl"
export OPENAI_BASE_URL=$BASE/v1 OPENAI_API_KEY=$KEY
M=openai:fake-model
TOOLS='[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},{"name":"get_time","description":"Time in a zone","input_schema":{"type":"object"}}]'
request() {  # request FILE QUESTION: one question with the two tools
  jq -n --arg q "$2" --argjson tools "$TOOLS" \
    '{messages: [{role: "user", content: [{type: "text", text: $q}]}], tools: $tools}' >"$1"
}

# Text, streamed.
converse text --model $M --question "say hello"
expect "text answer" "$(jget text .response.message.content)" '[{"type":"text","text":"Hello there, this answer arrives in many small pieces."}]'
expect "text came in many deltas" "$(jget text '.streamed.text_events > 5')" true
expect "streamed text equals the answer" "$(jget text '.streamed.text == "Hello there, this answer arrives in many small pieces."')" true
expect "usage from the include_usage chunk" "$(jget text .response.usage)" '{"input_tokens":17,"output_tokens":11}'
expect "stop reason" "$(jget text '[.response.stop_reason, .response.raw_stop_reason]')" '["end_turn","stop"]'

# One tool call whose arguments arrive in 3-character pieces, then the next turn.
request "$IDP_TMP/weather.json" "weather in Paris?"
converse weather --model $M --request "$IDP_TMP/weather.json"
expect "tool call assembled from pieces" "$(jget weather '[.response.message.content[] | select(.type == "tool_use")]')" \
  '[{"type":"tool_use","id":"call_w","name":"get_weather","input":{"city":"Paris","days":[1,2,3],"units":"metric"}}]'
expect "on_tool_use saw it" "$(jget weather '.streamed.tool_uses | length')" 1
expect "stop reason tool_use" "$(jget weather .response.stop_reason)" '"tool_use"'
pieces=$(jq -s '[.[] | select(.question == "weather in Paris?")] | length' "$IDP_TMP/record.jsonl")
expect "one request for the first turn" "$pieces" 1
sent=$(jq -s -c '.[-1].body | {tools: [.tools[].function.name], stream, include_usage: .stream_options.include_usage}' "$IDP_TMP/record.jsonl")
expect "tool specs, stream and include_usage sent" "$sent" '{"tools":["get_weather","get_time"],"stream":true,"include_usage":true}'
jq --argjson a "$(jget weather .response.message)" \
  '.messages += [$a, {role: "user", content: [{type: "tool_result", tool_use_id: "call_w", content: [{type: "json", json: {tempC: 21}}]}]}]' \
  "$IDP_TMP/weather.json" >"$IDP_TMP/weather2.json"
converse weather2 --model $M --request "$IDP_TMP/weather2.json"
expect "second turn uses the tool result" "$(jget weather2 '.response.message.content[0].text')" '"It is {\"tempC\":21} today."'
tool_msg=$(jq -s -c '.[-1].body.messages | map(select(.role == "tool" or .role == "assistant")) | map({role, tool_call_id, content, n: (.tool_calls // [] | length)})' "$IDP_TMP/record.jsonl")
expect "assistant tool_calls then a role:tool message went back" "$tool_msg" \
  '[{"role":"assistant","tool_call_id":null,"content":"Let me look that up.","n":1},{"role":"tool","tool_call_id":"call_w","content":"{\"tempC\":21}","n":0}]'

# Two tool calls in one answer.
request "$IDP_TMP/two.json" "two tools please"
converse two --model $M --request "$IDP_TMP/two.json"
expect "two tool calls" "$(jget two '[.response.message.content[] | select(.type == "tool_use") | {id, name, input}]')" \
  '[{"id":"call_a","name":"get_weather","input":{"city":"Lyon"}},{"id":"call_b","name":"get_time","input":{"tz":"Europe/Paris"}}]'

# Reasoning never becomes answer text.
converse think --model $M --question "think about 2+2"
expect "answer text without the thinking" "$(jget think '[.response.message.content[] | select(.type == "text") | .text] | join("")')" '"The answer is 4."'
expect "reasoning kept as reasoning" "$(jget think '[.response.message.content[] | select(.type == "reasoning") | .text] | join("")')" '"The user wants a number.2+2 is 4"'
expect "streamed text without the thinking" "$(jget think .streamed.text)" '"The answer is 4."'

# llama.cpp / old Ollama shapes: CRLF, comments, empty ids, the whole call in one chunk.
request "$IDP_TMP/local.json" "local server shapes"
converse local --model $M --request "$IDP_TMP/local.json"
expect "whole-chunk calls parsed" "$(jget local '[.response.message.content[] | select(.type == "tool_use") | {name, input}]')" \
  '[{"name":"get_weather","input":{"city":"Nice"}},{"name":"get_time","input":{}}]'
expect "empty ids replaced by distinct ones" "$(jget local '[.response.message.content[] | select(.type == "tool_use") | .id] | (map(length > 0) | all) and (unique | length == 2)')" true

# Non-streaming.
converse whole --model $M --no-stream --request "$IDP_TMP/two.json"
expect "non-streaming answer" "$(jget whole '[.response.message.content[] | select(.type == "tool_use") | .name]')" '["get_weather","get_time"]'
expect "non-streaming request" "$(jq -s -c '.[-1] | [.stream, (.body | has("stream_options"))]' "$IDP_TMP/record.jsonl")" '[false,false]'

# 429 then success; 503 every time; an error mid-stream.
converse busy --model $M --question "busy now?"
expect "retried after 429" "$(jget busy .response.message.content[0].text)" '"worth the wait"'
expect "two requests for it" "$(jq -s '[.[] | select(.question == "busy now?")] | length' "$IDP_TMP/record.jsonl")" 2
converse overloaded --model $M --max-attempts 3 --question "overloaded"
expect "503 gives up" "$(jget overloaded .error.code)" '"unavailable"'
grep -q 'the server failed (HTTP 503: overloaded) (gave up after 3 attempts)' "$IDP_TMP/ours/overloaded.json" ||
  fail "503 advice: $(cat "$IDP_TMP/ours/overloaded.json")"
converse broken --model $M --question "broken stream"
expect "error mid-stream" "$(jget broken .error.code)" '"unavailable"'
grep -q 'the server reported an error in the middle of the answer: the model crashed' "$IDP_TMP/ours/broken.json" ||
  fail "mid-stream error: $(cat "$IDP_TMP/ours/broken.json")"
expect "no retry once words were shown" "$(jq -s '[.[] | select(.question == "broken stream")] | length' "$IDP_TMP/record.jsonl")" 1

# Cancellation at the first text delta ends the call.
converse slow --model $M --cancel-after-text --question "slow answer"
expect "cancelled" "$(jget slow .error.code)" '"cancelled"'
expect "stopped after the first delta" "$(jget slow .streamed.text_events)" 1

# A refused key: advice, and the key never printed.
OPENAI_API_KEY=sk-wrong-$KEY converse badkey --model $M --question "say hello"
expect "refused key" "$(jget badkey .error.code)" '"unauthenticated"'
grep -q 'the API key in OPENAI_API_KEY was refused' "$IDP_TMP/ours/badkey.json" || fail "401 advice: $(cat "$IDP_TMP/ours/badkey.json")"
OPENAI_API_KEY= converse nokey --model $M --question "say hello"
grep -q 'the server wants an API key.*set OPENAI_API_KEY' "$IDP_TMP/ours/nokey.json" || fail "no-key advice: $(cat "$IDP_TMP/ours/nokey.json")"

# idp-agents models check.
"$IDP_BIN/idp-agents" --log-level trace models check --model $M >"$IDP_TMP/ours/check.out" 2>"$IDP_TMP/ours/check.err" ||
  fail "models check failed: $(cat "$IDP_TMP/ours/check.out" "$IDP_TMP/ours/check.err")"
grep -qx 'model: openai:fake-model' "$IDP_TMP/ours/check.out" && grep -qx 'ok' "$IDP_TMP/ours/check.out" &&
  grep -q '^time: [0-9.]* s$' "$IDP_TMP/ours/check.out" || fail "models check output: $(cat "$IDP_TMP/ours/check.out")"
expect "models check asks for few tokens" "$(jq -s -c '.[-1].body | [.max_tokens, (.messages | length)]' "$IDP_TMP/record.jsonl")" '[8,1]'
rc=0
OPENAI_API_KEY=nope "$IDP_BIN/idp-agents" models check --model $M >"$IDP_TMP/ours/check2.out" 2>"$IDP_TMP/ours/check2.err" || rc=$?
expect "models check with a bad key exits 1" "$rc" 1
grep -q 'error: openai model .fake-model. at .*: the API key in OPENAI_API_KEY was refused' "$IDP_TMP/ours/check2.err" ||
  fail "models check advice: $(cat "$IDP_TMP/ours/check2.err")"

# The key went only into the Authorization header.
expect "every request was authorized" "$(jq -s 'map(.authorization) | all' "$IDP_TMP/record.jsonl")" true
grep -qF -- "$KEY" "$IDP_TMP/record.jsonl" && fail "the API key appears in a request body"
no_secret_in_our_output "$KEY"

# The openai SDK's stream helper assembles the same answers from the same scripted streams.
n=0
for q in "say hello" "weather in Paris?" "two tools please" "anything else?"; do
  n=$((n + 1))
  theirs=$("$LLM_NODE" "$IDP_INTEROP_DIR/llm-sdk-answer.mjs" openai "$OPENAI_BASE_URL" fake-model "$q" "$TOOLS") ||
    fail "openai SDK on '$q'"
  request "$IDP_TMP/cmp$n.json" "$q"
  converse cmp$n --model $M --request "$IDP_TMP/cmp$n.json"
  expect "same answer as the openai SDK for '$q'" "$(normalized cmp$n)" "$(jq -cS . <<<"$theirs")"
done
log "PASS openai model against fake-openai ($(wc -l <"$IDP_TMP/record.jsonl") requests)"
