#!/usr/bin/env python
"""shop_b: the remote book shop of the demo."""

import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop_b.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
