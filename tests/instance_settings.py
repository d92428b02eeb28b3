"""The panel's settings with the cache under a key prefix of the test's own, for the panel
instances tests/test_accounts_instances.py starts (CACHE_URL cannot carry a KEY_PREFIX)."""

import os

from panel.settings import *  # noqa: F403

CACHES["default"]["KEY_PREFIX"] = os.environ["TEST_CACHE_KEY_PREFIX"]  # noqa: F405
