"""Build hook for the optional compiled fast path; everything else is in pyproject.toml.

``lyncdump._fastpath`` (src/lyncdump/_fastpath.c) speeds up RTP-heavy captures. It is
optional: without a C compiler the build goes on and lyncdump runs in pure Python, with the
same results (docs/performance.md).
"""

import sys

from setuptools import Extension, setup

# Python evaluates a * b + c as two roundings; fusing it into one FMA would change jitter values.
_ARGS = [] if sys.platform == "win32" else ["-ffp-contract=off", "-O2"]
_LIBS = [] if sys.platform == "win32" else ["m"]

setup(
    ext_modules=[
        Extension(
            "lyncdump._fastpath",
            ["src/lyncdump/_fastpath.c"],
            extra_compile_args=_ARGS,
            libraries=_LIBS,
            optional=True,
        )
    ]
)
