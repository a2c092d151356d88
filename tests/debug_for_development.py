"""The test suite runs with riskreg's development settings (DEBUG=1, as `make run`), unless DEBUG is set.

With DEBUG unset the settings are production's: SECRET_KEY required, HTTPS redirects, hashed static
files. This module is loaded as a plugin (`-p debug_for_development` in pyproject.toml) because
pytest-django imports the settings before any conftest.py runs. During each test pytest-django turns
settings.DEBUG off again, as in production; a test that needs it on sets it (the `settings` fixture).
"""

import os

if not os.environ.get("DEBUG"):
    os.environ["DEBUG"] = "1"
