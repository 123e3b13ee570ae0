// Feeding the job reducer a row of inputs one second apart, as the card-listing tests do.

import { initialRecorderState, reduce } from "../../src/job/reducer.js";
import type { Dialect } from "../../src/protocol/events.js";
import type { Effect, RecorderInput, RecorderState } from "../../src/job/types.js";

export function feed(s: RecorderState, inputs: RecorderInput[], t0 = 1000): Effect[] {
  const out: Effect[] = [];
  inputs.forEach((input, i) => out.push(...reduce(s, input, t0 + i).effects));
  return out;
}

export function stateOf(dialect: Dialect): RecorderState {
  const s = initialRecorderState();
  s.dialect = dialect;
  return s;
}
