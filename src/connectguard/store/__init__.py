"""The findings store: the history of every app's scans, fix deadlines and requirement 15.

`open_store` opens (and creates or upgrades) the database; `record_scan` records a finished
`ScanResult` and returns requirement 15's verdict; `queries` reads the history back for the
`findings` and `apps` commands and the reports.
"""

from connectguard.store.db import Store, StoreError, open_store, resolve_store_url
from connectguard.store.lifecycle import Recorded, Status, record_scan, with_requirement
from connectguard.store.suppressions import ConfigError, StoreConfig, load_config

__all__ = [
    "ConfigError",
    "Recorded",
    "Status",
    "Store",
    "StoreConfig",
    "StoreError",
    "load_config",
    "open_store",
    "record_scan",
    "resolve_store_url",
    "with_requirement",
]
