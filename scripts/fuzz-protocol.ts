// Protocol fuzz: `node dist/scripts/fuzz-protocol.js [LINES=1000000]`. Random lines and mutations
// of the real captures through the parser and the job reducer: no exception, and pure noise
// never creates a job.

import { parseLine } from "../src/protocol/parse.js";
import { initialRecorderState, reduce } from "../src/job/reducer.js";
import { CAPTURES } from "../test/protocol/captures.js";

const total = Number(process.argv[2] ?? 1_000_000);
let seed = 12345;
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const captureLines = CAPTURES.flatMap((c) => c.lines).filter((l) => l.length > 0);

function randomLine(): string {
  const n = Math.floor(rand() * 120);
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(rand() * 256);
  return bytes.toString(rand() < 0.5 ? "latin1" : "utf8");
}

function mutate(line: string): string {
  const chars = [...line];
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (chars.length + 1));
    const op = rand();
    if (op < 0.33) chars.splice(at, 1);
    else if (op < 0.66) chars.splice(at, 0, String.fromCharCode(Math.floor(rand() * 256)));
    else chars[at] = String.fromCharCode(48 + Math.floor(rand() * 10));
  }
  return chars.join("");
}

const started = Date.now();
// 1) pure noise: must never create a job.
const noise = initialRecorderState();
let t = 1_700_000_000;
let noiseJobs = 0;
for (let i = 0; i < total / 2; i++) {
  const { effects } = reduce(noise, parseLine(randomLine(), { dialect: noise.dialect, inFileList: noise.inFileList }), (t += 0.01));
  noiseJobs += effects.filter((e) => e.kind === "start" || e.kind === "reopen").length;
}
// 2) mutated captures: anything may happen, nothing may throw.
const mutated = initialRecorderState();
let effectsSeen = 0;
for (let i = 0; i < total / 2; i++) {
  const base = captureLines[Math.floor(rand() * captureLines.length)]!;
  const line = rand() < 0.3 ? base : mutate(base);
  effectsSeen += reduce(mutated, parseLine(line, { dialect: mutated.dialect, inFileList: mutated.inFileList }), (t += 0.5)).effects.length;
}
const secs = (Date.now() - started) / 1000;
process.stdout.write(`protocol fuzz: ${total.toLocaleString()} lines in ${secs.toFixed(1)} s, no exception; jobs from pure noise: ${noiseJobs}; effects from mutated captures: ${effectsSeen}\n`);
if (noiseJobs > 0) process.exit(1);
