"""Runtime hook of the frozen Tidemark: point app.core.lint at the bundled squawk binary.

lint.py looks for squawk next to the interpreter's scripts; in the bundle it sits in
<bundle internals>/bin, so name it through lint's own override (a user's setting wins).
"""

import os
import sys

_squawk = os.path.join(sys._MEIPASS, "bin", "squawk.exe" if sys.platform == "win32" else "squawk")
if os.path.isfile(_squawk):
    os.environ.setdefault("TIDEMARK_SQUAWK", _squawk)
