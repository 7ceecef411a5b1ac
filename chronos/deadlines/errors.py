"""Typed errors for deadline rules: every refusal says, in plain words, what is wrong."""

from __future__ import annotations


class DeadlineRuleError(ValueError):
    """Base class: a set of key-date rules (or their inputs) cannot be computed."""


class InvalidRuleError(DeadlineRuleError):
    """A single rule is malformed (empty key, an anchor without a key, a bad offset type...)."""


class NegativeOffsetError(InvalidRuleError):
    """An offset below zero; use ``Direction.BEFORE`` to count backward instead."""

    def __init__(self, key: str, offset_days: int) -> None:
        self.key = key
        self.offset_days = offset_days
        super().__init__(
            f'The offset for "{key}" is {offset_days} days; offsets cannot be negative '
            "(count before the anchor instead)"
        )


class DuplicateKeyError(DeadlineRuleError):
    """Two rules share one key."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f'Two key dates use the key "{key}"; each key date needs its own key')


class UnknownAnchorError(DeadlineRuleError):
    """A rule is counted from a key date that is not in the rule set."""

    def __init__(self, key: str, label: str, anchor_key: str) -> None:
        self.key = key
        self.label = label
        self.anchor_key = anchor_key
        super().__init__(
            f'{label} is counted from "{anchor_key}", which is not a key date on this transaction'
        )


class UnknownOverrideError(DeadlineRuleError):
    """An override names a key that is not a computed key date."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        super().__init__(f'Cannot override "{key}": {reason}')


class CycleError(DeadlineRuleError):
    """Rules that count from each other in a loop; ``cycle`` holds the keys, first one repeated."""

    def __init__(self, cycle: tuple[str, ...], labels: tuple[str, ...]) -> None:
        self.cycle = cycle
        self.labels = labels
        super().__init__(f"{' → '.join(labels)} form a cycle")


class MissingAnchorError(DeadlineRuleError):
    """The anchor a rule counts from has no value (e.g. no closing date yet)."""

    def __init__(
        self, key: str, label: str, anchor_name: str, *, anchor_is_computed: bool = False
    ) -> None:
        self.key = key
        self.label = label
        self.anchor_name = anchor_name
        state = "cannot be computed yet" if anchor_is_computed else "is not set"
        super().__init__(f"{anchor_name} {state}, so {label} cannot be computed")
