# shellcheck shell=bash
# Cognito API calls for the test and benchmark scripts (source it). Works against our
# `idp-agents local-cognito` and against cognito-local; needs curl and jq.
#
#   cog URL OPERATION JSON          one AWS JSON 1.1 call (X-Amz-Target: AWSCognitoIdentityProviderService.OP)
#   cognito_pool URL NAME USER PASSWORD
#                                   a pool, an app client allowing USER_PASSWORD_AUTH and refresh, and a
#                                   confirmed user with that password (and an e-mail: USER when it has
#                                   an @, as cognito-local needs); sets COG_POOL and COG_CLIENT

cog() {
  curl -sS -X POST "$1/" -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: AWSCognitoIdentityProviderService.$2" -d "$3"
}

cognito_pool() {
  local url=$1 name=$2 user=$3 password=$4 email=$3
  [[ $user == *@* ]] || email=$user@example.com  # cognito-local signs in by e-mail: pass one as USER
  COG_POOL=$(cog "$url" CreateUserPool "{\"PoolName\":\"$name\"}" | jq -r .UserPool.Id)
  COG_CLIENT=$(cog "$url" CreateUserPoolClient "{\"UserPoolId\":\"$COG_POOL\",\"ClientName\":\"agents\",
    \"ExplicitAuthFlows\":[\"ALLOW_USER_PASSWORD_AUTH\",\"ALLOW_REFRESH_TOKEN_AUTH\"]}" | jq -r .UserPoolClient.ClientId)
  cog "$url" AdminCreateUser "{\"UserPoolId\":\"$COG_POOL\",\"Username\":\"$user\",\"TemporaryPassword\":\"Temp0rary!1a\",
    \"MessageAction\":\"SUPPRESS\",\"UserAttributes\":[{\"Name\":\"email\",\"Value\":\"$email\"}]}" >/dev/null
  cog "$url" AdminSetUserPassword "{\"UserPoolId\":\"$COG_POOL\",\"Username\":\"$user\",\"Password\":\"$password\",\"Permanent\":true}" >/dev/null
  if [[ -z $COG_POOL || $COG_POOL == null || -z $COG_CLIENT || $COG_CLIENT == null ]]; then
    echo "cognito_pool: setting up pool $name at $url failed (pool '$COG_POOL', client '$COG_CLIENT')" >&2
    return 1
  fi
}
