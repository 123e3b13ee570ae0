// Fuzz through the real process with a fixed seed (reproducible, a few seconds): raw HTTP paths,
// query strings, bodies (announced and chunked) and headers, and WebSocket frames. Asserts no 5xx,
// no crash, the server's memory bounded, and a watching client served all along.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import fc from "fast-check";
import WebSocket from "ws";
import { raw, rssMiB, serve, deepArray, type Served } from "./hostile-helpers.js";

const SEED = 20261130;
let s: Served;
const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});
before(async () => {
  s = await serve({ after: (fn) => cleanups.push(fn) }, { extra: "[authorization]\ncors_domains: *.local, http://192.168.1.*\n" });
});

/** Sends bytes as one HTTP/1.1 request on a fresh socket; resolves with the status (0: no answer). */
function rawBytes(port: number, head: string, body: Buffer | string = ""): Promise<number> {
  return new Promise((resolve) => {
    const sock = connect(port, "127.0.0.1");
    let got = "";
    const done = () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : 0);
    };
    sock.setTimeout(15_000, () => sock.destroy());
    sock.on("data", (d) => {
      got += d.toString("latin1");
      if (/\r\n\r\n/.test(got)) sock.destroy();
    });
    sock.on("close", done);
    sock.on("error", () => undefined);
    // Not end(): node's server drops the answer to a client that half-closes; Connection: close ends it.
    sock.write(head);
    sock.write(body);
  });
}

const PATHS = ["/server/history/list", "/server/history/job", "/server/history/reset_totals", "/server/database/item", "/server/spoolman/spool_id", "/server/sensors/update", "/server/files/gcodes/", "/server/files/directory", "/server/jsonrpc", "/websocket", "/", "/server/files/list"];
const SEGMENT = fc.oneof(
  fc.constantFrom("%", "%zz", "%E0%A4%A", "%00", "..", "%2e%2e", "a".repeat(300), "%C0%AF", "~", ";", "a.gcode", "%ff%fe", "\u00e9"),
  fc.string({ maxLength: 12 }).map(encodeURIComponent),
);
const QUERY = fc.array(
  fc.tuple(fc.constantFrom("limit", "start", "uid", "all", "namespace", "key", "value:json", "spool_id", "limit:int", "path", "root", "x:weird"), fc.oneof(
      { arbitrary: fc.constantFrom("5", "0", "1", "true", "000001", "n", "gcodes"), weight: 2 },
      { arbitrary: fc.string({ maxLength: 20 }).map(encodeURIComponent), weight: 1 },
      { arbitrary: fc.constantFrom("%", "%zz", "1e999", "-1", encodeURIComponent(deepArray(300))), weight: 1 },
    ),
  ),
  { maxLength: 3 },
);
/** Mostly absent, so most requests pass the gates and reach the handlers. */
const rarely = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary: a, weight: 1 });
const HEADERS = fc.record(
  {
    origin: rarely(fc.constantFrom("null", "http://evil.example", "http://192.168.1.evil.example", "http://printer.local", "http://192.168.1.5", "javascript:1", "http://[::1", "%")),
    host: rarely(fc.constantFrom("evil.example", "localhost", "127.0.0.1", "[::1]", "a:b:c", "localhost:99999", "x".repeat(300))),
    contentType: fc.constantFrom("application/json", "application/json", "text/plain", "application/json; charset=latin1", "multipart/form-data; boundary=x"),
    apiKey: rarely(fc.string({ maxLength: 40 }).filter((k) => /^[\x21-\x7e]*$/.test(k))),
  },
);
const BODY = fc.oneof(
  fc.constant(""),
  fc.json({ maxDepth: 4 }),
  fc.string({ maxLength: 200 }),
  fc.constantFrom(deepArray(50_000), `{"spool_id":${deepArray(20_000)}}`, "{".repeat(1000), '{"jsonrpc":"2.0","method":"server.history.list","params":{"limit":0},"id":1}'),
);

