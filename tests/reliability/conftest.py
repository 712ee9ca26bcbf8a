"""The reliability suite under pytest (short mode): the integration fixtures, reused through
tests/integration/gwutil.py as tests/browser does."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

import gwutil  # noqa: E402

wait_until = gwutil.cf.wait_until      # agentlib takes it from the module named conftest
pytest_runtest_call = gwutil.cf.pytest_runtest_call
pytest_configure = gwutil.cf.pytest_configure


def pytest_terminal_summary(terminalreporter):
    """The short mode's table, after the results."""
    import rlib
    if rlib.RESULTS:
        terminalreporter.write_sep("-", "reliability, short mode (%r)" % rlib.Mode(short=True))
        terminalreporter.write(rlib.md_table(rlib.RESULTS))
