"""Stand-in for the get-pip.py bootstrap script that ansible-test downloads from
ci-files.testing.ansible.com (not a package registry, and unreachable here).

ansible-test makes each sanity test's virtualenv without pip and runs this script (saved where
it caches the download, ~/.ansible/test/cache/get_pip_X_Y.py) as `python get_pip.py [pip
install options] pip==X.Y ...`. Like get-pip.py, it puts pip into the running interpreter
(here from the interpreter's own ensurepip) and then installs the requested packages with it,
from PyPI.
"""

import subprocess
import sys

# get-pip.py options that pip install does not know.
GET_PIP_ONLY = ("--no-setuptools", "--no-wheel")

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--upgrade"] + args))
