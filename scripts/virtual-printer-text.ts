// What the virtual printer's firmwares print for identification and card listings
// (serial-protocol.md §1.2, and the second round on the real Marlin 2.1.2.1 for `marlin2`, the
// plain build, and `marlin2_host`, the rich one).

export type VpDialect = "marlin2" | "marlin2_host" | "marlin1" | "prusa_mk3" | "buddy" | "rrf";
export const VP_DIALECTS: VpDialect[] = ["marlin2", "marlin2_host", "marlin1", "prusa_mk3", "buddy", "rrf"];

export interface VpFile {
  sfn: string;
  long: string;
  size: number;
  /** Filament the whole file extrudes, mm. */
  filament: number;
  /** An M1001 at this fraction of the file: `Done printing file`, then the position stands for ever. */
  m1001At?: number;
}

/** What `M115` prints. */
export function firmwareLines(dialect: VpDialect): string[] {
  switch (dialect) {
    case "marlin2":
    case "marlin2_host":
      return [
        "FIRMWARE_NAME:Marlin 2.1.2.1 (Nov 24 2026 10:00:00) SOURCE_CODE_URL:github.com/MarlinFirmware/Marlin PROTOCOL_VERSION:1.0 MACHINE_TYPE:Virtual Printer EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
        "Cap:SERIAL_XON_XOFF:0",
        "Cap:EEPROM:1",
        "Cap:AUTOREPORT_TEMP:1",
        `Cap:AUTOREPORT_SD_STATUS:${dialect === "marlin2_host" ? 1 : 0}`,
        "Cap:PROGRESS:0",
        "Cap:PRINT_JOB:1",
        `Cap:HOST_ACTION_COMMANDS:${dialect === "marlin2_host" ? 1 : 0}`,
        // LONG_FILENAME_HOST_SUPPORT only in the rich build.
        `Cap:EXTENDED_M20:${dialect === "marlin2_host" ? 1 : 0}`,
        "Cap:SDCARD:1",
      ];
    case "marlin1":
      return ["FIRMWARE_NAME:Marlin V1; Sprinter/grbl mashup for gen6 FIRMWARE_URL:http://www.mendel-parts.com PROTOCOL_VERSION:1.0 MACHINE_TYPE:www.creality3d.cn EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000"];
    case "prusa_mk3":
      return [
        "FIRMWARE_NAME:Prusa-Firmware 3.13.3 based on Marlin FIRMWARE_URL:https://github.com/prusa3d/Prusa-Firmware PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa i3 MK3S EXTRUDER_COUNT:1 UUID:00000000-0000-0000-0000-000000000000",
        "Cap:AUTOREPORT_TEMP:1",
        "Cap:AUTOREPORT_FANS:1",
        "Cap:AUTOREPORT_POSITION:1",
        "Cap:EXTENDED_M20:1",
      ];
    case "buddy":
      return [
        "FIRMWARE_NAME:Prusa-Firmware-Buddy 6.3.4 (Github) SOURCE_CODE_URL:https://github.com/prusa3d/Prusa-Firmware-Buddy PROTOCOL_VERSION:1.0 MACHINE_TYPE:Prusa-MK4 EXTRUDER_COUNT:1 UUID:cede2a2f-41a2-4748-9b12-c55c62f367ff",
        "Cap:AUTOREPORT_TEMP:1",
        "Cap:PROMPT_SUPPORT:1",
        "Cap:AUTOREPORT_SD_STATUS:0",
      ];
    case "rrf":
      return ["FIRMWARE_NAME: RepRapFirmware for Duet 3 Mini 5+ FIRMWARE_VERSION: 3.5.1 ELECTRONICS: Duet 3 Mini5plus WiFi FIRMWARE_DATE: 2024-04-19 14:40:46"];
  }
}

/** What `M20` prints, with `L` (long names) and `T` (dates) where the firmware has them. */
export function fileList(d: VpDialect, files: VpFile[], args: string): string[] {
  const long = /L/.test(args);
  const out = ["Begin file list"];
  for (const f of files) {
    if (d === "buddy") out.push(f.sfn);
    else if (d === "prusa_mk3" && long) out.push(`${f.sfn} ${f.size} 0x5A3B1C2D "${f.long}"`);
    else if (d === "rrf") out.push(f.long);
    else if (d === "marlin2") out.push(`${f.sfn} ${f.size}`); // plain: no long names, no dates
    // M20 L prints only 26 characters of a long name (MAX_VFAT_ENTRIES 2, second round).
    else out.push(`${f.sfn} ${f.size}${/T/.test(args) ? " 0x5A3B1C2D" : ""}${long ? " " + (d === "marlin2_host" ? f.long.slice(0, 26) : f.long) : ""}`);
  }
  out.push("End file list");
  return out;
}
