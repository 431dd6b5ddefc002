/**
 * Is a Chromium there for script-built pages? (CONTRACT.md §1: `crawler.browser.executablePath`,
 * else CHROMIUM_PATH, else /usr/bin/chromium; without one vigil runs HTTP-only and says so.)
 * This only finds the executable; launching it is the browser fetcher's job.
 */
import { accessSync, constants } from 'node:fs';

export interface BrowserAvailability {
  available: boolean;
  executablePath: string | null;
  detail: string;
}

export function probeBrowser(options: { enabled: 'auto' | boolean; executablePath: string | null; envPath: string | undefined }): BrowserAvailability {
  if (options.enabled === false) return { available: false, executablePath: null, detail: 'disabled by crawler.browser.enabled: false; HTTP-only checks' };
  const path = options.executablePath ?? options.envPath ?? '/usr/bin/chromium';
  try {
    accessSync(path, constants.X_OK);
    return { available: true, executablePath: path, detail: `Chromium at ${path}` };
  } catch {
    const detail = `no Chromium executable at ${path} (install Debian's chromium package or set crawler.browser.executablePath / CHROMIUM_PATH)`;
    return { available: false, executablePath: null, detail };
  }
}
