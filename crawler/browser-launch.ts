/**
 * How vigil starts Chromium (playwright-core with the system's Chromium, never a downloaded one).
 *
 * Network: the browser's own traffic (updaters, sign-in probes) goes to a proxy that refuses
 * everything; pages get the guard proxy through their context (crawler/browser-context.ts). Both
 * are on 127.0.0.1, and `<-loopback>` stops Chromium from sending loopback destinations around
 * the proxy. `--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1` makes every host —
 * names and address literals alike — unresolvable inside Chromium except the literal 127.0.0.1
 * the proxies listen on (checked: without a proxy, `http://127.0.0.2/` and `http://localhost/`
 * fail with ERR_NAME_NOT_RESOLVED), so nothing can go around the proxies by resolving a name.
 * WebRTC may not use UDP that is not proxied (it cannot be), and QUIC is off.
 *
 * Content: images off in Blink, remote fonts off, autoplay off; no disk cache. Pages live in
 * Playwright browser contexts, which are Chromium off-the-record profiles: cookies, storage and
 * cache stay in memory. Everything else the browser writes goes under one directory on
 * /dev/shm — tmpfs, memory — removed when the browser ends (the OS temp dir only where there is
 * no /dev/shm): its base profile (which no page uses), Playwright's artifacts directory, and,
 * through a minimal environment of its own (HOME, XDG_*, TMPDIR), its temp files and the crash
 * handler's database, so not even a crash dump of a renderer reaches a disk. That environment
 * also keeps the daemon's own variables (database URL, tokens) out of the browser.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { findBrowserPid, markerArg } from './browser-process.js';

export interface LaunchSpec {
  executablePath: string;
  /** proxy for the browser's own traffic: a refuse-all guard proxy */
  backgroundProxyUrl: string;
  /** ms. @default 30000 */
  launchTimeoutMs?: number;
}

export interface LaunchedBrowser {
  browser: Browser;
  /** the browser's process id, found by its marker switch; null if it could not be found */
  pid: number | null;
  /** counts launches of one pool, so a late watchdog cannot kill a newer browser */
  generation: number;
  /** the directory (on tmpfs) holding everything the browser writes */
  dir: string;
  /** removes `dir`; call once the browser has exited or been killed */
  dispose(): Promise<void>;
}

/** tmpfs where there is one, so the base profile stays in memory */
const PROFILE_BASE = existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();

/**
 * Playwright passes its own `--blink-settings` in headless mode; Chromium keeps only the last
 * copy of a switch, so these are repeated here with images turned off.
 */
const BLINK_SETTINGS =
  '--blink-settings=imagesEnabled=false,primaryHoverType=2,availableHoverTypes=2,primaryPointerType=4,availablePointerTypes=4';

/** Chromium switches for a launch; `id` becomes the marker switch. */
export function chromiumArgs(backgroundProxyUrl: string, id: string): string[] {
  return [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // network: only through the proxies, nothing resolved inside Chromium
    `--proxy-server=${backgroundProxyUrl}`,
    '--proxy-bypass-list=<-loopback>',
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
    '--force-webrtc-ip-handling-policy=disable_non_proxied_udp',
    '--webrtc-ip-handling-policy=disable_non_proxied_udp',
    '--disable-quic',
    '--disable-domain-reliability',
    '--no-pings',
    '--disable-client-side-phishing-detection',
    // content: no images, fonts or media playback; nothing cached on disk
    BLINK_SETTINGS,
    '--disable-remote-fonts',
    '--autoplay-policy=user-gesture-required',
    '--mute-audio',
    '--disk-cache-size=1',
    '--disk-cache-dir=/dev/null',
    '--media-cache-size=1',
    // a hostile page's script runs out of heap in its renderer, not in the host
    '--js-flags=--max-old-space-size=512',
    '--disable-notifications',
    '--deny-permission-prompts',
    '--disable-breakpad',
    markerArg(id),
  ];
}

/**
 * Launch Chromium headless.
 * @throws what Playwright throws (no executable, launch timeout)
 */
export async function launchChromium(spec: LaunchSpec, generation: number): Promise<LaunchedBrowser> {
  const id = randomUUID();
  const dir = await mkdtemp(path.join(PROFILE_BASE, 'vigil-browser-'));
  const dispose = (): Promise<void> => rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => {});
  const env = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    TMPDIR: path.join(dir, 'tmp'),
    LANG: 'C.UTF-8',
  };
  try {
    await mkdir(env.TMPDIR);
    // A persistent context only to choose where the base profile lives; its own page stays
    // blank and offline, and pages get their own contexts (crawler/browser-context.ts).
    const base = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: spec.executablePath,
      headless: true,
      chromiumSandbox: false,
      args: chromiumArgs(spec.backgroundProxyUrl, id),
      artifactsDir: path.join(dir, 'artifacts'),
      timeout: spec.launchTimeoutMs ?? 30_000,
      acceptDownloads: false,
      serviceWorkers: 'block',
      offline: true,
      env,
      // the daemon owns its signals; close() and the watchdog end the browser
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
    const browser = base.browser();
    if (browser === null) throw new Error('no browser behind the persistent context');
    return { browser, pid: findBrowserPid(id), generation, dir, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}
