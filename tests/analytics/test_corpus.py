"""The text-analytics corpora stay valid: runs check_corpus.py (see tests/analytics/README.md)."""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def test_corpora_pass_the_checker():
    r = subprocess.run([sys.executable, os.path.join(HERE, "check_corpus.py"), "--quiet"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
