#!/usr/bin/env bash
# bedrock:MODEL_ID against fake-bedrock.mjs, whose frames come from the AWS SDK's event-stream
# encoder and which recomputes every SigV4 signature with the AWS SDK's signer:
#  1. our decoder reads back every frame the SDK encoder writes (all header types, exception and
#     error messages, empty and 200 KB payloads), fed in pieces of 1, 2, 3, 5, 8, ... bytes;
#  2. ConverseStream: text in many deltas, a tool use whose input arrives in fragments, two tool
#     uses in one answer, reasoning with its signature, metadata usage, ThrottlingException then
#     success, an exception event mid-stream, a frame with a bad CRC; Converse (non-streaming);
#     the next turn with tool results (recorded); session token; model ids with ':' and ARNs;
#     a Bedrock API key (AWS_BEARER_TOKEN_BEDROCK) instead of SigV4;
#  3. advice: access denied, unknown model, a wrong secret key; `idp-agents models check`;
#  4. no AWS secret, session token or API key in any output or trace log;
#  5. the AWS SDK's own ConverseStream client assembles the same answers from the same fake.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$IDP_INTEROP_DIR/llm-lib.sh"
require_llm_peers

# 1. The SDK encoder's frames, decoded by ours.
"$LLM_NODE" "$IDP_INTEROP_DIR/llm-encode-events.mjs" "$IDP_TMP/frames.bin" "$IDP_TMP/expected.jsonl" ||
  fail "encoding frames with the AWS SDK"
"$IDP_BIN/eventstream-dump" "$IDP_TMP/frames.bin" >"$IDP_TMP/decoded.jsonl" ||
  fail "our decoder: $(tail -n 1 "$IDP_TMP/decoded.jsonl")"
n=$(wc -l <"$IDP_TMP/expected.jsonl")
expect "as many messages decoded as encoded" "$(wc -l <"$IDP_TMP/decoded.jsonl")" "$n"
i=0
while IFS= read -r theirs && IFS= read -r ours <&3; do
  i=$((i + 1))
  [[ $(jq -cS . <<<"$theirs") == "$(jq -cS . <<<"$ours")" ]] ||
    fail "message $i differs:
  SDK:  $(head -c 400 <<<"$theirs")
  ours: $(head -c 400 <<<"$ours")"
done <"$IDP_TMP/expected.jsonl" 3<"$IDP_TMP/decoded.jsonl"
log "ok: our decoder round-trips all $n frames of the SDK encoder (headers and payloads)"

