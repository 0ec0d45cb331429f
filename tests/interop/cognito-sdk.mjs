// Interop peer: the AWS JavaScript SDK v3 (@aws-sdk/client-cognito-identity-provider) pointed at
// a Cognito-compatible endpoint (our `idp-agents local-cognito`). It creates a pool, an app
// client and a user, signs in (InitiateAuth USER_PASSWORD_AUTH), refreshes (REFRESH_TOKEN_AUTH),
// answers the NEW_PASSWORD_REQUIRED challenge of a user with a temporary password, puts the user
// in a group (CreateGroup, AdminAddUserToGroup: the tokens' `cognito:groups`), and checks that
// the errors are shaped as the SDK expects (it parses `__type` into the error's name).
//
//   node tests/interop/cognito-sdk.mjs ENDPOINT
//
// Prints one line per check ("ok ..." or "FAIL ...") and, last, a JSON line
// {"pool":..., "client":..., "username":..., "password":...} for the calling script; exits 1 on a
// failed check. Packages come from $IDP_PEERS_DIR/peers-aws (scripts/install-deps.sh).
import { check, cip, cognitoClient, expectError, failed } from './cognito-sdk-lib.mjs';

const client = cognitoClient('cognito-sdk.mjs');
function claims(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

const password = 'Passw0rd!Sdk';
const pool = (await client.send(new cip.CreateUserPoolCommand({ PoolName: 'sdk-pool' }))).UserPool;
check(/^us-east-1_[A-Za-z0-9]+$/.test(pool.Id ?? ''), 'CreateUserPool returns a region-prefixed pool id', pool.Id);
const app = (await client.send(new cip.CreateUserPoolClientCommand({
  UserPoolId: pool.Id, ClientName: 'sdk-client',
  ExplicitAuthFlows: ['ALLOW_USER_PASSWORD_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
}))).UserPoolClient;
check(typeof app.ClientId === 'string' && app.ClientId.length > 0 && !app.ClientSecret,
  'CreateUserPoolClient returns a client id and no secret');
const created = (await client.send(new cip.AdminCreateUserCommand({
  UserPoolId: pool.Id, Username: 'sdk-user', TemporaryPassword: 'Temp0rary!Sdk', MessageAction: 'SUPPRESS',
}))).User;
check(created.UserStatus === 'FORCE_CHANGE_PASSWORD', 'AdminCreateUser leaves the user in FORCE_CHANGE_PASSWORD', created.UserStatus);

// A temporary password: the challenge, then the new password.
const first = await client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'USER_PASSWORD_AUTH', ClientId: app.ClientId,
  AuthParameters: { USERNAME: 'sdk-user', PASSWORD: 'Temp0rary!Sdk' },
}));
check(first.ChallengeName === 'NEW_PASSWORD_REQUIRED' && typeof first.Session === 'string',
  'InitiateAuth with a temporary password answers NEW_PASSWORD_REQUIRED', first.ChallengeName);
const answered = await client.send(new cip.RespondToAuthChallengeCommand({
  ClientId: app.ClientId, ChallengeName: 'NEW_PASSWORD_REQUIRED', Session: first.Session,
  ChallengeResponses: { USERNAME: 'sdk-user', NEW_PASSWORD: password },
}));
check(typeof answered.AuthenticationResult?.AccessToken === 'string', 'RespondToAuthChallenge gives tokens');
const user = await client.send(new cip.AdminGetUserCommand({ UserPoolId: pool.Id, Username: 'sdk-user' }));
check(user.UserStatus === 'CONFIRMED', 'AdminGetUser shows CONFIRMED after the new password', user.UserStatus);

await client.send(new cip.AdminSetUserPasswordCommand({
  UserPoolId: pool.Id, Username: 'sdk-user', Password: password, Permanent: true,
}));
const auth = (await client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'USER_PASSWORD_AUTH', ClientId: app.ClientId,
  AuthParameters: { USERNAME: 'sdk-user', PASSWORD: password },
}))).AuthenticationResult;
const access = claims(auth.AccessToken);
check(auth.TokenType === 'Bearer' && auth.ExpiresIn === 3600 && typeof auth.RefreshToken === 'string',
  'InitiateAuth USER_PASSWORD_AUTH: Bearer, ExpiresIn 3600, a refresh token', JSON.stringify({ t: auth.TokenType, e: auth.ExpiresIn }));
