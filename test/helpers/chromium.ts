import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { PROJECT_ROOT } from '../../src/paths.js';

/** The Debian package's Chromium (`apt-get install -y chromium`); `npx playwright install` cannot run here. */
export const CHROMIUM = '/usr/bin/chromium';
export const HAS_CHROMIUM = existsSync(CHROMIUM);
/** Where e2e tests leave their screenshots. */
export const ARTIFACTS = path.join(PROJECT_ROOT, 'test-artifacts');

/** Headless Chromium as the e2e tests drive it, with the screenshot folder made. */
export async function launchChromium(): Promise<Browser> {
  await mkdir(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
