// The optional link to a Spoolman server (`[spoolman] server`, as Moonraker's): its health,
// polled over HTTP, is what server.spoolman.status reports, and server.spoolman.proxy forwards
// the clients' Spoolman API calls to it. Without the setting none of this exists and spool ids
// still work (aux/service.ts).

import { ConfigError, type Config } from "../config/config.js";
import type { Logger } from "../log.js";

export interface SpoolmanSettings {
  /** `<scheme>://<host>/api`, where Spoolman's `/v1/...` paths hang. */
  apiUrl: string;
  pollSeconds: number;
}

/** Reads `[spoolman]`; null when the section or its `server` is absent. */
export function loadSpoolmanSettings(config: Config, warnings: string[]): SpoolmanSettings | null {
  const section = config.sections.find((s) => s.name === "spoolman");
  if (!section) return null;
  const server = section.options.get("server");
  for (const key of section.options.keys()) {
    if (key !== "server" && key !== "sync_rate") warnings.push(`[spoolman] line ${section.options.get(key)!.line}: unknown option '${key}' ignored`);
  }
  if (!server || server.value.trim() === "") throw new ConfigError("spoolman.server", `spoolman.server: the [spoolman] section needs 'server: http://host:7912'`);
  // Moonraker accepts the URL with or without a scheme (http assumed).
  const m = /^(?:(https?):\/\/)?([^\s/?#]+(?::\d+)?)\/*$/i.exec(server.value.trim());
  if (!m) throw new ConfigError("spoolman.server", `spoolman.server: expected http://host[:port], got '${server.value.trim()}'`);
  let poll = 5;
  const rate = section.options.get("sync_rate");
  if (rate) {
    const n = Number(rate.value.trim());
    if (!Number.isInteger(n) || n < 1 || n > 3600) throw new ConfigError("spoolman.sync_rate", `spoolman.sync_rate: expected a whole number of seconds from 1 to 3600, got '${rate.value.trim()}'`);
    poll = n;
  }
  return { apiUrl: `${(m[1] ?? "http").toLowerCase()}://${m[2]}/api`, pollSeconds: poll };
}

/** How much of a Spoolman answer is read; past this the proxy refuses the answer. */
export const MAX_PROXY_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 10_000;

export interface ProxyResult {
  status: number;
  ok: boolean;
  body: unknown;
  headers: Record<string, string>;
  message: string;
}

export class SpoolmanLink {
  connected = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    readonly settings: SpoolmanSettings,
    private readonly logger: Logger,
    private readonly onStatus: (connected: boolean) => void = () => undefined,
  ) {}

  start(): void {
    void this.check();
  }

  /** One health check, then the next is scheduled; status changes are logged and reported. */
  async check(): Promise<boolean> {
    let ok = false;
    try {
      const res = await fetch(`${this.settings.apiUrl}/v1/health`, { signal: AbortSignal.timeout(3000) });
      ok = res.ok;
      await res.body?.cancel();
    } catch {
      ok = false;
    }
    if (this.closed) return ok;
    if (ok !== this.connected) {
      this.connected = ok;
      this.logger.info(ok ? "spoolman.connected" : "spoolman.disconnected", { url: this.settings.apiUrl });
      this.onStatus(ok);
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), this.settings.pollSeconds * 1000);
    this.timer.unref();
    return ok;
  }

  /** Forwards one request; `path` starts with /v1/ (checked by the caller). */
  async proxy(method: string, path: string, query: string | null, body: unknown): Promise<ProxyResult> {
    const url = `${this.settings.apiUrl}${path}${query ? `?${query}` : ""}`;
    const init: RequestInit = { method, signal: AbortSignal.timeout(TIMEOUT_MS) };
    if (body !== undefined && body !== null) {
      init.body = JSON.stringify(body);
      init.headers = { "Content-Type": "application/json" };
    }
    let res: Response;
    try {
      res = await fetch(url, init);
    } catch (e) {
      void this.check();
      return { status: 503, ok: false, body: null, headers: {}, message: `Spoolman server not available (${(e as Error).message})` };
    }
    const text = await readCapped(res);
    if (text === null) return { status: 502, ok: false, body: null, headers: {}, message: `Spoolman's answer is larger than ${MAX_PROXY_BYTES} bytes` };
    let parsed: unknown = null;
    try {
      parsed = text === "" ? null : JSON.parse(text);
    } catch {
      parsed = text;
    }
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    const message =
      res.ok ? "" : typeof parsed === "object" && parsed !== null && typeof (parsed as { message?: unknown }).message === "string" ? (parsed as { message: string }).message : `HTTP ${res.status}`;
    return { status: res.status, ok: res.ok, body: parsed, headers, message };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

async function readCapped(res: Response): Promise<string | null> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.byteLength;
    if (seen > MAX_PROXY_BYTES) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
