// The read-only access.* calls both clients make while opening (web-clients.md), answered as
// Moonraker's authorization component does for a client without a login: the trusted-network
// user or the API-key user, no user accounts, the key itself for a caller already authorized.

import type { ApiMethod } from "./methods.js";

/** Moonraker's reserved user names (authorization.py). */
const TRUSTED_USER = "_TRUSTED_USER_";
const API_USER = "_API_KEY_USER_";

export function accessMethods(isTrusted: (ip: string) => boolean, apiKey: string, startedAt: number): ApiMethod[] {
  return [
    {
      rpc: "access.get_user",
      http: { verb: "GET", path: "/access/user" },
      handler: (_args, rc) => ({ username: isTrusted(rc.ip) ? TRUSTED_USER : API_USER, source: "moonraker", created_on: startedAt }),
    },
    { rpc: "access.users.list", http: { verb: "GET", path: "/access/users/list" }, handler: () => ({ users: [] }) },
    // Every request here is already authorized (trusted network or this very key), as in Moonraker.
    { rpc: "access.get_api_key", http: { verb: "GET", path: "/access/api_key" }, handler: () => apiKey },
  ];
}
