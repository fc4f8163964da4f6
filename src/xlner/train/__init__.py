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

from xlner.threads import pin_threads  # also importable from here, as before
from xlner.train.config import (CHECKPOINT_SUBDIR, DEFAULT_TYPES, MODEL_SUBDIR, STATE_FILE, SoftSentence, TrainConfig,
                                TrainResult, WordPrediction, iob2_labels)
from xlner.train.loop import kl_to_targets, one_hot_targets, subsample, train_ner
from xlner.train.model import encode_windows, load_tokenizer, model_labels, resolve_model_dir, seed_everything
from xlner.train.predict import Predictor, decode, predict, predictions_to_sentences, soft_labels
from xlner.train.tiny import build_tiny_encoder

__all__ = ["CHECKPOINT_SUBDIR", "DEFAULT_TYPES", "MODEL_SUBDIR", "STATE_FILE", "Predictor", "SoftSentence",
           "TrainConfig", "TrainResult", "WordPrediction", "build_tiny_encoder", "decode", "encode_windows",
           "iob2_labels", "kl_to_targets", "load_tokenizer", "model_labels", "one_hot_targets", "pin_threads",
           "predict", "predictions_to_sentences", "resolve_model_dir", "seed_everything", "soft_labels",
           "subsample", "train_ner"]