check(access.token_use === 'access' && access.client_id === app.ClientId && access.aud === undefined &&
  access.iss.endsWith(`/${pool.Id}`) && access.exp - access.iat === 3600,
  'the access token is shaped like Cognito\'s (token_use, client_id, no aud, iss ends with the pool id)', JSON.stringify(access));
check(claims(auth.IdToken).aud === app.ClientId, 'the ID token has aud = client id');

const refreshed = (await client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: app.ClientId,
  AuthParameters: { REFRESH_TOKEN: auth.RefreshToken },
}))).AuthenticationResult;
check(typeof refreshed.AccessToken === 'string' && refreshed.RefreshToken === undefined &&
  claims(refreshed.AccessToken).sub === access.sub,
  'REFRESH_TOKEN_AUTH gives a new access token for the same sub and no new refresh token');
const me = await client.send(new cip.GetUserCommand({ AccessToken: refreshed.AccessToken }));
check(me.Username === 'sdk-user', 'GetUser with the refreshed token', me.Username);

// Groups: a member's tokens carry `cognito:groups` (how the service recognises a Reviewer).
check(access['cognito:groups'] === undefined, 'a user in no group has no cognito:groups claim');
const group = (await client.send(new cip.CreateGroupCommand({
  UserPoolId: pool.Id, GroupName: 'Reviewer', Description: 'reviews documents', Precedence: 1,
}))).Group;
check(group.GroupName === 'Reviewer' && group.UserPoolId === pool.Id && group.Precedence === 1 &&
  group.CreationDate instanceof Date, 'CreateGroup returns the group', JSON.stringify(group));
await expectError(client.send(new cip.CreateGroupCommand({ UserPoolId: pool.Id, GroupName: 'Reviewer' })),
  'GroupExistsException', 'a second CreateGroup of one name is GroupExistsException');
await client.send(new cip.AdminAddUserToGroupCommand({ UserPoolId: pool.Id, Username: 'sdk-user', GroupName: 'Reviewer' }));
await expectError(client.send(new cip.AdminAddUserToGroupCommand({ UserPoolId: pool.Id, Username: 'sdk-user', GroupName: 'Nobody' })),
  'ResourceNotFoundException', 'AdminAddUserToGroup with an unknown group is ResourceNotFoundException');
const member = (await client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'USER_PASSWORD_AUTH', ClientId: app.ClientId,
  AuthParameters: { USERNAME: 'sdk-user', PASSWORD: password },
}))).AuthenticationResult;
check(JSON.stringify(claims(member.AccessToken)['cognito:groups']) === '["Reviewer"]' &&
  JSON.stringify(claims(member.IdToken)['cognito:groups']) === '["Reviewer"]',
  'after AdminAddUserToGroup both tokens carry cognito:groups ["Reviewer"]', JSON.stringify(claims(member.AccessToken)));

await expectError(client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'USER_PASSWORD_AUTH', ClientId: app.ClientId,
  AuthParameters: { USERNAME: 'sdk-user', PASSWORD: 'wrong-password' },
})), 'NotAuthorizedException', 'a wrong password is NotAuthorizedException (HTTP 400)');
await expectError(client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'REFRESH_TOKEN_AUTH', ClientId: app.ClientId, AuthParameters: { REFRESH_TOKEN: 'not-a-token' },
})), 'NotAuthorizedException', 'a bad refresh token is NotAuthorizedException');
await expectError(client.send(new cip.InitiateAuthCommand({
  AuthFlow: 'USER_PASSWORD_AUTH', ClientId: 'no-such-client',
  AuthParameters: { USERNAME: 'sdk-user', PASSWORD: password },
})), 'ResourceNotFoundException', 'an unknown app client is ResourceNotFoundException');
await expectError(client.send(new cip.AdminGetUserCommand({ UserPoolId: pool.Id, Username: 'nobody' })),
  'UserNotFoundException', 'an unknown user is UserNotFoundException');

console.log(JSON.stringify({ pool: pool.Id, client: app.ClientId, username: 'sdk-user', password }));
process.exit(failed() ? 1 : 0);
