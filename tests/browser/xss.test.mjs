// A tool result holding markup (<img src=x onerror=...>, <script>) is shown as text and runs
// nothing, in the tool step and in the Markdown answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerEnded, ask, chatPage, lastAnswer, screenshot, toolStep, useStack } from './harness.mjs';

const env = useStack();

test('markup in a tool result executes nothing', async () => {
  const page = await chatPage(env);
  await ask(page, env.stack.prompts.html.text);
  await answerEnded(page);
  const answer = lastAnswer(page);
  const step = toolStep(answer, env.stack.prompts.html.tool);
  await step.locator('summary').click();
  // The payload reached the page, whole, as text.
  const outputs = await step.locator('pre.out').allInnerTexts();
  assert.ok(outputs.some((t) => t.includes(env.stack.prompts.html.payload)), `the output shows the markup as text: ${outputs.join(' | ')}`);
  await screenshot(page, 'markup-as-text');

  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no handler or script ran');
  assert.equal(await answer.locator('.md script, .md img[onerror], .md [onerror], .md iframe').count(), 0);
  assert.equal(await page.locator('img[src="x"]').count(), 0, 'no image element was made from the markup');
  assert.equal(await page.locator('a[href^="javascript:" i]').count(), 0, 'no javascript: link');
  // DOMPurify parses the markup in an inert document (DOMParser) before it strips it; Chrome
  // reports the handler attribute there against the page's CSP. Nothing runs (asserted above),
  // and no element of the page carries a handler.
  assert.equal(await page.locator('[onerror], [onload], [onclick]').count(), 0);
  assert.deepEqual(page.problems.filter((p) => !/Executing inline event handler violates/.test(p)), []);
});