test("fuzzed HTTP requests: never a 5xx, the server alive, memory bounded, a watcher served", { timeout: 120_000 }, async (t) => {
  const watcher = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`);
  await new Promise((r, j) => watcher.once("open", r).once("error", j));
  const base = rssMiB(s.pl.proc.pid!);
  let watched = 0;
  let runs = 0;
  const statuses = new Map<number, number>();
  const watch = async (id: number) => {
    // Notifications (proc stats every second) arrive too: wait for the reply with this id.
    const reply = new Promise<any>((r) => {
      const on = (d: WebSocket.RawData) => {
        const m = JSON.parse(d.toString());
        if (m.id !== id) return;
        watcher.off("message", on);
        r(m);
      };
      watcher.on("message", on);
    });
    watcher.send(JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals", id }));
    if ((await reply).result) watched++;
  };
  await fc.assert(
    fc.asyncProperty(
      fc.constantFrom("GET", "POST", "DELETE", "PUT", "OPTIONS", "PATCH"),
      fc.constantFrom(...PATHS),
      fc.oneof({ arbitrary: fc.constant([] as string[]), weight: 3 }, { arbitrary: fc.array(SEGMENT, { minLength: 1, maxLength: 3 }), weight: 1 }),
      QUERY,
      HEADERS,
      BODY,
      fc.boolean(),
      async (method, path, segments, query, h, body, chunked) => {
        const target = path + segments.join("/") + (query.length ? "?" + query.map(([k, v]) => `${k}=${v}`).join("&") : "");
        const lines = [`${method} ${target} HTTP/1.1`, `Host: ${h.host ?? `127.0.0.1:${s.port}`}`, "Connection: close"];
        if (h.origin) lines.push(`Origin: ${h.origin}`);
        if (h.contentType) lines.push(`Content-Type: ${h.contentType}`);
        if (h.apiKey) lines.push(`X-Api-Key: ${h.apiKey}`);
        const bytes = Buffer.from(body, "utf8");
        let payload: Buffer = bytes;
        if (chunked && bytes.length > 0) {
          lines.push("Transfer-Encoding: chunked");
          payload = Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n0\r\n\r\n")]);
        } else lines.push(`Content-Length: ${bytes.length}`);
        const status = await rawBytes(s.port, lines.join("\r\n") + "\r\n\r\n", payload);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        // The watcher is answered all along, not only at the end.
        if (++runs % 20 === 0) await watch(runs);
        assert.ok(status > 0 && status < 500, `${status} for ${lines.join(" | ")} body ${body.slice(0, 80)}`);
      },
    ),
    { numRuns: 400, seed: SEED },
  );
  assert.equal(watched, Math.floor(runs / 20), `the watcher was answered ${watched} times in ${runs} runs`);
  watcher.close();
  const grown = rssMiB(s.pl.proc.pid!) - base;
  t.diagnostic(`RSS grew ${grown.toFixed(0)} MiB; statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  // The fuzz must reach the handlers, not only the Host and origin gates.
  assert.ok((statuses.get(200) ?? 0) >= 10 && (statuses.get(400) ?? 0) >= 10, JSON.stringify([...statuses]));
  assert.ok(grown < 100, `RSS grew ${grown.toFixed(0)} MiB`);
  assert.equal(s.pl.proc.exitCode, null, "still running");
});

test("fuzzed WebSocket frames: each gets a JSON-RPC answer or none, never a dropped server", { timeout: 120_000 }, async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${s.port}/websocket`);
  await new Promise((r, j) => ws.once("open", r).once("error", j));
  const got: any[] = [];
  ws.on("message", (d, isBinary) => got.push(isBinary ? { binary: true } : JSON.parse(d.toString())));
  const frame = fc.oneof(
    fc.string({ maxLength: 100 }),
    fc.json({ maxDepth: 5 }),
    fc.constantFrom(deepArray(100_000), `{"jsonrpc":"2.0","method":"server.database.post_item","params":{"namespace":"n","key":"k","value":${deepArray(5000)}},"id":"d"}`, "[" + "{},".repeat(40) + "{}]"),
    fc.record({
      jsonrpc: fc.constantFrom("2.0", "1.0"),
      method: fc.constantFrom("server.history.list", "server.history.get_job", "server.database.post_item", "server.spoolman.post_spool_id", "server.connection.identify", "nope"),
      params: fc.oneof(fc.constant(undefined), fc.dictionary(fc.constantFrom("limit", "uid", "spool_id", "namespace", "key", "value"), fc.jsonValue({ maxDepth: 3 }))),
      id: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })),
    }).map((o) => JSON.stringify(o)),
  );
  let probe = 0;
  await fc.assert(
    fc.asyncProperty(frame, fc.boolean(), async (f, binary) => {
      const text = typeof f === "string" ? f : JSON.stringify(f);
      ws.send(binary ? Buffer.from(text) : text);
      const id = `probe-${probe++}`;
      ws.send(JSON.stringify({ jsonrpc: "2.0", method: "server.history.totals", id }));
      const deadline = Date.now() + 15_000;
      while (!got.some((m) => m.id === id) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      assert.ok(got.some((m) => m.id === id && m.result), `no answer to the probe after ${text.slice(0, 80)}`);
      for (const m of got.splice(0)) {
        if (m.method || m.binary) continue;
        for (const r of Array.isArray(m) ? m : [m]) {
          assert.ok(r.jsonrpc === "2.0" && ("result" in r || typeof r.error?.code === "number"), JSON.stringify(r).slice(0, 200));
          if (r.error) assert.ok(r.error.code < 500 || r.error.code > 599, JSON.stringify(r).slice(0, 200));
        }
      }
    }),
    { numRuns: 200, seed: SEED },
  );
  ws.close();
  assert.equal((await raw(s.port, "/server/history/totals")).status, 200);
});
