# shellcheck shell=bash
# Issue 5's five-entry secret with its servers, for the agent end-to-end scripts (source it after
# lib.sh and require_peers; it needs $AGENTS):
#   entry 1  the fixture server with JWT auth and the local identity provider     -> ready
#   entry 2  the same server named by agent_name ("Calculator Tools")              -> ready, id calculator_tools
#   entry 3  missing cognito_password                                              -> skipped, field named
#   entry 4  a server that is down (its port held by $DOWN_HOLDER)                 -> unavailable, reason
#   entry 5  a legacy "sse" entry against @modelcontextprotocol/server-everything  -> ready
# Sets COG, POOL, CLIENT, MCP_PORT, MCP_PID, DOWN_PORT, DOWN_HOLDER, SE_PORT, SE_PID, cred and
# SECRET (the file), and exports AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER; defines wait_for.
SE=$IDP_NODE_MODULES/@modelcontextprotocol/server-everything/dist/index.js

wait_for() {  # wait_for FILE REGEX [SECONDS]: first match (SECONDS, default 30, guard a hang)
  local m
  for _ in $(seq $(( ${3:-30} * 10 ))); do
    m=$(grep -oE "$2" "$1" 2>/dev/null | sed -n 1p) && [[ -n $m ]] && { echo "$m"; return 0; }
    sleep 0.1
  done
  tail -n 20 "$1" >&2
  fail "no '$2' in $1 within ${3:-30} s"
}

"$AGENTS" local-cognito --port 0 --data "$IDP_TMP/cognito" >"$IDP_TMP/cognito.out" 2>&1 &
_idp_pids+=($!)
COG=$(wait_for "$IDP_TMP/cognito.out" 'http://127\.0\.0\.1:[0-9]+')
source "$IDP_INTEROP_DIR/../lib/cognito.sh"
cognito_pool "$COG" agents svc 'Passw0rd!Agents' || fail "pool setup"
POOL=$COG_POOL CLIENT=$COG_CLIENT
export AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER=$COG/

start_server MCP_PORT MCP_PID --jwt-issuer "$COG/$POOL" --jwt-client-id "$CLIENT"
# The down server's port is in the secret before the server runs: held (refusing connections)
# until the server starts on it.
reserve_port DOWN_PORT DOWN_HOLDER
PORT=0 MCP_FORCE_LOOPBACK_DEBUG=1 "$IDP_NODE" -r "$IDP_INTEROP_DIR/force-loopback.cjs" "$SE" sse \
  >"$IDP_TMP/se.out" 2>"$IDP_TMP/se.err" &
SE_PID=$!
_idp_pids+=($SE_PID)
SE_PORT=$(force_loopback_port "$IDP_TMP/se.err" "$SE_PID") ||
  fail "server-everything reported no listener on 127.0.0.1: $(tail -n 20 "$IDP_TMP/se.err")"

cred="\"cognito_user_pool_id\":\"$POOL\",\"cognito_client_id\":\"$CLIENT\",\"cognito_username\":\"svc\""
SECRET=$IDP_TMP/secret.json
cat >"$SECRET" <<JSON
[
  {"mcp_url":"http://127.0.0.1:$MCP_PORT/mcp",$cred,"cognito_password":"Passw0rd!Agents","tools_allow":["add","whoami"]},
  {"mcp_url":"http://127.0.0.1:$MCP_PORT/mcp","agent_name":"Calculator Tools","agent_description":"Adds numbers.",$cred,
   "cognito_password":"Passw0rd!Agents","tools_allow":["add"],"tool_prefix":"calc_","sample_queries":["What is 2 + 40?"]},
  {"mcp_url":"http://127.0.0.1:$MCP_PORT/mcp",$cred},
  {"mcp_url":"http://127.0.0.1:$DOWN_PORT/mcp",$cred,"cognito_password":"Passw0rd!Agents","timeout_seconds":5},
  {"mcp_url":"http://127.0.0.1:$SE_PORT/sse","transport":"sse","agent_name":"Everything","tools_allow":["echo","get-sum"]}
]
JSON
chmod 600 "$SECRET"

