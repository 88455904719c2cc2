"""Entry point of the plugin process: `python -I -m mmplugin._runtime`, started by the host."""

import sys

from .main import main

sys.exit(main())
