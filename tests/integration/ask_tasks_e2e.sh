#!/usr/bin/env bash
# `idp-agents ask` with a task-based tool, end to end (issue 18's acceptance): the example server
# (idp-mcp-server) with its summarize_document tool slowed down to IDP_SUMMARIZE_DELAY seconds
# (default 4 here; the manual acceptance run in docs/cli.md uses 20), reached through a TCP proxy
# that can cut connections (tests/fixtures/tcp-cut-proxy.mjs).
#   (a) a turn whose task outlives a dropped connection: the proxy cuts every connection (and
#       refuses new ones for a while) once the turn shows the task working; the client polls
#       again on a new connection and the turn still answers with the summary. The server ran
#       the tool once.
#   (b) Stop in another run: Ctrl-C (SIGINT) to `ask` once the task works; the turn ends
#       `cancelled` and the server cancelled the task (tasks/get, asked of the server, says so).
# Waits are for lines in the outputs (wait_line, 30 s guard), never fixed sleeps.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FIXTURES=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures" && pwd)
DELAY=${IDP_SUMMARIZE_DELAY:-4}

"$BIN/idp-mcp-server" --listen 127.0.0.1:0 --db "$TMP/example.db" --allow-anonymous \
  --summarize-delay "$DELAY" --log-level info >"$TMP/server.out" 2>&1 &
PIDS+=($!)
URL=$(wait_line "$TMP/server.out" 'http://127\.0\.0\.1:[0-9]+/mcp')
SERVER_PORT=$(sed -E 's|.*:([0-9]+)/mcp|\1|' <<<"$URL")

node "$FIXTURES/tcp-cut-proxy.mjs" --target "127.0.0.1:$SERVER_PORT" --down-ms 1500 >"$TMP/proxy.out" 2>&1 &
PROXY=$!
PIDS+=($PROXY)
PROXY_PORT=$(wait_line "$TMP/proxy.out" 'listening on 127\.0\.0\.1:[0-9]+' | sed 's/.*://')

printf '[{"mcp_url":"http://127.0.0.1:%s/mcp","agent_name":"Documents","agent_description":"Summarizes documents.","auth":{"type":"none"},"timeout_seconds":10}]\n' \
  "$PROXY_PORT" >"$TMP/secret.json"

DOC='The quarterly report is late. It covers three regions and nine products. Sales rose in two of them.'
QUESTION="Summarize the document \"$DOC\""

# ---- (a) a dropped connection in the middle of the task -----------------------------------------
"$BIN/idp-agents" ask --secret "file://$TMP/secret.json" --events "$QUESTION" >"$TMP/a.out" 2>"$TMP/a.err" &
ASK=$!
PIDS+=($ASK)
wait_line "$TMP/a.out" '"type":"tool_progress".*"status":"working"' >/dev/null
kill -USR1 "$PROXY"
wait_line "$TMP/proxy.out" 'cut [0-9]+ connections' >/dev/null
RC=0
wait "$ASK" || RC=$?
[[ $RC == 0 ]] || fail "(a) ask exited $RC: $(cat "$TMP/a.out" "$TMP/a.err")"
last=$(tail -n 1 "$TMP/a.out")
[[ $last == *'"type":"final"'* && $last == *"The quarterly report is late."* ]] ||
  fail "(a) the turn did not answer with the summary: $last"
grep -q '"type":"tool_end".*"tool":"summarize_document".*"is_error":false' "$TMP/a.out" ||
  fail "(a) summarize_document did not succeed: $(grep tool_end "$TMP/a.out")"
progress=$(grep -c '"type":"tool_progress"' "$TMP/a.out")
((progress >= 2)) || fail "(a) only $progress tool_progress events"
grep -q 'refused a connection\|cut [1-9][0-9]* connections' "$TMP/proxy.out" ||
  fail "(a) the proxy cut nothing: $(cat "$TMP/proxy.out")"
pass "(a) the task outlived a dropped connection; the turn answered ($progress tool_progress events)"

# ---- (b) Stop: Ctrl-C cancels the task on the server -------------------------------------------
"$BIN/idp-agents" ask --secret "file://$TMP/secret.json" --events "$QUESTION" >"$TMP/b.out" 2>"$TMP/b.err" &
ASK=$!
PIDS+=($ASK)
TASK=$(wait_line "$TMP/b.out" '"type":"tool_progress"[^}]*"task_id":"[^"]+"' | sed -E 's/.*"task_id":"([^"]+)".*/\1/')
kill -INT "$ASK"
RC=0
wait "$ASK" || RC=$?
[[ $RC == 1 ]] || fail "(b) ask exited $RC after Ctrl-C: $(cat "$TMP/b.out" "$TMP/b.err")"
last=$(tail -n 1 "$TMP/b.out")
[[ $last == *'"type":"error"'* && $last == *'"code":"cancelled"'* ]] || fail "(b) the turn did not end cancelled: $last"
# Asked of the server itself (2026-07-28 tasks/get, as any anonymous client of this server may):
# the task is cancelled, not still working.
META='{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"e2e","version":"1"},"io.modelcontextprotocol/clientCapabilities":{"extensions":{"io.modelcontextprotocol/tasks":{}}}}'
got=$(curl -s --max-time 10 "$URL" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
  -H 'MCP-Protocol-Version: 2026-07-28' -H 'Mcp-Method: tasks/get' -H "Mcp-Name: $TASK" \
  -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tasks/get\",\"params\":{\"taskId\":\"$TASK\",\"_meta\":$META}}")
[[ $got == *"\"taskId\":\"$TASK\""* && $got == *'"status":"cancelled"'* ]] ||
  fail "(b) the server's task $TASK is not cancelled: $got"
pass "(b) Ctrl-C ended the turn and the server cancelled task $TASK"

echo "$PASSED passed, 0 failed"
