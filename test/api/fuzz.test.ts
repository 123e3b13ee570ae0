// API fuzz: malformed query strings, bodies and JSON-RPC frames only ever get 4xx or JSON-RPC
// errors; many WebSocket clients and a slow client do not stop the server; memory stays bounded.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import fc from "fast-check";
import type { Printlog } from "../../src/main.js";
import { http, RpcClient, startInProcess } from "../helpers.js";

let app: Printlog;
let url: string;
let close: () => Promise<void>;

before(async () => {
  ({ app, url, close } = await startInProcess((c) => (c.server.maxWebsocketConnections = 200)));
  const j = await app.store.startJob({ filename: "a.gcode", start_time: 1, metadata: { size: 1 } });
  await app.store.finishJob(j.job_id, "completed", 2, {}, "t");
});

after(() => close());

const PATHS = ["/server/history/list", "/server/history/job", "/server/history/totals", "/server/history/reset_totals", "/server/database/item", "/server/database/list", "/server/sensors/update", "/server/spoolman/spool_id", "/server/files/list", "/server/files/directory", "/server/jsonrpc", "/machine/proc_stats", "/server/nothing"];
const KEYS = ["limit", "start", "before", "since", "order", "uid", "all", "namespace", "key", "value", "root", "path", "spool_id", "limit:int", "since:float", "all:bool", "value:json", "x"];
const VALUES = fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom("-1", "0", "1e400", "NaN", "true", "FALSE", "0x1F", "{", "[]", "%", "%00", "../../etc", "9".repeat(40)));

test("generated HTTP requests never get a 5xx and always a JSON body", { timeout: 120_000 }, async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom(...PATHS),
      fc.constantFrom("GET", "POST", "DELETE", "PUT"),
      fc.array(fc.tuple(fc.constantFrom(...KEYS), VALUES), { maxLength: 5 }),
      fc.option(fc.oneof(fc.json(), fc.string({ maxLength: 200 })), { nil: undefined }),
      async (path, method, query, body) => {
        const qs = query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
        const r = await http(`${url}${path}?${qs}`, {
          method,
          ...(body !== undefined && method !== "GET" ? { body, headers: { "Content-Type": "application/json" } } : {}),
        });
        assert.ok(r.status < 500, `${method} ${path}?${qs} ${String(body).slice(0, 80)} -> ${r.status} ${JSON.stringify(r.body)}`);
        if (r.status >= 400) assert.equal(typeof r.body?.error?.message, "string");
      },
    ),
    { numRuns: 400, seed: 20261130 },
  );
});

test("generated JSON-RPC frames over the WebSocket always get a well-formed answer or none", { timeout: 120_000 }, async () => {
  const ws = await RpcClient.connect(url);
  const frame = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.json(),
    fc.record({
      jsonrpc: fc.constantFrom("2.0", "1.0", 2),
      method: fc.oneof(fc.constantFrom("server.history.list", "server.history.get_job", "server.history.delete_job", "server.database.post_item", "server.sensors.update", "nope"), fc.string()),
      params: fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom(...KEYS), fc.jsonValue()), fc.array(fc.integer())),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
    }),
  );
  let probes = 0;
  await fc.assert(
    fc.asyncProperty(frame, async (f) => {
      const text = typeof f === "string" ? f : JSON.stringify(f);
      const before = ws.messages.length;
      ws.sendRaw(text);
      // A probe after it: the server answers in order, so the probe's reply means f was handled.
      const probe = await ws.call("server.history.totals", undefined, `probe-${probes++}`);
      assert.ok(probe.result);
      for (const m of ws.messages.slice(before)) {
        if (m === probe || m.method) continue;
        const list = Array.isArray(m) ? m : [m];
        for (const r of list) assert.ok(r.jsonrpc === "2.0" && ("result" in r || (typeof r.error?.code === "number" && typeof r.error?.message === "string")), JSON.stringify(r));
      }
    }),
    { numRuns: 300, seed: 20261130 },
  );
  ws.close();
});

test("many WebSocket clients, a slow client holding a half-sent request, and memory stays bounded", { timeout: 120_000 }, async () => {
  const slow = connect(Number(new URL(url).port), "127.0.0.1");
  slow.write("GET /server/history/list HTTP/1.1\r\nHost: x\r\n"); // never finishes its headers
  const clients = await Promise.all(Array.from({ length: 150 }, () => RpcClient.connect(url)));
  const answers = await Promise.all(clients.map((c, i) => c.call("server.history.list", { limit: 1 }, i)));
  assert.ok(answers.every((a) => a.result.count === 1));
  const rssBefore = process.memoryUsage().rss;
  for (let round = 0; round < 20; round++) {
    await Promise.all(clients.map((c) => c.call("server.history.list", { limit: 0 })));
  }
  await app.store.startJob({ filename: "b.gcode", start_time: 10 });
  await Promise.all(clients.map((c) => c.waitFor((m) => m.method === "notify_history_changed")));
  for (const c of clients) c.close();
  assert.equal((await http(`${url}/server/history/totals`)).status, 200, "still serving beside the slow client");
  const grown = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
  assert.ok(grown < 150, `RSS grew ${grown.toFixed(0)} MB`);
  slow.destroy();
});
