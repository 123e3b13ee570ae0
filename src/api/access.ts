// Who may call the API: trusted client networks (CIDR) or the API key in X-Api-Key, as Moonraker;
// and which browser origins may call it cross-origin (Moonraker's cors_domains semantics).

import { BlockList, isIP } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { originMatches, parseOriginPattern, type OriginPattern } from "./host-patterns.js";

export const DEFAULT_TRUSTED = [
  "127.0.0.0/8",
  "::1/128",
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "169.254.0.0/16",
  "fc00::/7",
  "fe80::/10",
];

/** Strips the IPv4-mapped prefix a dual-stack socket reports (`::ffff:192.168.1.5`). */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** Parses a CIDR list; throws an Error naming the bad entry. */
export function parseTrusted(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const entry of entries) {
    const [addr, prefixText] = entry.trim().split("/");
    const family = isIP(addr ?? "");
    if (!addr || family === 0) throw new Error(`not an IP address or CIDR range: '${entry}'`);
    const type = family === 4 ? "ipv4" : "ipv6";
    const max = family === 4 ? 32 : 128;
    const prefix = prefixText === undefined ? max : Number(prefixText);
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`bad prefix length in '${entry}'`);
    list.addSubnet(addr, prefix, type);
  }
  return list;
}

export class AccessPolicy {
  private readonly trusted: BlockList;
  private readonly corsPatterns: OriginPattern[];
  /** isTrusted's answers by address, as given (the trusted list never changes); bounded. */
  private readonly trustedCache = new Map<string, boolean>();

  constructor(
    trustedClients: readonly string[],
    private readonly apiKey: string,
    readonly corsDomains: readonly string[],
  ) {
    this.trusted = parseTrusted(trustedClients);
    this.corsPatterns = corsDomains.map(parseOriginPattern);
  }

  isTrusted(ip: string): boolean {
    // BlockList.check builds a SocketAddress per call; a client asks many times from one address.
    let trusted = this.trustedCache.get(ip);
    if (trusted === undefined) {
      const addr = normalizeIp(ip);
      const family = isIP(addr);
      trusted = family !== 0 && this.trusted.check(addr, family === 4 ? "ipv4" : "ipv6");
      if (this.trustedCache.size >= 256) this.trustedCache.clear();
      this.trustedCache.set(ip, trusted);
    }
    return trusted;
  }

  keyMatches(key: string | null | undefined): boolean {
    if (!key || !this.apiKey) return false;
    const a = Buffer.from(key);
    const b = Buffer.from(this.apiKey);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  authorized(ip: string, key: string | null | undefined): boolean {
    return this.isTrusted(ip) || this.keyMatches(key);
  }

  /** Whether a browser origin may call cross-origin. */
  originAllowed(origin: string): boolean {
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (this.corsPatterns.some((p) => originMatches(p, origin))) return true;
    // Moonraker: once any domain is configured, origins on trusted hosts are allowed too.
    const host = url.hostname.replace(/^\[|\]$/g, "");
    return this.corsDomains.length > 0 && isIP(host) !== 0 && this.isTrusted(host);
  }

  /**
   * Whether a browser page at `origin` may change state here: the page is served by this very
   * host (its origin's host is the request's Host, which the Host check has vetted), or its origin
   * is allowed cross-origin. A request without an Origin header does not come from a web page's
   * script or form in any current browser, so it is not a cross-site request.
   */
  pageMayWrite(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined) return true;
    try {
      if (host && new URL(origin).host.toLowerCase() === host.trim().toLowerCase()) return true;
    } catch {
      return false;
    }
    return this.originAllowed(origin);
  }
}
