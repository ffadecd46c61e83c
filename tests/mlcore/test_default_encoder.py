"""The packaged default encoder (MiniLM-L6) loads offline and drives a model end to end."""

import os

from mlcore import default_encoder_path, load_model, train_model
from mlcore.alignment import build_docs
from mlcore.encoder import load_tokenizer

from .helpers import toy_examples_list


def test_default_encoder_path_is_packaged_minilm():
    path = default_encoder_path()
    assert os.path.isfile(os.path.join(path, "config.json"))
    tok = load_tokenizer(path)
    assert tok.is_fast


def test_real_encoder_trains_saves_and_predicts_non_ascii(tmp_path, toy_schema, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    examples = toy_examples_list()
    metrics = train_model(
        examples,
        examples[:2],
        toy_schema,
        tmp_path / "m",
        config={"epochs": 1, "batch_size": 4, "neg_entities": 20},
        device="cpu",
    )
    assert metrics["history"][0]["train_loss"] > 0
    model = load_model(tmp_path / "m")
    text = "Hämoglobin ≥ 10 g/dL, keine Schwangerschaft \u200b (ÄÖÜ)"
    (pred,) = model.predict([text])
    assert len(pred.embedding) == 384
    for m in pred.mentions:
        assert 0 <= m.start < m.end <= len(text) and 0.0 <= m.score <= 1.0
    (doc,) = build_docs([examples[0]], model.tokenizer, toy_schema)
    assert doc.ents == [(0, 1, 0), (2, 3, 0)]
