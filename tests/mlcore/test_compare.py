"""mlcore.compare and ``python -m mlcore compare``: rows, table, JSON, spec validation."""

import json
import math

import pytest

from mlcore.compare import CompareSpec, compare, format_table, make_specs
from mlcore.io import write_spert_json, write_types_json

from .helpers import toy_examples_list

NUMERIC = ("entity_f1", "relation_f1", "relation_f1_given_gold_entities")


def _check_rows(rows, names):
    assert [r["name"] for r in rows] == names
    for r in rows:
        for k in NUMERIC:
            assert 0.0 <= r[k] <= 100.0, (r["name"], k, r[k])
        assert r["parameters"] > 0
        assert r["training_minutes"] > 0 and math.isfinite(r["predict_sentences_per_s"])
        assert r["predict_sentences_per_s"] > 0
        assert r["config"]["epochs"] == 2 and r["config"]["batch_size"] == 4


def test_compare_rows_and_table(tmp_path, tiny_encoder, toy_schema):
    examples = toy_examples_list()
    specs = make_specs(["ner.v1"], [{"name": "re small", "arch": "re.v1", "config": {"proj_dim": 16}}])
    seen = set()
    rows = compare(
        examples,
        examples,
        toy_schema,
        specs,
        epochs=2,
        batch_size=4,
        encoder=tiny_encoder,
        out_dir=tmp_path / "runs",
        device="cpu",
        progress=lambda p: seen.add(p["name"]),
    )
    _check_rows(rows, ["ner.v1", "re small"])
    ner, re_ = rows
    assert ner["arch"] == "ner.v1" and re_["arch"] == "re.v1"
    # NER alone predicts no relations; RE alone no mentions (so no end-to-end relations either)
    assert ner["relation_f1"] == 0.0 and ner["relation_f1_given_gold_entities"] == 0.0
    assert re_["entity_f1"] == 0.0 and re_["relation_f1"] == 0.0
    assert re_["config"]["proj_dim"] == 16
    assert seen == {"ner.v1", "re small"}
    # checkpoints kept under out_dir, one directory per name
    assert (tmp_path / "runs" / "ner.v1" / "config.json").is_file()
    assert (tmp_path / "runs" / "re_small" / "config.json").is_file()
    assert ner["checkpoint"] == str(tmp_path / "runs" / "ner.v1")
    table = format_table(rows).splitlines()
    assert table[0].split()[:2] == ["name", "arch"] and "parameters" in table[0]
    assert len(table) == 4
    assert table[2].startswith("ner.v1") and f"{ner['parameters']:,}" in table[2]
    assert table[3].startswith("re small") and f"{re_['entity_f1']:.2f}" in table[3]


def test_resume_reuses_finished_checkpoints_and_retrains_changed_ones(tmp_path, tiny_encoder, toy_schema):
    examples = toy_examples_list()
    run = lambda specs, train=examples, **kw: compare(  # noqa: E731
        train,
        examples,
        toy_schema,
        specs,
        epochs=1,
        batch_size=4,
        encoder=tiny_encoder,
        out_dir=tmp_path / "runs",
        device="cpu",
        progress=lambda p: trained.add(p["name"]),
        **kw,
    )
    trained: set[str] = set()
    first = run(make_specs(["ner.v1"], [{"name": "small", "arch": "re.v1", "config": {"proj_dim": 16}}]))
    assert trained == {"ner.v1", "small"}
    stamp = (tmp_path / "runs" / "ner.v1" / "model.safetensors").stat().st_mtime_ns
    trained.clear()
    # same specs: nothing trains, the rows come from the checkpoints; "small" with another config retrains
    again = run(
        make_specs(["ner.v1"], [{"name": "small", "arch": "re.v1", "config": {"proj_dim": 8}}]), resume=True
    )
    assert trained == {"small"}
    assert (tmp_path / "runs" / "ner.v1" / "model.safetensors").stat().st_mtime_ns == stamp
    keep = ("entity_f1", "relation_f1", "relation_f1_given_gold_entities", "training_minutes", "parameters")
    assert {k: again[0][k] for k in keep} == {k: first[0][k] for k in keep}
    assert again[1]["config"]["proj_dim"] == 8
    # other training data: retrained too
    trained.clear()
    run(make_specs(["ner.v1"]), train=examples[:-1], resume=True)
    assert trained == {"ner.v1"}
    with pytest.raises(ValueError, match="resume needs out_dir"):
        compare(examples, examples, toy_schema, make_specs(["ner.v1"]), resume=True)


def test_make_specs_refuses_bad_input():
    assert make_specs(["span.v1"]) == [CompareSpec("span.v1", "span.v1", {})]
    with pytest.raises(ValueError, match="unknown architecture"):
        make_specs(["nope.v1"])
    with pytest.raises(ValueError, match="duplicate"):
        make_specs(["ner.v1"], [{"arch": "ner.v1"}])
    with pytest.raises(ValueError, match="shared budget"):
        make_specs([], [{"name": "x", "arch": "ner.v1", "config": {"epochs": 9}}])
    with pytest.raises(ValueError, match="unknown keys"):
        make_specs([], [{"name": "x", "arch": "ner.v1", "cfg": {}}])
    with pytest.raises(ValueError, match="needs dev"):
        compare([], [], None, make_specs(["ner.v1"]))


def test_cli_prints_table_and_writes_json(tmp_path, tiny_encoder, toy_schema, capsys):
    from mlcore.__main__ import main

    examples = toy_examples_list()
    write_spert_json(examples, tmp_path / "train.json")
    write_spert_json(examples, tmp_path / "dev.json")
    write_types_json(toy_schema, tmp_path / "types.json")
    configs = tmp_path / "configs.json"
    configs.write_text(json.dumps([{"name": "pipe", "arch": "pipeline.v1", "config": {"proj_dim": 16}}]))
    argv = ["--device", "cpu", "compare", "--train", str(tmp_path / "train.json")]
    argv += ["--dev", str(tmp_path / "dev.json"), "--types", str(tmp_path / "types.json")]
    argv += ["--archs", "ner.v1", "--configs", str(configs), "--epochs", "2", "--batch-size", "4"]
    argv += ["--encoder", tiny_encoder, "--json", str(tmp_path / "out.json"), "--limit-dev", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(out) if line.startswith("name"))
    assert "entity F1" in out[header] and "relation F1" in out[header]
    assert out[header + 2].startswith("ner.v1") and out[header + 3].startswith("pipe ")
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["settings"]["dev_sentences"] == 3 and data["settings"]["epochs"] == 2
    _check_rows(data["rows"], ["ner.v1", "pipe"])
    assert data["rows"][1]["arch"] == "pipeline.v1" and data["rows"][0]["relation_f1"] == 0.0
    assert all(r["checkpoint"] is None for r in data["rows"])  # no --out: checkpoints discarded
