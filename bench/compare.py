"""Compare all registered architectures on Chia (SpERT JSON): ``python -m mlcore compare`` with the
benchmark's defaults: chia_spert train/dev/types from ../shared/corpora (or $TRIALMARK_CORPORA), the
default encoder, 3 epochs, batch 8, CPU, 2 threads, every architecture in ``available_architectures()``.
Prints the table (and, with --json, writes it). Any ``compare`` option given here overrides the default
(``--archs ""`` with ``--configs FILE`` compares only the configs):

    python bench/compare.py [--archs ner.v1,re.v1,pipeline.v1,tagger.v1] [--limit-train N] [--json out.json]
    python bench/compare.py --out runs/ --resume   # after an interruption: finished trainings are reused
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TRIALMARK_CORPORA", ROOT.parent / "shared" / "corpora")) / "chia_spert"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args, rest = ap.parse_known_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from mlcore.__main__ import main as mlcore_main
    from mlcore.registry import available_architectures

    defaults = [
        "--train",
        str(CORPUS / "train.json"),
        "--dev",
        str(CORPUS / "dev.json"),
        "--types",
        str(CORPUS / "types.json"),
        "--epochs",
        "3",
        "--batch-size",
        "8",
        "--archs",
        ",".join(available_architectures()),
    ]
    # argparse keeps the last occurrence of an option, so options in ``rest`` override the defaults
    return mlcore_main(["--threads", str(args.threads), "--device", args.device, "compare", *defaults, *rest])


if __name__ == "__main__":
    sys.exit(main())
