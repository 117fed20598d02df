import sys

from vc.cli import main

sys.exit(main())
