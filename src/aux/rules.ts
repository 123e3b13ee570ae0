// Serial-line rules: a configured regular expression whose named groups become sensor readings.
// Patterns come from users and run on every printer line, so each runs with a time limit in a
// separate V8 context: a catastrophically backtracking pattern is cut off and disabled instead
// of stalling the recorder.

import { createContext, Script, type Context } from "node:vm";

export interface LineRule {
  name: string;
  sensor: string;
  source: string;
  groups: string[];
  disabled?: string;
}

/** Lines longer than this are not offered to rules (they are noise, and bound the work). */
export const RULE_MAX_LINE = 512;
export const RULE_TIMEOUT_MS = 25;

export function compileRule(name: string, sensor: string, pattern: string): LineRule {
  const re = new RegExp(pattern); // throws a SyntaxError naming the problem
  const groups = [...pattern.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!);
  if (groups.length === 0) throw new Error("needs at least one named group, e.g. (?<energy>[0-9.]+)");
  void re;
  return { name, sensor, source: pattern, groups };
}

const MATCH = new Script("(() => { const m = re.exec(line); return m && m.groups ? Object.assign({}, m.groups) : null; })()");

export class RuleRunner {
  private readonly contexts: { rule: LineRule; ctx: Context }[];

  constructor(
    readonly rules: LineRule[],
    private readonly onDisabled: (rule: LineRule, reason: string) => void = () => undefined,
    private readonly timeoutMs = RULE_TIMEOUT_MS,
  ) {
    this.contexts = rules.map((rule) => ({ rule, ctx: createContext({ re: new RegExp(rule.source), line: "" }) }));
  }

  /** Readings (group -> text) from every rule that matches the line. */
  match(line: string): { rule: LineRule; values: Record<string, string> }[] {
    if (line.length > RULE_MAX_LINE) return [];
    const out: { rule: LineRule; values: Record<string, string> }[] = [];
    for (const { rule, ctx } of this.contexts) {
      if (rule.disabled) continue;
      ctx["line"] = line;
      try {
        const groups = MATCH.runInContext(ctx, { timeout: this.timeoutMs }) as Record<string, string | undefined> | null;
        if (!groups) continue;
        const values: Record<string, string> = {};
        for (const [k, v] of Object.entries(groups)) if (v !== undefined) values[k] = v;
        out.push({ rule, values });
      } catch (e) {
        rule.disabled = `took longer than ${this.timeoutMs} ms on a ${line.length}-character line: ${(e as Error).message}`;
        this.onDisabled(rule, rule.disabled);
      }
    }
    return out;
  }
}
