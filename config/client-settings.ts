/**
 * Where the CLI client finds the API: `VIGIL_URL` (default http://127.0.0.1:8080) and
 * `VIGIL_TOKEN` (CONTRACT.md §2). Only config/ reads the environment.
 */
export interface ClientSettings {
  url: string;
  token: string | null;
}

/** @default url http://127.0.0.1:8080 */
export function clientSettings(env: NodeJS.ProcessEnv): ClientSettings {
  return { url: env.VIGIL_URL ?? 'http://127.0.0.1:8080', token: env.VIGIL_TOKEN ?? null };
}

/** Process-level settings that are not part of the YAML configuration. */
export interface RuntimeEnv {
  /** `VIGIL_LOG_LEVEL` @default info */
  logLevel: string;
  /** `CHROMIUM_PATH`: the browser when `crawler.browser.executablePath` is null */
  chromiumPath: string | undefined;
}

export function runtimeEnv(env: NodeJS.ProcessEnv): RuntimeEnv {
  return { logLevel: env.VIGIL_LOG_LEVEL ?? 'info', chromiumPath: env.CHROMIUM_PATH };
}
