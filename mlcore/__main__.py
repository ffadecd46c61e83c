"""Command line: ``python -m mlcore {train,evaluate,predict,compare,architectures}``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path


def _setup(threads: int) -> None:
    import torch

    if threads:
        torch.set_num_threads(threads)
    try:
        import transformers

        transformers.utils.logging.disable_progress_bar()
    except Exception:  # pragma: no cover - progress bars are cosmetic
        pass


def _train(args: argparse.Namespace) -> int:
    from .api import train_model
    from .io import read_spert_json

    train, schema = read_spert_json(args.train, args.types)
    dev, dev_schema = read_spert_json(args.dev, args.types) if args.dev else ([], schema)
    if args.types is None:  # no types file: schema from both splits, in order of first appearance
        from .types import Schema

        schema = Schema.from_examples(train + dev)
    config = json.loads(args.config) if args.config else {}
    for key in ("epochs", "batch_size", "lr", "seed"):
        val = getattr(args, key)
        if val is not None:
            config[key] = val
    last = [0.0]

    def progress(p: dict) -> None:
        now = time.monotonic()
        if p.get("phase") != "train" or now - last[0] > 10 or p.get("step") == p.get("total_steps"):
            last[0] = now
            print(json.dumps(p), file=sys.stderr, flush=True)

    metrics = train_model(
        train,
        dev,
        schema,
        Path(args.out),
        arch=args.arch,
        encoder=args.encoder,
        config=config,
        progress=progress,
        device=args.device,
    )
    print(json.dumps(metrics, indent=1))
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .api import load_model
    from .io import read_spert_json

    model = load_model(args.model, device=args.device)
    data, _ = read_spert_json(args.data)
    print(json.dumps(model.evaluate(data, batch_size=args.batch_size), indent=1))
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .api import load_model
    from .io import read_spert_json, write_spert_json

    model = load_model(args.model, device=args.device)
    data, _ = read_spert_json(args.data)
    preds = model.predict(data, batch_size=args.batch_size, mc_samples=args.mc_samples)
    write_spert_json(preds, args.out)
    if args.details:
        with open(args.details, "w", encoding="utf-8") as f:
            for p in preds:
                f.write(
                    json.dumps({"id": p.id, "uncertainty": p.uncertainty, "embedding": p.embedding}) + "\n"
                )
    print(json.dumps({"sentences": len(preds), "out": args.out}))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, format_table, make_specs
    from .io import read_spert_json
    from .registry import available_architectures

    train, schema = read_spert_json(args.train, args.types)
    dev, _ = read_spert_json(args.dev, args.types)
    if args.types is None:  # no types file: schema from both splits, in order of first appearance
        from .types import Schema

        schema = Schema.from_examples(train + dev)
    if args.limit_train:
        train = train[: args.limit_train]
    if args.limit_dev:
        dev = dev[: args.limit_dev]
    configs = []
    if args.configs:
        with open(args.configs, encoding="utf-8") as f:
            configs = json.load(f)
        if not isinstance(configs, list):
            raise SystemExit(f"{args.configs}: expected a JSON list of {{name, arch, config}} objects")
    archs = [a.strip() for a in args.archs.split(",") if a.strip()] if args.archs else []
    if not archs and not configs:
        archs = available_architectures()
    try:
        specs = make_specs(archs, configs)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from e
    last = [0.0]

    def progress(p: dict) -> None:
        now = time.monotonic()
        if p.get("phase") != "train" or now - last[0] > 30 or p.get("step") == p.get("total_steps"):
            last[0] = now
            print(json.dumps(p), file=sys.stderr, flush=True)

    if args.resume and not args.out:
        raise SystemExit("error: --resume needs --out, the directory holding the checkpoints to reuse")
    rows = compare(
        train,
        dev,
        schema,
        specs,
        epochs=args.epochs,
        batch_size=args.batch_size,
        encoder=args.encoder,
        out_dir=args.out,
        device=args.device,
        predict_batch_size=args.predict_batch_size,
        progress=progress,
        resume=args.resume,
    )
    print(
        f"{len(train)} training sentences, {len(dev)} dev sentences; "
        f"{args.epochs} epochs, batch {args.batch_size}, encoder {args.encoder or 'default'}"
    )
    print(format_table(rows))
    if args.json:
        settings = {
            "train": args.train,
            "dev": args.dev,
            "types": args.types,
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "encoder": args.encoder,
            "train_sentences": len(train),
            "dev_sentences": len(dev),
        }
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"settings": settings, "rows": rows}, f, indent=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    from .registry import DEFAULT_ARCHITECTURE, available_architectures

    ap = argparse.ArgumentParser(prog="python -m mlcore", description="Joint entity and relation extraction")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    ap.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available)")
    ap.add_argument("-v", "--verbose", action="store_true")
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a model and save a checkpoint directory")
    t.add_argument("--train", required=True)
    t.add_argument("--dev", default=None)
    t.add_argument("--types", default=None)
    t.add_argument("--out", required=True)
    t.add_argument("--arch", default=DEFAULT_ARCHITECTURE, choices=available_architectures())
    t.add_argument(
        "--encoder", default=None, help="HF model name or local path (default: packaged MiniLM-L6)"
    )
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--batch-size", dest="batch_size", type=int, default=None)
    t.add_argument("--lr", type=float, default=None)
    t.add_argument("--seed", type=int, default=None)
    t.add_argument(
        "--config", default=None, help="JSON dict of config overrides, e.g. '{\"max_span_width\": 8}'"
    )
    e = sub.add_parser("evaluate", help="print the JSON metrics report of a model on SpERT JSON data")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--batch-size", dest="batch_size", type=int, default=16)
    p = sub.add_parser("predict", help="predict SpERT JSON data, write SpERT JSON with scores")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--batch-size", dest="batch_size", type=int, default=8)
    p.add_argument("--mc-samples", dest="mc_samples", type=int, default=0)
    p.add_argument(
        "--details", default=None, help="also write JSONL with uncertainty and embedding per sentence"
    )
    c = sub.add_parser(
        "compare", help="train several architectures on the same data and budget, print a dev table"
    )
    c.add_argument("--train", required=True)
    c.add_argument("--dev", required=True)
    c.add_argument("--types", default=None)
    c.add_argument("--archs", default=None, help="comma-separated architectures (default: all registered)")
    c.add_argument("--configs", default=None, help='JSON file: a list of {"name", "arch", "config"} objects')
    c.add_argument("--epochs", type=int, default=3)
    c.add_argument("--batch-size", dest="batch_size", type=int, default=8)
    c.add_argument("--predict-batch-size", dest="predict_batch_size", type=int, default=8)
    c.add_argument(
        "--encoder", default=None, help="HF model name or local path (default: packaged MiniLM-L6)"
    )
    c.add_argument("--out", default=None, help="keep the checkpoints under this directory (default: discard)")
    c.add_argument(
        "--resume",
        action="store_true",
        help="with --out: reuse checkpoints there trained with the same architecture, config, budget and data",
    )
    c.add_argument("--json", default=None, help="also write the settings and rows to this JSON file")
    c.add_argument("--limit-train", dest="limit_train", type=int, default=0)
    c.add_argument("--limit-dev", dest="limit_dev", type=int, default=0)
    sub.add_parser("architectures", help="list registered architectures")
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    _setup(args.threads)
    if args.cmd == "architectures":
        print("\n".join(available_architectures()))
        return 0
    return {"train": _train, "evaluate": _evaluate, "predict": _predict, "compare": _compare}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
