// The JSON-RPC budgets on a real method table: batch length, the answer budget (a single answer
// refused, a batch cut with the rest not run), and stringifyWithin = JSON.stringify until it stops.

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { dispatchJsonRpc } from "../../src/api/jsonrpc.js";
import { stringifyWithin } from "../../src/api/json-limits.js";
import { MethodTable } from "../../src/api/methods.js";
import { StreamedList } from "../../src/api/streamed-result.js";

test("stringifyWithin writes exactly what JSON.stringify writes", () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => assert.equal(stringifyWithin(v, Infinity), JSON.stringify(v))),
    { numRuns: 500, seed: 20261130 },
  );
  const odd = { a: undefined, b: [undefined, () => 1, Symbol("s")], c: new Date(0), d: Object.assign(Object.create(null), { x: 1 }), e: { toJSON: () => "t" }, f: [[[{ g: [1, { h: undefined }] }]]] };
  assert.equal(stringifyWithin(odd, Infinity), JSON.stringify(odd));
});

test("stringifyWithin stops at the budget without visiting the rest of a long list", () => {
  let visited = 0;
  const items = Array.from({ length: 100_000 }, (_, i) => ({ i, name: `job-${i}` }));
  const watched = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === "string" && /^\d+$/.test(key)) visited++;
      return Reflect.get(target, key, receiver);
    },
  });
  assert.equal(stringifyWithin({ result: { jobs: watched } }, 10_000), null);
  assert.ok(visited < 1000, `visited ${visited} of 100000 items`);
  assert.equal(stringifyWithin({ result: { jobs: items.slice(0, 10) } }, 10_000), JSON.stringify({ result: { jobs: items.slice(0, 10) } }));
  // A lazily produced list (the history's limit=0 answer): items are made only until the budget.
  let made = 0;
  const lazy = new StreamedList(100_000, (i) => (made++, items[i]), () => true);
  assert.equal(stringifyWithin({ jsonrpc: "2.0", result: lazy, id: 1 }, 10_000), null);
  assert.ok(made < 1000, `made ${made} of 100000 items`);
  const few = new StreamedList(3, (i) => items[i], () => true);
  assert.equal(stringifyWithin({ result: few }, Infinity), JSON.stringify({ result: few }));
  // Whole (a batch, MQTT): items gone since the list was made are neither sent nor counted.
  const gone = new StreamedList(5, (i) => (i === 2 ? undefined : items[i]), (i) => i !== 2);
  assert.deepEqual(JSON.parse(JSON.stringify(gone)), { count: 4, jobs: [items[0], items[1], items[3], items[4]] });
});

function table(calls: string[]): MethodTable {
  return new MethodTable().add(
    { rpc: "big", handler: (a) => (calls.push("big"), { jobs: Array.from({ length: a.int("n") }, (_, i) => ({ i, pad: "x".repeat(90) })) }) },
    { rpc: "write", handler: () => (calls.push("write"), { ok: true }) },
  );
}

const req = (method: string, params: unknown, id: number) => ({ jsonrpc: "2.0", method, params, id });
const limits = { maxBatch: 4, maxAnswerChars: 2000 };
const ctx = { transport: "websocket" as const, ip: "127.0.0.1" };

test("a single answer over the budget is refused with a clear error and its id", async () => {
  const calls: string[] = [];
  const small = JSON.parse((await dispatchJsonRpc(JSON.stringify(req("big", { n: 5 }, 1)), table(calls), ctx, limits))!);
  assert.equal(small.result.jobs.length, 5);
  const big = JSON.parse((await dispatchJsonRpc(JSON.stringify(req("big", { n: 100 }, 2)), table(calls), ctx, limits))!);
  assert.equal(big.id, 2);
  assert.equal(big.error.code, 400);
  assert.match(big.error.message, /^Answer larger than 2000 characters: ask for less/);
});

