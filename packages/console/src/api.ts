import type { ApiErrorBody } from './api-types.js';

/** An API answer that was not 2xx, carrying the API's stable code and its message for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ApiErrorBody['details'] = [],
  ) {
    super(message);
  }
}

/** Where the API lives: the console is served by the backend itself, so the same origin. */
const BASE = '';

let currentKey: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setApiKey(key: string | null): void {
  currentKey = key;
}

/** Called when a signed-in key stops working (revoked): the app goes back to sign-in. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

export function authHeaders(key: string | null = currentKey): Record<string, string> {
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function toError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as Partial<ApiErrorBody>;
    if (body && typeof body.code === 'string') {
      return new ApiError(res.status, body.code, body.message ?? res.statusText, body.details ?? []);
    }
  } catch {
    // Not JSON: a proxy's page, say. Said as such below.
  }
  return new ApiError(res.status, 'HTTP_' + res.status, `The server answered ${res.status} ${res.statusText}`.trim());
}

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  body?: unknown;
  /** Use this key instead of the signed-in one (sign-in checks a key before keeping it). */
  key?: string | null;
  signal?: AbortSignal;
}

/** Calls the public API; resolves with the parsed JSON, rejects with ApiError. */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...authHeaders(options.key === undefined ? currentKey : options.key),
  };
  const init: RequestInit = {
    method: options.method ?? 'GET',
    headers,
    signal: options.signal ?? null,
    cache: 'no-store',
  };
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(BASE + path, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'The relay backend cannot be reached. Check that it is running, then retry.');
  }
  if (!res.ok) {
    const error = await toError(res);
    if (res.status === 401 && options.key === undefined) onUnauthorized?.();
    throw error;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** A query string from a URLSearchParams, with the leading `?` when not empty. */
export function qs(params: URLSearchParams): string {
  const s = params.toString();
  return s ? `?${s}` : '';
}
