// server.spoolman.status and, with a configured Spoolman server, server.spoolman.proxy — in
// Moonraker's shapes (use_v2_response wraps errors instead of failing the call).

import type { AuxService } from "../aux/service.js";
import type { SpoolmanLink } from "../aux/spoolman.js";
import { ApiError, badRequest, notFound } from "./errors.js";
import type { ApiMethod } from "./methods.js";

const METHODS = new Set(["GET", "POST", "PUT", "PATCH", "DELETE"]);

export function spoolmanMethods(aux: AuxService, link: SpoolmanLink | null): ApiMethod[] {
  const methods: ApiMethod[] = [
    {
      rpc: "server.spoolman.status",
      http: { verb: "GET", path: "/server/spoolman/status" },
      // The same active spool as /server/spoolman/spool_id; connected only while Spoolman answers.
      handler: () => ({ spoolman_connected: link?.connected ?? false, pending_reports: [], spool_id: aux.activeSpool }),
    },
  ];
  if (!link) return methods;
  methods.push({
    rpc: "server.spoolman.proxy",
    http: { verb: "POST", path: "/server/spoolman/proxy" },
    handler: async (args) => {
      const method = args.str("request_method").toUpperCase();
      const path = args.str("path");
      const query = args.has("query") && args.any("query") !== null ? args.str("query") : null;
      const body = args.has("body") ? args.any("body") : null;
      const v2 = args.bool("use_v2_response", false);
      if (!METHODS.has(method)) throw badRequest(`Invalid HTTP method: ${method}`);
      if (body !== null && method === "GET") throw badRequest("GET requests cannot have a body");
      // Only Spoolman's API, never another path on its host.
      // (`%2e%2e` is a `..` to URL parsers too.)
      if (!path.startsWith("/v1/") || path.includes("..") || /[\s?#\\]|%2e/i.test(path) || path.length > 512) {
        throw badRequest("Invalid path, must start with the API version, e.g. /v1");
      }
      if (query !== null && (query.length > 2048 || /[\s#]/.test(query))) throw badRequest("Invalid query");
      const unavailable = { response: null, error: { status_code: 503, message: "Spoolman server not available" } };
      if (!link.connected && !(await link.check())) {
        if (v2) return unavailable;
        throw new ApiError("storage_unavailable", "Spoolman server not available");
      }
      const r = await link.proxy(method, path, query, body);
      if (v2) return r.ok ? { response: r.body, response_headers: r.headers, error: null } : { response: null, error: { status_code: r.status, message: r.message } };
      if (r.ok) return r.body;
      if (r.status === 404) throw notFound(r.message);
      if (r.status >= 400 && r.status < 500) throw badRequest(r.message);
      throw new ApiError("storage_unavailable", r.message);
    },
  });
  return methods;
}