test("a batch stops at the budget: later requests are not run and say so; batches past maxBatch are refused", async () => {
  const calls: string[] = [];
  const batch = [req("big", { n: 8 }, 1), req("big", { n: 8 }, 2), req("big", { n: 8 }, 3), req("write", {}, 4)];
  const replies = JSON.parse((await dispatchJsonRpc(JSON.stringify(batch), table(calls), ctx, limits))!);
  assert.deepEqual(replies.map((r: any) => r.id), [1, 2, 3, 4]);
  assert.ok(replies[0].result);
  assert.ok(replies[1].result);
  assert.equal(replies[2].error.code, 400, "the third list does not fit");
  assert.match(replies[3].error.message, /not run/);
  assert.deepEqual(calls, ["big", "big", "big"], "the write after the budget was not run");
  const tooMany = JSON.parse((await dispatchJsonRpc(JSON.stringify([...batch, req("write", {}, 5)]), table(calls), ctx, limits))!);
  assert.equal(tooMany.error.code, -32600);
  assert.match(tooMany.error.message, /batch larger than 4/);
  assert.deepEqual(calls, ["big", "big", "big"], "nothing of a refused batch runs");
});

test("a transport that streams gets a single list's reply as text in pieces, produced as it is read; batches and others stay whole", async () => {
  const items = Array.from({ length: 5000 }, (_, i) => ({ job_id: i.toString(16), name: `plate ${i} ✓`, pad: "y".repeat(40) }));
  let made = 0;
  const lists = new MethodTable().add({ rpc: "list", handler: () => new StreamedList(items.length, (i) => (made++, i === 3 ? undefined : items[i]), (i) => i !== 3) });
  const ctx = { transport: "websocket" as const, ip: "127.0.0.1" };
  const req = (id: unknown) => JSON.stringify({ jsonrpc: "2.0", method: "list", id });
  const reply = await dispatchJsonRpc(req("a"), lists, ctx, { maxBatch: 4, maxAnswerChars: 2000 }, true);
  assert.ok(reply !== null && typeof reply !== "string", "streamed, though far over the 2,000-character cap");
  assert.equal(made, 0, "nothing is made before it is read");
  const pieces: string[] = [];
  const it = reply[Symbol.iterator]();
  pieces.push(it.next().value as string);
  assert.ok(made > 0 && made < items.length, `the first piece made ${made} items, not all`);
  for (let r = it.next(); !r.done; r = it.next()) pieces.push(r.value);
  assert.ok(pieces.length > 3 && pieces.every((p) => p.length <= 64 * 1024 + 200), `${pieces.length} pieces`);
  const kept = items.filter((_, i) => i !== 3);
  assert.equal(pieces.join(""), JSON.stringify({ jsonrpc: "2.0", result: { jobs: kept, count: kept.length }, id: "a" }), "a vanished item is neither sent nor counted, as over HTTP");
  // Not streaming (MQTT), or in a batch: one whole message, within the cap.
  const whole = await dispatchJsonRpc(req(1), lists, ctx, { maxBatch: 4, maxAnswerChars: 2000 });
  assert.match(JSON.parse(whole!).error.message, /Answer larger than 2000 characters/);
  const batch = await dispatchJsonRpc(`[${req(1)},${req(2)}]`, lists, ctx, { maxBatch: 4, maxAnswerChars: 2000 }, true);
  assert.equal(typeof batch, "string");
  assert.match(JSON.parse(batch as string)[0].error.message, /Answer larger than 2000 characters/);
});

test("a method failing with a fault of printlog answers 500 and is reported once with its error; refusals are not", async () => {
  const reported: Array<[string, unknown]> = [];
  const table = new MethodTable().add(
    { rpc: "broken", handler: () => (undefined as unknown as { x: number }).x },
    { rpc: "refusing", handler: () => Promise.reject(Object.assign(new Error("no"), { code: "ENOENT" })) },
  );
  table.onInternalError = (method, err) => reported.push([method, err]);
  const ctx = { transport: "websocket" as const, ip: "127.0.0.1" };
  const broken = JSON.parse((await dispatchJsonRpc(JSON.stringify({ jsonrpc: "2.0", method: "broken", id: 1 }), table, ctx))!);
  assert.equal(broken.error.code, 500);
  assert.match(broken.error.message, /^Internal error: Cannot read properties of undefined/);
  assert.equal(reported.length, 1);
  assert.equal(reported[0]![0], "broken");
  assert.ok(reported[0]![1] instanceof TypeError);
  const refused = JSON.parse((await dispatchJsonRpc(JSON.stringify([{ jsonrpc: "2.0", method: "refusing", id: 2 }]), table, ctx))!);
  assert.equal(refused[0].error.code, -32601, "a missing file is a 404");
  assert.equal(reported.length, 1, "a refusal is not a fault");
});
