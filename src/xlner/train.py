"""Token-classification NER training and prediction on word-level IOB2 data.

One training loop serves three uses:
- supervised training on gold sentences (model transfer, translate-train, projection students):
  every word's target is a one-hot distribution over the IOB2 labels;
- teacher–student distillation (Wu et al. 2020): every word's target is the teacher's soft
  distribution, and the loss is the KL divergence to it (for one-hot targets the KL divergence *is*
  the cross-entropy, so there is one loss and one code path);
- prediction: per-word probabilities and decoded spans.

Words are labelled on their first sub-token only. Sentences longer than the model window are cut
into windows of whole words (nothing is truncated away silently). Batches are formed from
length-sorted windows so that little padding is computed.

Threads are pinned (``TrainConfig.num_threads``, default 1): on a busy shared CPU, BLAS threads
fighting another process made training an order of magnitude slower (calibration.md).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from xlner.datamodel import Sentence, Span, spans_to_tags, tags_to_spans
from xlner.errors import XlnerError
from xlner.threads import pin_threads  # noqa: F401  (also importable from here, as before)

DEFAULT_TYPES = ("PER", "ORG", "LOC")
MODEL_SUBDIR = "model"  # best (or final) model: a standard Hugging Face folder
CHECKPOINT_SUBDIR = "checkpoint"  # optimiser, scheduler and position for resuming
STATE_FILE = "xlner_train.json"  # training configuration, label set and history


def iob2_labels(types: Iterable[str]) -> list[str]:
    """The IOB2 label list ``O, B-T1, I-T1, ...`` for bare entity types, in a fixed order."""
    labels = ["O"]
    for t in types:
        labels += [f"B-{t}", f"I-{t}"]
    return labels


@dataclass
class TrainConfig:
    """Hyper-parameters. Defaults are the calibrated CPU settings (calibration.md)."""

    epochs: int = 2
    batch_size: int = 32
    lr: float = 2e-4  # 5e-5 under-trains multilingual-e5-small
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_length: int = 128  # sub-tokens per window, special tokens included
    max_sentences: int | None = None  # random subsample of the training data (seeded)
    freeze_embeddings: bool = True  # the 250k-piece embedding matrix dominates CPU time and memory
    seed: int = 0
    patience: int = 2  # dev evaluations without improvement before stopping
    eval_every: int | None = None  # steps between dev evaluations; None = once per epoch
    max_dev_sentences: int | None = 1000
    checkpoint_every: int = 200  # steps between resumable checkpoints
    stop_at_step: int | None = None  # time-boxing: checkpoint and return at this step; rerun to continue
    temperature: float = 1.0  # distillation temperature applied to the student's logits
    grad_clip: float = 1.0
    num_threads: int = 1
    device: str | None = None  # None: "cuda" when available, else "cpu"
    predict_batch_size: int = 64
    progress: bool = True

    @classmethod
    def from_dict(cls, d: dict | None) -> "TrainConfig":
        d = dict(d or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise XlnerError("E801", f"unknown training option(s): {', '.join(unknown)}",
                             hint=f"known options: {', '.join(sorted(known))}")
        return cls(**d)


@dataclass
class SoftSentence:
    """A sentence with a target distribution per word (``probs`` has shape ``(len(tokens), n_labels)``)."""

    id: str
    tokens: list[str]
    probs: np.ndarray


@dataclass
class WordPrediction:
    """Prediction for one sentence; same fields as ``xlner.ner.NerOutput`` plus the tokens."""

    tokens: list[str]
    spans: list[Span]
    scores: list[float]  # mean probability of the predicted tags over each span
    probs: np.ndarray  # (n_words, n_labels)
    labels: list[str]  # the IOB2 label names, columns of ``probs``


@dataclass
class TrainResult:
    model_dir: Path
    best_dev_f1: float | None
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    resumed: bool = False
    skipped: bool = False  # a finished model was found and reused
    finished: bool = True  # False when stopped at ``stop_at_step`` (a checkpoint waits to be resumed)


# --- environment ----------------------------------------------------------------------------

def _device(name: str | None):
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# --- encoding words into model windows ------------------------------------------------------

@dataclass
class _Window:
    sentence: int  # index in the input list
    word_start: int
    word_end: int
    input_ids: list[int]
    first_pos: np.ndarray  # position of each word's first sub-token in input_ids


def load_tokenizer(model: str | Path):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model))
    except (OSError, ValueError) as exc:
        raise XlnerError("E802", f"cannot load a tokenizer from {model}: {exc}",
                         hint="pass a local Hugging Face model folder (or a hub name you have cached)") from None
    if not getattr(tok, "is_fast", False):
        raise XlnerError("E802", f"the tokenizer of {model} is not a fast tokenizer",
                         hint="word-level labels need word_ids(); save the model with a tokenizers-backed tokenizer")
    return tok


def encode_windows(tokenizer, sentences: Sequence[Sequence[str]], max_length: int) -> list[_Window]:
    """Cut every sentence into windows of whole words that fit ``max_length`` sub-tokens.

    A word the tokenizer maps to no sub-token at all (e.g. a lone control character) is encoded
    as the unknown token so that it still gets a prediction. A single word longer than the window
    keeps its first sub-tokens (its label lives on the first one anyway).
    """
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    if budget < 1:
        raise XlnerError("E803", f"max_length {max_length} leaves no room for words",
                         hint="use max_length >= 8")
    idx = [i for i, s in enumerate(sentences) if len(s)]
    unk = tokenizer.unk_token or "[UNK]"
    plain = tokenizer([list(sentences[i]) for i in idx], is_split_into_words=True,
                      add_special_tokens=False)
    chunks: list[tuple[int, int, int, list[str]]] = []
    for k, i in enumerate(idx):
        words = list(sentences[i])
        counts = np.bincount([w for w in plain.word_ids(k) if w is not None], minlength=len(words))
        words = [w if c else unk for w, c in zip(words, counts)]
        counts = np.minimum(np.maximum(counts, 1), budget)
        start, used = 0, 0
        for w, c in enumerate(counts):
            if used and used + c > budget:
                chunks.append((i, start, w, words[start:w]))
                start, used = w, 0
            used += int(c)
        chunks.append((i, start, len(words), words[start:]))
    windows: list[_Window] = []
    step = 2048  # tokenize in slices to bound memory on large corpora
    for s in range(0, len(chunks), step):
        part = chunks[s:s + step]
        enc = tokenizer([c[3] for c in part], is_split_into_words=True, truncation=True,
                        max_length=max_length)
        for k, (i, a, b, _) in enumerate(part):
            first = np.full(b - a, -1, dtype=np.int64)
            for pos, w in enumerate(enc.word_ids(k)):
                if w is not None and first[w] < 0:
                    first[w] = pos
            if (first < 0).any():  # cannot happen with the budget above; guard against odd tokenizers
                raise XlnerError("E803", f"sentence #{i}: words {np.flatnonzero(first < 0).tolist()} "
                                 "lost all sub-tokens in the model window", hint="raise max_length")
            windows.append(_Window(i, a, b, list(enc["input_ids"][k]), first))
    return windows


def _batch_order(windows: list[_Window], batch_size: int, rng: np.random.Generator | None) -> list[np.ndarray]:
    """Batches of similar-length windows; with ``rng`` the composition and order are shuffled."""
    lengths = np.array([len(w.input_ids) for w in windows])
    if rng is None:
        order = np.argsort(lengths, kind="stable")
    else:
        # sort by length buckets after a random permutation: batches still pad little,
        # but their composition changes every epoch
        perm = rng.permutation(len(windows))
        order = perm[np.argsort(lengths[perm] // 4, kind="stable")]
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(batches)
    return batches


def _collate(windows: list[_Window], pad_id: int):
    import torch

    width = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    rows, cols = [], []
    for b, w in enumerate(windows):
        ids[b, :len(w.input_ids)] = torch.tensor(w.input_ids)
        mask[b, :len(w.input_ids)] = 1
        rows.append(np.full(len(w.first_pos), b))
        cols.append(w.first_pos)
    return ids, mask, torch.from_numpy(np.concatenate(rows)), torch.from_numpy(np.concatenate(cols))


# --- model loading --------------------------------------------------------------------------

def _load_model(model: str | Path, labels: list[str] | None):
    from transformers import AutoModelForTokenClassification
    from transformers.utils import logging as hf_logging

    kwargs = {}
    if labels is not None:
        kwargs = dict(num_labels=len(labels), id2label=dict(enumerate(labels)),
                      label2id={l: i for i, l in enumerate(labels)})
    level = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialized classifier" is expected here
    try:
        return AutoModelForTokenClassification.from_pretrained(str(model), **kwargs)
    except (OSError, ValueError) as exc:
        raise XlnerError("E802", f"cannot load a token-classification model from {model}: {exc}",
                         hint="pass a local Hugging Face model folder, e.g. the one "
                              "xlner.encoder.ensure_e5_small() builds") from None
    finally:
        hf_logging.set_verbosity(level)


def model_labels(model_dir: str | Path) -> list[str]:
    """The IOB2 label list a trained model predicts (from its config)."""
    cfg = json.loads((Path(model_dir) / "config.json").read_text())
    id2label = cfg.get("id2label") or {}
    return [id2label[str(i)] if str(i) in id2label else id2label[i] for i in range(len(id2label))]


def resolve_model_dir(path: str | Path) -> Path:
    """Accept either a training output folder (``OUT/model``) or a model folder itself."""
    p = Path(path)
    if (p / MODEL_SUBDIR / "config.json").exists():
        return p / MODEL_SUBDIR
    return p


# --- prediction -----------------------------------------------------------------------------

def _logits_per_sentence(model, tokenizer, sentences: Sequence[Sequence[str]], *, max_length: int,
                         batch_size: int, device, progress: bool = False, desc: str = "predict") -> list[np.ndarray]:
    import torch
    from tqdm.auto import tqdm

    n_labels = model.config.num_labels
    out = [np.zeros((len(s), n_labels), dtype=np.float32) for s in sentences]
    windows = encode_windows(tokenizer, sentences, max_length)
    if not windows:
        return out
    model.eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    with torch.inference_mode():
        for batch in tqdm(_batch_order(windows, batch_size, None), desc=desc, disable=not progress,
                          unit="batch", leave=False):
            ws = [windows[i] for i in batch]
            ids, mask, rows, cols = _collate(ws, pad)
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            word_logits = logits[rows.to(device), cols.to(device)].float().cpu().numpy()
            k = 0
            for w in ws:
                n = w.word_end - w.word_start
                out[w.sentence][w.word_start:w.word_end] = word_logits[k:k + n]
                k += n
    return out


def _softmax(x: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = x / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def decode(tokens: list[str], probs: np.ndarray, labels: list[str]) -> WordPrediction:
    """Arg-max tags per word, read as IOB2 (a stray ``I-`` starts an entity, as conlleval does)."""
    if len(tokens) == 0:
        return WordPrediction(list(tokens), [], [], probs, labels)
    best = probs.argmax(axis=1)
    spans = tags_to_spans([labels[j] for j in best])
    top = probs[np.arange(len(best)), best]
    scores = [float(top[s.start:s.end].mean()) for s in spans]
    return WordPrediction(list(tokens), spans, scores, probs, labels)


class Predictor:
    """A loaded model for repeated prediction (keeps model and tokenizer in memory)."""

    def __init__(self, model_dir: str | Path, *, max_length: int = 128, batch_size: int = 64,
                 device: str | None = None, num_threads: int = 1) -> None:
        pin_threads(num_threads)
        self.model_dir = resolve_model_dir(model_dir)
        self.tokenizer = load_tokenizer(self.model_dir)
        self.model = _load_model(self.model_dir, None)
        self.labels = model_labels(self.model_dir)
        self.device = _device(device)
        self.model.to(self.device)
        self.max_length, self.batch_size = max_length, batch_size

    def logits(self, sentences: Sequence[Sequence[str]], progress: bool = False) -> list[np.ndarray]:
        return _logits_per_sentence(self.model, self.tokenizer, sentences, max_length=self.max_length,
                                    batch_size=self.batch_size, device=self.device, progress=progress)

    def predict(self, sentences: Sequence[Sequence[str]], *, temperature: float = 1.0,
                progress: bool = False) -> list[WordPrediction]:
        return [decode(list(toks), _softmax(lg, temperature), self.labels)
                for toks, lg in zip(sentences, self.logits(sentences, progress))]


def predict(model_dir: str | Path, sentences: Sequence[Sequence[str]], *, temperature: float = 1.0,
            max_length: int = 128, batch_size: int = 64, device: str | None = None,
            progress: bool = False) -> list[WordPrediction]:
    """Per-word label probabilities (softmax of logits / temperature) and decoded spans."""
    return Predictor(model_dir, max_length=max_length, batch_size=batch_size,
                     device=device).predict(sentences, temperature=temperature, progress=progress)


def soft_labels(model_dir: str | Path, sentences: Sequence[Sentence], *, temperature: float = 1.0,
                **kwargs) -> list[SoftSentence]:
    """The teacher's per-word distributions on (unlabelled) sentences — the student's targets."""
    preds = predict(model_dir, [s.tokens for s in sentences], temperature=temperature, **kwargs)
    return [SoftSentence(s.id, list(s.tokens), p.probs) for s, p in zip(sentences, preds)]


def predictions_to_sentences(sentences: Sequence[Sentence], preds: Sequence[WordPrediction]) -> list[Sentence]:
    """Predicted spans on copies of the input sentences (same ids and sources)."""
    return [Sentence(s.id, list(s.tokens), list(p.spans), s.source) for s, p in zip(sentences, preds)]


# --- targets --------------------------------------------------------------------------------

def one_hot_targets(sentences: Sequence[Sentence], labels: list[str]) -> list[SoftSentence]:
    """Gold spans as one-hot distributions; a span type outside ``labels`` is an error (E804)."""
    index = {l: i for i, l in enumerate(labels)}
    out = []
    for s in sentences:
        try:
            tags = spans_to_tags(s.spans, len(s.tokens))
        except ValueError as exc:
            raise XlnerError("E804", f"{s.source or 'sentence'} (sentence {s.id}): {exc}") from None
        unknown = sorted({t for t in tags if t not in index})
        if unknown:
            raise XlnerError("E804", f"{s.source or 'sentence'} (sentence {s.id}): label(s) {unknown} "
                             f"are not in the model's label set {labels}",
                             hint="map or drop those types (label_map), or train with these types")
        probs = np.zeros((len(tags), len(labels)), dtype=np.float32)
        probs[np.arange(len(tags)), [index[t] for t in tags]] = 1.0
        out.append(SoftSentence(s.id, list(s.tokens), probs))
    return out


def kl_to_targets(logits, targets, temperature: float = 1.0):
    """Mean over words of KL(target || softmax(logits / T)), scaled by T^2 (Hinton et al.)."""
    import torch

    log_q = torch.log_softmax(logits / temperature, dim=-1)
    kl = torch.xlogy(targets, targets) - targets * log_q
    return kl.sum(dim=-1).mean() * temperature ** 2


# --- training -------------------------------------------------------------------------------

def _dev_f1(model, tokenizer, dev: Sequence[Sentence], labels: list[str], cfg: TrainConfig, device) -> float:
    from seqeval.metrics import f1_score

    logits = _logits_per_sentence(model, tokenizer, [s.tokens for s in dev], max_length=cfg.max_length,
                                  batch_size=cfg.predict_batch_size, device=device, progress=False)
    pred = [[labels[j] for j in lg.argmax(1)] for lg in logits]
    gold = [s.tags() for s in dev]
    return float(f1_score(gold, pred)) if any(gold) else 0.0


def subsample(items: list, n: int | None, seed: int) -> list:
    if n is None or n >= len(items):
        return items
    keep = np.sort(np.random.default_rng(seed).choice(len(items), size=n, replace=False))
    return [items[i] for i in keep]


def train_ner(train: Sequence[Sentence] | Sequence[SoftSentence], out_dir: str | Path, *,
              model: str | Path, dev: Sequence[Sentence] | None = None,
              labels: list[str] | None = None, config: TrainConfig | None = None,
              resume: bool = True) -> TrainResult:
    """Fine-tune ``model`` (a local encoder folder or hub name) for word-level NER.

    ``train`` holds gold :class:`Sentence` objects (one-hot targets) or :class:`SoftSentence`
    objects (a teacher's distributions: distillation). ``labels`` is the IOB2 label list; by
    default ``O`` + PER/ORG/LOC, or the types found in gold ``train``. With ``dev`` the best model by
    dev F1 is kept and training stops after ``patience`` evaluations without improvement.

    Writes ``out_dir/model`` (a Hugging Face folder usable by :func:`predict`),
    ``out_dir/xlner_train.json`` and, while running, ``out_dir/checkpoint`` (removed when done).
    With ``resume`` a finished run is reused and an interrupted one continues from its checkpoint.
    """
    import torch
    from tqdm.auto import tqdm
    from transformers import get_linear_schedule_with_warmup

    cfg = config or TrainConfig()
    out = Path(out_dir)
    state_path = out / STATE_FILE
    if resume and state_path.exists():
        state = json.loads(state_path.read_text())
        if state.get("finished") and (out / MODEL_SUBDIR / "config.json").exists():
            return TrainResult(out / MODEL_SUBDIR, state.get("best_dev_f1"), state.get("history", []),
                               state.get("seconds", 0.0), skipped=True)
    pin_threads(cfg.num_threads)
    seed_everything(cfg.seed)
    device = _device(cfg.device)

    train = list(train)
    if not train:
        raise XlnerError("E805", "no training sentences", hint="check the training file and max_sentences")
    soft = isinstance(train[0], SoftSentence)
    if labels is None:
        if soft:
            raise XlnerError("E805", "soft targets need the teacher's label list",
                             hint="pass labels=model_labels(teacher_dir)")
        found = sorted({sp.label for s in train for sp in s.spans})
        labels = iob2_labels([t for t in DEFAULT_TYPES if t in found] + [t for t in found if t not in DEFAULT_TYPES])
    train = subsample(train, cfg.max_sentences, cfg.seed)
    targets = train if soft else one_hot_targets(train, labels)
    for t in targets:
        if t.probs.shape != (len(t.tokens), len(labels)):
            raise XlnerError("E805", f"sentence {t.id}: target shape {t.probs.shape} does not match "
                             f"{len(t.tokens)} words x {len(labels)} labels")
    dev = subsample(list(dev), cfg.max_dev_sentences, cfg.seed) if dev else None

    tokenizer = load_tokenizer(model)
    windows = [w for w in encode_windows(tokenizer, [t.tokens for t in targets], cfg.max_length)]
    if not windows:
        raise XlnerError("E805", "all training sentences are empty")
    net = _load_model(model, labels)
    if cfg.freeze_embeddings:
        net.get_input_embeddings().requires_grad_(False)
    net.to(device)
    params = [p for p in net.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim <= 1]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                               {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr)
    steps_per_epoch = math.ceil(len(windows) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    sched = get_linear_schedule_with_warmup(optim, int(cfg.warmup_ratio * total), total)

    st = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_dev_f1": None, "bad_evals": 0,
          "history": [], "seconds": 0.0}
    ckpt = out / CHECKPOINT_SUBDIR
    resumed = False
    if resume and (ckpt / "state.pt").exists():
        saved = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False)
        if saved.get("n_windows") != len(windows) or saved.get("labels") != labels:
            raise XlnerError("E806", f"checkpoint {ckpt} was made with other data or labels",
                             hint="delete the folder or use another --out")
        net.load_state_dict(saved["model"], strict=False)
        optim.load_state_dict(saved["optimizer"])
        sched.load_state_dict(saved["scheduler"])
        st = saved["state"]
        torch.set_rng_state(saved["torch_rng"])  # same dropout masks as an uninterrupted run
        resumed = True
    out.mkdir(parents=True, exist_ok=True)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    tgt_arrays = [t.probs for t in targets]

    def save_checkpoint() -> None:
        ckpt.mkdir(parents=True, exist_ok=True)
        trainable = {k: v for k, v in net.state_dict().items()
                     if not (cfg.freeze_embeddings and k.endswith("word_embeddings.weight"))}
        torch.save({"model": trainable, "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                    "state": st, "n_windows": len(windows), "labels": labels,
                    "torch_rng": torch.get_rng_state()}, ckpt / "state.pt.tmp")
        os.replace(ckpt / "state.pt.tmp", ckpt / "state.pt")

    def save_model() -> None:
        tmp = out / (MODEL_SUBDIR + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        net.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        shutil.rmtree(out / MODEL_SUBDIR, ignore_errors=True)
        os.replace(tmp, out / MODEL_SUBDIR)

    def evaluate_dev() -> bool:
        """Evaluate, keep the best model; True when patience is exhausted."""
        f1 = _dev_f1(net, tokenizer, dev, labels, cfg, device)
        st["history"].append({"epoch": st["epoch"], "step": st["global_step"], "dev_f1": f1})
        if st["best_dev_f1"] is None or f1 > st["best_dev_f1"]:
            st["best_dev_f1"], st["bad_evals"] = f1, 0
            save_model()
        else:
            st["bad_evals"] += 1
        net.train()
        return st["bad_evals"] >= cfg.patience

    t0 = time.time() - st["seconds"]
    stop = False
    while st["epoch"] < cfg.epochs and not stop:
        rng = np.random.default_rng(cfg.seed * 1000 + st["epoch"])
        batches = _batch_order(windows, cfg.batch_size, rng)
        net.train()
        bar = tqdm(total=len(batches), initial=st["step_in_epoch"], disable=not cfg.progress,
                   desc=f"train epoch {st['epoch'] + 1}/{cfg.epochs}", unit="batch", leave=False)
        for bi in range(st["step_in_epoch"], len(batches)):
            ws = [windows[i] for i in batches[bi]]
            ids, mask, rows, cols = _collate(ws, pad)
            tgt = torch.from_numpy(np.concatenate(
                [tgt_arrays[w.sentence][w.word_start:w.word_end] for w in ws])).to(device)
            logits = net(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            loss = kl_to_targets(logits[rows.to(device), cols.to(device)], tgt,
                                 cfg.temperature if soft else 1.0)
            optim.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optim.step()
            sched.step()
            st["global_step"] += 1
            st["step_in_epoch"] = bi + 1
            st["seconds"] = time.time() - t0
            loss_value = float(loss.detach())
            st.setdefault("loss", []).append(round(loss_value, 5))
            bar.update(1)
            bar.set_postfix(loss=f"{loss_value:.4f}")
            if dev and cfg.eval_every and st["global_step"] % cfg.eval_every == 0:
                stop = evaluate_dev()
                if stop:
                    break
            if cfg.checkpoint_every and st["global_step"] % cfg.checkpoint_every == 0:
                save_checkpoint()
            if cfg.stop_at_step and st["global_step"] >= cfg.stop_at_step and st["global_step"] < total:
                save_checkpoint()
                bar.close()
                return TrainResult(out / MODEL_SUBDIR, st["best_dev_f1"], st["history"], st["seconds"],
                                   resumed=resumed, finished=False)
        bar.close()
        if not stop:
            st["epoch"] += 1
            st["step_in_epoch"] = 0
            if dev and not cfg.eval_every:
                stop = evaluate_dev()
            save_checkpoint()
    if dev and not stop and (not st["history"] or st["history"][-1]["step"] != st["global_step"]):
        evaluate_dev()  # the final state counts too when eval_every does not fall on the last step
    if not dev:
        save_model()
    st["seconds"] = time.time() - t0
    state = {"finished": True, "best_dev_f1": st["best_dev_f1"], "history": st["history"],
             "seconds": st["seconds"], "global_step": st["global_step"], "labels": labels,
             "soft_targets": soft, "n_train_sentences": len(targets), "n_windows": len(windows),
             "base_model": str(model), "config": asdict(cfg), "loss": st.get("loss", [])}
    state_path.write_text(json.dumps(state, indent=1))
    shutil.rmtree(ckpt, ignore_errors=True)
    return TrainResult(out / MODEL_SUBDIR, st["best_dev_f1"], st["history"], st["seconds"], resumed=resumed)


# --- a tiny encoder for tests and smoke runs ------------------------------------------------

def build_tiny_encoder(sentences: Iterable[Sequence[str]], out_dir: str | Path, *, hidden: int = 32,
                       layers: int = 2, heads: int = 2, vocab_size: int = 2000, seed: int = 0) -> Path:
    """A randomly initialised small BERT + a WordPiece tokenizer trained on ``sentences``.

    For tests and smoke runs where a real encoder is too slow; it learns only what the training
    data teaches it. Saved as a standard Hugging Face folder.
    """
    import torch
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    out = Path(out_dir)
    if (out / "config.json").exists() and (out / "tokenizer.json").exists():
        return out
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator((" ".join(s) for s in sentences),
                            trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=specials))
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]",
                                                       special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    torch.manual_seed(seed)
    cfg = BertConfig(vocab_size=tok.get_vocab_size(), hidden_size=hidden, num_hidden_layers=layers,
                     num_attention_heads=heads, intermediate_size=hidden * 4, max_position_embeddings=512)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    BertModel(cfg).save_pretrained(tmp)
    fast.save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    os.replace(tmp, out)
    return out
