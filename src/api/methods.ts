// One method table drives both transports: each entry names its JSON-RPC method and, where
// Moonraker has one, its HTTP verb and path (GET /server/history/list <-> server.history.list).

import type { Args } from "./args.js";

export type HttpVerb = "GET" | "POST" | "DELETE";

export interface RequestContext {
  transport: "http" | "jsonrpc-http" | "websocket" | "mqtt";
  ip: string;
  /** The WebSocket connection, when the request came over one; `identify` is false when it was identified already. */
  connection?: { id: number; identify(info: Record<string, unknown>): boolean };
}

export interface ApiMethod {
  rpc: string;
  /** `alsoVerbs`: other verbs Moonraker accepts at the same path for the same method. */
  http?: { verb: HttpVerb; path: string; alsoVerbs?: HttpVerb[] };
  handler(args: Args, ctx: RequestContext): unknown;
}

export class MethodTable {
  private readonly byRpc = new Map<string, ApiMethod>();
  private readonly byPath = new Map<string, Map<HttpVerb, ApiMethod>>();
  /** Told of every method that failed with an internal error (a fault of printlog: logged). */
  onInternalError: (method: string, err: unknown) => void = () => undefined;

  add(...methods: ApiMethod[]): this {
    for (const m of methods) {
      if (this.byRpc.has(m.rpc)) throw new Error(`duplicate API method ${m.rpc}`);
      this.byRpc.set(m.rpc, m);
      if (m.http) {
        const verbs = this.byPath.get(m.http.path) ?? new Map<HttpVerb, ApiMethod>();
        for (const verb of [m.http.verb, ...(m.http.alsoVerbs ?? [])]) verbs.set(verb, m);
        this.byPath.set(m.http.path, verbs);
      }
    }
    return this;
  }

  rpc(name: string): ApiMethod | undefined {
    return this.byRpc.get(name);
  }

  /** The methods at an HTTP path, keyed by verb; undefined when the path is unknown. */
  path(path: string): ReadonlyMap<HttpVerb, ApiMethod> | undefined {
    return this.byPath.get(path);
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  names(): string[] {
    return [...this.byRpc.keys()];
  }
}
