#!/usr/bin/env bash
# idp-agents' manners as a command: --version, --help with the exit codes, a mistyped command
# named with the nearest one, and usage errors with exit code 2.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
AGENTS=$BIN/idp-agents

rc=0
out=$("$AGENTS" --version 2>&1) || rc=$?
((rc == 0)) && [[ $out == "idp-agents 0.1.0" ]] || fail "--version (exit $rc): $out"
pass "--version prints '$out'"

rc=0
help=$("$AGENTS" --help 2>&1) || rc=$?
((rc == 0)) || fail "--help exited $rc"
[[ $help == *"--version"* ]] || fail "--help does not mention --version: $help"
[[ $help == *"Exit codes: 0 ok; 1 failed"*"2 usage"*"3 the tool answered with isError"* ]] ||
  fail "--help does not list the exit codes: $help"
pass "--help lists --version and the exit codes"

rc=0
err=$("$AGENTS" tool http://127.0.0.1:1/mcp 2>&1) || rc=$?
((rc == 2)) || fail "unknown command exited $rc: $err"
[[ $err == "error: unknown command 'tool'; did you mean 'tools'? (idp-agents --help lists the commands)" ]] ||
  fail "unknown command: $err"
pass "a mistyped command: $err"

rc=0
err=$("$AGENTS" --log-level debug frobnicate 2>&1) || rc=$?
((rc == 2)) && [[ $err == "error: unknown command 'frobnicate' (idp-agents --help lists the commands)" ]] ||
  fail "unknown command without a near one (exit $rc): $err"
pass "an unknown command with nothing near: $err"

for args in "tools" "tools http://127.0.0.1:1/mcp --no-such-option" ""; do
  rc=0
  # shellcheck disable=SC2086
  err=$("$AGENTS" $args 2>&1) || rc=$?
  ((rc == 2)) || fail "'idp-agents $args' exited $rc (usage errors exit 2): $err"
done
pass "a missing argument, an unknown option and no command at all exit 2"

rc=0
err=$("$AGENTS" tools http://127.0.0.1:1/mcp --oauth-client-secret-env IDP_CLI_TEST_SECRET 2>&1) || rc=$?
((rc == 2)) && [[ $err == "error: --oauth-client-secret-env needs --oauth-client-id" ]] ||
  fail "an OAuth secret without a client id (exit $rc): $err"
rc=0
err=$(IDP_CLI_TEST_TOKEN=t "$AGENTS" call http://127.0.0.1:1/mcp add --oauth-client-id c --token-env IDP_CLI_TEST_TOKEN 2>&1) || rc=$?
((rc == 2)) && [[ $err == "error: the --oauth-* options exclude --token-env and the Cognito options" ]] ||
  fail "--oauth-client-id with --token-env (exit $rc): $err"
rc=0
err=$("$AGENTS" tools http://127.0.0.1:1/mcp --oauth-client-id c --oauth-client-secret-env IDP_CLI_TEST_UNSET 2>&1) || rc=$?
((rc == 2)) && [[ $err == 'error: $IDP_CLI_TEST_UNSET is empty' ]] || fail "an empty OAuth secret variable (exit $rc): $err"
pass "MCP authorization options: a secret without a client id, mixed with --token-env, or empty exit 2"
echo "$PASSED passed, 0 failed"
