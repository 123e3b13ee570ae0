import { test } from "node:test";
import { runDialect } from "./scenarios.js";

test("end to end: marlin2", { timeout: 300_000 }, async (t) => {
  await runDialect(t, "marlin2", { pauseDetected: true, filamentMeasured: true });
});
