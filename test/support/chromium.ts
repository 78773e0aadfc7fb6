import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

// Browser tests drive Debian's chromium through playwright-core (no browser download). CI
// installs the package; without it a suite says why it skipped.
const CHROMIUM = '/usr/bin/chromium';

/** The `skip` of a browser suite: false, or why it cannot run here. */
export const NO_CHROMIUM: false | string = existsSync(CHROMIUM)
  ? false
  : `needs Debian's chromium at ${CHROMIUM} (apt-get install chromium; .ci/run installs it)`;

/**
 * Starts a headless chromium. Awaited later, so the browser starts while the suite sets up;
 * a failed launch is still reported, by the await.
 */
export function launchChromium(): Promise<Browser> {
  const launching = import('playwright-core').then(({ chromium }) =>
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true }),
  );
  launching.catch(() => {});
  return launching;
}
