#!/usr/bin/env python3
# Opt-in check: runs the Home Assistant moonraker integration's own setup code
# (custom_components/moonraker of marcolivierarsenault/moonraker-home-assistant, on moonraker-api)
# against a running printlog, with Home Assistant's framework replaced by minimal stand-ins, and
# prints every sensor it creates with its value. Not part of `npm test` (it needs Python, aiohttp
# and checkouts of both projects):
#   npm run demo        # or any running printlog with a printer
#   python3 scripts/ha-integration-check.py --port 7125 \
#       --integration ~/src/moonraker-home-assistant --moonraker-api ~/src/moonraker-api
import argparse, asyncio, dataclasses, importlib.abc, importlib.machinery, sys, types

ap = argparse.ArgumentParser()
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--port", type=int, default=7125)
ap.add_argument("--integration", required=True, help="checkout of moonraker-home-assistant")
ap.add_argument("--moonraker-api", required=True, help="checkout of moonraker-api")
args = ap.parse_args()
sys.path[:0] = [args.moonraker_api, args.integration]


class _Meta(type):
    # Enum-like Home Assistant classes (SensorDeviceClass.X, UnitOfTime.X): the member's name.
    def __getattr__(cls, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return name


class _Base(metaclass=_Meta):
    def __init__(self, *a, **k):
        pass


class DataUpdateCoordinator(_Base):
    """Only what the integration relies on: async_refresh runs its own _async_update_data."""

    def __init__(self, *a, **k):
        self.data = None
        self.last_update_success = False

    async def async_refresh(self):
        try:
            self.data = await self._async_update_data()
            self.last_update_success = True
        except Exception as e:  # the real coordinator logs and marks the update failed
            print("refresh failed:", repr(e))
            self.last_update_success = False

    def _schedule_refresh(self):
        pass


class CoordinatorEntity(_Base):
    def __init__(self, coordinator, *a, **k):
        self.coordinator = coordinator


@dataclasses.dataclass(frozen=True, kw_only=True)
class EntityDescription:
    key: str
    name: object = None
    device_class: object = None
    options: object = None
    icon: object = None
    native_unit_of_measurement: object = None
    unit_of_measurement: object = None
    state_class: object = None
    entity_registry_enabled_default: bool = True
    suggested_display_precision: object = None
    translation_key: object = None
    entity_category: object = None
    has_entity_name: bool = False


SPECIAL = {
    "callback": lambda f: f,
    "DataUpdateCoordinator": DataUpdateCoordinator,
    "CoordinatorEntity": CoordinatorEntity,
    "async_get_clientsession": lambda hass, **k: None,  # moonraker-api then opens its own session
    "UpdateFailed": Exception,
    "ConfigEntryNotReady": Exception,
    "device_registry": types.SimpleNamespace(async_get=lambda hass: None, async_entries_for_config_entry=lambda reg, eid: []),
}
_classes = {}


def _attr(name):
    if name in SPECIAL:
        return SPECIAL[name]
    if name.endswith("EntityDescription"):
        return EntityDescription
    if name.isupper():
        return name
    if name[0].islower():
        return lambda *a, **k: None
    return _classes.setdefault(name, type(name, (_Base,), {}))


class StandIns(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path, target=None):
        if fullname == "homeassistant" or fullname.startswith("homeassistant."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        m = types.ModuleType(spec.name)
        m.__path__ = []
        m.__getattr__ = _attr
        return m

    def exec_module(self, module):
        pass


sys.meta_path.insert(0, StandIns())

import custom_components.moonraker as integration  # noqa: E402
from custom_components.moonraker import sensor  # noqa: E402


class Entry:
    entry_id = "printlog"
    data = {"url": args.host, "port": args.port, "printer_name": ""}
    options = {}
    title = None

    def async_on_unload(self, *a):
        pass

    def add_update_listener(self, *a):
        return None


class ConfigEntries:
    def async_update_entry(self, entry, title=None, **k):
        entry.title = title

    async def async_forward_entry_setups(self, entry, platforms):
        pass


class Hass:
    data = {}
    config_entries = ConfigEntries()
    services = types.SimpleNamespace(async_register=lambda *a, **k: None)


async def main():
    hass, entry = Hass(), Entry()
    ok = await integration.async_setup_entry(hass, entry)
    print(f"setup: {ok}; entry title from printer.info hostname: {entry.title}")
    entities = []
    await sensor.async_setup_entry(hass, entry, lambda ents, *a: entities.extend(ents))
    coordinator = hass.data["moonraker"][entry.entry_id]
    print(f"first refresh succeeded: {coordinator.last_update_success}; sensors created: {len(entities)}")
    for e in entities:
        print(f"  {e.entity_description.key:36} {e._attr_native_value!r}")
    await coordinator.moonraker.stop()
    if not ok or not coordinator.last_update_success or not entities:
        sys.exit(1)


asyncio.run(main())
