"""The SIP parser as it was before parsing became lazy (commit a864c2b), kept as a test oracle.

``message.py``, ``headers.py`` and ``uri.py`` here are verbatim copies of
``src/lyncdump/sip/`` at that commit (only the two imports from the rest of the package point
at ``lyncdump`` instead of ``..``). They parse every header of every message eagerly; the parity
tests (tests/sip/test_sip_lazy_parity.py) check that the lazy parser gives the same result for
every accessor, every header and every defect, on every sample, every corpus file and on
generated messages. Never "fix" these files: they are what the lazy parser must agree with.
"""
