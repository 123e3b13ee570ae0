// Moonraker-style INI: `[section]`, `key: value` or `key = value`, `#`/`;` comments, and values
// continued on indented lines (how Moonraker writes history_field_* options and lists).

export interface IniSection {
  name: string;
  line: number;
  options: Map<string, { value: string; line: number }>;
}

export class IniError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super(`${file}:${line}: ${message}`);
    this.name = "IniError";
  }
}

export function parseIni(text: string, file = "config"): IniSection[] {
  const sections: IniSection[] = [];
  let current: IniSection | null = null;
  let lastKey: string | null = null;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) return;
    const indented = /^\s/.test(raw);
    if (indented && current && lastKey) {
      const opt = current.options.get(lastKey)!;
      opt.value = opt.value === "" ? trimmed : `${opt.value}\n${trimmed}`;
      return;
    }
    const sec = /^\[([^\]]+)\]\s*(?:[#;].*)?$/.exec(trimmed);
    if (sec) {
      const name = sec[1]!.trim().replace(/\s+/g, " ");
      if (sections.some((s) => s.name === name)) throw new IniError(file, lineNo, `section [${name}] appears twice`);
      current = { name, line: lineNo, options: new Map() };
      sections.push(current);
      lastKey = null;
      return;
    }
    if (!current) throw new IniError(file, lineNo, `option outside any [section]: ${trimmed}`);
    const m = /^([^:=\s][^:=]*?)\s*[:=]\s?(.*)$/.exec(trimmed);
    if (!m) throw new IniError(file, lineNo, `expected 'key: value', got: ${trimmed}`);
    const key = m[1]!.trim().toLowerCase();
    if (current.options.has(key)) throw new IniError(file, lineNo, `option '${key}' appears twice in [${current.name}]`);
    // Inline comments need a space before them so URLs and regexes keep their '#'.
    const value = m[2]!.replace(/\s+[#;].*$/, "").trim();
    current.options.set(key, { value, line: lineNo });
    lastKey = key;
  });
  return sections;
}
