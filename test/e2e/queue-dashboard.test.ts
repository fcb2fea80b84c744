/**
 * The admin queue dashboard (bull-board at /admin/queues) in real Chromium: an admin who signed in to the review UI
 * sees the service's queues rendered under the dashboard's CSP and retries a failed job from it (its client echoes
 * the session's CSRF token); an analyst who signed in the same way is refused.
 */
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueName } from '../../src/jobs/job-registry.js';
import { addFailedJob, jobState } from '../helpers/queue-jobs.js';
import { ARTIFACTS, CHROMIUM, HAS_CHROMIUM, launchChromium } from '../helpers/chromium.js';
import { createTestEnv, type TestEnv } from '../helpers/test-env.js';

// bull-board's page links a third-party web-font stylesheet; the dashboard's CSP refuses it on purpose.
const REFUSED_FONT_STYLESHEET =
  /^Loading the stylesheet 'https:\/\/[^']+' violates .*"style-src 'self' 'unsafe-inline'"/;

if (!HAS_CHROMIUM) {
  console.warn(`queue dashboard e2e skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
}

let env: TestEnv;
let browser: Browser;
const keys: Record<string, string> = {};

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  env = await createTestEnv({ queueDashboard: 'write' });
  keys.admin = await env.key('admin');
  keys.analyst = await env.key('analyst');
  await addFailedJob(env.config, QueueName.Faces, 'embed-4242');
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await env?.close();
});

/** A page (in a context of its own, so cookies do not carry over) that records script errors and CSP violations. */
async function newPage(): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (/content security policy/i.test(text) && !REFUSED_FONT_STYLESHEET.test(text)) problems.push(`CSP: ${text}`);
  });
  return { page, problems };
}

/** Signs in through the review UI's form, as a person would, and waits for the session cookie. */
async function signInThroughReviewUi(page: Page, key: string): Promise<void> {
  await page.goto(`${env.url}/ui/`);
  await page.locator('#key').fill(key);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/session') && r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
  expect(response.status()).toBe(200);
}

async function withScreenshotOnFailure(page: Page, name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}-failure.png`), fullPage: true });
    throw error;
  } finally {
    await page.context().close();
  }
}

describe.skipIf(!HAS_CHROMIUM)('queue dashboard in Chromium', () => {
  it('shows an admin the faces and cluster queues and retries a failed job', async () => {
    const { page, problems } = await newPage();
    await withScreenshotOnFailure(page, 'queue-dashboard', async () => {
      await signInThroughReviewUi(page, keys.admin!);
      const opened = await page.goto(`${env.url}/admin/queues`);
      expect(opened?.status()).toBe(200);

      // The queues are rendered by bull-board's scripts from its JSON API: they appear only if both loaded. The
      // checks queue is not among them (its jobs carry subscribers' photos).
      const sidebar = page.locator('#bull-board-sidebar a[href^="/admin/queues/queue/"]');
      await expect.poll(() => sidebar.allInnerTexts(), { timeout: 15_000 }).toEqual(['faces', 'cluster']);
      for (const name of ['faces', 'cluster']) await page.getByRole('main').getByRole('link', { name }).waitFor();
      await expect.poll(() => page.title()).toBe('simsift queues');
      await page.screenshot({ path: path.join(ARTIFACTS, 'queue-dashboard.png') });

      // The failed face job, with its error, and Retry all (confirmed) puts it back to waiting.
      await page.locator('#bull-board-sidebar').getByRole('link', { name: 'faces', exact: true }).click();
      await page.getByText('FAILED', { exact: true }).click();
      await page.getByText('embed-4242').waitFor();
      await page.getByText('Error: photo store unreachable').waitFor();
      await page.screenshot({ path: path.join(ARTIFACTS, 'queue-dashboard-failed.png') });
      const [retry] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/admin/queues/api/queues/faces/retry/failed')),
        (async () => {
          await page.getByRole('button', { name: 'Retry all' }).click();
          await page.getByRole('button', { name: 'Confirm' }).click();
        })(),
      ]);
      expect(retry.status()).toBe(200);
      await expect.poll(() => jobState(env.config, QueueName.Faces, 'embed-4242')).toBe('waiting');
      expect(problems).toEqual([]);
    });
  }, 60_000);

  it('refuses an analyst who signed in to the review UI', async () => {
    const { page } = await newPage();
    await withScreenshotOnFailure(page, 'queue-dashboard-analyst', async () => {
      await signInThroughReviewUi(page, keys.analyst!);
      const opened = await page.goto(`${env.url}/admin/queues`);
      expect(opened?.status()).toBe(403);
      expect(await opened?.json()).toMatchObject({ status: 403, code: 'forbidden' });
      const api = await page.goto(`${env.url}/admin/queues/api/queues`);
      expect(api?.status()).toBe(403);
      expect(await page.locator('body').innerText()).not.toContain('embed-4242');
    });
  }, 60_000);
});