# 2. The fake, with fixed test credentials.
AKID=AKIDFAKEBEDROCKTEST
SECRET=wJalrXUtnFEMI/K7MDENG+bPxRfiCY$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
TOKEN=IQoJb3JpZ2luX2VjEFAKE//session+token=$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
API_KEY=ABSKQmVkcm9ja0FQSUtleS$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')
MODEL=us.anthropic.claude-3-7-sonnet-20250219-v1:0
ARN=arn:aws:bedrock:eu-west-3:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0
cat >"$IDP_TMP/script.json" <<'EOF'
{"conversations": [
  {"match": "^say hello", "turns": [{"content": "Hello there, this answer arrives in many small pieces.",
                                     "usage": {"input_tokens": 25, "output_tokens": 12}}]},
  {"match": "^weather", "turns": [
    {"content": "Let me look that up.", "chunk_chars": 3,
     "tool_calls": [{"id": "tooluse_w1", "name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2, 3], "units": "metric"}}]},
    {"content": "It is {{last_tool_result}} today."}]},
  {"match": "^two tools", "turns": [{"tool_calls": [
      {"id": "tooluse_a", "name": "get_weather", "arguments": {"city": "Lyon"}},
      {"id": "tooluse_b", "name": "get_time", "arguments": {"tz": "Europe/Paris"}}]}]},
  {"match": "^think", "turns": [{"reasoning": "The user wants a number; 2+2=4.", "reasoning_signature": "EqQBCkYIARgCIkDsig",
                                 "content": "The answer is 4.", "usage": {"input_tokens": 9, "output_tokens": 30}}]},
  {"match": "^busy", "turns": [{"error": {"status": 429, "type": "ThrottlingException", "message": "Too many requests, please wait before trying again."},
                                "error_times": 1, "content": "worth the wait"}]},
  {"match": "^always busy", "turns": [{"error": {"status": 429, "type": "ThrottlingException", "message": "Too many requests, please wait before trying again."}}]},
  {"match": "^broken", "turns": [{"content": "a partial answer that breaks off", "stream_exception": {"after_events": 4, "type": "modelStreamErrorException", "message": "The model stream was interrupted."}}]},
  {"match": "^corrupt", "turns": [{"content": "a frame of this answer is corrupted", "bad_crc": {"event": 3}}]},
  {"match": "^slow", "turns": [{"content": "this answer is slow enough to be cancelled halfway through", "chunk_delay_ms": 100}]}
 ],
 "default": {"turns": [{"content": "ok"}]}}
EOF
start_fake ENDPOINT FAKE_PID fake-bedrock.mjs --script "$IDP_TMP/script.json" --access-key-id $AKID \
  --secret-access-key "$SECRET" --session-token "$TOKEN" --region eu-west-3 --bearer-token "$API_KEY" \
  --models "$MODEL,$ARN,denied.model" --deny-models denied.model --record "$IDP_TMP/record.jsonl"
export AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$ENDPOINT AWS_REGION=eu-west-3 AWS_ACCESS_KEY_ID=$AKID
export AWS_SECRET_ACCESS_KEY=$SECRET AWS_SESSION_TOKEN=$TOKEN AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_REGION AWS_BEARER_TOKEN_BEDROCK
M=bedrock:$MODEL
TOOLS='[{"name":"get_weather","description":"Weather by city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}},{"name":"get_time","description":"Time in a zone","input_schema":{"type":"object"}}]'
request() {
  jq -n --arg q "$2" --argjson tools "$TOOLS" \
    '{system: "Be brief.", messages: [{role: "user", content: [{type: "text", text: $q}]}], tools: $tools}' >"$1"
}

converse text --model $M --question "say hello"
expect "text answer" "$(jget text .response.message.content)" '[{"type":"text","text":"Hello there, this answer arrives in many small pieces."}]'
expect "text came in many deltas" "$(jget text '.streamed.text_events > 5')" true
expect "metadata usage" "$(jget text .response.usage)" '{"input_tokens":25,"output_tokens":12}'
expect "stop reason" "$(jget text '[.response.stop_reason, .response.raw_stop_reason]')" '["end_turn","end_turn"]'
expect "signed for bedrock, path double-encoded by the fake's check" \
  "$(jq -s -c '.[-1] | [.auth, .path, (.signed_headers | index("x-amz-security-token") != null)]' "$IDP_TMP/record.jsonl")" \
  '["sigv4","/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream",true]'

request "$IDP_TMP/weather.json" "weather in Paris?"
converse weather --model $M --request "$IDP_TMP/weather.json"
expect "tool input assembled from fragments" "$(jget weather '[.response.message.content[] | select(.type == "tool_use")]')" \
  '[{"type":"tool_use","id":"tooluse_w1","name":"get_weather","input":{"city":"Paris","days":[1,2,3],"units":"metric"}}]'
expect "stop reason tool_use" "$(jget weather .response.stop_reason)" '"tool_use"'
sent=$(jq -s -c '.[-1].body | {system, tools: [.toolConfig.tools[].toolSpec.name], maxTokens: .inferenceConfig.maxTokens}' "$IDP_TMP/record.jsonl")
expect "system, tool specs and maxTokens sent" "$sent" '{"system":[{"text":"Be brief."}],"tools":["get_weather","get_time"],"maxTokens":4096}'
jq --argjson a "$(jget weather .response.message)" \
  '.messages += [$a, {role: "user", content: [{type: "tool_result", tool_use_id: "tooluse_w1", content: [{type: "json", json: {tempC: 21}}]}]}]' \
  "$IDP_TMP/weather.json" >"$IDP_TMP/weather2.json"
converse weather2 --model $M --request "$IDP_TMP/weather2.json"
expect "second turn uses the tool result" "$(jget weather2 '.response.message.content[0].text')" '"It is {\"tempC\":21} today."'
expect "toolUse then toolResult went back" "$(jq -s -c '.[-1].body.messages[1:] | map(.content[] | keys[0])' "$IDP_TMP/record.jsonl")" \
  '["text","toolUse","toolResult"]'
expect "toolResult as JSON" "$(jq -s -c '.[-1].body.messages[2].content[0].toolResult' "$IDP_TMP/record.jsonl")" \
  '{"toolUseId":"tooluse_w1","status":"success","content":[{"json":{"tempC":21}}]}'

request "$IDP_TMP/two.json" "two tools please"
converse two --model $M --request "$IDP_TMP/two.json"
expect "two tool uses" "$(jget two '[.response.message.content[] | select(.type == "tool_use") | {id, name, input}]')" \
  '[{"id":"tooluse_a","name":"get_weather","input":{"city":"Lyon"}},{"id":"tooluse_b","name":"get_time","input":{"tz":"Europe/Paris"}}]'
expect "both handed over as they completed" "$(jget two '[.streamed.tool_uses[].id]')" '["tooluse_a","tooluse_b"]'

converse think --model $M --question "think about 2+2"
expect "reasoning with its signature" "$(jget think '.response.message.content[0]')" \
  '{"type":"reasoning","text":"The user wants a number; 2+2=4.","signature":"EqQBCkYIARgCIkDsig"}'
expect "reasoning streamed apart from text" "$(jget think '[.streamed.reasoning, .streamed.text]')" '["The user wants a number; 2+2=4.","The answer is 4."]'

converse whole --model $M --no-stream --request "$IDP_TMP/two.json"
expect "Converse (non-streaming)" "$(jget whole '[.response.message.content[] | select(.type == "tool_use") | .name]')" '["get_weather","get_time"]'
expect "Converse path" "$(jq -s -r '.[-1].path' "$IDP_TMP/record.jsonl")" "/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse"

converse arn --model "bedrock:$ARN" --question "say hello"
expect "an inference-profile ARN as model id" "$(jget arn .response.stop_reason)" '"end_turn"'
expect "ARN sent as one segment" "$(jq -s -r '.[-1].path' "$IDP_TMP/record.jsonl")" \
  "/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream"

converse busy --model $M --question "busy now?"
expect "ThrottlingException then success" "$(jget busy .response.message.content[0].text)" '"worth the wait"'
expect "two requests for it" "$(jq -s '[.[] | select(.question == "busy now?")] | length' "$IDP_TMP/record.jsonl")" 2
converse always --model $M --max-attempts 3 --question "always busy"
expect "throttled every time" "$(jget always .error.code)" '"unavailable"'
grep -q "throttled (HTTP 429 ThrottlingException: Too many requests.*Service Quotas (gave up after 3 attempts)" "$IDP_TMP/ours/always.json" ||
  fail "throttling advice: $(cat "$IDP_TMP/ours/always.json")"

converse broken --model $M --question "broken stream"
expect "exception event mid-stream" "$(jget broken .error.code)" '"unavailable"'
grep -q "the answer stream broke off (ModelStreamErrorException: The model stream was interrupted.)" "$IDP_TMP/ours/broken.json" ||
  fail "mid-stream exception: $(cat "$IDP_TMP/ours/broken.json")"
expect "text before the exception was streamed" "$(jget broken '.streamed.text | length > 0')" true
expect "no retry once words were shown" "$(jq -s '[.[] | select(.question == "broken stream")] | length' "$IDP_TMP/record.jsonl")" 1

converse corrupt --model $M --question "corrupt frame"
expect "bad CRC" "$(jget corrupt .error.code)" '"protocol"'
grep -q "event stream: message 4 at byte [0-9]*: message CRC mismatch" "$IDP_TMP/ours/corrupt.json" ||
  fail "bad CRC error: $(cat "$IDP_TMP/ours/corrupt.json")"

AWS_BEARER_TOKEN_BEDROCK=$API_KEY converse apikey --model $M --question "say hello"
expect "a Bedrock API key instead of SigV4" "$(jget apikey .response.stop_reason),$(jq -s -r '.[-1].auth' "$IDP_TMP/record.jsonl")" '"end_turn",bearer'
AWS_BEARER_TOKEN_BEDROCK=wrong$API_KEY converse badapikey --model $M --question "say hello"
expect "a wrong API key" "$(jget badapikey .error.code)" '"unauthenticated"'
grep -q "the Bedrock API key was refused.*AWS_BEARER_TOKEN_BEDROCK" "$IDP_TMP/ours/badapikey.json" ||
  fail "API key advice: $(cat "$IDP_TMP/ours/badapikey.json")"

converse slow --model $M --cancel-after-text --question "slow answer"
expect "cancelled" "$(jget slow .error.code)" '"cancelled"'
expect "stopped after the first delta" "$(jget slow .streamed.text_events)" 1

# 3. Advice.
converse denied --model bedrock:denied.model --question "say hello"
expect "access denied" "$(jget denied .error.code)" '"permission_denied"'
grep -q "enable access to model denied.model in region eu-west-3 in the Bedrock console" "$IDP_TMP/ours/denied.json" ||
  fail "access advice: $(cat "$IDP_TMP/ours/denied.json")"
converse unknown --model bedrock:no.such-model-v9:0 --question "say hello"
expect "unknown model" "$(jget unknown .error.code)" '"not_found"'
grep -q "unknown model id 'no.such-model-v9:0'" "$IDP_TMP/ours/unknown.json" || fail "unknown model: $(cat "$IDP_TMP/ours/unknown.json")"
AWS_SECRET_ACCESS_KEY=wrong$SECRET converse badsig --model $M --question "say hello"
expect "wrong secret key" "$(jget badsig .error.code)" '"unauthenticated"'
grep -q "InvalidSignatureException.*check AWS_SECRET_ACCESS_KEY" "$IDP_TMP/ours/badsig.json" || fail "signature advice: $(cat "$IDP_TMP/ours/badsig.json")"
AWS_REGION= AWS_DEFAULT_REGION= AWS_CONFIG_FILE=/nonexistent converse noregion --model $M --question "say hello"
grep -q "AWS_REGION" "$IDP_TMP/ours/noregion.json" || fail "no region: $(cat "$IDP_TMP/ours/noregion.json")"

"$IDP_BIN/idp-agents" --log-level trace models check --model $M >"$IDP_TMP/ours/check.out" 2>"$IDP_TMP/ours/check.err" ||
  fail "models check: $(cat "$IDP_TMP/ours/check.out" "$IDP_TMP/ours/check.err")"
grep -qx "model: $M" "$IDP_TMP/ours/check.out" && grep -qx ok "$IDP_TMP/ours/check.out" ||
  fail "models check output: $(cat "$IDP_TMP/ours/check.out")"
expect "models check asks for few tokens" "$(jq -s -c '.[-1].body.inferenceConfig.maxTokens' "$IDP_TMP/record.jsonl")" 8
rc=0
IDP_MODEL=bedrock:denied.model "$IDP_BIN/idp-agents" models check >"$IDP_TMP/ours/check2.out" 2>"$IDP_TMP/ours/check2.err" || rc=$?
expect "models check (IDP_MODEL) on a denied model exits 1" "$rc" 1
grep -q "^error: .*enable access to model denied.model in region eu-west-3" "$IDP_TMP/ours/check2.err" ||
  fail "models check advice: $(cat "$IDP_TMP/ours/check2.err")"

# 4. Secrets.
grep -qF -- "$SECRET" "$IDP_TMP/record.jsonl" && fail "the secret key appears in a request"
no_secret_in_our_output "$SECRET" "$TOKEN" "$API_KEY"

# 5. The AWS SDK's ConverseStream client against the same fake and scripts.
for q in "say hello" "weather in Paris?" "two tools please" "think about 2+2"; do
  theirs=$("$LLM_NODE" --no-warnings "$IDP_INTEROP_DIR/llm-sdk-answer.mjs" bedrock "$ENDPOINT" "$MODEL" "$q" "$TOOLS") ||
    fail "AWS SDK on '$q'"
  converse sdk-cmp --model $M --request <(jq -n --arg q "$q" --argjson tools "$TOOLS" \
    '{messages: [{role: "user", content: [{type: "text", text: $q}]}], tools: $tools}')
  ours=$(jq -cS --argjson n "$(normalized sdk-cmp)" '$n + {
      reasoning: ([.response.message.content[] | select(.type == "reasoning") | .text] | join("")),
      signature: ([.response.message.content[] | select(.type == "reasoning") | .signature] | join(""))}' \
    "$IDP_TMP/ours/sdk-cmp.json")
  expect "same answer as the AWS SDK for '$q'" "$ours" "$(jq -cS . <<<"$theirs")"
done
log "PASS bedrock model against fake-bedrock ($(wc -l <"$IDP_TMP/record.jsonl") signed requests checked)"
