// access.oneshot_token: a random token valid once, for 5 seconds, that a client appends as
// `?token=` where it cannot send headers (Fluidd's log and file downloads), as Moonraker does.

import { randomBytes } from "node:crypto";
import type { ApiMethod } from "./methods.js";

const LIFETIME_MS = 5000;
const MAX_OUTSTANDING = 1000;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

export class OneshotTokens {
  private readonly tokens = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  issue(): string {
    const now = this.now();
    for (const [t, exp] of this.tokens) if (exp <= now) this.tokens.delete(t);
    if (this.tokens.size >= MAX_OUTSTANDING) this.tokens.delete(this.tokens.keys().next().value!);
    // 32 characters of the base32 alphabet (160 random bits), as Moonraker's look.
    const token = [...randomBytes(32)].map((b) => BASE32[b & 31]).join("");
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
