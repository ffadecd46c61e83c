"""The same seed trains the same model: head initialisation is seeded too, not only the training loop."""

import pytest

from mlcore import load_model, train_model

from .helpers import toy_examples_list


@pytest.mark.parametrize("arch", ["span.v1", "tagger.v1"])
def test_same_seed_same_model(tmp_path, tiny_encoder, toy_schema, arch):
    examples = toy_examples_list()
    config = {"epochs": 2, "batch_size": 2, "seed": 7, "warmup_ratio": 0.0}
    runs = []
    for name in ("a", "b"):
        metrics = train_model(examples, examples, toy_schema, tmp_path / name, arch=arch,
                              encoder=tiny_encoder, config=config, device="cpu")
        preds = load_model(tmp_path / name).predict(examples)
        runs.append(([h["train_loss"] for h in metrics["history"]],
                     [[m.score for m in p.mentions] for p in preds]))
    assert runs[0] == runs[1]
