"""paaf for Python: the generated uniffi bindings of paaf-mobile, under one name.

The records (hosts, journal rows, progress events, errors' codes) come from paaf_core, the
facade (Paaf, SecretStore, ProgressListener, RebootOperation, PaafError) from paaf_mobile.
libpaaf_mobile.so must sit beside these files (tests/mobile/python copies it in).
"""

from .paaf_core import *  # noqa: F401,F403
from .paaf_mobile import *  # noqa: F401,F403
