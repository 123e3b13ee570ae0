// DNS-rebinding defence: a request's `Host` must name this machine — its hostname (and
// `hostname.local`), an address of one of its interfaces, localhost / loopback — or match an
// `[authorization] allowed_hosts` entry. A page on an attacker's domain that re-resolves to the
// printer's address still sends its own name as Host, so it is refused.

import { hostname as osHostname, networkInterfaces } from "node:os";
import { isIP } from "node:net";
import { hostPattern } from "./host-patterns.js";

/** The hostname part of a Host header (`name:port`, `[v6]:port`), lower case, or null if malformed. */
export function hostOf(header: string): string | null {
  const h = header.trim().toLowerCase();
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]\s/]+)(?::\d{0,5})?$/.exec(h);
  if (!m) return null;
  return m[1]!.replace(/\.$/, "");
}

/** The names and addresses this machine answers to right now. */
export function ownNames(): Set<string> {
  const names = new Set<string>(["localhost"]);
  const host = osHostname().toLowerCase();
  if (host) {
    names.add(host);
    const short = host.split(".")[0]!;
    names.add(short);
    names.add(`${short}.local`);
  }
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const addr = a.address.toLowerCase().replace(/%.*$/, "");
      names.add(a.family === "IPv6" || addr.includes(":") ? `[${addr}]` : addr);
    }
  }
  return names;
}

function isLoopback(host: string): boolean {
  if (host === "[::1]" || host.endsWith(".localhost")) return true;
  return isIP(host) === 4 && host.startsWith("127.");
}

export class HostCheck {
  private names = ownNames();
  private refreshedAt: number;
  private readonly patterns: RegExp[];
  private readonly anyHost: boolean;

  constructor(
    allowed: readonly string[],
    private readonly now: () => number = Date.now,
  ) {
    this.refreshedAt = now();
    this.anyHost = allowed.some((a) => a.trim() === "*");
    this.patterns = allowed.filter((a) => a.trim() !== "*").map(hostPattern);
  }

  /** Whether a request with this Host header may be served; a request without one (HTTP/1.0) may. */
  allowed(header: string | undefined): boolean {
    if (header === undefined || this.anyHost) return true;
    const host = hostOf(header);
    if (host === null) return false;
    if (isLoopback(host) || this.patterns.some((re) => re.test(host))) return true;
    if (this.names.has(host)) return true;
    // Addresses change (DHCP, a new interface): look again, at most every few seconds.
    if (this.now() - this.refreshedAt < 5000) return false;
    this.names = ownNames();
    this.refreshedAt = this.now();
    return this.names.has(host);
  }
}
