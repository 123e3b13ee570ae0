// Picks one value out of a JSON payload by a simple path (`ENERGY.Total`, `sensors[0].temp`,
// `$` for the whole payload): how an [sensor] of type mqtt names each parameter's value, in place
// of Moonraker's Jinja2 state_response_template.

export type PathSegment = string | number;

const SEGMENT = /^([^.[\]]+)((?:\[\d{1,6}\])*)$/;

/** Parses a path; throws an Error naming what is wrong. */
export function parsePath(path: string): PathSegment[] {
  let p = path.trim();
  if (p === "$" || p === "") return [];
  if (p.startsWith("$.")) p = p.slice(2);
  if (p.length > 256) throw new Error("path longer than 256 characters");
  const out: PathSegment[] = [];
  for (const part of p.split(".")) {
    const m = SEGMENT.exec(part);
    if (!m) throw new Error(`bad path '${path}': use names separated by '.', with [index] for arrays`);
    out.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

/** The value at `path`, or undefined when the payload has nothing there. */
export function pick(payload: unknown, path: readonly PathSegment[]): unknown {
  let v: unknown = payload;
  for (const seg of path) {
    if (typeof seg === "number") {
      if (!Array.isArray(v) || seg >= v.length) return undefined;
      v = v[seg];
    } else {
      if (typeof v !== "object" || v === null || Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, seg)) return undefined;
      v = (v as Record<string, unknown>)[seg];
    }
  }
  return v;
}

/** A payload's text as JSON, or as a bare number or string when it is not JSON (Tasmota, ESPHome). */
export function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const t = text.trim();
    const n = Number(t);
    return t !== "" && Number.isFinite(n) ? n : t;
  }
}

/** Numbers sent as strings ("12.5") become numbers, as Moonraker's templates do with |float. */
export function coerceValue(v: unknown): unknown {
  if (typeof v === "string") {
    const n = Number(v.trim());
    if (v.trim() !== "" && Number.isFinite(n)) return n;
  }
  return v;
}
