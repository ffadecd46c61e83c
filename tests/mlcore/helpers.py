"""Test helpers for mlcore: a tiny random BERT encoder (real MiniLM tokenizer) and toy examples."""

from __future__ import annotations

from mlcore.types import Example, Mention, Relation


def make_tiny_encoder(path, max_position_embeddings: int = 128) -> str:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from mlcore.encoder import default_encoder_path

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(default_encoder_path(), local_files_only=True)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=max_position_embeddings,
    )
    BertModel(cfg).save_pretrained(str(path))
    tok.save_pretrained(str(path))
    return str(path)


def make_example(
    text: str, spans: list[tuple[str, str]], rels: list[tuple[int, int, str]], ex_id: str
) -> Example:
    mentions = []
    pos = 0
    for surface, typ in spans:
        s = text.index(surface, pos)
        mentions.append(Mention(s, s + len(surface), typ))
        pos = s + 1
    return Example(text=text, mentions=mentions, relations=[Relation(h, t, r) for h, t, r in rels], id=ex_id)


def toy_examples_list() -> list[Example]:
    return [
        make_example(
            "Diabetes and hypertension",
            [("Diabetes", "Condition"), ("hypertension", "Condition")],
            [(0, 1, "AND")],
            "a",
        ),
        make_example(
            "HbA1c above 7 %", [("HbA1c", "Condition"), ("7 %", "Value")], [(0, 1, "Has_value")], "b"
        ),
        make_example("Treated with metformin", [("metformin", "Drug")], [], "c"),
        make_example(
            "Insulin dose 10 units", [("Insulin", "Drug"), ("10 units", "Value")], [(0, 1, "Has_value")], "d"
        ),
    ]
