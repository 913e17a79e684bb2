#!/usr/bin/env python
"""Thin wrapper: `python scripts/calibrate_ris.py [--out DIR] [--quick]` is
`plkg reproduce ris-calibration --out DIR`: fits the RIS paper's open link budget (zeta_0, p_u)
to its No-RIS value (0.49 bits at x_u = 280 m) and the Fig. 6 saturation inside 0-40 dBm, and
records the fit in DIR/ris-calibration.{json,csv,md} (see plkg/reproduce/ris_calibration.py)."""

import sys

from plkg.cli import main

if __name__ == "__main__":
    sys.exit(main(["reproduce", "ris-calibration", *sys.argv[1:]]))
