"""Fixtures for the analytics tests: the integration tests' real deployment (broker and
agents on loopback; tests/integration/conftest.py, reused through gwutil), and the
labelled corpus of config/corpus/ with its source documents."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

import gwutil  # noqa: E402

deploy = gwutil.cf.deploy
pytest_runtest_call = gwutil.cf.pytest_runtest_call
pytest_configure = gwutil.cf.pytest_configure
