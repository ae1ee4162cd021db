"""The synonym map: rewrite the ways customers say a thing into one canonical term, for the KB and queries alike."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Final

import yaml

from services.text.normalize import normalize

# The shipped defaults, one YAML file per domain under services/faq/data/.
DOMAINS: Final = ("ecommerce", "education", "saas", "local_services")
MIN_VARIANT_CHARS: Final = 2


class SynonymError(ValueError):
    """A synonym file or config mapping that cannot be used as is."""


def load_domain(domain: str) -> dict[str, list[str]]:
    """One shipped domain file: canonical -> variants."""
    text = resources.files("services.faq").joinpath("data", f"{domain}.yaml").read_text(encoding="utf-8")
    return _check(yaml.safe_load(text) or {}, f"services/faq/data/{domain}.yaml")


def _check(data: object, where: str) -> dict[str, list[str]]:
    if not isinstance(data, Mapping):
        raise SynonymError(f"{where}: expected a mapping canonical -> [variants]")
    out: dict[str, list[str]] = {}
    for canonical, variants in data.items():
        if not isinstance(canonical, str) or not isinstance(variants, list):
            raise SynonymError(f"{where}: {canonical!r}: expected a list of variants")
        out[canonical] = [str(v) for v in variants]
    return out


class SynonymMap:
    """Variants -> canonical, applied longest first in one regex pass over normalised text."""

    def __init__(self, groups: Iterable[Mapping[str, Sequence[str]]]) -> None:
        to_canonical: dict[str, str] = {}
        for group in groups:
            for raw_canonical, raw_variants in group.items():
                canonical = normalize(raw_canonical)
                if not canonical:
                    continue
                # A canonical maps to itself so that a shorter variant can never rewrite the inside of it.
                to_canonical.setdefault(canonical, canonical)
                for raw in raw_variants:
                    variant = normalize(raw)
                    if len(variant) < MIN_VARIANT_CHARS:
                        raise SynonymError(f"synonym {raw!r} of {raw_canonical!r}: at least two characters, please")
                    # Later groups (the operator's config) win over the shipped defaults.
                    to_canonical[variant] = canonical
        self._map: Final = to_canonical
        alternatives = sorted(to_canonical, key=len, reverse=True)
        self._pattern: re.Pattern[str] | None = (
            re.compile("|".join(map(re.escape, alternatives))) if alternatives else None
        )

    def __len__(self) -> int:
        return len(self._map)

    @property
    def terms(self) -> frozenset[str]:
        """Every canonical term: words the tokenizer should keep whole."""
        return frozenset(self._map.values())

    def apply(self, text: str) -> str:
        """Rewrite normalised `text` so every known variant reads as its canonical term."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self._map[m.group(0)], text)

    def rewrites(self, text: str) -> list[tuple[str, str]]:
        """The (variant, canonical) pairs `apply` would use on `text`, for the reasons of a decision."""
        if self._pattern is None:
            return []
        return [
            (m.group(0), self._map[m.group(0)])
            for m in self._pattern.finditer(text)
            if self._map[m.group(0)] != m.group(0)
        ]


def default_synonyms(extra: Mapping[str, Sequence[str]] | None = None) -> SynonymMap:
    """The shipped domains plus the operator's own mapping (config `faq.synonyms`), which wins on conflicts."""
    groups: list[Mapping[str, Sequence[str]]] = [load_domain(domain) for domain in DOMAINS]
    if extra:
        groups.append(_check(dict(extra), "faq.synonyms"))
    return SynonymMap(groups)
