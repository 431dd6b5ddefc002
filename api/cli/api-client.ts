/**
 * The CLI's HTTP client for the vigil API (`VIGIL_URL`, `VIGIL_TOKEN`). Errors carry the exit
 * code the CLI should use: 1 for failures the user can fix (the message says how), and whether
 * the same request may succeed if sent again (`transient`).
 */
import { request } from 'undici';
import type { Readable } from 'node:stream';

export class CliError extends Error {
  constructor(message: string, readonly exitCode: 1 | 2 = 1, readonly transient = false) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ClientSettings {
  url: string;
  token: string | null;
}

export interface ApiResponse<T> {
  status: number;
  body: T;
  headers: Record<string, string | string[] | undefined>;
}

export interface CallBody {
  json?: unknown;
  raw?: Readable | string;
  contentType?: string;
  length?: number;
  headers?: Record<string, string>;
  /** a public route (`/readyz`): no token needed, none sent */
  anonymous?: boolean;
  /** error statuses whose body is the answer (`/readyz`'s 503), not a failure */
  accept?: readonly number[];
}

/** statuses worth one more try with the same request */
const TRANSIENT_STATUSES = new Set([429, 502, 503, 504]);

const HINTS: Record<number, string> = {
  401: ' Check VIGIL_TOKEN: the key may be unknown, revoked or expired.',
  403: ' This needs a key of another role.',
  413: ' Split the file into smaller ones.',
};

export class ApiClient {
  constructor(private readonly settings: ClientSettings) {}

  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body: CallBody = {}): Promise<ApiResponse<T>> {
    if (!this.settings.token && !body.anonymous) throw new CliError('No API token: set VIGIL_TOKEN to an API key (or the admin token).');
    const headers: Record<string, string> = { accept: 'application/json', ...body.headers };
    if (!body.anonymous) headers.authorization = `Bearer ${this.settings.token}`;
    let payload: string | Readable | undefined;
    if (body.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body.json);
    } else if (body.raw !== undefined) {
      headers['content-type'] = body.contentType ?? 'text/plain';
      if (body.length !== undefined) headers['content-length'] = String(body.length);
      payload = body.raw;
    }
    let response;
    try {
      response = await request(new URL(path, this.settings.url), { method, headers, body: payload });
    } catch (err) {
      throw new CliError(`Cannot reach vigil at ${this.settings.url} (${(err as Error).message}). Is the daemon running? Set VIGIL_URL if it listens elsewhere.`, 1, true);
    }
    const text = await response.body.text();
    let parsed: unknown = text;
    if ((response.headers['content-type'] ?? '').toString().includes('json') && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (response.statusCode >= 400 && !body.accept?.includes(response.statusCode)) {
      const problem = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { detail?: string; title?: string; code?: string };
      const hint = HINTS[response.statusCode] ?? '';
      throw new CliError(
        `${response.statusCode} ${problem.title ?? ''}${problem.code ? ` (${problem.code})` : ''}: ${problem.detail ?? text}${hint}`,
        1, TRANSIENT_STATUSES.has(response.statusCode),
      );
    }
    return { status: response.statusCode, body: parsed as T, headers: response.headers };
  }
}
