import subprocess
import sys

import pytest

from nmt import VersionMismatchError, check_tensorflow_versions


def test_matching_minor_versions_pass():
    check_tensorflow_versions("2.21.0", "2.21.1")


@pytest.mark.parametrize("tf_version,text_version", [("2.21.0", "2.20.0"), ("2.21.0", "3.21.0")])
def test_mismatch_says_what_to_install(tf_version, text_version):
    with pytest.raises(VersionMismatchError, match=r"tensorflow-text==2\.21\.\*"):
        check_tensorflow_versions(tf_version, text_version)


def test_import_fails_early_on_mismatch():
    # A fresh interpreter where importlib.metadata reports a mismatched tensorflow-text.
    code = (
        "import importlib.metadata as m\n"
        "real = m.version\n"
        "m.version = lambda name: '2.19.0' if name == 'tensorflow-text' else real(name)\n"
        "import nmt\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "tensorflow-text 2.19.0 are from different minor releases" in result.stderr
