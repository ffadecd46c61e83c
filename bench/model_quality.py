"""Model quality and speed benchmark on Chia (SpERT JSON).

Trains one architecture on chia_spert/train.json with the default encoder (3 epochs, batch 8 unless
told otherwise), then, in a fresh process, loads the checkpoint and predicts dev at batch 8, measuring
sentences/s and the peak RSS of that process. Prints the figures and one JSON line.

    python bench/model_quality.py --arch span.v1 [--epochs 3] [--batch-size 8] [--limit-train N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path(os.environ.get("TRIALMARK_CORPORA", ROOT.parent / "shared" / "corpora")) / "chia_spert"


def _setup(threads: int) -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.utils.logging.disable_progress_bar()


def _peak_rss_kib() -> int:
    """Peak RSS of this process image. (ru_maxrss would carry the training parent's peak across exec.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def predict_only(args: argparse.Namespace) -> None:
    _setup(args.threads)
    import mlcore

    dev, _ = mlcore.read_spert_json(args.dev, args.types)
    if args.limit_dev:
        dev = dev[: args.limit_dev]
    model = mlcore.load_model(args.model, device="cpu")
    t0 = time.perf_counter()
    preds = model.predict(dev, batch_size=args.predict_batch_size)
    secs = time.perf_counter() - t0
    rss_kib = _peak_rss_kib()
    given = model.predict(dev, batch_size=16, gold_entities=True)
    report = mlcore.evaluate(dev, preds, model.schema, pred_given_gold_entities=given)
    from mlcore.metrics import calibration_report

    report["calibration"] = calibration_report(dev, preds, model.schema)
    print(
        json.dumps(
            {"report": report, "predict_seconds": secs, "sentences": len(dev), "peak_rss_mib": rss_kib / 1024}
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="span.v1")
    ap.add_argument("--train", default=str(CORPUS / "train.json"))
    ap.add_argument("--dev", default=str(CORPUS / "dev.json"))
    ap.add_argument("--types", default=str(CORPUS / "types.json"))
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--predict-batch-size", type=int, default=8)
    ap.add_argument("--config", default="{}", help="JSON dict of extra architecture/training config")
    ap.add_argument("--limit-train", type=int, default=0)
    ap.add_argument("--limit-dev", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="", help="checkpoint directory (default: a temporary one)")
    ap.add_argument("--predict-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--model", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.predict_only:
        predict_only(args)
        return
    _setup(args.threads)
    import mlcore

    train, schema = mlcore.read_spert_json(args.train, args.types)
    dev, _ = mlcore.read_spert_json(args.dev, args.types)
    if args.limit_train:
        train = train[: args.limit_train]
    if args.limit_dev:
        dev = dev[: args.limit_dev]
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="mlcore_bench_"))
    config = {"epochs": args.epochs, "batch_size": args.batch_size, **json.loads(args.config)}
    last = [0.0]

    def progress(p: dict) -> None:
        now = time.monotonic()
        if p.get("phase") != "train" or now - last[0] > 60 or p.get("step") == p.get("total_steps"):
            last[0] = now
            print(
                json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in p.items()}),
                file=sys.stderr,
                flush=True,
            )

    t0 = time.perf_counter()
    metrics = mlcore.train_model(
        train, dev, schema, out, arch=args.arch, config=config, progress=progress, device="cpu"
    )
    train_min = (time.perf_counter() - t0) / 60
    print(json.dumps({"history": metrics["history"], "best_epoch": metrics["best_epoch"]}), file=sys.stderr)
    cmd = [
        sys.executable,
        __file__,
        "--predict-only",
        "--model",
        str(out),
        "--dev",
        args.dev,
        "--types",
        args.types,
        "--threads",
        str(args.threads),
        "--predict-batch-size",
        str(args.predict_batch_size),
        "--limit-dev",
        str(args.limit_dev),
    ]
    res = json.loads(
        subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    )
    rep = res["report"]
    figures = {
        "arch": args.arch,
        "train_sentences": len(train),
        "dev_sentences": res["sentences"],
        "entity_f1": rep["entities"]["micro"]["f1"],
        "relation_f1": rep["relations"]["micro"]["f1"],
        "relation_f1_boundaries": rep["relations_boundaries"]["micro"]["f1"],
        "relation_f1_given_gold_entities": rep["relations_given_gold_entities"]["micro"]["f1"],
        "entity_f1_macro": rep["entities"]["macro"]["f1"],
        "relation_f1_macro": rep["relations"]["macro"]["f1"],
        "entity_ece": rep["calibration"]["entity_ece"],
        "relation_ece": rep["calibration"]["relation_ece"],
        "training_minutes": train_min,
        "predict_sentences_per_s": res["sentences"] / res["predict_seconds"],
        "predict_peak_rss_mib": res["peak_rss_mib"],
        "best_epoch": metrics["best_epoch"],
        "thresholds": metrics.get("thresholds"),
        "checkpoint": str(out),
    }
    print(
        f"architecture           {args.arch} ({args.epochs} epochs, batch {args.batch_size}, {len(train)} sentences)"
    )
    print(f"entity F1 (strict)     {figures['entity_f1']:.2f}   macro {figures['entity_f1_macro']:.2f}")
    print(
        f"relation F1 (strict)   {figures['relation_f1']:.2f}   macro {figures['relation_f1_macro']:.2f}   "
        f"boundaries {figures['relation_f1_boundaries']:.2f}   "
        f"given gold entities {figures['relation_f1_given_gold_entities']:.2f}"
    )
    print(
        f"calibration ECE        entities {figures['entity_ece']:.2f}   relations {figures['relation_ece']:.2f}"
    )
    for name, tuned in (metrics.get("thresholds") or {}).items():
        grid = ", ".join(f"{t}: {f:.2f}" for t, f in tuned["f1"].items())
        print(f"{name:<22} {tuned['chosen']} (chosen on dev; configured {tuned['configured']}; dev F1 {grid})")
    print(f"training               {train_min:.1f} min (incl. per-epoch dev evaluation, calibration, threshold)")
    print(
        f"prediction             {figures['predict_sentences_per_s']:.1f} sentences/s "
        f"(dev, batch {args.predict_batch_size})"
    )
    print(f"peak RSS predicting    {figures['predict_peak_rss_mib']:.0f} MiB")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
