// Stop ends a slow turn; a turn still running after a reload is followed when its session is
// opened again (GET .../events?after=N), and Stop ends it there too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerEnded, ask, chatPage, conversation, lastAnswer, screenshot, signIn, toolStep, useStack } from './harness.mjs';

const env = useStack();

test('Stop ends a slow turn', async () => {
  const page = await chatPage(env);
  await ask(page, env.stack.prompts.slow.text);
  const step = toolStep(lastAnswer(page), env.stack.prompts.slow.tool);
  await step.waitFor();
  assert.match(await step.innerText(), /running/);
  await screenshot(page, 'slow-turn');
  assert.equal(await page.getByRole('button', { name: 'Send' }).count(), 0, 'no Send while a turn runs');
  await page.getByRole('button', { name: 'Stop' }).click();
  assert.equal(await answerEnded(page), 'cancelled');
  assert.match(await lastAnswer(page).innerText(), /Stopped/);
  assert.doesNotMatch(await step.locator('summary').innerText(), /running/);
  await page.getByRole('button', { name: 'Send' }).waitFor();
  assert.deepEqual(page.problems, []);
});

test('a running turn is followed after a reload, and Stop ends it', async () => {
  const page = await chatPage(env);
  await ask(page, env.stack.prompts.slow.text);
  await toolStep(lastAnswer(page), env.stack.prompts.slow.tool).waitFor();
  const url = page.url();
  assert.match(url, /#\/chat\/.+/);

  await page.reload();
  await signIn(page, env.stack);
  assert.equal(page.url(), url);
  await conversation(page).getByText(env.stack.prompts.slow.text).waitFor();
  const step = toolStep(lastAnswer(page), env.stack.prompts.slow.tool);
  await step.waitFor();
  assert.equal(await lastAnswer(page).getAttribute('data-status'), 'running');
  await page.getByRole('button', { name: 'Stop' }).click();
  assert.equal(await answerEnded(page), 'cancelled');
  assert.deepEqual(page.problems, []);
});
