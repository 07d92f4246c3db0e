/**
 * Headless Chromium for the browser tests: the machine's own (Debian's `chromium`, or CHROMIUM_PATH), driven by
 * playwright-core, which downloads nothing. npm's pretest (local/requirements.ts --tests) has already said what to
 * install when it is missing. The flags keep it off the network and out of any profile but a fresh one.
 */
import { Browser, chromium } from 'playwright-core';
import { chromiumPath } from '../../local/requirements';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
