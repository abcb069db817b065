"""``python -m nurture.demo``: see :mod:`nurture.demo.run`."""

import sys

from nurture.demo.run import main

sys.exit(main())
