// Small helpers of the UI: the URL hash routes, text shortening and the status page's advice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRoute, routeHash } from '../../../ui/app/lib/route.js';
import { formatMs, shorten } from '../../../ui/app/lib/format.js';
import { suggestFix } from '../../../ui/app/lib/fix.js';

test('routes round-trip through the URL hash; unknown ones go to the chat', () => {
  assert.deepEqual(parseRoute('#/chat/a%2Fb'), { page: 'chat', sessionId: 'a/b' });
  assert.equal(routeHash({ page: 'chat', sessionId: 'a/b' }), '#/chat/a%2Fb');
  assert.deepEqual(parseRoute('#/history'), { page: 'history', sessionId: null });
  assert.deepEqual(parseRoute(''), { page: 'chat', sessionId: null });
  assert.deepEqual(parseRoute('#/nope/x'), { page: 'chat', sessionId: null });
});

test('descriptions are shortened at a word with an ellipsis; short ones stay', () => {
  assert.equal(shorten('short'), 'short');
  const long = 'word '.repeat(60);
  const s = shorten(long, 150);
  assert.ok(s.length <= 151 && s.endsWith('…') && !s.includes('wor…'));
  assert.equal(formatMs(850), '850 ms');
  assert.equal(formatMs(2400), '2.4 s');
});

test('the status page suggests a fix from the reason', () => {
  assert.match(suggestFix({ status: 'disabled' }), /enabled/);
  assert.match(suggestFix({ status: 'unavailable', reason: 'connect: connection refused' }), /reachable/);
  assert.match(suggestFix({ status: 'unavailable', reason: 'Cognito: NotAuthorizedException' }), /cognito_password/);
  assert.match(suggestFix({ status: 'unavailable', reason: 'certificate verify failed' }), /ca_file/);
  assert.match(suggestFix({ status: 'unavailable', reason: 'something odd' }), /idp-agents doctor/);
});
