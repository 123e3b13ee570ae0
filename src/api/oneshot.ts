// access.oneshot_token: a random token valid once, for 5 seconds, that a client appends as
// `?token=` where it cannot send headers (Fluidd's log and file downloads), as Moonraker does.

import { randomBytes } from "node:crypto";
import type { ApiMethod } from "./methods.js";

const LIFETIME_MS = 5000;
const MAX_OUTSTANDING = 1000;

export class OneshotTokens {
  private readonly tokens = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(): string {
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    if (this.tokens.size >= MAX_OUTSTANDING) this.tokens.delete(this.tokens.keys().next().value!);
    // Base32-like upper-case letters and digits, 32 characters, as Moonraker's look.
    const token = randomBytes(20).toString("base64url").replace(/[-_]/g, "A").toUpperCase().slice(0, 32);
    this.tokens.set(token, now + LIFETIME_MS);
    return token;
  }

  /** True once for a live token; the token is gone afterwards. */
  consume(token: string | null | undefined): boolean {
    if (!token) return false;
    const exp = this.tokens.get(token);
    if (exp === undefined) return false;
    this.tokens.delete(token);
    return exp > this.now();
  }
}

export function oneshotMethods(tokens: OneshotTokens): ApiMethod[] {
  return [{ rpc: "access.oneshot_token", http: { verb: "GET", path: "/access/oneshot_token" }, handler: () => tokens.issue() }];
}
