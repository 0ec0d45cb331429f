# shellcheck shell=bash
# Helpers for run-llm-*.sh (source it after lib.sh): the scripted model fakes, our model-converse
# fixture, and checks on its JSON.
#
#   require_llm_peers                     exits 2 with a hint when binaries or npm peers are missing
#   start_fake URL_VAR PID_VAR fake-openai.mjs --script FILE ...   starts a fake on 127.0.0.1:0
#   converse NAME ARGS...                 runs model-converse; JSON in $IDP_TMP/ours/NAME.json,
#                                         its stderr (trace logs) in $IDP_TMP/ours/NAME.log
#   jget NAME FILTER                      jq -c FILTER on that JSON
#   expect WHAT ACTUAL EXPECTED           fail unless equal
#   no_secret_in_our_output SECRET...     fail when a secret appears in anything ours printed
#   normalized NAME                       our answer as llm-sdk-answer.mjs prints the SDKs'

IDP_FIXTURES=$IDP_REPO/tests/fixtures
LLM_NODE=${IDP_LLM_NODE:-node}
CONVERSE=$IDP_BIN/model-converse
mkdir -p "$IDP_TMP/ours"

require_llm_peers() {
  local missing=() f
  for f in "$CONVERSE" "$IDP_BIN/eventstream-dump" "$IDP_BIN/idp-agents"; do
    [[ -x $f ]] || missing+=("$f (build it: cmake --build build --target ${f##*/})")
  done
  for f in openai @smithy/eventstream-codec @smithy/signature-v4 @smithy/hash-node @aws-sdk/client-bedrock-runtime; do
    [[ -f $IDP_PEERS/peers-llm/node_modules/$f/package.json ]] ||
      missing+=("$IDP_PEERS/peers-llm/node_modules/$f (run scripts/install-deps.sh --no-apt)")
  done
  command -v "$LLM_NODE" >/dev/null || missing+=("node on PATH (or IDP_LLM_NODE)")
  if ((${#missing[@]})); then
    printf '[%s] missing:\n' "$_idp_me" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 2
  fi
  export IDP_PEERS_DIR=$IDP_PEERS
}

start_fake() {
  local -n _sf_url=$1
  local -n _sf_pid=$2
  local name=$3
  shift 3
  local n=$(( ${#_idp_pids[@]} + 1 ))
  local out=$IDP_TMP/fake-$n.out err=$IDP_TMP/fake-$n.err
  "$LLM_NODE" "$IDP_FIXTURES/$name" "$@" >"$out" 2>"$err" &
  local pid=$!
  _idp_pids+=("$pid")
  local line=""
  for _ in $(seq 100); do
    line=$(head -n 1 "$out" 2>/dev/null || true)
    [[ $line =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ $line =~ ^listening\ on\ (http://127\.0\.0\.1:[0-9]+)$ ]] ||
    fail "$name did not start: $(cat "$err")"
  _sf_url=${BASH_REMATCH[1]}
  _sf_pid=$pid
  log "$name pid $pid on $_sf_url"
}

converse() {
  local name=$1
  shift
  "$CONVERSE" --log-level trace --backoff-ms 10 "$@" >"$IDP_TMP/ours/$name.json" 2>"$IDP_TMP/ours/$name.log" || true
  jq -e . "$IDP_TMP/ours/$name.json" >/dev/null 2>&1 ||
    fail "$name: model-converse printed no JSON: $(head -c 500 "$IDP_TMP/ours/$name.json") $(tail -n 5 "$IDP_TMP/ours/$name.log")"
}

jget() { jq -c "$2" "$IDP_TMP/ours/$1.json"; }

expect() {
  [[ $2 == "$3" ]] || fail "$1:
  got:      $2
  expected: $3"
  log "ok: $1"
}

normalized() {
  jq -cS '{text: ([.response.message.content[] | select(.type == "text") | .text] | join("")),
           tool_calls: [.response.message.content[] | select(.type == "tool_use") | {id, name, input}],
           finish_reason: .response.raw_stop_reason,
           usage: {input: .response.usage.input_tokens, output: .response.usage.output_tokens}}' \
    "$IDP_TMP/ours/$1.json"
}

no_secret_in_our_output() {
  local s
  for s in "$@"; do
    if grep -rlF -- "$s" "$IDP_TMP/ours" >/dev/null; then
      fail "a secret appears in our output: $(grep -rlF -- "$s" "$IDP_TMP/ours" | head -3)"
    fi
  done
  log "ok: no secret in $(find "$IDP_TMP/ours" -type f | wc -l) files of our output and trace logs"
}
