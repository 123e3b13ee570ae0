// Host and origin patterns for `cors_domains` and `allowed_hosts`. A `*` stands for exactly one
// DNS label, one IPv4 octet or one port — never a whole host or a top-level domain — so
// `http://192.168.1.*` cannot match `http://192.168.1.evil.example`. (Moonraker refuses wildcards in
// the top-level domain too, components/authorization.py; its `.*` regex is what let the suffix in.)

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const LABEL = "(?:[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?)";

export interface OriginPattern {
  text: string;
  /** null: http or https. */
  scheme: string | null;
  host: RegExp;
  /** null: any port; "*": any explicit port; else the exact port ("" for the scheme's default). */
  port: string | null;
}

const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");

/** A host pattern (`*.local`, `192.168.1.*`, `printer.lan`) as an anchored RegExp over a hostname. */
export function hostPattern(text: string): RegExp {
  const host = text.trim().toLowerCase().replace(/\.$/, "");
  if (host === "") throw new Error(`empty host in '${text}'`);
  if (host.startsWith("[")) {
    if (!/^\[[0-9a-f:.]+\]$/.test(host)) throw new Error(`bad IPv6 address in '${text}' (no wildcards in IPv6)`);
    return new RegExp(`^${escape(host)}$`);
  }
  const labels = host.split(".");
  const ipv4 = labels.length === 4 && labels.every((l) => l === "*" || /^\d{1,3}$/.test(l));
  if (!ipv4) {
    if (labels[labels.length - 1] === "*") {
      throw new Error(`'${text}': a wildcard may not stand for the top-level domain (or the whole host)`);
    }
  }
  const parts = labels.map((l) => {
    if (l === "*") return ipv4 ? OCTET : LABEL;
    if (l.includes("*")) throw new Error(`'${text}': a '*' must be a whole label (like '*.local')`);
    if (!/^[a-z0-9_-]+$/.test(l)) throw new Error(`'${text}': '${l}' is not a DNS label or IPv4 octet`);
    return escape(l);
  });
  return new RegExp(`^${parts.join("\\.")}$`);
}

/** Parses one `cors_domains` entry: `[scheme://]host[:port]`; throws an Error naming it. */
export function parseOriginPattern(text: string): OriginPattern {
  const t = text.trim();
  const m = /^(?:([a-z*][a-z0-9+.-]*):\/\/)?(\[[^\]]*\]|[^:/]*)(?::(\*|\d{1,5}))?$/i.exec(t);
  if (!m) throw new Error(`'${text}' is not an origin pattern like 'http://printer.local:8080' or '*.local'`);
  const [, schemeText, hostText, port] = m;
  const scheme = schemeText === undefined || schemeText === "*" ? null : schemeText.toLowerCase();
  if (scheme !== null && scheme !== "http" && scheme !== "https") throw new Error(`'${text}': only http and https origins exist for web pages`);
  return { text: t, scheme, host: hostPattern(hostText ?? ""), port: port ?? (schemeText === undefined ? null : "") };
}

const DEFAULT_PORT: Record<string, string> = { "http:": "80", "https:": "443" };

/** Whether a browser `Origin` header value matches a pattern. */
export function originMatches(p: OriginPattern, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") return false;
  if (p.scheme !== null && p.scheme !== scheme) return false;
  if (!p.host.test(url.hostname.toLowerCase())) return false;
  if (p.port === null) return true;
  if (p.port === "*") return url.port !== "";
  return url.port === p.port || (url.port === "" && p.port === DEFAULT_PORT[url.protocol]);
}
