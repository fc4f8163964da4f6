"""The training loop: one-hot or soft targets, KL loss, dev-F1 early stopping, resumable checkpoints."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from xlner.datamodel import Sentence, spans_to_tags
from xlner.errors import XlnerError
from xlner.threads import pin_threads
from xlner.train.config import (CHECKPOINT_SUBDIR, DEFAULT_TYPES, MODEL_SUBDIR, STATE_FILE, SoftSentence,
                                TrainConfig, TrainResult, iob2_labels)
from xlner.train.model import (_batch_order, _collate, _device, _load_model, _logits_per_sentence, encode_windows,
                               load_tokenizer, seed_everything)


# --- targets --------------------------------------------------------------------------------

def one_hot_targets(sentences: Sequence[Sentence], labels: list[str]) -> list[SoftSentence]:
    """Gold spans as one-hot distributions; a span type outside ``labels`` is an error (E804)."""
    index = {l: i for i, l in enumerate(labels)}
    out = []
    for s in sentences:
        try:
            tags = spans_to_tags(s.spans, len(s.tokens))
        except ValueError as exc:
            raise XlnerError("E836", where=s.source or "sentence", id=s.id, reason=str(exc)) from None
        unknown = sorted({t for t in tags if t not in index})
        if unknown:
            raise XlnerError("E804", where=s.source or "sentence", id=s.id, labels=unknown, known=labels)
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

    items: list[Any] = list(train)  # Sentences, or SoftSentences (soft targets): one kind
    if not items:
        raise XlnerError("E839")
    soft = isinstance(items[0], SoftSentence)
    if labels is None:
        if soft:
            raise XlnerError("E837")
        found = sorted({sp.label for s in items for sp in s.spans})
        labels = iob2_labels([t for t in DEFAULT_TYPES if t in found] + [t for t in found if t not in DEFAULT_TYPES])
    items = subsample(items, cfg.max_sentences, cfg.seed)
    targets = items if soft else one_hot_targets(items, labels)
    for t in targets:
        if t.probs.shape != (len(t.tokens), len(labels)):
            raise XlnerError("E805", id=t.id, shape=t.probs.shape, n_words=len(t.tokens), n_labels=len(labels))
    dev = subsample(list(dev), cfg.max_dev_sentences, cfg.seed) if dev else None

    tokenizer = load_tokenizer(model)
    windows = [w for w in encode_windows(tokenizer, [t.tokens for t in targets], cfg.max_length)]
    if not windows:
        raise XlnerError("E840")
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

    st: dict[str, Any] = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best_dev_f1": None, "bad_evals": 0,
          "history": [], "seconds": 0.0}
    ckpt = out / CHECKPOINT_SUBDIR
    resumed = False
    if resume and (ckpt / "state.pt").exists():
        saved = torch.load(ckpt / "state.pt", map_location="cpu", weights_only=False)
        if saved.get("n_windows") != len(windows) or saved.get("labels") != labels:
            raise XlnerError("E806", checkpoint=ckpt)
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
        assert dev is not None and labels is not None  # called only with a dev set; labels were set above
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
