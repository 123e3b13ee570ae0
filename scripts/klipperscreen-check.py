#!/usr/bin/env python3
# Opt-in check: feeds KlipperScreen's own printer model (ks_includes/printer.py of
# KlipperScreen/KlipperScreen) with printlog's answers, in the order KlipperScreen's screen.py asks
# (server.info, printer.info, configfile, objects.list, query of every object, subscribe, the
# temperature store), over a real WebSocket, and prints the state, tools, heaters and macros it
# derives. GLib's timer is replaced by a stand-in. Not part of `npm test` (it needs Python, aiohttp
# and a KlipperScreen checkout):
#   npm run demo
#   python3 scripts/klipperscreen-check.py --port 7125 --klipperscreen ~/src/KlipperScreen
import argparse, asyncio, itertools, json, sys, types

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=7125)
ap.add_argument("--klipperscreen", required=True, help="checkout of KlipperScreen")
ap.add_argument("--seconds", type=float, default=3, help="how long to take status updates")
args = ap.parse_args()
sys.path.insert(0, args.klipperscreen)

glib = types.SimpleNamespace(timeout_add_seconds=lambda s, fn, *a: 1, source_remove=lambda i: None, idle_add=lambda fn, *a: fn(*a))
sys.modules["gi"] = types.SimpleNamespace(require_version=lambda *a: None)
sys.modules["gi.repository"] = types.SimpleNamespace(GLib=glib)

import aiohttp  # noqa: E402
from ks_includes.printer import Printer  # noqa: E402

# ks_includes/screen.py ws_subscribe: the objects and fields KlipperScreen subscribes to.
SUBSCRIBE = {
    "configfile": ["config", "warnings"],
    "display_status": ["progress", "message"],
    "gcode_move": ["extrude_factor", "gcode_position", "homing_origin", "speed_factor", "speed"],
    "idle_timeout": ["state"],
    "pause_resume": ["is_paused"],
    "print_stats": ["print_duration", "total_duration", "filament_used", "filename", "state", "message", "info"],
    "toolhead": ["homed_axes", "estimated_print_time", "print_time", "position", "extruder", "max_accel", "minimum_cruise_ratio", "max_velocity", "square_corner_velocity"],
    "virtual_sdcard": ["file_position", "is_active", "progress"],
    "webhooks": ["state", "state_message"],
    "motion_report": ["live_position", "live_velocity", "live_extruder_velocity"],
}


async def main():
    states = []
    printer = Printer(lambda state, cb: states.append(state), {s: (lambda: None) for s in ["disconnected", "startup", "ready", "shutdown", "error", "paused", "printing"]})
    ids = itertools.count(1)
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"http://{args.host}:{args.port}/websocket") as ws:
            updates = []

            async def call(method, params=None):
                i = next(ids)
                await ws.send_str(json.dumps({"jsonrpc": "2.0", "method": method, "params": params or {}, "id": i}))
                while True:
                    msg = json.loads((await ws.receive()).data)
                    if msg.get("id") == i:
                        if "error" in msg:
                            raise SystemExit(f"{method}: {msg['error']}")
                        return msg["result"]
                    if msg.get("method") == "notify_status_update":
                        updates.append(msg["params"][0])

            server = await call("server.info")
            print("server.info:", server["klippy_connected"], server["klippy_state"])
            info = await call("printer.info")
            printer.reinit(info, (await call("printer.objects.query", {"objects": {"configfile": None}}))["status"])
            objects = (await call("printer.objects.list"))["objects"]
            printer.register_dynamic_sensors(objects)
            printer.process_update((await call("printer.objects.query", {"objects": {o: None for o in objects}}))["status"])
            printer.available_commands = await call("printer.gcode.help")
            subscribe = dict(SUBSCRIBE)
            for t in printer.get_tools():
                subscribe[t] = ["target", "temperature", "pressure_advance", "smooth_time", "power"]
            for h in printer.get_heaters():
                subscribe[h] = ["target", "temperature", "power"]
            printer.process_update((await call("printer.objects.subscribe", {"objects": subscribe}))["status"])
            printer.init_temp_store(await call("server.temperature_store"))
            end = asyncio.get_running_loop().time() + args.seconds
            while asyncio.get_running_loop().time() < end:
                try:
                    raw = await ws.receive(timeout=0.5)
                except asyncio.TimeoutError:
                    continue
                if raw.type != aiohttp.WSMsgType.TEXT:
                    break
                msg = json.loads(raw.data)
                if msg.get("method") == "notify_status_update":
                    printer.process_update(msg["params"][0])
                    updates.append(msg["params"][0])
    print("state:", printer.state, "(callbacks:", states, ")")
    print("tools:", printer.get_tools(), "heaters:", printer.get_heaters(), "temperature devices:", printer.get_temp_devices())
    print("extruder:", printer.get_stat("extruder"), "bed:", printer.get_stat("heater_bed"))
    print("print_stats:", printer.get_stat("print_stats"))
    print("macros:", printer.get_gcode_macros())
    print("temperature store, extruder, last 5:", printer.get_temp_store("extruder", "temperatures", 5))
    print("status updates received:", len(updates))
    if printer.state not in ("ready", "printing", "paused") or not printer.get_tools():
        sys.exit(1)


asyncio.run(main())
