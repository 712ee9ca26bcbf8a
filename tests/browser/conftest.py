"""Browser tests: Debian's headless Chromium against a real deployment (the integration
fixtures, reused through tests/integration/gwutil.py)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import gwutil  # noqa: E402

deploy = gwutil.cf.deploy
pytest_runtest_call = gwutil.cf.pytest_runtest_call
pytest_configure = gwutil.cf.pytest_configure
